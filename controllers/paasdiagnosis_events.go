package controllers

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/errorcodes"
)

// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// event is one event to emit. Its action is the condition that changed: the events
// API folds events of one object, action and reason into one series, so two codes
// clearing with the same reason (Succeeded) stay two events.
type event struct {
	eventType, action, reason, message string
}

// codeTransitions says what changed between two statuses, as events: a Warning when a
// code becomes active (reason: the condition's, message: starting with the code), a
// Normal one when it clears because its condition is healthy again. Nothing when
// nothing changed, and nothing when a code only went out of sight because the check
// could not find out (Unknown): that is not a recovery.
func codeTransitions(before, after *v1alpha1.PaaSDiagnosisStatus) []event {
	was := codeSet(before.Codes)
	is := codeSet(after.Codes)
	var out []event
	for _, code := range after.Codes {
		if was[code] {
			continue
		}
		found := false
		for _, f := range after.Findings {
			if f.Code != code || f.Severity != v1alpha1.SeverityError {
				continue
			}
			cond := meta.FindStatusCondition(after.Conditions, f.Condition)
			reason, message := f.Reason, f.Message
			if cond != nil {
				reason, message = cond.Reason, cond.Message
			}
			out = append(out, event{"Warning", f.Condition, reason, message})
			found = true
			break
		}
		if ready := meta.FindStatusCondition(after.Conditions, v1alpha1.ConditionReady); !found && ready != nil {
			// A reduced status lists no finding: Ready still says what failed.
			out = append(out, event{"Warning", v1alpha1.ConditionReady, ready.Reason, code + ": " + ready.Message})
		}
	}
	for _, code := range before.Codes {
		if is[code] {
			continue
		}
		// The conditions that carried the code, and whether they are all healthy now.
		healthy, carrier := true, (*metav1.Condition)(nil)
		for _, f := range before.Findings {
			if f.Code != code || f.Severity != v1alpha1.SeverityError {
				continue
			}
			cond := meta.FindStatusCondition(after.Conditions, f.Condition)
			if cond == nil || cond.Status != metav1.ConditionTrue {
				healthy = false
				break
			}
			carrier = cond
		}
		if ready := meta.FindStatusCondition(after.Conditions, v1alpha1.ConditionReady); carrier == nil && healthy && ready != nil && ready.Status == metav1.ConditionTrue {
			// The previous status was reduced (it listed no finding): everything is
			// healthy now, so the code cleared.
			carrier = ready
		}
		if healthy && carrier != nil {
			c := errorcodes.Must(code)
			out = append(out, event{"Normal", carrier.Type, carrier.Reason, c.Title() + " cleared: " + carrier.Message})
		}
	}
	return out
}

func codeSet(codes []string) map[string]bool {
	m := make(map[string]bool, len(codes))
	for _, c := range codes {
		m[c] = true
	}
	return m
}

// emit records the events on the diagnosis.
func emit(rec events.EventRecorder, d *v1alpha1.PaaSDiagnosis, evs []event) {
	if rec == nil {
		return
	}
	for _, e := range evs {
		rec.Eventf(d, nil, e.eventType, e.reason, e.action, "%s", truncate(e.message, 1000))
	}
}
