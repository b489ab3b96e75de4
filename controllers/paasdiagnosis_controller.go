// Package controllers holds the PaaSDiagnosis reconciler: it resolves a diagnosis'
// inputs, runs its checks and folds their results into status. The checks themselves
// live in internal/checks; the status logic in paasdiagnosis_status.go.
package controllers

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/checks"
	"github.com/paasdiag/paasdiag/internal/metrics"
	"github.com/paasdiag/paasdiag/internal/platformdb"
	"github.com/paasdiag/paasdiag/internal/release"
	"github.com/paasdiag/paasdiag/internal/specvalidation"
)

// PaaSDiagnosisReconciler evaluates PaaSDiagnosis objects on their interval.
type PaaSDiagnosisReconciler struct {
	// Client reads diagnoses (cached) and patches their status.
	client.Client
	// APIReader reads Secrets by name, uncached: paasdiag never lists or watches them.
	APIReader client.Reader
	// Build makes, for each evaluation, the checks a diagnosis' spec enables
	// (checks.Build in the manager).
	Build check.Builder
	// Runner runs one evaluation's checks.
	Runner check.Runner
	// Databases are the connection pools to the platform's databases, which the checks
	// use; the reconciler owns them and closes a diagnosis' pools when it is deleted.
	Databases *platformdb.Pools
	// Packages remembers the source package objects the blob store check saw; the
	// reconciler forgets a deleted diagnosis' part.
	Packages *checks.PackageLedger
	// MaxConcurrentReconciles bounds how many diagnoses are evaluated at once.
	MaxConcurrentReconciles int
	// Recorder emits an event when a code becomes active or clears; nil emits none.
	Recorder events.EventRecorder
	// Metrics records the verdicts for Prometheus; nil records nothing.
	Metrics *metrics.Recorder
	// Validator re-checks every spec against the CRD's rules before anything runs; nil
	// uses the CRD embedded in the binary (specvalidation.Default).
	Validator *specvalidation.Validator
	// SettingsAllowed lists the Deployments diagnoses may read settings from without
	// the Deployment's own label (the manager's --settings-from-allowed).
	SettingsAllowed SettingsAllowList
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// scheduled remembers when each diagnosis' next evaluation was scheduled, jitter
	// included, for the lateness metric: the jitter spreads evaluations on purpose and
	// is not lateness.
	scheduled sync.Map
	// started remembers when each diagnosis' last evaluation started in this process:
	// none starts sooner than v1alpha1.MinInterval after it, whatever triggered the
	// reconcile (a new generation, an error's retry with backoff, a resync).
	started sync.Map
	// validated remembers the verdict of the spec's validation per diagnosis, for one
	// uid and generation (a validation reads the object once, uncached).
	validated sync.Map
}

// specVerdict is the validation of one generation of a diagnosis' spec.
type specVerdict struct {
	uid        types.UID
	generation int64
	message    string
}

// Diagnoses are read from the informer's cache (list, watch) and their status written
// with one merge patch; the integration suite proves these are all the manager uses.
// Each new generation is also read once, uncached, as the API server stored it, to be
// validated as sent (a typed object drops empty lists and re-spells durations).
// +kubebuilder:rbac:groups=diagnosis.paasdiag.io,resources=paasdiagnoses,verbs=get;list;watch
// +kubebuilder:rbac:groups=diagnosis.paasdiag.io,resources=paasdiagnoses/status,verbs=patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups=coordination.k8s.io,namespace=paasdiag-system,resources=leases,verbs=get;create;update
// Leader election records its events (core API) in the Lease's namespace.
// +kubebuilder:rbac:groups="",namespace=paasdiag-system,resources=events,verbs=create;patch

// Reconcile evaluates one diagnosis if it is due and writes the verdict to status in
// one patch.
func (r *PaaSDiagnosisReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var d v1alpha1.PaaSDiagnosis
	if err := r.Get(ctx, req.NamespacedName, &d); err != nil {
		if apierrors.IsNotFound(err) {
			if r.Databases != nil {
				r.Databases.Forget(req.NamespacedName)
			}
			r.Packages.Forget(req.NamespacedName)
			r.Metrics.Forget(req.NamespacedName)
			r.scheduled.Delete(req.NamespacedName)
			r.started.Delete(req.NamespacedName)
			r.validated.Delete(req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if !d.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}

	before := d.DeepCopy()
	plan := r.Build(&d)
	setInitialConditions(&d, checkersOf(plan.Checks))
	next, err := r.evaluate(ctx, &d, plan)

	if !equality.Semantic.DeepEqual(before.Status, d.Status) {
		// A merge patch of status only: paasdiag is the status' sole writer, so there is
		// nothing to conflict with, and a spec change meanwhile only triggers another
		// reconcile.
		if perr := r.writeStatus(ctx, &d, before); perr != nil {
			if apierrors.IsNotFound(perr) {
				return ctrl.Result{}, nil
			}
			// Not written: the next attempt compares against the same old status, so
			// its events are emitted then, not lost and not doubled.
			return ctrl.Result{}, errors.Join(err, perr)
		}
		emit(r.Recorder, &d, codeTransitions(&before.Status, &d.Status))
	}
	r.Metrics.Record(&d)
	return r.requeueAt(&d, next), err
}

// writeStatus patches status. When the API server refuses it (invalid, too large, or
// denied by an admission policy), the refusal is counted
// (paasdiag_status_write_errors_total), recorded as a StatusWriteRefused event, and a
// reduced status (conditions, codes and summary, status.reduced saying why) is written
// at once, so that the verdict still reaches users. Other errors are returned, for a
// retry with backoff.
func (r *PaaSDiagnosisReconciler) writeStatus(ctx context.Context, d *v1alpha1.PaaSDiagnosis, before *v1alpha1.PaaSDiagnosis) error {
	err := r.Status().Patch(ctx, d, client.MergeFrom(before))
	kind := refusal(err)
	if kind == "" {
		return err
	}
	ctrl.LoggerFrom(ctx).Error(err, "The API server refused the status; writing a reduced one", "refusal", kind)
	r.Metrics.StatusWriteRefused(kind)
	reduceStatus(&d.Status, fmt.Sprintf("the API server refused the full status (%s): %s", kind, err))
	rerr := r.Status().Patch(ctx, d, client.MergeFrom(before))
	if r.Recorder != nil {
		outcome := "wrote conditions, codes and summary only"
		if rerr != nil {
			outcome = "the reduced status was not written either (" + truncate(rerr.Error(), 256) + "); retrying"
		}
		r.Recorder.Eventf(d, nil, "Warning", "StatusWriteRefused", "WriteStatus",
			"the API server refused the status (%s): %s; %s", kind, truncate(err.Error(), 512), outcome)
	}
	return rerr
}

// refusal names how the API server refused a write, or "" for an error that is not a
// refusal of this content (none, not found, a conflict, a timeout, an outage).
func refusal(err error) string {
	switch {
	case err == nil, apierrors.IsNotFound(err), apierrors.IsConflict(err), apierrors.IsTimeout(err),
		apierrors.IsServerTimeout(err), apierrors.IsServiceUnavailable(err), apierrors.IsTooManyRequests(err):
		return ""
	case apierrors.IsInvalid(err):
		return "Invalid"
	case apierrors.IsRequestEntityTooLargeError(err), strings.Contains(err.Error(), "too large"):
		return "RequestEntityTooLarge"
	case apierrors.IsForbidden(err) && strings.Contains(err.Error(), "denied"):
		// An admission policy or webhook denied this content; an RBAC refusal (the
		// manager may not patch status) is not about the content, and is returned.
		return "Forbidden"
	case apierrors.IsBadRequest(err):
		return "Other"
	}
	return ""
}

// evaluate runs the plan's checks if the diagnosis is due, leaving the verdict in
// d.Status. It returns when to look again (zero: only on a spec change).
func (r *PaaSDiagnosisReconciler) evaluate(ctx context.Context, d *v1alpha1.PaaSDiagnosis, plan check.Plan) (time.Time, error) {
	log := ctrl.LoggerFrom(ctx)
	msg, err := r.invalidSpec(ctx, d)
	if err != nil {
		return time.Time{}, err
	}
	if msg != "" {
		// Nothing is read and nothing is scheduled: only a new generation can fix it.
		log.Info("Diagnosis spec is invalid; not evaluated", "message", msg)
		setInvalidSpec(d, plan.Checks, msg)
		if r.Databases != nil {
			r.Databases.Forget(types.NamespacedName{Namespace: d.Namespace, Name: d.Name})
		}
		return time.Time{}, nil
	}
	if d.Spec.Suspend {
		log.V(1).Info("Diagnosis is suspended")
		setSuspended(d)
		return time.Time{}, nil
	}
	now := r.now()
	interval := scheduleInterval(d)
	if !r.due(d, now) {
		return d.Status.LastEvaluationTime.Add(interval + r.jitter(interval)), nil
	}
	if earliest := r.earliestStart(d); now.Before(earliest) {
		log.V(1).Info("Diagnosis evaluated less than the minimum interval ago; waiting", "until", earliest)
		return earliest, nil
	}
	r.started.Store(types.NamespacedName{Namespace: d.Namespace, Name: d.Name}, now)
	lateness, scheduled := r.observeLateness(d, now)

	secrets, stalls, err := resolveSecrets(ctx, r.APIReader, d.Namespace, plan.Checks, destinationsOf(&d.Spec))
	if err != nil {
		return time.Time{}, err
	}
	settings, settingsStall, err := resolveSettings(ctx, r.APIReader, d.Namespace, &d.Spec, r.SettingsAllowed)
	if err != nil {
		return time.Time{}, err
	}
	// The checks whose spec section is invalid or whose inputs are missing are not run;
	// the others are, so that one missing Secret does not hide what the rest would find.
	// A setting the platform's configuration does not give makes its checks Unknown,
	// without stalling: the spec is right, the platform's settings are not.
	var unknowns []*stallError
	usesSettings := map[string]bool{}
	for _, c := range plan.Checks {
		if c.Invalid != nil {
			stalls = append(stalls, &stallError{condition: c.Condition(), reason: v1alpha1.ReasonInvalidSpec, message: c.Invalid.Error()})
			continue
		}
		for _, in := range c.Inputs {
			if in.Setting == "" {
				continue
			}
			usesSettings[c.Condition()] = true
			if settingsStall != nil {
				stalls = append(stalls, &stallError{condition: c.Condition(), reason: settingsStall.reason, message: settingsStall.message})
			} else if b := settingsBlock(in, settings, &d.Spec, secrets); b != nil {
				b.condition = c.Condition()
				unknowns = append(unknowns, b)
			}
		}
	}
	if settingsStall != nil && len(usesSettings) == 0 {
		// Nothing needs the settings, but the spec names a source that cannot be read.
		stalls = append(stalls, settingsStall)
	}
	blocked := map[string]*stallError{}
	for _, s := range append(append([]*stallError{}, stalls...), unknowns...) {
		if blocked[s.condition] == nil {
			blocked[s.condition] = s
		}
	}
	var runnable []check.Checker
	for _, c := range plan.Checks {
		if blocked[c.Condition()] == nil {
			runnable = append(runnable, c.Checker)
		}
	}

	start := r.now()
	setPlatform(d, r.resolve(ctx, d, plan, check.Resolved{Secrets: secrets, Settings: settings}))
	outcomes := r.Runner.Run(ctx, runnable, d.Spec.Timeout.Duration)
	for _, c := range plan.Checks {
		if s := blocked[c.Condition()]; s != nil {
			res := check.Result{Status: check.Unknown, Reason: s.reason, Message: s.message}
			if usesSettings[c.Condition()] && settingsStall == nil && c.Invalid == nil {
				res.Findings = []check.Finding{check.UnknownFinding("settings", s.reason, s.message)}
			}
			outcomes = append(outcomes, check.Outcome{Checker: c.Checker, Result: res})
		}
	}
	// What the settings themselves call for goes to the first check that uses them.
	if extra := settingsFindings(ctx, r.APIReader, d.Namespace, settings); len(extra) > 0 {
		for i := range outcomes {
			if usesSettings[outcomes[i].Checker.Condition()] {
				outcomes[i].Result.Findings = append(outcomes[i].Result.Findings, extra...)
				break
			}
		}
	}
	var stall *stallError
	if len(stalls) > 0 {
		// Secrets are not watched (paasdiag reads only the ones named, by name), so the
		// next evaluation, an interval later, looks again.
		var messages []string
		said := map[string]bool{}
		for _, s := range stalls {
			if !said[s.message] {
				said[s.message] = true
				messages = append(messages, s.message)
			}
		}
		stall = &stallError{reason: stalls[0].reason, message: strings.Join(messages, "; ")}
		log.Info("Diagnosis is stalled", "reason", stall.reason, "message", stall.message)
	}
	d.Status.Settings = settingsProvenance(&d.Spec, plan.Checks, settings, settingsStall)
	setEvaluated(d, outcomes, stall, metav1.NewTime(start).Rfc3339Copy())
	took := r.now().Sub(start)
	checkDurations := make(map[string]time.Duration, len(outcomes))
	for _, o := range outcomes {
		checkDurations[o.Checker.Name()] = o.Duration
	}
	r.Metrics.ObserveEvaluation(took, string(readyStatus(d)), checkDurations)
	kv := []any{"ready", readyStatus(d), "codes", d.Status.Codes, "duration", took}
	if scheduled {
		// Per diagnosis, for the scale run's isolation measurement (hack/scale); the
		// metric aggregates every diagnosis.
		kv = append(kv, "lateness", lateness.Seconds())
	}
	log.V(1).Info("Diagnosis evaluated", kv...)
	// Next one interval after this one started, not after it ended: the schedule does
	// not drift by the evaluations' durations.
	return start.Add(interval + r.jitter(interval)), nil
}

// requeueAt schedules the next look at d for the given time, and remembers it. It is
// called last, after the status was written, so that the write's duration does not
// make the next evaluation late.
func (r *PaaSDiagnosisReconciler) requeueAt(d *v1alpha1.PaaSDiagnosis, next time.Time) ctrl.Result {
	if next.IsZero() {
		return ctrl.Result{}
	}
	r.scheduled.Store(types.NamespacedName{Namespace: d.Namespace, Name: d.Name}, next)
	return ctrl.Result{RequeueAfter: max(next.Sub(r.now()), time.Millisecond)}
}

// observeLateness records how late a scheduled evaluation starts: against the time
// this process scheduled it for (the deliberate jitter is not lateness); after a
// restart, against lastEvaluationTime (one second's resolution) plus the interval. A
// first evaluation or a new generation is not scheduled, so not late (false).
func (r *PaaSDiagnosisReconciler) observeLateness(d *v1alpha1.PaaSDiagnosis, now time.Time) (time.Duration, bool) {
	last := d.Status.LastEvaluationTime
	if last == nil || d.Status.ObservedGeneration != d.Generation {
		return 0, false
	}
	due := last.Add(scheduleInterval(d))
	if at, ok := r.scheduled.Load(types.NamespacedName{Namespace: d.Namespace, Name: d.Name}); ok {
		due = at.(time.Time)
	}
	late := now.Sub(due)
	r.Metrics.ObserveLateness(late)
	return late, true
}

// resolve hands the checks their inputs and reads the release line, within the
// diagnosis' timeout.
func (r *PaaSDiagnosisReconciler) resolve(ctx context.Context, d *v1alpha1.PaaSDiagnosis, plan check.Plan, resolved check.Resolved) release.Detection {
	if plan.Resolve == nil {
		return release.UnknownBecause("paasdiag was started without release detection")
	}
	ctx, cancel := context.WithTimeout(ctx, d.Spec.Timeout.Duration)
	defer cancel()
	return plan.Resolve(ctx, resolved)
}

// due reports whether the diagnosis should be evaluated now: never evaluated, a new
// generation, or its interval has passed. A stalled diagnosis is evaluated on its
// interval too: its Secrets may have appeared.
func (r *PaaSDiagnosisReconciler) due(d *v1alpha1.PaaSDiagnosis, now time.Time) bool {
	last := d.Status.LastEvaluationTime
	if last == nil || d.Status.ObservedGeneration != d.Generation {
		return true
	}
	return !now.Before(last.Add(scheduleInterval(d)))
}

// scheduleInterval is d's interval, never below v1alpha1.MinInterval: a spec below it
// is refused (invalidSpec) before this is asked, and this floor holds even if a
// future path forgot to ask.
func scheduleInterval(d *v1alpha1.PaaSDiagnosis) time.Duration {
	return max(d.Spec.Interval.Duration, v1alpha1.MinInterval)
}

// earliestStart is the earliest time d may start an evaluation: v1alpha1.MinInterval
// after the last one this process started or, after a restart, after lastEvaluationTime
// (written to the second, so one second later is when it may have started).
func (r *PaaSDiagnosisReconciler) earliestStart(d *v1alpha1.PaaSDiagnosis) time.Time {
	if at, ok := r.started.Load(types.NamespacedName{Namespace: d.Namespace, Name: d.Name}); ok {
		return at.(time.Time).Add(v1alpha1.MinInterval)
	}
	if last := d.Status.LastEvaluationTime; last != nil {
		return last.Add(time.Second + v1alpha1.MinInterval)
	}
	return time.Time{}
}

// invalidSpec re-checks d's spec against the CRD's schema and CEL rules, as the API
// server would have (it may not have: CEL rules need 1.25), and says what is wrong, or
// "" for a valid spec. The object is validated as the API server stored it, read once
// per generation: the typed one drops empty lists (`clusters: []`, which CEL's has()
// sees) and re-spells durations (0.5ms becomes 500µs, which the pattern refuses). An
// error means the stored object could not be read; the caller retries.
func (r *PaaSDiagnosisReconciler) invalidSpec(ctx context.Context, d *v1alpha1.PaaSDiagnosis) (string, error) {
	key := types.NamespacedName{Namespace: d.Namespace, Name: d.Name}
	if v, ok := r.validated.Load(key); ok {
		if sv := v.(specVerdict); sv.uid == d.UID && sv.generation == d.Generation {
			return sv.message, nil
		}
	}
	v := r.Validator
	if v == nil {
		var err error
		if v, err = specvalidation.Default(); err != nil {
			return "paasdiag cannot read its own CRD to check the spec: " + err.Error(), nil
		}
	}
	stored := &unstructured.Unstructured{}
	stored.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("PaaSDiagnosis"))
	if err := r.APIReader.Get(ctx, key, stored); err != nil {
		return "", fmt.Errorf("reading the diagnosis to validate its spec: %w", err)
	}
	if stored.GetUID() != d.UID || stored.GetGeneration() != d.Generation {
		// The cache is behind or ahead of the API server; the event of the newer one
		// brings another reconcile.
		return "", fmt.Errorf("the diagnosis changed while being validated (generation %d, stored %d)", d.Generation, stored.GetGeneration())
	}
	message := ""
	if errs := v.ValidateUnstructured(ctx, stored.Object); len(errs) > 0 {
		message = "the spec breaks the CRD's rules (paasdiag enforces them whether or not the API server did): " + specvalidation.Message(errs)
	}
	r.validated.Store(key, specVerdict{uid: d.UID, generation: d.Generation, message: message})
	return message, nil
}

// jitter spreads evaluations of diagnoses created together by up to 1% of the interval.
func (r *PaaSDiagnosisReconciler) jitter(interval time.Duration) time.Duration {
	if interval < 100 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(interval / 100)))
}

// checkersOf returns the plan's checks.
func checkersOf(planned []check.Planned) []check.Checker {
	out := make([]check.Checker, len(planned))
	for i, c := range planned {
		out[i] = c.Checker
	}
	return out
}

func (r *PaaSDiagnosisReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func readyStatus(d *v1alpha1.PaaSDiagnosis) metav1.ConditionStatus {
	if c := findCondition(d, v1alpha1.ConditionReady); c != nil {
		return c.Status
	}
	return metav1.ConditionUnknown
}

func findCondition(d *v1alpha1.PaaSDiagnosis, t string) *metav1.Condition {
	return meta.FindStatusCondition(d.Status.Conditions, t)
}

// SetupWithManager registers the reconciler. Only spec changes (a new generation)
// trigger a reconcile; the interval is kept with RequeueAfter, so paasdiag's own status
// writes never cause another evaluation.
func (r *PaaSDiagnosisReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.PaaSDiagnosis{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.MaxConcurrentReconciles}).
		Named("paasdiagnosis").
		Complete(r)
}
