//go:build integration

// Package manifests tests what is shipped under config/: the kustomize builds and the
// alert rules, with the real tools (kubectl's kustomize, Prometheus' promtool).
package manifests

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/metrics"
	"github.com/paasdiag/paasdiag/internal/testsupport/kubectl"
)

// The CRD's default worker log patterns are v1alpha1.DefaultWorkerLogPatterns, which
// the WL03 conformance test checks against the platform's lines.
func TestCRDDefaultWorkerLogPatterns(t *testing.T) {
	raw, err := os.ReadFile(root("config", "crd", "bases", "diagnosis.paasdiag.io_paasdiagnoses.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var crd struct {
		Spec struct {
			Versions []struct {
				Schema struct {
					OpenAPIV3Schema struct {
						Properties map[string]struct {
							Properties map[string]struct {
								Properties map[string]struct {
									Default any `json:"default"`
								} `json:"properties"`
							} `json:"properties"`
						} `json:"properties"`
					} `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(raw, &crd); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["workerLogs"].Properties["patterns"].Default)
	if want := fmt.Sprint(v1alpha1.DefaultWorkerLogPatterns); got != want {
		t.Errorf("CRD default %q, want %q", got, v1alpha1.DefaultWorkerLogPatterns)
	}
}

// build runs kubectl kustomize and splits the documents.
func build(t *testing.T, dir string) []map[string]any {
	t.Helper()
	out, err := exec.Command(kubectl.Path(), "kustomize", root("config", dir)).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl kustomize config/%s: %v\n%s", dir, err, out)
	}
	var docs []map[string]any
	for _, raw := range bytes.Split(out, []byte("\n---\n")) {
		var doc map[string]any
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		docs = append(docs, doc)
	}
	return docs
}

func TestDefaultInstallsExactlyWhatPaaSDiagNeeds(t *testing.T) {
	docs := build(t, "default")
	var kinds []string
	var deployment appsv1.Deployment
	for _, d := range docs {
		kinds = append(kinds, d["kind"].(string))
		if d["kind"] == "Deployment" {
			raw, _ := yaml.Marshal(d)
			if err := yaml.Unmarshal(raw, &deployment); err != nil {
				t.Fatal(err)
			}
		}
	}
	sort.Strings(kinds)
	// The manager's ClusterRole, the viewer's and the editor's (for people) and the
	// metrics reader's (for scrapers).
	want := []string{"ClusterRole", "ClusterRole", "ClusterRole", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "Deployment", "Namespace", "Role", "RoleBinding", "ServiceAccount"}
	if strings.Join(kinds, ",") != strings.Join(want, ",") {
		t.Fatalf("config/default builds %v, want %v", kinds, want)
	}

	pod := deployment.Spec.Template.Spec
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		t.Error("the pod does not run as non-root")
	}
	if pod.ServiceAccountName != "paasdiag-controller-manager" {
		t.Errorf("service account %q", pod.ServiceAccountName)
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("the container's root filesystem is writable or it may escalate privileges")
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Error("the container lacks resource requests or limits")
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Error("the container lacks its probes")
	}
	if !strings.Contains(strings.Join(c.Args, " "), "--leader-elect") {
		t.Error("leader election is off")
	}
	for _, d := range docs {
		if md, ok := d["metadata"].(map[string]any); ok && md["namespace"] != nil && md["namespace"] != "paasdiag-system" {
			t.Errorf("%s in namespace %v", d["kind"], md["namespace"])
		}
	}
}

// The roles for people: viewing diagnoses comes with `view`; writing one does not come
// with `edit` or `admin` (it borrows paasdiag's rights: granted knowingly).
func TestRolesForPeople(t *testing.T) {
	roles := map[string]map[string]any{}
	for _, d := range build(t, "default") {
		if d["kind"] == "ClusterRole" {
			md := d["metadata"].(map[string]any)
			roles[md["name"].(string)] = d
		}
	}
	labels := func(name string) map[string]any {
		r, ok := roles[name]
		if !ok {
			t.Fatalf("no ClusterRole %s in config/default", name)
		}
		l, _ := r["metadata"].(map[string]any)["labels"].(map[string]any)
		return l
	}
	if labels("paasdiag-viewer")["rbac.authorization.k8s.io/aggregate-to-view"] != "true" {
		t.Error("paasdiag-viewer is not aggregated into view")
	}
	for k := range labels("paasdiag-editor") {
		if strings.HasPrefix(k, "rbac.authorization.k8s.io/aggregate-to-") {
			t.Errorf("paasdiag-editor is aggregated (%s): writing a diagnosis must be granted knowingly", k)
		}
	}
	for name, verbs := range map[string]string{"paasdiag-viewer": "get,list,watch", "paasdiag-editor": "get,list,watch,create,update,patch,delete"} {
		raw, _ := yaml.Marshal(roles[name]["rules"])
		if !strings.Contains(string(raw), "paasdiagnoses") {
			t.Errorf("%s does not cover paasdiagnoses: %s", name, raw)
		}
		for _, v := range strings.Split(verbs, ",") {
			if !strings.Contains(string(raw), "- "+v+"\n") {
				t.Errorf("%s lacks %s: %s", name, v, raw)
			}
		}
	}
	// The admission policy is its own build, outside config/default (older API servers).
	var kinds []string
	for _, d := range build(t, "admission") {
		kinds = append(kinds, d["kind"].(string))
	}
	sort.Strings(kinds)
	if strings.Join(kinds, ",") != "ValidatingAdmissionPolicy,ValidatingAdmissionPolicyBinding" {
		t.Errorf("config/admission builds %v", kinds)
	}
}

// The metrics endpoint is HTTPS with authentication and authorization (the manager's
// default), and everything around it agrees: the Deployment's port, the Service, the
// ServiceMonitor (Prometheus' token over HTTPS), the manager's right to check a token
// and a scraper's rights, and the metrics reader ClusterRole scrapers are bound to,
// which grants get on /metrics and nothing else, and is bound to no one by config/.
func TestMetricsAreServedSecurely(t *testing.T) {
	docs := build(t, "default")
	find := func(docs []map[string]any, kind, name string) map[string]any {
		t.Helper()
		for _, d := range docs {
			if d["kind"] == kind && d["metadata"].(map[string]any)["name"] == name {
				return d
			}
		}
		t.Fatalf("no %s %s", kind, name)
		return nil
	}
	var deployment appsv1.Deployment
	raw, _ := yaml.Marshal(find(docs, "Deployment", "paasdiag-controller-manager"))
	if err := yaml.Unmarshal(raw, &deployment); err != nil {
		t.Fatal(err)
	}
	c := deployment.Spec.Template.Spec.Containers[0]
	port := int32(0)
	for _, p := range c.Ports {
		if p.Name == "metrics" {
			port = p.ContainerPort
		}
	}
	args := strings.Join(c.Args, " ")
	if port != 8443 || !strings.Contains(args, fmt.Sprintf("--metrics-bind-address=:%d", port)) {
		t.Errorf("metrics port %d, args %s: want --metrics-bind-address=:8443 on the port named metrics", port, args)
	}
	if strings.Contains(args, "--metrics-secure") {
		t.Errorf("args %s: the manager's default (HTTPS, authorized) is what config/ deploys", args)
	}

	rules := func(d map[string]any) string {
		raw, _ := yaml.Marshal(d["rules"])
		return string(raw)
	}
	reader := find(docs, "ClusterRole", "paasdiag-metrics-reader")
	if got, want := rules(reader), "- nonResourceURLs:\n  - /metrics\n  verbs:\n  - get\n"; got != want {
		t.Errorf("paasdiag-metrics-reader grants\n%s\nwant\n%s", got, want)
	}
	for _, d := range docs {
		if ref, ok := d["roleRef"].(map[string]any); ok && ref["name"] == "paasdiag-metrics-reader" {
			t.Errorf("config/default binds paasdiag-metrics-reader (%s): only the user knows who scrapes", d["metadata"].(map[string]any)["name"])
		}
	}
	manager := rules(find(docs, "ClusterRole", "paasdiag-manager-role"))
	for _, want := range []string{"- authentication.k8s.io\n  resources:\n  - tokenreviews\n  verbs:\n  - create\n",
		"- authorization.k8s.io\n  resources:\n  - subjectaccessreviews\n  verbs:\n  - create\n"} {
		if !strings.Contains(manager, want) {
			t.Errorf("the manager's ClusterRole lacks\n%s", want)
		}
	}
	if strings.Contains(manager, "nonResourceURLs") {
		t.Errorf("the manager's ClusterRole grants non-resource URLs:\n%s", manager)
	}

	prometheus := build(t, "prometheus")
	service := find(prometheus, "Service", "paasdiag-controller-manager-metrics")
	sp := service["spec"].(map[string]any)["ports"].([]any)[0].(map[string]any)
	if sp["port"] != float64(port) || sp["targetPort"] != "metrics" {
		t.Errorf("the metrics Service's port %v", sp)
	}
	monitor := find(prometheus, "ServiceMonitor", "paasdiag")
	endpoint := monitor["spec"].(map[string]any)["endpoints"].([]any)[0].(map[string]any)
	if endpoint["scheme"] != "https" || endpoint["port"] != sp["name"] ||
		endpoint["bearerTokenFile"] != "/var/run/secrets/kubernetes.io/serviceaccount/token" {
		t.Errorf("the ServiceMonitor's endpoint %v: want https on the Service's port with Prometheus' token", endpoint)
	}
}

func TestPrometheusConfigBuilds(t *testing.T) {
	var kinds []string
	for _, d := range build(t, "prometheus") {
		kinds = append(kinds, d["kind"].(string))
	}
	sort.Strings(kinds)
	if strings.Join(kinds, ",") != "PrometheusRule,Service,ServiceMonitor" {
		t.Errorf("config/prometheus builds %v", kinds)
	}
}

// exported returns the series a real metrics recorder exports for a diagnosis, in
// promtool's series notation.
func exported(t *testing.T, d *v1alpha1.PaaSDiagnosis) []string {
	t.Helper()
	reg := prometheus.NewRegistry()
	r := metrics.NewRecorder()
	reg.MustRegister(r.Collectors()...)
	r.Record(d)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range families {
		for _, m := range f.Metric {
			if m.Gauge == nil {
				continue
			}
			var labels []string
			for _, l := range m.Label {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			out = append(out, fmt.Sprintf("%s{%s}\t%g", f.GetName(), strings.Join(labels, ","), m.Gauge.GetValue()))
		}
	}
	return out
}

type series struct {
	Series string `json:"series"`
	Values string `json:"values"`
}

type alert struct {
	ExpLabels      map[string]string `json:"exp_labels"`
	ExpAnnotations map[string]string `json:"exp_annotations,omitempty"`
}

type alertCase struct {
	EvalTime  string  `json:"eval_time"`
	Alertname string  `json:"alertname"`
	ExpAlerts []alert `json:"exp_alerts"`
}

type testGroup struct {
	Interval   string      `json:"interval"`
	InputSerie []series    `json:"input_series"`
	AlertTests []alertCase `json:"alert_rule_test"`
}

// inputs turns exported series into promtool input series, constant for an hour.
func inputs(t *testing.T, d *v1alpha1.PaaSDiagnosis, extra ...series) []series {
	var out []series
	for _, s := range exported(t, d) {
		name, value, _ := strings.Cut(s, "\t")
		out = append(out, series{Series: name, Values: value + "+0x60"})
	}
	return append(out, extra...)
}

func diagnosisWith(findings ...v1alpha1.Finding) *v1alpha1.PaaSDiagnosis {
	status := metav1.ConditionTrue
	for _, f := range findings {
		if f.Severity == v1alpha1.SeverityError {
			status = metav1.ConditionFalse
		}
	}
	// A last evaluation at the epoch: "now" in promtool's clock, which starts there.
	epoch := metav1.NewTime(time.Unix(0, 0))
	return &v1alpha1.PaaSDiagnosis{
		ObjectMeta: metav1.ObjectMeta{Namespace: "blueking", Name: "bkpaas3"},
		Status: v1alpha1.PaaSDiagnosisStatus{
			LastEvaluationTime: &epoch,
			Conditions:         []metav1.Condition{{Type: "Ready", Status: status}},
			Findings:           findings,
		},
	}
}

var scraped = series{Series: `up{job="paasdiag-controller-manager-metrics"}`, Values: "1+0x60"}

func codeAlert(code string) []alert {
	return []alert{{ExpLabels: map[string]string{"namespace": "blueking", "name": "bkpaas3", "code": code, "severity": "critical"}}}
}

func TestAlertRulesWithPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool is not installed: run hack/promtool.sh (make test does)")
	}
	raw, err := os.ReadFile(root("config", "prometheus", "prometheusrule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rule struct {
		Spec map[string]any `json:"spec"`
	}
	if err := yaml.Unmarshal(raw, &rule); err != nil {
		t.Fatal(err)
	}
	annotations := ruleAnnotations(t, raw)
	dir := t.TempDir()
	rules, _ := yaml.Marshal(rule.Spec)
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), rules, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", filepath.Join(dir, "rules.yaml")).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}

	poolEmpty := diagnosisWith(v1alpha1.Finding{Code: "4313022", Severity: v1alpha1.SeverityError})
	forbidden := diagnosisWith(v1alpha1.Finding{Code: "4313021", Severity: v1alpha1.SeverityError})
	expiring := diagnosisWith(v1alpha1.Finding{Code: "4313021", Severity: v1alpha1.SeverityWarning})
	unknown := diagnosisWith(v1alpha1.Finding{Severity: v1alpha1.SeverityUnknown})
	unknown.Status.Conditions[0].Status = metav1.ConditionUnknown
	healthy := diagnosisWith()
	recent := healthy.DeepCopy()

	groups := []testGroup{
		{Interval: "1m", InputSerie: inputs(t, poolEmpty, scraped), AlertTests: []alertCase{
			{EvalTime: "1m", Alertname: "PaaSDiag4313022ResourcePoolIsEmpty"},
			{EvalTime: "3m", Alertname: "PaaSDiag4313022ResourcePoolIsEmpty", ExpAlerts: codeAlert("4313022")},
			{EvalTime: "3m", Alertname: "PaaSDiag4313021CannotGetClusterInfo"},
		}},
		{Interval: "1m", InputSerie: inputs(t, forbidden, scraped), AlertTests: []alertCase{
			{EvalTime: "4m", Alertname: "PaaSDiag4313021CannotGetClusterInfo"},
			{EvalTime: "6m", Alertname: "PaaSDiag4313021CannotGetClusterInfo", ExpAlerts: codeAlert("4313021")},
			{EvalTime: "6m", Alertname: "PaaSDiagPredictedFailure"},
		}},
		{Interval: "1m", InputSerie: inputs(t, expiring, scraped), AlertTests: []alertCase{
			{EvalTime: "20m", Alertname: "PaaSDiagPredictedFailure", ExpAlerts: []alert{{ExpLabels: map[string]string{
				"namespace": "blueking", "name": "bkpaas3", "code": "4313021", "severity": "warning"}}}},
			{EvalTime: "20m", Alertname: "PaaSDiag4313021CannotGetClusterInfo"},
		}},
		{Interval: "1m", InputSerie: inputs(t, unknown, scraped), AlertTests: []alertCase{
			{EvalTime: "20m", Alertname: "PaaSDiagCannotTell", ExpAlerts: []alert{{ExpLabels: map[string]string{
				"namespace": "blueking", "name": "bkpaas3", "type": "Ready", "status": "Unknown", "severity": "warning"}}}},
			{EvalTime: "20m", Alertname: "PaaSDiag4313021CannotGetClusterInfo"},
			{EvalTime: "20m", Alertname: "PaaSDiag4313022ResourcePoolIsEmpty"},
		}},
		// The last evaluation stays at time 0 while the clock runs on: stale after
		// ten minutes, alerting five later.
		{Interval: "1m", InputSerie: inputs(t, recent, scraped), AlertTests: []alertCase{
			{EvalTime: "9m", Alertname: "PaaSDiagEvaluationStale"},
			{EvalTime: "17m", Alertname: "PaaSDiagEvaluationStale", ExpAlerts: []alert{{ExpLabels: map[string]string{
				"namespace": "blueking", "name": "bkpaas3", "severity": "warning"}}}},
			{EvalTime: "17m", Alertname: "PaaSDiagControllerAbsent"},
		}},
		// One refused write at minute 2 (the series exists at 0 from the start): the
		// alert fires at once, and clears once 15 minutes have passed without another.
		{Interval: "1m", InputSerie: []series{scraped, {Series: `paasdiag_status_write_errors_total{reason="Invalid"}`, Values: "0 0 1+0x40"}}, AlertTests: []alertCase{
			{EvalTime: "1m", Alertname: "PaaSDiagStatusWriteRefused"},
			{EvalTime: "5m", Alertname: "PaaSDiagStatusWriteRefused", ExpAlerts: []alert{{ExpLabels: map[string]string{"reason": "Invalid", "severity": "warning"}}}},
			{EvalTime: "30m", Alertname: "PaaSDiagStatusWriteRefused"},
		}},
		{Interval: "1m", InputSerie: inputs(t, healthy), AlertTests: []alertCase{
			{EvalTime: "5m", Alertname: "PaaSDiagControllerAbsent"},
			{EvalTime: "11m", Alertname: "PaaSDiagControllerAbsent", ExpAlerts: []alert{{ExpLabels: map[string]string{"severity": "warning"}}}},
		}},
	}
	// The annotations as Prometheus renders them: the rule's templates with the alert's
	// labels (and, for the stale alert, its value: 17 minutes since the last evaluation).
	for gi := range groups {
		for ci, c := range groups[gi].AlertTests {
			for ai, a := range c.ExpAlerts {
				rendered := map[string]string{}
				for k, v := range annotations[c.Alertname] {
					for label, value := range a.ExpLabels {
						v = strings.ReplaceAll(v, "{{ $labels."+label+" }}", value)
					}
					rendered[k] = strings.ReplaceAll(v, "{{ $value | humanizeDuration }}", "17m 0s")
				}
				groups[gi].AlertTests[ci].ExpAlerts[ai].ExpAnnotations = rendered
			}
		}
	}
	tests, err := yaml.Marshal(map[string]any{"rule_files": []string{"rules.yaml"}, "evaluation_interval": "1m", "tests": groups})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tests.yaml"), tests, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "test", "rules", filepath.Join(dir, "tests.yaml")).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool test rules: %v\n%s\n%s", err, out, tests)
	}
	t.Logf("%s", out)
}

// ruleAnnotations reads each alert's annotation templates from the PrometheusRule.
func ruleAnnotations(t *testing.T, raw []byte) map[string]map[string]string {
	t.Helper()
	var rule struct {
		Spec struct {
			Groups []struct {
				Rules []struct {
					Alert       string            `json:"alert"`
					Annotations map[string]string `json:"annotations"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(raw, &rule); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, g := range rule.Spec.Groups {
		for _, r := range g.Rules {
			out[r.Alert] = r.Annotations
		}
	}
	for _, code := range []string{"4313021", "4313022"} {
		found := false
		for name, a := range out {
			if strings.Contains(name, code) && strings.Contains(a["runbook"], "admin console") {
				found = true
			}
		}
		if !found {
			t.Errorf("no alert for %s with the remediation in its annotations", code)
		}
	}
	return out
}
