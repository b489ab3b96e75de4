//go:build integration

package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/check"
	kubectlrun "github.com/paasdiag/paasdiag/internal/testsupport/kubectl"
)

// largeResults scripts what a large installation's checks return: findings, clusters
// and pools well past their caps, every string past its maximum length.
func largeResults(key types.NamespacedName, clusters, servers, pools, findings int) {
	long := func(prefix string, n int) string { return prefix + strings.Repeat("x", n) }
	pool := check.Result{Status: check.Fail, Reason: "PoolEmpty", Message: long("[4313022] 资源池为空: ", 40000)}
	for i := 0; i < findings; i++ {
		pool.Findings = append(pool.Findings, check.Finding{Check: long(fmt.Sprintf("pool/%d/", i), 700), Severity: v1alpha1.SeverityError,
			Code: "4313022", Reason: long("PoolEmpty", 80), Message: long("[4313022] 资源池为空: ", 3000)})
	}
	pool.Details = func(s *v1alpha1.PaaSDiagnosisStatus) {
		for p := 0; p < pools; p++ {
			s.Pools = append(s.Pools, v1alpha1.PoolStatus{Service: long("redis", 400), Plan: long(fmt.Sprintf("p%05d", p), 400),
				Tenant: long("t", 400), Available: int32(p % 3), Total: 5})
		}
		s.Summary.PlansChecked += int32(pools)
	}
	cluster := check.Result{Status: check.Fail, Reason: v1alpha1.ReasonConnectionRefused, Message: "[4313021] 获取集群信息失败"}
	cluster.Findings = []check.Finding{{Check: "cluster/c0", Severity: v1alpha1.SeverityError, Code: "4313021", Reason: v1alpha1.ReasonConnectionRefused, Message: "refused"}}
	cluster.Details = func(s *v1alpha1.PaaSDiagnosisStatus) {
		for c := 0; c < clusters; c++ {
			cs := v1alpha1.ClusterStatus{Name: long(fmt.Sprintf("c%04d-", c), 400), Source: "Discovered"}
			for a := 0; a < servers; a++ {
				cs.APIServers = append(cs.APIServers, v1alpha1.APIServerStatus{URL: long(fmt.Sprintf("https://10.%d.%d.1/", c, a), 3000),
					Reachable: a%2 == 0, Reason: long("ConnectionRefused", 100), ServerVersion: long("v", 100),
					Latency: &metav1.Duration{Duration: 1234567}})
			}
			s.Clusters = append(s.Clusters, cs)
		}
		s.Summary.ClustersChecked += int32(clusters)
	}
	script.set(key, v1alpha1.ConditionInstancePoolAvailable, pool)
	script.set(key, v1alpha1.ConditionClusterReachable, cluster)
}

var _ = Describe("Status at a large installation's size", func() {
	ctx := context.Background()

	It("is bounded before it is written, and the real API server accepts it", func() {
		ns := newNamespace()
		createInputs(ns)
		key := types.NamespacedName{Namespace: ns, Name: "large"}
		largeResults(key, 500, 20, 5000, 5000)
		Expect(k8sClient.Create(ctx, validDiagnosis(ns, key.Name))).To(Succeed())

		d := waitForCondition(key, v1alpha1.ConditionInstancePoolAvailable, metav1.ConditionFalse, d0Reason())
		raw, err := json.Marshal(d.Status)
		Expect(err).NotTo(HaveOccurred())
		GinkgoWriter.Printf("status of %d bytes: %d findings (+%d), %d clusters (+%d), %d pools (+%d)\n", len(raw),
			len(d.Status.Findings), d.Status.FindingsOmitted, len(d.Status.Clusters), d.Status.ClustersOmitted, len(d.Status.Pools), d.Status.PoolsOmitted)
		Expect(len(raw)).To(BeNumerically("<=", v1alpha1.MaxStatusBytes))
		Expect(len(d.Status.Findings) + int(d.Status.FindingsOmitted)).To(Equal(5001))
		Expect(len(d.Status.Clusters) + int(d.Status.ClustersOmitted)).To(Equal(500))
		Expect(len(d.Status.Pools) + int(d.Status.PoolsOmitted)).To(Equal(5000))
		Expect(d.Status.Pools).NotTo(BeEmpty())
		Expect(d.Status.Pools[0].Available).To(BeZero(), "empty plans first")
		Expect(d.Status.Codes).To(Equal([]string{"4313021", "4313022"}))
		Expect(d.Status.Summary).NotTo(BeNil())
		Expect(d.Status.Summary.PlansChecked).To(Equal(int32(5000)))
		Expect(d.Status.Summary.ClustersChecked).To(Equal(int32(500)))
		Expect(d.Status.Summary.Errors).To(Equal(int32(5001)))
		Expect(d.Status.Reduced).To(BeEmpty())
		for _, c := range d.Status.Conditions {
			Expect(len(c.Message)).To(BeNumerically("<=", v1alpha1.MaxConditionMessageLength))
		}

		By("kubectl get and describe stay readable")
		kubeconfig := filepath.Join(GinkgoT().TempDir(), "kubeconfig")
		Expect(kubectlrun.WriteKubeconfig(cfg, kubeconfig)).To(Succeed())
		kubectl := func(args ...string) string {
			out, err := exec.Command(kubectlrun.Path(), append([]string{"--kubeconfig", kubeconfig}, args...)...).CombinedOutput()
			Expect(err).NotTo(HaveOccurred(), string(out))
			return string(out)
		}
		get := kubectl("get", "pdiag", "-n", ns, key.Name)
		Expect(get).To(ContainSubstring("4313021,4313022"))
		for _, line := range strings.Split(strings.TrimSpace(get), "\n") {
			Expect(len(line)).To(BeNumerically("<", 200), line)
		}
		describe := kubectl("describe", "pdiag", "-n", ns, key.Name)
		GinkgoWriter.Printf("kubectl describe: %d bytes, %d lines\n", len(describe), strings.Count(describe, "\n"))
		Expect(describe).To(ContainSubstring("Pools Omitted:"))
		Expect(describe).To(ContainSubstring("Plans Checked:"))
		Expect(len(describe)).To(BeNumerically("<", 2*v1alpha1.MaxStatusBytes))
	})

	It("is reduced to conditions, codes and summary when the API server refuses it, and says so", func() {
		ns := newNamespace()
		createInputs(ns)
		// An admission policy that refuses a status listing more than two pools, in
		// this namespace only: the real API server's refusal, not an injected error.
		policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "few-pools-" + ns},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
				FailurePolicy: ptr(admissionregistrationv1.Fail),
				MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
					RuleWithOperations: admissionregistrationv1.RuleWithOperations{
						Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Update},
						Rule: admissionregistrationv1.Rule{APIGroups: []string{v1alpha1.GroupVersion.Group}, APIVersions: []string{v1alpha1.GroupVersion.Version},
							Resources: []string{"paasdiagnoses/status"}},
					}}}},
				Validations: []admissionregistrationv1.Validation{{
					Expression: "!has(object.status.pools) || size(object.status.pools) <= 2",
					Message:    "this cluster allows at most 2 pools in a status",
				}},
			},
		}
		Expect(k8sClient.Create(ctx, policy)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(ctx, policy) })
		binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "few-pools-" + ns},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
				PolicyName:        policy.Name,
				ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
				MatchResources: &admissionregistrationv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
					MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}}},
			},
		}
		Expect(k8sClient.Create(ctx, binding)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(ctx, binding) })

		// The policy takes a moment to be enforced: wait until a status with three pools
		// is refused, written directly to a diagnosis no check evaluates (suspended).
		probe := validDiagnosis(ns, "probe")
		probe.Spec.Suspend = true
		Expect(k8sClient.Create(ctx, probe)).To(Succeed())
		Eventually(func() error {
			var p v1alpha1.PaaSDiagnosis
			if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(probe), &p); err != nil {
				return err
			}
			before := p.DeepCopy()
			p.Status.Pools = []v1alpha1.PoolStatus{{Service: "a", Plan: "1"}, {Service: "a", Plan: "2"}, {Service: "a", Plan: "3"}}
			if err := k8sClient.Status().Patch(ctx, &p, client.MergeFrom(before)); err == nil {
				return fmt.Errorf("not enforced yet")
			}
			return nil
		}, "60s", "500ms").Should(Succeed())

		key := types.NamespacedName{Namespace: ns, Name: "refused"}
		largeResults(key, 3, 2, 5, 4)
		before := refusedWrites()
		Expect(k8sClient.Create(ctx, validDiagnosis(ns, key.Name))).To(Succeed())

		d := waitForCondition(key, v1alpha1.ConditionInstancePoolAvailable, metav1.ConditionFalse, d0Reason())
		Expect(d.Status.Reduced).To(ContainSubstring("the API server refused the full status"))
		Expect(d.Status.Reduced).To(ContainSubstring("at most 2 pools"))
		Expect(d.Status.Pools).To(BeEmpty())
		Expect(d.Status.Findings).To(BeEmpty())
		Expect(d.Status.PoolsOmitted).To(Equal(int32(5)))
		Expect(d.Status.ClustersOmitted).To(Equal(int32(3)))
		Expect(d.Status.Codes).To(Equal([]string{"4313021", "4313022"}), "the verdict still reaches users")
		Expect(d.Status.Summary.PlansChecked).To(Equal(int32(5)))
		Expect(refusedWrites()).To(BeNumerically(">", before))
		Eventually(func(g Gomega) {
			var events eventsv1.EventList
			g.Expect(k8sClient.List(ctx, &events, client.InNamespace(ns))).To(Succeed())
			var reasons []string
			for _, e := range events.Items {
				reasons = append(reasons, e.Reason)
			}
			g.Expect(reasons).To(ContainElement("StatusWriteRefused"))
		}, "20s", "500ms").Should(Succeed())
	})
})

// d0Reason is the pool check's reason as status holds it: cut to MaxReasonLength.
func d0Reason() string { return "PoolEmpty" }

func ptr[T any](v T) *T { return &v }

// refusedWrites sums paasdiag_status_write_errors_total.
func refusedWrites() float64 {
	reg := prometheus.NewRegistry()
	for _, c := range suiteMetrics.Collectors() {
		reg.MustRegister(c)
	}
	families, err := reg.Gather()
	Expect(err).NotTo(HaveOccurred())
	total := 0.0
	for _, f := range families {
		if f.GetName() != "paasdiag_status_write_errors_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			total += m.GetCounter().GetValue()
		}
	}
	return total
}
