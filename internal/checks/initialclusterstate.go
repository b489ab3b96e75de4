package checks

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/clusterprobe"
	"github.com/paasdiag/paasdiag/internal/errorcodes"
	"github.com/paasdiag/paasdiag/internal/platformdb"
	"github.com/paasdiag/paasdiag/internal/release"
)

// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list

// InitialClusterState is step 2 of the 4313021 procedure: the bkpaas3 release's Helm
// hook Job that generates the initial cluster state must have succeeded and, as it
// swallows its errors, really labelled the app clusters' nodes.
type InitialClusterState struct {
	// reader reads Jobs, uncached: paasdiag does not keep every Job in memory.
	reader    client.Reader
	namespace string
	cfg       v1alpha1.InitialClusterStateCheck
	in        *inputs
}

var _ check.Checker = (*InitialClusterState)(nil)

func newInitialClusterState(cfg *v1alpha1.InitialClusterStateCheck, namespace string, deps Dependencies, in *inputs) *InitialClusterState {
	return &InitialClusterState{reader: deps.Reader, namespace: namespace, cfg: *cfg, in: in}
}

// Name implements check.Checker.
func (*InitialClusterState) Name() string { return "initial-cluster-state" }

// Condition implements check.Checker.
func (*InitialClusterState) Condition() string { return v1alpha1.ConditionInitialClusterStateReady }

// inputs are the workloads database (its migrations tell the release line, and on
// 1.7+ it holds the node state), the default database (the release line too), and
// with verifyNodeLabels the clusters whose nodes are read.
func (c *InitialClusterState) inputs() []check.Input {
	in := append(c.in.workloadsDSNInput(), c.in.defaultDSNInput()...)
	if c.cfg.VerifyNodeLabels {
		return append(in, c.in.clusterInputs()...)
	}
	if c.in.discover {
		in = append(in, c.in.keyInput()...)
	}
	return in
}

// Check implements check.Checker. What it judges follows the platform's release line:
// up to 1.6 the Helm hook Job (region_gen_state); from 1.7, where that command is
// gone and the admin console syncs node state, the recorded node state against the
// live nodes, as a warning without a code.
func (c *InitialClusterState) Check(ctx context.Context) check.Result {
	switch c.in.release.Line {
	case release.Line16:
		return c.checkJob(ctx)
	case release.Line17Plus:
		return c.checkNodeState(ctx)
	}
	msg := fmt.Sprintf("the platform's release line is unknown (%s): up to 1.6 this check judges the Job, from 1.7 the recorded node state, so it claims nothing; configure platformDatabase.workloadsDSNSecretRef with SELECT on django_migrations",
		c.in.release.Evidence)
	return check.Only(check.UnknownFinding("release", v1alpha1.ReasonReleaseLineUnknown, msg))
}

// checkJob judges the Helm hook Job (platform 1.6 and earlier).
func (c *InitialClusterState) checkJob(ctx context.Context) check.Result {
	code := errorcodes.Must(errorcodes.CannotGetClusterInfo)
	job, what, res := c.findJob(ctx)
	if job == nil {
		return res
	}
	name := "job/" + job.Name
	for _, cond := range job.Status.Conditions {
		if cond.Status != corev1.ConditionTrue {
			continue
		}
		switch cond.Type {
		case batchv1.JobFailed:
			msg := code.Message(fmt.Sprintf("%s failed (%s: %s); run helm upgrade of the bkpaas3 release to run it again", what, cond.Reason, cond.Message))
			return check.Only(check.ErrorFinding(name, v1alpha1.ReasonJobFailed, code.Number, msg))
		case batchv1.JobComplete:
			if !c.cfg.VerifyNodeLabels {
				return check.Result{Status: check.Pass, Reason: v1alpha1.ReasonSucceeded, Message: what + " succeeded"}
			}
			return c.verifyNodeLabels(ctx, what)
		}
	}
	msg := fmt.Sprintf("%s has not finished yet (%d active, %d failed pod(s))", what, job.Status.Active, job.Status.Failed)
	return check.Only(check.UnknownFinding(name, v1alpha1.ReasonJobRunning, msg))
}

// findJob gets the Job by name, or the newest Job the selector matches. With no Job,
// it returns the result to report.
func (c *InitialClusterState) findJob(ctx context.Context) (*batchv1.Job, string, check.Result) {
	namespace, cfg := c.namespace, &c.cfg
	code := errorcodes.Must(errorcodes.CannotGetClusterInfo)
	if cfg.JobSelector == nil {
		name := cfg.JobName
		if name == "" {
			name = v1alpha1.DefaultInitialClusterStateJobName
		}
		what := fmt.Sprintf("Job %s", name)
		var job batchv1.Job
		err := c.reader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, &job)
		switch {
		case apierrors.IsNotFound(err):
			return nil, what, check.Only(check.ErrorFinding("job/"+name, v1alpha1.ReasonJobMissing, code.Number, code.Message(fmt.Sprintf(
				"%s not found in namespace %s: the bkpaas3 release's hook has not run, or its Job was deleted; run helm upgrade of the release", what, namespace))))
		case err != nil:
			return nil, what, check.Only(check.UnknownFinding("job/"+name, v1alpha1.ReasonJobUnreadable, fmt.Sprintf("%s cannot be read: %v", what, err)))
		}
		return &job, what, check.Result{}
	}
	selector, err := metav1.LabelSelectorAsSelector(cfg.JobSelector)
	if err != nil {
		return nil, "", check.Only(check.UnknownFinding("job", v1alpha1.ReasonJobUnreadable, "initialClusterState.jobSelector is not valid: "+err.Error()))
	}
	var jobs batchv1.JobList
	if err := c.reader.List(ctx, &jobs, client.InNamespace(namespace), client.MatchingLabelsSelector{Selector: selector}); err != nil {
		return nil, "", check.Only(check.UnknownFinding("job", v1alpha1.ReasonJobUnreadable, fmt.Sprintf("Jobs matching %s cannot be listed: %v", selector, err)))
	}
	if len(jobs.Items) == 0 {
		return nil, "", check.Only(check.ErrorFinding("job", v1alpha1.ReasonJobMissing, code.Number, code.Message(fmt.Sprintf(
			"no Job in namespace %s matches %s: the bkpaas3 release's hook has not run; run helm upgrade of the release", namespace, selector))))
	}
	sort.Slice(jobs.Items, func(i, j int) bool {
		return jobs.Items[j].CreationTimestamp.Before(&jobs.Items[i].CreationTimestamp)
	})
	job := jobs.Items[0]
	return &job, fmt.Sprintf("Job %s", job.Name), check.Result{}
}

// verifyNodeLabels looks for the eng-cstate-* labels the Job writes on every node of
// every app cluster.
func (c *InitialClusterState) verifyNodeLabels(ctx context.Context, what string) check.Result {
	code := errorcodes.Must(errorcodes.CannotGetClusterInfo)
	inv := c.in.inventory(ctx, time.Now())
	res := check.Result{Status: check.Pass, Reason: v1alpha1.ReasonSucceeded, Findings: inv.discoveryFindings()}
	targets := inv.clusters
	var missing []string
	for _, ct := range targets {
		probed, unreadable := inv.nodesOf(ct)
		if probed == nil {
			res.Findings = append(res.Findings, unreadable)
			continue
		}
		if f := judgeLabels(what, ct.name, *probed); f != nil {
			if f.Severity == v1alpha1.SeverityError {
				missing = append(missing, ct.name)
			}
			res.Findings = append(res.Findings, *f)
		}
	}
	res.Conclude(check.Verdict{
		Fail:    code.Message(fmt.Sprintf("%s succeeded but wrote no state on cluster(s) %s", what, firstFew(missing))),
		Unknown: func(f check.Finding) string { return what + " succeeded; " + f.Message },
		Pass:    fmt.Sprintf("%s succeeded and the nodes of %d cluster(s) carry its labels", what, len(targets)),
	})
	return res
}

// judgeLabels (platform 1.6) judges one cluster's nodes after the Job succeeded: none
// of them labelled is 4313021 (the Job swallowed its errors), some unlabelled is a
// warning (they joined later). Masters are not among probed.Nodes.
func judgeLabels(what, cluster string, probed clusterprobe.Result) *check.Finding {
	code := errorcodes.Must(errorcodes.CannotGetClusterInfo)
	name := "cluster/" + cluster + "/nodes"
	switch {
	case len(probed.Nodes) > 0 && probed.NodesWithState == 0:
		f := check.ErrorFinding(name, v1alpha1.ReasonStateMissing, code.Number, code.Message(fmt.Sprintf("%s succeeded, but none of the %d node(s) of cluster %s carries an %s* label (masters left out, as the Job leaves them): the Job logs and swallows its errors (\"Unable to generate state\"); read its logs and run helm upgrade of the bkpaas3 release",
			what, len(probed.Nodes), cluster, clusterprobe.StateLabelPrefix)))
		return &f
	case probed.NodesWithState < len(probed.Nodes):
		f := check.WarningFinding(name, v1alpha1.ReasonStatePartial, "",
			fmt.Sprintf("%d of %d node(s) of cluster %s carry no %s* label: they joined after the Job ran (masters left out, as the Job leaves them)", len(probed.Nodes)-probed.NodesWithState, len(probed.Nodes), cluster, clusterprobe.StateLabelPrefix))
		return &f
	}
	return nil
}

// judgeNodeState (platform 1.7+) compares a cluster's newest recorded node state with
// its live nodes (masters left out). No state recorded is no finding: the platform
// needs one only for apps bound to fixed nodes, and syncing is an admin's choice.
func judgeNodeState(cluster string, st platformdb.ClusterState, recorded bool, nodes []string) *check.Finding {
	if !recorded {
		return nil
	}
	joined, left := diffNames(st.Nodes, nodes)
	if len(joined) == 0 && len(left) == 0 {
		return nil
	}
	f := check.WarningFinding("cluster/"+cluster+"/nodestate", v1alpha1.ReasonNodeStateNotSynced, "",
		fmt.Sprintf("the node state of cluster %s has not been synced since %s (%s): %s; sync the cluster's nodes in the admin console (plat_mgt: clusters, sync nodes)",
			cluster, st.Created.UTC().Format(time.RFC3339), st.Name, describeDiff(joined, left)))
	return &f
}

// checkNodeState (platform 1.7+) compares the newest node state the platform recorded
// for each cluster with the cluster's live nodes, masters left out as the platform
// leaves them out. The Job is not judged, whatever its state: its command is gone.
// A difference is a warning without a code, since the platform raises none for it.
func (c *InitialClusterState) checkNodeState(ctx context.Context) check.Result {
	if !c.in.workloadsDB.configured() {
		msg := "on platform 1.7+ the initial cluster state Job is not used; comparing the recorded node state needs settingsFrom or platformDatabase.workloadsDSNSecretRef"
		return check.Only(check.UnknownFinding("nodestate", v1alpha1.ReasonNodeStateUnreadable, msg))
	}
	conn, err := c.in.open(c.in.workloadsDB)
	var states map[string]platformdb.ClusterState
	if err == nil {
		err = conn.ReadOnly(ctx, func(tx *sql.Tx) error {
			var err error
			states, err = platformdb.ReadClusterStates(ctx, tx)
			return err
		})
	}
	if err != nil {
		r := check.Only(unknownFinding("database/workloads", err))
		r.Message = "the recorded node state cannot be read: " + r.Message
		return r
	}
	inv := c.in.inventory(ctx, time.Now())
	res := check.Result{Status: check.Pass, Reason: v1alpha1.ReasonSucceeded, Findings: inv.discoveryFindings()}
	targets := inv.clusters
	var stale, never []string
	for _, ct := range targets {
		probed, unreadable := inv.nodesOf(ct)
		if probed == nil {
			res.Findings = append(res.Findings, unreadable)
			continue
		}
		if probed.NodesTruncated {
			res.Findings = append(res.Findings, check.UnknownFinding("cluster/"+ct.name+"/nodestate", v1alpha1.ReasonNodesUnreadable,
				fmt.Sprintf("cluster %s has more nodes than paasdiag reads (%d): its node state is not compared", ct.name, len(probed.Nodes)+probed.NodesIgnored)))
			continue
		}
		st, recorded := states[ct.name]
		if !recorded {
			never = append(never, ct.name)
		}
		if f := judgeNodeState(ct.name, st, recorded, probed.Nodes); f != nil {
			stale = append(stale, ct.name)
			res.Findings = append(res.Findings, *f)
		}
	}
	verdict := check.Verdict{
		Unknown: func(f check.Finding) string { return "platform 1.7+: " + f.Message },
		Pass:    fmt.Sprintf("platform 1.7+: the Job is not used; the recorded node state of %d of %d cluster(s) matches their nodes", len(targets)-len(never), len(targets)),
	}
	if len(never) > 0 {
		verdict.Pass += fmt.Sprintf(" (never synced: %s)", firstFew(never))
	}
	if len(stale) > 0 {
		verdict.Pass = fmt.Sprintf("platform 1.7+: the recorded node state of cluster(s) %s is not in sync with their nodes (no error code; the Job is not used from 1.7)", firstFew(stale))
		verdict.PassReason = v1alpha1.ReasonNodeStateNotSynced
	}
	res.Conclude(verdict)
	return res
}

// diffNames returns the names in now but not in recorded (joined) and the reverse
// (left); both inputs are sorted.
func diffNames(recorded, now []string) (joined, left []string) {
	i, j := 0, 0
	for i < len(recorded) || j < len(now) {
		switch {
		case j == len(now) || (i < len(recorded) && recorded[i] < now[j]):
			left = append(left, recorded[i])
			i++
		case i == len(recorded) || now[j] < recorded[i]:
			joined = append(joined, now[j])
			j++
		default:
			i++
			j++
		}
	}
	return joined, left
}

// describeDiff says which nodes joined and left, naming at most five of each.
func describeDiff(joined, left []string) string {
	name := func(verb string, nodes []string) string {
		shown := nodes
		if len(shown) > 5 {
			shown = append(append([]string(nil), shown[:5]...), fmt.Sprintf("and %d more", len(nodes)-5))
		}
		return fmt.Sprintf("%d node(s) %s (%s)", len(nodes), verb, strings.Join(shown, ", "))
	}
	var parts []string
	if len(joined) > 0 {
		parts = append(parts, name("joined", joined))
	}
	if len(left) > 0 {
		parts = append(parts, name("left", left))
	}
	return strings.Join(parts, ", ")
}
