// Package checks holds every check paasdiag runs, one file each; each implements
// check.Checker, and a diagnosis runs the ones its spec enables.
package checks

import (
	"context"
	"io"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

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
}

// All returns one instance of every check, in the order of the 4313021 and 4313022
// troubleshooting steps.
func All(deps Dependencies) []check.Checker {
	return []check.Checker{
		ClusterReachability{Databases: deps.Databases, Reader: deps.Reader},
		InitialClusterState{Reader: deps.Reader, Databases: deps.Databases},
		WorkerLogs{Reader: deps.Reader, Logs: deps.Logs},
		InstancePools{Databases: deps.Databases},
	}
}

// PodLogs streams pod logs through the API server's pods/log subresource.
type PodLogs struct {
	Client kubernetes.Interface
}

// StreamLogs implements LogStreamer.
func (p PodLogs) StreamLogs(ctx context.Context, namespace, pod string, opts *corev1.PodLogOptions) (io.ReadCloser, error) {
	return p.Client.CoreV1().Pods(namespace).GetLogs(pod, opts).Stream(ctx)
}
