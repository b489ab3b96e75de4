// Package metrics exports the diagnoses' verdicts for Prometheus on the manager's
// metrics endpoint. Labels are bounded (namespace, name, code, severity, condition,
// service/plan/tenant, cluster/API server) and never carry free text. A diagnosis'
// series are replaced at each evaluation and deleted with the diagnosis.
package metrics

import (
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
)

// Recorder holds every paasdiag metric. A nil *Recorder records nothing.
type Recorder struct {
	findings        *trackedGauge
	condition       *trackedGauge
	lastEvaluation  *trackedGauge
	poolAvailable   *trackedGauge
	poolTotal       *trackedGauge
	apiserverUp     *trackedGauge
	probeDuration   *trackedGauge
	certificateExp  *trackedGauge
	evaluationHist  prometheus.Histogram
	lateness        prometheus.Histogram
	checkDuration   *prometheus.HistogramVec
	evaluationsDone *prometheus.CounterVec
	statusWrites    *prometheus.CounterVec
}

var diagnosisLabels = []string{"namespace", "name"}

func with(extra ...string) []string {
	return append(append([]string(nil), diagnosisLabels...), extra...)
}

// NewRecorder creates the metrics; register them with Collectors.
func NewRecorder() *Recorder {
	gauge := func(name, help string, labels ...string) *trackedGauge {
		return &trackedGauge{vec: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, with(labels...)),
			owned: map[types.NamespacedName]map[string][]string{}}
	}
	buckets := []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
	rec := &Recorder{
		findings: gauge("paasdiag_findings",
			"Active findings of a diagnosis by platform error code (none when a finding claims no code) and severity (Error, Warning, Unknown).",
			"code", "severity"),
		condition: gauge("paasdiag_condition",
			"State set of a diagnosis' conditions: 1 for the condition's current status (True, False, Unknown), 0 for the others.",
			"type", "status"),
		lastEvaluation: gauge("paasdiag_last_evaluation_timestamp_seconds",
			"When the diagnosis was last evaluated, in seconds since the epoch."),
		poolAvailable: gauge("paasdiag_pool_available_instances",
			"Unallocated pre-created instances any app can get, per add-on service plan.", "service", "plan", "tenant"),
		poolTotal: gauge("paasdiag_pool_instances",
			"Every pre-created instance of an add-on service plan, allocated or not.", "service", "plan", "tenant"),
		apiserverUp: gauge("paasdiag_apiserver_up",
			"1 when the app cluster's API server answered the platform's requests with the platform's credentials, 0 otherwise.", "cluster", "apiserver"),
		probeDuration: gauge("paasdiag_apiserver_probe_duration_seconds",
			"How long the last probe of the API server took.", "cluster", "apiserver"),
		certificateExp: gauge("paasdiag_certificate_expiry_timestamp_seconds",
			"When a certificate the platform uses with an API server expires (certificate: serving, client), in seconds since the epoch.",
			"cluster", "apiserver", "certificate"),
		evaluationHist: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "paasdiag_evaluation_duration_seconds",
			Help: "How long one evaluation of a diagnosis took, all checks included.", Buckets: buckets}),
		lateness: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "paasdiag_evaluation_lateness_seconds",
			Help:    "How late a scheduled evaluation started after the time it was scheduled for (its interval and the deliberate jitter of up to 1%).",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2, 5, 10, 30, 60, 120}}),
		checkDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "paasdiag_check_duration_seconds",
			Help: "How long one check took.", Buckets: buckets}, []string{"check"}),
		evaluationsDone: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "paasdiag_evaluations_total",
			Help: "Evaluations by result (the Ready condition's status)."}, []string{"ready"}),
		statusWrites: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "paasdiag_status_write_errors_total",
			Help: "Status writes the API server refused, by the kind of refusal (Invalid, RequestEntityTooLarge, Forbidden, Other); a reduced status is written after each."},
			[]string{"reason"}),
	}
	// Every reason's series exists from the start, at 0: the first refusal is an
	// increase the alert sees.
	for _, reason := range StatusWriteRefusals {
		rec.statusWrites.WithLabelValues(reason)
	}
	return rec
}

// StatusWriteRefusals are the kinds of refused status writes counted.
var StatusWriteRefusals = []string{"Invalid", "RequestEntityTooLarge", "Forbidden", "Other"}

// Collectors lists the metrics, for registration.
func (r *Recorder) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		r.findings.vec, r.condition.vec, r.lastEvaluation.vec, r.poolAvailable.vec, r.poolTotal.vec,
		r.apiserverUp.vec, r.probeDuration.vec, r.certificateExp.vec, r.evaluationHist, r.lateness, r.checkDuration, r.evaluationsDone,
		r.statusWrites,
	}
}

// ObserveEvaluation records one evaluation's duration and each check's.
func (r *Recorder) ObserveEvaluation(total time.Duration, ready string, checks map[string]time.Duration) {
	if r == nil {
		return
	}
	r.evaluationHist.Observe(total.Seconds())
	r.evaluationsDone.WithLabelValues(ready).Inc()
	for name, d := range checks {
		r.checkDuration.WithLabelValues(name).Observe(d.Seconds())
	}
}

// StatusWriteRefused counts a status write the API server refused.
func (r *Recorder) StatusWriteRefused(reason string) {
	if r == nil {
		return
	}
	r.statusWrites.WithLabelValues(reason).Inc()
}

// ObserveLateness records how late a scheduled evaluation started.
func (r *Recorder) ObserveLateness(late time.Duration) {
	if r == nil {
		return
	}
	r.lateness.Observe(max(late, 0).Seconds())
}

// Record sets a diagnosis' series from its status, replacing the previous ones.
func (r *Recorder) Record(d *v1alpha1.PaaSDiagnosis) {
	if r == nil {
		return
	}
	key := types.NamespacedName{Namespace: d.Namespace, Name: d.Name}
	id := []string{d.Namespace, d.Name}
	s := d.Status

	counts := map[[2]string]float64{}
	for _, f := range s.Findings {
		code := f.Code
		if code == "" {
			code = "none"
		}
		counts[[2]string{code, string(f.Severity)}]++
	}
	// status.codes is complete whatever the findings list holds (cut to its cap, or left
	// out of a reduced status): an active code always has its Error series, so the code
	// alerts stay right.
	for _, code := range s.Codes {
		if k := [2]string{code, string(v1alpha1.SeverityError)}; counts[k] == 0 {
			counts[k] = 1
		}
	}
	var findings []series
	for k, n := range counts {
		findings = append(findings, series{append(id, k[0], k[1]), n})
	}
	r.findings.replace(key, findings)

	var conds []series
	for _, c := range s.Conditions {
		for _, st := range []string{"True", "False", "Unknown"} {
			v := 0.0
			if string(c.Status) == st {
				v = 1
			}
			conds = append(conds, series{append(id, c.Type, st), v})
		}
	}
	r.condition.replace(key, conds)

	var last []series
	if s.LastEvaluationTime != nil {
		last = append(last, series{id, float64(s.LastEvaluationTime.Unix())})
	}
	r.lastEvaluation.replace(key, last)

	var avail, total []series
	for _, p := range s.Pools {
		l := append(id, p.Service, p.Plan, p.Tenant)
		avail = append(avail, series{l, float64(p.Available)})
		total = append(total, series{l, float64(p.Total)})
	}
	r.poolAvailable.replace(key, avail)
	r.poolTotal.replace(key, total)

	var up, dur, exp []series
	for _, c := range s.Clusters {
		for _, a := range c.APIServers {
			l := append(id, c.Name, a.URL)
			v := 0.0
			if a.Reachable && a.Reason == "" {
				v = 1
			}
			up = append(up, series{l, v})
			if a.Latency != nil {
				dur = append(dur, series{l, a.Latency.Seconds()})
			}
			if a.ServingCertificateNotAfter != nil {
				exp = append(exp, series{append(l, "serving"), float64(a.ServingCertificateNotAfter.Unix())})
			}
			if a.ClientCertificateNotAfter != nil {
				exp = append(exp, series{append(l, "client"), float64(a.ClientCertificateNotAfter.Unix())})
			}
		}
	}
	r.apiserverUp.replace(key, up)
	r.probeDuration.replace(key, dur)
	r.certificateExp.replace(key, exp)
}

// Forget deletes every series of a deleted diagnosis.
func (r *Recorder) Forget(key types.NamespacedName) {
	if r == nil {
		return
	}
	for _, g := range []*trackedGauge{r.findings, r.condition, r.lastEvaluation, r.poolAvailable, r.poolTotal, r.apiserverUp, r.probeDuration, r.certificateExp} {
		g.replace(key, nil)
	}
}

type series struct {
	labels []string
	value  float64
}

// trackedGauge remembers which series each diagnosis set, so that a new evaluation
// deletes exactly the series that no longer apply (a code that cleared, a plan that
// went away) and a scrape never sees a diagnosis' series missing in between.
type trackedGauge struct {
	vec   *prometheus.GaugeVec
	mu    sync.Mutex
	owned map[types.NamespacedName]map[string][]string
}

func (g *trackedGauge) replace(key types.NamespacedName, next []series) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := make(map[string][]string, len(next))
	for _, s := range next {
		g.vec.WithLabelValues(s.labels...).Set(s.value)
		now[strings.Join(s.labels, "\x00")] = s.labels
	}
	for k, labels := range g.owned[key] {
		if _, still := now[k]; !still {
			g.vec.DeleteLabelValues(labels...)
		}
	}
	if len(now) == 0 {
		delete(g.owned, key)
		return
	}
	g.owned[key] = now
}
