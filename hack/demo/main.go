// Command demo shows paasdiag at work on this machine, with nothing but real parts: a
// control plane for the controller (kube-apiserver and etcd), a second one as the
// bkpaas3 app cluster, a MariaDB holding the platform's two databases, and the manager.
// The diagnosis is the zero-configuration one: it names only the platform's apiserver
// Deployment (spec.settingsFrom), whose environment gives the databases and the key;
// the Deployment exists in the control plane as the platform's chart would write it
// (no pod needs to run), beside a bkrepo blob store and the S-mart image registry
// (distribution's, behind a token server) on loopback. It walks through a healthy
// installation, the app-cluster token losing its permission (4313021), the redis pool
// running dry (4313022), both repaired, then the S-mart registry's password rotated
// without the platform's setting (4314004) and the setting updated, printing what
// `kubectl get paasdiagnosis` shows at each step. Everything
// it starts is stopped and removed when it ends, also on Ctrl-C.
//
//	make demo
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/controllers"
	"github.com/paasdiag/paasdiag/internal/testsupport/appcluster"
	"github.com/paasdiag/paasdiag/internal/testsupport/bkrepo"
	"github.com/paasdiag/paasdiag/internal/testsupport/kubectl"
	"github.com/paasdiag/paasdiag/internal/testsupport/mariadb"
	"github.com/paasdiag/paasdiag/internal/testsupport/ociregistry"
)

const namespace = "blueking"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Println("\ninterrupted; everything the demo started is stopped")
			os.Exit(130)
		}
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// cleanups run in reverse order when the demo ends, however it ends.
type cleanups []func()

func (c *cleanups) add(f func()) { *c = append(*c, f) }
func (c cleanups) run() {
	for i := len(c) - 1; i >= 0; i-- {
		c[i]()
	}
}

func run(ctx context.Context) error {
	var done cleanups
	// A closure, so that it runs the cleanups added after this line.
	defer func() { done.run() }()
	logf.SetLogger(zap.New(zap.WriteTo(devNull{})))

	dir, err := os.MkdirTemp("", "paasdiag-demo-")
	if err != nil {
		return err
	}
	done.add(func() { _ = os.RemoveAll(dir) })

	step("Starting a control plane for the controller, a second one as the app cluster, and MariaDB")
	control := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join("config", "crd", "bases")}, ErrorIfCRDPathMissing: true}
	cfg, err := control.Start()
	if err != nil {
		return fmt.Errorf("starting the control plane (run it with make demo): %w", err)
	}
	done.add(func() { _ = control.Stop() })
	app, err := appcluster.Start()
	if err != nil {
		return err
	}
	done.add(func() { _ = app.Stop() })
	db, err := mariadb.Start(filepath.Join(dir, "mariadb"))
	if err != nil {
		return err
	}
	done.add(func() { _ = db.Stop() })
	if err := ctx.Err(); err != nil {
		return err
	}

	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := kubectl.WriteKubeconfig(cfg, kubeconfig); err != nil {
		return err
	}
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	k8s, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}

	step("Laying out the platform: the redis pools in bk_paas_ng, the app cluster in bk_engine_ng, the platform's token on the app cluster")
	platform, err := mariadb.NewPlatform(db, "bk_paas_ng", mariadb.Main)
	if err != nil {
		return err
	}
	redis, _ := platform.Service("redis", "pool")
	shared, _ := platform.Plan(redis, "0shared", "default")
	exclusive, _ := platform.Plan(redis, "1exclusive", "default")
	last, err := platform.Instances(shared, 1, false, "fifo")
	if err != nil {
		return err
	}
	if _, err := platform.Instances(exclusive, 2, false, "fifo"); err != nil {
		return err
	}
	token, err := app.TokenUser("bkpaas3-platform", "cluster-admin")
	if err != nil {
		return err
	}
	workloads, err := mariadb.NewWorkloads(db, "bk_engine_ng", mariadb.Main)
	if err != nil {
		return err
	}
	if _, err := workloads.Cluster("default-main", []string{strings.TrimSuffix(app.URL, "/")},
		mariadb.Encrypt(app.CA, nil, nil, token, mariadb.FernetEncrypter(demoKey))); err != nil {
		return err
	}
	defaultDSN, err := platform.ReadOnlyUser("bkpaas3", "demo-password")
	if err != nil {
		return err
	}
	workloadsDSN, err := workloads.ReadOnlyUser("bkpaas3_engine", "demo-wl-password")
	if err != nil {
		return err
	}

	step("Starting the blob store (a bkrepo generic API) and the S-mart image registry with its base images")
	repo, err := bkrepo.Start(bkrepo.Options{
		Users:    map[string]string{"bkpaas3": "demo-blob-password"},
		Projects: map[string][]string{"bkpaas": {"bkpaas3-source-packages"}},
		Access:   map[string]map[string]bkrepo.Access{"bkpaas3": {"bkpaas": bkrepo.ReadWrite}},
	})
	if err != nil {
		return err
	}
	done.add(repo.Close)
	module, err := platform.PackageModule("smart-demo", "default", mariadb.OriginSMart)
	if err != nil {
		return err
	}
	packageKey, err := platform.SourcePackage(module, "1.0.0", 4)
	if err != nil {
		return err
	}
	if err := repo.PutObject("bkpaas", "bkpaas3-source-packages", packageKey, []byte("pkg!")); err != nil {
		return err
	}
	registry, err := ociregistry.Start(ociregistry.Options{Users: map[string]ociregistry.User{
		"bkpaas": {Password: "demo-smart-password", Push: []string{"bkpaas/docker/*", "bkpaas/docker/*/*"}}}})
	if err != nil {
		return err
	}
	done.add(registry.Close)
	for _, image := range []string{"slug-app:v1.7.0", "run-heroku-bionic:v1.0.4"} {
		name, tag, _ := strings.Cut(image, ":")
		if _, err := registry.PushImage("bkpaas/docker/"+name, tag); err != nil {
			return err
		}
	}

	step("Starting the paasdiag manager")
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}})
	if err != nil {
		return err
	}
	if _, err := controllers.Setup(mgr, controllers.Options{MaxConcurrentReconciles: 2, CheckConcurrency: 4}); err != nil {
		return err
	}
	mgrCtx, stopMgr := context.WithCancel(ctx)
	mgrDone := make(chan error, 1)
	go func() { mgrDone <- mgr.Start(mgrCtx) }()
	done.add(func() { stopMgr(); <-mgrDone })

	step("Applying a diagnosis of the installation")
	manifest := filepath.Join(dir, "diagnosis.yaml")
	objects, err := sample(defaultDSN, workloadsDSN, repo.Endpoint, registry.Host)
	if err != nil {
		return err
	}
	if err := os.WriteFile(manifest, []byte(objects), 0o600); err != nil {
		return err
	}
	if err := runKubectl(ctx, kubeconfig, "apply", "-f", manifest); err != nil {
		return err
	}
	key := types.NamespacedName{Namespace: namespace, Name: "bkpaas3"}

	step("1. All healthy")
	if err := waitFor(ctx, k8s, key, v1alpha1.ConditionReady, metav1.ConditionTrue); err != nil {
		return err
	}
	if err := show(ctx, kubeconfig); err != nil {
		return err
	}

	step("2. Someone removes the platform token's cluster-admin binding: deploys would fail with 4313021")
	if err := app.Unbind("sa-bkpaas3-platform"); err != nil {
		return err
	}
	if err := waitFor(ctx, k8s, key, v1alpha1.ConditionClusterReachable, metav1.ConditionFalse); err != nil {
		return err
	}
	if err := show(ctx, kubeconfig); err != nil {
		return err
	}

	step("3. An app takes the last instance of redis/0shared: the next one would fail with 4313022")
	if err := platform.Allocate(last[0]); err != nil {
		return err
	}
	if err := waitFor(ctx, k8s, key, v1alpha1.ConditionInstancePoolAvailable, metav1.ConditionFalse); err != nil {
		return err
	}
	if err := show(ctx, kubeconfig); err != nil {
		return err
	}
	fmt.Println()
	fmt.Println("$ kubectl describe paasdiagnosis bkpaas3 -n " + namespace + "   # the status part")
	if err := describeStatus(ctx, kubeconfig); err != nil {
		return err
	}

	step("4. The binding is restored and the pool refilled: Ready again")
	if err := app.Bind("bkpaas3-platform", true, "cluster-admin"); err != nil {
		return err
	}
	if _, err := platform.Instances(shared, 2, false, "fifo"); err != nil {
		return err
	}
	if err := waitFor(ctx, k8s, key, v1alpha1.ConditionReady, metav1.ConditionTrue); err != nil {
		return err
	}
	if err := show(ctx, kubeconfig); err != nil {
		return err
	}
	fmt.Println()
	time.Sleep(2 * time.Second) // events are recorded asynchronously
	fmt.Println("$ kubectl get events -n " + namespace)
	if err := runKubectl(ctx, kubeconfig, "get", "events", "-n", namespace, "--sort-by=.metadata.creationTimestamp",
		"-o", "custom-columns=TYPE:.type,REASON:.reason,MESSAGE:.message"); err != nil {
		return err
	}
	step("5. The S-mart registry's password is rotated, the platform's SMART_DOCKER_PASSWORD is not: S-mart imports would fail with 4314004")
	registry.SetPassword("bkpaas", "demo-smart-password-2")
	if err := waitFor(ctx, k8s, key, v1alpha1.ConditionSmartRegistryAvailable, metav1.ConditionFalse); err != nil {
		return err
	}
	if err := show(ctx, kubeconfig); err != nil {
		return err
	}
	fmt.Println()
	fmt.Println("$ kubectl get paasdiagnosis bkpaas3 -n " + namespace + ` -o jsonpath='{.status.conditions[?(@.type=="SmartRegistryAvailable")].message}'`)
	if err := runKubectl(ctx, kubeconfig, "get", "paasdiagnosis", "bkpaas3", "-n", namespace,
		"-o", `jsonpath={.status.conditions[?(@.type=="SmartRegistryAvailable")].message}`); err != nil {
		return err
	}
	fmt.Println()

	step("6. The platform's setting is updated to the new password: Ready again")
	if err := runKubectl(ctx, kubeconfig, "patch", "secret", "bkpaas3-apiserver-secrets", "-n", namespace,
		"--type=merge", "-p", `{"stringData":{"PAAS_SMART_DOCKER_PASSWORD":"demo-smart-password-2"}}`); err != nil {
		return err
	}
	if err := waitFor(ctx, k8s, key, v1alpha1.ConditionReady, metav1.ConditionTrue); err != nil {
		return err
	}
	if err := show(ctx, kubeconfig); err != nil {
		return err
	}
	step("Done; stopping everything the demo started")
	return nil
}

// describeStatus prints the Status part of kubectl describe.
func describeStatus(ctx context.Context, kubeconfig string) error {
	var out strings.Builder
	cmd := exec.CommandContext(ctx, kubectl.Path(), "--kubeconfig", kubeconfig, "describe", "paasdiagnosis", "bkpaas3", "-n", namespace)
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return err
	}
	text := out.String()
	if i := strings.Index(text, "\nStatus:"); i >= 0 {
		text = text[i+1:]
	}
	fmt.Print(text)
	return nil
}

func step(s string) { fmt.Printf("\n==> %s\n", s) }

func show(ctx context.Context, kubeconfig string) error {
	fmt.Println("$ kubectl get paasdiagnosis -n " + namespace)
	return runKubectl(ctx, kubeconfig, "get", "paasdiagnosis", "-n", namespace)
}

// runKubectl runs the kubectl built with the control plane (or the machine's).
func runKubectl(ctx context.Context, kubeconfig string, args ...string) error {
	cmd := exec.CommandContext(ctx, kubectl.Path(), append([]string{"--kubeconfig", kubeconfig}, args...)...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}

// waitFor waits until the condition has the status, for at most two minutes.
func waitFor(ctx context.Context, c client.Client, key types.NamespacedName, condition string, status metav1.ConditionStatus) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var d v1alpha1.PaaSDiagnosis
		if err := c.Get(ctx, key, &d); err == nil {
			if cond := meta.FindStatusCondition(d.Status.Conditions, condition); cond != nil && cond.Status == status {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not become %s in time", condition, status)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// sample is what an operator applies: the Secrets and the diagnosis.
// demoKey is the platform's BKKRILL_ENCRYPT_SECRET_KEY in the demo: 32 bytes,
// URL-safe base64, as the platform's chart generates it.
const demoKey = "ZGVtby1vbmx5LWtleS1ub3QtZm9yLXByb2R1Y3Rpb24="

// sample is what a bkpaas3 release holds (its apiserver Deployment, the ConfigMap and
// Secret its environment comes from), the label that lets paasdiag read it, and the
// zero-configuration diagnosis.
func sample(defaultDSN, workloadsDSN, blobEndpoint, smartRegistry string) (string, error) {
	def, err := mysql.ParseDSN(defaultDSN)
	if err != nil {
		return "", err
	}
	wl, err := mysql.ParseDSN(workloadsDSN)
	if err != nil {
		return "", err
	}
	host, port, err := net.SplitHostPort(def.Addr)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %[1]s
---
# The platform's own objects, as its chart writes them.
apiVersion: v1
kind: ConfigMap
metadata:
  name: bkpaas3-apiserver-envs
  namespace: %[1]s
data:
  PAAS_DATABASE_HOST: %[2]q
  PAAS_DATABASE_PORT: %[3]q
  PAAS_DATABASE_NAME: %[4]q
  PAAS_WL_DATABASE_HOST: %[2]q
  PAAS_WL_DATABASE_PORT: %[3]q
  PAAS_WL_DATABASE_NAME: %[5]q
  PAAS_SMART_DOCKER_REGISTRY_ADDR: %[12]q
  PAAS_APP_IMAGE: bkpaas/apiserver:v1.7.0
---
apiVersion: v1
kind: Secret
metadata:
  name: bkpaas3-apiserver-secrets
  namespace: %[1]s
stringData:
  PAAS_DATABASE_USER: %[6]q
  PAAS_DATABASE_PASSWORD: %[7]q
  PAAS_WL_DATABASE_USER: %[8]q
  PAAS_WL_DATABASE_PASSWORD: %[9]q
  PAAS_BKKRILL_ENCRYPT_SECRET_KEY: %[10]q
  PAAS_BLOBSTORE_BKREPO_CONFIG: '{ENDPOINT="%[11]s", PROJECT="bkpaas", USERNAME="bkpaas3", PASSWORD="demo-blob-password"}'
  PAAS_SMART_DOCKER_PASSWORD: demo-smart-password
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: bkpaas3-apiserver-web
  namespace: %[1]s
  labels:
    # The one step before the first verdict: consent to paasdiag reading its settings.
    diagnosis.paasdiag.io/settings-from: "true"
spec:
  selector:
    matchLabels: {app.kubernetes.io/name: bkpaas3-apiserver-web}
  template:
    metadata:
      labels: {app.kubernetes.io/name: bkpaas3-apiserver-web}
    spec:
      containers:
        - name: apiserver
          image: bkpaas3-apiserver:1.7.0
          envFrom:
            - configMapRef: {name: bkpaas3-apiserver-envs}
            - secretRef: {name: bkpaas3-apiserver-secrets}
---
# The diagnosis: no Secret, no DSN, no selector of its own.
apiVersion: diagnosis.paasdiag.io/v1alpha1
kind: PaaSDiagnosis
metadata:
  name: bkpaas3
  namespace: %[1]s
spec:
  interval: 10s
  timeout: 5s
  certificateExpiryWarning: 1h
  settingsFrom:
    deployment: bkpaas3-apiserver-web
  discoverClusters: true
  instancePools:
    minAvailable: 1
  blobStore: {}
  smartRegistry: {}
`, namespace, host, port, def.DBName, wl.DBName, def.User, def.Passwd, wl.User, wl.Passwd, demoKey, blobEndpoint, smartRegistry), nil
}

type devNull struct{}

func (devNull) Write(p []byte) (int, error) { return len(p), nil }
