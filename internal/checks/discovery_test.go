package checks

import (
	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"strings"
	"testing"

	"github.com/paasdiag/paasdiag/internal/bkcrypt"
	"github.com/paasdiag/paasdiag/internal/platformdb"
	"github.com/paasdiag/paasdiag/internal/testsupport/mariadb"
)

const testKey = "PIMCuSRiVqBg5eSzQqZZrOhGFSUtrlS-8_JlIpjHt0A="

const testPEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

func TestDecryptCredentials(t *testing.T) {
	d, err := bkcrypt.New(testKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, encrypt := range map[string]func(string) string{
		"fernet":    mariadb.FernetEncrypter(testKey),
		"sm4ctr":    mariadb.SM4CTREncrypter(testKey),
		"plaintext": nil,
	} {
		t.Run(name, func(t *testing.T) {
			stored := mariadb.Encrypt([]byte(testPEM), []byte(testPEM), []byte("-----BEGIN EC PRIVATE KEY-----\nx\n-----END EC PRIVATE KEY-----\n"), "the-token", encrypt)
			creds, err := decryptCredentials(d, platformdb.ClusterRow{Name: "c", CA: stored.CA, Cert: stored.Cert, Key: stored.Key, Token: stored.Token})
			if err != nil {
				t.Fatal(err)
			}
			if string(creds.CA) != testPEM || string(creds.ClientCert) != testPEM || !strings.Contains(string(creds.ClientKey), "EC PRIVATE KEY") ||
				creds.Token != "the-token" {
				t.Errorf("credentials %+v", creds)
			}
		})
	}

	t.Run("a value that is neither base64 nor PEM", func(t *testing.T) {
		_, err := decryptCredentials(d, platformdb.ClusterRow{CA: "not base64 at all!"})
		if err == nil || !strings.Contains(err.Error(), "ca_data") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("the wrong key names the column, never the value", func(t *testing.T) {
		other, _ := bkcrypt.New("dGhpcyBpcyBub3QgdGhlIHBsYXRmb3JtJ3Mga2V5ISE=")
		stored := mariadb.Encrypt(nil, nil, nil, "the-token", mariadb.FernetEncrypter(testKey))
		_, err := decryptCredentials(other, platformdb.ClusterRow{Token: stored.Token})
		if err == nil || !strings.Contains(err.Error(), "token_value") || strings.Contains(err.Error(), stored.Token) {
			t.Errorf("err = %v", err)
		}
	})
}

// CLU27: a stored token with a line break is unusable by the platform (it sends the
// header as stored), so paasdiag keeps it as stored for the judgement.
func TestCLU27_TokenWithALineBreak(t *testing.T) {
	d, err := bkcrypt.New("")
	if err != nil {
		t.Fatal(err)
	}
	creds, err := decryptCredentials(d, platformdb.ClusterRow{Token: "abc\n"})
	if err != nil || creds.Token != "abc\n" {
		t.Fatalf("%q, %v", creds.Token, err)
	}
	f := tokenLineBreak("c", creds.Token)
	if f == nil || f.Code != "4313021" || f.Severity != v1alpha1.SeverityError || f.Reason != v1alpha1.ReasonInvalidCredentials {
		t.Fatalf("%+v", f)
	}
	if f := tokenLineBreak("c", "abc"); f != nil {
		t.Errorf("%+v", f)
	}
}
