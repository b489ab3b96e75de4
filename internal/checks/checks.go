// Package checks holds every check paasdiag runs, one file each; each implements
// check.Checker, and a diagnosis runs the ones its spec enables (Build).
package checks

import (
	"context"
	"io"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/platformdb"
)

// Dependencies are what the checks need from the manager.
type Dependencies struct {
	// Databases holds the diagnoses' connection pools to the platform's databases.
	Databases *platformdb.Pools
	// Reader reads Jobs and Pods of the control cluster, uncached.
	Reader client.Reader
	// Logs opens pod logs through the API server.
	Logs LogStreamer
	// Now is the clock for certificate expiry; nil means time.Now.
	Now func() time.Time
	// HTTPClient probes the blob store, registries and remote service providers; nil
	// means http.DefaultClient. Its roots are those the platform's pods trust, as far
	// as the manager knows them (--probe-ca-file).
	HTTPClient *http.Client
	// Packages remembers, per diagnosis, which source package objects were seen, so
	// that each evaluation asks the blob store for a bounded number; nil remembers
	// nothing beyond one evaluation.
	Packages *PackageLedger
}

// Build returns the builder of a diagnosis' checks: for each evaluation, the checks
// its spec enables, each built from its spec section (which it validates), sharing
// one set of typed inputs.
func Build(deps Dependencies) check.Builder {
	return func(d *v1alpha1.PaaSDiagnosis) check.Plan {
		p, _ := buildPlan(d, deps)
		return p
	}
}

// buildPlan builds d's checks in the order of the 4313021 and 4313022 troubleshooting
// steps, and returns the inputs they share (tests bind them directly).
func buildPlan(d *v1alpha1.PaaSDiagnosis, deps Dependencies) (check.Plan, *inputs) {
	spec := &d.Spec
	in := newInputs(d, deps.Databases)
	var p check.Plan
	if len(spec.Clusters) > 0 || spec.DiscoverClusters {
		c := newClusterReachability(spec, d.Namespace, deps, in)
		p.Checks = append(p.Checks, check.Planned{Checker: c, Inputs: c.inputs()})
	}
	if spec.InitialClusterState != nil {
		c := newInitialClusterState(spec.InitialClusterState, d.Namespace, deps, in)
		p.Checks = append(p.Checks, check.Planned{Checker: c, Inputs: c.inputs()})
	}
	if spec.WorkerLogs != nil {
		c, err := newWorkerLogs(spec.WorkerLogs, d.Namespace, deps, in, createdAt(d))
		if err != nil {
			p.Checks = append(p.Checks, check.Rejected(workerLogsName, v1alpha1.ConditionWorkerLogsClean, err))
		} else {
			p.Checks = append(p.Checks, check.Planned{Checker: c})
		}
	}
	if spec.InstancePools != nil {
		c := newInstancePools(spec.InstancePools, in)
		p.Checks = append(p.Checks, check.Planned{Checker: c, Inputs: c.inputs()})
	}
	// The other infrastructure a deploy or an S-mart import meets.
	if spec.BlobStore != nil {
		c := newBlobStore(spec, in.owner, deps, in)
		p.Checks = append(p.Checks, check.Planned{Checker: c, Inputs: c.inputs()})
	}
	if spec.SmartRegistry != nil {
		c := newSmartRegistry(spec, deps, in)
		p.Checks = append(p.Checks, check.Planned{Checker: c, Inputs: c.inputs()})
	}
	if spec.RemoteServices != nil {
		c := newRemoteServices(spec, deps, in)
		p.Checks = append(p.Checks, check.Planned{Checker: c, Inputs: c.inputs()})
	}
	if spec.AppImageRegistries != nil {
		c := newAppImageRegistries(spec, deps, in)
		p.Checks = append(p.Checks, check.Planned{Checker: c, Inputs: c.inputs()})
	}
	p.Resolve = in.resolve
	return p, in
}

// PodLogs streams pod logs through the API server's pods/log subresource.
type PodLogs struct {
	Client kubernetes.Interface
}

// StreamLogs implements LogStreamer.
func (p PodLogs) StreamLogs(ctx context.Context, namespace, pod string, opts *corev1.PodLogOptions) (io.ReadCloser, error) {
	return p.Client.CoreV1().Pods(namespace).GetLogs(pod, opts).Stream(ctx)
}
