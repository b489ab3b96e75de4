//go:build integration

package platformdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/paasdiag/paasdiag/internal/testsupport/mariadb"
)

// The size of a large installation (issue 11): 100,000 pre-created instances in
// 5,000 plans of 50 pool services, 20,000 apps with a prod and a stag environment
// each, every environment bound to a plan (one in ten not provisioned yet), one in
// ten instances a policy instance.
const (
	scaleServices  = 50
	scalePlans     = 5000
	scaleInstances = 100000
	scaleApps      = 20000
)

// loadScale fills a main-line default database with the installation above, in a
// few INSERT ... SELECT statements over MariaDB's sequence tables.
func loadScale(b *testing.B) (*mariadb.Platform, string) {
	b.Helper()
	s := testDB.Get(b)
	name := fmt.Sprintf("scale_%d", time.Now().UnixNano())
	p, err := mariadb.NewPlatform(s, name, mariadb.Main)
	if err != nil {
		b.Fatal(err)
	}
	id := func(kind, expr string) string { return fmt.Sprintf("MD5(CONCAT('%s', %s))", kind, expr) }
	stmts := []string{
		`INSERT INTO services_service (uuid, created, updated, name, category_id, config, is_active, is_visible)
		 SELECT ` + id("svc", "seq") + `, NOW(6), NOW(6), CONCAT('svc', seq), 1, '{"provider_name": "pool"}', 1, 1 FROM seq_0_to_` + fmt.Sprint(scaleServices-1),
		`INSERT INTO services_plan (uuid, created, updated, service_id, name, config, is_active, tenant_id)
		 SELECT ` + id("plan", "seq") + `, NOW(6), NOW(6), ` + id("svc", fmt.Sprintf("seq %% %d", scaleServices)) + `, CONCAT('plan', seq), 'encrypted', 1, 'default' FROM seq_0_to_` + fmt.Sprint(scalePlans-1),
		`INSERT INTO services_precreatedinstance (uuid, created, updated, config, credentials, is_allocated, plan_id, tenant_id, allocation_type, binding_policy)
		 SELECT ` + id("ins", "seq") + `, NOW(6), NOW(6), '{}', 'encrypted', seq % 3 = 0, ` + id("plan", fmt.Sprintf("seq %% %d", scalePlans)) + `, 'default',
		   IF(seq % 10 = 0, 'policy', 'fifo'), IF(seq % 10 = 0, CONCAT('{"app_code": ["app', seq % ` + fmt.Sprint(scaleApps) + `, '"]}'), '{}')
		 FROM seq_0_to_` + fmt.Sprint(scaleInstances-1),
		`INSERT INTO applications_application (id, created, updated, code, name, app_tenant_id, tenant_id)
		 SELECT ` + id("app", "seq") + `, NOW(6), NOW(6), CONCAT('app', seq), CONCAT('app', seq), 'default', 'default' FROM seq_0_to_` + fmt.Sprint(scaleApps-1),
		`INSERT INTO modules_module (id, created, updated, name, is_default, application_id, tenant_id)
		 SELECT ` + id("mod", "seq") + `, NOW(6), NOW(6), 'default', 1, ` + id("app", "seq") + `, 'default' FROM seq_0_to_` + fmt.Sprint(scaleApps-1),
		`INSERT INTO applications_applicationenvironment (created, updated, environment, is_offlined, application_id, engine_app_id, module_id, tenant_id)
		 SELECT NOW(6), NOW(6), IF(seq % 2 = 0, 'prod', 'stag'), 0, ` + id("app", "seq DIV 2") + `, ` + id("eng", "seq") + `, ` + id("mod", "seq DIV 2") + `, 'default'
		 FROM seq_0_to_` + fmt.Sprint(2*scaleApps-1),
		`INSERT INTO servicehub_serviceengineappattachment (created, updated, engine_app_id, service_id, plan_id, service_instance_id, credentials_enabled, tenant_id)
		 SELECT NOW(6), NOW(6), ` + id("eng", "seq") + `, ` + id("svc", fmt.Sprintf("(seq %% %d) %% %d", scalePlans, scaleServices)) + `, ` + id("plan", fmt.Sprintf("seq %% %d", scalePlans)) + `,
		   IF(seq % 10 = 0, NULL, ` + id("si", "seq") + `), 1, 'default'
		 FROM seq_0_to_` + fmt.Sprint(2*scaleApps-1),
		"ANALYZE TABLE services_service, services_plan, services_precreatedinstance, applications_application, modules_module, applications_applicationenvironment, servicehub_serviceengineappattachment",
	}
	for _, stmt := range stmts {
		if err := s.Exec(name, stmt); err != nil {
			b.Fatalf("%v\n%s", err, stmt)
		}
	}
	dsn, err := p.ReadOnlyUser("ro_scale", "pw")
	if err != nil {
		b.Fatal(err)
	}
	return p, dsn
}

// BenchmarkReadPoolsAtScale reads the pools of the installation above through the
// recommended grant, as one evaluation does, and reports the queries per read (a
// constant, not one per plan or app) and what EXPLAIN says of each. Run by make bench;
// the figures are in docs/performance.md.
func BenchmarkReadPoolsAtScale(b *testing.B) {
	p, dsn := loadScale(b)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	ctx := context.Background()
	read := func() *PoolReport {
		tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = tx.Rollback() }()
		r, err := ReadPools(ctx, tx)
		if err != nil {
			b.Fatal(err)
		}
		return r
	}

	var r *PoolReport
	queries := explainReads(b, p.Server, p.Database, "ro_scale", db, func() { r = read() })
	plans, pending := len(r.Plans), len(r.Unprovisioned)
	b.Logf("read %d plans, %d policy groups, %d unprovisioned environments with %d SELECTs", plans, len(r.Policies), pending, queries)
	if plans != scalePlans || pending != 2*scaleApps/10 {
		b.Fatalf("read %d plans and %d unprovisioned environments; want %d and %d", plans, pending, scalePlans, 2*scaleApps/10)
	}

	b.ResetTimer()
	for b.Loop() {
		read()
	}
	b.ReportMetric(float64(queries), "queries/op")
}

// explainReads runs read once with the server's general log on, logs each SELECT the
// user sent (its rows and time alone) and what EXPLAIN says of it, fails when a joined
// table is read without an index, and returns the number of SELECTs.
func explainReads(b *testing.B, server *mariadb.Server, database, user string, db *sql.DB, read func()) int {
	b.Helper()
	admin, err := server.Admin(database)
	if err != nil {
		b.Fatal(err)
	}
	for _, stmt := range []string{"TRUNCATE mysql.general_log", "SET GLOBAL log_output = 'TABLE'", "SET GLOBAL general_log = 1"} {
		if _, err := admin.Exec(stmt); err != nil {
			b.Fatal(err)
		}
	}
	read()
	if _, err := admin.Exec("SET GLOBAL general_log = 0"); err != nil {
		b.Fatal(err)
	}
	rows, err := admin.Query("SELECT CAST(argument AS CHAR) FROM mysql.general_log WHERE command_type IN ('Query', 'Execute') AND user_host LIKE ?", user+"%")
	if err != nil {
		b.Fatal(err)
	}
	var queries []string
	for rows.Next() {
		var q string
		if err := rows.Scan(&q); err != nil {
			b.Fatal(err)
		}
		if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(q)), "SELECT") {
			queries = append(queries, q)
		}
	}
	_ = rows.Close()
	for _, q := range queries {
		start := time.Now()
		n := 0
		qr, err := db.Query(q)
		if err != nil {
			b.Fatal(err)
		}
		for qr.Next() {
			n++
		}
		_ = qr.Close()
		b.Logf("alone: %d rows in %s: %.80s", n, time.Since(start).Round(time.Millisecond), strings.Join(strings.Fields(q), " "))
		if strings.Contains(q, "information_schema") {
			continue
		}
		explained, err := admin.Query("EXPLAIN " + q)
		if err != nil {
			b.Fatal(err)
		}
		cols, _ := explained.Columns()
		b.Logf("EXPLAIN %s", strings.Join(strings.Fields(q), " "))
		for n := 0; explained.Next(); n++ {
			vals := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := explained.Scan(ptrs...); err != nil {
				b.Fatal(err)
			}
			row := map[string]string{}
			for i, c := range cols {
				row[c] = vals[i].String
			}
			b.Logf("  table %-40s type %-7s key %-60s rows %s %s", row["table"], row["type"], row["key"], row["rows"], row["Extra"])
			// Only the table the optimizer starts from may be read whole: a joined (or
			// dependent) table read whole would make the read grow with the product of
			// the two. Every join must go through an index the platform's migrations create.
			if n > 0 && (row["type"] == "ALL" || row["key"] == "") {
				b.Errorf("%s is joined without an index", row["table"])
			}
		}
		_ = explained.Close()
	}
	return len(queries)
}

// loadScaleWorkloads fills a main-line workloads database for the installation above:
// 20 clusters, the api_app of each of the 20,000 apps' two environments with two
// configs each (the newest naming a cluster, but one app in twenty naming none and one
// in a hundred a cluster that no longer exists), and the tenant's allocation policy.
func loadScaleWorkloads(b *testing.B) (*mariadb.Workloads, string) {
	b.Helper()
	s := testDB.Get(b)
	w, err := mariadb.NewWorkloads(s, fmt.Sprintf("scale_wl_%d", time.Now().UnixNano()), mariadb.Main)
	if err != nil {
		b.Fatal(err)
	}
	id := func(kind, expr string) string { return fmt.Sprintf("MD5(CONCAT('%s', %s))", kind, expr) }
	envs := fmt.Sprint(2*scaleApps - 1)
	stmts := []string{
		`INSERT INTO cluster_cluster (uuid, name, token_value) SELECT ` + id("cl", "seq") + `, CONCAT('k8s-', seq), 'plain-token' FROM seq_0_to_19`,
		`INSERT INTO cluster_apiserver (uuid, host, cluster_id) SELECT ` + id("as", "seq") + `, CONCAT('https://10.0.', seq, '.1:6443'), ` + id("cl", "seq") + ` FROM seq_0_to_19`,
		`INSERT INTO api_app (uuid, name, region) SELECT ` + id("wl", "seq") + `, CONCAT('bkapp-app', seq DIV 2, IF(seq % 2 = 0, '-prod', '-stag')), 'default' FROM seq_0_to_` + envs,
		`INSERT INTO api_config (uuid, app_id, cluster, created) SELECT ` + id("cfg0", "seq") + `, ` + id("wl", "seq") + `, 'k8s-0', NOW(6) - INTERVAL 1 DAY FROM seq_0_to_` + envs,
		`INSERT INTO api_config (uuid, app_id, cluster, created) SELECT ` + id("cfg1", "seq") + `, ` + id("wl", "seq") + `,
		   CASE WHEN seq % 100 = 0 THEN 'gone' WHEN seq % 20 = 0 THEN '' ELSE CONCAT('k8s-', seq % 20) END, NOW(6) FROM seq_0_to_` + envs,
		`INSERT INTO cluster_clusterallocationpolicy (uuid, tenant_id, type, allocation_policy, allocation_precedence_policies)
		 VALUES (MD5('policy'), 'default', 'uniform', '{"env_specific": false, "clusters": ["k8s-0"], "env_clusters": null}', '[]')`,
		"ANALYZE TABLE cluster_cluster, cluster_apiserver, api_app, api_config, cluster_clusterallocationpolicy",
	}
	for _, stmt := range stmts {
		if err := s.Exec(w.Database, stmt); err != nil {
			b.Fatalf("%v\n%s", err, stmt)
		}
	}
	dsn, err := w.ReadOnlyUser("ro_scale_wl", "pw")
	if err != nil {
		b.Fatal(err)
	}
	return w, dsn
}

// BenchmarkReadAppClustersAtScale reads, through the recommended workloads grant, what
// cluster discovery reads in one evaluation: the clusters, every app's latest config,
// the default clusters and the allocation policy. Run by make bench; the figures are
// in docs/performance.md.
func BenchmarkReadAppClustersAtScale(b *testing.B) {
	w, dsn := loadScaleWorkloads(b)
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		b.Fatal(err)
	}
	cfg.ParseTime = true // as Pools.Open connects: updated is a time
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	ctx := context.Background()
	var clusters []ClusterRow
	var apps []AppCluster
	var alloc *Allocation
	read := func() {
		tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = tx.Rollback() }()
		if clusters, err = ReadClusters(ctx, tx); err != nil {
			b.Fatal(err)
		}
		var hidden string
		if apps, hidden, err = ReadAppClusters(ctx, tx); err != nil || hidden != "" {
			b.Fatal(err, hidden)
		}
		if defaults, err := DefaultClusters(ctx, tx); err != nil || defaults != nil {
			b.Fatal(err, defaults)
		}
		if alloc, hidden, err = ReadAllocation(ctx, tx); err != nil || hidden != "" {
			b.Fatal(err, hidden)
		}
	}
	queries := explainReads(b, w.Server, w.Database, "ro_scale_wl", db, read)
	unnamed := 0
	for _, a := range apps {
		if a.Cluster == "" {
			unnamed++
		}
	}
	b.Logf("read %d clusters, %d apps (%d naming no cluster), %d policies with %d SELECTs", len(clusters), len(apps), unnamed, len(alloc.Policies), queries)
	if len(clusters) != 20 || len(apps) != 2*scaleApps || unnamed != 2*scaleApps/20-2*scaleApps/100 || len(alloc.Policies) != 1 {
		b.Fatalf("read %d clusters, %d apps, %d naming none, %d policies", len(clusters), len(apps), unnamed, len(alloc.Policies))
	}
	b.ResetTimer()
	for b.Loop() {
		read()
	}
	b.ReportMetric(float64(queries), "queries/op")
}
