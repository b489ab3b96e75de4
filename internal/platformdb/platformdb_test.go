//go:build integration

package platformdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/testsupport/mariadb"
	"github.com/paasdiag/paasdiag/internal/testsupport/netfault"
)

// These tests run against a real MariaDB server (hack/mariadb.sh), started by the first
// test that needs one (not by fuzz workers, which need none).
var (
	testDB mariadb.Lazy
	server *mariadb.Server
)

func startServer(t *testing.T) {
	t.Helper()
	server = testDB.Get(t)
}

func TestMain(m *testing.M) {
	code := m.Run()
	testDB.Close()
	os.Exit(code)
}

var diag = types.NamespacedName{Namespace: "ns", Name: "d"}

func readPools(t *testing.T, dsn string) (*PoolReport, error) {
	t.Helper()
	pools := NewPools()
	defer pools.Forget(diag)
	db, err := pools.Open(diag, "default", dsn, 5*time.Second)
	if err != nil {
		return nil, err
	}
	var report *PoolReport
	err = db.ReadOnly(context.Background(), func(tx *sql.Tx) error {
		var err error
		report, err = ReadPools(context.Background(), tx)
		return err
	})
	return report, err
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestReadPoolsCurrentSchema(t *testing.T) {
	startServer(t)
	p := must(mariadb.NewPlatform(server, "pools_current", mariadb.Main))
	redis := must(p.Service("redis", "pool"))
	must(p.Service("mysql", "mysql")) // a remote service: no pool
	shared := must(p.Plan(redis, "0shared", "default"))
	exclusive := must(p.Plan(redis, "1exclusive", "default"))
	must(p.Instances(shared, 2, false, "fifo"))
	must(p.Instances(shared, 3, true, "fifo"))
	must(p.Instances(shared, 1, false, "policy"))
	must(p.Instances(exclusive, 1, true, "fifo"))
	must(p.Instances(mariadb.NewID(), 2, false, "fifo")) // a deleted plan's
	must(p.Instances("", 1, true, "fifo"))               // no plan at all
	dsn := must(p.ReadOnlyUser("ro_current", "ro-pass"))

	r, err := readPools(t, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Schema.PlanTenant || !r.Schema.AllocationType || r.Schema.Name() != "current" {
		t.Errorf("schema %+v (%s)", r.Schema, r.Schema.Name())
	}
	if len(r.Plans) != 2 {
		t.Fatalf("plans %+v", r.Plans)
	}
	got := fmt.Sprintf("%+v", r.Plans[0])
	if r.Plans[0].Plan != "0shared" || r.Plans[0].Available != 2 || r.Plans[0].Policy != 1 || r.Plans[0].Total != 6 ||
		r.Plans[0].Tenant != "default" || r.Plans[0].Provider != "pool" || !r.Plans[0].PlanActive || !r.Plans[0].ServiceActive {
		t.Errorf("0shared: %s", got)
	}
	if r.Plans[1].Plan != "1exclusive" || r.Plans[1].Available != 0 || r.Plans[1].Total != 1 {
		t.Errorf("1exclusive: %+v", r.Plans[1])
	}
	if len(r.Orphans) != 2 || r.Orphans[0].PlanID != "" || r.Orphans[0].Total != 1 || r.Orphans[1].Unallocated != 2 {
		t.Errorf("orphans %+v", r.Orphans)
	}
}

func TestReadPoolsLegacySchema(t *testing.T) {
	startServer(t)
	p := must(mariadb.NewPlatform(server, "pools_legacy", mariadb.Release16))
	redis := must(p.Service("redis", "pool"))
	shared := must(p.Plan(redis, "0shared", ""))
	must(p.Instances(shared, 2, false, ""))
	must(p.Instances(shared, 1, true, ""))
	dsn := must(p.ReadOnlyUser("ro_legacy", "ro-pass"))

	r, err := readPools(t, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if r.Schema.PlanTenant || r.Schema.AllocationType || r.Schema.Name() != "platform 1.6" {
		t.Errorf("schema %+v", r.Schema)
	}
	if len(r.Plans) != 1 || r.Plans[0].Available != 2 || r.Plans[0].Total != 3 || r.Plans[0].Tenant != "" {
		t.Errorf("plans %+v", r.Plans)
	}
}

func TestReadPoolsUnrecognizedSchema(t *testing.T) {
	startServer(t)
	p := must(mariadb.NewPlatform(server, "pools_odd", mariadb.Main))
	if err := server.Exec(p.Database, "ALTER TABLE services_plan DROP COLUMN is_active; DROP TABLE services_precreatedinstance"); err != nil {
		t.Fatal(err)
	}
	_, err := readPools(t, server.DSN("admin", "admin", p.Database))
	var e *Error
	if !errors.As(err, &e) || e.Reason != v1alpha1.ReasonSchemaUnrecognized {
		t.Fatalf("got %v, want SchemaUnrecognized", err)
	}
	for _, want := range []string{"services_plan.is_active", "table services_precreatedinstance"} {
		if !strings.Contains(e.Message, want) {
			t.Errorf("message %q does not name %s", e.Message, want)
		}
	}
}

func TestReadOnlyRefusesWrites(t *testing.T) {
	startServer(t)
	must(mariadb.NewPlatform(server, "pools_rw", mariadb.Main))
	pools := NewPools()
	defer pools.Forget(diag)
	db := must(pools.Open(diag, "default", server.DSN("admin", "admin", "pools_rw"), 5*time.Second))
	err := db.ReadOnly(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec("DELETE FROM services_plan")
		return err
	})
	if err == nil {
		t.Fatal("a write succeeded inside the read-only transaction")
	}
}

func TestFailuresAreClassified(t *testing.T) {
	startServer(t)
	must(mariadb.NewPlatform(server, "pools_denied", mariadb.Main))
	if err := server.Exec("", "CREATE USER IF NOT EXISTS 'nogrants'@'127.0.0.1' IDENTIFIED BY 'pw'"); err != nil {
		t.Fatal(err)
	}
	closed := freeAddr(t)
	silent := silentListener(t)

	tests := []struct {
		name, dsn, reason string
	}{
		{"wrong password", server.DSN("admin", "not-the-password", "pools_denied"), v1alpha1.ReasonAccessDenied},
		{"no grants", server.DSN("nogrants", "pw", "pools_denied"), v1alpha1.ReasonAccessDenied},
		{"no such database", server.DSN("admin", "admin", "no_such_db"), v1alpha1.ReasonDatabaseNotFound},
		{"closed port", "u:p@tcp(" + closed + ")/bk_paas_ng", v1alpha1.ReasonDatabaseUnreachable},
		{"no such host", "u:p@tcp(no-such-host.invalid:3306)/bk_paas_ng", v1alpha1.ReasonDatabaseUnreachable},
		{"never answers", "u:p@tcp(" + silent + ")/bk_paas_ng", v1alpha1.ReasonTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pools := NewPools()
			defer pools.Forget(diag)
			db := must(pools.Open(diag, "default", tt.dsn, time.Second))
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			err := db.ReadOnly(ctx, func(tx *sql.Tx) error {
				_, err := ReadPools(ctx, tx)
				return err
			})
			var e *Error
			if !errors.As(err, &e) || e.Reason != tt.reason {
				t.Fatalf("got %v, want reason %s", err, tt.reason)
			}
			if strings.Contains(e.Message, "not-the-password") || strings.Contains(e.Message, ":pw@") {
				t.Errorf("message leaks a password: %s", e.Message)
			}
		})
	}
}

func TestParseDSN(t *testing.T) {
	for _, dsn := range []string{
		"paasdiag:s3cret@tcp(mysql.blueking:3306)/bk_paas_ng",
		"mysql://paasdiag:s3cret@mysql.blueking:3306/bk_paas_ng",
		"mysql://paasdiag:s3cret@mysql.blueking/bk_paas_ng?charset=utf8mb4",
		"  paasdiag:s3cret@tcp(10.0.0.5)/bk_paas_ng\n",
	} {
		cfg, err := ParseDSN(dsn)
		if err != nil {
			t.Errorf("%q: %v", dsn, err)
			continue
		}
		if cfg.User != "paasdiag" || cfg.Passwd != "s3cret" || cfg.DBName != "bk_paas_ng" || !strings.HasSuffix(cfg.Addr, ":3306") {
			t.Errorf("%q parsed as %s@%s/%s", dsn, cfg.User, cfg.Addr, cfg.DBName)
		}
	}
	for _, dsn := range []string{
		"",
		"paasdiag:s3cret@tcp(mysql:3306)",
		"paasdiag:s3cret@tcp(mysql:3306/bk_paas_ng",
		"paasdiag:s3cret@tcp(mysql:3306)/",
		"paasdiag:s3cret@tcp(mysql:3306)/bk?parseTime=s3cret",
		"mysql://paasdiag:s3cret@[::1/bk",
	} {
		_, err := ParseDSN(dsn)
		var e *Error
		if !errors.As(err, &e) || e.Reason != v1alpha1.ReasonInvalidDSN {
			t.Errorf("%q: got %v, want InvalidDSN", dsn, err)
			continue
		}
		if strings.Contains(e.Message, "s3cret") {
			t.Errorf("%q: message leaks the password: %s", dsn, e.Message)
		}
	}
}

func TestPoolsReuseReplaceAndForget(t *testing.T) {
	startServer(t)
	must(mariadb.NewPlatform(server, "pools_reuse", mariadb.Main))
	pools := NewPools()
	dsn := server.DSN("admin", "admin", "pools_reuse")
	a := must(pools.Open(diag, "default", dsn, time.Second))
	b := must(pools.Open(diag, "default", dsn, time.Second))
	if a.db != b.db || pools.Len() != 1 {
		t.Fatal("the same DSN opened a second pool")
	}
	c := must(pools.Open(diag, "default", dsn+"?charset=utf8mb4", time.Second))
	if c.db == a.db || pools.Len() != 1 {
		t.Fatal("a changed DSN did not replace the pool")
	}
	if err := a.db.Ping(); err == nil {
		t.Error("the replaced pool is still open")
	}
	other := types.NamespacedName{Namespace: "ns", Name: "other"}
	must(pools.Open(other, "default", dsn, time.Second))
	pools.Forget(diag)
	if pools.Len() != 1 {
		t.Errorf("%d pools after forgetting one diagnosis, want 1", pools.Len())
	}
	if err := c.db.Ping(); err == nil {
		t.Error("a forgotten diagnosis' pool is still open")
	}
}

func freeAddr(t *testing.T) string {
	addr, err := netfault.ClosedAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

func silentListener(t *testing.T) string {
	addr, stop, err := netfault.SilentListener()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return addr
}

func TestReadClusters(t *testing.T) {
	startServer(t)
	for _, legacy := range []bool{false, true} {
		t.Run(fmt.Sprintf("legacy=%v", legacy), func(t *testing.T) {
			line := mariadb.Main
			if legacy {
				line = mariadb.Release16
			}
			w := must(mariadb.NewWorkloads(server, fmt.Sprintf("clusters_%v", legacy), line))
			stored := mariadb.StoredCredentials{CA: "bkcrypt$ca", Cert: "bkcrypt$cert", Key: "bkcrypt$key", Token: "sm4ctr$token"}
			must(w.Cluster("default-main", []string{"https://10.0.0.2:6443", "https://10.0.0.1:6443"}, stored))
			must(w.Cluster("empty", nil, mariadb.StoredCredentials{}))
			if legacy {
				if err := server.Exec(w.Database, "UPDATE cluster_apiserver SET overridden_hostname = 'kubernetes.default'"); err != nil {
					t.Fatal(err)
				}
			} else if err := server.Exec(w.Database, `UPDATE cluster_cluster SET assert_hostname = '"apiserver.example"' WHERE name = 'default-main'`); err != nil {
				t.Fatal(err)
			}
			dsn := must(w.ReadOnlyUser(fmt.Sprintf("ro_clusters_%v", legacy), "pw-clusters"))

			pools := NewPools()
			defer pools.Forget(diag)
			db := must(pools.Open(diag, "workloads", dsn, 5*time.Second))
			var rows []ClusterRow
			err := db.ReadOnly(context.Background(), func(tx *sql.Tx) error {
				var err error
				rows, err = ReadClusters(context.Background(), tx)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 2 || rows[0].Name != "default-main" || rows[1].Name != "empty" {
				t.Fatalf("rows %+v", rows)
			}
			c := rows[0]
			if c.CA != stored.CA || c.Cert != stored.Cert || c.Key != stored.Key || c.Token != stored.Token {
				t.Errorf("credentials %+v", c)
			}
			if strings.Join(c.APIServers, ",") != "https://10.0.0.1:6443,https://10.0.0.2:6443" || len(rows[1].APIServers) != 0 {
				t.Errorf("API servers %v / %v", c.APIServers, rows[1].APIServers)
			}
			if legacy {
				if c.AssertHostname != "" || c.Overrides["https://10.0.0.1:6443"] != "kubernetes.default" {
					t.Errorf("assert_hostname %q, overrides %v", c.AssertHostname, c.Overrides)
				}
			} else if c.AssertHostname != `"apiserver.example"` || c.Overrides != nil {
				t.Errorf("assert_hostname %q, overrides %v", c.AssertHostname, c.Overrides)
			}
			if c.Updated.IsZero() || time.Since(c.Updated) > time.Hour {
				t.Errorf("updated %v", c.Updated)
			}
		})
	}
}

// Each line's workloads database, through the recommended grant: the cluster of every
// app's latest config, and (1.6) the default cluster of each region.
func TestCLU24_AppClustersOnEachLine(t *testing.T) {
	startServer(t)
	for _, line := range mariadb.Lines {
		t.Run(string(line), func(t *testing.T) {
			w := must(mariadb.NewWorkloads(server, "apps_"+strings.NewReplacer("-", "_", ".", "_").Replace(string(line)), line))
			must(w.Cluster("default-main", []string{"https://10.0.0.1:6443"}, mariadb.StoredCredentials{}))
			if w.Legacy {
				if err := server.Exec(w.Database, "UPDATE cluster_cluster SET is_default = 1, region = 'default'"); err != nil {
					t.Fatal(err)
				}
			}
			for _, app := range []struct {
				name     string
				clusters []string
			}{{"bkapp-moved-prod", []string{"gone", "default-main"}}, {"bkapp-stale-prod", []string{"default-main", "gone"}}, {"bkapp-none-prod", []string{""}}} {
				if err := w.App(app.name, "default", app.clusters...); err != nil {
					t.Fatal(err)
				}
			}
			db := must(NewPools().Open(diag, "workloads", must(w.ReadOnlyUser("ro_apps_"+fmt.Sprint(len(line)), "pw")), 5*time.Second))
			var apps []AppCluster
			var hidden string
			var defaults map[string][]string
			err := db.ReadOnly(context.Background(), func(tx *sql.Tx) error {
				var err error
				if apps, hidden, err = ReadAppClusters(context.Background(), tx); err != nil {
					return err
				}
				defaults, err = DefaultClusters(context.Background(), tx)
				return err
			})
			if err != nil || hidden != "" {
				t.Fatalf("%v, hidden %q", err, hidden)
			}
			got := fmt.Sprint(apps)
			want := "[{bkapp-moved-prod default default-main } {bkapp-none-prod default  } {bkapp-stale-prod default gone }]"
			if !w.Legacy { // 1.7+: the app's tenant
				want = "[{bkapp-moved-prod default default-main default} {bkapp-none-prod default  default} {bkapp-stale-prod default gone default}]"
			}
			if got != want {
				t.Errorf("apps %s, want %s", got, want)
			}
			if w.Legacy != (defaults != nil) || (w.Legacy && fmt.Sprint(defaults) != "map[default:[default-main]]") {
				t.Errorf("defaults %v", defaults)
			}
		})
	}
}

// Each line's workloads database, through the recommended grant: the tenant's cluster
// allocation policy and the clusters' tenancy on 1.7+; on 1.6 there is no policy (the
// region's is_default cluster decides) and ReadAllocation says the table is missing.
func TestCLU28_AllocationOnEachLine(t *testing.T) {
	startServer(t)
	for _, line := range mariadb.Lines {
		t.Run(string(line), func(t *testing.T) {
			w := must(mariadb.NewWorkloads(server, "alloc_"+strings.NewReplacer("-", "_", ".", "_").Replace(string(line)), line))
			must(w.Cluster("default-main", []string{"https://10.0.0.1:6443"}, mariadb.StoredCredentials{}))
			if err := w.App("bkapp-none-prod", "default", ""); err != nil {
				t.Fatal(err)
			}
			if !w.Legacy {
				if err := w.AllocationPolicy("default", "uniform", `{"env_specific": false, "clusters": ["default-main"], "env_clusters": null}`, ""); err != nil {
					t.Fatal(err)
				}
				if err := server.Exec(w.Database, `UPDATE cluster_cluster SET tenant_id = 'system', available_tenant_ids = '["default"]'`); err != nil {
					t.Fatal(err)
				}
			}
			db := must(NewPools().Open(diag, "workloads", must(w.ReadOnlyUser("ro_alloc_"+fmt.Sprint(len(line)), "pw")), 5*time.Second))
			var a *Allocation
			var apps []AppCluster
			var hidden string
			err := db.ReadOnly(context.Background(), func(tx *sql.Tx) error {
				var err error
				if apps, _, err = ReadAppClusters(context.Background(), tx); err != nil {
					return err
				}
				a, hidden, err = ReadAllocation(context.Background(), tx)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if w.Legacy {
				if a != nil || hidden != "api_app.tenant_id; table cluster_clusterallocationpolicy" || apps[0].Tenant != "" {
					t.Fatalf("1.6: %+v %q %+v", a, hidden, apps)
				}
				return
			}
			if hidden != "" || apps[0].Tenant != "default" {
				t.Fatalf("hidden %q, apps %+v", hidden, apps)
			}
			p := a.Policies["default"]
			if p.Type != "uniform" || !strings.Contains(p.Policy.String, `"default-main"`) || p.Precedence.String != "[]" {
				t.Errorf("policy %+v", p)
			}
			if got := a.Tenancy["default-main"]; got.Tenant != "system" || got.Available != `["default"]` {
				t.Errorf("tenancy %+v", got)
			}
		})
	}
}

// paasdiag's pool refuses writes even through a writable user (the platform's own, as
// settingsFrom finds it): every session is read-only, so an INSERT fails outside a
// transaction, in a transaction paasdiag did not mark read-only, and in ReadOnly.
func TestWritesAreRefusedThroughAWritableUser(t *testing.T) {
	startServer(t)
	// The admin user may write anything (the test server's administrator).
	admin, err := server.Admin("")
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("DROP DATABASE IF EXISTS writable; CREATE DATABASE writable; CREATE TABLE writable.t (id INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	pools := NewPools()
	defer pools.Forget(diag)
	db, err := pools.Open(diag, "default", server.DSN("admin", "admin", "writable"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var readOnly string
	if err := db.db.QueryRowContext(ctx, "SELECT @@SESSION.tx_read_only").Scan(&readOnly); err != nil || readOnly != "1" {
		t.Fatalf("the session is not read-only: %q, %v", readOnly, err)
	}
	refused := func(what string, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), "READ ONLY") {
			t.Errorf("%s: the INSERT was not refused as a read-only write: %v", what, err)
		}
	}
	_, err = db.db.ExecContext(ctx, "INSERT INTO t VALUES (1)")
	refused("outside a transaction", err)
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO t VALUES (2)")
	refused("in a plain transaction", err)
	_ = tx.Rollback()
	refused("in ReadOnly", db.ReadOnly(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO t VALUES (3)")
		return err
	}))
	var n int
	if err := admin.QueryRow("SELECT COUNT(*) FROM writable.t").Scan(&n); err != nil || n != 0 {
		t.Errorf("%d row(s) written through paasdiag's pool (%v)", n, err)
	}
}
