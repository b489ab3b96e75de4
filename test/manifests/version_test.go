package manifests

import (
	"os"
	"regexp"
	"testing"
)

// The version comes from one place, the Makefile's VERSION: `make manifests` writes it
// into config/manager's image tag, and the chart's version and appVersion follow it
// (hack/chartgen). A hand edit of either fails here.
func TestVersionIsTheMakefiles(t *testing.T) {
	read := func(parts ...string) string {
		b, err := os.ReadFile(root(parts...))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	m := regexp.MustCompile(`(?m)^VERSION \?= (\S+)$`).FindStringSubmatch(read("Makefile"))
	if m == nil {
		t.Fatal("the Makefile sets no VERSION")
	}
	version := m[1]
	if !regexp.MustCompile(`image: ghcr\.io/paasdiag/paasdiag:v` + regexp.QuoteMeta(version) + `\s`).MatchString(read("config", "manager", "manager.yaml")) {
		t.Errorf("config/manager/manager.yaml's image is not ghcr.io/paasdiag/paasdiag:v%s: run make manifests", version)
	}
	chart := read("charts", "paasdiag", "Chart.yaml")
	for _, field := range []string{`(?m)^version: ` + regexp.QuoteMeta(version) + `$`, `(?m)^appVersion: "` + regexp.QuoteMeta(version) + `"$`} {
		if !regexp.MustCompile(field).MatchString(chart) {
			t.Errorf("charts/paasdiag/Chart.yaml does not match %s: run make manifests", field)
		}
	}
}
