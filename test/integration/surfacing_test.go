//go:build integration

package integration

import (
	"context"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
)

// What operators see besides status: events on transitions only, and the metrics
// Prometheus scrapes from the running manager.

// diagnosisEvents lists the events regarding a diagnosis, and how often each was
// emitted (an event repeated in a series counts each time).
func diagnosisEvents(key types.NamespacedName) ([]eventsv1.Event, int) {
	GinkgoHelper()
	var list eventsv1.EventList
	Expect(k8sClient.List(context.Background(), &list, client.InNamespace(key.Namespace))).To(Succeed())
	var out []eventsv1.Event
	emitted := 0
	for _, e := range list.Items {
		if e.Regarding.Kind == "PaaSDiagnosis" && e.Regarding.Name == key.Name {
			out = append(out, e)
			emitted++
			if e.Series != nil {
				emitted += int(e.Series.Count) - 1
			}
		}
	}
	return out, emitted
}

// scrape reads the manager's metrics endpoint, as Prometheus does.
func scrape() map[string]*dto.MetricFamily {
	GinkgoHelper()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(metricsText()))
	Expect(err).NotTo(HaveOccurred())
	return families
}

// sample finds the value of the series of a family whose labels include want; ok is
// false when there is none.
func sample(families map[string]*dto.MetricFamily, family string, want map[string]string) (float64, bool) {
	f := families[family]
	if f == nil {
		return 0, false
	}
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			if labels[k] != v {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		}
	}
	return 0, false
}

var _ = Describe("Events", func() {
	It("are emitted when a code becomes active and when it clears, and never while nothing changes", func() {
		p := newPooled(false)
		shared, exclusive := p.redisPlans()
		last := must(p.platform.Instances(shared, 1, false, "fifo"))
		must(p.platform.Instances(exclusive, 1, false, "fifo"))
		p.watch(1)
		waitForCondition(p.key, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		evs, _ := diagnosisEvents(p.key)
		Expect(evs).To(BeEmpty(), "a healthy first evaluation is not news")

		By("the pool runs dry")
		Expect(p.platform.Allocate(last[0])).To(Succeed())
		waitForCondition(p.key, v1alpha1.ConditionInstancePoolAvailable, metav1.ConditionFalse, "PoolEmpty")
		Eventually(func(g Gomega) {
			evs, _ := diagnosisEvents(p.key)
			g.Expect(evs).To(HaveLen(1))
			g.Expect(evs[0].Type).To(Equal("Warning"))
			g.Expect(evs[0].Reason).To(Equal("PoolEmpty"))
			g.Expect(evs[0].Note).To(HavePrefix("[4313022] 资源池为空"))
			g.Expect(evs[0].ReportingController).To(Equal("paasdiag"))
		}).WithTimeout(10 * time.Second).Should(Succeed())

		By("several evaluations of the same state emit nothing")
		first := fetch(p.key).Status.LastEvaluationTime
		waitFor(p.key, 40*time.Second, func(g Gomega, d *v1alpha1.PaaSDiagnosis) {
			g.Expect(d.Status.LastEvaluationTime.Time).To(BeTemporally(">=", first.Add(20*time.Second)), "two more evaluations")
		})
		_, emitted := diagnosisEvents(p.key)
		Expect(emitted).To(Equal(1))

		By("the pool is refilled")
		must(p.platform.Instances(shared, 1, false, "fifo"))
		waitForCondition(p.key, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		Eventually(func(g Gomega) {
			evs, emitted := diagnosisEvents(p.key)
			g.Expect(emitted).To(Equal(2))
			var normal []eventsv1.Event
			for _, e := range evs {
				if e.Type == "Normal" {
					normal = append(normal, e)
				}
			}
			g.Expect(normal).To(HaveLen(1))
			g.Expect(normal[0].Reason).To(Equal(v1alpha1.ReasonSucceeded))
			g.Expect(normal[0].Note).To(HavePrefix("[4313022] 资源池为空 cleared"))
		}).WithTimeout(10 * time.Second).Should(Succeed())
	})
})

var _ = Describe("Metrics on the manager's endpoint", func() {
	It("carry codes, condition states, pools and API servers, and go with the diagnosis", func() {
		p := newPooled(false)
		shared, exclusive := p.redisPlans()
		must(p.platform.Instances(shared, 2, true, "fifo"))
		must(p.platform.Instances(exclusive, 3, false, "fifo"))
		token := must(app.TokenUser(uniqueName("bkpaas-metrics"), "cluster-admin"))
		createSecret(p.key.Namespace, "app-cluster", map[string]string{"ca.crt": string(app.CA), "token": token})
		d := &v1alpha1.PaaSDiagnosis{
			ObjectMeta: metav1.ObjectMeta{Namespace: p.key.Namespace, Name: p.key.Name},
			Spec: v1alpha1.PaaSDiagnosisSpec{
				Interval: metav1.Duration{Duration: 10 * time.Second}, Timeout: metav1.Duration{Duration: 3 * time.Second},
				Clusters:         []v1alpha1.ClusterTarget{target("default-main", "app-cluster", app.URL)},
				PlatformDatabase: &v1alpha1.PlatformDatabase{DefaultDSNSecretRef: &v1alpha1.SecretKeyReference{Name: "bkpaas3-db", Key: "dsn"}},
				InstancePools:    &v1alpha1.InstancePoolsCheck{MinAvailable: 1},
			},
		}
		create(d)
		waitForCondition(p.key, v1alpha1.ConditionInstancePoolAvailable, metav1.ConditionFalse, "PoolEmpty")

		id := map[string]string{"namespace": p.key.Namespace, "name": p.key.Name}
		with := func(extra ...string) map[string]string {
			m := map[string]string{"namespace": p.key.Namespace, "name": p.key.Name}
			for i := 0; i < len(extra); i += 2 {
				m[extra[i]] = extra[i+1]
			}
			return m
		}
		Eventually(func(g Gomega) {
			m := scrape()
			v, ok := sample(m, "paasdiag_findings", with("code", "4313022", "severity", "Error"))
			g.Expect(ok).To(BeTrue(), "findings series")
			g.Expect(v).To(Equal(1.0))
			v, _ = sample(m, "paasdiag_condition", with("type", "Ready", "status", "False"))
			g.Expect(v).To(Equal(1.0))
			v, _ = sample(m, "paasdiag_condition", with("type", "Ready", "status", "True"))
			g.Expect(v).To(Equal(0.0))
			v, _ = sample(m, "paasdiag_condition", with("type", "ClusterReachable", "status", "True"))
			g.Expect(v).To(Equal(1.0))
			v, _ = sample(m, "paasdiag_pool_available_instances", with("service", "redis", "plan", "0shared", "tenant", "default"))
			g.Expect(v).To(Equal(0.0))
			v, _ = sample(m, "paasdiag_pool_available_instances", with("plan", "1exclusive"))
			g.Expect(v).To(Equal(3.0))
			v, _ = sample(m, "paasdiag_pool_instances", with("plan", "0shared"))
			g.Expect(v).To(Equal(2.0))
			v, _ = sample(m, "paasdiag_apiserver_up", with("cluster", "default-main", "apiserver", app.URL))
			g.Expect(v).To(Equal(1.0))
			v, ok = sample(m, "paasdiag_certificate_expiry_timestamp_seconds", with("cluster", "default-main", "certificate", "serving"))
			g.Expect(ok).To(BeTrue())
			g.Expect(v).To(BeNumerically(">", float64(time.Now().Unix())))
			v, _ = sample(m, "paasdiag_last_evaluation_timestamp_seconds", id)
			g.Expect(v).To(BeNumerically(">", float64(time.Now().Add(-time.Minute).Unix())))
			g.Expect(m).To(HaveKey("paasdiag_evaluation_duration_seconds"))
			g.Expect(m).To(HaveKey("paasdiag_check_duration_seconds"))
			g.Expect(m).To(HaveKey("paasdiag_apiserver_probe_duration_seconds"))
		}).WithTimeout(10 * time.Second).Should(Succeed())

		By("no label carries free text or a secret")
		for name, f := range scrape() {
			if !strings.HasPrefix(name, "paasdiag_") {
				continue
			}
			for _, m := range f.Metric {
				for _, l := range m.Label {
					Expect(l.GetValue()).NotTo(ContainSubstring(" "), "%s{%s}", name, l.GetName())
					Expect(l.GetValue()).NotTo(ContainSubstring(p.password))
					Expect(l.GetValue()).NotTo(ContainSubstring(token))
				}
			}
		}

		By("the diagnosis is deleted: its series go")
		Expect(k8sClient.Delete(context.Background(), fetch(p.key))).To(Succeed())
		Eventually(func(g Gomega) {
			m := scrape()
			for _, family := range []string{"paasdiag_findings", "paasdiag_condition", "paasdiag_pool_available_instances",
				"paasdiag_apiserver_up", "paasdiag_last_evaluation_timestamp_seconds", "paasdiag_certificate_expiry_timestamp_seconds"} {
				_, ok := sample(m, family, id)
				g.Expect(ok).To(BeFalse(), fmt.Sprintf("%s still has a series of the deleted diagnosis", family))
			}
		}).WithTimeout(10 * time.Second).Should(Succeed())
	})
})
