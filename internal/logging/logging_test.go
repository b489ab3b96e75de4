package logging

import (
	"strings"
	"testing"

	"github.com/go-logr/logr/funcr"
)

func TestCapVerbosity(t *testing.T) {
	var lines []string
	base := funcr.New(func(prefix, args string) { lines = append(lines, args) }, funcr.Options{Verbosity: 10})
	l := CapVerbosity(base, MaxVerbosity).WithName("client").WithValues("k", "v")
	l.V(5).Info("kept")
	l.V(6).Info("dropped")
	l.V(8).Info("Response Body", "body", "secret data")
	l.Error(nil, "errors always pass")
	got := strings.Join(lines, "\n")
	if !strings.Contains(got, "kept") || strings.Contains(got, "dropped") || strings.Contains(got, "secret data") || !strings.Contains(got, "errors always pass") {
		t.Errorf("logged:\n%s", got)
	}
	if l.V(8).Enabled() {
		t.Error("V(8) is enabled")
	}
}
