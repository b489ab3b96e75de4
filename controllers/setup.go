package controllers

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/kubernetes"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/checks"
	"github.com/paasdiag/paasdiag/internal/metrics"
	"github.com/paasdiag/paasdiag/internal/platformdb"
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
}

// Setup wires the reconciler with every check, as the manager runs it, and registers
// it with mgr. main.go and the integration tests both use it, so the tests run what
// ships.
func Setup(mgr ctrl.Manager, opts Options) (*PaaSDiagnosisReconciler, error) {
	clientset, err := kubernetes.NewForConfig(mgr.GetConfig())
	if err != nil {
		return nil, fmt.Errorf("creating a Kubernetes client: %w", err)
	}
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
	r := &PaaSDiagnosisReconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Build: checks.Build(checks.Dependencies{
			Databases: opts.Databases,
			Reader:    mgr.GetAPIReader(),
			Logs:      checks.PodLogs{Client: clientset},
		}),
		Runner:                  check.Runner{Concurrency: opts.CheckConcurrency},
		Databases:               opts.Databases,
		MaxConcurrentReconciles: opts.MaxConcurrentReconciles,
		Recorder:                mgr.GetEventRecorder("paasdiag"),
		Metrics:                 recorder,
	}
	return r, r.SetupWithManager(mgr)
}
