package controllers

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/check"
)

// staticChecker is a pure test check for the status setters.
type staticChecker struct{ condition string }

func (s staticChecker) Name() string                       { return s.condition }
func (s staticChecker) Condition() string                  { return s.condition }
func (s staticChecker) Check(context.Context) check.Result { return check.Result{} }

var (
	clusterCheck = staticChecker{v1alpha1.ConditionClusterReachable}
	poolCheck    = staticChecker{v1alpha1.ConditionInstancePoolAvailable}
)

func outcome(c check.Checker, r check.Result) check.Outcome {
	return check.Outcome{Checker: c, Result: r}
}

func poolEmpty() check.Result {
	return check.Result{Status: check.Fail, Reason: "PoolEmpty", Message: "redis/0shared has no available instance",
		Findings: []check.Finding{{Check: "pool/redis/0shared", Severity: v1alpha1.SeverityError, Code: "4313022", Reason: "PoolEmpty", Message: "[4313022] 资源池为空: redis/0shared"}}}
}

func TestSetInitialConditions(t *testing.T) {
	d := &v1alpha1.PaaSDiagnosis{ObjectMeta: metav1.ObjectMeta{Generation: 3}}
	d.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionWorkerLogsClean, Status: metav1.ConditionTrue, Reason: "Succeeded"}}
	setInitialConditions(d, []check.Checker{clusterCheck, poolCheck})

	var types []string
	for _, c := range d.Status.Conditions {
		types = append(types, c.Type)
		if c.ObservedGeneration != 3 {
			t.Errorf("%s: observedGeneration %d, want 3", c.Type, c.ObservedGeneration)
		}
		want := metav1.ConditionUnknown
		if c.Type == v1alpha1.ConditionStalled {
			want = metav1.ConditionFalse
		}
		if c.Status != want || c.Reason != v1alpha1.ReasonEvaluating {
			t.Errorf("%s: %s/%s, want %s/Evaluating", c.Type, c.Status, c.Reason, want)
		}
	}
	if got, want := strings.Join(types, ","), "Ready,Stalled,ClusterReachable,InstancePoolAvailable"; got != want {
		t.Errorf("conditions %s, want %s (a disabled check's condition must go)", got, want)
	}
}

func TestSetEvaluated(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC))
	t1 := metav1.NewTime(t0.Add(time.Minute))
	unknown := check.Result{Status: check.Unknown, Reason: "DatabaseUnreachable", Message: "cannot connect",
		Findings: []check.Finding{{Check: "database/default", Severity: v1alpha1.SeverityUnknown, Reason: "DatabaseUnreachable", Message: "dial tcp: refused"}}}
	warning := check.Result{Status: check.Pass, Reason: "Succeeded", Message: "ok",
		Findings: []check.Finding{{Check: "pool/redis/1exclusive", Severity: v1alpha1.SeverityWarning, Code: "4313022", Reason: "PoolLow", Message: "1 left"}}}

	tests := []struct {
		name        string
		outcomes    []check.Outcome
		wantReady   metav1.ConditionStatus
		wantReason  string
		wantCodes   string
		wantFinding int
	}{
		{"all pass", []check.Outcome{outcome(clusterCheck, check.Result{Status: check.Pass, Reason: "Succeeded"}), outcome(poolCheck, check.Result{Status: check.Pass, Reason: "Succeeded"})},
			metav1.ConditionTrue, "Succeeded", "", 0},
		{"pool empty", []check.Outcome{outcome(clusterCheck, check.Result{Status: check.Pass, Reason: "Succeeded"}), outcome(poolCheck, poolEmpty())},
			metav1.ConditionFalse, "PoolEmpty", "4313022", 1},
		{"failure outranks unknown", []check.Outcome{outcome(clusterCheck, unknown), outcome(poolCheck, poolEmpty())},
			metav1.ConditionFalse, "PoolEmpty", "4313022", 2},
		{"unknown is not failure and claims no code", []check.Outcome{outcome(clusterCheck, check.Result{Status: check.Pass, Reason: "Succeeded"}), outcome(poolCheck, unknown)},
			metav1.ConditionUnknown, "DatabaseUnreachable", "", 1},
		{"a warning keeps Ready true and claims no code", []check.Outcome{outcome(poolCheck, warning)},
			metav1.ConditionTrue, "Succeeded", "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &v1alpha1.PaaSDiagnosis{ObjectMeta: metav1.ObjectMeta{Generation: 2}}
			setInitialConditions(d, []check.Checker{clusterCheck, poolCheck})
			setEvaluated(d, tt.outcomes, nil, t0)
			ready := meta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionReady)
			if ready.Status != tt.wantReady || ready.Reason != tt.wantReason {
				t.Errorf("Ready %s/%s, want %s/%s (%s)", ready.Status, ready.Reason, tt.wantReady, tt.wantReason, ready.Message)
			}
			if d.Status.CodeSummary != tt.wantCodes {
				t.Errorf("codes %q, want %q", d.Status.CodeSummary, tt.wantCodes)
			}
			if len(d.Status.Findings) != tt.wantFinding {
				t.Errorf("%d findings, want %d", len(d.Status.Findings), tt.wantFinding)
			}
			if d.Status.ObservedGeneration != 2 || d.Status.LastEvaluationTime == nil || !d.Status.LastEvaluationTime.Equal(&t0) {
				t.Errorf("observedGeneration %d, lastEvaluationTime %v", d.Status.ObservedGeneration, d.Status.LastEvaluationTime)
			}
			if s := meta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionStalled); s.Status != metav1.ConditionFalse {
				t.Errorf("Stalled %s after an evaluation", s.Status)
			}
			assertInvariants(t, d)
		})
	}

	t.Run("a finding keeps its first sighting", func(t *testing.T) {
		d := &v1alpha1.PaaSDiagnosis{}
		setEvaluated(d, []check.Outcome{outcome(poolCheck, poolEmpty())}, nil, t0)
		setEvaluated(d, []check.Outcome{outcome(poolCheck, poolEmpty())}, nil, t1)
		if f := d.Status.Findings[0]; !f.Since.Equal(&t0) || f.Remediation == "" {
			t.Errorf("since %v (want %v), remediation %q", f.Since, t0, f.Remediation)
		}
	})

	t.Run("findings are bounded and most severe first", func(t *testing.T) {
		var many []check.Finding
		for i := 0; i < 150; i++ {
			many = append(many, check.Finding{Check: "w", Severity: v1alpha1.SeverityWarning, Reason: "Low", Message: strings.Repeat("x", 5000)})
		}
		r := poolEmpty()
		r.Findings = append(many, r.Findings...)
		d := &v1alpha1.PaaSDiagnosis{}
		setEvaluated(d, []check.Outcome{outcome(poolCheck, r)}, nil, t0)
		if len(d.Status.Findings) != v1alpha1.MaxStatusFindings || d.Status.Findings[0].Severity != v1alpha1.SeverityError {
			t.Errorf("%d findings, first %s", len(d.Status.Findings), d.Status.Findings[0].Severity)
		}
		if len(d.Status.Findings[1].Message) > v1alpha1.MaxMessageLength {
			t.Errorf("message of %d bytes", len(d.Status.Findings[1].Message))
		}
		if d.Status.CodeSummary != "4313022" {
			t.Errorf("codes %q", d.Status.CodeSummary)
		}
	})
}

func TestSetEvaluatedStalled(t *testing.T) {
	d := &v1alpha1.PaaSDiagnosis{ObjectMeta: metav1.ObjectMeta{Generation: 4}}
	setInitialConditions(d, []check.Checker{clusterCheck})
	blocked := check.Result{Status: check.Unknown, Reason: v1alpha1.ReasonSecretNotFound, Message: `Secret "x" not found`}
	stall := &stallError{reason: v1alpha1.ReasonSecretNotFound, message: `Secret "x" not found`}
	setEvaluated(d, []check.Outcome{outcome(clusterCheck, blocked)}, stall, metav1.Now())
	before := d.DeepCopy()
	setEvaluated(d, []check.Outcome{outcome(clusterCheck, blocked)}, stall, before.Status.Conditions[0].LastTransitionTime)
	for i, c := range d.Status.Conditions {
		if !c.LastTransitionTime.Equal(&before.Status.Conditions[i].LastTransitionTime) {
			t.Errorf("%s changed its transition time while nothing changed", c.Type)
		}
	}
	if c := meta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionClusterReachable); c.Status != metav1.ConditionUnknown {
		t.Errorf("the blocked check's condition is %s, want Unknown", c.Status)
	}
	for _, typ := range []string{v1alpha1.ConditionStalled, v1alpha1.ConditionReady} {
		c := meta.FindStatusCondition(d.Status.Conditions, typ)
		if c.Reason != v1alpha1.ReasonSecretNotFound || c.Message != `Secret "x" not found` {
			t.Errorf("%s: %s %q", typ, c.Reason, c.Message)
		}
	}
	assertInvariants(t, d)
}

func TestTruncateKeepsUTF8(t *testing.T) {
	s := strings.Repeat("资", 10) // 3 bytes each
	got := truncate(s, 10)
	if len(got) > 10 || !strings.HasSuffix(got, "...") || !strings.HasPrefix(got, "资资") || strings.ContainsRune(got, '\uFFFD') {
		t.Errorf("truncate = %q", got)
	}
}

// assertInvariants checks what must hold for every status (kstatus' view of it): Ready
// is present, Stalled is never True while Ready is True, and every condition carries the
// object's generation.
func assertInvariants(t *testing.T, d *v1alpha1.PaaSDiagnosis) {
	t.Helper()
	ready := meta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionReady)
	if ready == nil {
		t.Fatal("no Ready condition")
	}
	if meta.IsStatusConditionTrue(d.Status.Conditions, v1alpha1.ConditionStalled) && ready.Status == metav1.ConditionTrue {
		t.Error("Stalled and Ready both True")
	}
	for _, c := range d.Status.Conditions {
		if c.ObservedGeneration != d.Generation {
			t.Errorf("%s: observedGeneration %d, object %d", c.Type, c.ObservedGeneration, d.Generation)
		}
		if c.Reason == "" {
			t.Errorf("%s has no reason", c.Type)
		}
	}
}

func TestSetSuspended(t *testing.T) {
	for _, tt := range []struct {
		name       string
		ready      *metav1.Condition
		wantStatus metav1.ConditionStatus
		wantIn     string
	}{
		{"never evaluated", &metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionUnknown, Reason: v1alpha1.ReasonEvaluating}, metav1.ConditionUnknown, "never evaluated"},
		{"failing", &metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: "PoolEmpty", Message: "[4313022] empty"}, metav1.ConditionFalse, "the last verdict: [4313022] empty"},
		{"healthy", &metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonSucceeded, Message: "ok"}, metav1.ConditionTrue, "the last verdict: ok"},
		{"no condition", nil, metav1.ConditionUnknown, "never evaluated"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := &v1alpha1.PaaSDiagnosis{}
			if tt.ready != nil {
				d.Status.Conditions = []metav1.Condition{*tt.ready}
			}
			setSuspended(d)
			setSuspended(d) // idempotent: the message does not nest
			c := meta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionReady)
			if c.Status != tt.wantStatus || c.Reason != v1alpha1.ReasonSuspended || !strings.Contains(c.Message, tt.wantIn) || strings.Count(c.Message, "suspended") != 1 {
				t.Errorf("%+v", c)
			}
		})
	}
}
