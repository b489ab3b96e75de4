//go:build integration

package controllers

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
)

// installAdmissionPolicy applies config/admission as shipped and waits until it refuses.
func installAdmissionPolicy(ctx context.Context) {
	GinkgoHelper()
	dir := filepath.Join("..", "config", "admission")
	var policy admissionregistrationv1.ValidatingAdmissionPolicy
	var binding admissionregistrationv1.ValidatingAdmissionPolicyBinding
	for file, into := range map[string]any{"validatingadmissionpolicy.yaml": &policy, "validatingadmissionpolicybinding.yaml": &binding} {
		raw, err := os.ReadFile(filepath.Join(dir, file))
		Expect(err).NotTo(HaveOccurred())
		Expect(yaml.UnmarshalStrict(raw, into)).To(Succeed())
	}
	for _, o := range []client.Object{&policy, &binding} {
		if err := k8sClient.Create(ctx, o); err != nil && !strings.Contains(err.Error(), "already exists") {
			Expect(err).NotTo(HaveOccurred())
		}
	}
}

// userWith is a user allowed to write diagnoses in ns, and to do what rules add.
func userWith(ctx context.Context, ns, name string, rules ...rbacv1.PolicyRule) client.Client {
	GinkgoHelper()
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Rules: append([]rbacv1.PolicyRule{{
		APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"paasdiagnoses"}, Verbs: []string{"get", "create", "update", "patch", "delete"},
	}}, rules...)}
	Expect(k8sClient.Create(ctx, role)).To(Succeed())
	Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}}})).To(Succeed())
	as := rest.CopyConfig(cfg)
	as.Impersonate = rest.ImpersonationConfig{UserName: name}
	c, err := client.New(as, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	return c
}

var (
	getSecrets = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}}
	getPodLogs = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods/log"}, Verbs: []string{"get"}}
	getJobs    = rbacv1.PolicyRule{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: []string{"get"}}
)

var _ = Describe("The shipped admission policy (config/admission)", Ordered, func() {
	ctx := context.Background()
	BeforeAll(func() { installAdmissionPolicy(ctx) })

	// The diagnoses, one per kind of input.
	usingSecrets := func(ns, name string) *v1alpha1.PaaSDiagnosis { return validDiagnosis(ns, name) }
	usingLogs := func(ns, name string) *v1alpha1.PaaSDiagnosis {
		return &v1alpha1.PaaSDiagnosis{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: v1alpha1.PaaSDiagnosisSpec{
			Interval: metav1.Duration{Duration: 600e9}, Timeout: metav1.Duration{Duration: 2e9},
			WorkerLogs: &v1alpha1.WorkerLogsCheck{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "worker"}}}}}
	}
	usingJobs := func(ns, name string) *v1alpha1.PaaSDiagnosis {
		return &v1alpha1.PaaSDiagnosis{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: v1alpha1.PaaSDiagnosisSpec{
			Interval: metav1.Duration{Duration: 600e9}, Timeout: metav1.Duration{Duration: 2e9},
			InitialClusterState: &v1alpha1.InitialClusterStateCheck{}}}
	}

	DescribeTable("[matrix] allows a diagnosis exactly when its author may read what it reads",
		func(rights []rbacv1.PolicyRule, secretsOK, logsOK, jobsOK bool) {
			ns := newNamespace()
			name := fmt.Sprintf("user-%d", len(rights))
			c := userWith(ctx, ns, name+"-"+ns, rights...)
			for kind, tc := range map[string]struct {
				d       *v1alpha1.PaaSDiagnosis
				allowed bool
				missing string
			}{
				"secrets": {usingSecrets(ns, "secrets"), secretsOK, "you may not get every Secret of spec.clusters[].credentialsSecretRef (app-cluster) in namespace " + ns},
				"logs":    {usingLogs(ns, "logs"), logsOK, "you may not get pods/log in namespace " + ns},
				"jobs":    {usingJobs(ns, "jobs"), jobsOK, "you may not get jobs.batch in namespace " + ns},
			} {
				// The policy is enforced a moment after it is created: wait for the first verdict.
				Eventually(func(g Gomega) {
					err := c.Create(ctx, tc.d.DeepCopy())
					if tc.allowed {
						g.Expect(err).NotTo(HaveOccurred(), kind)
						return
					}
					g.Expect(err).To(HaveOccurred(), kind)
					g.Expect(err.Error()).To(ContainSubstring(tc.missing), kind)
				}, "30s", "500ms").Should(Succeed())
			}
		},
		Entry("no rights", nil, false, false, false),
		Entry("Secrets only", []rbacv1.PolicyRule{getSecrets}, true, false, false),
		Entry("pods/log only", []rbacv1.PolicyRule{getPodLogs}, false, true, false),
		Entry("all", []rbacv1.PolicyRule{getSecrets, getPodLogs, getJobs}, true, true, true),
	)

	It("[matrix] allows workerLogs.deployment only to an author who may get that Deployment", func() {
		ns := newNamespace()
		byDeployment := func(name string) *v1alpha1.PaaSDiagnosis {
			d := usingLogs(ns, name)
			d.Spec.WorkerLogs.PodSelector, d.Spec.WorkerLogs.Deployment = nil, "bkpaas3-apiserver-worker"
			return d
		}
		logsOnly := userWith(ctx, ns, "logs-only-"+ns, getPodLogs)
		Eventually(func(g Gomega) {
			err := logsOnly.Create(ctx, byDeployment("refused"))
			g.Expect(err).To(HaveOccurred())
			g.Expect(err.Error()).To(ContainSubstring("you may not get Deployment bkpaas3-apiserver-worker in namespace " + ns))
		}, "30s", "500ms").Should(Succeed())
		getWorker := rbacv1.PolicyRule{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, ResourceNames: []string{"bkpaas3-apiserver-worker"}, Verbs: []string{"get"}}
		both := userWith(ctx, ns, "logs-and-deployment-"+ns, getPodLogs, getWorker)
		Eventually(func() error { return both.Create(ctx, byDeployment("allowed")) }, "30s", "500ms").Should(Succeed())
	})

	It("[matrix] allows settingsFrom only to an author who may get the Deployment and the namespace's Secrets and ConfigMaps", func() {
		ns := newNamespace()
		fromSettings := func(name string) *v1alpha1.PaaSDiagnosis {
			return &v1alpha1.PaaSDiagnosis{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: v1alpha1.PaaSDiagnosisSpec{
				Interval: metav1.Duration{Duration: 600e9}, Timeout: metav1.Duration{Duration: 2e9},
				SettingsFrom:  &v1alpha1.SettingsSource{Deployment: "bkpaas3-apiserver-web"},
				InstancePools: &v1alpha1.InstancePoolsCheck{}}}
		}
		getWeb := rbacv1.PolicyRule{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, ResourceNames: []string{"bkpaas3-apiserver-web"}, Verbs: []string{"get"}}
		getConfigMaps := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}}
		for i, tc := range []struct {
			rights  []rbacv1.PolicyRule
			missing string
		}{
			{nil, "you may not get Deployment bkpaas3-apiserver-web in namespace " + ns + ": spec.settingsFrom makes paasdiag read its settings"},
			{[]rbacv1.PolicyRule{getWeb, getConfigMaps}, "you may not get Secrets in namespace " + ns + ": spec.settingsFrom"},
			{[]rbacv1.PolicyRule{getWeb, getSecrets}, "you may not get ConfigMaps in namespace " + ns + ": spec.settingsFrom"},
			{[]rbacv1.PolicyRule{getWeb, getSecrets, getConfigMaps}, ""},
		} {
			c := userWith(ctx, ns, fmt.Sprintf("settings-%d-%s", i, ns), tc.rights...)
			Eventually(func(g Gomega) {
				err := c.Create(ctx, fromSettings(fmt.Sprintf("settings-%d", i)))
				if tc.missing == "" {
					g.Expect(err).NotTo(HaveOccurred())
					return
				}
				g.Expect(err).To(HaveOccurred())
				g.Expect(err.Error()).To(ContainSubstring(tc.missing))
			}, "30s", "500ms").Should(Succeed(), "case %d", i)
		}
	})

	It("checks up to two cluster Secrets by name, and more as get on the namespace's Secrets", func() {
		ns := newNamespace()
		names := []string{"c1", "c2", "c3"}
		byName := userWith(ctx, ns, "by-name-"+ns, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}, ResourceNames: names})
		all := userWith(ctx, ns, "all-secrets-"+ns, getSecrets)
		withClusters := func(name string, n int) *v1alpha1.PaaSDiagnosis {
			d := validDiagnosis(ns, name)
			d.Spec.PlatformDatabase, d.Spec.InstancePools = nil, nil
			d.Spec.Clusters = nil
			for i := 0; i < n; i++ {
				d.Spec.Clusters = append(d.Spec.Clusters, v1alpha1.ClusterTarget{Name: names[i], APIServers: []v1alpha1.APIServerURL{"https://10.0.0.10:6443"},
					CredentialsSecretRef: v1alpha1.SecretReference{Name: names[i]}})
			}
			return d
		}
		Eventually(func() error { return byName.Create(ctx, withClusters("two", 2)) }, "30s", "500ms").Should(Succeed())
		err := byName.Create(ctx, withClusters("three", 3))
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("you may not get Secrets in namespace " + ns + ": a diagnosis naming more than two cluster Secrets (c1, c2, c3)"))
		Expect(all.Create(ctx, withClusters("three", 3))).To(Succeed(), "three clusters are not refused to whoever may read the namespace's Secrets")
	})

	It("[matrix] allows a settingsSecretRef only to an author who may get that Secret", func() {
		ns := newNamespace()
		ref := &v1alpha1.SecretReference{Name: "smart-settings"}
		withSettings := func(name string) *v1alpha1.PaaSDiagnosis {
			return &v1alpha1.PaaSDiagnosis{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: v1alpha1.PaaSDiagnosisSpec{
				Interval: metav1.Duration{Duration: 600e9}, Timeout: metav1.Duration{Duration: 2e9},
				SmartRegistry: &v1alpha1.SmartRegistryCheck{PlatformSettingsSecret: v1alpha1.PlatformSettingsSecret{SettingsSecretRef: ref}},
				BlobStore:     &v1alpha1.BlobStoreCheck{PlatformSettingsSecret: v1alpha1.PlatformSettingsSecret{SettingsSecretRef: &v1alpha1.SecretReference{Name: "blob-settings"}}}}}
		}
		getOne := userWith(ctx, ns, "one-settings-"+ns, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}, ResourceNames: []string{"smart-settings"}})
		Eventually(func(g Gomega) {
			err := getOne.Create(ctx, withSettings("refused"))
			g.Expect(err).To(HaveOccurred())
			g.Expect(err.Error()).To(ContainSubstring("you may not get every Secret of the settingsSecretRef fields (blob-settings, smart-settings) in namespace " + ns))
		}, "30s", "500ms").Should(Succeed())
		getBoth := userWith(ctx, ns, "both-settings-"+ns, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}, ResourceNames: []string{"smart-settings", "blob-settings"}})
		Eventually(func() error { return getBoth.Create(ctx, withSettings("allowed")) }, "30s", "500ms").Should(Succeed())
	})

	It("refuses the exfiltration attempt: a Secret its author cannot read, sent to a server of theirs", func() {
		ns := newNamespace()
		createInputs(ns)
		alice := userWith(ctx, ns, "alice-"+ns)
		// Her https server on loopback, counting what it is sent.
		var requests atomic.Int32
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { requests.Add(1) }))
		defer srv.Close()
		d := validDiagnosis(ns, "exfiltrate")
		d.Spec.Clusters[0].APIServers = []v1alpha1.APIServerURL{v1alpha1.APIServerURL(srv.URL)}
		var err error
		Eventually(func() error { err = alice.Create(ctx, d.DeepCopy()); return err }, "30s", "500ms").Should(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("you may not get every Secret of spec.clusters[].credentialsSecretRef (app-cluster) in namespace " + ns))
		var got v1alpha1.PaaSDiagnosis
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(d), &got)).NotTo(Succeed(), "nothing was created")
		Consistently(requests.Load, "3s", "250ms").Should(BeZero(), "nothing reached her server")
	})

	It("does not judge status writes: paasdiag's own patches pass", func() {
		ns := newNamespace()
		createInputs(ns)
		key := client.ObjectKey{Namespace: ns, Name: "status-writes"}
		Expect(k8sClient.Create(ctx, validDiagnosis(ns, key.Name))).To(Succeed())
		waitForCondition(key, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		// A writer of status that may read no Secret: its patch is not refused.
		writer := userWith(ctx, ns, "status-writer-"+ns, rbacv1.PolicyRule{APIGroups: []string{v1alpha1.GroupVersion.Group},
			Resources: []string{"paasdiagnoses/status"}, Verbs: []string{"patch"}})
		var d v1alpha1.PaaSDiagnosis
		Expect(k8sClient.Get(ctx, key, &d)).To(Succeed())
		before := d.DeepCopy()
		d.Status.CodeSummary = "written-by-status-writer"
		Expect(writer.Status().Patch(ctx, &d, client.MergeFrom(before))).To(Succeed())
	})
})
