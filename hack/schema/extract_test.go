// Package schema holds the test of extract_columns.py, the tool that reads the platform's
// Django migrations out of a git object store and replays them into table columns.
package schema

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeRepo is a throw-away git repository made of the hand-written, invented Django
// apps under testdata: rev1 holds the apps catalog (label from `name`) and billing
// (explicit `label`, package fakeco/orders) and the custom fields module fakeco.fields;
// rev2 adds the app ledger, whose second migration is a RunSQL.
type fakeRepo struct {
	gitDir     string
	rev1, rev2 string
}

const (
	catalogApp = "src/fakeco/catalog"
	ordersApp  = "src/fakeco/orders"
	ledgerApp  = "src/fakeco/ledger"
)

// requireTools fails (never skips) when python3 or git is missing: both are always
// on the CI machine, and a test that skips there proves nothing.
func requireTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"python3", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed to test hack/schema/extract_columns.py and is not on PATH: %v", tool, err)
		}
	}
}

func newFakeRepo(t *testing.T) fakeRepo {
	t.Helper()
	requireTools(t)
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=paasdiag test",
			"-c", "user.email=test@paasdiag.invalid", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	commit := func(tree string) string {
		t.Helper()
		if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", tree))); err != nil {
			t.Fatalf("copy testdata/%s: %v", tree, err)
		}
		git("add", "-A")
		git("commit", "-q", "-m", tree)
		return git("rev-parse", "HEAD")
	}
	git("init", "-q")
	repo := fakeRepo{gitDir: filepath.Join(dir, ".git")}
	repo.rev1 = commit("rev1")
	repo.rev2 = commit("rev2")
	// The extractor reads the object store only: the work tree must not matter.
	if err := os.RemoveAll(filepath.Join(dir, "src")); err != nil {
		t.Fatal(err)
	}
	return repo
}

// extract runs extract_columns.py (beside this test) and returns stdout, stderr and
// the exit code.
func extract(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	script, err := filepath.Abs("extract_columns.py")
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("python3", append([]string{script}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return stdout.String(), stderr.String(), exit.ExitCode()
	case err != nil:
		t.Fatalf("run %s: %v", script, err)
	}
	return stdout.String(), stderr.String(), 0
}

func (r fakeRepo) args(rev string, apps ...string) []string {
	args := []string{"--git-dir", r.gitDir, "--rev", rev, "--src-root", "src"}
	for _, app := range apps {
		args = append(args, "--app", app)
	}
	return args
}

func tsv(rows ...string) string {
	return strings.ReplaceAll(strings.Join(rows, "\n"), " ", "\t") + "\n"
}

func TestExtractorReplaysMigrations(t *testing.T) {
	t.Parallel()
	repo := newFakeRepo(t)
	// Each column after all operations (sorted): CreateModel with a UUIDField, a
	// BigAutoField and an AutoField primary key; AddField of the custom
	// fakeco.fields.SealedTextField (a models.TextField subclass) and of PayloadField
	// (made by fakeco.utils.make_payload_field, imported relatively, annotated
	// Type[models.JSONField]); RemoveField of Vendor.rank;
	// AlterField turning Item.price NOT NULL and Item.sku NULL-able (and wider);
	// RenameField of Vendor.created and Order.note; foreign keys inside catalog and
	// from billing to catalog taking the class of the target's key; RunPython and
	// AlterUniqueTogether change no column.
	want := tsv(
		"billing_order comment text NO",
		"billing_order id int NO",
		"billing_order item_id bigint YES",
		"billing_order total int YES",
		"billing_order vendor_id uuid NO",
		"catalog_item description text YES",
		"catalog_item id bigint NO",
		"catalog_item payload json NO",
		"catalog_item price int NO",
		"catalog_item sku char YES",
		"catalog_item vendor_id uuid NO",
		"catalog_vendor active bool NO",
		"catalog_vendor created_at datetime NO",
		"catalog_vendor name char NO",
		"catalog_vendor notes text YES",
		"catalog_vendor uuid uuid NO",
	)
	for _, apps := range [][]string{{catalogApp, ordersApp}, {ordersApp, catalogApp}} {
		args := append(repo.args(repo.rev1, apps...), "columns",
			"--table", "catalog_vendor", "--table", "catalog_item", "--table", "billing_order")
		stdout, stderr, code := extract(t, args...)
		if code != 0 || stdout != want {
			t.Errorf("columns with apps %v: exit %d, stderr %q\ngot:\n%s\nwant:\n%s", apps, code, stderr, stdout, want)
		}
	}

	// One table only, and the whole state when no --table is given.
	stdout, stderr, code := extract(t, append(repo.args(repo.rev1, catalogApp), "columns", "--table", "catalog_vendor")...)
	if wantVendor := want[strings.Index(want, "catalog_vendor"):]; code != 0 || stdout != wantVendor {
		t.Errorf("columns --table catalog_vendor: exit %d, stderr %q\ngot:\n%s\nwant:\n%s", code, stderr, stdout, wantVendor)
	}
	stdout, stderr, code = extract(t, append(repo.args(repo.rev1, catalogApp, ordersApp), "columns")...)
	if code != 0 || stdout != want {
		t.Errorf("columns (all tables): exit %d, stderr %q\ngot:\n%s\nwant:\n%s", code, stderr, stdout, want)
	}

	// A table the migrations do not create is an error, not an empty answer.
	stdout, stderr, code = extract(t, append(repo.args(repo.rev1, catalogApp), "columns", "--table", "catalog_nothing")...)
	if code == 0 || stdout != "" || !strings.Contains(stderr, "tables not found: catalog_nothing") {
		t.Errorf("columns --table catalog_nothing: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestExtractorRefusesUnknownOperations(t *testing.T) {
	t.Parallel()
	repo := newFakeRepo(t)
	stdout, stderr, code := extract(t, append(repo.args(repo.rev2, ledgerApp), "columns")...)
	wantErr := "src/fakeco/ledger/migrations/0002_entry_amount_raw.py:10 RunSQL: unsupported operation RunSQL"
	if code == 0 || stdout != "" || !strings.Contains(stderr, wantErr) {
		t.Errorf("RunSQL: exit %d, stdout %q, stderr %q; want a non-zero exit and %q", code, stdout, stderr, wantErr)
	}
	if strings.Contains(stderr, "Traceback") {
		t.Errorf("RunSQL: want a one-line error, got a traceback:\n%s", stderr)
	}

	// --rev is honoured: the ledger app does not exist at rev1.
	_, stderr, code = extract(t, append(repo.args(repo.rev1, ledgerApp), "columns")...)
	if code == 0 || !strings.Contains(stderr, ledgerApp+"/apps.py not found") {
		t.Errorf("ledger at rev1: exit %d, stderr %q", code, stderr)
	}
}

func TestExtractorMigrationOrder(t *testing.T) {
	t.Parallel()
	repo := newFakeRepo(t)
	// What `manage.py migrate` applies, by Django's MigrationGraph: leaf nodes sorted
	// (billing 0002 comes first), each expanded by forwards_plan, an iterative DFS that
	// pushes the sorted parents on a stack and so walks them last first: for billing
	// 0002 that is catalog 0002 (with catalog 0001) before billing 0001. Replaying
	// columns needs dependencies first, which this order has too.
	want := tsv(
		"catalog 0001_initial",
		"catalog 0002_item_details",
		"billing 0001_initial",
		"billing 0002_order_item",
	)
	for _, apps := range [][]string{{catalogApp, ordersApp}, {ordersApp, catalogApp}} {
		stdout, stderr, code := extract(t, append(repo.args(repo.rev1, apps...), "migrations")...)
		if code != 0 || stdout != want {
			t.Errorf("migrations with apps %v: exit %d, stderr %q\ngot:\n%s\nwant:\n%s", apps, code, stderr, stdout, want)
		}
	}

	// Dependencies on apps that are not given are ignored; RunSQL does not matter here.
	stdout, stderr, code := extract(t, append(repo.args(repo.rev2, ordersApp, ledgerApp), "migrations")...)
	if want := tsv("billing 0001_initial", "billing 0002_order_item", "ledger 0001_initial",
		"ledger 0002_entry_amount_raw"); code != 0 || stdout != want {
		t.Errorf("migrations of billing and ledger: exit %d, stderr %q\ngot:\n%s\nwant:\n%s", code, stderr, stdout, want)
	}
}
