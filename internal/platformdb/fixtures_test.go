//go:build integration

package platformdb

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/paasdiag/paasdiag/internal/release"
	"github.com/paasdiag/paasdiag/internal/testsupport/mariadb"
)

// The test fixtures (hack/sql/<line>/*.sql) are hand-written from the platform's
// migrations at the pinned revisions; hack/schema/extract_columns.py reads the same
// migrations a second way, with python's ast, into columns.tsv. Loaded into MariaDB,
// the fixtures must have exactly the extractor's columns: table, column, type class
// and nullability. A fixture that drifts from the migrations fails here.
func TestFixturesMatchMigrations(t *testing.T) {
	startServer(t)
	for _, line := range mariadb.Lines {
		t.Run(string(line), func(t *testing.T) {
			want := readColumnsTSV(t, line)
			got := map[string]string{}
			for _, layout := range []string{"bk_paas_ng", "bk_engine_ng"} {
				db := fmt.Sprintf("fixture_%s_%s", strings.NewReplacer("-", "_", ".", "_").Replace(string(line)), layout)
				if err := server.CreateLineDatabase(db, line, layout); err != nil {
					t.Fatalf("loading %s/%s.sql: %v", line, layout, err)
				}
				for k, v := range loadedColumns(t, db) {
					got[k] = v
				}
			}
			for k, w := range want {
				if g, ok := got[k]; !ok {
					t.Errorf("%s: the migrations have %s (%s), the fixture does not", line, k, w)
				} else if g != w {
					t.Errorf("%s: %s is %s in the fixture, %s in the migrations", line, k, g, w)
				}
			}
			for k, g := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("%s: the fixture has %s (%s), the migrations do not", line, k, g)
				}
			}
			if len(want) < 50 {
				t.Errorf("%s: only %d columns extracted", line, len(want))
			}
		})
	}
}

// readColumnsTSV reads the extractor's output: "table.column" -> "class NULL|NOT NULL".
func readColumnsTSV(t *testing.T, line mariadb.Line) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(mariadb.RepoRoot(), "hack", "sql", string(line), "columns.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if sc.Text() == "" || strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) != 4 {
			t.Fatalf("columns.tsv of %s: bad line %q", line, sc.Text())
		}
		out[fields[0]+"."+fields[1]] = fields[2] + " nullable=" + fields[3]
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// loadedColumns reads information_schema of a loaded fixture, in the extractor's type
// classes. MariaDB stores a json column as longtext with a json_valid() CHECK.
func loadedColumns(t *testing.T, database string) map[string]string {
	t.Helper()
	admin, err := server.Admin(database)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.Close() }()
	jsonCols := map[string]bool{}
	checks, err := admin.Query(`SELECT TABLE_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()`)
	if err != nil {
		t.Fatal(err)
	}
	for checks.Next() {
		var table, clause string
		if err := checks.Scan(&table, &clause); err != nil {
			t.Fatal(err)
		}
		if i := strings.Index(clause, "json_valid(`"); i >= 0 {
			col := clause[i+len("json_valid(`"):]
			jsonCols[table+"."+col[:strings.IndexByte(col, '`')]] = true
		}
	}
	_ = checks.Close()
	rows, err := admin.Query(`SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS
		WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME <> 'django_migrations'`)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	out := map[string]string{}
	for rows.Next() {
		var table, column, dataType, columnType, nullable string
		if err := rows.Scan(&table, &column, &dataType, &columnType, &nullable); err != nil {
			t.Fatal(err)
		}
		key := table + "." + column
		class := map[string]string{"char": "uuid", "varchar": "char", "longtext": "text", "json": "json",
			"int": "int", "bigint": "bigint", "datetime": "datetime", "smallint": "smallint", "date": "date"}[dataType]
		switch {
		case dataType == "tinyint" && columnType == "tinyint(1)":
			class = "bool"
		case class == "text" && jsonCols[key]:
			class = "json"
		case class == "":
			class = "unmapped " + columnType
		}
		out[key] = class + " nullable=" + nullable
	}
	return out
}

// REL05: what ReadMigrations reads from a loaded fixture decides each line as the
// pinned revision's migrations say, from either database.
func TestREL05_ReleaseLineOfEachFixture(t *testing.T) {
	startServer(t)
	want := map[mariadb.Line]release.Line{mariadb.Release16: release.Line16, mariadb.Release17: release.Line17Plus, mariadb.Main: release.Line17Plus}
	for _, line := range mariadb.Lines {
		for _, layout := range []string{"bk_paas_ng", "bk_engine_ng"} {
			db := fmt.Sprintf("rel_%s_%s", strings.NewReplacer("-", "_", ".", "_").Replace(string(line)), layout)
			if err := server.CreateLineDatabase(db, line, layout); err != nil {
				t.Fatal(err)
			}
			var applied map[string][]string
			readTx(t, db, func(tx *sql.Tx) (err error) {
				applied, err = ReadMigrations(context.Background(), tx, release.Apps)
				return err
			})
			if d := release.Detect(applied); d.Line != want[line] {
				t.Errorf("%s %s: %s (%s), want %s", line, layout, d.Line, d.Evidence, want[line])
			}
		}
	}
}

// ReadClusterStates takes each cluster's newest state, by created, with its nodes.
func TestReadClusterStates(t *testing.T) {
	startServer(t)
	for _, line := range mariadb.Lines {
		w := must(mariadb.NewWorkloads(server, "states_"+strings.NewReplacer("-", "_", ".", "_").Replace(string(line)), line))
		base := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
		must(w.NodeState("default-main", []string{"n1", "n2"}, base))
		newest := must(w.NodeState("default-main", []string{"n3", "n1", "n2"}, base.Add(time.Hour)))
		other := must(w.NodeState("other", nil, base))
		var states map[string]ClusterState
		readTx(t, w.Database, func(tx *sql.Tx) (err error) {
			states, err = ReadClusterStates(context.Background(), tx)
			return err
		})
		got := states["default-main"]
		if got.Name != newest || !reflect.DeepEqual(got.Nodes, []string{"n1", "n2", "n3"}) || !got.Created.Equal(base.Add(time.Hour)) {
			t.Errorf("%s: newest state %+v, want %s with n1..n3", line, got, newest)
		}
		if states["other"].Name != other || len(states["other"].Nodes) != 0 || len(states) != 2 {
			t.Errorf("%s: states %+v", line, states)
		}
		if !strings.HasPrefix(newest, "eng-cstate-") || !strings.HasSuffix(newest, "-2") {
			t.Errorf("%s: state name %q", line, newest)
		}
	}
}

func readTx(t *testing.T, database string, fn func(*sql.Tx) error) {
	t.Helper()
	pools := NewPools()
	defer pools.Forget(diag)
	db, err := pools.Open(diag, "x", server.DSN("admin", "admin", database), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.ReadOnly(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}
