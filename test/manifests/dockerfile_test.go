package manifests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The Dockerfile's build stage copies every package the manager imports: each one
// resolves in a tree holding only what it copies (a package outside it fails the image
// build, which this machine cannot run).
func TestDockerfileCopiesWhatTheBuildNeeds(t *testing.T) {
	dockerfile, err := os.ReadFile(root("Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	tree := t.TempDir()
	copied := 0
	for _, line := range strings.Split(string(dockerfile), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "COPY" || strings.HasPrefix(f[1], "--") {
			continue // the final stage copies from the build stage
		}
		for _, src := range f[1 : len(f)-1] {
			if err := exec.Command("cp", "-r", root(strings.TrimSuffix(src, "/")), filepath.Join(tree, filepath.Base(strings.TrimSuffix(src, "/")))).Run(); err != nil {
				t.Fatalf("COPY %s: %v", src, err)
			}
			copied++
		}
	}
	if copied < 4 {
		t.Fatalf("only %d COPY sources found in the Dockerfile", copied)
	}
	cmd := exec.Command("go", "list", "-e", "-deps", "-f", "{{if .Error}}{{.ImportPath}}: {{.Error}}{{end}}", ".")
	cmd.Dir = tree
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("the manager does not build from what the Dockerfile copies: %v\n%s", err, out)
	}
}
