//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/testsupport/mariadb"
)

// Secrets never leak: unique canary values in every Secret, DSN, password, token, key
// and decrypted credential paasdiag touches, every check driven through failure and
// success, and no canary in status, events, the manager's logs (at its most verbose
// level) or metrics.

var _ = Describe("Secrets", func() {
	It("never appear in status, events, logs or metrics", func() {
		ns := newNamespace()
		canary := func(what string) string { return fmt.Sprintf("cnry%s%d", what, time.Now().UnixNano()%1_000_000) }
		dbPassword, wlPassword, token := canary("dbpw"), canary("wlpw"), canary("tok")

		// The default database, read by a user whose password is a canary; the pool
		// starts empty.
		dbCounter++
		platform := must(mariadb.NewPlatform(dbServer, fmt.Sprintf("bk_paas_ng_%d", dbCounter), mariadb.Main))
		redis := must(platform.Service("redis", "pool"))
		shared := must(platform.Plan(redis, "0shared", "default"))
		dsn := must(platform.ReadOnlyUser(fmt.Sprintf("ro_%d", dbCounter), dbPassword))
		createSecret(ns, "bkpaas3-db", map[string]string{"dsn": dsn})

		// The workloads database, its password and the cluster credentials stored
		// encrypted; the platform's key itself is a secret too.
		wl := must(mariadb.NewWorkloads(dbServer, fmt.Sprintf("bk_engine_ng_%d", dbCounter), mariadb.Main))
		wlDSN := must(wl.ReadOnlyUser(fmt.Sprintf("wl_%d", dbCounter), wlPassword))
		createSecret(ns, "bkpaas3-wl-db", map[string]string{"dsn": wlDSN})
		createSecret(ns, "bkpaas3-encrypt", map[string]string{"key": platformKey})
		sa := uniqueName("bkpaas-canary-discovered")
		realDiscoveredToken := must(app.TokenUser(sa)) // no permission yet: Forbidden
		must(wl.Cluster("discovered", []string{app.URL}, mariadb.Encrypt(app.CA, nil, nil, realDiscoveredToken, mariadb.FernetEncrypter(platformKey))))

		// The spec's cluster: first a token that is a canary the API server does not
		// know (Unauthorized), later a client certificate and key.
		cert, key := must2(app.CertUser(uniqueName("bkpaas-canary-cert"), "cluster-admin"))
		createSecret(ns, "app-cluster", map[string]string{"ca.crt": string(app.CA), "token": token})

		// A worker that logs credentials next to its 403.
		workers := map[string]string{"app.kubernetes.io/name": "bkpaas3-apiserver-worker"}
		Expect(podOnNode(ns, "bkpaas3-apiserver-worker-0", workers)).To(Succeed())
		kubelet.SetLogs(ns, "bkpaas3-apiserver-worker-0", "worker",
			fmt.Sprintf("ERROR Can not get app cluster egress info: 403 Reason: Forbidden calling with Authorization: Bearer %s and password=%s token %s\n", token, dbPassword, realDiscoveredToken))

		d := &v1alpha1.PaaSDiagnosis{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bkpaas3"},
			Spec: v1alpha1.PaaSDiagnosisSpec{
				Interval: metav1.Duration{Duration: 10 * time.Second}, Timeout: metav1.Duration{Duration: 3 * time.Second},
				CertificateExpiryWarning: metav1.Duration{Duration: time.Hour},
				Clusters:                 []v1alpha1.ClusterTarget{target("default-main", "app-cluster", app.URL)},
				DiscoverClusters:         true,
				PlatformDatabase: &v1alpha1.PlatformDatabase{
					DefaultDSNSecretRef:    &v1alpha1.SecretKeyReference{Name: "bkpaas3-db", Key: "dsn"},
					WorkloadsDSNSecretRef:  &v1alpha1.SecretKeyReference{Name: "bkpaas3-wl-db", Key: "dsn"},
					EncryptionKeySecretRef: &v1alpha1.SecretKeyReference{Name: "bkpaas3-encrypt", Key: "key"},
				},
				WorkerLogs:    &v1alpha1.WorkerLogsCheck{PodSelector: &metav1.LabelSelector{MatchLabels: workers}, Container: "worker"},
				InstancePools: &v1alpha1.InstancePoolsCheck{MinAvailable: 2},
			},
		}
		key1 := create(d)

		By("every check failing")
		waitFor(key1, 40*time.Second, func(g Gomega, d *v1alpha1.PaaSDiagnosis) {
			g.Expect(d.Status.Codes).To(Equal([]string{"4313021", "4313022"}))
			g.Expect(findingsWith(d, "Unauthorized")).NotTo(BeEmpty())
			g.Expect(findingsWith(d, "Forbidden")).NotTo(BeEmpty())
			g.Expect(findingsWith(d, "ForbiddenInWorkerLogs")).NotTo(BeEmpty())
		})
		failing := fetch(key1)

		By("then the credentials and the pool repaired (the logs stay dirty)")
		var s = map[string]string{"ca.crt": string(app.CA), "tls.crt": string(cert), "tls.key": string(key)}
		updateSecret(ns, "app-cluster", s)
		Expect(app.Bind(sa, true, "cluster-admin")).To(Succeed())
		must(platform.Instances(shared, 1, false, "fifo"))
		waitFor(key1, 40*time.Second, func(g Gomega, d *v1alpha1.PaaSDiagnosis) {
			g.Expect(conditionStatus(d, v1alpha1.ConditionClusterReachable)).To(Equal(metav1.ConditionTrue))
			g.Expect(conditionStatus(d, v1alpha1.ConditionInstancePoolAvailable)).To(Equal(metav1.ConditionTrue))
			g.Expect(findingsWith(d, "PoolLow")).NotTo(BeEmpty())
		})
		healed := fetch(key1)

		By("looking for the canaries everywhere")
		secrets := []string{dbPassword, wlPassword, token, realDiscoveredToken, platformKey, pemBody(key)}
		var events eventsv1.EventList
		Expect(k8sClient.List(context.Background(), &events, client.InNamespace(ns))).To(Succeed())
		eventsJSON, _ := json.Marshal(events)
		metrics := metricsText()
		failingJSON, _ := json.Marshal(failing.Status)
		healedJSON, _ := json.Marshal(healed.Status)
		logs := managerLogs.String()
		Expect(logs).To(ContainSubstring(ns), "the manager's logs were captured")
		for _, secret := range secrets {
			for where, text := range map[string]string{
				"status while failing": string(failingJSON), "status once healed": string(healedJSON),
				"events": string(eventsJSON), "metrics": metrics, "manager logs": logs,
			} {
				Expect(strings.Contains(text, secret)).To(BeFalse(), "a secret (%.6s...) appears in the %s", secret, where)
			}
		}
	})
})

func updateSecret(ns, name string, data map[string]string) {
	GinkgoHelper()
	var s = corev1Secret(ns, name)
	Expect(k8sClient.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, s)).To(Succeed())
	s.Data = nil
	s.StringData = data
	Expect(k8sClient.Update(context.Background(), s)).To(Succeed())
}

func conditionStatus(d *v1alpha1.PaaSDiagnosis, t string) metav1.ConditionStatus {
	if c := condition(d, t); c != nil {
		return c.Status
	}
	return ""
}

// pemBody is the base64 body of a PEM block: the part of a key that is secret.
func pemBody(pem []byte) string {
	lines := strings.Split(strings.TrimSpace(string(pem)), "\n")
	if len(lines) < 3 {
		return string(pem)
	}
	return strings.Join(lines[1:len(lines)-1], "")[:40]
}
