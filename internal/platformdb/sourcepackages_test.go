//go:build integration

package platformdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/paasdiag/paasdiag/internal/testsupport/mariadb"
)

// packageModule adds an environment of a module (creating the app and module) and gives
// the module a source origin (0 for NULL); it returns the module's id.
func packageModule(t *testing.T, p *mariadb.Platform, app, module string, origin int) string {
	t.Helper()
	must(p.Environment(app, module, "prod"))
	var o any = origin
	if origin == 0 {
		o = nil
	}
	if err := p.Server.Exec(p.Database, `UPDATE modules_module m JOIN applications_application a ON a.id = m.application_id
		SET m.source_origin = ? WHERE a.code = ? AND m.name = ?`, o, app, module); err != nil {
		t.Fatal(err)
	}
	admin := must(p.Server.Admin(p.Database))
	defer func() { _ = admin.Close() }()
	var id string
	if err := admin.QueryRow(`SELECT m.id FROM modules_module m JOIN applications_application a ON a.id = m.application_id
		WHERE a.code = ? AND m.name = ?`, app, module).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// addPackage records a package of a module as the platform's uploader does
// (SourcePackage.objects.store): engine is "GenericRemoteClient" for a blob object,
// "docker" for an S-mart image; sha "" stores NULL.
func addPackage(t *testing.T, p *mariadb.Platform, moduleID, version, engine string, size int64, sha string, deleted bool, created time.Time) {
	t.Helper()
	var signature any = sha
	if sha == "" {
		signature = nil
	}
	path := "default/" + moduleID[:6] + "/" + version + ":" + sha + ":pkg.tgz"
	if err := p.Server.Exec(p.Database, `INSERT INTO sourcectl_sourcepackage (created, updated, module_id, version, package_name, package_size,
		storage_engine, storage_path, storage_url, sha256_signature, relative_path, is_deleted) VALUES (?, ?, ?, ?, 'pkg.tgz', ?, ?, ?, ?, ?, './', ?)`,
		created.UTC(), created.UTC(), moduleID, version, size, engine, path, "bkrepo://bkpaas3-source-packages/"+path, signature, deleted); err != nil {
		t.Fatal(err)
	}
}

func readPackages(t *testing.T, database, after string, limit int) []SourcePackage {
	t.Helper()
	var out []SourcePackage
	readTx(t, database, func(tx *sql.Tx) (err error) {
		out, err = ReadLatestSourcePackages(context.Background(), tx, after, limit)
		return err
	})
	return out
}

// ReadLatestSourcePackages gives each package module's newest package that is neither
// deleted nor an image, in module id order, a page at a time; modules of other origins,
// and package modules left with nothing to download, are not listed.
func TestReadLatestSourcePackages(t *testing.T) {
	startServer(t)
	base := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	for _, line := range mariadb.Lines {
		t.Run(string(line), func(t *testing.T) {
			p := must(mariadb.NewPlatform(server, "pkgs_"+strings.NewReplacer("-", "_", ".", "_").Replace(string(line)), line))
			smart := packageModule(t, p, "smart1", "default", 3)
			addPackage(t, p, smart, "1.0.0", "GenericRemoteClient", 100, strings.Repeat("a", 64), false, base)
			addPackage(t, p, smart, "1.1.0", "GenericRemoteClient", 110, strings.Repeat("b", 64), false, base.Add(time.Hour))
			addPackage(t, p, smart, "1.2.0", "GenericRemoteClient", 120, strings.Repeat("c", 64), true, base.Add(2*time.Hour)) // cleaned up
			lesscode := packageModule(t, p, "lesscode1", "web", 2)
			addPackage(t, p, lesscode, "v1", "GenericRemoteClient", 200, "", false, base)
			addPackage(t, p, lesscode, "v0", "docker", 0, strings.Repeat("d", 64), false, base.Add(-time.Hour)) // an older image
			// Its newest package is an image: the module deploys images, whatever older
			// blob packages it has.
			imageNow := packageModule(t, p, "smartnow", "default", 3)
			addPackage(t, p, imageNow, "1.0", "GenericRemoteClient", 50, "", false, base)
			addPackage(t, p, imageNow, "2.0", "docker", 0, "", false, base.Add(time.Hour))
			agent := packageModule(t, p, "agent1", "default", 7)
			addPackage(t, p, agent, "0.1", "GenericRemoteClient", 300, strings.Repeat("e", 64), false, base)
			vcs := packageModule(t, p, "vcs1", "default", 1) // deployed from a repository: its packages do not matter
			addPackage(t, p, vcs, "x", "GenericRemoteClient", 1, "", false, base)
			unknown := packageModule(t, p, "old1", "default", 0) // source_origin NULL
			addPackage(t, p, unknown, "x", "GenericRemoteClient", 1, "", false, base)
			images := packageModule(t, p, "smartimg", "default", 3) // S-mart with images only
			addPackage(t, p, images, "2.0", "docker", 0, "", false, base)
			packageModule(t, p, "smart2", "default", 3) // no package at all

			all := readPackages(t, p.Database, "", 100)
			want := map[string]string{smart: "smart1/default 1.1.0 110", lesscode: "lesscode1/web v1 200", agent: "agent1/default 0.1 300"}
			if len(all) != len(want) {
				t.Fatalf("read %+v, want the packages of %v", all, want)
			}
			for i, got := range all {
				if i > 0 && got.ModuleID <= all[i-1].ModuleID {
					t.Errorf("not in module id order: %s after %s", got.ModuleID, all[i-1].ModuleID)
				}
				if w := want[got.ModuleID]; fmt.Sprintf("%s/%s %s %d", got.App, got.Module, got.Version, got.Size) != w {
					t.Errorf("module %s: %+v, want %s", got.ModuleID, got, w)
				}
				if !strings.HasPrefix(got.StoragePath, "default/"+got.ModuleID[:6]+"/"+got.Version+":") {
					t.Errorf("%s: storage path %q", got.App, got.StoragePath)
				}
				switch got.App {
				case "smart1":
					if got.SHA256 != strings.Repeat("b", 64) || !got.Created.Equal(base.Add(time.Hour)) {
						t.Errorf("smart1: %+v", got)
					}
				case "lesscode1":
					if got.SHA256 != "" || !got.Created.Equal(base) {
						t.Errorf("lesscode1 (NULL signature): %+v", got)
					}
				}
			}

			// Pages of two, then of one: the same modules, each once.
			var paged []SourcePackage
			for after, n := "", 0; ; n++ {
				page := readPackages(t, p.Database, after, 2)
				paged = append(paged, page...)
				if len(page) < 2 {
					break
				}
				after = page[len(page)-1].ModuleID
				if n > 5 {
					t.Fatal("pagination does not end")
				}
			}
			if fmt.Sprint(paged) != fmt.Sprint(all) {
				t.Errorf("pages of 2: %+v\nwant %+v", paged, all)
			}
			if last := readPackages(t, p.Database, all[len(all)-1].ModuleID, 1); len(last) != 0 {
				t.Errorf("after the last module: %+v", last)
			}
			if one := readPackages(t, p.Database, all[0].ModuleID, 1); len(one) != 1 || one[0].ModuleID != all[1].ModuleID {
				t.Errorf("the page after the first module: %+v, want %s", one, all[1].ModuleID)
			}
			if none := readPackages(t, p.Database, "", 0); none != nil {
				t.Errorf("limit 0: %+v", none)
			}
		})
	}
}

// At 20,000 modules (three in four deployed from a package, five packages each), one page
// reads rows in proportion to the page, not to the installation: the module scan stops
// at the limit, and each module's packages are reached through the module_id index.
func TestReadLatestSourcePackagesAtScale(t *testing.T) {
	startServer(t)
	p := must(mariadb.NewPlatform(server, "pkgs_scale", mariadb.Main))
	const modules = 20000
	id := func(kind, expr string) string { return fmt.Sprintf("MD5(CONCAT('%s', %s))", kind, expr) }
	for _, stmt := range []string{
		`INSERT INTO applications_application (id, code, name) SELECT ` + id("app", "seq") + `, CONCAT('app', seq), CONCAT('app', seq) FROM seq_0_to_` + fmt.Sprint(modules-1),
		// Origins 1 (a repository), 2, 3, 7 in turn.
		`INSERT INTO modules_module (id, name, is_default, application_id, source_origin)
		 SELECT ` + id("mod", "seq") + `, 'default', 1, ` + id("app", "seq") + `, ELT(seq % 4 + 1, 1, 2, 3, 7) FROM seq_0_to_` + fmt.Sprint(modules-1),
		// Five packages a module, a minute apart: the newest deleted in one module in three,
		// an image in one in five (the module deploys images: left out, unless that image
		// is deleted).
		`INSERT INTO sourcectl_sourcepackage (created, module_id, version, package_size, storage_engine, storage_path, is_deleted)
		 SELECT NOW(6) - INTERVAL (5 - v.seq) MINUTE, ` + id("mod", "m.seq") + `, CONCAT('v', v.seq), 1000 + v.seq,
		   IF(v.seq = 4 AND m.seq % 5 = 0, 'docker', 'GenericRemoteClient'), CONCAT('key/', m.seq, '/', v.seq), v.seq = 4 AND m.seq % 3 = 0
		 FROM seq_0_to_` + fmt.Sprint(modules-1) + ` m, seq_0_to_4 v`,
		"ANALYZE TABLE applications_application, modules_module, sourcectl_sourcepackage",
	} {
		if err := server.Exec(p.Database, stmt); err != nil {
			t.Fatalf("%v\n%s", err, stmt)
		}
	}

	// One page of 100 from the start, counting the rows the server reads.
	admin := must(server.Admin(p.Database))
	defer func() { _ = admin.Close() }()
	ctx := context.Background()
	conn := must(admin.Conn(ctx))
	defer func() { _ = conn.Close() }()
	handlerReads := func() int64 {
		rows := must(conn.QueryContext(ctx, "SHOW SESSION STATUS LIKE 'Handler_read%'"))
		defer func() { _ = rows.Close() }()
		var n int64
		for rows.Next() {
			var name string
			var v int64
			if err := rows.Scan(&name, &v); err != nil {
				t.Fatal(err)
			}
			n += v
		}
		return n
	}
	before := handlerReads()
	tx := must(conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true}))
	page, err := ReadLatestSourcePackages(ctx, tx, "", 100)
	_ = tx.Rollback()
	if err != nil {
		t.Fatal(err)
	}
	reads := handlerReads() - before
	t.Logf("one page of %d: %d rows read by the server", len(page), reads)
	if len(page) != 100 {
		t.Fatalf("page of %d", len(page))
	}
	// About 150 modules scanned for 100 package modules, their five packages read twice
	// (two dependent subqueries: the newest's id and engine), 100 primary key reads, and
	// information_schema; a scan of the tables would be 120,000 rows.
	if reads > 5000 {
		t.Errorf("one page of 100 read %d rows: the read grows with the installation", reads)
	}
	for _, got := range page {
		n := strings.TrimPrefix(got.App, "app")
		var seq int
		_, _ = fmt.Sscan(n, &seq)
		want := "v4"
		switch {
		case seq%3 == 0:
			want = "v3" // the newest is deleted
		case seq%5 == 0:
			t.Errorf("%s: its newest package is an image, the module is not read: %+v", got.App, got)
		}
		if got.Version != want || got.StoragePath != fmt.Sprintf("key/%d/%s", seq, want[1:]) {
			t.Errorf("%s: %+v, want %s", got.App, got, want)
		}
	}

	// Every page of 1,000, through the read-only transaction of a pool.
	start := time.Now()
	total, pages := 0, 0
	for after := ""; ; pages++ {
		got := readPackages(t, p.Database, after, 1000)
		total += len(got)
		if len(got) < 1000 {
			break
		}
		after = got[len(got)-1].ModuleID
	}
	t.Logf("%d package modules in %d pages of 1000 in %s", total, pages+1, time.Since(start).Round(time.Millisecond))
	// Package modules (origins 2, 3, 7) but those whose newest package is an image.
	want := 0
	for seq := range modules {
		if seq%4 != 0 && (seq%5 != 0 || seq%3 == 0) {
			want++
		}
	}
	if total != want {
		t.Errorf("read %d package modules, want %d", total, want)
	}
}
