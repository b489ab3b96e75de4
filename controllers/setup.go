package controllers

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/checks"
	"github.com/paasdiag/paasdiag/internal/controlplane"
	"github.com/paasdiag/paasdiag/internal/metrics"
	"github.com/paasdiag/paasdiag/internal/platformdb"
	"github.com/paasdiag/paasdiag/internal/specvalidation"
)

// Options tune the controller.
type Options struct {
	// MaxConcurrentReconciles bounds how many diagnoses are evaluated at once.
	MaxConcurrentReconciles int
	// CheckConcurrency bounds how many checks of one diagnosis run at once.
	CheckConcurrency int
	// Registerer receives the metrics; nil records none.
	Registerer prometheus.Registerer
	// Databases holds the connection pools; nil makes new ones.
	Databases *platformdb.Pools
	// SettingsAllowed lists the Deployments ("namespace/name", "namespace/*") that
	// diagnoses may read settings from without the Deployment's own label.
	SettingsAllowed SettingsAllowList
	// ProbeRootCAs are the CAs the blob store, registry and remote service probes
	// trust: the system's plus --probe-ca-file; nil means the system's.
	ProbeRootCAs *x509.CertPool
}

// probeClient is the HTTP client of the endpoint probes: the roots given, TLS 1.2 at
// least, no proxy from the environment (the platform's pods have their own, which
// paasdiag does not know), redirects followed as net/http does (it drops the
// Authorization header to another host).
func probeClient(roots *x509.CertPool) *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = nil
	transport.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	transport.MaxIdleConnsPerHost = 4
	return &http.Client{Transport: transport}
}

// Setup wires the reconciler with every check, as the manager runs it, and registers
// it with mgr. main.go and the integration tests both use it, so the tests run what
// ships.
func Setup(mgr ctrl.Manager, opts Options) (*PaaSDiagnosisReconciler, error) {
	clientset, err := kubernetes.NewForConfig(mgr.GetConfig())
	if err != nil {
		return nil, fmt.Errorf("creating a Kubernetes client: %w", err)
	}
	validator, err := specvalidation.New()
	if err != nil {
		return nil, fmt.Errorf("reading the CRD embedded in the binary: %w", err)
	}
	// Discovery bounded: a control plane that does not answer delays the start by 10 s
	// at most, not by client-go's default per request.
	probeCfg := rest.CopyConfig(mgr.GetConfig())
	probeCfg.Timeout = 10 * time.Second
	dc, err := discovery.NewDiscoveryClientForConfig(probeCfg)
	if err != nil {
		return nil, fmt.Errorf("creating a discovery client: %w", err)
	}
	logSupport(dc)
	if opts.Databases == nil {
		opts.Databases = platformdb.NewPools()
	}
	var recorder *metrics.Recorder
	if opts.Registerer != nil {
		recorder = metrics.NewRecorder()
		for _, c := range recorder.Collectors() {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("registering metrics: %w", err)
			}
		}
	}
	packages := checks.NewPackageLedger()
	r := &PaaSDiagnosisReconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Build: checks.Build(checks.Dependencies{
			Databases:  opts.Databases,
			Reader:     mgr.GetAPIReader(),
			Logs:       checks.PodLogs{Client: clientset},
			HTTPClient: probeClient(opts.ProbeRootCAs),
			Packages:   packages,
		}),
		Packages:                packages,
		Runner:                  check.Runner{Concurrency: opts.CheckConcurrency},
		Databases:               opts.Databases,
		MaxConcurrentReconciles: opts.MaxConcurrentReconciles,
		Recorder:                mgr.GetEventRecorder("paasdiag"),
		Metrics:                 recorder,
		Validator:               validator,
		SettingsAllowed:         opts.SettingsAllowed,
	}
	return r, r.SetupWithManager(mgr)
}

// logSupport says once what the control plane supports of what paasdiag uses, and
// what is lost where it does not (docs/compatibility.md).
func logSupport(dc discovery.DiscoveryInterface) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	support := controlplane.Probe(ctx, dc)
	log := ctrl.Log.WithName("setup")
	log.Info("Control plane", support.KeysAndValues()...)
	for _, lost := range support.Lost() {
		log.Info("Not supported by this control plane; degraded", "feature", lost)
	}
}
