package manifests

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The grant the runbook shows inline is the sample file's, statement for statement: a
// user who copies it from the page gets what the tests run with.
func TestRunbookGrantIsTheSample(t *testing.T) {
	page, err := os.ReadFile(root("docs", "runbooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	sample, err := os.ReadFile(root("config", "samples", "readonly-grant.sql"))
	if err != nil {
		t.Fatal(err)
	}
	statements := func(text string) []string {
		var out []string
		for _, line := range strings.Split(text, "\n") {
			line = strings.TrimSpace(line)
			if strings.HasPrefix(line, "GRANT ") || strings.HasPrefix(line, "CREATE USER ") {
				out = append(out, line)
			}
		}
		return out
	}
	block := regexp.MustCompile("(?s)```sql\n(.*?)```").FindStringSubmatch(string(page))
	if block == nil {
		t.Fatal("docs/runbooks.md shows no sql block")
	}
	got, want := statements(block[1]), statements(string(sample))
	if strings.Join(got, "\n") != strings.Join(want, "\n") || len(want) < 4 {
		t.Errorf("docs/runbooks.md shows\n%s\nconfig/samples/readonly-grant.sql has\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Every relative link of the README and of docs/ names a file that exists.
func TestDocumentationLinksResolve(t *testing.T) {
	link := regexp.MustCompile(`\]\(([A-Za-z0-9_./-]+)(#[^)]*)?\)`)
	pages := []string{root("README.md")}
	entries, err := os.ReadDir(root("docs"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".md") {
			pages = append(pages, root("docs", e.Name()))
		}
	}
	checked := 0
	for _, page := range pages {
		text, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		dir := page[:strings.LastIndex(page, string(os.PathSeparator))+1]
		for _, m := range link.FindAllStringSubmatch(string(text), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			checked++
			if _, err := os.Stat(dir + target); err != nil {
				t.Errorf("%s links to %s, which does not exist", page, target)
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d links checked", checked)
	}
}

// root is a path in the repository, from this package's directory.
func root(parts ...string) string { return filepath.Join(append([]string{"..", ".."}, parts...)...) }

// The minimum the support matrix declares is the minor make test-compat runs (the
// compatibility control plane's pin), and, once there is a Helm chart, its kubeVersion.
func TestSupportMatrixIsWhatIsTested(t *testing.T) {
	gomod, err := os.ReadFile(root("hack", "envtest", "kube-apiserver-compat", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	pin := regexp.MustCompile(`(?m)^require k8s\.io/kubernetes v1\.(\d+)\.\d+$`).FindSubmatch(gomod)
	if pin == nil {
		t.Fatal("hack/envtest/kube-apiserver-compat/go.mod pins no k8s.io/kubernetes v1.x")
	}
	minor := "1." + string(pin[1])
	page, err := os.ReadFile(root("docs", "compatibility.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range []string{"control cluster (where paasdiag runs) | **" + minor + "**", "app clusters (probed over HTTPS) | **" + minor + "**"} {
		if !strings.Contains(string(page), row) {
			t.Errorf("docs/compatibility.md does not declare %q: make test-compat runs %s", row, minor)
		}
	}
	chart, err := os.ReadFile(root("charts", "paasdiag", "Chart.yaml"))
	if err == nil && !regexp.MustCompile(`(?m)^kubeVersion: "?>= ?`+regexp.QuoteMeta(minor)+`\.0(-0)?"?\s*$`).Match(chart) {
		t.Errorf("charts/paasdiag/Chart.yaml's kubeVersion is not >= %s.0-0, the tested minimum", minor)
	}
}
