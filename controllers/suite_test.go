//go:build integration

package controllers

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
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
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/checks"
	"github.com/paasdiag/paasdiag/internal/metrics"
)

// The envtest suite: a real kube-apiserver and etcd (built by hack/envtest.sh), the CRD
// from config/crd/bases, and the manager running the reconciler. Checks whose real
// implementations are tested elsewhere are replaced here by scripted checks, so the
// reconciler's behaviour can be driven from the tests.

var (
	cfg       *rest.Config
	k8sClient client.Client
	testEnv   *envtest.Environment
	scheme    = runtime.NewScheme()
	script    = &checkScript{results: map[string]check.Result{}}
	cancelMgr context.CancelFunc
	// suiteMetrics are the reconciler's metrics, read by the specs.
	suiteMetrics = metrics.NewRecorder()
)

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Controller suite (envtest)")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	utilruntime.Must(apiextensionsv1.AddToScheme(scheme))

	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	var err error
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred(), "start envtest: is KUBEBUILDER_ASSETS set? run `make test`")

	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
	})
	Expect(err).NotTo(HaveOccurred())
	Expect((&PaaSDiagnosisReconciler{
		Client:                  mgr.GetClient(),
		APIReader:               mgr.GetAPIReader(),
		Build:                   scriptedBuild,
		Recorder:                mgr.GetEventRecorder("paasdiag"),
		Metrics:                 suiteMetrics,
		Runner:                  check.Runner{Concurrency: 2},
		MaxConcurrentReconciles: 4,
	}).SetupWithManager(mgr)).To(Succeed())

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
		Expect(testEnv.Stop()).To(Succeed())
	}
})

// checkScript holds what the scripted checks return, per diagnosis and condition.
type checkScript struct {
	mu      sync.Mutex
	results map[string]check.Result
	calls   map[string]int
}

func scriptKey(d types.NamespacedName, condition string) string { return d.String() + "/" + condition }

// set makes the scripted check for condition return r for diagnosis d.
func (s *checkScript) set(d types.NamespacedName, condition string, r check.Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.results[scriptKey(d, condition)] = r
}

func (s *checkScript) get(d types.NamespacedName, condition string) (check.Result, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	s.calls[scriptKey(d, condition)]++
	r, ok := s.results[scriptKey(d, condition)]
	return r, ok
}

// callCount says how often the scripted check for condition ran for diagnosis d.
func (s *checkScript) callCount(d types.NamespacedName, condition string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[scriptKey(d, condition)]
}

// scriptedBuild plans what the real checks would (which checks the spec enables, and
// the Secrets each declares), keeps the cluster and pool checks, and scripts them.
// Resolve is left nil: the release line stays unknown.
func scriptedBuild(d *v1alpha1.PaaSDiagnosis) check.Plan {
	var p check.Plan
	for _, c := range checks.Build(checks.Dependencies{})(d).Checks {
		switch c.Condition() {
		case v1alpha1.ConditionClusterReachable, v1alpha1.ConditionInstancePoolAvailable:
			c.Checker = scriptedChecker{condition: c.Condition(), diagnosis: client.ObjectKeyFromObject(d)}
			p.Checks = append(p.Checks, c)
		}
	}
	return p
}

// scriptedChecker returns what the script says, Pass by default. A result with reason
// "Hang" makes it block until its context ends, like a probe of a listener that never
// answers.
type scriptedChecker struct {
	condition string
	diagnosis types.NamespacedName
}

func (s scriptedChecker) Name() string      { return "scripted-" + s.condition }
func (s scriptedChecker) Condition() string { return s.condition }
func (s scriptedChecker) Check(ctx context.Context) check.Result {
	r, ok := script.get(s.diagnosis, s.condition)
	if !ok {
		return check.Result{Status: check.Pass, Reason: v1alpha1.ReasonSucceeded, Message: "scripted pass"}
	}
	if r.Reason == "Hang" {
		select {
		case <-ctx.Done():
		case <-time.After(time.Hour):
		}
		return check.Result{Status: check.Pass}
	}
	return r
}
