//go:build integration

package integration

import (
	"context"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/testsupport/fakekubelet"
	"github.com/paasdiag/paasdiag/internal/testsupport/mariadb"
)

// Steps 2 and 3 of 4313021 through the controller: the initial cluster state Job as
// real Job objects, node labels on the app cluster's real Nodes, and worker logs read
// through the API server's pods/log from a kubelet endpoint served by the test.

func podOnNode(ns, name string, labels map[string]string) error {
	return fakekubelet.Pod(context.Background(), k8sClient, ns, name, "control-node-1", "worker", labels)
}

// job creates a Job the way the bkpaas3 chart's hook does, and sets its status.
func job(ns, name string, labels map[string]string, status batchv1.JobStatus) {
	GinkgoHelper()
	ctx := context.Background()
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "gen-state", Image: "bkpaas3-apiserver:test", Command: []string{"python", "manage.py", "region_gen_state"}}},
		}}},
	}
	Expect(k8sClient.Create(ctx, j)).To(Succeed())
	j.Status = status
	Expect(k8sClient.Status().Update(ctx, j)).To(Succeed())
}

// appNode creates a Node on the app cluster, deleted when the spec ends: the specs
// that count nodes are Serial and each sees only its own.
func appNode(name string, labels map[string]string) {
	GinkgoHelper()
	Expect(app.Node(name, labels)).To(Succeed())
	DeferCleanup(func() {
		Expect(app.Client.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{})).To(Succeed())
	})
}

func setJobStatus(ns, name string, status batchv1.JobStatus) {
	GinkgoHelper()
	var j batchv1.Job
	Expect(k8sClient.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &j)).To(Succeed())
	status.StartTime = j.Status.StartTime // immutable once set
	j.Status = status
	Expect(k8sClient.Status().Update(context.Background(), &j)).To(Succeed())
}

func running() batchv1.JobStatus {
	start := metav1.Now()
	return batchv1.JobStatus{StartTime: &start, Active: 1}
}

func failedJob() batchv1.JobStatus {
	start := metav1.NewTime(time.Now().Add(-time.Minute))
	now := metav1.Now()
	return batchv1.JobStatus{StartTime: &start, Failed: 1, Conditions: []batchv1.JobCondition{
		{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit", LastTransitionTime: now},
		{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit", LastTransitionTime: now},
	}}
}

func succeededJob() batchv1.JobStatus {
	start := metav1.NewTime(time.Now().Add(-time.Minute))
	now := metav1.Now()
	return batchv1.JobStatus{StartTime: &start, CompletionTime: &now, Succeeded: 1, Conditions: []batchv1.JobCondition{
		{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, Reason: "CompletionsReached", LastTransitionTime: now},
		{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, Reason: "CompletionsReached", LastTransitionTime: now},
	}}
}

// jobDiagnosis checks the Job of a platform 1.6 installation: its workloads database
// (1.6 layout and migrations) tells paasdiag the release line.
func jobDiagnosis(ns string, cfg *v1alpha1.InitialClusterStateCheck) *v1alpha1.PaaSDiagnosis {
	GinkgoHelper()
	d, _ := jobDiagnosisOn(ns, cfg, mariadb.Release16)
	return d
}

// jobDiagnosisOn is jobDiagnosis on a workloads database of a release line.
func jobDiagnosisOn(ns string, cfg *v1alpha1.InitialClusterStateCheck, line mariadb.Line) (*v1alpha1.PaaSDiagnosis, *mariadb.Workloads) {
	GinkgoHelper()
	w := workloadsDBOn(ns, line)
	return &v1alpha1.PaaSDiagnosis{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bkpaas3"},
		Spec: v1alpha1.PaaSDiagnosisSpec{
			Interval:            metav1.Duration{Duration: 10 * time.Second},
			Timeout:             metav1.Duration{Duration: 3 * time.Second},
			InitialClusterState: cfg,
			PlatformDatabase: &v1alpha1.PlatformDatabase{
				WorkloadsDSNSecretRef: &v1alpha1.SecretKeyReference{Name: "bkpaas3-wl-db", Key: "dsn"},
			},
		},
	}, w
}

var _ = Describe("The initial cluster state Job check", func() {
	It("reports a missing Job as 4313021 JobMissing, by the seed's default name", func() {
		ns := newNamespace()
		key := create(jobDiagnosis(ns, &v1alpha1.InitialClusterStateCheck{}))
		d := waitForCondition(key, v1alpha1.ConditionInitialClusterStateReady, metav1.ConditionFalse, "JobMissing")
		Expect(d.Status.Codes).To(Equal([]string{"4313021"}))
		Expect(condition(d, v1alpha1.ConditionInitialClusterStateReady).Message).
			To(ContainSubstring("Job bkpaas3-apiserver-generate-initial-cluster-state not found in namespace " + ns))
	})

	It("follows the Job from running to failed with the Job's own reason, then to succeeded", func() {
		ns := newNamespace()
		job(ns, "bkpaas3-apiserver-generate-initial-cluster-state", nil, running())
		key := create(jobDiagnosis(ns, &v1alpha1.InitialClusterStateCheck{}))
		d := waitForCondition(key, v1alpha1.ConditionInitialClusterStateReady, metav1.ConditionUnknown, "JobRunning")
		Expect(d.Status.Codes).To(BeEmpty())

		By("the Job fails")
		setJobStatus(ns, "bkpaas3-apiserver-generate-initial-cluster-state", failedJob())
		d = waitForCondition(key, v1alpha1.ConditionInitialClusterStateReady, metav1.ConditionFalse, "JobFailed")
		Expect(condition(d, v1alpha1.ConditionInitialClusterStateReady).Message).
			To(ContainSubstring("failed (BackoffLimitExceeded: Job has reached the specified backoff limit); run helm upgrade"))
		Expect(d.Status.Codes).To(Equal([]string{"4313021"}))

		By("helm upgrade runs it again and it succeeds")
		// The hook's before-hook-creation policy deletes the old Job first.
		Expect(k8sClient.Delete(context.Background(), &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bkpaas3-apiserver-generate-initial-cluster-state"}},
			client.PropagationPolicy(metav1.DeletePropagationBackground))).To(Succeed())
		Eventually(func() error {
			return k8sClient.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: "bkpaas3-apiserver-generate-initial-cluster-state"}, &batchv1.Job{})
		}).Should(HaveOccurred())
		job(ns, "bkpaas3-apiserver-generate-initial-cluster-state", nil, succeededJob())
		waitForCondition(key, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
	})

	It("finds the newest Job by selector", func() {
		ns := newNamespace()
		labels := map[string]string{"app.kubernetes.io/instance": "bkpaas3", "app.kubernetes.io/component": "initial-cluster-state"}
		job(ns, "bkpaas3-engine-generate-initial-cluster-state-1", labels, failedJob())
		time.Sleep(1100 * time.Millisecond) // creation timestamps have a second's resolution
		job(ns, "bkpaas3-engine-generate-initial-cluster-state-2", labels, succeededJob())
		key := create(jobDiagnosis(ns, &v1alpha1.InitialClusterStateCheck{JobSelector: &metav1.LabelSelector{MatchLabels: labels}}))
		d := waitForCondition(key, v1alpha1.ConditionInitialClusterStateReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		Expect(condition(d, v1alpha1.ConditionInitialClusterStateReady).Message).To(ContainSubstring("-2 succeeded"))
	})

	It("with verifyNodeLabels, does not take a succeeded Job's word for it: the nodes must carry its labels", Serial, func() {
		ns := newNamespace()
		token := must(app.TokenUser(uniqueName("bkpaas-labels"), "cluster-admin"))
		createSecret(ns, "app-cluster", map[string]string{"ca.crt": string(app.CA), "token": token})
		job(ns, "bkpaas3-apiserver-generate-initial-cluster-state", nil, succeededJob())
		appNode("app-node-1", nil)
		appNode("app-node-2", nil)
		d := jobDiagnosis(ns, &v1alpha1.InitialClusterStateCheck{VerifyNodeLabels: true})
		d.Spec.Clusters = []v1alpha1.ClusterTarget{target("default-main", "app-cluster", app.URL)}
		d.Spec.CertificateExpiryWarning = metav1.Duration{Duration: time.Hour}
		key := create(d)

		d = waitForCondition(key, v1alpha1.ConditionInitialClusterStateReady, metav1.ConditionFalse, "StateMissing")
		Expect(d.Status.Codes).To(Equal([]string{"4313021"}))
		Expect(findingsWith(d, "StateMissing")[0].Message).To(ContainSubstring("none of the 2 node(s) of cluster default-main carries an eng-cstate-* label"))

		By("the Job really runs and labels the nodes")
		for _, n := range []string{"app-node-1", "app-node-2"} {
			node, err := app.Client.CoreV1().Nodes().Get(context.Background(), n, metav1.GetOptions{})
			Expect(err).NotTo(HaveOccurred())
			node.Labels = map[string]string{"eng-cstate-3f9a1c2e-" + strings.TrimPrefix(n, "app-node-"): "1"}
			_, err = app.Client.CoreV1().Nodes().Update(context.Background(), node, metav1.UpdateOptions{})
			Expect(err).NotTo(HaveOccurred())
		}
		waitForCondition(key, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
	})

	It("[ICS08] leaves masters out, as the platform's Job does: a master without the label is no partial state", Serial, func() {
		ns := newNamespace()
		token := must(app.TokenUser(uniqueName("bkpaas-masters"), "cluster-admin"))
		createSecret(ns, "app-cluster", map[string]string{"ca.crt": string(app.CA), "token": token})
		job(ns, "bkpaas3-apiserver-generate-initial-cluster-state", nil, succeededJob())
		appNode("app-worker-1", map[string]string{"eng-cstate-3f9a1c2e-1": "1"})
		appNode("app-master-1", map[string]string{"node-role.kubernetes.io/master": "true"})
		d := jobDiagnosis(ns, &v1alpha1.InitialClusterStateCheck{VerifyNodeLabels: true})
		d.Spec.Clusters = []v1alpha1.ClusterTarget{target("default-main", "app-cluster", app.URL)}
		d.Spec.CertificateExpiryWarning = metav1.Duration{Duration: time.Hour}
		key := create(d)
		d = waitForCondition(key, v1alpha1.ConditionInitialClusterStateReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		Expect(findingsWith(d, "StatePartial")).To(BeEmpty())
		Expect(d.Status.Platform.ReleaseLine).To(Equal("1.6"))
		Expect(d.Status.Platform.Evidence).To(ContainSubstring("cluster 0010"))
	})
})

var _ = Describe("The initial cluster state check on platform 1.7+", func() {
	DescribeTable("[ICS08 ICS09 ICS10 ICS11] does not judge the Job, whatever its state, and compares the recorded node state with the live nodes, masters left out", Serial, func(line mariadb.Line) {
		ns := newNamespace()
		token := must(app.TokenUser(uniqueName("bkpaas-nodestate"), "cluster-admin"))
		createSecret(ns, "app-cluster", map[string]string{"ca.crt": string(app.CA), "token": token})
		job(ns, "bkpaas3-apiserver-generate-initial-cluster-state", nil, failedJob())
		appNode("app-worker-17", nil)
		// A master is in no recorded state (the admin console's sync leaves it out), and
		// must not read as a node that joined.
		appNode("app-master-17", map[string]string{"node-role.kubernetes.io/master": "true"})
		nodes, err := app.Client.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
		Expect(err).NotTo(HaveOccurred())
		var names []string
		for _, n := range nodes.Items {
			if n.Labels["node-role.kubernetes.io/master"] != "true" {
				names = append(names, n.Name)
			}
		}
		d, w := jobDiagnosisOn(ns, &v1alpha1.InitialClusterStateCheck{}, line)
		d.Spec.Clusters = []v1alpha1.ClusterTarget{target("default-main", "app-cluster", app.URL)}
		d.Spec.CertificateExpiryWarning = metav1.Duration{Duration: time.Hour}
		must(w.NodeState("default-main", names, time.Now().Add(-time.Hour)))
		key := create(d)

		d = waitForCondition(key, v1alpha1.ConditionInitialClusterStateReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		Expect(d.Status.Codes).To(BeEmpty(), "a failed Job is no 4313021 on 1.7+")
		Expect(d.Status.Platform.ReleaseLine).To(Equal("1.7+"))
		Expect(d.Status.Platform.Evidence).To(ContainSubstring("cluster 0023"))

		By("a node joins and nobody syncs the nodes")
		appNode(uniqueName("app-node-late"), nil)
		d = waitForCondition(key, v1alpha1.ConditionInitialClusterStateReady, metav1.ConditionTrue, "NodeStateNotSynced")
		f := findingsWith(d, "NodeStateNotSynced")
		Expect(f).To(HaveLen(1))
		Expect(f[0].Severity).To(Equal(v1alpha1.SeverityWarning))
		Expect(f[0].Code).To(BeEmpty())
		Expect(f[0].Message).To(ContainSubstring("1 node(s) joined (app-node-late"))
		Expect(d.Status.Codes).To(BeEmpty())
	},
		Entry("release-1.7", mariadb.Release17),
		Entry("main", mariadb.Main),
	)
})

func logsDiagnosis(ns string, labels map[string]string, patterns ...string) *v1alpha1.PaaSDiagnosis {
	return &v1alpha1.PaaSDiagnosis{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bkpaas3"},
		Spec: v1alpha1.PaaSDiagnosisSpec{
			Interval:   metav1.Duration{Duration: 10 * time.Second},
			Timeout:    metav1.Duration{Duration: 3 * time.Second},
			WorkerLogs: &v1alpha1.WorkerLogsCheck{PodSelector: &metav1.LabelSelector{MatchLabels: labels}, Container: "worker", Patterns: patterns},
		},
	}
}

const forbiddenTraceback = `[2026-11-26 10:00:01,123] INFO celery task paasng.platform.engine.deploy started
[2026-11-26 10:00:02,456] ERROR Can not get app cluster egress info
Traceback (most recent call last):
kubernetes.client.exceptions.ApiException: (403)
Reason: Forbidden
HTTP response headers: HTTPHeaderDict({'Audit-Id': 'x', 'Authorization': 'Bearer eyJhbGciOi-canary-token'})
`

var _ = Describe("The worker log check", func() {
	workers := map[string]string{"app.kubernetes.io/name": "bkpaas3-apiserver-worker"}

	It("reads the logs through pods/log and quotes the 4313021 line, secrets redacted", func() {
		ns := newNamespace()
		Expect(podOnNode(ns, "bkpaas3-apiserver-worker-0", workers)).To(Succeed())
		Expect(podOnNode(ns, "bkpaas3-apiserver-worker-1", workers)).To(Succeed())
		kubelet.SetLogs(ns, "bkpaas3-apiserver-worker-0", "worker", forbiddenTraceback)
		kubelet.SetLogs(ns, "bkpaas3-apiserver-worker-1", "worker", "[2026-11-26 10:00:00] INFO all is well\n")
		key := create(logsDiagnosis(ns, workers)) // the default patterns

		d := waitForCondition(key, v1alpha1.ConditionWorkerLogsClean, metav1.ConditionFalse, "ForbiddenInWorkerLogs")
		Expect(d.Status.Codes).To(Equal([]string{"4313021"}))
		f := findingsWith(d, "ForbiddenInWorkerLogs")
		Expect(f).To(HaveLen(1))
		Expect(f[0].Check).To(Equal("pod/bkpaas3-apiserver-worker-0"))
		Expect(f[0].Message).To(HavePrefix("[4313021] 获取集群信息失败: pod bkpaas3-apiserver-worker-0 logged 3 matching line(s) in the last 10m0s while getting an app cluster's egress info, e.g. \"[2026-11-26 10:00:02,456] ERROR Can not get app cluster egress info\""))
		Expect(condition(d, v1alpha1.ConditionWorkerLogsClean).Message).To(ContainSubstring("1 of 2 worker pod(s)"))
		expectNoSecret(d, "eyJhbGciOi-canary-token")
		// The read went through the API server to the node's kubelet, with the window and byte bound.
		Expect(kubelet.Requests()).To(ContainElement(And(ContainSubstring("/containerLogs/"+ns+"/bkpaas3-apiserver-worker-0/worker"),
			ContainSubstring("sinceSeconds=600"), ContainSubstring("limitBytes=1048576"))))
	})

	It("reads the pods the worker Deployment's selector selects (workerLogs.deployment)", func() {
		ns := newNamespace()
		selector := map[string]string{"app.kubernetes.io/name": "bkpaas3-apiserver-worker", "app.kubernetes.io/instance": "bkpaas3"}
		Expect(k8sClient.Create(context.Background(), &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bkpaas3-apiserver-worker"},
			Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: selector},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: selector},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "worker", Image: "bkpaas3-apiserver:test"}}}}},
		})).To(Succeed())
		Expect(podOnNode(ns, "bkpaas3-apiserver-worker-7d9f-abcde", selector)).To(Succeed())
		Expect(podOnNode(ns, "someone-else", map[string]string{"app.kubernetes.io/name": "other"})).To(Succeed())
		kubelet.SetLogs(ns, "bkpaas3-apiserver-worker-7d9f-abcde", "worker", forbiddenTraceback)
		d := logsDiagnosis(ns, nil)
		d.Spec.WorkerLogs.PodSelector, d.Spec.WorkerLogs.Deployment = nil, "bkpaas3-apiserver-worker"
		key := create(d)
		got := waitForCondition(key, v1alpha1.ConditionWorkerLogsClean, metav1.ConditionFalse, "ForbiddenInWorkerLogs")
		Expect(got.Status.Codes).To(Equal([]string{"4313021"}))
		Expect(condition(got, v1alpha1.ConditionWorkerLogsClean).Message).To(ContainSubstring("1 of 1 worker pod(s)"))

		By("a worker Deployment that does not exist is Unknown, naming it")
		ns2 := newNamespace()
		d = logsDiagnosis(ns2, nil)
		d.Spec.WorkerLogs.PodSelector, d.Spec.WorkerLogs.Deployment = nil, "bkpaas3-apiserver-worker"
		key = create(d)
		got = waitForCondition(key, v1alpha1.ConditionWorkerLogsClean, metav1.ConditionUnknown, v1alpha1.ReasonNoWorkerPods)
		Expect(condition(got, v1alpha1.ConditionWorkerLogsClean).Message).To(ContainSubstring(`Deployment "bkpaas3-apiserver-worker" not found`))
	})

	It("redacts a token from a quoted line", func() {
		ns := newNamespace()
		Expect(podOnNode(ns, "bkpaas3-apiserver-worker-0", workers)).To(Succeed())
		kubelet.SetLogs(ns, "bkpaas3-apiserver-worker-0", "worker", "ERROR Can not get app cluster egress info: 403 calling the cluster with Authorization: Bearer eyJhbGciOi-canary-token2\n")
		key := create(logsDiagnosis(ns, workers))
		d := waitForCondition(key, v1alpha1.ConditionWorkerLogsClean, metav1.ConditionFalse, "ForbiddenInWorkerLogs")
		Expect(d.Status.Findings[0].Message).To(ContainSubstring("[REDACTED]"))
		expectNoSecret(d, "eyJhbGciOi-canary-token2")
	})

	It("[WL04] warns, tagged 4313021 but without failing, about a 403 outside the platform's egress path", func() {
		ns := newNamespace()
		Expect(podOnNode(ns, "bkpaas3-apiserver-worker-0", workers)).To(Succeed())
		kubelet.SetLogs(ns, "bkpaas3-apiserver-worker-0", "worker", `[2026-11-26 10:00:01,123] ERROR failed to create namespace bkapp-demo-prod
Traceback (most recent call last):
kubernetes.dynamic.exceptions.ForbiddenError: 403
Reason: Forbidden
[2026-11-26 10:00:02,456] INFO next
`)
		key := create(logsDiagnosis(ns, workers, v1alpha1.DefaultWorkerLogPatterns...))
		d := waitForCondition(key, v1alpha1.ConditionWorkerLogsClean, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		Expect(d.Status.Codes).To(BeEmpty())
		f := findingsWith(d, "ForbiddenInWorkerLogs")
		Expect(f).To(HaveLen(1))
		Expect(f[0].Severity).To(Equal(v1alpha1.SeverityWarning))
		Expect(f[0].Code).To(Equal("4313021"))
		Expect(f[0].Message).To(ContainSubstring("outside the platform's 4313021 path"))
	})

	It("honours custom patterns only under the shipped admission policy, counting and never quoting their lines", func() {
		ns := newNamespace()
		Expect(podOnNode(ns, "bkpaas3-apiserver-worker-0", workers)).To(Succeed())
		kubelet.SetLogs(ns, "bkpaas3-apiserver-worker-0", "worker", "INFO token=abc-secret-1 rotated\nINFO token=abc-secret-2 rotated\n")

		By("without the policy, a custom pattern is ignored, with a warning")
		key := create(logsDiagnosis(ns, workers, `token=abc`))
		d := waitForCondition(key, v1alpha1.ConditionWorkerLogsClean, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		f := findingsWith(d, v1alpha1.ReasonCustomPatternsIgnored)
		Expect(f).To(HaveLen(1))
		Expect(f[0].Message).To(ContainSubstring("paasdiag-author-may-read is not installed"))

		By("under the shipped policy, for a diagnosis written after it, counts only")
		kubectl("apply", "-k", filepath.Join("..", "..", "config", "admission"))
		DeferCleanup(func() { kubectl("delete", "-k", filepath.Join("..", "..", "config", "admission")) })
		time.Sleep(31 * time.Second) // the policy must have been in force 30 s before the diagnosis is created
		Expect(k8sClient.Delete(context.Background(), &v1alpha1.PaaSDiagnosis{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: key.Name}})).To(Succeed())
		Eventually(func() error { return k8sClient.Get(context.Background(), key, &v1alpha1.PaaSDiagnosis{}) }, 10*time.Second).ShouldNot(Succeed())
		key = create(logsDiagnosis(ns, workers, `token=abc`))
		d = waitForCondition(key, v1alpha1.ConditionWorkerLogsClean, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		Expect(findingsWith(d, v1alpha1.ReasonCustomPatternsIgnored)).To(BeEmpty())
		f = findingsWith(d, v1alpha1.ReasonForbiddenInWorkerLogs)
		Expect(f).To(HaveLen(1))
		Expect(f[0].Message).To(ContainSubstring("logged 2 matching line(s)"))
		Expect(f[0].Message).To(ContainSubstring("their lines are never quoted"))
		expectNoSecret(d, "abc-secret")
	})

	It("is clean when no line matches, and Unknown when no pod matches", func() {
		ns := newNamespace()
		Expect(podOnNode(ns, "bkpaas3-apiserver-worker-0", workers)).To(Succeed())
		kubelet.SetLogs(ns, "bkpaas3-apiserver-worker-0", "worker", "INFO deploy finished\n")
		key := create(logsDiagnosis(ns, workers, `Reason: Forbidden`))
		waitForCondition(key, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)

		ns2 := newNamespace()
		key2 := create(logsDiagnosis(ns2, workers, `Reason: Forbidden`))
		d := waitForCondition(key2, v1alpha1.ConditionWorkerLogsClean, metav1.ConditionUnknown, "NoWorkerPods")
		Expect(d.Status.Codes).To(BeEmpty())
	})

	It("stalls, naming the pattern, when a pattern is not a valid regular expression", func() {
		ns := newNamespace()
		key := create(logsDiagnosis(ns, workers, `Reason: Forbidden`, `(unclosed`))
		d := waitForCondition(key, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonInvalidSpec)
		Expect(condition(d, v1alpha1.ConditionStalled).Message).To(ContainSubstring("workerLogs.patterns[1] is not a valid RE2 regular expression"))
		Expect(condition(d, v1alpha1.ConditionWorkerLogsClean).Status).To(Equal(metav1.ConditionUnknown))
	})
})
