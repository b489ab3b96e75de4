//go:build compat

// Package compat runs paasdiag as a user would on the oldest Kubernetes minor it
// supports (make test-compat): kube-apiserver and kubectl at that minor, built from Go
// modules by `hack/envtest.sh build compat`, the manifests installed with that kubectl,
// and the manager binary running as the ServiceAccount config/default creates, against
// a control cluster and an app cluster of that minor and a real MariaDB.
package compat

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/testsupport/appcluster"
	"github.com/paasdiag/paasdiag/internal/testsupport/fakekubelet"
	"github.com/paasdiag/paasdiag/internal/testsupport/invalidspecs"
	"github.com/paasdiag/paasdiag/internal/testsupport/mariadb"
	"github.com/paasdiag/paasdiag/internal/testsupport/netfault"
)

const (
	namespace   = "compat"
	managerUser = "system:serviceaccount:paasdiag-system:paasdiag-controller-manager"
)

var root = filepath.Join("..", "..")

// pinnedVersion is the Kubernetes version hack/envtest/kube-apiserver-compat pins:
// the minor docs/compatibility.md declares the oldest supported.
func pinnedVersion(t *testing.T) string {
	t.Helper()
	gomod, err := os.ReadFile(filepath.Join(root, "hack", "envtest", "kube-apiserver-compat", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(gomod), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "require" && f[1] == "k8s.io/kubernetes" {
			return f[2]
		}
	}
	t.Fatal("no k8s.io/kubernetes requirement in hack/envtest/kube-apiserver-compat/go.mod")
	return ""
}

type rig struct {
	t          *testing.T
	cfg        *rest.Config
	c          client.Client
	kubeconfig string
	kubectl    string
	dir        string
}

func (r *rig) run(args ...string) string {
	r.t.Helper()
	out, err := exec.Command(r.kubectl, append([]string{"--kubeconfig", r.kubeconfig}, args...)...).CombinedOutput()
	if err != nil {
		r.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (r *rig) secret(name string, data map[string]string) {
	r.t.Helper()
	err := r.c.Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: map[string]string{v1alpha1.SecretLabel: "true"},
			Annotations: map[string]string{v1alpha1.SecretAPIServersAnnotation: "*"}},
		StringData: data,
	})
	if err != nil {
		r.t.Fatal(err)
	}
}

// waitFor polls the diagnosis until ok says it is done, or fails after timeout.
func (r *rig) waitFor(name string, timeout time.Duration, ok func(d *v1alpha1.PaaSDiagnosis) bool) *v1alpha1.PaaSDiagnosis {
	r.t.Helper()
	var d v1alpha1.PaaSDiagnosis
	deadline := time.Now().Add(timeout)
	for {
		err := r.c.Get(context.Background(), types.NamespacedName{Namespace: namespace, Name: name}, &d)
		if err == nil && ok(&d) {
			return &d
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("diagnosis %s: not as expected after %s (err %v); status: %+v", name, timeout, err, d.Status)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func condition(d *v1alpha1.PaaSDiagnosis, t string) metav1.Condition {
	if c := meta.FindStatusCondition(d.Status.Conditions, t); c != nil {
		return *c
	}
	return metav1.Condition{}
}

// countingListener accepts TCP connections and counts them: the address of a database
// that must never be reached.
func countingListener(t *testing.T) (string, *atomic.Int32) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	var n atomic.Int32
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			_ = conn.Close()
		}
	}()
	return l.Addr().String(), &n
}

// indexless matches the index of a list item in a field path.
var indexless = regexp.MustCompile(`\[\d+\]`)

// minorOf is the minor of a version such as v1.20.15.
func minorOf(t *testing.T, version string) int {
	t.Helper()
	var major, minor, patch int
	if _, err := fmt.Sscanf(version, "v%d.%d.%d", &major, &minor, &patch); err != nil {
		t.Fatalf("version %q: %v", version, err)
	}
	return minor
}

func TestOldestControlPlane(t *testing.T) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	kubectlBin := filepath.Join(assets, "kubectl")
	if _, err := os.Stat(kubectlBin); err != nil {
		t.Fatalf("no kubectl beside the compatibility control plane (run make test-compat): %v", err)
	}
	manager, err := filepath.Abs(filepath.Join(root, "bin", "manager"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(manager); err != nil {
		t.Fatalf("no manager binary (run make test-compat, which builds it): %v", err)
	}
	dir := t.TempDir()

	env := &envtest.Environment{}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting the compatibility control plane (KUBEBUILDER_ASSETS=%s): %v", assets, err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	want := pinnedVersion(t)
	version, err := discovery.NewDiscoveryClientForConfigOrDie(cfg).ServerVersion()
	if err != nil || version.GitVersion != want {
		t.Fatalf("the control plane is %v (%v), want %s: KUBEBUILDER_ASSETS is not the compatibility build", version, err, want)
	}
	t.Logf("control plane: kube-apiserver %s; kubectl from %s", version.GitVersion, kubectlBin)

	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, cfg: cfg, c: c, kubectl: kubectlBin, dir: dir, kubeconfig: filepath.Join(dir, "admin.kubeconfig")}
	writeKubeconfig(t, cfg, r.kubeconfig, false)

	// 1. Install config/default with kubectl of this minor. Its kustomize (v2.0.3 in
	// kubectl 1.20) cannot read config/default, so it is rendered by the current kubectl
	// and applied by this one, as docs/compatibility.md tells users to.
	minor := minorOf(t, want)
	if out, err := exec.Command(kubectlBin, "version", "--client", "-o", "json").Output(); err != nil || !strings.Contains(string(out), `"gitVersion": "`+want+`"`) {
		t.Fatalf("kubectl beside the control plane is not %s: %v\n%s", want, err, out)
	}
	out, err := exec.Command(kubectlBin, "kustomize", filepath.Join(root, "config", "default")).CombinedOutput()
	if minor <= 20 && err == nil {
		t.Errorf("kubectl %s's kustomize read config/default, which docs/compatibility.md says it cannot", want)
	}
	t.Logf("kubectl %s kustomize config/default: err %v: %.200s", want, err, bytes.TrimSpace(out))
	current := os.Getenv("KUBECTL_CURRENT")
	if current == "" {
		t.Fatal("KUBECTL_CURRENT (a kubectl that renders config/default) is not set: run make test-compat")
	}
	rendered, err := exec.Command(current, "kustomize", filepath.Join(root, "config", "default")).Output()
	if err != nil {
		t.Fatalf("rendering config/default with %s: %v", current, err)
	}
	manifest := filepath.Join(dir, "paasdiag.yaml")
	if err := os.WriteFile(manifest, rendered, 0o600); err != nil {
		t.Fatal(err)
	}
	// Before 1.23 the API server's OpenAPI has no x-kubernetes-validations, so kubectl's
	// client-side validation refuses the CRD (server-side apply too, in kubectl 1.20):
	// applied without it, the API server drops the field it does not know, and paasdiag
	// enforces the rules itself.
	out, err = exec.Command(kubectlBin, "--kubeconfig", r.kubeconfig, "apply", "--dry-run=client", "-f", manifest).CombinedOutput()
	if minor < 23 && (err == nil || !strings.Contains(string(out), `unknown field "x-kubernetes-validations"`)) {
		t.Errorf("kubectl's client-side validation accepted the CRD on %s, which docs/compatibility.md says it refuses: %v %.300s", want, err, out)
	}
	out = []byte(r.run("apply", "--validate=false", "-f", manifest))
	t.Logf("kubectl %s apply --validate=false -f (config/default rendered):\n%s", want, out)
	r.run("wait", "--for", "condition=Established", "crd/paasdiagnoses.diagnosis.paasdiag.io", "--timeout", "60s")
	r.run("create", "namespace", namespace)

	// What this minor does with the CRD's CEL rules: measured, for the matrix.
	// (The schema, not the whole object: kubectl's last-applied annotation keeps them.)
	schema := r.run("get", "crd", "paasdiagnoses.diagnosis.paasdiag.io", "-o", "jsonpath={.spec.versions[*].schema}")
	celKept := strings.Contains(schema, "x-kubernetes-validations")
	t.Logf("the stored CRD keeps x-kubernetes-validations: %v", celKept)
	if celKept != (minor >= 25) {
		t.Errorf("kube-apiserver %s kept the CRD's CEL rules: %v; docs/compatibility.md says they are kept from 1.25", want, celKept)
	}

	// 2. The platform's database (release 1.6 layout, the line of these clusters' era)
	// with one empty plan, and an app cluster of the same minor.
	db, err := mariadb.Start(filepath.Join(dir, "mariadb"))
	if err != nil {
		t.Fatalf("start MariaDB (hack/mariadb.sh install): %v", err)
	}
	t.Cleanup(func() { _ = db.Stop() })
	platform, err := mariadb.NewPlatform(db, "bk_paas_ng", mariadb.Release16)
	if err != nil {
		t.Fatal(err)
	}
	redis, err := platform.Service("redis", "pool")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := platform.Plan(redis, "0shared", "default"); err != nil {
		t.Fatal(err)
	}
	dsn, err := platform.ReadOnlyUser("paasdiag_ro", "compat-ro-9f2e")
	if err != nil {
		t.Fatal(err)
	}
	app, err := appcluster.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Stop() })
	cert, key, err := app.CertUser("bkpaas3", "cluster-admin")
	if err != nil {
		t.Fatal(err)
	}
	r.secret("bkpaas3-db", map[string]string{"dsn": dsn})
	r.secret("app-cluster", map[string]string{"ca.crt": string(app.CA), "tls.crt": string(cert), "tls.key": string(key)})

	// 3. The manager binary, as the ServiceAccount config/default creates (impersonated:
	// this control plane runs no token controller), with leader election and the metrics
	// endpoint as deployed (HTTPS, scrapers authenticated and authorized by the API
	// server), on a free local port.
	metricsAddr, err := netfault.ClosedAddr()
	if err != nil {
		t.Fatal(err)
	}
	managerKubeconfig := filepath.Join(dir, "manager.kubeconfig")
	writeKubeconfig(t, cfg, managerKubeconfig, true)
	logPath := filepath.Join(dir, "manager.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(manager, "--metrics-bind-address="+metricsAddr, "--health-probe-bind-address=0",
		"--leader-elect=true", "--leader-election-namespace=paasdiag-system", "--zap-log-level=1")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+managerKubeconfig)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		_ = logFile.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil {
				t.Logf("manager log:\n%s", b)
			}
		}
	})

	ctx := context.Background()
	create := func(name string, spec v1alpha1.PaaSDiagnosisSpec) {
		t.Helper()
		if err := c.Create(ctx, &v1alpha1.PaaSDiagnosis{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, Spec: spec}); err != nil {
			t.Fatalf("creating %s: %v", name, err)
		}
	}

	// appClusterSpec probes the app cluster with the credentials of the named Secret.
	appClusterSpec := func(secret string) v1alpha1.PaaSDiagnosisSpec {
		return v1alpha1.PaaSDiagnosisSpec{
			Interval: metav1.Duration{Duration: 10 * time.Second},
			Timeout:  metav1.Duration{Duration: 5 * time.Second},
			Clusters: []v1alpha1.ClusterTarget{{Name: "default-main", APIServers: []v1alpha1.APIServerURL{v1alpha1.APIServerURL(app.URL)},
				CredentialsSecretRef: v1alpha1.SecretReference{Name: secret}}},
		}
	}

	t.Run("a pool diagnosis raises 4313022, with an event", func(t *testing.T) {
		create("pools", v1alpha1.PaaSDiagnosisSpec{
			Interval:         metav1.Duration{Duration: 10 * time.Second},
			Timeout:          metav1.Duration{Duration: 5 * time.Second},
			PlatformDatabase: &v1alpha1.PlatformDatabase{DefaultDSNSecretRef: &v1alpha1.SecretKeyReference{Name: "bkpaas3-db", Key: "dsn"}},
			InstancePools:    &v1alpha1.InstancePoolsCheck{MinAvailable: 1},
		})
		d := r.waitFor("pools", 90*time.Second, func(d *v1alpha1.PaaSDiagnosis) bool {
			return condition(d, v1alpha1.ConditionInstancePoolAvailable).Status == metav1.ConditionFalse
		})
		if got := strings.Join(d.Status.Codes, ","); got != "4313022" {
			t.Errorf("codes %q, want 4313022; status %+v", got, d.Status)
		}
		if cond := condition(d, v1alpha1.ConditionReady); cond.Status != metav1.ConditionFalse {
			t.Errorf("Ready %+v, want False", cond)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			var events eventsv1.EventList
			if err := c.List(ctx, &events, client.InNamespace(namespace)); err != nil {
				t.Fatal(err)
			}
			found := false
			for _, e := range events.Items {
				if e.Regarding.Name == "pools" && e.Type == corev1.EventTypeWarning && strings.Contains(e.Note, "4313022") {
					found = true
					t.Logf("event (events.k8s.io/v1): %s %s: %s", e.Type, e.Reason, e.Note)
				}
			}
			if found {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no Warning event naming 4313022 for the pool diagnosis; events: %+v", events.Items)
			}
			time.Sleep(500 * time.Millisecond)
		}
	})

	// After the pool diagnosis: the manager has paasdiag_ series to serve.
	t.Run("the metrics endpoint checks a scraper's token and rights with this API server", func(t *testing.T) {
		scrapeMetrics(ctx, t, c, metricsAddr)
	})

	t.Run("a cluster diagnosis reaches an app cluster of this minor", func(t *testing.T) {
		create("clusters", appClusterSpec("app-cluster"))
		d := r.waitFor("clusters", 90*time.Second, func(d *v1alpha1.PaaSDiagnosis) bool {
			s := condition(d, v1alpha1.ConditionReady).Status
			return s == metav1.ConditionTrue || s == metav1.ConditionFalse
		})
		if cond := condition(d, v1alpha1.ConditionClusterReachable); cond.Status != metav1.ConditionTrue {
			t.Fatalf("ClusterReachable %+v, want True", cond)
		}
		if len(d.Status.Clusters) != 1 || len(d.Status.Clusters[0].APIServers) != 1 || d.Status.Clusters[0].APIServers[0].ServerVersion != want {
			t.Errorf("status.clusters %+v, want the app cluster's API server at %s", d.Status.Clusters, want)
		}
	})

	t.Run("a 403 on an app cluster of this minor is 4313021", func(t *testing.T) {
		cert, key, err := app.CertUser("bkpaas3-no-rights")
		if err != nil {
			t.Fatal(err)
		}
		r.secret("app-cluster-no-rights", map[string]string{"ca.crt": string(app.CA), "tls.crt": string(cert), "tls.key": string(key)})
		create("forbidden", appClusterSpec("app-cluster-no-rights"))
		d := r.waitFor("forbidden", 90*time.Second, func(d *v1alpha1.PaaSDiagnosis) bool {
			return condition(d, v1alpha1.ConditionClusterReachable).Status == metav1.ConditionFalse
		})
		if got := strings.Join(d.Status.Codes, ","); got != "4313021" {
			t.Errorf("codes %q, want 4313021", got)
		}
		t.Logf("ClusterReachable: %s", condition(d, v1alpha1.ConditionClusterReachable).Message)
	})

	t.Run("a failed initial-cluster-state Job (1.6) and a 403 in worker logs are 4313021", func(t *testing.T) {
		// The Job, as the bkpaas3 chart's hook leaves it when region_gen_state failed;
		// the workloads database tells paasdiag the platform is 1.6.
		workloads, err := mariadb.NewWorkloads(db, "bk_engine_ng", mariadb.Release16)
		if err != nil {
			t.Fatal(err)
		}
		wlDSN, err := workloads.ReadOnlyUser("paasdiag_wl", "compat-wl-7c1d")
		if err != nil {
			t.Fatal(err)
		}
		r.secret("bkpaas3-wl-db", map[string]string{"dsn": wlDSN})
		job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: v1alpha1.DefaultInitialClusterStateJobName},
			Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{Name: "gen-state", Image: "bkpaas3-apiserver:test"}}}}}}
		if err := c.Create(ctx, job); err != nil {
			t.Fatal(err)
		}
		start := metav1.NewTime(time.Now().Add(-time.Minute))
		job.Status = batchv1.JobStatus{StartTime: &start, Failed: 1, Conditions: []batchv1.JobCondition{{Type: batchv1.JobFailed,
			Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", LastTransitionTime: metav1.Now()}}}
		if err := c.Status().Update(ctx, job); err != nil {
			t.Fatal(err)
		}
		// A worker pod whose logs the API server fetches from its node's kubelet.
		kubelet := fakekubelet.Start()
		t.Cleanup(kubelet.Close)
		if err := kubelet.RegisterNode(ctx, c, "node-1"); err != nil {
			t.Fatal(err)
		}
		workers := map[string]string{"app.kubernetes.io/name": "bkpaas3-apiserver-worker"}
		if err := fakekubelet.Pod(ctx, c, namespace, "bkpaas3-apiserver-worker-0", "node-1", "worker", workers); err != nil {
			t.Fatal(err)
		}
		kubelet.SetLogs(namespace, "bkpaas3-apiserver-worker-0", "worker",
			"[2026-11-26 10:00:02,456] ERROR Can not get app cluster egress info\nTraceback (most recent call last):\nkubernetes.client.exceptions.ApiException: (403)\nReason: Forbidden\n")
		create("steps-2-3", v1alpha1.PaaSDiagnosisSpec{
			Interval:            metav1.Duration{Duration: 10 * time.Second},
			Timeout:             metav1.Duration{Duration: 5 * time.Second},
			PlatformDatabase:    &v1alpha1.PlatformDatabase{WorkloadsDSNSecretRef: &v1alpha1.SecretKeyReference{Name: "bkpaas3-wl-db", Key: "dsn"}},
			InitialClusterState: &v1alpha1.InitialClusterStateCheck{},
			WorkerLogs:          &v1alpha1.WorkerLogsCheck{PodSelector: &metav1.LabelSelector{MatchLabels: workers}, Container: "worker"},
		})
		d := r.waitFor("steps-2-3", 90*time.Second, func(d *v1alpha1.PaaSDiagnosis) bool {
			return condition(d, v1alpha1.ConditionInitialClusterStateReady).Status == metav1.ConditionFalse &&
				condition(d, v1alpha1.ConditionWorkerLogsClean).Status == metav1.ConditionFalse
		})
		if got := condition(d, v1alpha1.ConditionInitialClusterStateReady).Reason; got != "JobFailed" {
			t.Errorf("InitialClusterStateReady reason %s, want JobFailed", got)
		}
		if got := condition(d, v1alpha1.ConditionWorkerLogsClean).Reason; got != "ForbiddenInWorkerLogs" {
			t.Errorf("WorkerLogsClean reason %s, want ForbiddenInWorkerLogs", got)
		}
		if got := strings.Join(d.Status.Codes, ","); got != "4313021" {
			t.Errorf("codes %q, want 4313021", got)
		}
	})

	t.Run("the status patch and leader election work", func(t *testing.T) {
		var lease coordinationv1.Lease
		if err := c.Get(ctx, types.NamespacedName{Namespace: "paasdiag-system", Name: "paasdiag.diagnosis.paasdiag.io"}, &lease); err != nil {
			t.Fatalf("the leader election Lease: %v", err)
		}
		if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
			t.Errorf("the Lease has no holder: %+v", lease.Spec)
		}
		out := r.run("get", "paasdiagnosis", "-n", namespace)
		t.Logf("kubectl get paasdiagnosis:\n%s", out)
		for _, col := range []string{"READY", "CODES", "4313022"} {
			if !strings.Contains(out, col) {
				t.Errorf("kubectl get paasdiagnosis shows no %s", col)
			}
		}
	})

	t.Run("the controller refuses the spec the API server let through, and reads nothing", func(t *testing.T) {
		addr, connections := countingListener(t)
		r.secret("unreachable-db", map[string]string{"dsn": "paasdiag:x@tcp(" + addr + ")/bk_paas_ng"})
		create("too-often", v1alpha1.PaaSDiagnosisSpec{
			Interval: metav1.Duration{Duration: time.Second},
			Timeout:  metav1.Duration{Duration: time.Minute},
			Clusters: []v1alpha1.ClusterTarget{{Name: "default-main", APIServers: []v1alpha1.APIServerURL{v1alpha1.APIServerURL("http://" + addr)},
				CredentialsSecretRef: v1alpha1.SecretReference{Name: "app-cluster"}}},
			PlatformDatabase: &v1alpha1.PlatformDatabase{DefaultDSNSecretRef: &v1alpha1.SecretKeyReference{Name: "unreachable-db", Key: "dsn"}},
			InstancePools:    &v1alpha1.InstancePoolsCheck{MinAvailable: 1},
		})
		d := r.waitFor("too-often", 60*time.Second, func(d *v1alpha1.PaaSDiagnosis) bool {
			return condition(d, v1alpha1.ConditionStalled).Status == metav1.ConditionTrue
		})
		stalled := condition(d, v1alpha1.ConditionStalled)
		if stalled.Reason != v1alpha1.ReasonInvalidSpec {
			t.Errorf("Stalled reason %s, want InvalidSpec", stalled.Reason)
		}
		for _, rule := range []string{"interval must be at least 10s", "timeout must be shorter than interval", "API server URLs must be https URLs with a host"} {
			if !strings.Contains(stalled.Message, rule) {
				t.Errorf("Stalled says %q, without the CEL rule's message %q", stalled.Message, rule)
			}
		}
		if ready := condition(d, v1alpha1.ConditionReady); ready.Status != metav1.ConditionFalse || ready.Reason != v1alpha1.ReasonInvalidSpec {
			t.Errorf("Ready %+v, want False/InvalidSpec", ready)
		}
		// Nothing reaches the database or the API server, and nothing is rewritten: an
		// evaluation every second would have connected and re-patched many times.
		rv := d.ResourceVersion
		time.Sleep(15 * time.Second)
		if n := connections.Load(); n != 0 {
			t.Errorf("%d connection(s) reached the database or API server of an invalid spec", n)
		}
		var again v1alpha1.PaaSDiagnosis
		if err := c.Get(ctx, client.ObjectKeyFromObject(d), &again); err != nil {
			t.Fatal(err)
		}
		if again.ResourceVersion != rv {
			t.Errorf("the invalid diagnosis was rewritten within 15 s (resourceVersion %s -> %s)", rv, again.ResourceVersion)
		}
	})

	t.Run("every rule: the API server or the controller refuses its sample", func(t *testing.T) {
		var byServer, byController []string
		for i, s := range invalidspecs.All() {
			obj := &unstructured.Unstructured{Object: invalidspecs.Valid()}
			s.Mutate(obj.Object)
			obj.SetNamespace(namespace)
			obj.SetName(fmt.Sprintf("sample-%d", i))
			err := c.Create(ctx, obj)
			cel := strings.Contains(s.Rule, "x-kubernetes-validations")
			switch {
			case err != nil && apierrors.IsInvalid(err):
				byServer = append(byServer, s.Rule)
				// Older API servers (1.20.15 here) name list items without their index
				// (spec.clusters.apiServers): compare without indices.
				if !strings.Contains(indexless.ReplaceAllString(err.Error(), ""), indexless.ReplaceAllString(s.Field, "")) {
					t.Errorf("%s: refused, but not at %s: %v", s.Rule, s.Field, err)
				}
				if cel && celKept {
					continue
				}
				if cel {
					t.Errorf("%s: refused by an API server that dropped the CEL rules? %v", s.Rule, err)
				}
			case err != nil:
				t.Fatalf("%s: %v", s.Rule, err)
			default:
				byController = append(byController, s.Rule)
				if !cel {
					// docs/compatibility.md says every supported minor enforces the
					// OpenAPI bounds: this keeps it true.
					t.Errorf("%s: an OpenAPI bound the API server did not enforce", s.Rule)
				}
				d := r.waitFor(obj.GetName(), 60*time.Second, func(d *v1alpha1.PaaSDiagnosis) bool {
					return condition(d, v1alpha1.ConditionStalled).Status == metav1.ConditionTrue
				})
				stalled := condition(d, v1alpha1.ConditionStalled)
				if stalled.Reason != v1alpha1.ReasonInvalidSpec || !strings.Contains(stalled.Message, s.Field) || !strings.Contains(stalled.Message, s.Detail) {
					t.Errorf("%s: the API server accepted it and the controller says %s: %q (want %s at %s)", s.Rule, stalled.Reason, stalled.Message, s.Detail, s.Field)
				}
			}
		}
		t.Logf("refused by kube-apiserver %s (%d): %s", want, len(byServer), strings.Join(byServer, "; "))
		t.Logf("accepted by kube-apiserver %s, refused by the controller (%d): %s", want, len(byController), strings.Join(byController, "; "))
		if !celKept && len(byController) == 0 {
			t.Error("an API server without CEL rules let nothing through: the samples test nothing here")
		}
	})

	t.Run("the manager says once what this control plane lacks", func(t *testing.T) {
		log, err := os.ReadFile(logPath)
		if err != nil {
			t.Fatal(err)
		}
		var controlPlane []string
		var degraded int
		sc := bufio.NewScanner(bytes.NewReader(log))
		for sc.Scan() {
			line := sc.Text()
			if strings.Contains(line, "Control plane") {
				controlPlane = append(controlPlane, line)
			}
			if strings.Contains(line, "Not supported by this control plane") {
				degraded++
			}
		}
		if len(controlPlane) != 1 {
			t.Fatalf("want one Control plane line, got %d: %v", len(controlPlane), controlPlane)
		}
		var fields map[string]any
		if err := json.Unmarshal([]byte(controlPlane[0]), &fields); err != nil {
			t.Fatalf("the Control plane line is not JSON: %v: %s", err, controlPlane[0])
		}
		for k, v := range map[string]any{"version": want, "crdValidationRules": celKept, "validatingAdmissionPolicy": false, "eventsV1": true} {
			if fields[k] != v {
				t.Errorf("the Control plane line says %s=%v, want %v: %s", k, fields[k], v, controlPlane[0])
			}
		}
		if degraded == 0 {
			t.Error("no line says what is degraded")
		}
	})
}

// scrapeMetrics checks the manager's metrics endpoint as deployed, on this API server:
// HTTPS; without a token 401 (TokenReview, authentication.k8s.io/v1); with the token of
// a ServiceAccount lacking the metrics reader ClusterRole 403, and with one bound to it
// (config/default's paasdiag-metrics-reader) 200 with paasdiag's series
// (SubjectAccessReview, authorization.k8s.io/v1). The tokens come from the TokenRequest
// API, as a pod's would.
func scrapeMetrics(ctx context.Context, t *testing.T, c client.Client, addr string) {
	token := func(name string) string {
		t.Helper()
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
		if err := c.Create(ctx, sa); err != nil {
			t.Fatal(err)
		}
		expiry := int64(3600)
		tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}
		if err := c.SubResource("token").Create(ctx, sa, tr); err != nil {
			t.Fatalf("TokenRequest for %s: %v", name, err)
		}
		return tr.Status.Token
	}
	scraper, stranger := token("prometheus"), token("stranger")
	if err := c.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "compat-metrics-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "paasdiag-metrics-reader"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: "prometheus"}},
	}); err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	get := func(token string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/metrics", nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("GET https://%s/metrics: %v", addr, err)
		}
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(body)
	}
	for _, tc := range []struct {
		who, token string
		want       int
	}{{"no token", "", http.StatusUnauthorized}, {"a ServiceAccount without the role", stranger, http.StatusForbidden}, {"the metrics reader", scraper, http.StatusOK}} {
		code, body := get(tc.token)
		if code != tc.want {
			t.Errorf("%s: %d, want %d: %.300s", tc.who, code, tc.want, body)
		}
		if has := strings.Contains(body, "\npaasdiag_evaluations_total"); has != (tc.want == http.StatusOK) {
			t.Errorf("%s: the body has paasdiag's series: %v: %.300s", tc.who, has, body)
		}
	}
}

// writeKubeconfig writes an admin kubeconfig for cfg, or, with asManager, one that
// impersonates the manager's ServiceAccount (its groups as a token would give them).
func writeKubeconfig(t *testing.T, cfg *rest.Config, path string, asManager bool) {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["compat"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	user := &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	if asManager {
		user.Impersonate = managerUser
		user.ImpersonateGroups = []string{"system:serviceaccounts", "system:serviceaccounts:paasdiag-system", "system:authenticated"}
	}
	kc.AuthInfos["user"] = user
	kc.Contexts["compat"] = &clientcmdapi.Context{Cluster: "compat", AuthInfo: "user"}
	kc.CurrentContext = "compat"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
}
