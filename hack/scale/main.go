// Command scale measures paasdiag at scale on this machine, with real parts only: the
// manager binary (bin/manager) as a process of its own, a control plane (envtest's
// kube-apiserver and etcd), a second one as the app cluster, and MariaDB. It creates
// many diagnoses, each with 2 clusters of 2 API servers and a pool check, lets them
// run on their interval, and prints: evaluation lateness (p50/p99), the manager's CPU
// and peak RSS, and status writes and events per evaluation in steady state.
//
//	make build && KUBEBUILDER_ASSETS=$(hack/envtest.sh dir) go run ./hack/scale -diagnoses 1000
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/hack/internal/managerproc"
	"github.com/paasdiag/paasdiag/hack/internal/promscrape"
	"github.com/paasdiag/paasdiag/internal/testsupport/appcluster"
	"github.com/paasdiag/paasdiag/internal/testsupport/kubectl"
	"github.com/paasdiag/paasdiag/internal/testsupport/mariadb"
	"github.com/paasdiag/paasdiag/internal/testsupport/netfault"
)

func main() {
	n := flag.Int("diagnoses", 1000, "diagnoses to create")
	hanging := flag.Int("hanging", 0, "of them, how many point one cluster at a listener that never answers")
	unrelated := flag.Int("unrelated", 0, "unrelated Secrets and Pods to create in the control cluster first")
	interval := flag.Duration("interval", time.Minute, "the diagnoses' interval")
	measure := flag.Duration("measure", 2*time.Minute, "how long to measure, after every diagnosis was evaluated once")
	concurrency := flag.Int("concurrency", 0, "the manager's --concurrency; 0 leaves its default, as shipped")
	manager := flag.String("manager", filepath.Join("bin", "manager"), "the manager binary to run")
	managerLog := flag.String("manager-log", "", "a file to write the manager's log to; empty keeps it in the run's temporary directory")
	managerCPUs := flag.String("manager-cpus", "", "CPUs to pin the manager to (taskset -c), so that the rig does not share its cores; empty does not pin")
	flag.Parse()
	if err := run(*n, *hanging, *unrelated, *interval, *measure, *manager, *concurrency, *managerLog, *managerCPUs); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

func run(n, hanging, unrelated int, interval, measure time.Duration, managerBinary string, concurrency int, managerLog, managerCPUs string) error {
	logf.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "paasdiag-scale-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	control := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join("config", "crd", "bases")}, ErrorIfCRDPathMissing: true}
	cfg, err := control.Start()
	if err != nil {
		return err
	}
	defer control.Stop()
	app, err := appcluster.Start()
	if err != nil {
		return err
	}
	defer app.Stop()
	db, err := mariadb.Start(filepath.Join(dir, "mariadb"))
	if err != nil {
		return err
	}
	defer db.Stop()

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}

	// The second API server of each cluster: the same kube-apiserver behind a proxy.
	u := strings.TrimPrefix(strings.TrimSuffix(app.URL, "/"), "https://")
	proxy, err := netfault.NewProxy(u)
	if err != nil {
		return err
	}
	defer proxy.Stop()
	servers := []v1alpha1.APIServerURL{v1alpha1.APIServerURL(strings.TrimSuffix(app.URL, "/")), v1alpha1.APIServerURL("https://" + proxy.Addr)}
	silent, stopSilent, err := netfault.SilentListener()
	if err != nil {
		return err
	}
	defer stopSilent()

	platform, err := mariadb.NewPlatform(db, "bk_paas_ng", mariadb.Main)
	if err != nil {
		return err
	}
	redis, _ := platform.Service("redis", "pool")
	for _, plan := range []string{"0shared", "1exclusive"} {
		id, _ := platform.Plan(redis, plan, "default")
		if _, err := platform.Instances(id, 3, false, "fifo"); err != nil {
			return err
		}
	}
	dsn, err := platform.ReadOnlyUser("paasdiag", "pw")
	if err != nil {
		return err
	}
	token, err := app.TokenUser("bkpaas3-platform", "cluster-admin")
	if err != nil {
		return err
	}

	if unrelated > 0 {
		fmt.Printf("creating %d unrelated Secrets and %d Pods\n", unrelated, unrelated)
		if err := createUnrelated(ctx, c, unrelated); err != nil {
			return err
		}
	}

	ns := "scale"
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return err
	}
	for name, data := range map[string]map[string]string{
		"app-cluster": {"ca.crt": string(app.CA), "token": token},
		"db":          {"dsn": dsn},
	} {
		if err := c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{v1alpha1.SecretLabel: "true"},
			Annotations: map[string]string{v1alpha1.SecretAPIServersAnnotation: "*"}}, StringData: data}); err != nil {
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
	var extra, wrapper []string
	if concurrency > 0 {
		extra = append(extra, fmt.Sprintf("--concurrency=%d", concurrency))
	}
	if managerCPUs != "" {
		wrapper = []string{"taskset", "-c", managerCPUs}
	}
	// At V(1) the manager logs each evaluation with its lateness, per diagnosis: the
	// isolation measurement leaves the hanging diagnoses out of the others' figures.
	proc, err := managerproc.Start(managerBinary, kubeconfig, managerLog, wrapper, extra...)
	if err != nil {
		return err
	}
	defer proc.Stop()
	manager, metricsAddr := proc.Cmd, proc.MetricsAddr

	fmt.Printf("creating %d diagnoses (%d with a hanging cluster), interval %s\n", n, hanging, interval)
	for i := 0; i < n; i++ {
		second := servers
		if i < hanging {
			second = []v1alpha1.APIServerURL{servers[0], v1alpha1.APIServerURL("https://" + silent)}
		}
		d := &v1alpha1.PaaSDiagnosis{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("d-%04d", i)},
			Spec: v1alpha1.PaaSDiagnosisSpec{
				Interval: metav1.Duration{Duration: interval}, Timeout: metav1.Duration{Duration: 10 * time.Second},
				CertificateExpiryWarning: metav1.Duration{Duration: time.Hour},
				Clusters: []v1alpha1.ClusterTarget{
					{Name: "c1", APIServers: servers, CredentialsSecretRef: v1alpha1.SecretReference{Name: "app-cluster"}},
					{Name: "c2", APIServers: second, CredentialsSecretRef: v1alpha1.SecretReference{Name: "app-cluster"}},
				},
				PlatformDatabase: &v1alpha1.PlatformDatabase{DefaultDSNSecretRef: &v1alpha1.SecretKeyReference{Name: "db", Key: "dsn"}},
				InstancePools:    &v1alpha1.InstancePoolsCheck{MinAvailable: 1},
			},
		}
		if err := c.Create(ctx, d); err != nil {
			return err
		}
	}

	fmt.Println("waiting until every diagnosis was evaluated once")
	deadline := time.Now().Add(5 * time.Minute)
	for {
		var list v1alpha1.PaaSDiagnosisList
		if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return err
		}
		done := 0
		for _, d := range list.Items {
			if d.Status.LastEvaluationTime != nil {
				done++
			}
		}
		if done == n {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d diagnoses evaluated after 5 minutes", done, n)
		}
		time.Sleep(2 * time.Second)
	}
	// One more interval, so that every diagnosis is on its schedule.
	time.Sleep(interval)

	from := time.Now()
	before, err := sample(ctx, c, cfg, metricsAddr, manager.Process.Pid, ns)
	if err != nil {
		return err
	}
	fmt.Printf("measuring for %s\n", measure)
	time.Sleep(measure)
	after, err := sample(ctx, c, cfg, metricsAddr, manager.Process.Pid, ns)
	if err != nil {
		return err
	}
	others, hung, err := latenessByDiagnosis(managerLog, from, time.Now(), hanging)
	if err != nil {
		return err
	}

	evals := after.evaluations - before.evaluations
	fmt.Printf("\n| %d diagnoses x 2 clusters x 2 API servers + pool, interval %s, %d hanging, %d unrelated Secrets+Pods | |\n|---|---|\n", n, interval, hanging, unrelated)
	fmt.Printf("| evaluations in %s | %.0f (expected %.0f) |\n", measure, evals, float64(n)*measure.Seconds()/interval.Seconds())
	fmt.Printf("| lateness p50 / p99 | %s / %s |\n", quantile(before.lateness, after.lateness, 0.5), quantile(before.lateness, after.lateness, 0.99))
	fmt.Printf("| others' lateness p50 / p99 (hanging left out, %d evaluations) | %s / %s |\n", len(others), exact(others, 0.5), exact(others, 0.99))
	if hanging > 0 {
		fmt.Printf("| hanging diagnoses' lateness p50 / max (%d evaluations) | %s / %s |\n", len(hung), exact(hung, 0.5), exact(hung, 1))
	}
	fmt.Printf("| manager CPU | %.2f cores |\n", (after.cpuSeconds-before.cpuSeconds)/measure.Seconds())
	fmt.Printf("| manager peak RSS (VmHWM) | %.1f MiB |\n", float64(after.peakRSSKiB)/1024)
	fmt.Printf("| status writes per evaluation | %.3f |\n", (after.statusWrites-before.statusWrites)/evals)
	fmt.Printf("| events per evaluation | %.3f |\n", float64(after.events-before.events)/evals)
	return nil
}

type snapshot struct {
	evaluations  float64
	lateness     *dto.Histogram
	cpuSeconds   float64
	peakRSSKiB   int
	statusWrites float64
	events       int
}

func sample(ctx context.Context, c client.Client, cfg *rest.Config, metricsAddr string, pid int, ns string) (*snapshot, error) {
	s := &snapshot{}
	families, err := promscrape.Scrape(http.DefaultClient, "http://"+metricsAddr+"/metrics")
	if err != nil {
		return nil, err
	}
	for _, m := range families["paasdiag_evaluations_total"].GetMetric() {
		s.evaluations += m.GetCounter().GetValue()
	}
	if f := families["paasdiag_evaluation_lateness_seconds"]; f != nil && len(f.Metric) > 0 {
		s.lateness = f.Metric[0].GetHistogram()
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	fields := strings.Fields(string(stat)[strings.LastIndex(string(stat), ")")+2:])
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	s.cpuSeconds = (utime + stime) / 100 // clock ticks; 100 per second on Linux
	status, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(status)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "VmHWM:") {
			s.peakRSSKiB, _ = strconv.Atoi(strings.Fields(sc.Text())[1])
		}
	}
	_ = status.Close()
	// Status writes, counted by the API server itself.
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	api, err := promscrape.Scrape(hc, strings.TrimSuffix(cfg.Host, "/")+"/metrics")
	if err != nil {
		return nil, err
	}
	for _, m := range api["apiserver_request_total"].GetMetric() {
		l := promscrape.Labels(m)
		if l["resource"] == "paasdiagnoses" && l["subresource"] == "status" && (l["verb"] == "PATCH" || l["verb"] == "UPDATE" || l["verb"] == "APPLY") {
			s.statusWrites += m.GetCounter().GetValue()
		}
	}
	var evs eventsv1.EventList
	if err := c.List(ctx, &evs, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	for _, e := range evs.Items {
		s.events++
		if e.Series != nil {
			s.events += int(e.Series.Count) - 1
		}
	}
	return s, nil
}

// quantile estimates a quantile of the observations between two histogram snapshots,
// as Prometheus' histogram_quantile does (linear within a bucket).
func quantile(before, after *dto.Histogram, q float64) string {
	if after == nil {
		return "n/a"
	}
	prev := map[float64]uint64{}
	if before != nil {
		for _, b := range before.Bucket {
			prev[b.GetUpperBound()] = b.GetCumulativeCount()
		}
	}
	type bucket struct {
		upper float64
		count uint64
	}
	var bs []bucket
	for _, b := range after.Bucket {
		bs = append(bs, bucket{b.GetUpperBound(), b.GetCumulativeCount() - prev[b.GetUpperBound()]})
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].upper < bs[j].upper })
	total := after.GetSampleCount()
	if before != nil {
		total -= before.GetSampleCount()
	}
	if total == 0 {
		return "n/a"
	}
	rank := q * float64(total)
	lower, lowerCount := 0.0, uint64(0)
	for _, b := range bs {
		if float64(b.count) >= rank {
			frac := (rank - float64(lowerCount)) / float64(b.count-lowerCount)
			return fmt.Sprintf("%.2fs", lower+frac*(b.upper-lower))
		}
		lower, lowerCount = b.upper, b.count
	}
	return fmt.Sprintf("> %.0fs", lower)
}

func createUnrelated(ctx context.Context, c client.Client, n int) error {
	ns := "unrelated"
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return err
	}
	if err := c.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default"}}); err != nil {
		return err
	}
	blob := strings.Repeat("x", 1024)
	no := false
	for i := 0; i < n; i++ {
		if err := c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("s-%05d", i)},
			StringData: map[string]string{"data": blob}}); err != nil {
			return err
		}
		if err := c.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("p-%05d", i)},
			Spec: corev1.PodSpec{AutomountServiceAccountToken: &no, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}); err != nil {
			return err
		}
	}
	return nil
}

// latenessByDiagnosis reads the lateness of each scheduled evaluation between from and
// to from the manager's V(1) log, split into the other diagnoses and the first hanging
// ones (d-0000 on), each sorted.
func latenessByDiagnosis(path string, from, to time.Time, hanging int) (others, hung []float64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct {
			TS       string   `json:"ts"`
			Msg      string   `json:"msg"`
			Name     string   `json:"name"`
			Lateness *float64 `json:"lateness"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.Msg != "Diagnosis evaluated" || line.Lateness == nil {
			continue
		}
		ts, err := time.Parse(time.RFC3339Nano, line.TS)
		if err != nil || ts.Before(from) || ts.After(to) {
			continue
		}
		var i int
		if _, err := fmt.Sscanf(line.Name, "d-%d", &i); err == nil && i < hanging {
			hung = append(hung, *line.Lateness)
		} else {
			others = append(others, *line.Lateness)
		}
	}
	sort.Float64s(others)
	sort.Float64s(hung)
	return others, hung, sc.Err()
}

// exact is the q-quantile of sorted values (nearest rank), as a duration.
func exact(sorted []float64, q float64) string {
	if len(sorted) == 0 {
		return "n/a"
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	i = max(0, min(i, len(sorted)-1))
	return time.Duration(sorted[i] * float64(time.Second)).Round(time.Millisecond).String()
}
