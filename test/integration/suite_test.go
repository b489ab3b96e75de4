//go:build integration

// Package integration runs the manager as main.go wires it, with every real check,
// against a real kube-apiserver and etcd (envtest) and a real MariaDB server holding
// the platform's tables.
package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"go.uber.org/zap/zapcore"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/controllers"
	"github.com/paasdiag/paasdiag/internal/logging"
	"github.com/paasdiag/paasdiag/internal/platformdb"
	"github.com/paasdiag/paasdiag/internal/testsupport/appcluster"
	"github.com/paasdiag/paasdiag/internal/testsupport/fakekubelet"
	"github.com/paasdiag/paasdiag/internal/testsupport/mariadb"
	"github.com/paasdiag/paasdiag/internal/testsupport/netfault"
)

var (
	cfg       *rest.Config
	k8sClient client.Client
	testEnv   *envtest.Environment
	scheme    = runtime.NewScheme()
	databases = platformdb.NewPools()
	dbServer  *mariadb.Server
	app       *appcluster.Cluster
	kubelet   *fakekubelet.Kubelet
	tmpDir    string
	cancelMgr context.CancelFunc
	// metricsAddr is where the manager serves /metrics, over HTTPS to authorized
	// clients as main.go serves it (metrics_test.go).
	metricsAddr string
	// managerLogs holds everything the manager logged.
	managerLogs syncBuffer
)

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestIntegration(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Integration suite (envtest + MariaDB)")
}

var _ = BeforeSuite(func() {
	// The manager logs at its most verbose level (zap asked for everything, capped as
	// main.go caps it), into the test's output and into managerLogs, which the secrets
	// test reads.
	logf.SetLogger(logging.CapVerbosity(zap.New(zap.WriteTo(io.MultiWriter(GinkgoWriter, &managerLogs)), zap.UseDevMode(true),
		zap.Level(zapcore.Level(-10))), logging.MaxVerbosity))
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))

	var err error
	tmpDir, err = os.MkdirTemp("", "paasdiag-integration-")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(os.RemoveAll, tmpDir)
	dbServer, err = mariadb.Start(filepath.Join(tmpDir, "mariadb"))
	Expect(err).NotTo(HaveOccurred(), "start MariaDB (install it with hack/mariadb.sh install)")
	DeferCleanup(dbServer.Stop)

	// The app cluster: a second real control plane.
	app, err = appcluster.Start()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(app.Stop)

	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	auditRequestsOf(testEnv)
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred(), "start envtest: is KUBEBUILDER_ASSETS set? run `make test`")
	DeferCleanup(testEnv.Stop)
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	// The kubelet the control cluster's API server fetches worker logs from.
	kubelet = fakekubelet.Start()
	DeferCleanup(kubelet.Close)
	Expect(kubelet.RegisterNode(context.Background(), k8sClient, "control-node-1")).To(Succeed())

	// The manager runs as the ServiceAccount config/default installs, with exactly the
	// RBAC config/rbac grants: a permission it lacks fails the tests, and one it never
	// uses is reported at the end of the suite (see least_privilege_test.go).
	kubectl("apply", "-k", filepath.Join("..", "..", "config", "default"))
	setUpScraper()
	managerCfg := rest.CopyConfig(cfg)
	managerCfg.Impersonate = rest.ImpersonationConfig{UserName: managerUser,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:paasdiag-system", "system:authenticated"}}
	metricsAddr = freeAddr()
	mgr, err := ctrl.NewManager(managerCfg, ctrl.Options{
		Scheme: scheme,
		// As main.go serves them by default: the manager checks each scraper's token
		// and rights with the API server, as its ServiceAccount.
		Metrics: managerMetricsOptions(metricsAddr),
		Client:  client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}, &corev1.ConfigMap{}, &appsv1.Deployment{}}}},
		// As deployed: leader election on, in the manager's namespace.
		LeaderElection:                true,
		LeaderElectionID:              "paasdiag.diagnosis.paasdiag.io",
		LeaderElectionNamespace:       "paasdiag-system",
		LeaderElectionReleaseOnCancel: true,
	})
	Expect(err).NotTo(HaveOccurred())
	// As main.go wires it.
	_, err = controllers.Setup(mgr, controllers.Options{
		MaxConcurrentReconciles: 10,
		CheckConcurrency:        4,
		Registerer:              ctrlmetrics.Registry,
		Databases:               databases,
	})
	Expect(err).NotTo(HaveOccurred())

	var ctx context.Context
	ctx, cancelMgr = context.WithCancel(context.Background())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
})

var _ = AfterSuite(func() {
	if cancelMgr != nil {
		cancelMgr()
	}
	if testEnv != nil {
		expectLeastPrivilege()
	}
	// Everything started is stopped by the cleanups BeforeSuite registered, which run
	// even when an assertion here fails.
})

var nsCounter int

func newNamespace() string {
	nsCounter++
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("integration-%d", nsCounter)}}
	Expect(k8sClient.Create(context.Background(), ns)).To(Succeed())
	return ns.Name
}

func createSecret(ns, name string, data map[string]string) {
	GinkgoHelper()
	Expect(k8sClient.Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{v1alpha1.SecretLabel: "true"},
			// The tests name their own API servers and databases: any destination.
			Annotations: map[string]string{v1alpha1.SecretAPIServersAnnotation: "*", v1alpha1.SecretWorkloadsDSNAnnotation: "*"}}, StringData: data,
	})).To(Succeed())
}

func fetch(key types.NamespacedName) *v1alpha1.PaaSDiagnosis {
	GinkgoHelper()
	var d v1alpha1.PaaSDiagnosis
	Expect(k8sClient.Get(context.Background(), key, &d)).To(Succeed())
	return &d
}

// waitFor waits until cond holds for the diagnosis and returns it as it was then.
func waitFor(key types.NamespacedName, timeout time.Duration, cond func(g Gomega, d *v1alpha1.PaaSDiagnosis)) *v1alpha1.PaaSDiagnosis {
	GinkgoHelper()
	var got *v1alpha1.PaaSDiagnosis
	Eventually(func(g Gomega) {
		var d v1alpha1.PaaSDiagnosis
		g.Expect(k8sClient.Get(context.Background(), key, &d)).To(Succeed())
		cond(g, &d)
		got = &d
	}).WithTimeout(timeout).WithPolling(200 * time.Millisecond).Should(Succeed())
	return got
}

// waitForCondition waits until condition t has the status and reason.
func waitForCondition(key types.NamespacedName, t string, status metav1.ConditionStatus, reason string) *v1alpha1.PaaSDiagnosis {
	GinkgoHelper()
	return waitFor(key, 40*time.Second, func(g Gomega, d *v1alpha1.PaaSDiagnosis) {
		c := meta.FindStatusCondition(d.Status.Conditions, t)
		g.Expect(c).NotTo(BeNil(), "condition %s", t)
		g.Expect(c.Status).To(Equal(status), "%s: %s", t, c.Message)
		g.Expect(c.Reason).To(Equal(reason), "%s: %s", t, c.Message)
	})
}

func condition(d *v1alpha1.PaaSDiagnosis, t string) *metav1.Condition {
	return meta.FindStatusCondition(d.Status.Conditions, t)
}

// expectNoSecret checks that none of the given secret values appears anywhere in status.
func expectNoSecret(d *v1alpha1.PaaSDiagnosis, secrets ...string) {
	GinkgoHelper()
	status := fmt.Sprintf("%+v", d.Status)
	for _, s := range secrets {
		Expect(status).NotTo(ContainSubstring(s))
	}
}

func freeAddr() string {
	addr, err := netfault.ClosedAddr()
	Expect(err).NotTo(HaveOccurred())
	return addr
}

func corev1Secret(ns, name string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}
