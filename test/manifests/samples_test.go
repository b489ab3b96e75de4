package manifests

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/paasdiag/paasdiag/internal/specvalidation"
)

// Every sample diagnosis is one the CRD (and so the API server and the controller)
// accepts: users copy them.
func TestSampleDiagnosesAreValid(t *testing.T) {
	v, err := specvalidation.New()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(root("config", "samples", "diagnosis_*.yaml"))
	if err != nil || len(files) < 3 {
		t.Fatalf("samples %v: %v", files, err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range strings.Split(string(raw), "\n---\n") {
			var obj map[string]any
			if err := yaml.UnmarshalStrict([]byte(doc), &obj); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if obj["kind"] != "PaaSDiagnosis" {
				continue
			}
			if errs := v.ValidateUnstructured(context.Background(), obj); len(errs) > 0 {
				t.Errorf("%s: %v", filepath.Base(f), errs)
			}
		}
	}
}
