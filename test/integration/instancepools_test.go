//go:build integration

package integration

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/testsupport/mariadb"
)

// The instance pool check (4313022) through the controller: the platform's tables in
// MariaDB, read by the user the GRANT docs/runbooks.md gives.

var dbCounter int

// pooled is one test's platform database, its read-only DSN in a Secret, and a
// diagnosis watching it.
type pooled struct {
	platform *mariadb.Platform
	key      types.NamespacedName
	password string
}

// newPooled creates the database (current or 1.6 layout), the read-only user, the
// Secret with its DSN and the namespace; the caller fills the tables, then calls watch.
func newPooled(legacy bool) *pooled {
	GinkgoHelper()
	dbCounter++
	name := fmt.Sprintf("bk_paas_ng_%d", dbCounter)
	line := mariadb.Main
	if legacy {
		line = mariadb.Release16
	}
	p, err := mariadb.NewPlatform(dbServer, name, line)
	Expect(err).NotTo(HaveOccurred())
	password := fmt.Sprintf("ro-canary-%d-9c1d", dbCounter)
	dsn, err := p.ReadOnlyUser(fmt.Sprintf("ro_%d", dbCounter), password)
	Expect(err).NotTo(HaveOccurred())
	ns := newNamespace()
	createSecret(ns, "bkpaas3-db", map[string]string{"dsn": dsn})
	return &pooled{platform: p, key: types.NamespacedName{Namespace: ns, Name: "bkpaas3"}, password: password}
}

// watch creates the diagnosis of the pools.
func (p *pooled) watch(minAvailable int32) {
	GinkgoHelper()
	Expect(k8sClient.Create(context.Background(), &v1alpha1.PaaSDiagnosis{
		ObjectMeta: metav1.ObjectMeta{Namespace: p.key.Namespace, Name: p.key.Name},
		Spec: v1alpha1.PaaSDiagnosisSpec{
			Interval: metav1.Duration{Duration: 10 * time.Second},
			Timeout:  metav1.Duration{Duration: 3 * time.Second},
			PlatformDatabase: &v1alpha1.PlatformDatabase{
				DefaultDSNSecretRef: &v1alpha1.SecretKeyReference{Name: "bkpaas3-db", Key: "dsn"},
			},
			InstancePools: &v1alpha1.InstancePoolsCheck{MinAvailable: minAvailable},
		},
	})).To(Succeed())
}

func must[T any](v T, err error) T {
	GinkgoHelper()
	Expect(err).NotTo(HaveOccurred())
	return v
}

// redisPlans lays out the shipped fixture: redis with plans 0shared and 1exclusive.
func (p *pooled) redisPlans() (shared, exclusive string) {
	GinkgoHelper()
	redis := must(p.platform.Service("redis", "pool"))
	must(p.platform.Service("mysql", "mysql")) // a remote service never raises 4313022
	return must(p.platform.Plan(redis, "0shared", "default")), must(p.platform.Plan(redis, "1exclusive", "default"))
}

func poolOf(d *v1alpha1.PaaSDiagnosis, plan string) v1alpha1.PoolStatus {
	GinkgoHelper()
	for _, p := range d.Status.Pools {
		if p.Plan == plan {
			return p
		}
	}
	Fail("no pool status for plan " + plan)
	return v1alpha1.PoolStatus{}
}

var _ = Describe("The instance pool check", func() {
	It("passes when every plan has an available instance", func() {
		p := newPooled(false)
		shared, exclusive := p.redisPlans()
		must(p.platform.Instances(shared, 3, false, "fifo"))
		must(p.platform.Instances(shared, 2, true, "fifo"))
		must(p.platform.Instances(exclusive, 1, false, "fifo"))
		p.watch(1)

		d := waitForCondition(p.key, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		Expect(condition(d, v1alpha1.ConditionInstancePoolAvailable).Status).To(Equal(metav1.ConditionTrue))
		Expect(condition(d, v1alpha1.ConditionInstancePoolAvailable).Message).To(ContainSubstring("2 plan(s) checked (schema: current)"))
		Expect(d.Status.Pools).To(ConsistOf(
			v1alpha1.PoolStatus{Service: "redis", Plan: "0shared", Tenant: "default", Available: 3, Total: 5},
			v1alpha1.PoolStatus{Service: "redis", Plan: "1exclusive", Tenant: "default", Available: 1, Total: 1},
		))
		Expect(d.Status.Codes).To(BeEmpty())
		Expect(d.Status.Findings).To(BeEmpty())
		expectNoSecret(d, p.password)
	})

	It("reports an empty plan as 4313022 on the condition, in codes and in the findings", func() {
		p := newPooled(false)
		shared, exclusive := p.redisPlans()
		must(p.platform.Instances(shared, 2, true, "fifo"))
		must(p.platform.Instances(exclusive, 1, false, "fifo"))
		p.watch(1)

		d := waitForCondition(p.key, v1alpha1.ConditionInstancePoolAvailable, metav1.ConditionFalse, "PoolEmpty")
		Expect(condition(d, v1alpha1.ConditionInstancePoolAvailable).Message).
			To(Equal("[4313022] 资源池为空: 1 of 2 plan(s) have no available instance: redis/0shared@default"))
		Expect(condition(d, v1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionFalse))
		Expect(condition(d, v1alpha1.ConditionReady).Reason).To(Equal("PoolEmpty"))
		Expect(d.Status.Codes).To(Equal([]string{"4313022"}))
		Expect(d.Status.CodeSummary).To(Equal("4313022"))
		Expect(d.Status.Findings).To(HaveLen(1))
		f := d.Status.Findings[0]
		Expect(f.Check).To(Equal("pool/redis/0shared@default"))
		Expect(f.Severity).To(Equal(v1alpha1.SeverityError))
		Expect(f.Code).To(Equal("4313022"))
		Expect(f.Message).To(Equal("[4313022] 资源池为空: plan redis/0shared@default has 0 available instance(s), 2 in all"))
		Expect(f.Remediation).To(ContainSubstring("pre-created instances"))
		Expect(poolOf(d, "0shared")).To(Equal(v1alpha1.PoolStatus{Service: "redis", Plan: "0shared", Tenant: "default", Available: 0, Total: 2}))
		expectNoSecret(d, p.password)
	})

	It("warns, without failing Ready, when a plan is below minAvailable but not empty", func() {
		p := newPooled(false)
		shared, exclusive := p.redisPlans()
		must(p.platform.Instances(shared, 2, false, "fifo"))
		must(p.platform.Instances(exclusive, 5, false, "fifo"))
		p.watch(3)

		d := waitForCondition(p.key, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		Expect(condition(d, v1alpha1.ConditionReady).Message).To(ContainSubstring("1 warning"))
		Expect(d.Status.Codes).To(BeEmpty())
		Expect(d.Status.Findings).To(HaveLen(1))
		Expect(d.Status.Findings[0].Severity).To(Equal(v1alpha1.SeverityWarning))
		Expect(d.Status.Findings[0].Reason).To(Equal("PoolLow"))
		Expect(d.Status.Findings[0].Code).To(Equal("4313022"))
		Expect(d.Status.Findings[0].Message).To(ContainSubstring("about to run dry"))
	})

	It("sees an instance allocated while it runs at the next evaluation", func() {
		p := newPooled(false)
		shared, exclusive := p.redisPlans()
		last := must(p.platform.Instances(shared, 1, false, "fifo"))
		must(p.platform.Instances(exclusive, 1, false, "fifo"))
		p.watch(1)
		d := waitForCondition(p.key, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		Expect(poolOf(d, "0shared").Available).To(Equal(int32(1)))

		By("an app gets the last instance of 0shared")
		Expect(p.platform.Allocate(last[0])).To(Succeed())
		d = waitForCondition(p.key, v1alpha1.ConditionInstancePoolAvailable, metav1.ConditionFalse, "PoolEmpty")
		Expect(poolOf(d, "0shared").Available).To(BeZero())
		Expect(d.Status.Codes).To(Equal([]string{"4313022"}))

		By("the operator adds an instance")
		must(p.platform.Instances(shared, 1, false, "fifo"))
		d = waitForCondition(p.key, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		Expect(d.Status.Codes).To(BeEmpty())
	})

	It("counts policy instances apart: a pool of policy instances only is empty for every other app", func() {
		p := newPooled(false)
		shared, exclusive := p.redisPlans()
		must(p.platform.Instances(shared, 2, false, "policy"))
		must(p.platform.Instances(exclusive, 1, false, "fifo"))
		must(p.platform.Instances(exclusive, 1, false, "policy"))
		p.watch(1)

		d := waitForCondition(p.key, v1alpha1.ConditionInstancePoolAvailable, metav1.ConditionFalse, "PoolEmpty")
		Expect(poolOf(d, "0shared")).To(Equal(v1alpha1.PoolStatus{Service: "redis", Plan: "0shared", Tenant: "default", Available: 0, Policy: 2, Total: 2}))
		Expect(poolOf(d, "1exclusive")).To(Equal(v1alpha1.PoolStatus{Service: "redis", Plan: "1exclusive", Tenant: "default", Available: 1, Policy: 1, Total: 2}))
		Expect(d.Status.Findings[0].Message).To(ContainSubstring("2 more are reserved by binding policies"))
	})

	It("warns about instances whose plan is gone", func() {
		p := newPooled(false)
		shared, exclusive := p.redisPlans()
		must(p.platform.Instances(shared, 1, false, "fifo"))
		must(p.platform.Instances(exclusive, 1, false, "fifo"))
		deletedPlan := mariadb.NewID()
		must(p.platform.Instances(deletedPlan, 2, false, "fifo"))
		p.watch(1)

		d := waitForCondition(p.key, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		Expect(d.Status.Findings).To(HaveLen(1))
		Expect(d.Status.Findings[0].Reason).To(Equal("OrphanedInstances"))
		Expect(d.Status.Findings[0].Severity).To(Equal(v1alpha1.SeverityWarning))
		Expect(d.Status.Findings[0].Message).To(ContainSubstring("plan id " + deletedPlan + ", which no longer exists"))
	})

	It("reads the platform 1.6 schema, where every unallocated instance counts", func() {
		p := newPooled(true)
		redis := must(p.platform.Service("redis", "pool"))
		shared := must(p.platform.Plan(redis, "0shared", ""))
		last := must(p.platform.Instances(shared, 1, false, ""))
		must(p.platform.Instances(shared, 2, true, ""))
		p.watch(1)

		d := waitForCondition(p.key, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		Expect(condition(d, v1alpha1.ConditionInstancePoolAvailable).Message).To(ContainSubstring("schema: platform 1.6"))
		Expect(d.Status.Pools).To(Equal([]v1alpha1.PoolStatus{{Service: "redis", Plan: "0shared", Available: 1, Total: 3}}))

		Expect(p.platform.Allocate(last[0])).To(Succeed())
		d = waitForCondition(p.key, v1alpha1.ConditionInstancePoolAvailable, metav1.ConditionFalse, "PoolEmpty")
		Expect(condition(d, v1alpha1.ConditionInstancePoolAvailable).Message).To(ContainSubstring("redis/0shared"))
	})

	It("says Unknown/SchemaUnrecognized, not empty, for a schema it does not know", func() {
		p := newPooled(false)
		shared, _ := p.redisPlans()
		must(p.platform.Instances(shared, 1, false, "fifo"))
		Expect(dbServer.Exec(p.platform.Database, "ALTER TABLE services_precreatedinstance CHANGE is_allocated allocated tinyint(1) NOT NULL DEFAULT 0")).To(Succeed())
		p.watch(1)

		d := waitForCondition(p.key, v1alpha1.ConditionInstancePoolAvailable, metav1.ConditionUnknown, "SchemaUnrecognized")
		Expect(condition(d, v1alpha1.ConditionInstancePoolAvailable).Message).To(ContainSubstring("services_precreatedinstance.is_allocated"))
		Expect(condition(d, v1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionUnknown))
		Expect(d.Status.Codes).To(BeEmpty())
	})

	It("says Unknown/AccessDenied for a user without the grant", func() {
		p := newPooled(false)
		p.redisPlans()
		Expect(dbServer.Exec("", "CREATE USER 'nogrant'@'127.0.0.1' IDENTIFIED BY 'nogrant-canary-77'")).To(Succeed())
		ns := newNamespace()
		createSecret(ns, "bkpaas3-db", map[string]string{"dsn": dbServer.DSN("nogrant", "nogrant-canary-77", p.platform.Database)})
		p.key.Namespace = ns
		p.watch(1)

		d := waitForCondition(p.key, v1alpha1.ConditionInstancePoolAvailable, metav1.ConditionUnknown, "AccessDenied")
		Expect(condition(d, v1alpha1.ConditionInstancePoolAvailable).Message).To(ContainSubstring("nogrant"))
		Expect(d.Status.Codes).To(BeEmpty())
		expectNoSecret(d, "nogrant-canary-77")
	})

	It("says Unknown for a DSN Secret without the key, and claims no code", func() {
		ns := newNamespace()
		createSecret(ns, "bkpaas3-db", map[string]string{"DSN": "x:canary-key-5@tcp(127.0.0.1:1)/bk_paas_ng"})
		p := &pooled{key: types.NamespacedName{Namespace: ns, Name: "bkpaas3"}}
		p.watch(1)

		d := waitForCondition(p.key, v1alpha1.ConditionInstancePoolAvailable, metav1.ConditionUnknown, v1alpha1.ReasonSecretKeyMissing)
		Expect(condition(d, v1alpha1.ConditionStalled).Status).To(Equal(metav1.ConditionTrue))
		Expect(condition(d, v1alpha1.ConditionStalled).Message).To(ContainSubstring(`has no key "dsn"; it has keys "DSN"`))
		Expect(d.Status.Codes).To(BeEmpty())
		expectNoSecret(d, "canary-key-5")
	})

	It("says Unknown for a DSN that does not parse, without quoting it", func() {
		ns := newNamespace()
		createSecret(ns, "bkpaas3-db", map[string]string{"dsn": "paasdiag:canary-dsn-3@tcp(127.0.0.1:3306"})
		p := &pooled{key: types.NamespacedName{Namespace: ns, Name: "bkpaas3"}}
		p.watch(1)

		d := waitForCondition(p.key, v1alpha1.ConditionInstancePoolAvailable, metav1.ConditionUnknown, "InvalidDSN")
		Expect(condition(d, v1alpha1.ConditionInstancePoolAvailable).Message).To(ContainSubstring(`Secret "bkpaas3-db" key "dsn"`))
		expectNoSecret(d, "canary-dsn-3")
	})

	It("closes the diagnosis' connections when it is deleted", func() {
		p := newPooled(false)
		shared, exclusive := p.redisPlans()
		must(p.platform.Instances(shared, 1, false, "fifo"))
		must(p.platform.Instances(exclusive, 1, false, "fifo"))
		before := databases.Len()
		p.watch(1)
		waitForCondition(p.key, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		Expect(databases.Len()).To(Equal(before + 1))

		Expect(k8sClient.Delete(context.Background(), fetch(p.key))).To(Succeed())
		Eventually(databases.Len).WithTimeout(10 * time.Second).Should(Equal(before))
	})
})

var _ = Describe("The instance pool check when the database goes away", Ordered, func() {
	var (
		server *mariadb.Server
		p      *pooled
	)

	BeforeAll(func() {
		// A server of its own, so that stopping it disturbs no other test.
		var err error
		server, err = mariadb.Start(filepath.Join(tmpDir, "mariadb-stoppable"))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(server.Stop)
		platform := must(mariadb.NewPlatform(server, "bk_paas_ng", mariadb.Main))
		redis := must(platform.Service("redis", "pool"))
		shared := must(platform.Plan(redis, "0shared", "default"))
		must(platform.Instances(shared, 1, false, "fifo"))
		dsn := must(platform.ReadOnlyUser("paasdiag", "stoppable-canary-1"))
		ns := newNamespace()
		createSecret(ns, "bkpaas3-db", map[string]string{"dsn": dsn})
		p = &pooled{platform: platform, key: types.NamespacedName{Namespace: ns, Name: "bkpaas3"}, password: "stoppable-canary-1"}
		p.watch(1)
	})

	It("is healthy while the database runs", func() {
		waitForCondition(p.key, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
	})

	It("says Unknown/DatabaseUnreachable, with no 4313022, once the database stops", func() {
		Expect(server.Stop()).To(Succeed())
		d := waitForCondition(p.key, v1alpha1.ConditionInstancePoolAvailable, metav1.ConditionUnknown, "DatabaseUnreachable")
		Expect(condition(d, v1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionUnknown))
		Expect(d.Status.Codes).To(BeEmpty())
		Expect(d.Status.Findings).To(HaveLen(1))
		Expect(d.Status.Findings[0].Severity).To(Equal(v1alpha1.SeverityUnknown))
		Expect(d.Status.Findings[0].Code).To(BeEmpty())
		expectNoSecret(d, p.password)
	})

	It("recovers once the database is back", func() {
		Expect(server.Start()).To(Succeed())
		d := waitForCondition(p.key, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		Expect(d.Status.Pools).To(HaveLen(1))
		Expect(d.Status.Pools[0].Available).To(Equal(int32(1)))
	})
})
