//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/testsupport/mariadb"
)

// spec.settingsFrom through the controller: the platform's apiserver Deployment in the
// control cluster (no pods need run), its env from a ConfigMap, a Secret and literals,
// and the databases in MariaDB.

const webDeployment = "bkpaas3-apiserver-web"

// platformEnv is a platform database reachable as the apiserver's env gives it.
type platformEnv struct {
	ns       string
	platform *mariadb.Platform
	password string
	host     string
	port     string
}

// newPlatformEnv creates the namespace, a default database with a (read-only) user,
// the ConfigMap of its host, port and name, and the Secret of its password, as a
// bkpaas3 release's values would. The caller creates the Deployment.
func newPlatformEnv() *platformEnv {
	GinkgoHelper()
	dbCounter++
	p := must(mariadb.NewPlatform(dbServer, fmt.Sprintf("bk_paas_ng_%d", dbCounter), mariadb.Main))
	password := fmt.Sprintf("settings-canary-%d-77ab", dbCounter)
	dsn := must(p.ReadOnlyUser(fmt.Sprintf("pf_%d", dbCounter), password))
	cfg := must(mysql.ParseDSN(dsn))
	host, port := must2(net.SplitHostPort(cfg.Addr))
	e := &platformEnv{ns: newNamespace(), platform: p, password: password, host: host, port: port}
	e.configMap("bkpaas3-apiserver-envs", map[string]string{
		"PAAS_DATABASE_HOST": host, "PAAS_DATABASE_PORT": port, "PAAS_DATABASE_NAME": p.Database,
	})
	// The platform's Secret: not labelled for paasdiag (settingsFrom reads what the
	// platform's pods are given, with the Deployment's consent).
	Expect(k8sClient.Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: "bkpaas3-apiserver-db"},
		StringData: map[string]string{"password": password, "user": cfg.User, "key": platformKey},
	})).To(Succeed())
	return e
}

func (e *platformEnv) configMap(name string, data map[string]string) {
	GinkgoHelper()
	Expect(k8sClient.Create(context.Background(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: name}, Data: data,
	})).To(Succeed())
}

// container is the apiserver container as the chart would write it: envFrom the
// ConfigMap (and an optional one that does not exist), the user and password from
// the Secret.
func (e *platformEnv) container() corev1.Container {
	return corev1.Container{
		Name:  "apiserver",
		Image: "bkpaas3-apiserver:1.7.0",
		EnvFrom: []corev1.EnvFromSource{
			{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "bkpaas3-apiserver-envs"}}},
			{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "bkpaas3-apiserver-extra"}, Optional: ptr.To(true)}},
		},
		Env: []corev1.EnvVar{
			{Name: "DB_USER", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "bkpaas3-apiserver-db"}, Key: "user"}}},
			{Name: "PAAS_DATABASE_USER", Value: "$(DB_USER)"},
			{Name: "PAAS_DATABASE_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "bkpaas3-apiserver-db"}, Key: "password"}}},
			{Name: "PAAS_BKKRILL_ENCRYPT_SECRET_KEY", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "bkpaas3-apiserver-db"}, Key: "key"}}},
		},
	}
}

// deployment creates the Deployment, labelled for settingsFrom when consent is true.
func (e *platformEnv) deployment(consent bool, containers ...corev1.Container) {
	GinkgoHelper()
	labels := map[string]string{"app.kubernetes.io/name": webDeployment}
	meta := metav1.ObjectMeta{Namespace: e.ns, Name: webDeployment, Labels: map[string]string{}}
	if consent {
		meta.Labels[v1alpha1.SettingsFromLabel] = "true"
	}
	Expect(k8sClient.Create(context.Background(), &appsv1.Deployment{
		ObjectMeta: meta,
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: containers}},
		},
	})).To(Succeed())
}

// poolsFromSettings is the zero-configuration diagnosis of the pools.
func poolsFromSettings(ns string, from v1alpha1.SettingsSource) *v1alpha1.PaaSDiagnosis {
	return &v1alpha1.PaaSDiagnosis{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bkpaas3"},
		Spec: v1alpha1.PaaSDiagnosisSpec{
			Interval:      metav1.Duration{Duration: 10 * time.Second},
			Timeout:       metav1.Duration{Duration: 3 * time.Second},
			SettingsFrom:  &from,
			InstancePools: &v1alpha1.InstancePoolsCheck{MinAvailable: 1},
		},
	}
}

func setting(d *v1alpha1.PaaSDiagnosis, name string) string {
	for _, s := range d.Status.Settings {
		if s.Name == name {
			return s.Source
		}
	}
	return ""
}

var _ = Describe("[SET03 SET04 SET05] settingsFrom: the platform's own settings", func() {
	It("finds the default database in the apiserver's env and reports 4313022, saying where the DSN came from", func() {
		e := newPlatformEnv()
		redis := must(e.platform.Service("redis", "pool"))
		shared := must(e.platform.Plan(redis, "0shared", "default"))
		must(e.platform.Instances(shared, 2, true, "fifo"))
		e.deployment(true, e.container())
		key := create(poolsFromSettings(e.ns, v1alpha1.SettingsSource{Deployment: webDeployment}))

		d := waitForCondition(key, v1alpha1.ConditionInstancePoolAvailable, metav1.ConditionFalse, v1alpha1.ReasonPoolEmpty)
		Expect(d.Status.Codes).To(Equal([]string{"4313022"}))
		Expect(condition(d, v1alpha1.ConditionStalled).Status).To(Equal(metav1.ConditionFalse))
		source := setting(d, "defaultDatabase")
		Expect(source).To(HavePrefix("Deployment bkpaas3-apiserver-web, container apiserver: "))
		Expect(source).To(ContainSubstring("envFrom ConfigMap bkpaas3-apiserver-envs"))
		Expect(source).To(ContainSubstring("env PAAS_DATABASE_PASSWORD from Secret bkpaas3-apiserver-db key password"))
		Expect(d.Status.Platform.ReleaseLine).To(Equal("1.7+"))
		expectNoSecret(d, e.password, platformKey)
		By("looking for the platform's password and key in events, metrics and the manager's logs")
		var events eventsv1.EventList
		Expect(k8sClient.List(context.Background(), &events, client.InNamespace(e.ns))).To(Succeed())
		Expect(events.Items).NotTo(BeEmpty(), "the 4313022 event was recorded")
		eventsJSON, _ := json.Marshal(events)
		logs := managerLogs.String()
		Expect(logs).To(ContainSubstring(e.ns), "the manager's logs were captured")
		for where, text := range map[string]string{"events": string(eventsJSON), "metrics": metricsText(), "manager logs": logs} {
			for _, secret := range []string{e.password, platformKey} {
				Expect(strings.Contains(text, secret)).To(BeFalse(), "a secret (%.6s...) appears in the %s", secret, where)
			}
		}
	})

	It("lets an explicit reference win over what settingsFrom finds", func() {
		e := newPlatformEnv()
		redis := must(e.platform.Service("redis", "pool"))
		shared := must(e.platform.Plan(redis, "0shared", "default"))
		must(e.platform.Instances(shared, 2, true, "fifo")) // empty here
		e.deployment(true, e.container())
		// Another database, with an available instance, named explicitly.
		dbCounter++
		other := must(mariadb.NewPlatform(dbServer, fmt.Sprintf("bk_paas_ng_%d", dbCounter), mariadb.Main))
		otherRedis := must(other.Service("redis", "pool"))
		must(other.Instances(must(other.Plan(otherRedis, "0shared", "default")), 1, false, "fifo"))
		createSecret(e.ns, "explicit-db", map[string]string{"dsn": must(other.ReadOnlyUser(fmt.Sprintf("ex_%d", dbCounter), "explicit-pass"))})
		d := poolsFromSettings(e.ns, v1alpha1.SettingsSource{Deployment: webDeployment, Container: "apiserver"})
		d.Spec.PlatformDatabase = &v1alpha1.PlatformDatabase{DefaultDSNSecretRef: &v1alpha1.SecretKeyReference{Name: "explicit-db", Key: "dsn"}}
		key := create(d)

		got := waitForCondition(key, v1alpha1.ConditionInstancePoolAvailable, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		Expect(setting(got, "defaultDatabase")).To(Equal("Secret explicit-db key dsn (platformDatabase.defaultDSNSecretRef)"))
	})

	It("is Stalled, naming it, when the Deployment or its container does not exist", func() {
		e := newPlatformEnv()
		key := create(poolsFromSettings(e.ns, v1alpha1.SettingsSource{Deployment: webDeployment}))
		d := waitForCondition(key, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonSettingsSourceNotFound)
		Expect(condition(d, v1alpha1.ConditionStalled).Message).To(Equal(fmt.Sprintf("settingsFrom: Deployment %q not found in namespace %q", webDeployment, e.ns)))
		Expect(condition(d, v1alpha1.ConditionInstancePoolAvailable).Status).To(Equal(metav1.ConditionUnknown))

		e.deployment(true, e.container())
		other := types.NamespacedName{Namespace: e.ns, Name: "wrong-container"}
		wrong := poolsFromSettings(e.ns, v1alpha1.SettingsSource{Deployment: webDeployment, Container: "web"})
		wrong.Name = other.Name
		create(wrong)
		d = waitForCondition(other, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonSettingsSourceNotFound)
		Expect(condition(d, v1alpha1.ConditionStalled).Message).To(Equal(`settingsFrom: Deployment "bkpaas3-apiserver-web" has no container "web"; it has apiserver`))
	})

	It("does not read a Deployment that has not consented, and says how to consent", func() {
		e := newPlatformEnv()
		e.deployment(false, e.container())
		key := create(poolsFromSettings(e.ns, v1alpha1.SettingsSource{Deployment: webDeployment}))
		d := waitForCondition(key, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonSettingsSourceNotAllowed)
		Expect(condition(d, v1alpha1.ConditionStalled).Message).To(ContainSubstring("kubectl label deployment -n " + e.ns + " bkpaas3-apiserver-web diagnosis.paasdiag.io/settings-from=true"))
		Expect(setting(d, "defaultDatabase")).To(HavePrefix("not read: "))
	})

	It("makes the check Unknown, naming the setting, when the platform's configuration lacks it", func() {
		e := newPlatformEnv()
		c := e.container()
		c.EnvFrom = nil // no host, port or name
		e.deployment(true, c)
		key := create(poolsFromSettings(e.ns, v1alpha1.SettingsSource{Deployment: webDeployment}))
		d := waitForCondition(key, v1alpha1.ConditionInstancePoolAvailable, metav1.ConditionUnknown, v1alpha1.ReasonSettingMissing)
		Expect(condition(d, v1alpha1.ConditionInstancePoolAvailable).Message).To(ContainSubstring("PAAS_DATABASE_NAME"))
		Expect(condition(d, v1alpha1.ConditionStalled).Status).To(Equal(metav1.ConditionFalse))
		Expect(d.Status.Codes).To(BeEmpty())
		expectNoSecret(d, e.password)
	})

	It("says clearly, without the value, that a setting does not parse", func() {
		e := newPlatformEnv()
		c := e.container()
		c.Env = append(c.Env, corev1.EnvVar{Name: "PAAS_DATABASE_OPTIONS", Value: "@json {not json " + e.password})
		e.deployment(true, c)
		key := create(poolsFromSettings(e.ns, v1alpha1.SettingsSource{Deployment: webDeployment}))
		d := waitForCondition(key, v1alpha1.ConditionInstancePoolAvailable, metav1.ConditionUnknown, v1alpha1.ReasonSettingsUnresolvable)
		msg := condition(d, v1alpha1.ConditionInstancePoolAvailable).Message
		Expect(msg).To(ContainSubstring("PAAS_DATABASE_OPTIONS"))
		Expect(msg).To(ContainSubstring("the platform's settings would not load"))
		expectNoSecret(d, e.password)
	})

	It("handles a missing envFrom source as Kubernetes does: optional is skipped, required is named", func() {
		e := newPlatformEnv()
		c := e.container()
		c.EnvFrom = append(c.EnvFrom, corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "bkpaas3-apiserver-gone"}}})
		e.deployment(true, c)
		key := create(poolsFromSettings(e.ns, v1alpha1.SettingsSource{Deployment: webDeployment}))
		d := waitForCondition(key, v1alpha1.ConditionInstancePoolAvailable, metav1.ConditionUnknown, v1alpha1.ReasonSettingsUnresolvable)
		Expect(condition(d, v1alpha1.ConditionInstancePoolAvailable).Message).To(ContainSubstring(`envFrom Secret "bkpaas3-apiserver-gone" of Deployment "bkpaas3-apiserver-web" not found`))
		// The optional ConfigMap the container also names was no problem.
		Expect(condition(d, v1alpha1.ConditionInstancePoolAvailable).Message).NotTo(ContainSubstring("bkpaas3-apiserver-extra"))
	})

	It("warns when a source changed after the newest platform pod started", func() {
		e := newPlatformEnv()
		redis := must(e.platform.Service("redis", "pool"))
		must(e.platform.Instances(must(e.platform.Plan(redis, "0shared", "default")), 1, false, "fifo"))
		e.deployment(true, e.container())
		// A pod of the Deployment whose container started an hour ago (no kubelet runs
		// it: its status is written as one would).
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: webDeployment + "-7d9f-abcde", Labels: map[string]string{"app.kubernetes.io/name": webDeployment}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "apiserver", Image: "bkpaas3-apiserver:1.7.0"}}},
		}
		Expect(k8sClient.Create(context.Background(), pod)).To(Succeed())
		started := metav1.NewTime(time.Now().Add(-time.Hour).Truncate(time.Second))
		pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
			Name: "apiserver", Ready: true, Image: "bkpaas3-apiserver:1.7.0", ImageID: "sha256:0",
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}},
		}}}
		Expect(k8sClient.Status().Update(context.Background(), pod)).To(Succeed())
		key := create(poolsFromSettings(e.ns, v1alpha1.SettingsSource{Deployment: webDeployment}))

		d := waitForCondition(key, v1alpha1.ConditionInstancePoolAvailable, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		var stale []v1alpha1.Finding
		for _, f := range d.Status.Findings {
			if f.Reason == v1alpha1.ReasonSettingsChangedSinceStart {
				stale = append(stale, f)
			}
		}
		// Both sources (the optional ConfigMap does not exist) were written after the
		// pod's start: both are named.
		Expect(stale).To(HaveLen(2))
		Expect(stale[0].Severity).To(Equal(v1alpha1.SeverityWarning))
		Expect(stale[0].Code).To(BeEmpty())
		names := []string{stale[0].Check, stale[1].Check}
		Expect(names).To(ConsistOf("settings/configmap/bkpaas3-apiserver-envs", "settings/secret/bkpaas3-apiserver-db"))
		Expect(stale[0].Message).To(ContainSubstring("the running platform may still use the old value"))
		Expect(stale[0].Message).To(ContainSubstring(started.UTC().Format(time.RFC3339)))
		Expect(condition(d, v1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
	})

	It("discovers the clusters with the workloads database and the key from an encrypted WL_DATABASE_URL", func() {
		e := newPlatformEnv()
		w := workloadsDB(e.ns, false)
		token := must(app.TokenUser(uniqueName("bkpaas-settings"), "cluster-admin"))
		must(w.Cluster("default-main", []string{app.URL}, mariadb.Encrypt(app.CA, nil, nil, token, mariadb.FernetEncrypter(platformKey))))
		// The platform's encrypted WL_DATABASE_URL: a bare Fernet token of the URL.
		wlDSN := must(mysql.ParseDSN(string(secretData(e.ns, "bkpaas3-wl-db")["dsn"])))
		url := fmt.Sprintf("mysql://%s:%s@%s/%s", wlDSN.User, wlDSN.Passwd, wlDSN.Addr, wlDSN.DBName)
		token2 := strings.TrimPrefix(mariadb.FernetEncrypter(platformKey)(url), "bkcrypt$")
		c := e.container()
		c.Env = append(c.Env, corev1.EnvVar{Name: "WL_DATABASE_URL", Value: token2})
		e.deployment(true, c)
		d := &v1alpha1.PaaSDiagnosis{
			ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: "bkpaas3"},
			Spec: v1alpha1.PaaSDiagnosisSpec{
				Interval:         metav1.Duration{Duration: 10 * time.Second},
				Timeout:          metav1.Duration{Duration: 5 * time.Second},
				SettingsFrom:     &v1alpha1.SettingsSource{Deployment: webDeployment},
				DiscoverClusters: true,
			},
		}
		key := create(d)
		got := waitForCondition(key, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		Expect(clusterStatus(got, "default-main").APIServers[0].Reachable).To(BeTrue())
		Expect(setting(got, "workloadsDatabase")).To(Equal("Deployment bkpaas3-apiserver-web, container apiserver: env WL_DATABASE_URL (encrypted), decrypted with Deployment bkpaas3-apiserver-web, container apiserver: env PAAS_BKKRILL_ENCRYPT_SECRET_KEY from Secret bkpaas3-apiserver-db key key"))
		Expect(setting(got, "cipher")).To(ContainSubstring("Fernet"))
		Expect(setting(got, "apiServerPods")).To(Equal("the selector of Deployment bkpaas3-apiserver-web: app.kubernetes.io/name=bkpaas3-apiserver-web"))
		expectNoSecret(got, token, platformKey, wlDSN.Passwd, e.password, token2)
	})
})

// secretData reads a Secret the test created.
func secretData(ns, name string) map[string][]byte {
	GinkgoHelper()
	var s corev1.Secret
	Expect(k8sClient.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &s)).To(Succeed())
	return s.Data
}
