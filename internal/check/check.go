// Package check defines what a check is and runs checks concurrently under deadlines.
//
// A check looks at one part of a bkpaas3 installation and returns a Result: it never
// touches the PaaSDiagnosis object. The reconciler folds results into status.
package check

import (
	"context"
	"time"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/platformsettings"
	"github.com/paasdiag/paasdiag/internal/release"
)

// Status is what a check concluded.
type Status string

const (
	// Pass means the check looked and found nothing wrong.
	Pass Status = "Pass"
	// Fail means the check found a problem a deploy would meet now.
	Fail Status = "Fail"
	// Unknown means the check could not find out (a database down, a timeout). It is
	// never reported as healthy, and no error code is claimed for it.
	Unknown Status = "Unknown"
)

// Finding is one thing a check found wrong, will go wrong, or could not find out.
type Finding struct {
	// Check identifies the thing checked, e.g. "pool/redis/0shared/default".
	Check string
	// Severity is Error (its code is active), Warning (a predicted failure) or Unknown.
	Severity v1alpha1.Severity
	// Code is the platform error code, or empty.
	Code string
	// Reason is a CamelCase reason.
	Reason string
	// Message says what was found; it must never contain a secret.
	Message string
}

// Result is the outcome of one check.
type Result struct {
	// Status is the check's conclusion; it sets the condition's status.
	Status Status
	// Reason is the condition's reason.
	Reason string
	// Message is the condition's message.
	Message string
	// Findings are the details behind a Fail or Unknown, and warnings on a Pass.
	Findings []Finding
	// Details adds to status what the check found part by part (per cluster, per
	// plan), beside its condition and findings; nil adds nothing. The status setter
	// calls it once per evaluation on a status whose details were cleared.
	Details func(status *v1alpha1.PaaSDiagnosisStatus)
}

// Secrets holds the data of the Secrets a diagnosis references, by Secret name. Only
// the Secrets the spec names are ever read.
type Secrets map[string]map[string][]byte

// Checker is one check of one diagnosis, built from its spec section for one
// evaluation (see Plan): it holds what it looks at, and reads its inputs, typed, from
// what it was built with once the reconciler has resolved them.
type Checker interface {
	// Name is a short stable name, used in logs and metrics, e.g. "instance-pools".
	Name() string
	// Condition is the condition type this checker owns.
	Condition() string
	// Check evaluates. It must return soon after ctx is done.
	Check(ctx context.Context) Result
}

// Outcome pairs a checker with its result and how long it took.
type Outcome struct {
	Checker  Checker
	Result   Result
	Duration time.Duration
}

// Input is a Secret a check reads: one key of it, or (Key empty) the whole Secret; or
// (Setting set) one of the platform's settings, read through spec.settingsFrom.
type Input struct {
	Secret string
	Key    string
	// Setting is a platformsettings setting name, e.g. defaultDatabase; Secret and
	// Key are then empty.
	Setting string
	// What the input is for, for messages, e.g. "DSN of the default database".
	What string
}

// Resolved are what the reconciler read for one evaluation: the Secrets the spec
// names and, with spec.settingsFrom, the platform's settings (nil without).
type Resolved struct {
	Secrets  Secrets
	Settings *platformsettings.Platform
}

// Planned is a check a diagnosis enables, as built from its spec section.
type Planned struct {
	Checker
	// Inputs are the Secrets and settings it reads. The reconciler reads what the
	// plan's checks declare, once per evaluation; a Secret, key or setting that is
	// missing blocks exactly the checks that declared it.
	Inputs []Input
	// Invalid says why its spec section was rejected when the check was built, beyond
	// what the CRD can express (a pattern that does not compile); it is then not run.
	Invalid error
}

// Plan is what one evaluation of one diagnosis runs.
type Plan struct {
	// Checks are the checks the spec enables, in the order of the troubleshooting steps.
	Checks []Planned
	// Resolve hands the checks the Secrets and settings they declared, as typed inputs
	// (DSNs, the platform's key, cluster credentials), and reads the platform's release
	// line, which it returns. The reconciler calls it once, before the checks run; nil
	// leaves the line unknown.
	Resolve func(ctx context.Context, resolved Resolved) release.Detection
}

// Builder builds a diagnosis' plan from its spec, for one evaluation.
type Builder func(d *v1alpha1.PaaSDiagnosis) Plan

// Rejected is the plan entry of a check whose spec section is invalid: it names the
// check and its condition, and is never run.
func Rejected(name, condition string, err error) Planned {
	return Planned{Checker: rejected{name: name, condition: condition}, Invalid: err}
}

type rejected struct{ name, condition string }

func (r rejected) Name() string      { return r.name }
func (r rejected) Condition() string { return r.condition }
func (r rejected) Check(context.Context) Result {
	return Result{Status: Unknown, Reason: v1alpha1.ReasonInvalidSpec, Message: "the check's spec is invalid"}
}

// Verdict says what a check concludes in each case; Result.Conclude picks the case
// from the findings, the same way for every check.
type Verdict struct {
	// Fail is the message when a finding is an Error; the reason is that finding's.
	Fail string
	// Unknown makes the message from the first Unknown finding when none is an Error;
	// nil takes that finding's message. The reason is that finding's.
	Unknown func(first Finding) string
	// Pass is the message otherwise, with PassReason ("" means Succeeded).
	Pass, PassReason string
}

// Conclude sets the status, reason and message from the findings: Fail if one is an
// Error, else Unknown if one is Unknown, else Pass (warnings do not fail a check).
func (r *Result) Conclude(v Verdict) {
	if f, ok := r.first(v1alpha1.SeverityError); ok {
		r.Status, r.Reason, r.Message = Fail, f.Reason, v.Fail
		return
	}
	if f, ok := r.first(v1alpha1.SeverityUnknown); ok {
		msg := f.Message
		if v.Unknown != nil {
			msg = v.Unknown(f)
		}
		r.Status, r.Reason, r.Message = Unknown, f.Reason, msg
		return
	}
	r.Status, r.Reason, r.Message = Pass, v.PassReason, v.Pass
	if r.Reason == "" {
		r.Reason = v1alpha1.ReasonSucceeded
	}
}

func (r *Result) first(sev v1alpha1.Severity) (Finding, bool) {
	for _, f := range r.Findings {
		if f.Severity == sev {
			return f, true
		}
	}
	return Finding{}, false
}

// The finding constructors every check uses.

// ErrorFinding is a problem a deploy meets now: its code is active.
func ErrorFinding(subject, reason, code, message string) Finding {
	return Finding{Check: subject, Severity: v1alpha1.SeverityError, Code: code, Reason: reason, Message: message}
}

// WarningFinding is a problem a deploy will meet (code set, "predicted"), or advice
// (no code).
func WarningFinding(subject, reason, code, message string) Finding {
	return Finding{Check: subject, Severity: v1alpha1.SeverityWarning, Code: code, Reason: reason, Message: message}
}

// UnknownFinding is something the check could not find out; it never has a code.
func UnknownFinding(subject, reason, message string) Finding {
	return Finding{Check: subject, Severity: v1alpha1.SeverityUnknown, Reason: reason, Message: message}
}

// Only is the result of a check that found one thing: concluded from that finding,
// with its message.
func Only(f Finding) Result {
	r := Result{Findings: []Finding{f}}
	r.Conclude(Verdict{Fail: f.Message, Pass: f.Message})
	return r
}
