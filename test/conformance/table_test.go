// Package conformance checks docs/conformance.md against the tests: every row that is
// not "to do" names a test that `go test -list` finds, and every test named after a
// row (Test<ROW>_...) is named by that row.
package conformance

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

var (
	rowLine  = regexp.MustCompile(`^\|\s*([A-Z]{2,4}[0-9]{2})\s*\|`)
	testName = regexp.MustCompile("`(Test([A-Z]{2,4}[0-9]{2})_[A-Za-z0-9_]+)`")
	rowTest  = regexp.MustCompile(`^Test([A-Z]{2,4}[0-9]{2})_[A-Za-z0-9_]+$`)
	funcDecl = regexp.MustCompile(`(?m)^func Test[A-Z]{2,4}[0-9]{2}_`)
)

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// rows reads the table: row ID -> the tests it names (none for "to do").
func rows(t *testing.T, root string) map[string][]string {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "docs", "conformance.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := rowLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		id := m[1]
		if _, dup := out[id]; dup {
			t.Errorf("row %s appears twice", id)
		}
		out[id] = nil
		for _, tm := range testName.FindAllStringSubmatch(sc.Text(), -1) {
			if tm[2] != id {
				t.Errorf("row %s names %s, a test of row %s", id, tm[1], tm[2])
			}
			out[id] = append(out[id], tm[1])
		}
		if len(out[id]) == 0 && !strings.Contains(strings.ToLower(sc.Text()), "to do") {
			t.Errorf("row %s names no test and is not marked to do", id)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// listedTests runs `go test -list` on every package whose tests declare a row test.
func listedTests(t *testing.T, root string) map[string]bool {
	t.Helper()
	pkgs := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "bin" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if funcDecl.Match(src) {
			rel, _ := filepath.Rel(root, filepath.Dir(path))
			pkgs["./"+filepath.ToSlash(rel)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Row tests that need a database or a control plane carry the integration tag.
	args := []string{"test", "-tags", "integration", "-list", "^Test[A-Z]{2,4}[0-9]{2}_"}
	for p := range pkgs {
		args = append(args, p)
	}
	sort.Strings(args[5:])
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(out.String(), "\n") {
		if rowTest.MatchString(line) {
			listed[line] = true
		}
	}
	return listed
}

func TestConformanceTableMatchesTests(t *testing.T) {
	root := repoRoot(t)
	table := rows(t, root)
	listed := listedTests(t, root)
	if len(table) < 30 || len(listed) < 30 {
		t.Fatalf("%d rows and %d row tests: the table or the tests were not found", len(table), len(listed))
	}
	named := map[string]bool{}
	for id, tests := range table {
		for _, name := range tests {
			named[name] = true
			if !listed[name] {
				t.Errorf("row %s names %s, which go test -list does not find", id, name)
			}
		}
	}
	for name := range listed {
		id := rowTest.FindStringSubmatch(name)[1]
		if _, ok := table[id]; !ok {
			t.Errorf("%s is a test of row %s, which docs/conformance.md does not have", name, id)
		} else if !named[name] {
			t.Errorf("%s is not named by row %s of docs/conformance.md", name, id)
		}
	}
}
