// Command promrules writes config/prometheus/prometheusrule.yaml, the alert rules for
// paasdiag's metrics. It is generated (by `make manifests`) so that each alert's
// remediation comes from the error-code catalog, the one place a code's text is
// written.
//
//	go run ./hack/promrules > config/prometheus/prometheusrule.yaml
package main

import (
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/paasdiag/paasdiag/internal/errorcodes"
)

type rule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// codeAlerts are the alerts for the codes paasdiag diagnoses, with how long a failure
// must last before it pages: a pool is empty until someone refills it, so a shorter
// wait; cluster access can blip.
var codeAlerts = []struct {
	code, alert, wait string
}{
	{errorcodes.CannotGetClusterInfo, "PaaSDiag4313021CannotGetClusterInfo", "5m"},
	{errorcodes.ResourcePoolIsEmpty, "PaaSDiag4313022ResourcePoolIsEmpty", "2m"},
	{errorcodes.ObjectStoreException, "PaaSDiag4312011ObjectStoreException", "5m"},
	{errorcodes.FailedToPushImage, "PaaSDiag4314004FailedToPushImage", "5m"},
}

// dependencyConditions are the conditions of the other infrastructure; a failure
// there without a code (a missing package, a provider down, a build registry refusing
// push) alerts on the condition.
var dependencyConditions = "BlobStoreAvailable|SmartRegistryAvailable|RemoteServicesAvailable|AppImageRegistryAvailable"

func main() {
	var rules []rule
	for _, a := range codeAlerts {
		c := errorcodes.Must(a.code)
		steps := make([]string, len(c.Steps))
		for i, s := range c.Steps {
			steps[i] = fmt.Sprintf("%d. %s", i+1, s)
		}
		rules = append(rules, rule{
			Alert:  a.alert,
			Expr:   fmt.Sprintf(`max by (namespace, name) (paasdiag_findings{code="%s", severity="Error"}) > 0`, c.Number),
			For:    a.wait,
			Labels: map[string]string{"severity": "critical", "code": c.Number},
			Annotations: map[string]string{
				"summary": fmt.Sprintf("%s %s (%s): deploys on bkpaas3 will fail", c.Number, c.Chinese, c.English),
				"description": fmt.Sprintf("PaaSDiagnosis {{ $labels.namespace }}/{{ $labels.name }} reports %s %s. %s. "+
					"See `kubectl describe paasdiagnosis -n {{ $labels.namespace }} {{ $labels.name }}` for the findings.", c.Number, c.Chinese, c.Remediation),
				"runbook": strings.Join(steps, "\n"),
			},
		})
	}
	rules = append(rules,
		rule{
			Alert:  "PaaSDiagPredictedFailure",
			Expr:   `max by (namespace, name, code) (paasdiag_findings{severity="Warning", code!="none"}) > 0`,
			For:    "15m",
			Labels: map[string]string{"severity": "warning"},
			Annotations: map[string]string{
				"summary":     "bkpaas3 will fail with {{ $labels.code }} soon",
				"description": "PaaSDiagnosis {{ $labels.namespace }}/{{ $labels.name }} predicts {{ $labels.code }}: a certificate is about to expire, a pool is about to run dry, the apiserver needs a restart, or a remote service provider would refuse an unbind. See the diagnosis' Warning findings.",
			},
		},
		rule{
			Alert:  "PaaSDiagDependencyFailing",
			Expr:   fmt.Sprintf(`max by (namespace, name, type) (paasdiag_condition{type=~"%s", status="False"}) == 1`, dependencyConditions),
			For:    "10m",
			Labels: map[string]string{"severity": "critical"},
			Annotations: map[string]string{
				"summary":     "bkpaas3 deploys, builds or S-mart imports will fail: {{ $labels.type }} is False",
				"description": "PaaSDiagnosis {{ $labels.namespace }}/{{ $labels.name }} reports {{ $labels.type }} False: the blob store, the S-mart registry, a remote service provider or an app image registry fails, often without a platform error code (the deploy log shows 构建失败 or 配置资源实例异常). See the condition's message and the findings.",
			},
		},
		rule{
			Alert:  "PaaSDiagCannotTell",
			Expr:   `paasdiag_condition{type="Ready", status="Unknown"} == 1`,
			For:    "15m",
			Labels: map[string]string{"severity": "warning"},
			Annotations: map[string]string{
				"summary":     "paasdiag cannot tell whether bkpaas3 deploys would succeed",
				"description": "PaaSDiagnosis {{ $labels.namespace }}/{{ $labels.name }} has been Unknown for 15 minutes (a database unreachable, a timeout, a Secret missing). See its Ready condition.",
			},
		},
		rule{
			Alert:  "PaaSDiagEvaluationStale",
			Expr:   `time() - paasdiag_last_evaluation_timestamp_seconds > 600`,
			For:    "5m",
			Labels: map[string]string{"severity": "warning"},
			Annotations: map[string]string{
				"summary":     "A PaaSDiagnosis has not been evaluated for over 10 minutes",
				"description": "PaaSDiagnosis {{ $labels.namespace }}/{{ $labels.name }} was last evaluated {{ $value | humanizeDuration }} ago: it is suspended, its spec is invalid (Stalled, InvalidSpec), or the controller is stuck. Its verdict is out of date.",
			},
		},
		rule{
			Alert:  "PaaSDiagStatusWriteRefused",
			Expr:   `sum by (reason) (increase(paasdiag_status_write_errors_total[15m])) > 0`,
			Labels: map[string]string{"severity": "warning"},
			Annotations: map[string]string{
				"summary":     "The API server refused a PaaSDiagnosis status",
				"description": "The API server refused status writes in the last 15 minutes ({{ $labels.reason }}): paasdiag wrote a reduced status (conditions, codes and summary; status.reduced says why), so the findings, clusters and pools are not listed. See the StatusWriteRefused events and the manager's log.",
			},
		},
		rule{
			Alert:  "PaaSDiagControllerAbsent",
			Expr:   `absent(up{job="paasdiag-controller-manager-metrics"} == 1)`,
			For:    "10m",
			Labels: map[string]string{"severity": "warning"},
			Annotations: map[string]string{
				"summary":     "The paasdiag controller is not running or not scraped",
				"description": "No paasdiag manager has been scraped for 10 minutes: bkpaas3 is not being watched.",
			},
		},
	)
	out := map[string]any{
		"apiVersion": "monitoring.coreos.com/v1",
		"kind":       "PrometheusRule",
		"metadata": map[string]any{
			"name":   "paasdiag",
			"labels": map[string]string{"app.kubernetes.io/name": "paasdiag"},
		},
		"spec": map[string]any{"groups": []any{map[string]any{"name": "paasdiag", "rules": rules}}},
	}
	raw, err := yaml.Marshal(out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Print("# Generated by `make manifests` (hack/promrules) from the error-code catalog. DO NOT EDIT.\n" + string(raw))
}
