package platformdb

import (
	"errors"
	"strings"
	"testing"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
)

// FuzzParseDSN: whatever a Secret holds, parsing never panics, and a failure never
// quotes the password.
func FuzzParseDSN(f *testing.F) {
	for _, seed := range []string{
		"paasdiag:s3cret@tcp(mysql:3306)/bk_paas_ng",
		"mysql://paasdiag:s3cret@mysql:3306/bk_paas_ng?charset=utf8mb4",
		"paasdiag:s3cret@tcp(mysql:3306/bk_paas_ng",
		"paasdiag:s3cret@unix(/run/mysqld.sock)/bk?parseTime=s3cret",
		"mysql://[::1/x", "", "@/", "a:b@c(d)/e?f=g&h=%zz",
	} {
		f.Add(seed, "s3cret")
	}
	f.Fuzz(func(t *testing.T, dsn, password string) {
		if len(password) < 4 || strings.ContainsAny(password, "@:/?()") {
			return
		}
		full := strings.ReplaceAll(dsn, "s3cret", password)
		_, err := ParseDSN(full)
		if err == nil {
			return
		}
		var e *Error
		if !errors.As(err, &e) || e.Reason != v1alpha1.ReasonInvalidDSN {
			t.Fatalf("error %v is not InvalidDSN", err)
		}
		if strings.Contains(full, password) && strings.Contains(e.Message, password) {
			t.Fatalf("the message quotes the password: %s", e.Message)
		}
	})
}
