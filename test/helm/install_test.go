package helm

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/release"
	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"
)

// The packaged chart, installed with its default values, creates on a real API server
// exactly the objects `kubectl kustomize` builds from config/default and
// config/admission (less the Namespace: Helm's is the release's), each as the API
// server stores it: the Deployment's spec whole (securityContext, args, probes,
// resources, all defaulted alike), the roles' rules, the bindings (in the release
// namespace), the CRD's spec and the admission policy's.
func TestInstallPackagedIsKustomize(t *testing.T) {
	const ns = "paasdiag-helm" // not config/'s paasdiag-system: the chart must move everything
	ctx := context.Background()
	env, _, c := startControlPlane(t)

	// What config/ installs, as the API server would store it: a server-side dry run,
	// before the chart is there, so that the names are free.
	want := map[string]*unstructured.Unstructured{}
	for _, dir := range []string{"default", "admission"} {
		for _, u := range kustomize(t, dir) {
			if u.GetKind() == "Namespace" {
				if err := c.Create(ctx, u); err != nil { // for the namespaced dry runs
					t.Fatal(err)
				}
				continue
			}
			if err := c.Create(ctx, u, client.DryRunAll); err != nil {
				t.Fatalf("dry run of config/%s's %s %s: %v", dir, u.GetKind(), u.GetName(), err)
			}
			want[u.GetKind()+"/"+u.GetName()] = u
		}
	}

	rel := helmInstall(ctx, t, env, ns, nil)

	rendered := parse(t, rel.Manifest)
	var got, expected []string
	for key := range rendered {
		got = append(got, key)
	}
	for key := range want {
		if key != "CustomResourceDefinition/paasdiagnoses.diagnosis.paasdiag.io" { // from crds/, not in the manifest
			expected = append(expected, key)
		}
	}
	sort.Strings(got)
	sort.Strings(expected)
	if !reflect.DeepEqual(got, expected) {
		t.Errorf("the release has\n%v\nconfig/default and config/admission have\n%v", got, expected)
	}

	for key, w := range want {
		installed := &unstructured.Unstructured{}
		installed.SetGroupVersionKind(w.GroupVersionKind())
		name := client.ObjectKey{Name: w.GetName()}
		if w.GetNamespace() != "" {
			name.Namespace = ns
		}
		if err := c.Get(ctx, name, installed); err != nil {
			t.Errorf("%s: %v", key, err)
			continue
		}
		for _, field := range []string{"spec", "rules", "aggregationRule", "roleRef", "subjects"} {
			wv, gv := w.Object[field], installed.Object[field]
			if subjects, ok := wv.([]any); ok && field == "subjects" {
				for _, s := range subjects {
					if s.(map[string]any)["namespace"] == "paasdiag-system" {
						s.(map[string]any)["namespace"] = ns
					}
				}
			}
			if w.GetKind() == "ValidatingAdmissionPolicy" {
				wv = unfold(wv)
			}
			if !reflect.DeepEqual(gv, wv) {
				g, _ := yaml.Marshal(gv)
				e, _ := yaml.Marshal(wv)
				t.Errorf("%s %s as installed by Helm:\n%s\nas config/ has it:\n%s", key, field, g, e)
			}
		}
		for _, m := range []struct {
			what      string
			got, want map[string]string
		}{
			{"label", installed.GetLabels(), w.GetLabels()},
			{"annotation", installed.GetAnnotations(), w.GetAnnotations()},
		} {
			for k, v := range m.want {
				if m.got[k] != v {
					t.Errorf("%s %s %s is %q, want %q", key, m.what, k, m.got[k], v)
				}
			}
		}
	}

	// The policy was installed because the API server (1.37) has it, not because a
	// value said so.
	if _, ok := rendered["ValidatingAdmissionPolicy/paasdiag-author-may-read"]; !ok {
		t.Error("the admission policy was not installed on a 1.37 API server")
	}
}

// helmInstall installs the packaged chart with vals as release paasdiag in namespace ns,
// which it creates, as `helm install` does with a kubeconfig for the envtest API server.
func helmInstall(ctx context.Context, t *testing.T, env *envtest.Environment, ns string, vals map[string]any) *release.Release {
	t.Helper()
	user, err := env.AddUser(envtest.User{Name: "helm", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig = &path
	namespace := ns
	flags.Namespace = &namespace
	helm := new(action.Configuration)
	if err := helm.Init(flags, ns, "secret", t.Logf); err != nil {
		t.Fatal(err)
	}
	install := action.NewInstall(helm)
	install.ReleaseName, install.Namespace, install.CreateNamespace = "paasdiag", ns, true
	install.Timeout = 2 * time.Minute
	rel, err := install.RunWithContext(ctx, loadPackaged(t), vals)
	if err != nil {
		t.Fatalf("helm install: %v", err)
	}
	t.Logf("release %s %s, version %d, chart %s", rel.Name, rel.Info.Status, rel.Version, rel.Chart.Metadata.Version)
	return rel
}

// With watchNamespace, the packaged chart installed on a real API server lets the
// manager's ServiceAccount read Secrets, Pods and their logs, Jobs and diagnoses in the
// watched namespace and nowhere else, as the API server's RBAC authorizer decides
// (SubjectAccessReviews) and as requests made as the ServiceAccount find. It can still
// read paasdiag's CRD, which no Role can grant, and check a metrics scraper's token and
// rights. The ServiceAccount metrics.readerSubjects names may get /metrics.
func TestInstallWatchNamespaceConfines(t *testing.T) {
	const ns, watched, other = "paasdiag-helm", "blueking", "default"
	ctx := context.Background()
	env, cfg, c := startControlPlane(t)
	// The watched namespace exists before the chart (it is not the release's), with a
	// Secret in it and one in another namespace.
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: watched}}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{watched, other} {
		if err := c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: n, Name: "platform-db"}}); err != nil {
			t.Fatal(err)
		}
	}

	prometheus := "system:serviceaccount:monitoring:prometheus-k8s"
	// With the diagnosis block: helm install alone creates the diagnosis, which the API
	// server accepts (the CRD comes first), in the watched namespace.
	rel := helmInstall(ctx, t, env, ns, map[string]any{"watchNamespace": watched, "metrics": map[string]any{"secure": true,
		"readerSubjects": []any{map[string]any{"kind": "ServiceAccount", "name": "prometheus-k8s", "namespace": "monitoring"}}},
		"diagnosis": map[string]any{"enabled": true, "namespace": watched}})
	diagnosis := &unstructured.Unstructured{}
	diagnosis.SetAPIVersion("diagnosis.paasdiag.io/v1alpha1")
	diagnosis.SetKind("PaaSDiagnosis")
	if err := c.Get(ctx, client.ObjectKey{Namespace: watched, Name: "bkpaas3"}, diagnosis); err != nil {
		t.Errorf("the diagnosis block's PaaSDiagnosis: %v", err)
	} else if d, _, _ := unstructured.NestedString(diagnosis.Object, "spec", "settingsFrom", "deployment"); d != "bkpaas3-apiserver-web" {
		t.Errorf("the installed diagnosis reads settings from %q", d)
	}
	rendered := parse(t, rel.Manifest)
	for _, key := range []string{"Role/paasdiag-manager-role-namespaced", "RoleBinding/paasdiag-manager-rolebinding-namespaced"} {
		if ns := get(rendered[key], "metadata", "namespace"); ns != watched {
			t.Errorf("%s in namespace %v, want %s", key, ns, watched)
		}
	}

	// The manager, as its pod's token would authenticate it.
	sa := "system:serviceaccount:" + ns + ":paasdiag-controller-manager"
	groups := []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}
	for _, a := range []struct {
		namespace, group, resource, subresource, verb, name string
		allowed                                             bool
	}{
		{watched, "", "secrets", "", "get", "platform-db", true},
		{watched, "", "pods", "", "list", "", true},
		{watched, "", "pods", "log", "get", "worker", true},
		{watched, "batch", "jobs", "", "list", "", true},
		{watched, "batch", "jobs", "", "get", "init-cluster-state", true},
		{watched, "", "configmaps", "", "get", "bkpaas3-apiserver-envs", true},
		{watched, "apps", "deployments", "", "get", "bkpaas3-apiserver-web", true},
		{watched, "diagnosis.paasdiag.io", "paasdiagnoses", "", "list", "", true},
		{watched, "diagnosis.paasdiag.io", "paasdiagnoses", "", "watch", "", true},
		{watched, "diagnosis.paasdiag.io", "paasdiagnoses", "status", "patch", "d", true},
		{watched, "events.k8s.io", "events", "", "create", "", true},
		{"", "apiextensions.k8s.io", "customresourcedefinitions", "", "get", "paasdiagnoses.diagnosis.paasdiag.io", true},
		{"", "admissionregistration.k8s.io", "validatingadmissionpolicies", "", "get", "paasdiag-author-may-read", true},
		{ns, "coordination.k8s.io", "leases", "", "get", "paasdiag", true}, // leader election, as before
		// The metrics endpoint's checks of a scraper: cluster-scoped, kept in the ClusterRole.
		{"", "authentication.k8s.io", "tokenreviews", "", "create", "", true},
		{"", "authorization.k8s.io", "subjectaccessreviews", "", "create", "", true},

		{other, "", "secrets", "", "get", "platform-db", false},
		{other, "", "pods", "", "list", "", false},
		{other, "", "pods", "log", "get", "worker", false},
		{other, "batch", "jobs", "", "list", "", false},
		{other, "", "configmaps", "", "get", "bkpaas3-apiserver-envs", false},
		{other, "apps", "deployments", "", "get", "bkpaas3-apiserver-web", false},
		{"", "", "configmaps", "", "get", "bkpaas3-apiserver-envs", false},
		{"", "apps", "deployments", "", "get", "bkpaas3-apiserver-web", false},
		{watched, "", "configmaps", "", "list", "", false},
		{watched, "apps", "deployments", "", "list", "", false},
		{other, "diagnosis.paasdiag.io", "paasdiagnoses", "", "list", "", false},
		{other, "diagnosis.paasdiag.io", "paasdiagnoses", "status", "patch", "d", false},
		{ns, "", "secrets", "", "get", "platform-db", false}, // not even the release's
		{"", "", "secrets", "", "get", "platform-db", false},
		{"", "", "secrets", "", "list", "", false},
		{"", "", "pods", "", "list", "", false},
		{"", "batch", "jobs", "", "list", "", false},
		{"", "diagnosis.paasdiag.io", "paasdiagnoses", "", "list", "", false},
		{"", "diagnosis.paasdiag.io", "paasdiagnoses", "", "watch", "", false},
		{"", "apiextensions.k8s.io", "customresourcedefinitions", "", "get", "other.example.com", false},
		{watched, "", "secrets", "", "list", "", false}, // what it always lacked
	} {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: sa, Groups: groups,
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: a.namespace, Group: a.group, Resource: a.resource, Subresource: a.subresource, Verb: a.verb, Name: a.name,
			},
		}}
		if err := c.Create(ctx, sar); err != nil {
			t.Fatal(err)
		}
		if sar.Status.Allowed != a.allowed {
			where := "cluster-wide"
			if a.namespace != "" {
				where = "in namespace " + a.namespace
			}
			t.Errorf("%s %s.%s/%s %q %s: allowed %v (%s), want %v",
				a.verb, a.resource, a.group, a.subresource, a.name, where, sar.Status.Allowed, sar.Status.Reason, a.allowed)
		}
	}

	// metrics.readerSubjects: Prometheus may get /metrics (the manager's endpoint asks
	// exactly this); the manager itself may not.
	for user, allowed := range map[string]bool{prometheus: true, sa: false} {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: user, Groups: []string{"system:serviceaccounts", "system:authenticated"},
			NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"},
		}}
		if err := c.Create(ctx, sar); err != nil {
			t.Fatal(err)
		}
		if sar.Status.Allowed != allowed {
			t.Errorf("%s get /metrics: allowed %v (%s), want %v", user, sar.Status.Allowed, sar.Status.Reason, allowed)
		}
	}

	// The same, as requests made as the ServiceAccount.
	as := rest.CopyConfig(cfg)
	as.Impersonate = rest.ImpersonationConfig{UserName: sa, Groups: groups}
	manager, err := client.New(as, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var secret corev1.Secret
	if err := manager.Get(ctx, client.ObjectKey{Namespace: watched, Name: "platform-db"}, &secret); err != nil {
		t.Errorf("the manager reads a Secret in %s: %v", watched, err)
	}
	if err := manager.List(ctx, &corev1.PodList{}, client.InNamespace(watched)); err != nil {
		t.Errorf("the manager lists the Pods in %s: %v", watched, err)
	}
	for what, err := range map[string]error{
		"reads a Secret in " + other:        manager.Get(ctx, client.ObjectKey{Namespace: other, Name: "platform-db"}, &secret),
		"lists the Pods in " + other:        manager.List(ctx, &corev1.PodList{}, client.InNamespace(other)),
		"lists the Pods of every namespace": manager.List(ctx, &corev1.PodList{}),
		"lists the Jobs of every namespace": manager.List(ctx, &batchv1.JobList{}),
	} {
		if !apierrors.IsForbidden(err) {
			t.Errorf("the manager %s: %v, want Forbidden", what, err)
		}
	}
	var crd apiextensionsv1.CustomResourceDefinition
	scheme := runtime.NewScheme()
	_ = apiextensionsv1.AddToScheme(scheme)
	crds, err := client.New(as, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	if err := crds.Get(ctx, client.ObjectKey{Name: "paasdiagnoses.diagnosis.paasdiag.io"}, &crd); err != nil {
		t.Errorf("the manager reads paasdiag's CRD: %v", err)
	}
}

// unfold undoes what kubectl kustomize (kustomize v5.8.1, go-yaml v3) does to a folded
// scalar (>-) with more-indented lines, as config/admission's CEL expressions are: it
// reads an empty line before each more-indented line, where the YAML spec (example
// 8.10), sigs.k8s.io/yaml, PyYAML, `kubectl apply -f` and Helm read none. The CEL is
// the same either way; the chart's is the spec's.
func unfold(v any) any {
	switch v := v.(type) {
	case string:
		for strings.Contains(v, "\n\n") {
			v = strings.ReplaceAll(v, "\n\n", "\n")
		}
		return v
	case []any:
		for i := range v {
			v[i] = unfold(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = unfold(v[k])
		}
	}
	return v
}

// kustomize runs `kubectl kustomize config/<dir>` with KUBEBUILDER_ASSETS' kubectl.
func kustomize(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	kubectl := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
	var stderr bytes.Buffer
	cmd := exec.Command(kubectl, "kustomize", root("config", dir))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s kustomize config/%s: %v\n%s", kubectl, dir, err, stderr.String())
	}
	var objs []*unstructured.Unstructured
	for _, doc := range bytes.Split(out, []byte("\n---\n")) {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &u.Object); err != nil {
			t.Fatal(err)
		}
		if u.GroupVersionKind() == (schema.GroupVersionKind{}) {
			t.Fatalf("config/%s: a document without kind:\n%s", dir, doc)
		}
		objs = append(objs, u)
	}
	return objs
}

// startControlPlane starts an envtest control plane from KUBEBUILDER_ASSETS, stopped
// when the test ends, and an admin client of it.
func startControlPlane(t *testing.T) (*envtest.Environment, *rest.Config, client.Client) {
	t.Helper()
	env := &envtest.Environment{}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting envtest (KUBEBUILDER_ASSETS=%s): %v", os.Getenv("KUBEBUILDER_ASSETS"), err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Error(err)
		}
	})
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return env, cfg, c
}
