package controllers

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/errorcodes"
	"github.com/paasdiag/paasdiag/internal/release"
)

// The pure status setters: each takes the diagnosis and what was learnt, and writes
// status. None of them talks to a cluster, so they are table-tested without one.

const findingsSeparator = "; "

// severityRank orders findings most severe first: errors (a deploy fails now), then
// warnings (it will), then what could not be found out.
var severityRank = map[v1alpha1.Severity]int{
	v1alpha1.SeverityError:   0,
	v1alpha1.SeverityWarning: 1,
	v1alpha1.SeverityUnknown: 2,
}

// setPlatform records the release line the rules followed in this evaluation.
func setPlatform(d *v1alpha1.PaaSDiagnosis, det release.Detection) {
	d.Status.Platform = &v1alpha1.PlatformStatus{ReleaseLine: string(det.Line), Evidence: truncate(det.Evidence, v1alpha1.MaxMessageLength)}
}

// setSuspended says on Ready that evaluation is suspended. Ready keeps the last
// verdict's status (Unknown if there was none), so alerts on a known failure do not
// clear by suspending; the check conditions keep their last values.
func setSuspended(d *v1alpha1.PaaSDiagnosis) {
	status, last := metav1.ConditionUnknown, "never evaluated"
	if c := meta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionReady); c != nil && c.Reason != v1alpha1.ReasonEvaluating {
		status = c.Status
		last = "the last verdict: " + c.Message
		if c.Reason == v1alpha1.ReasonSuspended {
			return // already said, with the verdict it kept
		}
	}
	set(d, v1alpha1.ConditionReady, status, v1alpha1.ReasonSuspended, "evaluation is suspended (spec.suspend); "+last)
}

// setInitialConditions gives every condition the diagnosis will carry a value on first
// sight: Unknown/Evaluating until the checks have run. Conditions of checks the spec no
// longer enables are removed.
func setInitialConditions(d *v1alpha1.PaaSDiagnosis, enabled []check.Checker) {
	owned := map[string]bool{v1alpha1.ConditionReady: true, v1alpha1.ConditionStalled: true}
	for _, c := range enabled {
		owned[c.Condition()] = true
	}
	for _, cond := range append([]metav1.Condition(nil), d.Status.Conditions...) {
		if !owned[cond.Type] {
			meta.RemoveStatusCondition(&d.Status.Conditions, cond.Type)
		}
	}
	for t := range owned {
		if meta.FindStatusCondition(d.Status.Conditions, t) == nil {
			status := metav1.ConditionUnknown
			if t == v1alpha1.ConditionStalled {
				status = metav1.ConditionFalse
			}
			meta.SetStatusCondition(&d.Status.Conditions, metav1.Condition{
				Type: t, Status: status, Reason: v1alpha1.ReasonEvaluating,
				Message:            "not evaluated yet",
				ObservedGeneration: d.Generation,
			})
		}
	}
	sortConditions(d.Status.Conditions)
}

// setInvalidSpec records that d's spec breaks the CRD's rules: no check ran, every
// configured check is Unknown with reason InvalidSpec, Stalled=True and Ready=False
// carry the message. The verdict of the previous spec (codes, findings, details) is
// dropped: it is not this spec's. lastEvaluationTime keeps when checks last ran.
func setInvalidSpec(d *v1alpha1.PaaSDiagnosis, planned []check.Planned, message string) {
	for _, c := range planned {
		set(d, c.Checker.Condition(), metav1.ConditionUnknown, v1alpha1.ReasonInvalidSpec, "not evaluated: the spec is invalid (see Stalled)")
	}
	set(d, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonInvalidSpec, message)
	set(d, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonInvalidSpec, message)
	d.Status.ObservedGeneration = d.Generation
	d.Status.Codes, d.Status.CodeSummary, d.Status.Findings = nil, "", nil
	d.Status.Clusters, d.Status.Pools, d.Status.Platform, d.Status.Settings = nil, nil, nil, nil
	d.Status.FindingsOmitted, d.Status.ClustersOmitted, d.Status.PoolsOmitted, d.Status.Reduced = 0, 0, 0, ""
	d.Status.Summary = &v1alpha1.StatusSummary{}
}

// setEvaluated folds the outcomes of one evaluation into status: one condition per
// check, the findings (keeping when each was first seen), the active codes, the
// per-cluster and per-pool details, and Ready as their summary. A non-nil stall says
// that part of the spec could not be evaluated: Stalled=True and Ready=False carry its
// reason and message; the checks that could run still report.
func setEvaluated(d *v1alpha1.PaaSDiagnosis, outcomes []check.Outcome, stall *stallError, now metav1.Time) {

	previous := map[string]metav1.Time{}
	for _, f := range d.Status.Findings {
		previous[findingKey(f.Check, f.Reason, f.Code, f.Severity)] = f.Since
	}
	var findings []v1alpha1.Finding
	for _, o := range outcomes {
		r := o.Result
		set(d, o.Checker.Condition(), conditionStatus(r.Status), r.Reason, r.Message)
		for _, f := range r.Findings {
			since, seen := previous[findingKey(f.Check, f.Reason, f.Code, f.Severity)]
			if !seen {
				since = now
			}
			findings = append(findings, v1alpha1.Finding{
				Check:       f.Check,
				Condition:   o.Checker.Condition(),
				Severity:    f.Severity,
				Code:        f.Code,
				Reason:      f.Reason,
				Message:     f.Message,
				Remediation: remediation(f.Code),
				Since:       since,
			})
		}
	}
	sortFindings(findings)
	d.Status.Codes = activeCodes(findings)
	d.Status.CodeSummary = strings.Join(d.Status.Codes, ",")
	d.Status.Findings = findings
	d.Status.FindingsOmitted, d.Status.ClustersOmitted, d.Status.PoolsOmitted, d.Status.Reduced = 0, 0, 0, ""
	d.Status.Summary = &v1alpha1.StatusSummary{
		Errors:   int32(countSeverity(findings, v1alpha1.SeverityError)),
		Warnings: int32(countSeverity(findings, v1alpha1.SeverityWarning)),
		Unknowns: int32(countSeverity(findings, v1alpha1.SeverityUnknown)),
	}
	d.Status.Clusters, d.Status.Pools = nil, nil
	for _, o := range outcomes {
		if o.Result.Details != nil {
			o.Result.Details(&d.Status)
		}
	}
	d.Status.LastEvaluationTime = &now
	d.Status.ObservedGeneration = d.Generation
	if stall != nil {
		set(d, v1alpha1.ConditionStalled, metav1.ConditionTrue, stall.reason, stall.message)
		set(d, v1alpha1.ConditionReady, metav1.ConditionFalse, stall.reason, stall.message)
		boundStatus(&d.Status)
		return
	}
	set(d, v1alpha1.ConditionStalled, metav1.ConditionFalse, v1alpha1.ReasonSpecValid, "the spec can be evaluated")
	setReady(d, outcomes)
	boundStatus(&d.Status)
}

// setReady summarises the check conditions: False if any check failed, Unknown if any
// could not find out, True only when every one passed. Its reason is the first
// failing (or unknown) check's, so that `kubectl get` shows the cause.
func setReady(d *v1alpha1.PaaSDiagnosis, outcomes []check.Outcome) {
	var failed, unknown []check.Outcome
	for _, o := range outcomes {
		switch o.Result.Status {
		case check.Fail:
			failed = append(failed, o)
		case check.Unknown:
			unknown = append(unknown, o)
		}
	}
	switch {
	case len(failed) > 0:
		set(d, v1alpha1.ConditionReady, metav1.ConditionFalse, failed[0].Result.Reason, summary(d, failed))
	case len(unknown) > 0:
		set(d, v1alpha1.ConditionReady, metav1.ConditionUnknown, unknown[0].Result.Reason, summary(d, unknown))
	default:
		msg := fmt.Sprintf("all %d checks passed", len(outcomes))
		if len(outcomes) == 1 {
			msg = "the check passed"
		}
		if n := countSeverity(d.Status.Findings, v1alpha1.SeverityWarning); n > 0 {
			msg += fmt.Sprintf(", with %d warning(s)", n)
		}
		set(d, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded, msg)
	}
}

// summary joins the codes and messages of the given checks' conditions.
func summary(d *v1alpha1.PaaSDiagnosis, outcomes []check.Outcome) string {
	parts := make([]string, 0, len(outcomes))
	for _, o := range outcomes {
		parts = append(parts, o.Checker.Condition()+": "+o.Result.Message)
	}
	return strings.Join(parts, findingsSeparator)
}

func set(d *v1alpha1.PaaSDiagnosis, t string, status metav1.ConditionStatus, reason, message string) {
	if reason == "" {
		reason = string(status)
	}
	meta.SetStatusCondition(&d.Status.Conditions, metav1.Condition{
		Type:               t,
		Status:             status,
		Reason:             reason,
		Message:            truncate(message, v1alpha1.MaxConditionMessageLength),
		ObservedGeneration: d.Generation,
	})
	sortConditions(d.Status.Conditions)
}

func conditionStatus(s check.Status) metav1.ConditionStatus {
	switch s {
	case check.Pass:
		return metav1.ConditionTrue
	case check.Fail:
		return metav1.ConditionFalse
	default:
		return metav1.ConditionUnknown
	}
}

// conditionOrder puts Ready first and Stalled second; the checks follow by name.
func sortConditions(conds []metav1.Condition) {
	rank := func(t string) string {
		switch t {
		case v1alpha1.ConditionReady:
			return "0"
		case v1alpha1.ConditionStalled:
			return "1"
		}
		return "2" + t
	}
	sort.SliceStable(conds, func(i, j int) bool { return rank(conds[i].Type) < rank(conds[j].Type) })
}

func sortFindings(fs []v1alpha1.Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if severityRank[a.Severity] != severityRank[b.Severity] {
			return severityRank[a.Severity] < severityRank[b.Severity]
		}
		if a.Condition != b.Condition {
			return a.Condition < b.Condition
		}
		return a.Check < b.Check
	})
}

// activeCodes are the codes of Error findings, sorted and unique. Warnings and unknowns
// claim no code.
func activeCodes(fs []v1alpha1.Finding) []string {
	set := map[string]bool{}
	for _, f := range fs {
		if f.Severity == v1alpha1.SeverityError && f.Code != "" {
			set[f.Code] = true
		}
	}
	codes := make([]string, 0, len(set))
	for c := range set {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	if len(codes) == 0 {
		return nil
	}
	return codes
}

func countSeverity(fs []v1alpha1.Finding, s v1alpha1.Severity) int {
	n := 0
	for _, f := range fs {
		if f.Severity == s {
			n++
		}
	}
	return n
}

func remediation(code string) string {
	if c, ok := errorcodes.Lookup(code); ok {
		return c.Remediation
	}
	return ""
}

func findingKey(checkName, reason, code string, severity v1alpha1.Severity) string {
	return strings.Join([]string{checkName, reason, code, string(severity)}, "\x00")
}

// truncate shortens s to at most n bytes without splitting a UTF-8 character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ellipsis = "..."
	cut := n - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}
