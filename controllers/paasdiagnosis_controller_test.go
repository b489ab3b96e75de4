//go:build integration

package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/check"
)

const secretCanary = "canary-s3cr3t-value-7f1e"

var nsCounter int

// newNamespace creates a namespace of its own for one test.
func newNamespace() string {
	nsCounter++
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("diag-%d-%d", GinkgoParallelProcess(), nsCounter)}}
	Expect(k8sClient.Create(context.Background(), ns)).To(Succeed())
	return ns.Name
}

// validDiagnosis probes one cluster and the pools of one database.
func validDiagnosis(ns, name string) *v1alpha1.PaaSDiagnosis {
	return &v1alpha1.PaaSDiagnosis{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.PaaSDiagnosisSpec{
			Interval: metav1.Duration{Duration: 10 * time.Second},
			Timeout:  metav1.Duration{Duration: 2 * time.Second},
			Clusters: []v1alpha1.ClusterTarget{{
				Name:                 "default-main",
				APIServers:           []v1alpha1.APIServerURL{"https://10.0.0.10:6443"},
				CredentialsSecretRef: v1alpha1.SecretReference{Name: "app-cluster"},
			}},
			PlatformDatabase: &v1alpha1.PlatformDatabase{
				DefaultDSNSecretRef: &v1alpha1.SecretKeyReference{Name: "bkpaas3-db", Key: "dsn"},
			},
			InstancePools: &v1alpha1.InstancePoolsCheck{},
		},
	}
}

func createSecret(ns, name string, data map[string]string) {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{v1alpha1.SecretLabel: "true"},
		Annotations: map[string]string{v1alpha1.SecretAPIServersAnnotation: "*", v1alpha1.SecretWorkloadsDSNAnnotation: "*"}}, StringData: data}
	Expect(k8sClient.Create(context.Background(), s)).To(Succeed())
}

func createInputs(ns string) {
	createSecret(ns, "app-cluster", map[string]string{"token": secretCanary})
	createSecret(ns, "bkpaas3-db", map[string]string{"dsn": "paasdiag:" + secretCanary + "@tcp(127.0.0.1:3306)/bk_paas_ng"})
}

func fetch(key types.NamespacedName) func(Gomega) *v1alpha1.PaaSDiagnosis {
	return func(g Gomega) *v1alpha1.PaaSDiagnosis {
		var d v1alpha1.PaaSDiagnosis
		g.Expect(k8sClient.Get(context.Background(), key, &d)).To(Succeed())
		return &d
	}
}

// condition waits until the diagnosis' condition t has the status and reason, and
// returns the diagnosis as it was then.
func waitForCondition(key types.NamespacedName, t string, status metav1.ConditionStatus, reason string) *v1alpha1.PaaSDiagnosis {
	var got *v1alpha1.PaaSDiagnosis
	Eventually(func(g Gomega) {
		got = fetch(key)(g)
		c := meta.FindStatusCondition(got.Status.Conditions, t)
		g.Expect(c).NotTo(BeNil(), "condition %s", t)
		g.Expect(c.Status).To(Equal(status), "condition %s: %s", t, c.Message)
		g.Expect(c.Reason).To(Equal(reason), "condition %s: %s", t, c.Message)
	}).WithTimeout(30 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())
	return got
}

func expectNoSecretIn(d *v1alpha1.PaaSDiagnosis) {
	GinkgoHelper()
	Expect(fmt.Sprintf("%+v", d.Status)).NotTo(ContainSubstring(secretCanary))
}

var _ = Describe("The PaaSDiagnosis CRD", func() {
	ctx := context.Background()

	It("is installed with the printer columns and short name kubectl uses", func() {
		var crd apiextensionsv1.CustomResourceDefinition
		Expect(k8sClient.Get(ctx, types.NamespacedName{Name: "paasdiagnoses.diagnosis.paasdiag.io"}, &crd)).To(Succeed())
		Expect(crd.Spec.Scope).To(Equal(apiextensionsv1.NamespaceScoped))
		Expect(crd.Spec.Names.ShortNames).To(ContainElement("pdiag"))
		var columns []string
		for _, c := range crd.Spec.Versions[0].AdditionalPrinterColumns {
			if c.Priority == 0 {
				columns = append(columns, strings.ToUpper(c.Name))
			}
		}
		Expect(columns).To(Equal([]string{"READY", "CODES", "REASON", "LAST CHECK", "AGE"}))
	})

	It("serves those columns as the table kubectl get prints", func() {
		ns := newNamespace()
		createInputs(ns)
		key := types.NamespacedName{Namespace: ns, Name: "table"}
		script.set(key, v1alpha1.ConditionInstancePoolAvailable, poolEmpty())
		Expect(k8sClient.Create(ctx, validDiagnosis(ns, key.Name))).To(Succeed())
		waitForCondition(key, v1alpha1.ConditionReady, metav1.ConditionFalse, "PoolEmpty")

		// Ask the API server for the table, exactly as kubectl get does.
		rc, err := rest.RESTClientFor(restConfigFor(v1alpha1.GroupVersion))
		Expect(err).NotTo(HaveOccurred())
		var table metav1.Table
		raw, err := rc.Get().Namespace(ns).Resource("paasdiagnoses").
			SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").DoRaw(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(json.Unmarshal(raw, &table)).To(Succeed())
		var headers []string
		for _, c := range table.ColumnDefinitions {
			if c.Priority == 0 {
				headers = append(headers, strings.ToUpper(c.Name))
			}
		}
		Expect(headers).To(Equal([]string{"NAME", "READY", "CODES", "REASON", "LAST CHECK", "AGE"}))
		Expect(table.Rows).To(HaveLen(1))
		cells := table.Rows[0].Cells
		Expect(cells[0:4]).To(Equal([]interface{}{"table", "False", "4313022", "PoolEmpty"}))
	})

	It("accepts every sample in config/samples", func() {
		ns := newNamespace()
		files, err := filepath.Glob(filepath.Join("..", "config", "samples", "diagnosis_*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(files).NotTo(BeEmpty())
		for _, f := range files {
			raw, err := os.ReadFile(f)
			Expect(err).NotTo(HaveOccurred())
			var d v1alpha1.PaaSDiagnosis
			Expect(yaml.UnmarshalStrict(raw, &d)).To(Succeed(), f)
			d.Namespace = ns
			Expect(k8sClient.Create(ctx, &d, client.DryRunAll)).To(Succeed(), f)
		}
	})

	DescribeTable("rejects an invalid spec with a clear message",
		func(mutate func(*v1alpha1.PaaSDiagnosisSpec), want string) {
			ns := newNamespace()
			d := validDiagnosis(ns, "invalid")
			mutate(&d.Spec)
			err := k8sClient.Create(ctx, d)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want Invalid, got %v", err)
			Expect(err.Error()).To(ContainSubstring(want))
		},
		Entry("an interval below 10s", func(s *v1alpha1.PaaSDiagnosisSpec) { s.Interval.Duration = 5 * time.Second }, "interval must be at least 10s"),
		Entry("a timeout not below the interval", func(s *v1alpha1.PaaSDiagnosisSpec) { s.Timeout.Duration = s.Interval.Duration }, "timeout must be shorter than interval"),
		Entry("an API server that is not https", func(s *v1alpha1.PaaSDiagnosisSpec) {
			s.Clusters[0].APIServers = []v1alpha1.APIServerURL{"http://10.0.0.10:6443"}
		}, "API server URLs must be https URLs"),
		Entry("an API server that is not a URL", func(s *v1alpha1.PaaSDiagnosisSpec) {
			s.Clusters[0].APIServers = []v1alpha1.APIServerURL{"10.0.0.10:6443"}
		}, "API server URLs must be https URLs"),
		Entry("a cluster name that is not a DNS label", func(s *v1alpha1.PaaSDiagnosisSpec) { s.Clusters[0].Name = "Default_Main" }, "spec.clusters[0].name"),
		Entry("two clusters of one name", func(s *v1alpha1.PaaSDiagnosisSpec) { s.Clusters = append(s.Clusters, s.Clusters[0]) }, "Duplicate value"),
		Entry("too many API servers", func(s *v1alpha1.PaaSDiagnosisSpec) {
			for i := 0; i < 16; i++ {
				s.Clusters[0].APIServers = append(s.Clusters[0].APIServers, v1alpha1.APIServerURL(fmt.Sprintf("https://10.0.1.%d:6443", i)))
			}
		}, "must have at most 16 items"),
		Entry("nothing to check", func(s *v1alpha1.PaaSDiagnosisSpec) { *s = v1alpha1.PaaSDiagnosisSpec{} }, "configure at least one check"),
		Entry("pools without a database", func(s *v1alpha1.PaaSDiagnosisSpec) { s.PlatformDatabase = nil }, "instancePools needs settingsFrom or platformDatabase.defaultDSNSecretRef"),
		Entry("discovery without the workloads database", func(s *v1alpha1.PaaSDiagnosisSpec) { s.DiscoverClusters = true }, "discoverClusters needs settingsFrom or platformDatabase.workloadsDSNSecretRef"),
		Entry("a Job by name and by selector", func(s *v1alpha1.PaaSDiagnosisSpec) {
			s.InitialClusterState = &v1alpha1.InitialClusterStateCheck{JobName: "x", JobSelector: &metav1.LabelSelector{}}
		}, "set jobName or jobSelector, not both"),
		Entry("an unknown cipher", func(s *v1alpha1.PaaSDiagnosisSpec) { s.PlatformDatabase.Cipher = "AES" }, "Unsupported value"),
		Entry("minAvailable of zero", func(s *v1alpha1.PaaSDiagnosisSpec) {
			s.InstancePools.MinAvailable = -1
		}, "spec.instancePools.minAvailable"),
	)
})

var _ = Describe("Reconciling a PaaSDiagnosis", func() {
	ctx := context.Background()

	It("sets every condition, stamped with the generation, and evaluates", func() {
		ns := newNamespace()
		createInputs(ns)
		key := types.NamespacedName{Namespace: ns, Name: "healthy"}
		Expect(k8sClient.Create(ctx, validDiagnosis(ns, key.Name))).To(Succeed())

		d := waitForCondition(key, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		Expect(d.Status.ObservedGeneration).To(Equal(d.Generation))
		Expect(d.Status.LastEvaluationTime).NotTo(BeNil())
		Expect(d.Status.Codes).To(BeEmpty())
		var types []string
		for _, c := range d.Status.Conditions {
			types = append(types, c.Type)
			Expect(c.ObservedGeneration).To(Equal(d.Generation), c.Type)
		}
		Expect(types).To(Equal([]string{"Ready", "Stalled", "ClusterReachable", "InstancePoolAvailable"}))
		Expect(meta.IsStatusConditionFalse(d.Status.Conditions, v1alpha1.ConditionStalled)).To(BeTrue())
		expectNoSecretIn(d)

		By("a new generation is evaluated and stamped")
		d.Spec.InstancePools = nil
		d.Spec.PlatformDatabase = nil
		Expect(k8sClient.Update(ctx, d)).To(Succeed())
		Eventually(func(g Gomega) {
			got := fetch(key)(g)
			g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
			g.Expect(meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionInstancePoolAvailable)).To(BeNil(), "a disabled check's condition goes")
			for _, c := range got.Status.Conditions {
				g.Expect(c.ObservedGeneration).To(Equal(got.Generation), c.Type)
			}
		}).WithTimeout(10 * time.Second).Should(Succeed())
	})

	It("stalls on a missing Secret, naming it, and recovers when it appears", func() {
		ns := newNamespace()
		key := types.NamespacedName{Namespace: ns, Name: "no-secret"}
		Expect(k8sClient.Create(ctx, validDiagnosis(ns, key.Name))).To(Succeed())

		d := waitForCondition(key, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonSecretNotFound)
		stalled := meta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionStalled)
		Expect(stalled.Message).To(ContainSubstring(`Secret "app-cluster" (credentials of cluster default-main) not found in namespace "` + ns + `"`))
		ready := meta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionReady)
		Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		Expect(ready.Reason).To(Equal(v1alpha1.ReasonSecretNotFound))
		Expect(d.Status.ObservedGeneration).To(Equal(d.Generation))

		By("the Secrets appear; the next evaluation (one interval later) recovers")
		createInputs(ns)
		d = waitForCondition(key, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		Expect(meta.IsStatusConditionFalse(d.Status.Conditions, v1alpha1.ConditionStalled)).To(BeTrue())
	})

	It("stalls on a Secret without the key, naming the keys but no value", func() {
		ns := newNamespace()
		createSecret(ns, "app-cluster", map[string]string{"token": secretCanary})
		createSecret(ns, "bkpaas3-db", map[string]string{"password": secretCanary})
		key := types.NamespacedName{Namespace: ns, Name: "no-key"}
		Expect(k8sClient.Create(ctx, validDiagnosis(ns, key.Name))).To(Succeed())

		d := waitForCondition(key, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonSecretKeyMissing)
		Expect(meta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionStalled).Message).
			To(Equal(`Secret "bkpaas3-db" (DSN of the default database) has no key "dsn"; it has keys "password"`))
		expectNoSecretIn(d)
	})

	It("reports a failing check's code in conditions, codes and findings, and clears it", func() {
		ns := newNamespace()
		createInputs(ns)
		key := types.NamespacedName{Namespace: ns, Name: "pool-empty"}
		script.set(key, v1alpha1.ConditionInstancePoolAvailable, poolEmpty())
		Expect(k8sClient.Create(ctx, validDiagnosis(ns, key.Name))).To(Succeed())

		d := waitForCondition(key, v1alpha1.ConditionInstancePoolAvailable, metav1.ConditionFalse, "PoolEmpty")
		Expect(d.Status.Codes).To(Equal([]string{"4313022"}))
		Expect(d.Status.CodeSummary).To(Equal("4313022"))
		Expect(d.Status.Findings).To(HaveLen(1))
		f := d.Status.Findings[0]
		Expect(f.Code).To(Equal("4313022"))
		Expect(f.Condition).To(Equal(v1alpha1.ConditionInstancePoolAvailable))
		Expect(f.Message).To(HavePrefix("[4313022] 资源池为空"))
		Expect(f.Remediation).NotTo(BeEmpty())
		ready := meta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionReady)
		Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		Expect(ready.Reason).To(Equal("PoolEmpty"))
		Expect(meta.IsStatusConditionTrue(d.Status.Conditions, v1alpha1.ConditionClusterReachable)).To(BeTrue())

		By("the pool is refilled; the next evaluation clears the code")
		script.set(key, v1alpha1.ConditionInstancePoolAvailable, check.Result{Status: check.Pass, Reason: v1alpha1.ReasonSucceeded})
		d = waitForCondition(key, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		Expect(d.Status.Codes).To(BeEmpty())
		Expect(d.Status.CodeSummary).To(BeEmpty())
		Expect(d.Status.Findings).To(BeEmpty())
	})

	It("reports a check that hangs as Unknown/Timeout without holding up the others", func() {
		ns := newNamespace()
		createInputs(ns)
		key := types.NamespacedName{Namespace: ns, Name: "hang"}
		script.set(key, v1alpha1.ConditionClusterReachable, check.Result{Reason: "Hang"})
		script.set(key, v1alpha1.ConditionInstancePoolAvailable, poolEmpty())
		Expect(k8sClient.Create(ctx, validDiagnosis(ns, key.Name))).To(Succeed())

		d := waitForCondition(key, v1alpha1.ConditionClusterReachable, metav1.ConditionUnknown, v1alpha1.ReasonTimeout)
		Expect(meta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionClusterReachable).Message).To(ContainSubstring("2s"))
		Expect(meta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionInstancePoolAvailable).Reason).To(Equal("PoolEmpty"))
		// A timeout claims no code; the failing pool still does.
		Expect(d.Status.Codes).To(Equal([]string{"4313022"}))
	})

	It("does not evaluate a suspended diagnosis", func() {
		ns := newNamespace()
		createInputs(ns)
		key := types.NamespacedName{Namespace: ns, Name: "suspended"}
		d := validDiagnosis(ns, key.Name)
		d.Spec.Suspend = true
		Expect(k8sClient.Create(ctx, d)).To(Succeed())

		d = waitForCondition(key, v1alpha1.ConditionReady, metav1.ConditionUnknown, v1alpha1.ReasonSuspended)
		Expect(meta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionReady).Message).To(ContainSubstring("never evaluated"))
		Consistently(func() int { return script.callCount(key, v1alpha1.ConditionClusterReachable) }).
			WithTimeout(2 * time.Second).Should(BeZero())
		Expect(fetch(key)(Default).Status.LastEvaluationTime).To(BeNil())

		By("resuming evaluates it")
		Expect(k8sClient.Get(ctx, key, d)).To(Succeed())
		d.Spec.Suspend = false
		Expect(k8sClient.Update(ctx, d)).To(Succeed())
		waitForCondition(key, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)

		By("suspending again keeps the verdict's status and says so")
		Expect(k8sClient.Get(ctx, key, d)).To(Succeed())
		d.Spec.Suspend = true
		Expect(k8sClient.Update(ctx, d)).To(Succeed())
		d = waitForCondition(key, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSuspended)
		Expect(meta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionReady).Message).To(ContainSubstring("the last verdict"))
	})
})

// restConfigFor is a REST client config for the diagnosis API on the test API server.
func restConfigFor(gv schema.GroupVersion) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.APIPath = "/apis"
	c.GroupVersion = &gv
	c.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	return c
}
