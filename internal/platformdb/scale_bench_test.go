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
type scaleSize struct{ services, plans, instances, apps int }

var (
	fullScale = scaleSize{services: 50, plans: 5000, instances: 100000, apps: 20000}
	// smallScale is a twentieth of it: the queries of one read must be as many.
	smallScale = scaleSize{services: 50, plans: 250, instances: 5000, apps: 1000}
)

// loadScale fills a main-line default database with the installation above, in a
// few INSERT ... SELECT statements over MariaDB's sequence tables.
func loadScale(b *testing.B, sz scaleSize, user string) (*mariadb.Platform, string) {
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
		 SELECT ` + id("svc", "seq") + `, NOW(6), NOW(6), CONCAT('svc', seq), 1, '{"provider_name": "pool"}', 1, 1 FROM seq_0_to_` + fmt.Sprint(sz.services-1),
		`INSERT INTO services_plan (uuid, created, updated, service_id, name, config, is_active, tenant_id)
		 SELECT ` + id("plan", "seq") + `, NOW(6), NOW(6), ` + id("svc", fmt.Sprintf("seq %% %d", sz.services)) + `, CONCAT('plan', seq), 'encrypted', 1, 'default' FROM seq_0_to_` + fmt.Sprint(sz.plans-1),
		`INSERT INTO services_precreatedinstance (uuid, created, updated, config, credentials, is_allocated, plan_id, tenant_id, allocation_type, binding_policy)
		 SELECT ` + id("ins", "seq") + `, NOW(6), NOW(6), '{}', 'encrypted', seq % 3 = 0, ` + id("plan", fmt.Sprintf("seq %% %d", sz.plans)) + `, 'default',
		   IF(seq % 10 = 0, 'policy', 'fifo'), IF(seq % 10 = 0, CONCAT('{"app_code": ["app', seq % ` + fmt.Sprint(sz.apps) + `, '"]}'), '{}')
		 FROM seq_0_to_` + fmt.Sprint(sz.instances-1),
		`INSERT INTO applications_application (id, created, updated, code, name, app_tenant_id, tenant_id)
		 SELECT ` + id("app", "seq") + `, NOW(6), NOW(6), CONCAT('app', seq), CONCAT('app', seq), 'default', 'default' FROM seq_0_to_` + fmt.Sprint(sz.apps-1),
		`INSERT INTO modules_module (id, created, updated, name, is_default, application_id, tenant_id)
		 SELECT ` + id("mod", "seq") + `, NOW(6), NOW(6), 'default', 1, ` + id("app", "seq") + `, 'default' FROM seq_0_to_` + fmt.Sprint(sz.apps-1),
		`INSERT INTO applications_applicationenvironment (created, updated, environment, is_offlined, application_id, engine_app_id, module_id, tenant_id)
		 SELECT NOW(6), NOW(6), IF(seq % 2 = 0, 'prod', 'stag'), 0, ` + id("app", "seq DIV 2") + `, ` + id("eng", "seq") + `, ` + id("mod", "seq DIV 2") + `, 'default'
		 FROM seq_0_to_` + fmt.Sprint(2*sz.apps-1),
		`INSERT INTO servicehub_serviceengineappattachment (created, updated, engine_app_id, service_id, plan_id, service_instance_id, credentials_enabled, tenant_id)
		 SELECT NOW(6), NOW(6), ` + id("eng", "seq") + `, ` + id("svc", fmt.Sprintf("(seq %% %d) %% %d", sz.plans, sz.services)) + `, ` + id("plan", fmt.Sprintf("seq %% %d", sz.plans)) + `,
		   IF(seq % 10 = 0, NULL, ` + id("si", "seq") + `), 1, 'default'
		 FROM seq_0_to_` + fmt.Sprint(2*sz.apps-1),
		"ANALYZE TABLE services_service, services_plan, services_precreatedinstance, applications_application, modules_module, applications_applicationenvironment, servicehub_serviceengineappattachment",
	}
	for _, stmt := range stmts {
		if err := s.Exec(name, stmt); err != nil {
			b.Fatalf("%v\n%s", err, stmt)
		}
	}
	dsn, err := p.ReadOnlyUser(user, "pw")
	if err != nil {
		b.Fatal(err)
	}
	return p, dsn
}

// evaluationApps are the django_migrations app labels release detection reads in each
// database (internal/release Apps and Markers).
var evaluationApps = []string{"services", "cluster", "region", "applications"}

// readPoolsOnce reads, in one read-only transaction, what one evaluation reads in the
// default database: the migrations (release line) and the pools.
func readPoolsOnce(b *testing.B, db *sql.DB) *PoolReport {
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := ReadMigrations(ctx, tx, evaluationApps); err != nil {
		b.Fatal(err)
	}
	r, err := ReadPools(ctx, tx)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkReadPoolsAtScale reads, through the recommended grant, what one evaluation
// reads in the default database of the installation above, and reports the queries
// per read (the same at a twentieth of the size: not one per plan or app) and what
// EXPLAIN says of each. Run by make bench; the figures are in docs/performance.md.
func BenchmarkReadPoolsAtScale(b *testing.B) {
	small, dsn := loadScale(b, smallScale, "ro_scale_small")
	smallQueries := len(loggedQueries(b, small.Server, small.Database, "ro_scale_small", func() { readPoolsOnce(b, openBench(b, dsn)) }))

	p, dsn := loadScale(b, fullScale, "ro_scale")
	db := openBench(b, dsn)
	var r *PoolReport
	queries := explainReads(b, p.Server, p.Database, "ro_scale", db, func() { r = readPoolsOnce(b, db) })
	plans, pending := len(r.Plans), len(r.Unprovisioned)
	b.Logf("read %d plans, %d policy groups, %d unprovisioned environments with %d SELECTs (%d at a twentieth of the size)",
		plans, len(r.Policies), pending, queries, smallQueries)
	if plans != fullScale.plans || pending != 2*fullScale.apps/10 {
		b.Fatalf("read %d plans and %d unprovisioned environments; want %d and %d", plans, pending, fullScale.plans, 2*fullScale.apps/10)
	}
	if queries != smallQueries {
		b.Fatalf("%d queries at full size, %d at a twentieth: the reads grow with the installation", queries, smallQueries)
	}

	b.ResetTimer()
	for b.Loop() {
		readPoolsOnce(b, db)
	}
	b.ReportMetric(float64(queries), "queries/op")
}

// openBench opens a read-only user's DSN as Pools.Open connects (times parsed).
func openBench(b *testing.B, dsn string) *sql.DB {
	b.Helper()
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		b.Fatal(err)
	}
	cfg.ParseTime = true
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	return db
}

// loggedQueries runs read once with the server's general log on and returns the
// SELECTs the user sent.
func loggedQueries(b *testing.B, server *mariadb.Server, database, user string, read func()) []string {
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
	rows, err := admin.Query("SELECT CAST(argument AS CHAR) FROM mysql.general_log WHERE command_type IN ('Query', 'Execute') AND user_host LIKE ?", user+"[%")
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
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
	return queries
}

// explainReads runs read once with the server's general log on, logs each SELECT the
// user sent (its rows and time alone) and what EXPLAIN says of it, fails when a joined
// table is read without an index, and returns the number of SELECTs.
func explainReads(b *testing.B, server *mariadb.Server, database, user string, db *sql.DB, read func()) int {
	b.Helper()
	queries := loggedQueries(b, server, database, user, read)
	admin, err := server.Admin(database)
	if err != nil {
		b.Fatal(err)
	}
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
// 20 clusters with five recorded node states each, the api_app of each of the 20,000 apps' two environments with two
// configs each (the newest naming a cluster, but one app in twenty naming none and one
// in a hundred a cluster that no longer exists), and the tenant's allocation policy.
func loadScaleWorkloads(b *testing.B, sz scaleSize, user string) (*mariadb.Workloads, string) {
	b.Helper()
	s := testDB.Get(b)
	w, err := mariadb.NewWorkloads(s, fmt.Sprintf("scale_wl_%d", time.Now().UnixNano()), mariadb.Main)
	if err != nil {
		b.Fatal(err)
	}
	id := func(kind, expr string) string { return fmt.Sprintf("MD5(CONCAT('%s', %s))", kind, expr) }
	envs := fmt.Sprint(2*sz.apps - 1)
	stmts := []string{
		`INSERT INTO cluster_cluster (uuid, name, token_value) SELECT ` + id("cl", "seq") + `, CONCAT('k8s-', seq), 'plain-token' FROM seq_0_to_19`,
		`INSERT INTO cluster_apiserver (uuid, host, cluster_id) SELECT ` + id("as", "seq") + `, CONCAT('https://10.0.', seq, '.1:6443'), ` + id("cl", "seq") + ` FROM seq_0_to_19`,
		`INSERT INTO api_app (uuid, name, region) SELECT ` + id("wl", "seq") + `, CONCAT('bkapp-app', seq DIV 2, IF(seq % 2 = 0, '-prod', '-stag')), 'default' FROM seq_0_to_` + envs,
		`INSERT INTO api_config (uuid, app_id, cluster, created) SELECT ` + id("cfg0", "seq") + `, ` + id("wl", "seq") + `, 'k8s-0', NOW(6) - INTERVAL 1 DAY FROM seq_0_to_` + envs,
		`INSERT INTO api_config (uuid, app_id, cluster, created) SELECT ` + id("cfg1", "seq") + `, ` + id("wl", "seq") + `,
		   CASE WHEN seq % 100 = 0 THEN 'gone' WHEN seq % 20 = 0 THEN '' ELSE CONCAT('k8s-', seq % 20) END, NOW(6) FROM seq_0_to_` + envs,
		`INSERT INTO cluster_clusterallocationpolicy (uuid, tenant_id, type, allocation_policy, allocation_precedence_policies)
		 VALUES (MD5('policy'), 'default', 'uniform', '{"env_specific": false, "clusters": ["k8s-0"], "env_clusters": null}', '[]')`,
		// Five node states recorded per cluster (the newest is read), 50 nodes each.
		`INSERT INTO region_regionclusterstate (created, cluster_name, name, nodes_digest, nodes_cnt, nodes_name)
		 SELECT NOW(6) - INTERVAL seq MINUTE, CONCAT('k8s-', seq % 20), CONCAT('eng-cstate-', seq % 20, '-', seq DIV 20), MD5(seq), 50,
		   (SELECT CONCAT('["', GROUP_CONCAT(CONCAT('node-', n.seq) SEPARATOR '", "'), '"]') FROM seq_0_to_49 n)
		 FROM seq_0_to_99`,
		"ANALYZE TABLE cluster_cluster, cluster_apiserver, api_app, api_config, cluster_clusterallocationpolicy, region_regionclusterstate",
	}
	for _, stmt := range stmts {
		if err := s.Exec(w.Database, stmt); err != nil {
			b.Fatalf("%v\n%s", err, stmt)
		}
	}
	dsn, err := w.ReadOnlyUser(user, "pw")
	if err != nil {
		b.Fatal(err)
	}
	return w, dsn
}

// readClustersOnce reads, in one read-only transaction, what one evaluation reads in
// the workloads database: the migrations (release line), the clusters, every app's
// latest config, the default clusters or the allocation policy, and the recorded
// cluster states (the initial cluster state check).
type clusterRead struct {
	states   int
	clusters []ClusterRow
	apps     []AppCluster
	alloc    *Allocation
}

func readClustersOnce(b *testing.B, db *sql.DB) clusterRead {
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	var r clusterRead
	if _, err := ReadMigrations(ctx, tx, evaluationApps); err != nil {
		b.Fatal(err)
	}
	if r.clusters, err = ReadClusters(ctx, tx); err != nil {
		b.Fatal(err)
	}
	var hidden string
	if r.apps, hidden, err = ReadAppClusters(ctx, tx); err != nil || hidden != "" {
		b.Fatal(err, hidden)
	}
	if defaults, err := DefaultClusters(ctx, tx); err != nil || defaults != nil {
		b.Fatal(err, defaults)
	}
	if r.alloc, hidden, err = ReadAllocation(ctx, tx); err != nil || hidden != "" {
		b.Fatal(err, hidden)
	}
	states, err := ReadClusterStates(ctx, tx)
	if err != nil {
		b.Fatal(err)
	}
	r.states = len(states)
	return r
}

// BenchmarkReadAppClustersAtScale reads, through the recommended workloads grant, what
// one evaluation reads in the workloads database of the installation above (the same
// number of queries at a twentieth of the size). Run by make bench; the figures are in
// docs/performance.md.
func BenchmarkReadAppClustersAtScale(b *testing.B) {
	small, dsn := loadScaleWorkloads(b, smallScale, "ro_scale_wl_small")
	smallQueries := len(loggedQueries(b, small.Server, small.Database, "ro_scale_wl_small", func() { readClustersOnce(b, openBench(b, dsn)) }))

	w, dsn := loadScaleWorkloads(b, fullScale, "ro_scale_wl")
	db := openBench(b, dsn)
	var r clusterRead
	queries := explainReads(b, w.Server, w.Database, "ro_scale_wl", db, func() { r = readClustersOnce(b, db) })
	unnamed := 0
	for _, a := range r.apps {
		if a.Cluster == "" {
			unnamed++
		}
	}
	b.Logf("read %d clusters, %d apps (%d naming no cluster), %d policies with %d SELECTs (%d at a twentieth of the size)",
		len(r.clusters), len(r.apps), unnamed, len(r.alloc.Policies), queries, smallQueries)
	if r.states != 20 || len(r.clusters) != 20 || len(r.apps) != 2*fullScale.apps || unnamed != 2*fullScale.apps/20-2*fullScale.apps/100 || len(r.alloc.Policies) != 1 {
		b.Fatalf("read %d clusters, %d apps, %d naming none, %d policies", len(r.clusters), len(r.apps), unnamed, len(r.alloc.Policies))
	}
	if queries != smallQueries {
		b.Fatalf("%d queries at full size, %d at a twentieth: the reads grow with the installation", queries, smallQueries)
	}
	b.ResetTimer()
	for b.Loop() {
		readClustersOnce(b, db)
	}
	b.ReportMetric(float64(queries), "queries/op")
}
