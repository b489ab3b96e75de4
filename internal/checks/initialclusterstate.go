package checks

import (
	"context"
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
)

// Reasons of the initial cluster state check.
const (
	ReasonJobMissing    = "JobMissing"
	ReasonJobFailed     = "JobFailed"
	ReasonJobRunning    = "JobRunning"
	ReasonJobUnreadable = "JobUnreadable"
	// ReasonStateMissing: the Job succeeded but the nodes carry no eng-cstate-* label:
	// it logs and swallows its errors, so success proves nothing.
	ReasonStateMissing = "StateMissing"
	// ReasonStatePartial: some nodes lack the label (added after the Job ran).
	ReasonStatePartial = "StatePartial"
	// ReasonNodesUnreadable: no API server of a cluster answered, so the labels could
	// not be checked; ClusterReachable says why.
	ReasonNodesUnreadable = "NodesUnreadable"
)

// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list

// InitialClusterState is step 2 of the 4313021 procedure: the bkpaas3 release's Helm
// hook Job that generates the initial cluster state must have succeeded and, as it
// swallows its errors, really labelled the app clusters' nodes.
type InitialClusterState struct {
	// Reader reads Jobs, uncached: paasdiag does not keep every Job in memory.
	Reader client.Reader
	// Databases holds the diagnoses' connection pools, for cluster discovery.
	Databases *platformdb.Pools
}

var _ check.Checker = InitialClusterState{}

// Name implements check.Checker.
func (InitialClusterState) Name() string { return "initial-cluster-state" }

// Condition implements check.Checker.
func (InitialClusterState) Condition() string { return v1alpha1.ConditionInitialClusterStateReady }

// Enabled implements check.Checker.
func (InitialClusterState) Enabled(spec *v1alpha1.PaaSDiagnosisSpec) bool {
	return spec.InitialClusterState != nil
}

// Check implements check.Checker.
func (c InitialClusterState) Check(ctx context.Context, t check.Target) check.Result {
	code := errorcodes.Must(errorcodes.CannotGetClusterInfo)
	cfg := t.Diagnosis.Spec.InitialClusterState
	job, what, res := c.findJob(ctx, t.Diagnosis.Namespace, cfg)
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
			return failed(name, ReasonJobFailed, msg, code)
		case batchv1.JobComplete:
			if !cfg.VerifyNodeLabels {
				return check.Result{Status: check.Pass, Reason: v1alpha1.ReasonSucceeded, Message: what + " succeeded"}
			}
			return c.verifyNodeLabels(ctx, t, what)
		}
	}
	msg := fmt.Sprintf("%s has not finished yet (%d active, %d failed pod(s))", what, job.Status.Active, job.Status.Failed)
	return check.Result{Status: check.Unknown, Reason: ReasonJobRunning, Message: msg,
		Findings: []check.Finding{{Check: name, Severity: v1alpha1.SeverityUnknown, Reason: ReasonJobRunning, Message: msg}}}
}

// findJob gets the Job by name, or the newest Job the selector matches. With no Job,
// it returns the result to report.
func (c InitialClusterState) findJob(ctx context.Context, namespace string, cfg *v1alpha1.InitialClusterStateCheck) (*batchv1.Job, string, check.Result) {
	code := errorcodes.Must(errorcodes.CannotGetClusterInfo)
	if cfg.JobSelector == nil {
		name := cfg.JobName
		if name == "" {
			name = v1alpha1.DefaultInitialClusterStateJobName
		}
		what := fmt.Sprintf("Job %s", name)
		var job batchv1.Job
		err := c.Reader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, &job)
		switch {
		case apierrors.IsNotFound(err):
			return nil, what, failed("job/"+name, ReasonJobMissing, code.Message(fmt.Sprintf(
				"%s not found in namespace %s: the bkpaas3 release's hook has not run, or its Job was deleted; run helm upgrade of the release", what, namespace)), code)
		case err != nil:
			return nil, what, unreadable("job/"+name, fmt.Sprintf("%s cannot be read: %v", what, err))
		}
		return &job, what, check.Result{}
	}
	selector, err := metav1.LabelSelectorAsSelector(cfg.JobSelector)
	if err != nil {
		return nil, "", unreadable("job", "initialClusterState.jobSelector is not valid: "+err.Error())
	}
	var jobs batchv1.JobList
	if err := c.Reader.List(ctx, &jobs, client.InNamespace(namespace), client.MatchingLabelsSelector{Selector: selector}); err != nil {
		return nil, "", unreadable("job", fmt.Sprintf("Jobs matching %s cannot be listed: %v", selector, err))
	}
	if len(jobs.Items) == 0 {
		return nil, "", failed("job", ReasonJobMissing, code.Message(fmt.Sprintf(
			"no Job in namespace %s matches %s: the bkpaas3 release's hook has not run; run helm upgrade of the release", namespace, selector)), code)
	}
	sort.Slice(jobs.Items, func(i, j int) bool {
		return jobs.Items[j].CreationTimestamp.Before(&jobs.Items[i].CreationTimestamp)
	})
	job := jobs.Items[0]
	return &job, fmt.Sprintf("Job %s", job.Name), check.Result{}
}

// verifyNodeLabels looks for the eng-cstate-* labels the Job writes on every node of
// every app cluster.
func (c InitialClusterState) verifyNodeLabels(ctx context.Context, t check.Target, what string) check.Result {
	code := errorcodes.Must(errorcodes.CannotGetClusterInfo)
	targets, res := resolveClusters(ctx, t, c.Databases)
	var missing, partial []string
	now := time.Now()
	for _, ct := range targets {
		name := "cluster/" + ct.name + "/nodes"
		var probed *clusterprobe.Result
		var last clusterprobe.Result
		for _, server := range ct.apiServers {
			last = clusterprobe.Probe(ctx, server, ct.creds, now)
			if last.Reachable {
				probed = &last
				break
			}
		}
		switch {
		case probed == nil:
			res.Findings = append(res.Findings, check.Finding{Check: name, Severity: v1alpha1.SeverityUnknown, Reason: ReasonNodesUnreadable,
				Message: fmt.Sprintf("the nodes of cluster %s cannot be read (%s), see ClusterReachable", ct.name, last.Reason)})
		case probed.Nodes > 0 && probed.NodesWithState == 0:
			missing = append(missing, ct.name)
			res.Findings = append(res.Findings, check.Finding{Check: name, Severity: v1alpha1.SeverityError, Code: code.Number, Reason: ReasonStateMissing,
				Message: code.Message(fmt.Sprintf("%s succeeded, but none of the %d node(s) of cluster %s carries an %s* label: the Job logs and swallows its errors (\"Unable to generate state\"); read its logs and run helm upgrade of the bkpaas3 release",
					what, probed.Nodes, ct.name, clusterprobe.StateLabelPrefix))})
		case probed.NodesWithState < probed.Nodes:
			partial = append(partial, ct.name)
			res.Findings = append(res.Findings, check.Finding{Check: name, Severity: v1alpha1.SeverityWarning, Reason: ReasonStatePartial,
				Message: fmt.Sprintf("%d of %d node(s) of cluster %s carry no %s* label: they joined after the Job ran", probed.Nodes-probed.NodesWithState, probed.Nodes, ct.name, clusterprobe.StateLabelPrefix)})
		}
	}
	switch {
	case len(missing) > 0:
		res.Status, res.Reason = check.Fail, ReasonStateMissing
		res.Message = code.Message(fmt.Sprintf("%s succeeded but wrote no state on cluster(s) %s", what, strings.Join(missing, ", ")))
	case hasUnknown(res.Findings):
		f := first(res.Findings, v1alpha1.SeverityUnknown)
		res.Status, res.Reason, res.Message = check.Unknown, f.Reason, what+" succeeded; "+f.Message
	default:
		res.Status, res.Reason = check.Pass, v1alpha1.ReasonSucceeded
		res.Message = fmt.Sprintf("%s succeeded and the nodes of %d cluster(s) carry its labels", what, len(targets))
	}
	return res
}

func failed(name, reason, message string, code errorcodes.Code) check.Result {
	return check.Result{Status: check.Fail, Reason: reason, Message: message,
		Findings: []check.Finding{{Check: name, Severity: v1alpha1.SeverityError, Code: code.Number, Reason: reason, Message: message}}}
}

func unreadable(name, message string) check.Result {
	return check.Result{Status: check.Unknown, Reason: ReasonJobUnreadable, Message: message,
		Findings: []check.Finding{{Check: name, Severity: v1alpha1.SeverityUnknown, Reason: ReasonJobUnreadable, Message: message}}}
}
