package checks

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/clusterprobe"
	"github.com/paasdiag/paasdiag/internal/errorcodes"
	"github.com/paasdiag/paasdiag/internal/release"
)

// Sources of a probed cluster.
const (
	sourceSpec       = "Spec"
	sourceDiscovered = "Discovered"
)

// ClusterReachability is step 1 of the 4313021 procedure: every API server of every app
// cluster must answer the platform's requests, with the platform's credentials, as
// cluster-admin.
type ClusterReachability struct {
	// reader lists the platform's apiserver pods, uncached, for RestartRequired.
	reader    client.Reader
	namespace string
	// podSelector selects the platform's apiserver pods; nil skips RestartRequired.
	podSelector *metav1.LabelSelector
	// expiryWarning is how long before a certificate expires it is warned about.
	expiryWarning time.Duration
	now           func() time.Time
	in            *inputs
}

var _ check.Checker = (*ClusterReachability)(nil)

func newClusterReachability(spec *v1alpha1.PaaSDiagnosisSpec, namespace string, deps Dependencies, in *inputs) *ClusterReachability {
	return &ClusterReachability{reader: deps.Reader, namespace: namespace, podSelector: spec.APIServerPodSelector,
		expiryWarning: spec.CertificateExpiryWarning.Duration, now: deps.Now, in: in}
}

// Name implements check.Checker.
func (*ClusterReachability) Name() string { return "cluster-reachability" }

// Condition implements check.Checker.
func (*ClusterReachability) Condition() string { return v1alpha1.ConditionClusterReachable }

// inputs are the clusters' credentials and what discovery reads.
func (c *ClusterReachability) inputs() []check.Input { return c.in.clusterInputs() }

// clusterTarget is one cluster to probe, from the spec or the platform's database.
type clusterTarget struct {
	name       string
	source     string
	apiServers []string
	creds      clusterprobe.Credentials
	// serverNames are per-API-server names to connect with (platform 1.6's
	// overridden_hostname), by URL.
	serverNames map[string]string
	// updated is when the platform's row last changed (discovered clusters only).
	updated time.Time
}

// probedServer is the result of probing one API server of a cluster.
type probedServer struct {
	cluster *clusterTarget
	result  clusterprobe.Result
}

// Check implements check.Checker.
func (c *ClusterReachability) Check(ctx context.Context) check.Result {
	now := time.Now()
	if c.now != nil {
		now = c.now()
	}
	inv := c.in.inventory(ctx, now)
	res := check.Result{Status: check.Pass, Reason: v1alpha1.ReasonSucceeded, Findings: inv.discoveryFindings()}
	if c.pods() != nil && c.reader != nil {
		res.Findings = append(res.Findings, c.restartFindings(ctx, inv.clusters)...)
	}
	judgeClusters(&res, inv.clusters, inv.probed, now, c.expiryWarning)
	return res
}

// pods selects the platform's apiserver pods: apiServerPodSelector, else the
// settingsFrom Deployment's selector, else nil (RestartRequired is not judged).
func (c *ClusterReachability) pods() *metav1.LabelSelector {
	if c.podSelector != nil {
		return c.podSelector
	}
	return c.in.apiServerPods
}

// restartFindings warns about discovered clusters that changed after some of the
// platform's apiserver pods started: on platform 1.6 and earlier those processes still
// use the old configuration until restarted (the note under step 1 of 4313021).
//
// Only on 1.6 is the code claimed; with the release line unknown the warning carries
// no code and says on which lines it holds.
func (c *ClusterReachability) restartFindings(ctx context.Context, targets []*clusterTarget) []check.Finding {
	namespace, sel, rel := c.namespace, c.pods(), c.in.release
	if rel.Line == release.Line17Plus {
		// From 1.7 the platform drops its cached clusters itself when one changes
		// (_GlobalConfigLastModified): no restart is needed, nothing to warn about.
		return nil
	}
	code := errorcodes.Must(errorcodes.CannotGetClusterInfo)
	selector, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return []check.Finding{check.UnknownFinding("apiserver-pods", v1alpha1.ReasonPodsUnreadable, "apiServerPodSelector is not valid: "+err.Error())}
	}
	var pods corev1.PodList
	if err := c.reader.List(ctx, &pods, client.InNamespace(namespace), client.MatchingLabelsSelector{Selector: selector}); err != nil {
		return []check.Finding{check.UnknownFinding("apiserver-pods", v1alpha1.ReasonPodsUnreadable,
			fmt.Sprintf("the platform's apiserver pods (%s) cannot be listed: %v", selector, err))}
	}
	var out []check.Finding
	for _, ct := range targets {
		if ct.source != sourceDiscovered || ct.updated.IsZero() {
			continue
		}
		var stale []string
		for _, p := range pods.Items {
			started := p.CreationTimestamp.Time
			if p.Status.StartTime != nil {
				started = p.Status.StartTime.Time
			}
			// Pod times have a second's resolution: only a change a second or more
			// after the start is certainly missed by the process.
			if started.Add(time.Second).Before(ct.updated) {
				stale = append(stale, p.Name)
			}
		}
		if len(stale) == 0 {
			continue
		}
		sort.Strings(stale)
		if len(stale) > 5 {
			stale = append(stale[:5], fmt.Sprintf("and %d more", len(stale)-5))
		}
		msg := fmt.Sprintf("cluster %s changed at %s, after these apiserver pods started: %s; on platform 1.6 and earlier they keep the old configuration until every apiserver process is restarted",
			ct.name, ct.updated.UTC().Format(time.RFC3339), strings.Join(stale, ", "))
		if rel.Line != release.Line16 {
			out = append(out, check.WarningFinding("cluster/"+ct.name, v1alpha1.ReasonRestartRequired, "",
				msg+fmt.Sprintf(" (the release line is unknown: %s; from 1.7 no restart is needed)", rel.Evidence)))
			continue
		}
		out = append(out, check.WarningFinding("cluster/"+ct.name, v1alpha1.ReasonRestartRequired, code.Number, code.Predicted(msg)))
	}
	return out
}

// resolveClusters lists the clusters to probe: the spec's and, with discoverClusters,
// the platform's. What discovery could not read is returned as findings.
func (in *inputs) resolveClusters(ctx context.Context) ([]*clusterTarget, []check.Finding) {
	var targets []*clusterTarget
	var findings []check.Finding
	for _, sc := range in.specClusters {
		ct := &clusterTarget{name: sc.Name, source: sourceSpec, creds: in.credentials[sc.Name]}
		for _, u := range sc.APIServers {
			ct.apiServers = append(ct.apiServers, string(u))
		}
		targets = append(targets, ct)
	}
	if in.discover {
		discovered, found, err := in.discoverClusters(ctx)
		if err != nil {
			findings = append(findings, unknownFinding("database/workloads", err))
		}
		findings = append(findings, found...)
		targets = append(targets, discovered...)
	}
	return targets, findings
}

// probeAll probes every API server of every cluster in parallel (maxParallel at a
// time), each under ctx.
func probeAll(ctx context.Context, targets []*clusterTarget, now time.Time) []probedServer {
	var out []probedServer
	for _, ct := range targets {
		for _, u := range ct.apiServers {
			out = append(out, probedServer{cluster: ct, result: clusterprobe.Result{URL: u}})
		}
	}
	parallel(len(out), maxParallel, func(i int) {
		creds := out[i].cluster.creds
		if name := out[i].cluster.serverNames[out[i].result.URL]; name != "" {
			creds.ServerName = name
		}
		out[i].result = clusterprobe.Probe(ctx, out[i].result.URL, creds, now)
	})
	return out
}

// judgeClusters turns the probes into findings, per-API-server status and a verdict.
func judgeClusters(res *check.Result, targets []*clusterTarget, probed []probedServer, now time.Time, window time.Duration) {
	code := errorcodes.Must(errorcodes.CannotGetClusterInfo)
	index := map[*clusterTarget]int{}
	var failed, partial []string
	partialReason := ""
	clusters := make([]v1alpha1.ClusterStatus, 0, len(targets))
	for i, ct := range targets {
		index[ct] = i
		clusters = append(clusters, v1alpha1.ClusterStatus{Name: ct.name, Source: ct.source})
		name := "cluster/" + ct.name
		if len(ct.apiServers) == 0 {
			failed = append(failed, ct.name+": no API servers")
			res.Findings = append(res.Findings, check.ErrorFinding(name, v1alpha1.ReasonNoAPIServers, code.Number,
				code.Message(fmt.Sprintf("cluster %s has no API server configured", ct.name))))
		}
		if len(ct.creds.CA) == 0 {
			res.Findings = append(res.Findings, check.WarningFinding(name, v1alpha1.ReasonTLSNotVerified, "",
				fmt.Sprintf("cluster %s has no CA (ca.crt / ca_data): the platform connects without verifying its API servers' certificates", ct.name)))
		}
		if ct.creds.HalfPair() {
			res.Findings = append(res.Findings, check.WarningFinding(name, v1alpha1.ReasonClientCertIgnored, "",
				fmt.Sprintf("cluster %s has a client certificate without its key, or a key without its certificate: the platform ignores both and authenticates with the token alone, and so does paasdiag", ct.name)))
		}
		if exp := ct.creds.ClientCertNotAfter(); exp != nil && expiresWithin(*exp, now, window) {
			res.Findings = append(res.Findings, expiring(code, name, "the client certificate of cluster "+ct.name, *exp))
		}
		if exp := ct.creds.CANotAfter(); exp != nil && expiresWithin(*exp, now, window) {
			res.Findings = append(res.Findings, expiring(code, name, "the CA certificate of cluster "+ct.name, *exp))
		}
	}
	failing := map[*clusterTarget]int{}
	for _, p := range probed {
		if !p.result.OK && !p.result.NodesListed {
			failing[p.cluster]++
		}
	}
	for _, p := range probed {
		r := p.result
		st := &clusters[index[p.cluster]]
		st.APIServers = append(st.APIServers, v1alpha1.APIServerStatus{
			URL: r.URL, Reachable: r.Reachable, Reason: r.Reason, ServerVersion: r.ServerVersion,
			Latency:                    &metav1.Duration{Duration: r.Latency.Round(time.Millisecond)},
			ServingCertificateNotAfter: metaTime(r.ServingNotAfter),
			ClientCertificateNotAfter:  metaTime(p.cluster.creds.ClientCertNotAfter()),
		})
		name := "cluster/" + p.cluster.name + "/" + r.URL
		switch {
		case !r.OK && r.NodesListed:
			// The platform's 4313021 path lists Nodes, and that works: what fails after it
			// (Namespaces, cluster-admin) breaks deploys elsewhere, without this code.
			partial = append(partial, fmt.Sprintf("%s %s: %s", p.cluster.name, r.URL, r.Reason))
			if partialReason == "" {
				partialReason = r.Reason
			}
			res.Findings = append(res.Findings, check.WarningFinding(name, r.Reason, code.Number,
				code.Related(fmt.Sprintf("cluster %s, API server %s: %s; listing Nodes works, so add-on provisioning gets the cluster's egress info, but deploys fail where the platform creates namespaces and workloads",
					p.cluster.name, r.URL, r.Message))))
		case !r.OK:
			failed = append(failed, fmt.Sprintf("%s %s: %s", p.cluster.name, r.URL, r.Reason))
			res.Findings = append(res.Findings, check.ErrorFinding(name, r.Reason, code.Number,
				code.Message(fmt.Sprintf("cluster %s, API server %s: %s%s", p.cluster.name, r.URL, r.Message,
					failoverNote(r.Reason, failing[p.cluster], len(p.cluster.apiServers))))))
		}
		if r.ServingNotAfter != nil && r.Verified && expiresWithin(*r.ServingNotAfter, now, window) {
			res.Findings = append(res.Findings, expiring(code, name, "the serving certificate of "+r.URL, *r.ServingNotAfter))
		}
	}
	total := len(probed)
	failingServers := 0 // API servers whose Nodes the platform cannot list: Errors
	for _, p := range probed {
		if !p.result.OK && !p.result.NodesListed {
			failingServers++
		}
	}
	res.Details = func(s *v1alpha1.PaaSDiagnosisStatus) {
		s.Clusters = append(s.Clusters, clusters...)
		if s.Summary != nil {
			s.Summary.ClustersChecked += int32(len(targets))
			s.Summary.ClustersFailing += int32(failingClusters(clusters))
			s.Summary.APIServersChecked += int32(total)
			s.Summary.APIServersFailing += int32(failingServers)
		}
	}

	pass := fmt.Sprintf("%d API server(s) of %d cluster(s) answer the platform's requests as cluster-admin", total, len(targets))
	if total == 0 {
		pass = "no app cluster to probe"
	}
	if len(partial) > 0 {
		pass = fmt.Sprintf("%d API server(s) of %d cluster(s) list Nodes as the platform does; %d of them fail further requests a deploy makes: %s",
			total, len(targets), len(partial), firstFewOf(partial, "; "))
	}
	res.Conclude(check.Verdict{
		PassReason: partialReason,
		Fail:       failMessage(res.Findings, failed, total),
		Unknown: func(f check.Finding) string {
			return fmt.Sprintf("%d API server(s) answer, but the platform's clusters could not be discovered: %s", total, f.Message)
		},
		Pass: pass,
	})
}

// failMessage is the check's message when it fails: the API servers that failed, and
// the Errors found before any probe (a missing cluster, credentials the platform
// cannot use, a broken client pool), which name no API server.
func failMessage(findings []check.Finding, failed []string, total int) string {
	code := errorcodes.Must(errorcodes.CannotGetClusterInfo)
	var others []check.Finding
	for _, f := range findings {
		probe := strings.HasPrefix(f.Check, "cluster/") && strings.Count(f.Check, "/") > 1 // cluster/<name>/<URL>
		if f.Severity == v1alpha1.SeverityError && !probe && f.Reason != v1alpha1.ReasonNoAPIServers {
			others = append(others, f)
		}
	}
	if len(failed) == 0 && len(others) > 0 {
		msg := others[0].Message
		if len(others) > 1 {
			msg += fmt.Sprintf(" (and %d more error finding(s) in status.findings)", len(others)-1)
		}
		return msg
	}
	msg := code.Message(fmt.Sprintf("%d of %d API server(s) failed: %s", len(failed), total, firstFewOf(failed, "; ")))
	if len(others) > 0 {
		msg += fmt.Sprintf("; and %d error finding(s) that name no API server, the first: %s", len(others), strings.TrimPrefix(others[0].Message, code.Message("")+": "))
	}
	return msg
}

// failingClusters counts the clusters the platform cannot fully use: one with no API
// server, or with an API server that is not reachable.
func failingClusters(clusters []v1alpha1.ClusterStatus) int {
	n := 0
	for _, c := range clusters {
		failing := len(c.APIServers) == 0
		for _, a := range c.APIServers {
			failing = failing || !a.Reachable
		}
		if failing {
			n++
		}
	}
	return n
}

// connectionReasons are the failures the platform's client sees as a urllib3 error:
// the only ones its endpoint pool counts against a server.
var connectionReasons = map[string]bool{
	v1alpha1.ReasonDNSError: true, v1alpha1.ReasonConnectionRefused: true, v1alpha1.ReasonConnectionFailed: true,
	v1alpha1.ReasonTimeout: true, v1alpha1.ReasonTLSUnknownAuthority: true, v1alpha1.ReasonTLSHostnameMismatch: true,
	v1alpha1.ReasonCertificateExpired: true,
}

// failoverNote says what a failing API server among several costs, as the platform's
// client fails over (EnhancedApiClient over blue-krill's HAEndpointPool): each request
// goes to the healthy server with the best score, ties broken at random, and is not
// retried elsewhere. A connection failure fails that request and costs the server 50
// points, so healthy servers (100 and up) are picked from then on, and 3 failures
// bench it for 20 s. An HTTP error (401, 403, 5xx) fails the request and changes no
// score, so the server keeps its chance until a request succeeds elsewhere.
func failoverNote(reason string, failing, servers int) string {
	if servers < 2 {
		return ""
	}
	if failing >= servers {
		return fmt.Sprintf("; all %d API servers fail: every request fails", servers)
	}
	if connectionReasons[reason] {
		return fmt.Sprintf("; %d of the cluster's %d API servers fail: the first request of each platform process picks a failing one with a chance of about %d/%d and fails, after which its score keeps it out (3 connection failures bench a server for 20 s)",
			failing, servers, failing, servers)
	}
	return fmt.Sprintf("; an HTTP error does not lower a server's score in the platform's client: until a request succeeds on another server, each request picks one of the %d failing with a chance of about %d/%d and fails",
		failing, failing, servers)
}

func expiring(code errorcodes.Code, subject, what string, exp time.Time) check.Finding {
	return check.WarningFinding(subject, v1alpha1.ReasonCertificateExpiring, code.Number,
		code.Predicted(fmt.Sprintf("%s expires on %s: the platform will fail to reach the cluster then", what, exp.UTC().Format(time.RFC3339))))
}

// expiresWithin reports whether a certificate that is still valid expires within the
// window. An expired one is a failure the probe reports, not a warning.
func expiresWithin(notAfter, now time.Time, window time.Duration) bool {
	return notAfter.After(now) && notAfter.Sub(now) < window
}

func metaTime(t *time.Time) *metav1.Time {
	if t == nil {
		return nil
	}
	m := metav1.NewTime(t.UTC())
	return &m
}
