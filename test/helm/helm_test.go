// Package helm tests charts/paasdiag with the Helm library itself: lint, rendering
// with default and other values, and an install of the packaged chart on a real API
// server (envtest), compared with what `kubectl kustomize` builds from config/.
//
// It is its own module, so that Helm's dependencies stay out of paasdiag's. Run it with
// `make test-helm`; it needs KUBEBUILDER_ASSETS (kube-apiserver, etcd, kubectl) and
// fails without it.
package helm

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint/support"
	"helm.sh/helm/v3/pkg/releaseutil"
	"sigs.k8s.io/yaml"
)

const vapCapability = "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy"

func TestMain(m *testing.M) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		fmt.Fprintln(os.Stderr, "KUBEBUILDER_ASSETS is not set: run `make test-helm` (it needs kube-apiserver, etcd and kubectl)")
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// root is a path in the repository.
func root(parts ...string) string { return filepath.Join(append([]string{"..", ".."}, parts...)...) }

var chartDir = root("charts", "paasdiag")

// obj is a rendered or installed object.
type obj = map[string]any

func TestLint(t *testing.T) {
	for name, vals := range map[string]map[string]any{"defaults": nil, "others": otherValues()} {
		t.Run(name, func(t *testing.T) {
			lint := action.NewLint()
			lint.Strict = true
			lint.Namespace = "paasdiag-system"
			res := lint.Run([]string{chartDir}, vals)
			for _, msg := range res.Messages {
				if msg.Severity >= support.WarningSev {
					t.Errorf("helm lint: %s", msg)
				} else {
					t.Logf("helm lint: %s", msg)
				}
			}
			for _, err := range res.Errors {
				t.Errorf("helm lint: %v", err)
			}
			if res.TotalChartsLinted != 1 {
				t.Errorf("linted %d charts", res.TotalChartsLinted)
			}
		})
	}
}

// otherValues set everything values.yaml offers to something else than its default.
func otherValues() map[string]any {
	return map[string]any{
		"image":           map[string]any{"tag": "v9.9.9-rc.1", "pullPolicy": "Always"},
		"replicas":        2,
		"watchNamespace":  "blueking",
		"resources":       map[string]any{"limits": map[string]any{"memory": "512Mi"}},
		"nodeSelector":    map[string]any{"kubernetes.io/os": "linux"},
		"tolerations":     []any{map[string]any{"key": "dedicated", "operator": "Exists"}},
		"affinity":        map[string]any{"nodeAffinity": map[string]any{}},
		"serviceMonitor":  map[string]any{"enabled": true},
		"prometheusRule":  map[string]any{"enabled": true},
		"admissionPolicy": map[string]any{"enabled": true},
		"metrics": map[string]any{"secure": false, "readerSubjects": []any{
			map[string]any{"kind": "ServiceAccount", "name": "prometheus-k8s", "namespace": "monitoring"},
		}},
	}
}

// render is `helm template`: a client-only dry-run install against kubeVersion, with
// apiVersions as the API server's extra capabilities.
func render(t *testing.T, vals map[string]any, kubeVersion string, apiVersions ...string) (map[string]obj, error) {
	t.Helper()
	ch, err := loader.LoadDir(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := chartutil.ParseKubeVersion(kubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	install := action.NewInstall(&action.Configuration{Log: t.Logf})
	install.DryRun, install.ClientOnly, install.Replace = true, true, true
	install.ReleaseName, install.Namespace = "diag", "monitoring-ns"
	install.KubeVersion, install.APIVersions = kv, apiVersions
	rel, err := install.Run(ch, vals)
	if err != nil {
		return nil, err
	}
	return parse(t, rel.Manifest), nil
}

// parse splits a manifest into objects by kind/name.
func parse(t *testing.T, manifest string) map[string]obj {
	t.Helper()
	out := map[string]obj{}
	for _, doc := range releaseutil.SplitManifests(manifest) {
		var o obj
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		if o == nil {
			continue
		}
		key := fmt.Sprintf("%s/%s", o["kind"], get(o, "metadata", "name"))
		if _, dup := out[key]; dup {
			t.Fatalf("%s twice", key)
		}
		out[key] = o
	}
	return out
}

// config reads the objects of a config/ file.
func config(t *testing.T, file string) map[string]obj {
	t.Helper()
	raw, err := os.ReadFile(root("config", file))
	if err != nil {
		t.Fatal(err)
	}
	return parse(t, string(raw))
}

func get(o any, path ...string) any {
	for _, p := range path {
		m, _ := o.(map[string]any)
		o = m[p]
	}
	return o
}

func keys(m map[string]obj) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func container(d obj) obj {
	return get(d, "spec", "template", "spec", "containers").([]any)[0].(obj)
}

func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := yaml.Marshal(got)
		w, _ := yaml.Marshal(want)
		t.Errorf("%s:\n%s\nwant (config/):\n%s", what, g, w)
	}
}

func TestTemplateDefaults(t *testing.T) {
	objs, err := render(t, nil, "v1.20.15")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"ClusterRole/paasdiag-editor", "ClusterRole/paasdiag-manager-role", "ClusterRole/paasdiag-metrics-reader", "ClusterRole/paasdiag-viewer",
		"ClusterRoleBinding/paasdiag-manager-rolebinding", "Deployment/paasdiag-controller-manager",
		"Role/paasdiag-manager-role", "RoleBinding/paasdiag-leader-election-rolebinding",
		"ServiceAccount/paasdiag-controller-manager",
	}
	if got := keys(objs); !reflect.DeepEqual(got, want) {
		t.Fatalf("rendered %v, want %v (no admission policy on 1.20, no monitoring and no metrics reader binding by default)", got, want)
	}
	for key, o := range objs {
		if ns := get(o, "metadata", "namespace"); !strings.HasPrefix(key, "Cluster") && ns != "monitoring-ns" {
			t.Errorf("%s in namespace %v, want the release's", key, ns)
		}
		labels := get(o, "metadata", "labels").(obj)
		if labels["app.kubernetes.io/managed-by"] != "Helm" || labels["app.kubernetes.io/instance"] != "diag" {
			t.Errorf("%s labels %v lack Helm's", key, labels)
		}
	}
	d := objs["Deployment/paasdiag-controller-manager"]
	ref := config(t, "manager/manager.yaml")["Deployment/controller-manager"]
	c, refc := container(d), container(ref)
	equal(t, "args", c["args"], refc["args"])
	equal(t, "image", c["image"], refc["image"])
	equal(t, "container securityContext", c["securityContext"], refc["securityContext"])
	equal(t, "pod securityContext", get(d, "spec", "template", "spec", "securityContext"), get(ref, "spec", "template", "spec", "securityContext"))
	equal(t, "resources", c["resources"], refc["resources"])
	equal(t, "livenessProbe", c["livenessProbe"], refc["livenessProbe"])
	equal(t, "readinessProbe", c["readinessProbe"], refc["readinessProbe"])
	equal(t, "replicas", get(d, "spec", "replicas"), get(ref, "spec", "replicas"))
	equal(t, "selector", get(d, "spec", "selector"), get(ref, "spec", "selector"))
	equal(t, "pod labels", get(d, "spec", "template", "metadata", "labels"), get(ref, "spec", "template", "metadata", "labels"))
	for k, v := range get(ref, "metadata", "labels").(obj) {
		if get(d, "metadata", "labels", k) != v {
			t.Errorf("Deployment label %s is %v, want %v", k, get(d, "metadata", "labels", k), v)
		}
	}
	for _, key := range []string{"nodeSelector", "tolerations", "affinity"} {
		if v, ok := get(d, "spec", "template", "spec").(obj)[key]; ok {
			t.Errorf("pod %s %v by default", key, v)
		}
	}
	if sa := get(d, "spec", "template", "spec", "serviceAccountName"); sa != "paasdiag-controller-manager" {
		t.Errorf("serviceAccountName %v", sa)
	}
	for _, binding := range []string{"ClusterRoleBinding/paasdiag-manager-rolebinding", "RoleBinding/paasdiag-leader-election-rolebinding"} {
		subject := get(objs[binding], "subjects").([]any)[0]
		if get(subject, "namespace") != "monitoring-ns" || get(subject, "name") != "paasdiag-controller-manager" {
			t.Errorf("%s subject %v", binding, subject)
		}
	}
	rbac := config(t, "rbac/role.yaml")
	equal(t, "ClusterRole rules", objs["ClusterRole/paasdiag-manager-role"]["rules"], rbac["ClusterRole/manager-role"]["rules"])
	equal(t, "Role rules", objs["Role/paasdiag-manager-role"]["rules"], rbac["Role/manager-role"]["rules"])
	equal(t, "viewer rules", objs["ClusterRole/paasdiag-viewer"]["rules"], config(t, "rbac/paasdiagnosis_viewer_role.yaml")["ClusterRole/viewer"]["rules"])
	equal(t, "editor rules", objs["ClusterRole/paasdiag-editor"]["rules"], config(t, "rbac/paasdiagnosis_editor_role.yaml")["ClusterRole/editor"]["rules"])
	equal(t, "metrics reader rules", objs["ClusterRole/paasdiag-metrics-reader"]["rules"], config(t, "rbac/metrics/role.yaml")["ClusterRole/metrics-reader"]["rules"])

	// The CRD is installed from crds/, not rendered; it is config/'s, byte for byte.
	ch, err := loader.LoadDir(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	crd, err := os.ReadFile(root("config", "crd", "bases", "diagnosis.paasdiag.io_paasdiagnoses.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	crds := ch.CRDObjects()
	if len(crds) != 1 || string(crds[0].File.Data) != string(crd) {
		t.Errorf("the chart's CRDs (%d) are not config/crd/bases' file", len(crds))
	}
}

func TestTemplateOtherValues(t *testing.T) {
	objs, err := render(t, otherValues(), "v1.30.0", vapCapability)
	if err != nil {
		t.Fatal(err)
	}
	d := objs["Deployment/paasdiag-controller-manager"]
	c := container(d)
	equal(t, "args", c["args"], []any{"--leader-elect", "--metrics-bind-address=:8443", "--health-probe-bind-address=:8081", "--metrics-secure=false", "--watch-namespace=blueking"})
	equal(t, "image", c["image"], "ghcr.io/paasdiag/paasdiag:v9.9.9-rc.1")
	equal(t, "imagePullPolicy", c["imagePullPolicy"], "Always")
	equal(t, "replicas", get(d, "spec", "replicas"), float64(2))
	// Helm merges maps with the defaults.
	equal(t, "resources", c["resources"], obj{"limits": obj{"cpu": "500m", "memory": "512Mi"}, "requests": obj{"cpu": "50m", "memory": "64Mi"}})
	equal(t, "nodeSelector", get(d, "spec", "template", "spec", "nodeSelector"), obj{"kubernetes.io/os": "linux"})
	equal(t, "tolerations", get(d, "spec", "template", "spec", "tolerations"), []any{obj{"key": "dedicated", "operator": "Exists"}})
	equal(t, "affinity", get(d, "spec", "template", "spec", "affinity"), obj{"nodeAffinity": obj{}})
	ref := config(t, "manager/manager.yaml")["Deployment/controller-manager"]
	equal(t, "container securityContext", c["securityContext"], container(ref)["securityContext"])
	equal(t, "pod securityContext", get(d, "spec", "template", "spec", "securityContext"), get(ref, "spec", "template", "spec", "securityContext"))

	// With metrics.secure false, the ServiceMonitor scrapes config/'s endpoint over plain
	// HTTP, without Prometheus' token or TLS settings.
	monitor := config(t, "prometheus/servicemonitor.yaml")["ServiceMonitor/paasdiag"]
	plain := obj{}
	for k, v := range get(monitor, "spec", "endpoints").([]any)[0].(obj) {
		switch k {
		case "scheme", "bearerTokenFile", "tlsConfig":
		default:
			plain[k] = v
		}
	}
	plain["scheme"] = "http"
	equal(t, "ServiceMonitor endpoints over HTTP", get(objs["ServiceMonitor/paasdiag"], "spec", "endpoints"), []any{plain})
	equal(t, "ServiceMonitor selector over HTTP", get(objs["ServiceMonitor/paasdiag"], "spec", "selector"), get(monitor, "spec", "selector"))
	// The metrics reader ClusterRole, bound to the subjects given.
	binding := objs["ClusterRoleBinding/paasdiag-metrics-reader"]
	equal(t, "metrics reader binding roleRef", binding["roleRef"],
		obj{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "paasdiag-metrics-reader"})
	equal(t, "metrics reader binding subjects", binding["subjects"],
		[]any{obj{"kind": "ServiceAccount", "name": "prometheus-k8s", "namespace": "monitoring"}})
	if labels, _ := get(binding, "metadata", "labels").(obj); labels["app.kubernetes.io/managed-by"] != "Helm" {
		t.Errorf("the metrics reader binding's labels %v lack Helm's", labels)
	}

	// config/prometheus and config/admission, as they are there (the alert rules'
	// {{ $labels }} included) but in the release namespace.
	for _, c := range []struct{ file, key string }{
		{"prometheus/service.yaml", "Service/paasdiag-controller-manager-metrics"},
		{"prometheus/prometheusrule.yaml", "PrometheusRule/paasdiag"},
		{"admission/validatingadmissionpolicy.yaml", "ValidatingAdmissionPolicy/paasdiag-author-may-read"},
		{"admission/validatingadmissionpolicybinding.yaml", "ValidatingAdmissionPolicyBinding/paasdiag-author-may-read"},
	} {
		got, ok := objs[c.key]
		if !ok {
			t.Errorf("%s not rendered (from config/%s)", c.key, c.file)
			continue
		}
		equal(t, c.key+" spec", got["spec"], config(t, c.file)[c.key]["spec"])
		if strings.HasPrefix(c.key, "Validating") {
			continue
		}
		if ns := get(got, "metadata", "namespace"); ns != "monitoring-ns" {
			t.Errorf("%s in namespace %v", c.key, ns)
		}
	}

	vals := otherValues()
	vals["leaderElection"] = false
	vals["watchNamespace"] = ""
	vals["metrics"] = map[string]any{"secure": true}
	objs, err = render(t, vals, "v1.37.2", vapCapability)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "args without leader election", container(objs["Deployment/paasdiag-controller-manager"])["args"],
		[]any{"--metrics-bind-address=:8443", "--health-probe-bind-address=:8081"})
	// Over HTTPS (the default), the ServiceMonitor is config/'s.
	equal(t, "ServiceMonitor spec over HTTPS", objs["ServiceMonitor/paasdiag"]["spec"], monitor["spec"])
	if _, ok := objs["ClusterRoleBinding/paasdiag-metrics-reader"]; ok {
		t.Error("the metrics reader is bound without readerSubjects")
	}
}

// clusterScopedResources are the resources config/rbac/role.yaml names that a Role
// cannot grant, by API group.
var clusterScopedResources = map[string]bool{
	"admissionregistration.k8s.io/validatingadmissionpolicies":       true,
	"admissionregistration.k8s.io/validatingadmissionpolicybindings": true,
	"apiextensions.k8s.io/customresourcedefinitions":                 true,
	"authentication.k8s.io/tokenreviews":                             true,
	"authorization.k8s.io/subjectaccessreviews":                      true,
}

// grants lists what rules grant, one "verb group/resource[/name]" per line; for
// resources scoped is true if the resource is namespaced, false if cluster-scoped.
// Non-resource URLs ("verb /url") count as cluster-scoped.
func grants(t *testing.T, rules any, scoped func(namespaced bool) bool) []string {
	t.Helper()
	var out []string
	for _, r := range rules.([]any) {
		if urls, ok := get(r, "nonResourceURLs").([]any); ok && scoped(false) {
			for _, v := range get(r, "verbs").([]any) {
				for _, u := range urls {
					out = append(out, fmt.Sprintf("%s %s", v, u))
				}
			}
		}
		if _, ok := get(r, "resources").([]any); !ok {
			continue
		}
		names := []any{""}
		if rn, ok := get(r, "resourceNames").([]any); ok {
			names = rn
		}
		for _, g := range get(r, "apiGroups").([]any) {
			for _, res := range get(r, "resources").([]any) {
				gr := fmt.Sprintf("%s/%s", g, res)
				if !scoped(!clusterScopedResources[gr]) {
					continue
				}
				for _, v := range get(r, "verbs").([]any) {
					for _, n := range names {
						out = append(out, fmt.Sprintf("%s %s/%s", v, gr, n))
					}
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// With watchNamespace, what the manager may do to namespaced resources is granted by a
// Role in that namespace, not by a ClusterRole: the ClusterRole keeps what a Role cannot
// grant. Together they grant what config/'s ClusterRole does.
func TestTemplateWatchNamespace(t *testing.T) {
	objs, err := render(t, map[string]any{"watchNamespace": "blueking"}, "v1.37.2", vapCapability)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"ClusterRole/paasdiag-editor", "ClusterRole/paasdiag-manager-role", "ClusterRole/paasdiag-metrics-reader", "ClusterRole/paasdiag-viewer",
		"ClusterRoleBinding/paasdiag-manager-rolebinding", "Deployment/paasdiag-controller-manager",
		"Role/paasdiag-manager-role", "Role/paasdiag-manager-role-namespaced",
		"RoleBinding/paasdiag-leader-election-rolebinding", "RoleBinding/paasdiag-manager-rolebinding-namespaced",
		"ServiceAccount/paasdiag-controller-manager",
		"ValidatingAdmissionPolicy/paasdiag-author-may-read", "ValidatingAdmissionPolicyBinding/paasdiag-author-may-read",
	}
	if got := keys(objs); !reflect.DeepEqual(got, want) {
		t.Fatalf("rendered %v, want %v", got, want)
	}
	manager := config(t, "rbac/role.yaml")["ClusterRole/manager-role"]["rules"]
	all := func(bool) bool { return true }
	namespaced := func(n bool) bool { return n }
	clusterScoped := func(n bool) bool { return !n }

	role := objs["Role/paasdiag-manager-role-namespaced"]
	if ns := get(role, "metadata", "namespace"); ns != "blueking" {
		t.Errorf("the manager's Role in namespace %v, want blueking", ns)
	}
	equal(t, "the Role's grants", grants(t, role["rules"], all), grants(t, manager, namespaced))
	clusterRole := objs["ClusterRole/paasdiag-manager-role"]
	equal(t, "the ClusterRole's grants", grants(t, clusterRole["rules"], all), grants(t, manager, clusterScoped))
	if len(grants(t, role["rules"], all)) == 0 || len(grants(t, clusterRole["rules"], all)) == 0 {
		t.Error("the Role or the ClusterRole grants nothing")
	}
	for key, o := range objs {
		if !strings.HasPrefix(key, "ClusterRole/") {
			continue
		}
		for _, g := range grants(t, o["rules"], all) {
			for _, res := range []string{" /secrets/", " /pods/", " /pods/log/", " batch/jobs/"} {
				if strings.Contains(g, res) {
					t.Errorf("%s grants %s with watchNamespace", key, g)
				}
			}
		}
	}

	binding := objs["RoleBinding/paasdiag-manager-rolebinding-namespaced"]
	if ns := get(binding, "metadata", "namespace"); ns != "blueking" {
		t.Errorf("the manager's RoleBinding in namespace %v, want blueking", ns)
	}
	equal(t, "the RoleBinding's roleRef", binding["roleRef"],
		obj{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "paasdiag-manager-role-namespaced"})
	equal(t, "the RoleBinding's subjects", binding["subjects"],
		[]any{obj{"kind": "ServiceAccount", "name": "paasdiag-controller-manager", "namespace": "monitoring-ns"}})
	// The leader election Role stays in the release namespace, as config/ has it.
	if ns := get(objs["Role/paasdiag-manager-role"], "metadata", "namespace"); ns != "monitoring-ns" {
		t.Errorf("the leader election Role in namespace %v", ns)
	}
	equal(t, "leader election Role rules", objs["Role/paasdiag-manager-role"]["rules"], config(t, "rbac/role.yaml")["Role/manager-role"]["rules"])

	// The watched namespace may be the release's: the names differ.
	objs, err = render(t, map[string]any{"watchNamespace": "monitoring-ns"}, "v1.37.2")
	if err != nil {
		t.Fatal(err)
	}
	if ns := get(objs["Role/paasdiag-manager-role-namespaced"], "metadata", "namespace"); ns != "monitoring-ns" {
		t.Errorf("with the release's namespace watched, the manager's Role is in %v", ns)
	}
}

func TestTemplateAdmissionPolicyCapability(t *testing.T) {
	vap := "ValidatingAdmissionPolicy/paasdiag-author-may-read"
	binding := "ValidatingAdmissionPolicyBinding/paasdiag-author-may-read"
	for _, c := range []struct {
		name        string
		kubeVersion string
		apiVersions []string
		enabled     bool
		want        bool
	}{
		{"1.20", "v1.20.15", nil, true, false},
		{"1.29 with v1beta1 only", "v1.29.0", []string{"admissionregistration.k8s.io/v1beta1/ValidatingAdmissionPolicy"}, true, false},
		{"1.30", "v1.30.0", []string{vapCapability}, true, true},
		{"1.37", "v1.37.2", []string{vapCapability}, true, true},
		{"1.37 disabled", "v1.37.2", []string{vapCapability}, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			objs, err := render(t, map[string]any{"admissionPolicy": map[string]any{"enabled": c.enabled}}, c.kubeVersion, c.apiVersions...)
			if err != nil {
				t.Fatal(err)
			}
			_, hasVAP := objs[vap]
			_, hasBinding := objs[binding]
			if hasVAP != c.want || hasBinding != c.want {
				t.Errorf("policy rendered %v, binding %v; want %v", hasVAP, hasBinding, c.want)
			}
		})
	}
}

// The chart's kubeVersion and values schema refuse what would not work.
func TestTemplateRefuses(t *testing.T) {
	if _, err := render(t, nil, "v1.19.16"); err == nil || !strings.Contains(err.Error(), "kubeVersion") {
		t.Errorf("Kubernetes 1.19: %v, want refused by kubeVersion", err)
	}
	for name, vals := range map[string]map[string]any{
		"leaderElection as a string": {"leaderElection": "false"},
		"a misspelt key":             {"watchNamespaces": "blueking"},
		"replicas as a string":       {"replicas": "2"},
		"watchNamespace not a name":  {"watchNamespace": "Blue King"},
		"metrics.secure as a string": {"metrics": map[string]any{"secure": "false"}},
		"a ServiceAccount subject without its namespace": {"metrics": map[string]any{"secure": true,
			"readerSubjects": []any{map[string]any{"kind": "ServiceAccount", "name": "prometheus"}}}},
		"a subject of another kind": {"metrics": map[string]any{"secure": true,
			"readerSubjects": []any{map[string]any{"kind": "Robot", "name": "prometheus"}}}},
	} {
		if _, err := render(t, vals, "v1.37.2"); err == nil {
			t.Errorf("%s: rendered", name)
		}
	}
}

// loadPackaged packages the chart as `helm package` does and loads the archive.
func loadPackaged(t *testing.T) *chart.Chart {
	t.Helper()
	pkg := action.NewPackage()
	pkg.Destination = t.TempDir()
	archive, err := pkg.Run(chartDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := loader.Load(archive)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(archive) != "paasdiag-"+ch.Metadata.Version+".tgz" {
		t.Errorf("packaged as %s", archive)
	}
	return ch
}

// The diagnosis block renders the zero-configuration sample, in its namespace, and
// allows its Deployment as a settings source in the manager, with those the values
// list; off (the default), neither. A diagnosis outside watchNamespace is refused.
func TestTemplateDiagnosis(t *testing.T) {
	sample := config(t, "samples/diagnosis_v1alpha1_paasdiagnosis_settingsfrom.yaml")["PaaSDiagnosis/bkpaas3"]
	if sample == nil {
		t.Fatal("no PaaSDiagnosis bkpaas3 in the sample")
	}
	off, err := render(t, nil, "1.37.2")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := off["PaaSDiagnosis/bkpaas3"]; ok {
		t.Error("the diagnosis is rendered by default")
	}
	for _, a := range container(off["Deployment/paasdiag-controller-manager"])["args"].([]any) {
		if strings.HasPrefix(fmt.Sprint(a), "--settings-from-allowed") {
			t.Errorf("arg %v by default", a)
		}
	}

	on, err := render(t, map[string]any{"diagnosis": map[string]any{"enabled": true}, "settingsFromAllowed": []any{"other/*"}}, "1.37.2")
	if err != nil {
		t.Fatal(err)
	}
	d := on["PaaSDiagnosis/bkpaas3"]
	if d == nil {
		t.Fatalf("no diagnosis rendered: %v", keys(on))
	}
	equal(t, "namespace", get(d, "metadata", "namespace"), "blueking")
	equal(t, "spec", d["spec"], sample["spec"])
	args := container(on["Deployment/paasdiag-controller-manager"])["args"].([]any)
	equal(t, "last arg", args[len(args)-1], "--settings-from-allowed=other/*,blueking/bkpaas3-apiserver-web")

	// A part of the spec overridden, the rest kept.
	custom, err := render(t, map[string]any{"diagnosis": map[string]any{"enabled": true, "namespace": "bk",
		"spec": map[string]any{"settingsFrom": map[string]any{"deployment": "web"}, "workerLogs": nil}}}, "1.37.2")
	if err != nil {
		t.Fatal(err)
	}
	d = custom["PaaSDiagnosis/bkpaas3"]
	equal(t, "settingsFrom", get(d, "spec", "settingsFrom"), map[string]any{"deployment": "web"})
	equal(t, "workerLogs", get(d, "spec", "workerLogs"), nil)
	equal(t, "instancePools", get(d, "spec", "instancePools"), get(sample, "spec", "instancePools"))
	args = container(custom["Deployment/paasdiag-controller-manager"])["args"].([]any)
	equal(t, "last arg", args[len(args)-1], "--settings-from-allowed=bk/web")

	_, err = render(t, map[string]any{"diagnosis": map[string]any{"enabled": true}, "watchNamespace": "elsewhere"}, "1.37.2")
	if err == nil || !strings.Contains(err.Error(), "diagnosis.namespace blueking is not watchNamespace elsewhere") {
		t.Errorf("a diagnosis outside watchNamespace: %v", err)
	}
	_, err = render(t, map[string]any{"settingsFromAllowed": []any{"not a deployment"}}, "1.37.2")
	if err == nil {
		t.Error("settingsFromAllowed accepted an entry that names no namespace/Deployment")
	}
}

// probeCA mounts a ConfigMap's CAs and passes them as --probe-ca-file; by default
// nothing is mounted.
func TestTemplateProbeCA(t *testing.T) {
	off, err := render(t, nil, "1.37.2")
	if err != nil {
		t.Fatal(err)
	}
	deploy := off["Deployment/paasdiag-controller-manager"]
	if c := container(deploy); c["volumeMounts"] != nil || get(deploy, "spec", "template", "spec", "volumes") != nil {
		t.Errorf("volumes by default: %v", c["volumeMounts"])
	}
	on, err := render(t, map[string]any{"probeCA": map[string]any{"configMap": "bkrepo-ca", "key": "ca.pem"}}, "1.37.2")
	if err != nil {
		t.Fatal(err)
	}
	deploy = on["Deployment/paasdiag-controller-manager"]
	c := container(deploy)
	args := c["args"].([]any)
	equal(t, "last arg", args[len(args)-1], "--probe-ca-file=/etc/paasdiag/probe-ca/ca.pem")
	equal(t, "mounts", c["volumeMounts"], []any{map[string]any{"name": "probe-ca", "mountPath": "/etc/paasdiag/probe-ca", "readOnly": true}})
	equal(t, "volumes", get(deploy, "spec", "template", "spec", "volumes"), []any{map[string]any{"name": "probe-ca", "configMap": map[string]any{"name": "bkrepo-ca"}}})
	if _, err := render(t, map[string]any{"probeCA": map[string]any{"configMap": "Not A Name", "key": "ca.crt"}}, "1.37.2"); err == nil {
		t.Error("an invalid ConfigMap name is accepted")
	}
}
