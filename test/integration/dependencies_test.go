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
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/testsupport/bkrepo"
	"github.com/paasdiag/paasdiag/internal/testsupport/mariadb"
	"github.com/paasdiag/paasdiag/internal/testsupport/ociregistry"
	"github.com/paasdiag/paasdiag/internal/testsupport/rsvcprovider"
)

// The checks of the other infrastructure through the controller, with zero
// configuration: the platform's Deployment gives every setting, as a bkpaas3 release
// would (a ConfigMap of addresses, a Secret of passwords and keys), and each piece is a
// real implementation on loopback: a bkrepo generic API, distribution's registry behind
// a token server (one over http for S-mart, one over https for builds), a remote
// service provider checking the platform's JWT.

var _ = Describe("[BLB04 SMR02 RSV03 AIR02] blob store, S-mart registry, remote services and app image registries from settingsFrom", func() {
	It("checks each with the platform's credentials, says 4314004 when the S-mart password no longer works and heals, and leaks no secret", func() {
		canary := func(what string) string { return fmt.Sprintf("cnry%s%d", what, time.Now().UnixNano()%1_000_000) }
		blobPassword, smartPassword, jwtKey, appPassword := canary("blob"), canary("smart"), canary("jwt"), canary("app")

		repo := must(bkrepo.Start(bkrepo.Options{
			Users:    map[string]string{"bkpaas3": blobPassword},
			Projects: map[string][]string{"bkpaas": {"bkpaas3-source-packages"}},
			Access:   map[string]map[string]bkrepo.Access{"bkpaas3": {"bkpaas": bkrepo.ReadWrite}},
		}))
		DeferCleanup(repo.Close)
		smart := must(ociregistry.Start(ociregistry.Options{Users: map[string]ociregistry.User{
			"bkpaas": {Password: smartPassword, Push: []string{"bkpaas/docker/*", "bkpaas/docker/*/*"}}}}))
		DeferCleanup(smart.Close)
		for _, image := range []string{"slug-app:v1.7.0", "run-heroku-bionic:v1.0.4"} {
			name, tag, _ := strings.Cut(image, ":")
			must(smart.PushImage("bkpaas/docker/"+name, tag))
		}
		builds := must(ociregistry.Start(ociregistry.Options{TLS: true, Users: map[string]ociregistry.User{
			"bkpaas": {Password: appPassword, Push: []string{"bkpaas/docker/*/*"}}}}))
		DeferCleanup(builds.Close)
		mysqlPlan := "5f2b7c1e-0000-4000-8000-0000000000b1"
		provider := rsvcprovider.Start(rsvcprovider.Options{Iss: "paas-v3", Key: jwtKey, Services: []rsvcprovider.Service{{
			UUID: "5f2b7c1e-0000-4000-8000-0000000000a1", Name: "mysql", Category: 1, DisplayName: "MySQL", AvailableLanguages: "python",
			IsVisible: true, IsActive: true, Plans: []rsvcprovider.Plan{{UUID: mysqlPlan, Name: "default", Description: "d", IsActive: true}}}}})
		DeferCleanup(provider.Close)

		By("laying out the platform: its database with a package module and a bound plan, its settings in a ConfigMap and a Secret")
		e := newPlatformEnv()
		module := must(e.platform.PackageModule("smartapp", "default", mariadb.OriginSMart))
		key := must(e.platform.SourcePackage(module, "1.0.0", 4))
		Expect(repo.PutObject("bkpaas", "bkpaas3-source-packages", key, []byte("pkg!"))).To(Succeed())
		env := must(e.platform.Environment("dbapp", "default", "prod"))
		Expect(e.platform.RemoteAttach(env, "5f2b7c1e-0000-4000-8000-0000000000a1", mysqlPlan)).To(Succeed())
		e.configMap("bkpaas3-apiserver-deps", map[string]string{
			"PAAS_SMART_DOCKER_REGISTRY_ADDR":          smart.Host,
			"PAAS_APP_IMAGE":                           "bkpaas/apiserver:v1.7.0",
			"PAAS_RSVC_BUNDLE_MYSQL_ENDPOINT_URL":      provider.Endpoint(),
			"PAAS_APP_DOCKER_REGISTRY_ADDR":            builds.Host,
			"PAAS_APP_DOCKER_REGISTRY_SKIP_TLS_VERIFY": "true",
		})
		depsSecret := map[string]string{
			"PAAS_BLOBSTORE_BKREPO_CONFIG": fmt.Sprintf(`{ENDPOINT=%q, PROJECT="bkpaas", USERNAME="bkpaas3", PASSWORD=%q}`, repo.Endpoint, blobPassword),
			"PAAS_SMART_DOCKER_PASSWORD":   smartPassword,
			"PAAS_ONE_SIMPLE_JWT_AUTH_KEY": jwtKey,
			"PAAS_APP_DOCKER_PASSWORD":     appPassword,
		}
		Expect(k8sClient.Create(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: "bkpaas3-apiserver-deps"}, StringData: depsSecret})).To(Succeed())
		c := e.container()
		c.EnvFrom = append(c.EnvFrom,
			corev1.EnvFromSource{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "bkpaas3-apiserver-deps"}}},
			corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "bkpaas3-apiserver-deps"}}})
		e.deployment(true, c)

		key1 := types.NamespacedName{Namespace: e.ns, Name: "bkpaas3"}
		Expect(k8sClient.Create(context.Background(), &v1alpha1.PaaSDiagnosis{
			ObjectMeta: metav1.ObjectMeta{Namespace: key1.Namespace, Name: key1.Name},
			Spec: v1alpha1.PaaSDiagnosisSpec{
				Interval:           metav1.Duration{Duration: 10 * time.Second},
				Timeout:            metav1.Duration{Duration: 5 * time.Second},
				SettingsFrom:       &v1alpha1.SettingsSource{Deployment: webDeployment},
				BlobStore:          &v1alpha1.BlobStoreCheck{},
				SmartRegistry:      &v1alpha1.SmartRegistryCheck{},
				RemoteServices:     &v1alpha1.RemoteServicesCheck{},
				AppImageRegistries: &v1alpha1.AppImageRegistriesCheck{},
			},
		})).To(Succeed())

		By("every check passing with the platform's own credentials")
		healthy := waitFor(key1, 60*time.Second, func(g Gomega, d *v1alpha1.PaaSDiagnosis) {
			for _, t := range []string{v1alpha1.ConditionBlobStoreAvailable, v1alpha1.ConditionSmartRegistryAvailable,
				v1alpha1.ConditionRemoteServicesAvailable, v1alpha1.ConditionAppImageRegistryAvailable, v1alpha1.ConditionReady} {
				c := condition(d, t)
				g.Expect(c).NotTo(BeNil(), t)
				g.Expect(c.Status).To(Equal(metav1.ConditionTrue), "%s: %s", t, c.Message)
			}
		})
		Expect(condition(healthy, v1alpha1.ConditionBlobStoreAvailable).Message).To(ContainSubstring("1 source package objects asked for"))
		Expect(condition(healthy, v1alpha1.ConditionRemoteServicesAvailable).Message).To(ContainSubstring("1 bindings to 1 plans checked"))
		Expect(setting(healthy, "smartRegistry")).To(ContainSubstring("SMART_DOCKER_PASSWORD from envFrom Secret bkpaas3-apiserver-deps"))

		By("the S-mart password no longer working: 4314004, Ready False, the other checks still True")
		depsSecret["PAAS_SMART_DOCKER_PASSWORD"] = "rotated-" + smartPassword
		updateSecret(e.ns, "bkpaas3-apiserver-deps", depsSecret)
		failing := waitFor(key1, 60*time.Second, func(g Gomega, d *v1alpha1.PaaSDiagnosis) {
			g.Expect(conditionStatus(d, v1alpha1.ConditionSmartRegistryAvailable)).To(Equal(metav1.ConditionFalse))
			g.Expect(d.Status.Codes).To(ContainElement("4314004"))
		})
		smartCond := condition(failing, v1alpha1.ConditionSmartRegistryAvailable)
		Expect(smartCond.Reason).To(Equal(v1alpha1.ReasonTokenRefused))
		Expect(smartCond.Message).To(ContainSubstring("[4314004] 访问容器镜像仓库异常"))
		Expect(conditionStatus(failing, v1alpha1.ConditionReady)).To(Equal(metav1.ConditionFalse))
		Expect(conditionStatus(failing, v1alpha1.ConditionBlobStoreAvailable)).To(Equal(metav1.ConditionTrue))

		By("the password restored: healed")
		depsSecret["PAAS_SMART_DOCKER_PASSWORD"] = smartPassword
		updateSecret(e.ns, "bkpaas3-apiserver-deps", depsSecret)
		healed := waitFor(key1, 60*time.Second, func(g Gomega, d *v1alpha1.PaaSDiagnosis) {
			g.Expect(conditionStatus(d, v1alpha1.ConditionSmartRegistryAvailable)).To(Equal(metav1.ConditionTrue))
			g.Expect(d.Status.Codes).To(BeEmpty())
		})

		By("nothing written anywhere, and no secret in status, events, metrics or logs")
		Expect(repo.Writes()).To(BeEmpty())
		Expect(smart.Writes()).To(BeZero())
		Expect(builds.Writes()).To(BeZero())
		Expect(provider.Writes()).To(BeZero())
		var events eventsv1.EventList
		Expect(k8sClient.List(context.Background(), &events, client.InNamespace(e.ns))).To(Succeed())
		eventsJSON, _ := json.Marshal(events)
		failingJSON, _ := json.Marshal(failing.Status)
		healedJSON, _ := json.Marshal(healed.Status)
		texts := map[string]string{"status while failing": string(failingJSON), "status once healed": string(healedJSON),
			"events": string(eventsJSON), "metrics": metricsText(), "manager logs": managerLogs.String()}
		Expect(string(eventsJSON)).To(ContainSubstring("4314004"), "an event says the code became active")
		for _, secret := range []string{blobPassword, smartPassword, jwtKey, appPassword} {
			for where, text := range texts {
				Expect(strings.Contains(text, secret)).To(BeFalse(), "a secret (%.8s...) appears in the %s", secret, where)
			}
		}
	})
})
