//go:build integration

package integration

import (
	"context"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/testsupport/appcluster"
	"github.com/paasdiag/paasdiag/internal/testsupport/mariadb"
)

// Step 1 of 4313021 through the controller: app clusters (a second real control
// plane) probed with the platform's credentials, from the spec and from the platform's
// workloads database.

var userCounter int

// uniqueName makes names that do not collide across specs on the shared app cluster.
func uniqueName(prefix string) string {
	userCounter++
	return fmt.Sprintf("%s-%d", prefix, userCounter)
}

// clusterDiagnosis watches the given clusters.
func clusterDiagnosis(ns string, clusters ...v1alpha1.ClusterTarget) *v1alpha1.PaaSDiagnosis {
	return &v1alpha1.PaaSDiagnosis{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bkpaas3"},
		Spec: v1alpha1.PaaSDiagnosisSpec{
			Interval:                 metav1.Duration{Duration: 10 * time.Second},
			Timeout:                  metav1.Duration{Duration: 3 * time.Second},
			CertificateExpiryWarning: metav1.Duration{Duration: time.Hour},
			Clusters:                 clusters,
		},
	}
}

func target(name, secret string, servers ...string) v1alpha1.ClusterTarget {
	t := v1alpha1.ClusterTarget{Name: name, CredentialsSecretRef: v1alpha1.SecretReference{Name: secret}}
	for _, s := range servers {
		t.APIServers = append(t.APIServers, v1alpha1.APIServerURL(s))
	}
	return t
}

func create(d *v1alpha1.PaaSDiagnosis) types.NamespacedName {
	GinkgoHelper()
	Expect(k8sClient.Create(context.Background(), d)).To(Succeed())
	return types.NamespacedName{Namespace: d.Namespace, Name: d.Name}
}

func clusterStatus(d *v1alpha1.PaaSDiagnosis, name string) v1alpha1.ClusterStatus {
	GinkgoHelper()
	for _, c := range d.Status.Clusters {
		if c.Name == name {
			return c
		}
	}
	Fail("no status for cluster " + name)
	return v1alpha1.ClusterStatus{}
}

func findingsWith(d *v1alpha1.PaaSDiagnosis, reason string) []v1alpha1.Finding {
	var out []v1alpha1.Finding
	for _, f := range d.Status.Findings {
		if f.Reason == reason {
			out = append(out, f)
		}
	}
	return out
}

var _ = Describe("The cluster check", func() {
	It("passes for client-certificate and token identities bound to cluster-admin, and records each API server", func() {
		ns := newNamespace()
		cert, key := must2(app.CertUser(uniqueName("bkpaas-cert"), "cluster-admin"))
		token := must(app.TokenUser(uniqueName("bkpaas-token"), "cluster-admin"))
		createSecret(ns, "by-cert", map[string]string{"ca.crt": string(app.CA), "tls.crt": string(cert), "tls.key": string(key)})
		createSecret(ns, "by-token", map[string]string{"ca.crt": string(app.CA), "token": token})
		key1 := create(clusterDiagnosis(ns, target("by-cert", "by-cert", app.URL), target("by-token", "by-token", app.URL)))

		d := waitForCondition(key1, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		Expect(condition(d, v1alpha1.ConditionClusterReachable).Message).To(Equal("2 API server(s) of 2 cluster(s) answer the platform's requests as cluster-admin"))
		for _, name := range []string{"by-cert", "by-token"} {
			c := clusterStatus(d, name)
			Expect(c.Source).To(Equal("Spec"))
			Expect(c.APIServers).To(HaveLen(1))
			s := c.APIServers[0]
			Expect(s.URL).To(Equal(app.URL))
			Expect(s.Reachable).To(BeTrue())
			Expect(s.ServerVersion).To(Equal("v1.37.2"))
			Expect(s.Latency).NotTo(BeNil())
			Expect(s.ServingCertificateNotAfter).NotTo(BeNil())
		}
		Expect(clusterStatus(d, "by-cert").APIServers[0].ClientCertificateNotAfter).NotTo(BeNil())
		Expect(d.Status.Findings).To(BeEmpty())
		expectNoSecret(d, token, string(key))
	})

	It("warns, tagged 4313021, about certificates that expire within the window, without failing Ready", func() {
		ns := newNamespace()
		cert, key := must2(app.CertUser(uniqueName("bkpaas-short"), "cluster-admin")) // envtest's certificates last a week
		createSecret(ns, "short", map[string]string{"ca.crt": string(app.CA), "tls.crt": string(cert), "tls.key": string(key)})
		d := clusterDiagnosis(ns, target("short-lived", "short", app.URL))
		d.Spec.CertificateExpiryWarning = metav1.Duration{Duration: 30 * 24 * time.Hour}
		key1 := create(d)

		d = waitForCondition(key1, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		expiring := findingsWith(d, "CertificateExpiring")
		Expect(expiring).NotTo(BeEmpty())
		var client *v1alpha1.Finding
		for i := range expiring {
			Expect(expiring[i].Severity).To(Equal(v1alpha1.SeverityWarning))
			Expect(expiring[i].Code).To(Equal("4313021"))
			if strings.Contains(expiring[i].Message, "client certificate") {
				client = &expiring[i]
			}
		}
		Expect(client).NotTo(BeNil())
		Expect(client.Message).To(MatchRegexp(`^\[4313021\] 获取集群信息失败 \(predicted\): the client certificate of cluster short-lived expires on 20\d\d-`))
		Expect(d.Status.Codes).To(BeEmpty())
	})

	It("reports the token losing its permission as 4313021 Forbidden naming the user, and the repair", func() {
		ns := newNamespace()
		sa := uniqueName("bkpaas-losing")
		token := must(app.TokenUser(sa, "cluster-admin"))
		createSecret(ns, "app-cluster", map[string]string{"ca.crt": string(app.CA), "token": token})
		key1 := create(clusterDiagnosis(ns, target("default-main", "app-cluster", app.URL)))
		waitForCondition(key1, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)

		By("someone removes the binding")
		Expect(app.Unbind("sa-" + sa)).To(Succeed())
		d := waitForCondition(key1, v1alpha1.ConditionClusterReachable, metav1.ConditionFalse, "Forbidden")
		Expect(d.Status.Codes).To(Equal([]string{"4313021"}))
		Expect(condition(d, v1alpha1.ConditionReady).Reason).To(Equal("Forbidden"))
		f := findingsWith(d, "Forbidden")
		Expect(f).To(HaveLen(1))
		Expect(f[0].Check).To(Equal("cluster/default-main/" + app.URL))
		Expect(f[0].Message).To(HavePrefix("[4313021] 获取集群信息失败: cluster default-main, API server " + app.URL + ": GET /api/v1/nodes: 403 Forbidden"))
		Expect(f[0].Message).To(ContainSubstring(`User "system:serviceaccount:kube-system:` + sa + `" cannot list resource "nodes"`))
		Expect(clusterStatus(d, "default-main").APIServers[0].Reachable).To(BeFalse())
		expectNoSecret(d, token)

		By("the binding is restored")
		Expect(app.Bind(sa, true, "cluster-admin")).To(Succeed())
		d = waitForCondition(key1, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		Expect(d.Status.Codes).To(BeEmpty())
	})

	It("reports an identity that can read but is not cluster-admin", func() {
		ns := newNamespace()
		role := uniqueName("nodes-namespaces")
		Expect(app.ClusterRole(role, []string{"list"}, "nodes", "namespaces")).To(Succeed())
		user := uniqueName("bkpaas-viewer")
		cert, key := must2(app.CertUser(user, role))
		createSecret(ns, "app-cluster", map[string]string{"ca.crt": string(app.CA), "tls.crt": string(cert), "tls.key": string(key)})
		key1 := create(clusterDiagnosis(ns, target("default-main", "app-cluster", app.URL)))

		// CLU03: the platform's 4313021 path lists Nodes, which works: a Warning tagged
		// 4313021, not an active code.
		d := waitForCondition(key1, v1alpha1.ConditionClusterReachable, metav1.ConditionTrue, "NotClusterAdmin")
		f := findingsWith(d, "NotClusterAdmin")
		Expect(f).To(HaveLen(1))
		Expect(f[0].Severity).To(Equal(v1alpha1.SeverityWarning))
		Expect(f[0].Code).To(Equal("4313021"))
		Expect(f[0].Message).To(ContainSubstring(`user "` + user + `" may list Nodes and Namespaces but is not cluster-admin`))
		Expect(f[0].Message).To(ContainSubstring("not raised for it"))
		Expect(d.Status.Codes).To(BeEmpty())
		Expect(clusterStatus(d, "default-main").APIServers[0].Reachable).To(BeTrue())
	})

	It("reports the one API server of two that is down, and keeps the other's result", func() {
		ns := newNamespace()
		token := must(app.TokenUser(uniqueName("bkpaas-two"), "cluster-admin"))
		closed := must(appcluster.ClosedPort())
		createSecret(ns, "app-cluster", map[string]string{"ca.crt": string(app.CA), "token": token})
		key1 := create(clusterDiagnosis(ns, target("default-main", "app-cluster", app.URL, closed)))

		d := waitForCondition(key1, v1alpha1.ConditionClusterReachable, metav1.ConditionFalse, "ConnectionRefused")
		Expect(condition(d, v1alpha1.ConditionClusterReachable).Message).To(ContainSubstring("1 of 2 API server(s) failed: default-main " + closed + ": ConnectionRefused"))
		servers := clusterStatus(d, "default-main").APIServers
		Expect(servers).To(HaveLen(2))
		// The failing one first (status lists the worst first).
		Expect(servers[0].URL).To(Equal(closed))
		Expect(servers[0].Reachable).To(BeFalse())
		Expect(servers[0].Reason).To(Equal("ConnectionRefused"))
		Expect(servers[1].URL).To(Equal(app.URL))
		Expect(servers[1].Reachable).To(BeTrue())
	})

	It("bounds a listener that never answers by the timeout, and the other clusters' results still arrive", func() {
		ns := newNamespace()
		token := must(app.TokenUser(uniqueName("bkpaas-hang"), "cluster-admin"))
		silent, closeSilent, err := appcluster.SilentListener()
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(closeSilent)
		createSecret(ns, "app-cluster", map[string]string{"ca.crt": string(app.CA), "token": token})
		key1 := create(clusterDiagnosis(ns, target("hung", "app-cluster", silent), target("healthy", "app-cluster", app.URL)))

		d := waitForCondition(key1, v1alpha1.ConditionClusterReachable, metav1.ConditionFalse, "Timeout")
		Expect(clusterStatus(d, "healthy").APIServers[0].Reachable).To(BeTrue())
		Expect(clusterStatus(d, "hung").APIServers[0].Reason).To(Equal("Timeout"))
		// The probe was cut at the 3s timeout, not left to hang.
		Expect(clusterStatus(d, "hung").APIServers[0].Latency.Duration).To(BeNumerically("~", 3*time.Second, time.Second))
	})

	It("reports TLS problems: an unknown authority, a host name mismatch, and no CA at all", func() {
		ns := newNamespace()
		token := must(app.TokenUser(uniqueName("bkpaas-tls"), "cluster-admin"))
		wrongCA, _, _, err := appcluster.SelfSignedCA(time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
		Expect(err).NotTo(HaveOccurred())
		createSecret(ns, "wrong-ca", map[string]string{"ca.crt": string(wrongCA), "token": token})
		createSecret(ns, "no-ca", map[string]string{"token": token})
		createSecret(ns, "right-ca", map[string]string{"ca.crt": string(app.CA), "token": token})
		other := target("other-host", "right-ca", app.URL)
		other.TLSServerName = "apiserver.elsewhere.example"
		key1 := create(clusterDiagnosis(ns, target("wrong-ca", "wrong-ca", app.URL), target("no-ca", "no-ca", app.URL), other))

		d := waitForCondition(key1, v1alpha1.ConditionClusterReachable, metav1.ConditionFalse, "TLSUnknownAuthority")
		Expect(clusterStatus(d, "wrong-ca").APIServers[0].Reason).To(Equal("TLSUnknownAuthority"))
		Expect(clusterStatus(d, "other-host").APIServers[0].Reason).To(Equal("TLSHostnameMismatch"))
		Expect(clusterStatus(d, "no-ca").APIServers[0].Reachable).To(BeTrue())
		notVerified := findingsWith(d, "TLSNotVerified")
		Expect(notVerified).To(HaveLen(1))
		Expect(notVerified[0].Severity).To(Equal(v1alpha1.SeverityWarning))
		Expect(notVerified[0].Check).To(Equal("cluster/no-ca"))
	})
})

// workloadsDB creates a workloads database with a read-only user and its DSN Secret.
func workloadsDB(ns string, legacy bool) *mariadb.Workloads {
	GinkgoHelper()
	if legacy {
		return workloadsDBOn(ns, mariadb.Release16)
	}
	return workloadsDBOn(ns, mariadb.Main)
}

// workloadsDBOn is workloadsDB in the layout and migrations of a release line.
func workloadsDBOn(ns string, line mariadb.Line) *mariadb.Workloads {
	GinkgoHelper()
	dbCounter++
	w := must(mariadb.NewWorkloads(dbServer, fmt.Sprintf("bk_engine_ng_%d", dbCounter), line))
	dsn := must(w.ReadOnlyUser(fmt.Sprintf("wl_%d", dbCounter), "wl-canary-pass"))
	createSecret(ns, "bkpaas3-wl-db", map[string]string{"dsn": dsn})
	return w
}

func discoveryDiagnosis(ns string, cipher v1alpha1.Cipher) *v1alpha1.PaaSDiagnosis {
	d := clusterDiagnosis(ns)
	d.Spec.DiscoverClusters = true
	d.Spec.PlatformDatabase = &v1alpha1.PlatformDatabase{
		WorkloadsDSNSecretRef:  &v1alpha1.SecretKeyReference{Name: "bkpaas3-wl-db", Key: "dsn"},
		EncryptionKeySecretRef: &v1alpha1.SecretKeyReference{Name: "bkpaas3-encrypt", Key: "key"},
		Cipher:                 cipher,
	}
	return d
}

// The platform's key as the chart generates it: 32 random bytes, URL-safe base64.
const platformKey = "PIMCuSRiVqBg5eSzQqZZrOhGFSUtrlS-8_JlIpjHt0A="

var _ = Describe("Cluster discovery from the platform's workloads database", func() {
	It("probes every configured cluster with its decrypted credentials: Fernet, SM4-CTR and plaintext rows", func() {
		ns := newNamespace()
		createSecret(ns, "bkpaas3-encrypt", map[string]string{"key": platformKey})
		w := workloadsDB(ns, false)
		cert, key := must2(app.CertUser(uniqueName("bkpaas-fernet"), "cluster-admin"))
		token := must(app.TokenUser(uniqueName("bkpaas-sm4"), "cluster-admin"))
		must(w.Cluster("default-main", []string{app.URL}, mariadb.Encrypt(app.CA, cert, key, "", mariadb.FernetEncrypter(platformKey))))
		must(w.Cluster("sm4-cluster", []string{app.URL}, mariadb.Encrypt(app.CA, nil, nil, token, mariadb.SM4CTREncrypter(platformKey))))
		must(w.Cluster("old-row", []string{app.URL}, mariadb.Encrypt(app.CA, nil, nil, token, nil)))
		key1 := create(discoveryDiagnosis(ns, v1alpha1.CipherFernet))

		d := waitForCondition(key1, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		Expect(d.Status.Clusters).To(HaveLen(3))
		for _, c := range d.Status.Clusters {
			Expect(c.Source).To(Equal("Discovered"))
			Expect(c.APIServers).To(HaveLen(1))
			Expect(c.APIServers[0].Reachable).To(BeTrue(), c.Name)
		}
		expectNoSecret(d, token, string(key), platformKey, "wl-canary-pass")
	})

	It("reports a cluster without API servers as 4313021 NoAPIServers", func() {
		ns := newNamespace()
		createSecret(ns, "bkpaas3-encrypt", map[string]string{"key": platformKey})
		w := workloadsDB(ns, false)
		token := must(app.TokenUser(uniqueName("bkpaas-noapi"), "cluster-admin"))
		must(w.Cluster("default-main", nil, mariadb.Encrypt(app.CA, nil, nil, token, mariadb.FernetEncrypter(platformKey))))
		key1 := create(discoveryDiagnosis(ns, v1alpha1.CipherFernet))

		d := waitForCondition(key1, v1alpha1.ConditionClusterReachable, metav1.ConditionFalse, "NoAPIServers")
		Expect(d.Status.Codes).To(Equal([]string{"4313021"}))
		Expect(findingsWith(d, "NoAPIServers")[0].Message).To(Equal("[4313021] 获取集群信息失败: cluster default-main has no API server configured"))
	})

	It("says Unknown/DecryptionFailed, claiming no code, when the key is not the platform's", func() {
		ns := newNamespace()
		createSecret(ns, "bkpaas3-encrypt", map[string]string{"key": "dGhpcyBpcyBub3QgdGhlIHBsYXRmb3JtJ3Mga2V5ISE="})
		w := workloadsDB(ns, false)
		token := must(app.TokenUser(uniqueName("bkpaas-wrongkey"), "cluster-admin"))
		must(w.Cluster("default-main", []string{app.URL}, mariadb.Encrypt(app.CA, nil, nil, token, mariadb.FernetEncrypter(platformKey))))
		key1 := create(discoveryDiagnosis(ns, v1alpha1.CipherFernet))

		d := waitForCondition(key1, v1alpha1.ConditionClusterReachable, metav1.ConditionUnknown, "DecryptionFailed")
		Expect(d.Status.Codes).To(BeEmpty())
		Expect(findingsWith(d, "DecryptionFailed")[0].Message).To(ContainSubstring("stored credentials of cluster default-main cannot be read"))
	})

	It("reads the platform 1.6 layout", func() {
		ns := newNamespace()
		createSecret(ns, "bkpaas3-encrypt", map[string]string{"key": platformKey})
		w := workloadsDB(ns, true)
		token := must(app.TokenUser(uniqueName("bkpaas-legacy"), "cluster-admin"))
		must(w.Cluster("default-main", []string{app.URL}, mariadb.Encrypt(app.CA, nil, nil, token, mariadb.FernetEncrypter(platformKey))))
		key1 := create(discoveryDiagnosis(ns, v1alpha1.CipherFernet))

		d := waitForCondition(key1, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		Expect(clusterStatus(d, "default-main").APIServers[0].Reachable).To(BeTrue())
	})

	It("[CLU13] on 1.6, warns RestartRequired when a cluster changed after the apiserver pods started", func() {
		ns := newNamespace()
		createSecret(ns, "bkpaas3-encrypt", map[string]string{"key": platformKey})
		w := workloadsDB(ns, true)
		token := must(app.TokenUser(uniqueName("bkpaas-restart"), "cluster-admin"))
		must(w.Cluster("default-main", []string{app.URL}, mariadb.Encrypt(app.CA, nil, nil, token, mariadb.FernetEncrypter(platformKey))))
		Expect(w.Touch("default-main", time.Now().Add(-time.Hour))).To(Succeed())
		labels := map[string]string{"app.kubernetes.io/name": "bkpaas3-apiserver"}
		Expect(podOnNode(ns, "bkpaas3-apiserver-web-0", labels)).To(Succeed())
		d := discoveryDiagnosis(ns, v1alpha1.CipherFernet)
		d.Spec.APIServerPodSelector = &metav1.LabelSelector{MatchLabels: labels}
		key1 := create(d)

		d = waitForCondition(key1, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		Expect(findingsWith(d, "RestartRequired")).To(BeEmpty(), "the pod started after the change")

		By("an operator edits the cluster in the admin console, a little later")
		// Pod start times have a second's resolution; paasdiag allows a second of it.
		time.Sleep(2 * time.Second)
		Expect(w.Touch("default-main", time.Now())).To(Succeed())
		d = waitFor(key1, 30*time.Second, func(g Gomega, d *v1alpha1.PaaSDiagnosis) {
			g.Expect(findingsWith(d, "RestartRequired")).To(HaveLen(1))
		})
		f := findingsWith(d, "RestartRequired")[0]
		Expect(f.Severity).To(Equal(v1alpha1.SeverityWarning))
		Expect(f.Code).To(Equal("4313021"))
		Expect(f.Message).To(ContainSubstring("bkpaas3-apiserver-web-0"))
	})

	DescribeTable("[CLU14] on 1.7+, never warns RestartRequired: the platform drops its cached clusters itself", func(line mariadb.Line) {
		ns := newNamespace()
		createSecret(ns, "bkpaas3-encrypt", map[string]string{"key": platformKey})
		w := workloadsDBOn(ns, line)
		token := must(app.TokenUser(uniqueName("bkpaas-restart17"), "cluster-admin"))
		must(w.Cluster("default-main", []string{app.URL}, mariadb.Encrypt(app.CA, nil, nil, token, mariadb.FernetEncrypter(platformKey))))
		labels := map[string]string{"app.kubernetes.io/name": "bkpaas3-apiserver"}
		Expect(podOnNode(ns, "bkpaas3-apiserver-web-0", labels)).To(Succeed())
		time.Sleep(2 * time.Second)
		Expect(w.Touch("default-main", time.Now())).To(Succeed())
		d := discoveryDiagnosis(ns, v1alpha1.CipherFernet)
		d.Spec.APIServerPodSelector = &metav1.LabelSelector{MatchLabels: labels}
		key1 := create(d)
		d = waitForCondition(key1, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		Expect(findingsWith(d, "RestartRequired")).To(BeEmpty())
		Expect(d.Status.Platform.ReleaseLine).To(Equal("1.7+"))
	},
		Entry("release-1.7", mariadb.Release17),
		Entry("main", mariadb.Main),
	)
})

func must2[A, B any](a A, b B, err error) (A, B) {
	GinkgoHelper()
	Expect(err).NotTo(HaveOccurred())
	return a, b
}
