package checks

import (
	"context"
	"fmt"
	"time"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/clusterprobe"
)

// inventory is one evaluation's app clusters: the spec's and the discovered ones, with
// their credentials, and one probe of each API server. Every check that needs a
// cluster reads it from here, so each cluster is read from the database, decrypted
// and probed once per evaluation, whichever checks ask.
type inventory struct {
	clusters []*clusterTarget
	// findings are what discovery could not read (Unknown findings); shared, so a check
	// copies them before adding its own.
	findings []check.Finding
	probed   []probedServer
}

// inventory returns the evaluation's inventory, building it on first use: the clusters
// resolved, then every API server probed in parallel under ctx. The checks of one
// evaluation share one deadline, so the first caller's context serves them all.
func (in *inputs) inventory(ctx context.Context, now time.Time) *inventory {
	in.inventoryOnce.Do(func() {
		targets, findings := in.resolveClusters(ctx)
		in.inv = &inventory{clusters: targets, findings: findings, probed: probeAll(ctx, targets, now)}
	})
	return in.inv
}

// discoveryFindings is a copy of the findings of discovery, for a check's result.
func (inv *inventory) discoveryFindings() []check.Finding {
	return append([]check.Finding(nil), inv.findings...)
}

// nodesOf returns the probe of the cluster's first API server that answered, which
// lists its Nodes; with none, the Unknown finding to report.
func (inv *inventory) nodesOf(ct *clusterTarget) (*clusterprobe.Result, check.Finding) {
	last := clusterprobe.Result{Reason: v1alpha1.ReasonNoAPIServers}
	for i := range inv.probed {
		p := &inv.probed[i]
		if p.cluster != ct {
			continue
		}
		if p.result.NodesListed {
			return &p.result, check.Finding{}
		}
		last = p.result
	}
	return nil, check.UnknownFinding("cluster/"+ct.name+"/nodes", v1alpha1.ReasonNodesUnreadable,
		fmt.Sprintf("the nodes of cluster %s cannot be read (%s), see ClusterReachable", ct.name, last.Reason))
}
