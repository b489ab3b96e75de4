package manifests

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
)

// charts/paasdiag is what hack/chartgen writes from config/ now: run `make manifests`
// after changing config/ (or the generator). test/helm installs the chart and compares
// it with the kustomize build.
func TestChartIsGenerated(t *testing.T) {
	out := filepath.Join(t.TempDir(), "paasdiag")
	cmd := exec.Command("go", "run", "./hack/chartgen", "-out", out)
	cmd.Dir = root()
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./hack/chartgen: %v\n%s", err, msg)
	}
	want, got := tree(t, out), tree(t, root("charts", "paasdiag"))
	for _, name := range union(want, got) {
		switch w, g := want[name], got[name]; {
		case g == nil:
			t.Errorf("charts/paasdiag/%s is missing: run make manifests", name)
		case w == nil:
			t.Errorf("charts/paasdiag/%s is not generated: remove it or generate it in hack/chartgen", name)
		case !bytes.Equal(w, g):
			t.Errorf("charts/paasdiag/%s differs from what hack/chartgen writes: run make manifests", name)
		}
	}
	if len(want) < 10 {
		t.Errorf("hack/chartgen wrote %d files", len(want))
	}
	// Helm installs crds/ as it is: config/'s CRD, byte for byte.
	crd, err := os.ReadFile(root("config", "crd", "bases", "diagnosis.paasdiag.io_paasdiagnoses.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got["crds/diagnosis.paasdiag.io_paasdiagnoses.yaml"], crd) {
		t.Error("charts/paasdiag/crds/diagnosis.paasdiag.io_paasdiagnoses.yaml is not config/crd/bases' file")
	}
}

// tree reads every file under dir, by slash path.
func tree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)], err = os.ReadFile(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func union(a, b map[string][]byte) []string {
	var names []string
	for name := range a {
		names = append(names, name)
	}
	for name := range b {
		if _, ok := a[name]; !ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}
