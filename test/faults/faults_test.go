//go:build integration

// Package faults puts the manager through the faults a production controller meets:
// a restart, a second replica and a leader handing over, and the control plane's API
// server restarting. Real parts only: envtest's kube-apiserver and etcd, MariaDB, and
// managers wired as main.go wires them.
package faults

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/controllers"
	"github.com/paasdiag/paasdiag/internal/testsupport/mariadb"
	"github.com/paasdiag/paasdiag/internal/testsupport/netfault"
)

var (
	// cfg reaches the API server through proxy, which the tests stop and start to
	// take the API server away from the managers and give it back.
	proxy     *netfault.Proxy
	cfg       *rest.Config
	k8sClient client.Client
	testEnv   *envtest.Environment
	scheme    = runtime.NewScheme()
	dbServer  *mariadb.Server
	tmpDir    string
)

func TestFaults(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Fault suite (envtest + MariaDB)")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter)))
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	var err error
	tmpDir, err = os.MkdirTemp("", "paasdiag-faults-")
	Expect(err).NotTo(HaveOccurred())
	dbServer, err = mariadb.Start(filepath.Join(tmpDir, "mariadb"))
	Expect(err).NotTo(HaveOccurred())
	testEnv = &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join("..", "..", "config", "crd", "bases")}, ErrorIfCRDPathMissing: true}
	direct, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred(), "start envtest: is KUBEBUILDER_ASSETS set? run `make test`")
	u, err := url.Parse(direct.Host)
	Expect(err).NotTo(HaveOccurred())
	proxy, err = netfault.NewProxy(u.Host)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(proxy.Stop)
	cfg = rest.CopyConfig(direct)
	cfg.Host = "https://" + proxy.Addr
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	Expect(k8sClient.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "paasdiag-system"}})).To(Succeed())
})

var _ = AfterSuite(func() {
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
	if dbServer != nil {
		Expect(dbServer.Stop()).To(Succeed())
	}
	_ = os.RemoveAll(tmpDir)
})

// replica is one paasdiag replica: a manager wired as main.go wires it, run as the
// kubelet runs the Deployment's container: when the manager exits on an error (it
// exits when it loses the lease, e.g. while the API server is down), it is started
// again.
type replica struct {
	name     string
	mu       sync.Mutex
	registry []*prometheus.Registry // one per incarnation
	restarts int
	stop     context.CancelFunc
	done     chan struct{}
}

func newManager(r *prometheus.Registry) ctrl.Manager {
	GinkgoHelper()
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       metricsserver.Options{BindAddress: "0"},
		Client:                        client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}, &corev1.ConfigMap{}, &appsv1.Deployment{}}}},
		LeaderElection:                true,
		LeaderElectionID:              "paasdiag.diagnosis.paasdiag.io",
		LeaderElectionNamespace:       "paasdiag-system",
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 ptr(6 * time.Second),
		RenewDeadline:                 ptr(4 * time.Second),
		RetryPeriod:                   ptr(time.Second),
		// Several managers in one test process: the controller's name repeats.
		Controller: config.Controller{SkipNameValidation: ptr(true)},
	})
	Expect(err).NotTo(HaveOccurred())
	_, err = controllers.Setup(mgr, controllers.Options{MaxConcurrentReconciles: 4, CheckConcurrency: 4, Registerer: r})
	Expect(err).NotTo(HaveOccurred())
	return mgr
}

// startReplica starts a replica with leader election on, as deployed.
func startReplica(name string) *replica {
	GinkgoHelper()
	r := &replica{name: name, done: make(chan struct{})}
	var ctx context.Context
	ctx, r.stop = context.WithCancel(context.Background())
	go func() {
		defer GinkgoRecover()
		defer close(r.done)
		for {
			reg := prometheus.NewRegistry()
			mgr := newManager(reg)
			r.mu.Lock()
			r.registry = append(r.registry, reg)
			r.mu.Unlock()
			err := mgr.Start(ctx)
			if ctx.Err() != nil {
				return
			}
			GinkgoWriter.Printf("replica %s exited (%v); restarting it\n", r.name, err)
			r.mu.Lock()
			r.restarts++
			r.mu.Unlock()
			time.Sleep(time.Second)
		}
	}()
	return r
}

func (r *replica) shutdown() {
	r.stop()
	Eventually(r.done).WithTimeout(30 * time.Second).Should(BeClosed())
}

// evaluations counts the evaluations this replica made.
func (r *replica) evaluations() float64 {
	r.mu.Lock()
	regs := append([]*prometheus.Registry(nil), r.registry...)
	r.mu.Unlock()
	total := 0.0
	for _, reg := range regs {
		families, err := reg.Gather()
		Expect(err).NotTo(HaveOccurred())
		for _, f := range families {
			if f.GetName() == "paasdiag_evaluations_total" {
				for _, m := range f.Metric {
					total += m.Counter.GetValue()
				}
			}
		}
	}
	return total
}

// statusWatcher polls a diagnosis and remembers every Ready status it saw.
type statusWatcher struct {
	mu    sync.Mutex
	seen  map[metav1.ConditionStatus]int
	stop  chan struct{}
	key   types.NamespacedName
	evals map[string]bool
}

func watchStatus(key types.NamespacedName) *statusWatcher {
	w := &statusWatcher{seen: map[metav1.ConditionStatus]int{}, stop: make(chan struct{}), key: key, evals: map[string]bool{}}
	go func() {
		for {
			select {
			case <-w.stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			var d v1alpha1.PaaSDiagnosis
			if k8sClient.Get(context.Background(), key, &d) != nil {
				continue
			}
			w.mu.Lock()
			if c := meta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionReady); c != nil {
				w.seen[c.Status]++
			}
			if d.Status.LastEvaluationTime != nil {
				w.evals[d.Status.LastEvaluationTime.String()] = true
			}
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *statusWatcher) statuses() map[metav1.ConditionStatus]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[metav1.ConditionStatus]int{}
	for k, v := range w.seen {
		out[k] = v
	}
	return out
}

func (w *statusWatcher) evaluationsSeen() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.evals)
}

func events(key types.NamespacedName) int {
	GinkgoHelper()
	var list eventsv1.EventList
	Expect(k8sClient.List(context.Background(), &list, client.InNamespace(key.Namespace))).To(Succeed())
	n := 0
	for _, e := range list.Items {
		if e.Regarding.Name == key.Name && e.ReportingController == "paasdiag" {
			n++
			if e.Series != nil {
				n += int(e.Series.Count) - 1
			}
		}
	}
	return n
}

// emptyPool creates a diagnosis whose redis/0shared pool is empty: a code is active.
func emptyPool(ns string) types.NamespacedName {
	GinkgoHelper()
	ctx := context.Background()
	Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	platform, err := mariadb.NewPlatform(dbServer, "bk_paas_ng_"+ns[len(ns)-1:], mariadb.Main)
	Expect(err).NotTo(HaveOccurred())
	redis, _ := platform.Service("redis", "pool")
	_, err = platform.Plan(redis, "0shared", "default")
	Expect(err).NotTo(HaveOccurred())
	dsn, err := platform.ReadOnlyUser("ro_"+ns[len(ns)-1:], "pw")
	Expect(err).NotTo(HaveOccurred())
	Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db", Labels: map[string]string{v1alpha1.SecretLabel: "true"}},
		StringData: map[string]string{"dsn": dsn}})).To(Succeed())
	d := &v1alpha1.PaaSDiagnosis{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bkpaas3"},
		Spec: v1alpha1.PaaSDiagnosisSpec{
			Interval: metav1.Duration{Duration: 10 * time.Second}, Timeout: metav1.Duration{Duration: 3 * time.Second},
			PlatformDatabase: &v1alpha1.PlatformDatabase{DefaultDSNSecretRef: &v1alpha1.SecretKeyReference{Name: "db", Key: "dsn"}},
			InstancePools:    &v1alpha1.InstancePoolsCheck{MinAvailable: 1},
		},
	}
	Expect(k8sClient.Create(ctx, d)).To(Succeed())
	return types.NamespacedName{Namespace: ns, Name: "bkpaas3"}
}

func readyIs(key types.NamespacedName, status metav1.ConditionStatus) func(Gomega) {
	return func(g Gomega) {
		var d v1alpha1.PaaSDiagnosis
		g.Expect(k8sClient.Get(context.Background(), key, &d)).To(Succeed())
		c := meta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionReady)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(status))
	}
}

var _ = Describe("Faults", Ordered, func() {
	var (
		a, b *replica
		key  types.NamespacedName
	)

	It("a second replica only follows: the leader alone evaluates", func() {
		a = startReplica("a")
		key = emptyPool("faults-1")
		Eventually(readyIs(key, metav1.ConditionFalse)).WithTimeout(30 * time.Second).Should(Succeed())
		Eventually(func() int { return events(key) }).WithTimeout(10 * time.Second).Should(Equal(1))

		b = startReplica("b")
		before := a.evaluations()
		Eventually(a.evaluations).WithTimeout(25 * time.Second).Should(BeNumerically(">=", before+2))
		Expect(b.evaluations()).To(BeZero(), "the follower evaluated")
	})

	It("the leader stops (a restart): the follower takes over within the lease, without flapping or repeating events", func() {
		w := watchStatus(key)
		defer close(w.stop)
		handover := time.Now()
		a.shutdown()
		Eventually(b.evaluations).WithTimeout(20 * time.Second).Should(BeNumerically(">", 0))
		GinkgoWriter.Printf("the follower evaluated %s after the leader stopped\n", time.Since(handover))
		Expect(time.Since(handover)).To(BeNumerically("<", 6*time.Second+10*time.Second), "within the lease and one interval")
		Eventually(b.evaluations).WithTimeout(25 * time.Second).Should(BeNumerically(">=", 2))
		Expect(w.statuses()).To(Equal(map[metav1.ConditionStatus]int{metav1.ConditionFalse: w.statuses()[metav1.ConditionFalse]}), "Ready only ever False")
		Expect(w.evaluationsSeen()).To(BeNumerically(">=", 2))
		Expect(events(key)).To(Equal(1), "no event repeated by the new leader")
	})

	It("survives the control plane's API server going away and coming back, without flapping or repeating events", func() {
		w := watchStatus(key)
		defer close(w.stop)
		// Down for longer than the lease's renew deadline: the manager loses the lease
		// and exits, and is started again, as the kubelet does.
		proxy.Stop()
		time.Sleep(8 * time.Second)
		Expect(proxy.Start()).To(Succeed())
		var d v1alpha1.PaaSDiagnosis
		Expect(k8sClient.Get(context.Background(), key, &d)).To(Succeed())
		last := d.Status.LastEvaluationTime.Time
		Eventually(func(g Gomega) {
			var now v1alpha1.PaaSDiagnosis
			g.Expect(k8sClient.Get(context.Background(), key, &now)).To(Succeed())
			g.Expect(now.Status.LastEvaluationTime.Time).To(BeTemporally(">", last))
		}).WithTimeout(60 * time.Second).WithPolling(time.Second).Should(Succeed())
		Expect(w.statuses()).To(HaveKey(metav1.ConditionFalse))
		Expect(w.statuses()).NotTo(HaveKey(metav1.ConditionUnknown), "Ready flapped to Unknown")
		Expect(w.statuses()).NotTo(HaveKey(metav1.ConditionTrue))
		Expect(events(key)).To(Equal(1), "no event repeated after the restart")
		b.shutdown()
	})

	It("keeps a spec change made while it writes status: status and spec never overwrite each other", func() {
		r := startReplica("c")
		defer r.shutdown()
		Eventually(r.evaluations).WithTimeout(30 * time.Second).Should(BeNumerically(">", 0))
		// Change the spec while evaluations run: the merge patch of status carries no
		// resourceVersion, so it never conflicts with the writer, and the new
		// generation is evaluated.
		// The other writer (kubectl, a GitOps tool) retries its own conflicts, which
		// paasdiag's status patches may cause; paasdiag's never conflict.
		for i := 0; i < 5; i++ {
			Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
				var d v1alpha1.PaaSDiagnosis
				if err := k8sClient.Get(context.Background(), key, &d); err != nil {
					return err
				}
				d.Spec.InstancePools.MinAvailable = int32(2 + i)
				return k8sClient.Update(context.Background(), &d)
			})).To(Succeed())
			time.Sleep(300 * time.Millisecond)
		}
		Eventually(func(g Gomega) {
			var d v1alpha1.PaaSDiagnosis
			g.Expect(k8sClient.Get(context.Background(), key, &d)).To(Succeed())
			g.Expect(d.Spec.InstancePools.MinAvailable).To(Equal(int32(6)))
			g.Expect(d.Status.ObservedGeneration).To(Equal(d.Generation))
		}).WithTimeout(30 * time.Second).Should(Succeed())
	})
})

func ptr[T any](v T) *T { return &v }
