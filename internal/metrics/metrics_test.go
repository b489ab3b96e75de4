package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
)

func diagnosis(name string, findings ...v1alpha1.Finding) *v1alpha1.PaaSDiagnosis {
	now := metav1.NewTime(time.Unix(1800000000, 0))
	exp := metav1.NewTime(time.Unix(1900000000, 0))
	return &v1alpha1.PaaSDiagnosis{
		ObjectMeta: metav1.ObjectMeta{Namespace: "blueking", Name: name},
		Status: v1alpha1.PaaSDiagnosisStatus{
			LastEvaluationTime: &now,
			Conditions:         []metav1.Condition{{Type: "Ready", Status: metav1.ConditionFalse}},
			Findings:           findings,
			Pools:              []v1alpha1.PoolStatus{{Service: "redis", Plan: "0shared", Tenant: "default", Available: 0, Total: 3}},
			Clusters: []v1alpha1.ClusterStatus{{Name: "default-main", APIServers: []v1alpha1.APIServerStatus{
				{URL: "https://10.0.0.10:6443", Reachable: true, Latency: &metav1.Duration{Duration: 20 * time.Millisecond}, ServingCertificateNotAfter: &exp},
			}}},
		},
	}
}

func TestRecordAndForget(t *testing.T) {
	r := NewRecorder()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(r.Collectors()...)
	empty := v1alpha1.Finding{Code: "4313022", Severity: v1alpha1.SeverityError}
	r.Record(diagnosis("a", empty, empty, v1alpha1.Finding{Severity: v1alpha1.SeverityWarning}))
	r.Record(diagnosis("b"))

	want := `
# HELP paasdiag_findings Active findings of a diagnosis by platform error code (none when a finding claims no code) and severity (Error, Warning, Unknown).
# TYPE paasdiag_findings gauge
paasdiag_findings{code="4313022",name="a",namespace="blueking",severity="Error"} 2
paasdiag_findings{code="none",name="a",namespace="blueking",severity="Warning"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "paasdiag_findings"); err != nil {
		t.Error(err)
	}
	wantCond := `
# HELP paasdiag_condition State set of a diagnosis' conditions: 1 for the condition's current status (True, False, Unknown), 0 for the others.
# TYPE paasdiag_condition gauge
paasdiag_condition{name="a",namespace="blueking",status="False",type="Ready"} 1
paasdiag_condition{name="a",namespace="blueking",status="True",type="Ready"} 0
paasdiag_condition{name="a",namespace="blueking",status="Unknown",type="Ready"} 0
paasdiag_condition{name="b",namespace="blueking",status="False",type="Ready"} 1
paasdiag_condition{name="b",namespace="blueking",status="True",type="Ready"} 0
paasdiag_condition{name="b",namespace="blueking",status="Unknown",type="Ready"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(wantCond), "paasdiag_condition"); err != nil {
		t.Error(err)
	}
	if got := testutil.ToFloat64(r.certificateExp.vec.WithLabelValues("blueking", "a", "default-main", "https://10.0.0.10:6443", "serving")); got != 1900000000 {
		t.Errorf("certificate expiry %v", got)
	}

	// The code clears: its series goes, the others stay.
	r.Record(diagnosis("a"))
	if n := testutil.CollectAndCount(r.findings.vec); n != 0 {
		t.Errorf("%d finding series after the findings cleared", n)
	}
	// The diagnosis is deleted: every series of it goes; b's stay (one each, three
	// for b's one condition).
	r.Forget(types.NamespacedName{Namespace: "blueking", Name: "a"})
	for name, g := range map[string]*trackedGauge{"condition": r.condition, "lastEvaluation": r.lastEvaluation, "poolAvailable": r.poolAvailable,
		"poolTotal": r.poolTotal, "apiserverUp": r.apiserverUp, "probeDuration": r.probeDuration, "certificateExp": r.certificateExp} {
		want := 1
		if g == r.condition {
			want = 3
		}
		if n := testutil.CollectAndCount(g.vec); n != want {
			t.Errorf("%s: %d series, want %d (b's only)", name, n, want)
		}
	}

	var nilRecorder *Recorder
	nilRecorder.Record(diagnosis("c"))
	nilRecorder.Forget(types.NamespacedName{})
	nilRecorder.ObserveEvaluation(time.Second, "True", nil)
}

// An active code always has its Error series, even when status lists no finding of it
// (a reduced status, or a list cut to its cap): the code alerts go by it.
func TestActiveCodesKeepTheirSeries(t *testing.T) {
	r := NewRecorder()
	d := diagnosis("reduced")
	d.Status.Codes = []string{"4313021"}
	r.Record(d)
	if got := testutil.ToFloat64(r.findings.vec.WithLabelValues("blueking", "reduced", "4313021", "Error")); got != 1 {
		t.Errorf("paasdiag_findings for an active code without a listed finding: %v", got)
	}
	// The refusal counter exists at 0 for every reason from the start.
	if n := testutil.CollectAndCount(r.statusWrites); n != len(StatusWriteRefusals) {
		t.Errorf("%d refusal series, want %d", n, len(StatusWriteRefusals))
	}
}
