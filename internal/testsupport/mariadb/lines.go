package mariadb

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Line is a release line of the platform whose table layout hack/sql/<line>/ holds,
// written from the migrations at the revision docs/conformance.md pins.
type Line string

// The release lines, oldest first.
const (
	Release16 Line = "release-1.6"
	Release17 Line = "release-1.7"
	Main      Line = "main"
)

// Lines are every release line, oldest first: tests of a rule run on each one where
// the rule applies.
var Lines = []Line{Release16, Release17, Main}

// Lines17Plus are the lines from 1.7 on.
var Lines17Plus = []Line{Release17, Main}

// Legacy reports whether the line is 1.6 (or earlier).
func (l Line) Legacy() bool { return l == Release16 }

// databaseOfApp says which of the platform's databases a Django app's tables live in.
var databaseOfApp = map[string]string{
	"services": "bk_paas_ng",
	"cluster":  "bk_engine_ng", "region": "bk_engine_ng", "api": "bk_engine_ng",
}

// Migrations reads hack/sql/<line>/migrations.tsv: the migrations the extractor found
// at the pinned revision, per app, in the order manage.py migrate applies them.
func Migrations(line Line) (map[string][]string, error) {
	f, err := os.Open(filepath.Join(RepoRoot(), "hack", "sql", string(line), "migrations.tsv"))
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		text := sc.Text()
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		app, name, ok := strings.Cut(text, "\t")
		if !ok {
			return nil, fmt.Errorf("migrations.tsv of %s: bad line %q", line, text)
		}
		out[app] = append(out[app], name)
	}
	return out, sc.Err()
}

// CreateLineDatabase creates database with the layout of one of the platform's
// databases ("bk_paas_ng" or "bk_engine_ng") on a release line, and records in its
// django_migrations the migrations of that database's apps, as manage.py migrate
// would have.
func (s *Server) CreateLineDatabase(database string, line Line, layout string) error {
	if err := s.CreateDatabase(database, filepath.Join(string(line), layout+".sql")); err != nil {
		return err
	}
	migrations, err := Migrations(line)
	if err != nil {
		return err
	}
	var stmt strings.Builder
	var args []any
	for app, names := range migrations {
		if databaseOfApp[app] != layout {
			continue
		}
		for _, name := range names {
			if stmt.Len() == 0 {
				stmt.WriteString("INSERT INTO django_migrations (app, name, applied) VALUES ")
			} else {
				stmt.WriteString(", ")
			}
			stmt.WriteString("(?, ?, NOW(6))")
			args = append(args, app, name)
		}
	}
	if stmt.Len() == 0 {
		return nil
	}
	return s.Exec(database, stmt.String(), args...)
}

// SetMigrations replaces what django_migrations records for an app: for tests of
// release line detection (an incomplete upgrade, an unknown app).
func (s *Server) SetMigrations(database, app string, names ...string) error {
	if err := s.Exec(database, "DELETE FROM django_migrations WHERE app = ?", app); err != nil {
		return err
	}
	for _, n := range names {
		if err := s.Exec(database, "INSERT INTO django_migrations (app, name, applied) VALUES (?, ?, NOW(6))", app, n); err != nil {
			return err
		}
	}
	return nil
}
