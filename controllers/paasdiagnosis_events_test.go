package controllers

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
)

func statusWith(codes []string, poolCond metav1.ConditionStatus, reason string) *v1alpha1.PaaSDiagnosisStatus {
	s := &v1alpha1.PaaSDiagnosisStatus{Codes: codes}
	s.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionInstancePoolAvailable, Status: poolCond, Reason: reason, Message: "[4313022] 资源池为空: redis/0shared"}}
	for _, c := range codes {
		s.Findings = append(s.Findings, v1alpha1.Finding{Code: c, Severity: v1alpha1.SeverityError, Condition: v1alpha1.ConditionInstancePoolAvailable, Reason: reason, Message: "x"})
	}
	return s
}

func TestCodeTransitions(t *testing.T) {
	empty := statusWith([]string{"4313022"}, metav1.ConditionFalse, "PoolEmpty")
	healthy := statusWith(nil, metav1.ConditionTrue, "Succeeded")
	unknown := statusWith(nil, metav1.ConditionUnknown, "DatabaseUnreachable")
	// A reduced status lists no finding; Ready carries the verdict.
	reduced := statusWith([]string{"4313022"}, metav1.ConditionFalse, "PoolEmpty")
	reduced.Findings = nil
	reduced.Conditions = append(reduced.Conditions, metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: "PoolEmpty", Message: "pools empty"})
	healthyReady := statusWith(nil, metav1.ConditionTrue, "Succeeded")
	healthyReady.Conditions = append(healthyReady.Conditions, metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: "Succeeded", Message: "all checks passed"})

	tests := []struct {
		name          string
		before, after *v1alpha1.PaaSDiagnosisStatus
		want          []event
	}{
		{"a code becomes active", healthy, empty, []event{{"Warning", "InstancePoolAvailable", "PoolEmpty", "[4313022] 资源池为空: redis/0shared"}}},
		{"nothing changes", empty, empty, nil},
		{"still healthy", healthy, healthy, nil},
		{"it clears because the pool is refilled", empty, healthy, []event{{"Normal", "InstancePoolAvailable", "Succeeded", "[4313022] 资源池为空 cleared: [4313022] 资源池为空: redis/0shared"}}},
		{"it goes out of sight because the database is down: no recovery", empty, unknown, nil},
		{"first evaluation after a restart of the manager sees the same codes", empty, statusWith([]string{"4313022"}, metav1.ConditionFalse, "PoolEmpty"), nil},
		{"a code becomes active in a reduced status: Ready says it", healthyReady, reduced, []event{{"Warning", "Ready", "PoolEmpty", "4313022: pools empty"}}},
		{"it clears after a reduced status", reduced, healthyReady, []event{{"Normal", "Ready", "Succeeded", "[4313022] 资源池为空 cleared: all checks passed"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := codeTransitions(tt.before, tt.after)
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("event %d: got %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}
