// Command largeinstall runs one diagnosis of a BlueKing PaaS installation at the
// platform's real size through the whole controller, with real parts only: the manager
// binary (bin/manager) as a process of its own, envtest's kube-apiserver and etcd as the
// control plane, and MariaDB holding the platform's databases on the main release line:
//
//   - the default database (bk_paas_ng): 500 tenants with 10 pool plans each (5 pool
//     services x 2 plans) = 5,000 plans, 3 of them empty and the others with 20
//     pre-created instances each (7 allocated, 2 reserved by a binding policy for an app
//     of the tenant, 11 free for any app); 20,000 apps with a prod and a stag
//     environment, every environment bound to a plan of its tenant, one in seven not
//     provisioned yet;
//   - the workloads database (bk_engine_ng): 500 app clusters with 2 API servers each,
//     credentials encrypted with the platform's key (Fernet); 490 of them point at
//     loopback addresses where nothing listens (connection refused: they fail fast),
//     10 at the control plane itself with a system:masters client certificate; the
//     40,000 workload apps of those environments, each with two configs naming
//     existing clusters.
//
// It creates one PaaSDiagnosis (discoverClusters, both databases, the key, instance
// pools with minAvailable 1), waits for its evaluations, checks the verdict and the
// status against what the databases hold, and prints the status size, one evaluation's
// wall time and the manager's peak RSS. It exits non-zero, saying what is wrong, when
// a check fails. Run by make bench (hack/bench.sh); not by .ci/run.
//
//	make build && KUBEBUILDER_ASSETS=$(hack/envtest.sh dir) go run ./hack/largeinstall
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/hack/internal/managerproc"
	"github.com/paasdiag/paasdiag/hack/internal/promscrape"
	"github.com/paasdiag/paasdiag/internal/testsupport/kubectl"
	"github.com/paasdiag/paasdiag/internal/testsupport/mariadb"
	"github.com/paasdiag/paasdiag/internal/testsupport/netfault"
)

// The platform's key as the chart generates it: 32 random bytes, URL-safe base64.
const platformKey = "PIMCuSRiVqBg5eSzQqZZrOhGFSUtrlS-8_JlIpjHt0A="

// plansPerTenant: 5 pool services with 2 plans each ("shared", "exclusive").
const plansPerTenant = 10

// instancesPerPlan: per non-empty plan, k = 0..19: allocated when k % 3 == 0 (7),
// a policy instance for one app of the tenant when k % 10 == 1 (2), otherwise a free
// FIFO instance (11).
const instancesPerPlan = 20

var services = []string{"redis", "mysql", "rabbitmq", "mongodb", "elasticsearch"}

type size struct {
	tenants, apps, clusters, reachable, empty int
}

func (s size) plans() int { return s.tenants * plansPerTenant }

func main() {
	var sz size
	flag.IntVar(&sz.tenants, "tenants", 500, "tenants, each with 10 pool plans")
	flag.IntVar(&sz.apps, "apps", 20000, "apps, each with a prod and a stag environment bound to a plan")
	flag.IntVar(&sz.clusters, "clusters", 500, "app clusters, each with 2 API servers")
	flag.IntVar(&sz.reachable, "reachable", 10, "of them, how many point at the control plane (the others at closed ports)")
	flag.IntVar(&sz.empty, "empty", 3, "plans without any instance")
	evaluations := flag.Int("evaluations", 2, "evaluations to wait for: the first is checked and timed; later ones are timed too")
	interval := flag.Duration("interval", time.Minute, "the diagnosis' interval (the shipped default)")
	timeout := flag.Duration("timeout", 10*time.Second, "the diagnosis' timeout per check (the shipped default)")
	manager := flag.String("manager", filepath.Join("bin", "manager"), "the manager binary to run")
	managerLog := flag.String("manager-log", "", "a file to write the manager's log to; empty keeps it in the run's temporary directory")
	statusOut := flag.String("status-out", "", "a file to write the diagnosis' status to, as the API server returns it (JSON)")
	flag.Parse()
	if sz.apps < sz.tenants || sz.reachable > sz.clusters || sz.empty > sz.plans() || sz.clusters > 250*250 {
		fmt.Fprintln(os.Stderr, "largeinstall: need apps >= tenants, reachable <= clusters, empty <= plans, clusters <= 62500")
		os.Exit(2)
	}
	if err := run(sz, *evaluations, *interval, *timeout, *manager, *managerLog, *statusOut); err != nil {
		fmt.Fprintln(os.Stderr, "largeinstall: FAIL:", err)
		os.Exit(1)
	}
}

func run(sz size, evaluations int, interval, timeout time.Duration, managerBinary, managerLog, statusOut string) error {
	logf.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "paasdiag-largeinstall-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	step := time.Now()
	control := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join("config", "crd", "bases")}, ErrorIfCRDPathMissing: true}
	cfg, err := control.Start()
	if err != nil {
		return fmt.Errorf("starting envtest (is KUBEBUILDER_ASSETS set? make bench sets it): %w", err)
	}
	defer func() { _ = control.Stop() }()
	db, err := mariadb.Start(filepath.Join(dir, "mariadb"))
	if err != nil {
		return fmt.Errorf("starting MariaDB (hack/mariadb.sh install): %w", err)
	}
	defer func() { _ = db.Stop() }()
	fmt.Printf("control plane and MariaDB up in %s\n", since(step))

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}

	step = time.Now()
	platform, err := loadDefault(db, sz)
	if err != nil {
		return err
	}
	fmt.Printf("default database: %d plans (%d empty), %d instances, %d apps, %d environments in %s\n",
		sz.plans(), sz.empty, (sz.plans()-sz.empty)*instancesPerPlan, sz.apps, 2*sz.apps, since(step))
	step = time.Now()
	// The reachable clusters are the control plane itself, seen through a
	// system:masters client certificate the platform would hold.
	user, err := control.ControlPlane.AddUser(envtest.User{Name: "bkpaas3-platform", Groups: []string{"system:masters"}}, cfg)
	if err != nil {
		return err
	}
	closed, err := netfault.ClosedAddr()
	if err != nil {
		return err
	}
	closedPort := closed[strings.LastIndex(closed, ":")+1:]
	workloads, err := loadWorkloads(db, sz, strings.TrimSuffix(cfg.Host, "/"), cfg.CAData, user.Config().CertData, user.Config().KeyData, closedPort)
	if err != nil {
		return err
	}
	fmt.Printf("workloads database: %d clusters (%d reachable), %d API servers, %d workload apps in %s\n",
		sz.clusters, sz.reachable, 2*sz.clusters, 2*sz.apps, since(step))

	// What the databases hold, as the verdict must say it.
	want, err := expected(db, platform.Database, sz)
	if err != nil {
		return err
	}

	defaultDSN, err := platform.ReadOnlyUser("paasdiag", "ro-pass")
	if err != nil {
		return err
	}
	workloadsDSN, err := workloads.ReadOnlyUser("paasdiag_wl", "wl-pass")
	if err != nil {
		return err
	}
	ns := "bkpaas3"
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return err
	}
	for name, data := range map[string]map[string]string{
		"bkpaas3-db":      {"dsn": defaultDSN},
		"bkpaas3-wl-db":   {"dsn": workloadsDSN},
		"bkpaas3-encrypt": {"key": platformKey},
	} {
		if err := c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{v1alpha1.SecretLabel: "true"},
			Annotations: map[string]string{v1alpha1.SecretWorkloadsDSNAnnotation: "bkpaas3-wl-db"}}, StringData: data}); err != nil {
			return err
		}
	}

	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := kubectl.WriteKubeconfig(cfg, kubeconfig); err != nil {
		return err
	}
	if managerLog == "" {
		managerLog = filepath.Join(dir, "manager.log")
	}
	manager, err := managerproc.Start(managerBinary, kubeconfig, managerLog, nil)
	if err != nil {
		return err
	}
	defer manager.Stop()
	mgr, metricsAddr := manager.Cmd, manager.MetricsAddr
	metricsURL := "http://" + metricsAddr + "/metrics"
	if err := waitForMetrics(metricsURL, time.Minute); err != nil {
		return fmt.Errorf("the manager did not serve metrics (log: %s): %w", managerLog, err)
	}
	idleRSS, _ := memory(mgr.Process.Pid)

	d := &v1alpha1.PaaSDiagnosis{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bkpaas3"},
		Spec: v1alpha1.PaaSDiagnosisSpec{
			Interval: metav1.Duration{Duration: interval}, Timeout: metav1.Duration{Duration: timeout},
			// The control plane's certificates are envtest's, valid for days: warning
			// about them is not what this run measures.
			CertificateExpiryWarning: metav1.Duration{Duration: time.Hour},
			DiscoverClusters:         true,
			PlatformDatabase: &v1alpha1.PlatformDatabase{
				DefaultDSNSecretRef:    &v1alpha1.SecretKeyReference{Name: "bkpaas3-db", Key: "dsn"},
				WorkloadsDSNSecretRef:  &v1alpha1.SecretKeyReference{Name: "bkpaas3-wl-db", Key: "dsn"},
				EncryptionKeySecretRef: &v1alpha1.SecretKeyReference{Name: "bkpaas3-encrypt", Key: "key"},
				Cipher:                 v1alpha1.CipherFernet,
			},
			InstancePools: &v1alpha1.InstancePoolsCheck{MinAvailable: 1},
		},
	}
	created := time.Now()
	if err := c.Create(ctx, d); err != nil {
		return fmt.Errorf("creating the diagnosis: %w", err)
	}
	key := types.NamespacedName{Namespace: ns, Name: d.Name}

	var evals []evaluation
	var first *v1alpha1.PaaSDiagnosis
	var firstVisible time.Duration
	var last *metav1.Time
	for len(evals) < evaluations {
		waited := time.Now()
		deadline := waited.Add(5*time.Minute + interval)
		var got v1alpha1.PaaSDiagnosis
		for {
			if err := c.Get(ctx, key, &got); err != nil {
				return err
			}
			if t := got.Status.LastEvaluationTime; t != nil && (last == nil || t.After(last.Time)) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("evaluation %d not in status after %s (manager log: %s)", len(evals)+1, since(waited), managerLog)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if first == nil {
			firstVisible = time.Since(created)
			first = got.DeepCopy()
		}
		last = got.Status.LastEvaluationTime
		e, err := sampleEvaluation(metricsURL, evals)
		if err != nil {
			return err
		}
		evals = append(evals, e)
		fmt.Printf("evaluation %d: %.2f s (%s)\n", len(evals), e.seconds, e.checksText())
	}

	// The status as the API server holds it, as JSON.
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("PaaSDiagnosis"))
	if err := c.Get(ctx, key, u); err != nil {
		return err
	}
	statusJSON, err := json.Marshal(u.Object["status"])
	if err != nil {
		return err
	}
	objectJSON, _ := json.Marshal(u.Object)
	if statusOut != "" {
		if err := os.WriteFile(statusOut, statusJSON, 0o644); err != nil {
			return err
		}
	}
	var current v1alpha1.PaaSDiagnosis
	if err := c.Get(ctx, key, &current); err != nil {
		return err
	}
	peakRSS, rss := memory(mgr.Process.Pid)
	families, err := promscrape.Scrape(http.DefaultClient, metricsURL)
	if err != nil {
		return err
	}
	refused := 0.0
	for _, m := range families["paasdiag_status_write_errors_total"].GetMetric() {
		refused += m.GetCounter().GetValue()
	}
	refusedLogged, err := countLog(managerLog, "The API server refused the status; writing a reduced one")
	if err != nil {
		return err
	}

	problems := verify(first, sz, want)
	problems = append(problems, verify(&current, sz, want)...)
	if refused > 0 || refusedLogged > 0 {
		problems = append(problems, fmt.Sprintf("the API server refused %v status write(s) (metric) / %d (log)", refused, refusedLogged))
	}
	if len(statusJSON) > v1alpha1.MaxStatusBytes {
		problems = append(problems, fmt.Sprintf("status is %d bytes, over the %d budget", len(statusJSON), v1alpha1.MaxStatusBytes))
	}

	s := first.Status
	sum := s.Summary
	if sum == nil {
		sum = &v1alpha1.StatusSummary{}
	}
	fmt.Printf("\n| %d plans across %d tenants (%d empty), %d clusters x 2 API servers (%d reachable), %d apps (%d environments) | |\n|---|---|\n",
		sz.plans(), sz.tenants, sz.empty, sz.clusters, sz.reachable, sz.apps, 2*sz.apps)
	fmt.Printf("| verdict | Ready %s; ClusterReachable %s/%s; InstancePoolAvailable %s/%s; codes %s |\n",
		condStatus(s, v1alpha1.ConditionReady), condStatus(s, v1alpha1.ConditionClusterReachable), condReason(s, v1alpha1.ConditionClusterReachable),
		condStatus(s, v1alpha1.ConditionInstancePoolAvailable), condReason(s, v1alpha1.ConditionInstancePoolAvailable), strings.Join(s.Codes, ","))
	fmt.Printf("| summary | plansChecked %d, plansEmpty %d, plansLow %d, environmentsWouldFail %d; clustersChecked %d, clustersFailing %d, apiServersChecked %d, apiServersFailing %d; errors %d, warnings %d, unknowns %d |\n",
		sum.PlansChecked, sum.PlansEmpty, sum.PlansLow, sum.EnvironmentsWouldFail, sum.ClustersChecked, sum.ClustersFailing,
		sum.APIServersChecked, sum.APIServersFailing, sum.Errors, sum.Warnings, sum.Unknowns)
	fmt.Printf("| lists in status | pools %d (+%d omitted), clusters %d (+%d omitted), findings %d (+%d omitted); reduced %q |\n",
		len(s.Pools), s.PoolsOmitted, len(s.Clusters), s.ClustersOmitted, len(s.Findings), s.FindingsOmitted, s.Reduced)
	listed := map[string]int{}
	for _, f := range s.Findings {
		listed[f.Condition+"/"+f.Reason]++
	}
	fmt.Printf("| findings listed, by condition/reason | %s |\n", countsText(listed))
	fmt.Printf("| status size (JSON of .status, read back) | %d bytes (%.1f KiB; budget %d KiB); whole object %d bytes |\n",
		len(statusJSON), float64(len(statusJSON))/1024, v1alpha1.MaxStatusBytes>>10, len(objectJSON))
	fmt.Printf("| status writes refused | %v |\n", refused)
	for i, e := range evals {
		fmt.Printf("| evaluation %d wall time (paasdiag_evaluation_duration_seconds) | %.2f s (%s) |\n", i+1, e.seconds, e.checksText())
	}
	fmt.Printf("| diagnosis created to first status visible | %.2f s |\n", firstVisible.Seconds())
	fmt.Printf("| manager RSS idle (before the diagnosis) | %.1f MiB |\n", float64(idleRSS)/1024)
	fmt.Printf("| manager RSS now / peak (VmHWM) after %d evaluation(s) | %.1f MiB / %.1f MiB |\n", len(evals), float64(rss)/1024, float64(peakRSS)/1024)

	if len(problems) > 0 {
		return fmt.Errorf("%d check(s) failed:\n  - %s", len(problems), strings.Join(dedupe(problems), "\n  - "))
	}
	fmt.Println("\nOK: the verdict, the summary counts and the bounded lists are right; the status was accepted.")
	return nil
}

// loadDefault fills a main-line default database in a few INSERT ... SELECT
// statements over MariaDB's sequence tables (as internal/platformdb's loadScale does).
func loadDefault(s *mariadb.Server, sz size) (*mariadb.Platform, error) {
	p, err := mariadb.NewPlatform(s, "bk_paas_ng", mariadb.Main)
	if err != nil {
		return nil, err
	}
	T, P, A := sz.tenants, sz.plans(), sz.apps
	id := func(kind, expr string) string { return fmt.Sprintf("MD5(CONCAT('%s', %s))", kind, expr) }
	tenant := tenantExpr(sz)
	names := make([]string, len(services))
	for i, n := range services {
		names[i] = "'" + n + "'"
	}
	// env e (0 .. 2A-1) is of app a = e DIV 2, whose tenant is a % T; it is bound to the
	// plan t*10 + (2*(a DIV T) + e%2) % 10 of that tenant: every plan gets environments.
	plan := fmt.Sprintf("((seq DIV 2) %% %d) * %d + (2 * ((seq DIV 2) DIV %d) + seq %% 2) %% %d", T, plansPerTenant, T, plansPerTenant)
	stmts := []string{
		`INSERT INTO services_service (uuid, created, updated, name, category_id, config, is_active, is_visible)
		 SELECT ` + id("svc", "seq") + `, NOW(6), NOW(6), ELT(seq + 1, ` + strings.Join(names, ", ") + `), 1, '{"provider_name": "pool"}', 1, 1
		 FROM seq_0_to_` + fmt.Sprint(len(services)-1),
		`INSERT INTO services_plan (uuid, created, updated, service_id, name, config, is_active, tenant_id)
		 SELECT ` + id("plan", "seq") + `, NOW(6), NOW(6), ` + id("svc", fmt.Sprintf("(seq %% %d) DIV 2", plansPerTenant)) + `,
		   IF(seq % 2 = 0, 'shared', 'exclusive'), 'encrypted', 1, ` + fmt.Sprintf(tenant, fmt.Sprintf("seq DIV %d", plansPerTenant)) + `
		 FROM seq_0_to_` + fmt.Sprint(P-1),
		`INSERT INTO services_precreatedinstance (uuid, created, updated, config, credentials, is_allocated, plan_id, tenant_id, allocation_type, binding_policy)
		 SELECT ` + id("ins", "seq") + `, NOW(6), NOW(6), '{}', 'encrypted', (seq DIV ` + fmt.Sprint(P) + `) % 3 = 0, ` + id("plan", fmt.Sprintf("seq %% %d", P)) + `,
		   ` + fmt.Sprintf(tenant, fmt.Sprintf("(seq %% %d) DIV %d", P, plansPerTenant)) + `,
		   IF((seq DIV ` + fmt.Sprint(P) + `) % 10 = 1, 'policy', 'fifo'),
		   IF((seq DIV ` + fmt.Sprint(P) + `) % 10 = 1, CONCAT('{"app_code": ["app', (seq % ` + fmt.Sprint(P) + `) DIV ` + fmt.Sprint(plansPerTenant) +
			` + ` + fmt.Sprint(T) + ` * ((seq DIV ` + fmt.Sprint(P) + `) % ` + fmt.Sprint(A/T) + `), '"]}'), '{}')
		 FROM seq_0_to_` + fmt.Sprint(P*instancesPerPlan-1) + ` WHERE seq % ` + fmt.Sprint(P) + ` NOT IN (` + joinInts(emptyPlans(sz)) + `)`,
		`INSERT INTO applications_application (id, created, updated, code, name, app_tenant_id, tenant_id)
		 SELECT ` + id("app", "seq") + `, NOW(6), NOW(6), CONCAT('app', seq), CONCAT('app', seq), ` +
			fmt.Sprintf(tenant, fmt.Sprintf("seq %% %d", T)) + `, ` + fmt.Sprintf(tenant, fmt.Sprintf("seq %% %d", T)) + `
		 FROM seq_0_to_` + fmt.Sprint(A-1),
		`INSERT INTO modules_module (id, created, updated, name, is_default, application_id, tenant_id)
		 SELECT ` + id("mod", "seq") + `, NOW(6), NOW(6), 'default', 1, ` + id("app", "seq") + `, ` + fmt.Sprintf(tenant, fmt.Sprintf("seq %% %d", T)) + `
		 FROM seq_0_to_` + fmt.Sprint(A-1),
		`INSERT INTO applications_applicationenvironment (created, updated, environment, is_offlined, application_id, engine_app_id, module_id, tenant_id)
		 SELECT NOW(6), NOW(6), IF(seq % 2 = 0, 'prod', 'stag'), 0, ` + id("app", "seq DIV 2") + `, ` + id("eng", "seq") + `, ` + id("mod", "seq DIV 2") + `,
		   ` + fmt.Sprintf(tenant, fmt.Sprintf("(seq DIV 2) %% %d", T)) + `
		 FROM seq_0_to_` + fmt.Sprint(2*A-1),
		// One environment in seven has no instance yet: its next deploy takes one.
		`INSERT INTO servicehub_serviceengineappattachment (created, updated, engine_app_id, service_id, plan_id, service_instance_id, credentials_enabled, tenant_id)
		 SELECT NOW(6), NOW(6), ` + id("eng", "seq") + `, ` + id("svc", fmt.Sprintf("((%s) %% %d) DIV 2", plan, plansPerTenant)) + `, ` + id("plan", plan) + `,
		   IF(seq % 7 = 0, NULL, ` + id("si", "seq") + `), 1, ` + fmt.Sprintf(tenant, fmt.Sprintf("(seq DIV 2) %% %d", T)) + `
		 FROM seq_0_to_` + fmt.Sprint(2*A-1),
		"ANALYZE TABLE services_service, services_plan, services_precreatedinstance, applications_application, modules_module, applications_applicationenvironment, servicehub_serviceengineappattachment",
	}
	for _, stmt := range stmts {
		if err := s.Exec(p.Database, stmt); err != nil {
			return nil, fmt.Errorf("%v\n%s", err, stmt)
		}
	}
	return p, nil
}

// tenantExpr is a SQL format for the tenant id of a number: tenant-000 .. tenant-499.
func tenantExpr(sz size) string {
	return fmt.Sprintf("CONCAT('tenant-', LPAD(%%s, %d, '0'))", len(fmt.Sprint(sz.tenants-1)))
}

func tenantName(sz size, t int) string {
	return fmt.Sprintf("tenant-%0*d", len(fmt.Sprint(sz.tenants-1)), t)
}

// emptyPlans are the plan numbers without instances, spread over the tenants.
func emptyPlans(sz size) []int {
	if sz.empty == 0 {
		return []int{-1}
	}
	var out []int
	for k := 0; k < sz.empty; k++ {
		out = append(out, (k*(sz.plans()/sz.empty)+7)%sz.plans())
	}
	return out
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ", ")
}

func clusterName(c int) string { return fmt.Sprintf("k8s-%04d", c) }

// loadWorkloads fills a main-line workloads database: the clusters and API servers
// (credentials encrypted per row with the platform's key), and the workload apps of
// every environment with two configs each, the newest naming an existing cluster.
func loadWorkloads(s *mariadb.Server, sz size, apiServer string, ca, cert, key []byte, closedPort string) (*mariadb.Workloads, error) {
	w, err := mariadb.NewWorkloads(s, "bk_engine_ng", mariadb.Main)
	if err != nil {
		return nil, err
	}
	admin, err := s.Admin(w.Database)
	if err != nil {
		return nil, err
	}
	defer func() { _ = admin.Close() }()
	encrypt := mariadb.FernetEncrypter(platformKey)
	host := strings.TrimPrefix(apiServer, "https://")
	port := host[strings.LastIndex(host, ":")+1:]
	const batch = 500
	for from := 0; from < sz.clusters; from += batch {
		var clusters, servers strings.Builder
		var cargs, sargs []any
		for c := from; c < min(from+batch, sz.clusters); c++ {
			id := mariadb.NewID()
			var creds mariadb.StoredCredentials
			var hosts []string
			if c < sz.reachable {
				creds = mariadb.Encrypt(ca, cert, key, "", encrypt)
				hosts = []string{apiServer, "https://localhost:" + port}
			} else {
				creds = mariadb.Encrypt(ca, nil, nil, fmt.Sprintf("token-of-%s", clusterName(c)), encrypt)
				// Loopback addresses of their own, where nothing listens: refused at once.
				hosts = []string{fmt.Sprintf("https://127.1.%d.%d:%s", c/250, c%250+1, closedPort),
					fmt.Sprintf("https://127.2.%d.%d:%s", c/250, c%250+1, closedPort)}
			}
			if clusters.Len() > 0 {
				clusters.WriteString(", ")
			}
			clusters.WriteString("(?, NOW(6), NOW(6), ?, '', '{}', '{}', ?, ?, ?, 1, ?, NULL, '{}', '{}', '[]', '[]')")
			cargs = append(cargs, id, clusterName(c), nullable(creds.CA), nullable(creds.Cert), nullable(creds.Key), nullable(creds.Token))
			for _, h := range hosts {
				if servers.Len() > 0 {
					servers.WriteString(", ")
				}
				servers.WriteString("(?, NOW(6), NOW(6), ?, ?)")
				sargs = append(sargs, mariadb.NewID(), h, id)
			}
		}
		if _, err := admin.Exec(`INSERT INTO cluster_cluster (uuid, created, updated, name, description, ingress_config, annotations,
			ca_data, cert_data, key_data, token_type, token_value, assert_hostname, feature_flags, default_node_selector, default_tolerations,
			available_tenant_ids) VALUES `+clusters.String(), cargs...); err != nil {
			return nil, err
		}
		if _, err := admin.Exec("INSERT INTO cluster_apiserver (uuid, created, updated, host, cluster_id) VALUES "+servers.String(), sargs...); err != nil {
			return nil, err
		}
	}
	id := func(kind, expr string) string { return fmt.Sprintf("MD5(CONCAT('%s', %s))", kind, expr) }
	tenant := fmt.Sprintf(tenantExpr(sz), fmt.Sprintf("(seq DIV 2) %% %d", sz.tenants))
	envs := fmt.Sprint(2*sz.apps - 1)
	cluster := func(expr string) string {
		return fmt.Sprintf("CONCAT('k8s-', LPAD(%s, 4, '0'))", expr)
	}
	stmts := []string{
		`INSERT INTO api_app (uuid, name, region, tenant_id) SELECT ` + id("wl", "seq") + `, CONCAT('bkapp-app', seq DIV 2, IF(seq % 2 = 0, '-prod', '-stag')), 'default', ` + tenant + `
		 FROM seq_0_to_` + envs,
		`INSERT INTO api_config (uuid, app_id, cluster, created, tenant_id) SELECT ` + id("cfg0", "seq") + `, ` + id("wl", "seq") + `, ` +
			cluster(fmt.Sprintf("(seq + 1) %% %d", sz.clusters)) + `, NOW(6) - INTERVAL 1 DAY, ` + tenant + ` FROM seq_0_to_` + envs,
		`INSERT INTO api_config (uuid, app_id, cluster, created, tenant_id) SELECT ` + id("cfg1", "seq") + `, ` + id("wl", "seq") + `, ` +
			cluster(fmt.Sprintf("seq %% %d", sz.clusters)) + `, NOW(6), ` + tenant + ` FROM seq_0_to_` + envs,
		"ANALYZE TABLE cluster_cluster, cluster_apiserver, api_app, api_config",
	}
	for _, stmt := range stmts {
		if err := s.Exec(w.Database, stmt); err != nil {
			return nil, fmt.Errorf("%v\n%s", err, stmt)
		}
	}
	return w, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// want is what the verdict must say, computed from the databases and the layout.
type want struct {
	emptyPlans            map[string]bool // service/plan/tenant
	environmentsWouldFail int
	plansWithInstances    int
}

func expected(s *mariadb.Server, database string, sz size) (want, error) {
	w := want{emptyPlans: map[string]bool{}}
	for _, p := range emptyPlans(sz) {
		if p < 0 {
			continue
		}
		j := p % plansPerTenant
		plan := "shared"
		if j%2 == 1 {
			plan = "exclusive"
		}
		w.emptyPlans[services[j/2]+"/"+plan+"/"+tenantName(sz, p/plansPerTenant)] = true
	}
	admin, err := s.Admin(database)
	if err != nil {
		return w, err
	}
	defer func() { _ = admin.Close() }()
	// The environments bound to an empty plan without an instance: their next deploy
	// fails with 4313022.
	if err := admin.QueryRow(`SELECT COUNT(*) FROM servicehub_serviceengineappattachment a
		WHERE a.service_instance_id IS NULL AND a.plan_id NOT IN (SELECT DISTINCT plan_id FROM services_precreatedinstance WHERE plan_id IS NOT NULL)`).
		Scan(&w.environmentsWouldFail); err != nil {
		return w, err
	}
	if err := admin.QueryRow(`SELECT COUNT(DISTINCT plan_id) FROM services_precreatedinstance`).Scan(&w.plansWithInstances); err != nil {
		return w, err
	}
	if w.plansWithInstances != sz.plans()-sz.empty {
		return w, fmt.Errorf("the fixture is wrong: %d plans with instances, want %d", w.plansWithInstances, sz.plans()-sz.empty)
	}
	return w, nil
}

// verify checks one status against the installation; it returns what is wrong.
func verify(d *v1alpha1.PaaSDiagnosis, sz size, w want) []string {
	var bad []string
	fail := func(format string, a ...any) { bad = append(bad, fmt.Sprintf(format, a...)) }
	s := d.Status
	if s.Reduced != "" {
		fail("status is reduced (the API server refused the full one): %s", s.Reduced)
	}
	if c := cond(s, v1alpha1.ConditionReady); c == nil || c.Status != metav1.ConditionFalse {
		fail("Ready is %s, want False", condStatus(s, v1alpha1.ConditionReady))
	}
	if c := cond(s, v1alpha1.ConditionStalled); c != nil && c.Status == metav1.ConditionTrue {
		fail("Stalled is True: %s: %s", c.Reason, c.Message)
	}
	if s.Platform == nil || s.Platform.ReleaseLine != "1.7+" {
		fail("release line %+v, want 1.7+", s.Platform)
	}
	if sz.empty > 0 {
		if c := cond(s, v1alpha1.ConditionInstancePoolAvailable); c == nil || c.Status != metav1.ConditionFalse || c.Reason != v1alpha1.ReasonPoolEmpty {
			fail("InstancePoolAvailable is %s/%s, want False/PoolEmpty: %s", condStatus(s, v1alpha1.ConditionInstancePoolAvailable),
				condReason(s, v1alpha1.ConditionInstancePoolAvailable), condMessage(s, v1alpha1.ConditionInstancePoolAvailable))
		}
		if !contains(s.Codes, "4313022") {
			fail("codes %v lack 4313022", s.Codes)
		}
	}
	if sz.reachable < sz.clusters {
		if c := cond(s, v1alpha1.ConditionClusterReachable); c == nil || c.Status != metav1.ConditionFalse {
			fail("ClusterReachable is %s/%s, want False: %s", condStatus(s, v1alpha1.ConditionClusterReachable),
				condReason(s, v1alpha1.ConditionClusterReachable), condMessage(s, v1alpha1.ConditionClusterReachable))
		}
		if !contains(s.Codes, "4313021") {
			fail("codes %v lack 4313021", s.Codes)
		}
	}
	sum := s.Summary
	if sum == nil {
		fail("status.summary is missing")
		return bad
	}
	check := func(name string, got int32, want int) {
		if int(got) != want {
			fail("summary.%s is %d, want %d", name, got, want)
		}
	}
	check("plansChecked", sum.PlansChecked, sz.plans())
	check("plansEmpty", sum.PlansEmpty, sz.empty)
	check("plansLow", sum.PlansLow, 0)
	check("environmentsWouldFail", sum.EnvironmentsWouldFail, w.environmentsWouldFail)
	check("clustersChecked", sum.ClustersChecked, sz.clusters)
	check("clustersFailing", sum.ClustersFailing, sz.clusters-sz.reachable)
	check("apiServersChecked", sum.APIServersChecked, 2*sz.clusters)
	check("apiServersFailing", sum.APIServersFailing, 2*(sz.clusters-sz.reachable))
	if sum.Unknowns > 0 {
		fail("%d Unknown finding(s): %s", sum.Unknowns, findingsOf(s, v1alpha1.SeverityUnknown))
	}

	// The bounded lists.
	if len(s.Pools) > v1alpha1.MaxStatusPools {
		fail("status.pools has %d entries, over %d", len(s.Pools), v1alpha1.MaxStatusPools)
	}
	if got := len(s.Pools) + int(s.PoolsOmitted); got != sz.plans() {
		fail("pools %d + poolsOmitted %d = %d, want %d", len(s.Pools), s.PoolsOmitted, got, sz.plans())
	}
	for i, p := range s.Pools {
		name := p.Service + "/" + p.Plan + "/" + p.Tenant
		switch {
		case i < sz.empty && (!w.emptyPlans[name] || p.Available != 0 || p.Total != 0):
			fail("status.pools[%d] is %s (available %d, total %d); the %d empty plans must come first: %v", i, name, p.Available, p.Total, sz.empty, keys(w.emptyPlans))
		case i >= sz.empty && (w.emptyPlans[name] || p.Available == 0):
			fail("status.pools[%d] is %s with %d available, after the empty plans", i, name, p.Available)
		case i >= sz.empty && p.Total != instancesPerPlan:
			fail("status.pools[%d] %s counts %d instances, want %d", i, name, p.Total, instancesPerPlan)
		}
	}
	if len(s.Clusters) > v1alpha1.MaxStatusClusters {
		fail("status.clusters has %d entries, over %d", len(s.Clusters), v1alpha1.MaxStatusClusters)
	}
	if got := len(s.Clusters) + int(s.ClustersOmitted); got != sz.clusters {
		fail("clusters %d + clustersOmitted %d = %d, want %d", len(s.Clusters), s.ClustersOmitted, got, sz.clusters)
	}
	for i, c := range s.Clusters {
		failing := 0
		for _, a := range c.APIServers {
			if !a.Reachable || a.Reason != "" {
				failing++
			}
		}
		if i < sz.clusters-sz.reachable && failing != 2 {
			fail("status.clusters[%d] %s has %d failing API servers; the failing clusters must come first", i, c.Name, failing)
		}
		if c.Source != "Discovered" {
			fail("status.clusters[%d] %s has source %s", i, c.Name, c.Source)
		}
	}
	if len(s.Findings) > v1alpha1.MaxStatusFindings {
		fail("status.findings has %d entries, over %d", len(s.Findings), v1alpha1.MaxStatusFindings)
	}
	if got := len(s.Findings) + int(s.FindingsOmitted); got != int(sum.Errors+sum.Warnings+sum.Unknowns) {
		fail("findings %d + findingsOmitted %d = %d, but the summary counts %d", len(s.Findings), s.FindingsOmitted, got, sum.Errors+sum.Warnings+sum.Unknowns)
	}
	// Every active code keeps an Error finding in the list, however far it is cut.
	for _, code := range s.Codes {
		found := false
		for _, f := range s.Findings {
			found = found || (f.Code == code && f.Severity == v1alpha1.SeverityError)
		}
		if !found {
			fail("code %s is in status.codes, but none of its Error findings is in status.findings (%d omitted)", code, s.FindingsOmitted)
		}
	}
	return bad
}

func countsText(m map[string]int) string {
	var out []string
	for _, k := range keys(boolKeys(m)) {
		out = append(out, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(out, ", ")
}

func boolKeys(m map[string]int) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

func cond(s v1alpha1.PaaSDiagnosisStatus, t string) *metav1.Condition {
	for i := range s.Conditions {
		if s.Conditions[i].Type == t {
			return &s.Conditions[i]
		}
	}
	return nil
}

func condStatus(s v1alpha1.PaaSDiagnosisStatus, t string) string {
	if c := cond(s, t); c != nil {
		return string(c.Status)
	}
	return "(missing)"
}

func condReason(s v1alpha1.PaaSDiagnosisStatus, t string) string {
	if c := cond(s, t); c != nil {
		return c.Reason
	}
	return ""
}

func condMessage(s v1alpha1.PaaSDiagnosisStatus, t string) string {
	if c := cond(s, t); c != nil {
		return c.Message
	}
	return ""
}

func findingsOf(s v1alpha1.PaaSDiagnosisStatus, sev v1alpha1.Severity) string {
	var out []string
	for _, f := range s.Findings {
		if f.Severity == sev && len(out) < 5 {
			out = append(out, f.Check+" "+f.Reason+": "+f.Message)
		}
	}
	return strings.Join(out, "; ")
}

func contains(l []string, v string) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func dedupe(l []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range l {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// evaluation is one evaluation's wall time and its checks', from the manager's
// histograms (the difference from the previous sample).
type evaluation struct {
	count, sum float64
	seconds    float64
	checks     map[string]float64 // cumulative sums per check
	checkTimes map[string]float64 // this evaluation's
}

func (e evaluation) checksText() string {
	var names []string
	for n := range e.checkTimes {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []string
	for _, n := range names {
		out = append(out, fmt.Sprintf("%s %.2f s", n, e.checkTimes[n]))
	}
	return strings.Join(out, ", ")
}

func sampleEvaluation(metricsURL string, before []evaluation) (evaluation, error) {
	families, err := promscrape.Scrape(http.DefaultClient, metricsURL)
	if err != nil {
		return evaluation{}, err
	}
	e := evaluation{checks: map[string]float64{}, checkTimes: map[string]float64{}}
	if f := families["paasdiag_evaluation_duration_seconds"]; f != nil && len(f.Metric) > 0 {
		h := f.Metric[0].GetHistogram()
		e.count, e.sum = float64(h.GetSampleCount()), h.GetSampleSum()
	}
	for _, m := range families["paasdiag_check_duration_seconds"].GetMetric() {
		e.checks[promscrape.Labels(m)["check"]] = m.GetHistogram().GetSampleSum()
	}
	prev := evaluation{checks: map[string]float64{}}
	if len(before) > 0 {
		prev = before[len(before)-1]
	}
	if n := e.count - prev.count; n != 1 {
		return e, fmt.Errorf("the manager counted %v evaluations since the last sample, want 1", n)
	}
	e.seconds = e.sum - prev.sum
	for name, s := range e.checks {
		e.checkTimes[name] = s - prev.checks[name]
	}
	return e, nil
}

func waitForMetrics(url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(url)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// memory reads the process' peak and current resident set size, in KiB.
func memory(pid int) (peak, current int) {
	status, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	defer func() { _ = status.Close() }()
	sc := bufio.NewScanner(status)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmHWM:":
			peak, _ = strconv.Atoi(f[1])
		case "VmRSS:":
			current, _ = strconv.Atoi(f[1])
		}
	}
	return peak, current
}

// countLog counts the manager's log lines with the message msg.
func countLog(path, msg string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	for sc.Scan() {
		var line struct {
			Msg string `json:"msg"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == msg {
			n++
		}
	}
	return n, sc.Err()
}

func since(t time.Time) time.Duration { return time.Since(t).Round(100 * time.Millisecond) }
