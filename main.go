// Command manager runs the paasdiag controller: it evaluates PaaSDiagnosis objects and
// writes, in bkpaas3's own error codes, why a deploy would fail.
package main

import (
	"crypto/x509"
	"flag"
	"fmt"
	"os"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/controllers"
	"github.com/paasdiag/paasdiag/internal/logging"
	"github.com/paasdiag/paasdiag/internal/metricsserving"
)

var scheme = runtime.NewScheme()

// version is the release, stamped by the build from the Makefile's VERSION
// (-ldflags -X main.version=...; hack/image does it for the image).
var version = "dev"

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
}

func main() {
	var (
		metrics              metricsserving.Config
		probeAddr            string
		leaderElect          bool
		leaderElectNamespace string
		watchNamespace       string
		concurrency          int
		checkConcurrency     int
		settingsFromAllowed  string
		probeCAFile          string
	)
	metrics.BindFlags(flag.CommandLine)
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address the liveness and readiness probes bind to.")
	flag.BoolVar(&leaderElect, "leader-elect", false, "Elect a leader, so that of several replicas only one evaluates.")
	flag.StringVar(&leaderElectNamespace, "leader-election-namespace", "", "Namespace of the leader election Lease; defaults to the manager's own namespace.")
	flag.StringVar(&watchNamespace, "watch-namespace", "", "Only watch PaaSDiagnosis objects in this namespace; empty watches all.")
	flag.IntVar(&concurrency, "concurrency", 32, "How many diagnoses are evaluated at once. An evaluation waiting on a slow target holds one for at most its timeout, so there are enough that a few hanging targets do not delay the rest.")
	flag.IntVar(&checkConcurrency, "check-concurrency", 4, "How many checks of one diagnosis run at once.")
	flag.StringVar(&settingsFromAllowed, "settings-from-allowed", "", "Comma-separated Deployments (namespace/name, or namespace/* for a whole namespace) whose settings diagnoses may read through spec.settingsFrom without the Deployment's own label diagnosis.paasdiag.io/settings-from=true.")
	flag.StringVar(&probeCAFile, "probe-ca-file", "", "PEM file of CAs, beside the system's, that the blob store, registry and remote service probes trust: those the platform's pods trust (REQUESTS_CA_BUNDLE, a private CA).")
	printVersion := flag.Bool("version", false, "Print the version and exit.")
	opts := zap.Options{}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	if *printVersion {
		fmt.Println("paasdiag", version)
		return
	}
	// Capped: client-go logs request and response bodies, Secrets included, from V(8).
	ctrl.SetLogger(logging.CapVerbosity(zap.New(zap.UseFlagOptions(&opts)), logging.MaxVerbosity))
	log := ctrl.Log.WithName("setup")

	metricsOpts, err := metrics.Options()
	if err != nil {
		log.Error(err, "Invalid metrics flags")
		os.Exit(1)
	}
	cacheOpts := cache.Options{}
	if watchNamespace != "" {
		cacheOpts.DefaultNamespaces = map[string]cache.Config{watchNamespace: {}}
	}
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsOpts,
		HealthProbeBindAddress:  probeAddr,
		LeaderElection:          leaderElect,
		LeaderElectionID:        "paasdiag.diagnosis.paasdiag.io",
		LeaderElectionNamespace: leaderElectNamespace,
		// The manager steps down and exits at once when it loses the lease, so a
		// successor takes over without two evaluating at the same time.
		LeaderElectionReleaseOnCancel: true,
		Cache:                         cacheOpts,
		// Secrets, ConfigMaps and Deployments are read by name and never cached: caching
		// would list and watch every one of the cluster (and need the rights to).
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}, &corev1.ConfigMap{}, &appsv1.Deployment{}}}},
	})
	if err != nil {
		log.Error(err, "Unable to create the manager")
		os.Exit(1)
	}

	probeRoots, err := loadProbeRoots(probeCAFile)
	if err != nil {
		log.Error(err, "Unable to read --probe-ca-file")
		os.Exit(1)
	}
	if _, err := controllers.Setup(mgr, controllers.Options{
		MaxConcurrentReconciles: concurrency,
		CheckConcurrency:        checkConcurrency,
		SettingsAllowed:         splitList(settingsFromAllowed),
		Registerer:              ctrlmetrics.Registry,
		ProbeRootCAs:            probeRoots,
	}); err != nil {
		log.Error(err, "Unable to set up the controller")
		os.Exit(1)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		log.Error(err, "Unable to set up the health check")
		os.Exit(1)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		log.Error(err, "Unable to set up the readiness check")
		os.Exit(1)
	}

	log.Info("Starting the manager")
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "The manager stopped with an error")
		os.Exit(1)
	}
}

// splitList splits a comma-separated flag value, dropping empty entries.
func splitList(s string) []string {
	var out []string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// loadProbeRoots is the system's roots plus the CAs of file; nil (the system's) when
// file is empty.
func loadProbeRoots(file string) (*x509.CertPool, error) {
	if file == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return roots, nil
}
