//go:build integration

package integration

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/testsupport/mariadb"
)

// The conformance rows (docs/conformance.md) through the running manager, on a
// database of each release line, laid out and migrated as the pinned revision ships it,
// read through the documented read-only grants.

// platformOn creates both of the platform's databases of a line, with read-only users
// and their DSN Secrets, a redis pool of one plan, and a discovered cluster reachable
// with the platform's (encrypted) token.
func platformOn(ns string, line mariadb.Line) (*mariadb.Platform, *mariadb.Workloads, string) {
	GinkgoHelper()
	dbCounter++
	p := must(mariadb.NewPlatform(dbServer, fmt.Sprintf("bk_paas_ng_%d", dbCounter), line))
	createSecret(ns, "bkpaas3-db", map[string]string{"dsn": must(p.ReadOnlyUser(fmt.Sprintf("ro_%d", dbCounter), "ro-pass"))})
	w := workloadsDBOn(ns, line)
	createSecret(ns, "bkpaas3-encrypt", map[string]string{"key": platformKey})
	token := must(app.TokenUser(uniqueName("bkpaas-"+strings.ReplaceAll(string(line), ".", "")), "cluster-admin"))
	must(w.Cluster("default-main", []string{app.URL}, mariadb.Encrypt(app.CA, nil, nil, token, mariadb.FernetEncrypter(platformKey))))
	redis := must(p.Service("redis", "pool"))
	plan := must(p.Plan(redis, "0shared", "default"))
	return p, w, plan
}

func wholeDiagnosis(ns string) *v1alpha1.PaaSDiagnosis {
	d := discoveryDiagnosis(ns, v1alpha1.CipherFernet)
	d.Spec.PlatformDatabase.DefaultDSNSecretRef = &v1alpha1.SecretKeyReference{Name: "bkpaas3-db", Key: "dsn"}
	d.Spec.InstancePools = &v1alpha1.InstancePoolsCheck{MinAvailable: 1}
	d.Spec.InitialClusterState = &v1alpha1.InitialClusterStateCheck{}
	return d
}

var _ = Describe("Conformance on every release line", func() {
	DescribeTable("[REL01 REL02 ICS01 ICS09 POOL01 POOL02] the release line, the Job and an emptied pool",
		func(line mariadb.Line, wantLine, wantEvidence string) {
			ns := newNamespace()
			p, _, plan := platformOn(ns, line)
			ids := must(p.Instances(plan, 1, false, "fifo"))
			key := create(wholeDiagnosis(ns))

			d := waitFor(key, 30*time.Second, func(g Gomega, d *v1alpha1.PaaSDiagnosis) {
				g.Expect(d.Status.Platform).NotTo(BeNil())
				g.Expect(d.Status.Platform.ReleaseLine).To(Equal(wantLine))
				g.Expect(condition(d, v1alpha1.ConditionInstancePoolAvailable).Reason).To(Equal(v1alpha1.ReasonSucceeded))
			})
			Expect(d.Status.Platform.Evidence).To(Equal(wantEvidence))
			Expect(clusterStatus(d, "default-main").APIServers[0].Reachable).To(BeTrue())
			ics := condition(d, v1alpha1.ConditionInitialClusterStateReady)
			if line.Legacy() {
				// ICS01: no Job in the namespace, and 1.6 runs region_gen_state in it.
				Expect(ics.Reason).To(Equal("JobMissing"))
				Expect(d.Status.Codes).To(Equal([]string{"4313021"}))
			} else {
				// ICS09: the Job is not judged; the cluster was never synced (ICS12).
				Expect(ics.Status).To(Equal(metav1.ConditionTrue), ics.Message)
				Expect(ics.Message).To(ContainSubstring("never synced: default-main"))
				Expect(d.Status.Codes).To(BeEmpty())
			}

			By("the last instance is allocated")
			Expect(p.Allocate(ids[0])).To(Succeed())
			d = waitForCondition(key, v1alpha1.ConditionInstancePoolAvailable, metav1.ConditionFalse, "PoolEmpty")
			Expect(d.Status.Codes).To(ContainElement("4313022"))
		},
		Entry("release-1.6", mariadb.Release16, "1.6", "services 0006, cluster 0010, region 0003"),
		Entry("release-1.7", mariadb.Release17, "1.7+", "services 0009, cluster 0023, region 0005"),
		Entry("main", mariadb.Main, "1.7+", "services 0009, cluster 0023, region 0005"),
	)

	It("[REL03 ICS13] says Unknown, and claims nothing for the Job, when django_migrations may not be read", func() {
		ns := newNamespace()
		dbCounter++
		w := must(mariadb.NewWorkloads(dbServer, fmt.Sprintf("bk_engine_ng_%d", dbCounter), mariadb.Main))
		dsn := must(w.ReadOnlyUser(fmt.Sprintf("wl_%d", dbCounter), "wl-pass"))
		// A grant from before release detection: no django_migrations.
		Expect(dbServer.Exec("", fmt.Sprintf("REVOKE SELECT (app, name) ON `%s`.django_migrations FROM 'wl_%d'@'127.0.0.1'", w.Database, dbCounter))).To(Succeed())
		createSecret(ns, "bkpaas3-wl-db", map[string]string{"dsn": dsn})
		key := create(&v1alpha1.PaaSDiagnosis{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bkpaas3"},
			Spec: v1alpha1.PaaSDiagnosisSpec{
				Interval:            metav1.Duration{Duration: 10 * time.Second},
				Timeout:             metav1.Duration{Duration: 3 * time.Second},
				InitialClusterState: &v1alpha1.InitialClusterStateCheck{},
				PlatformDatabase: &v1alpha1.PlatformDatabase{
					WorkloadsDSNSecretRef: &v1alpha1.SecretKeyReference{Name: "bkpaas3-wl-db", Key: "dsn"},
				},
			},
		})
		d := waitForCondition(key, v1alpha1.ConditionInitialClusterStateReady, metav1.ConditionUnknown, "ReleaseLineUnknown")
		Expect(d.Status.Platform.ReleaseLine).To(Equal("Unknown"))
		Expect(d.Status.Platform.Evidence).To(ContainSubstring("django_migrations"))
		Expect(d.Status.Codes).To(BeEmpty())
	})

	It("[REL04] says Unknown when the two databases disagree (an upgrade that stopped half way)", func() {
		ns := newNamespace()
		_, w, _ := platformOn(ns, mariadb.Main)
		// The default database was migrated to 1.7; the workloads database was not.
		Expect(dbServer.SetMigrations(w.Database, "cluster", "0001_initial", "0010_alter_cluster_is_default")).To(Succeed())
		Expect(dbServer.SetMigrations(w.Database, "region", "0001_initial", "0003_egressrule_egressspec")).To(Succeed())
		key := create(wholeDiagnosis(ns))
		d := waitForCondition(key, v1alpha1.ConditionInitialClusterStateReady, metav1.ConditionUnknown, "ReleaseLineUnknown")
		Expect(d.Status.Platform.ReleaseLine).To(Equal("Unknown"))
		Expect(d.Status.Platform.Evidence).To(ContainSubstring("migrations disagree"))
	})

	DescribeTable("[CLU24 CLU28] an app whose config names no cluster gets its region's default (1.6) or its tenant's policy's (1.7+)",
		func(line mariadb.Line) {
			ns := newNamespace()
			_, w, _ := platformOn(ns, line)
			Expect(w.App("bkapp-lost-prod", "default", "")).To(Succeed())
			key := create(wholeDiagnosis(ns))

			// No default cluster (1.6), no allocation policy (1.7+): the platform's
			// allocator raises, and the app's next deploy is 4313021.
			subject := "tenant/default"
			if line.Legacy() {
				subject = "region/default"
			}
			notFound := func(d *v1alpha1.PaaSDiagnosis) []v1alpha1.Finding {
				var out []v1alpha1.Finding
				for _, f := range findingsWith(d, v1alpha1.ReasonClusterNotFound) {
					if f.Condition == v1alpha1.ConditionClusterReachable {
						out = append(out, f)
					}
				}
				return out
			}
			d := waitFor(key, 30*time.Second, func(g Gomega, d *v1alpha1.PaaSDiagnosis) {
				g.Expect(notFound(d)).To(HaveLen(1))
			})
			f := notFound(d)[0]
			Expect(f.Check).To(Equal(subject))
			Expect(f.Severity).To(Equal(v1alpha1.SeverityError))
			Expect(f.Code).To(Equal("4313021"))
			Expect(f.Message).To(ContainSubstring("bkapp-lost-prod"))
			Expect(condition(d, v1alpha1.ConditionClusterReachable).Status).To(Equal(metav1.ConditionFalse))

			// The platform's own remedy: a default cluster, or a policy naming one.
			if line.Legacy() {
				Expect(dbServer.Exec(w.Database, "UPDATE cluster_cluster SET is_default = 1, region = 'default'")).To(Succeed())
			} else {
				Expect(w.AllocationPolicy("default", "uniform", `{"env_specific": false, "clusters": ["gone", "default-main"], "env_clusters": null}`, "")).To(Succeed())
			}
			// The next evaluation (interval 10 s) sees it.
			waitFor(key, 30*time.Second, func(g Gomega, d *v1alpha1.PaaSDiagnosis) {
				g.Expect(findingsWith(d, v1alpha1.ReasonClusterNotFound)).To(BeEmpty())
				g.Expect(condition(d, v1alpha1.ConditionClusterReachable).Status).To(Equal(metav1.ConditionTrue))
			})
		},
		Entry("release-1.6", mariadb.Release16),
		Entry("release-1.7", mariadb.Release17),
		Entry("main", mariadb.Main),
	)
})
