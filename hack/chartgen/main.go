// Command chartgen writes the Helm chart charts/paasdiag from config/, so that the chart
// installs what `kubectl apply -k` does and cannot drift from it (test/manifests checks
// that the chart is what this writes; test/helm installs both and compares).
//
//	go run ./hack/chartgen [-config config] [-out charts/paasdiag]
//
// It follows the kustomizations: config/default (its namePrefix, and its resources
// ../crd, ../rbac and ../manager), config/prometheus and config/admission. Each object
// becomes a template of the same path under templates/, with kustomize's renames
// (namePrefix on the names and on roleRef, subjects and serviceAccountName) and the
// release namespace in place of kustomize's namespace, Helm's labels added to its own:
//
//   - the CRD is copied byte for byte to crds/ (Helm installs it before the templates
//     and never upgrades or deletes it);
//   - the Namespace is left out: Helm installs into the release namespace;
//   - the Deployment keeps its pod and container securityContext, probes, ports and
//     args, with replicas, image, resources, --leader-elect, --watch-namespace,
//     --metrics-secure (metrics.secure) and scheduling taken from values.yaml, whose
//     defaults are config/manager's;
//   - config/prometheus is rendered only with serviceMonitor.enabled (the Service and
//     the ServiceMonitor) and prometheusRule.enabled, config/admission only with
//     admissionPolicy.enabled where the API server serves ValidatingAdmissionPolicy v1.
//     The ServiceMonitor's endpoints scrape as config/ says (HTTPS with Prometheus'
//     token) with metrics.secure, over plain HTTP without;
//   - the metrics reader ClusterRole (config/rbac/metrics/role.yaml) is bound, by a
//     ClusterRoleBinding of the chart's own, to the subjects metrics.readerSubjects
//     lists, if any: config/ binds it to no one, as it cannot know who scrapes.
//   - with watchNamespace, the manager's ClusterRole (config/rbac/role.yaml, from the
//     RBAC markers) keeps only its rules on cluster-scoped resources; those on
//     namespaced resources go to a Role and RoleBinding in the watched namespace, so
//     that paasdiag reads nothing outside it. Every resource role.yaml names must be in
//     namespacedResources or clusterResources: a new marker forces the decision.
//
// Chart.yaml's appVersion and version are the manager image's tag without its v.
// Everything under -out that it did not write is removed: the chart is all generated.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// kubeVersion is the oldest Kubernetes paasdiag supports (docs/compatibility.md; a test
// checks that it is the minor make test-compat runs).
const kubeVersion = ">= 1.20.0-0"

// vapCapability gates config/admission: ValidatingAdmissionPolicy is GA (v1) from 1.30.
const vapCapability = "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy"

// helmLabels are the labels the chart adds to every object's own (paasdiag.labels).
var helmLabels = []string{"helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/instance", "app.kubernetes.io/version"}

// conditions say which kinds are optional, and on what.
var conditions = map[string]string{
	"Service":                          ".Values.serviceMonitor.enabled",
	"ServiceMonitor":                   ".Values.serviceMonitor.enabled",
	"PrometheusRule":                   ".Values.prometheusRule.enabled",
	"ValidatingAdmissionPolicy":        `and .Values.admissionPolicy.enabled (.Capabilities.APIVersions.Has "` + vapCapability + `")`,
	"ValidatingAdmissionPolicyBinding": `and .Values.admissionPolicy.enabled (.Capabilities.APIVersions.Has "` + vapCapability + `")`,
}

// metricsReaderRoles is where the ClusterRole a metrics scraper needs is
// (controller-gen's output from config/rbac/metrics/_markers).
const metricsReaderRoles = "config/rbac/metrics/role.yaml"

// secure is the condition of the manager serving its metrics over HTTPS.
const secure = ".Values.metrics.secure"

// clusterScoped kinds get no namespace.
var clusterScoped = map[string]bool{
	"ClusterRole": true, "ClusterRoleBinding": true, "CustomResourceDefinition": true, "Namespace": true,
	"ValidatingAdmissionPolicy": true, "ValidatingAdmissionPolicyBinding": true,
}

// diagnosisSample is the zero-configuration diagnosis the chart's diagnosis block
// creates: its spec is the default of diagnosis.spec, its namespace of
// diagnosis.namespace.
const diagnosisSample = "config/samples/diagnosis_v1alpha1_paasdiagnosis_settingsfrom.yaml"

// managerRoles is where the manager's ClusterRole is (controller-gen's output): the one
// watchNamespace narrows. The leader election Role there stays as it is.
const managerRoles = "config/rbac/role.yaml"

// namespacedSuffix names the Role and RoleBinding in the watched namespace after the
// ClusterRole and ClusterRoleBinding they narrow (not their names: the leader election
// Role already has the ClusterRole's, and the watched namespace may be the release's).
const namespacedSuffix = "-namespaced"

// namespacedResources and clusterResources are the resources the manager's ClusterRole
// may name, by API group: with watchNamespace, rules on the first go to a Role in the
// watched namespace; rules on the second stay in the ClusterRole, as a Role cannot grant
// them. Generation fails on a resource in neither.
var namespacedResources = map[string][]string{
	"":                      {"configmaps", "pods", "pods/log", "secrets"},
	"apps":                  {"deployments"},
	"batch":                 {"jobs"},
	"diagnosis.paasdiag.io": {"paasdiagnoses", "paasdiagnoses/status"},
	"events.k8s.io":         {"events"},
}

var clusterResources = map[string][]string{
	"":                             {"namespaces", "nodes"},
	"admissionregistration.k8s.io": {"validatingadmissionpolicies", "validatingadmissionpolicybindings"},
	"apiextensions.k8s.io":         {"customresourcedefinitions"},
	"authentication.k8s.io":        {"tokenreviews"},
	"authorization.k8s.io":         {"subjectaccessreviews"},
}

func main() {
	config := flag.String("config", "config", "the kustomize directory to read")
	out := flag.String("out", filepath.Join("charts", "paasdiag"), "the chart directory to write")
	flag.Parse()
	files, err := Generate(*config)
	if err == nil {
		err = write(*out, files)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chartgen:", err)
		os.Exit(1)
	}
}

// object is one document of a config/ file, with where it came from.
type object struct {
	source string // config/rbac/role.yaml
	prefix string // kustomize's namePrefix
	// namespace is the template of its namespace if namespaced: the release's if empty.
	namespace string
	raw       []byte // the file, for the CRD's copy
	doc       map[string]any
}

func (o object) kind() string { return str(o.doc["kind"]) }

func (o object) name() string { return str(mapOf(o.doc["metadata"])["name"]) }

// Generate returns the chart's files (slash paths relative to the chart) from the
// kustomize directory config.
func Generate(config string) (map[string][]byte, error) {
	var objects []object
	for _, dir := range []string{"default", "prometheus", "admission"} {
		objs, err := load(config, dir, "")
		if err != nil {
			return nil, err
		}
		objects = append(objects, objs...)
	}
	narrowed, err := narrow(objects)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	templates := map[string][]string{} // template path: its documents
	var order []string
	var manager map[string]any
	for _, o := range objects {
		rel := strings.TrimPrefix(o.source, "config/")
		switch o.kind() {
		case "CustomResourceDefinition":
			if bytes.Count(o.raw, []byte("\nkind: ")) != 1 {
				return nil, fmt.Errorf("%s: the CRD must be alone in its file, to be copied to crds/", o.source)
			}
			files["crds/"+path.Base(rel)] = o.raw
			continue
		case "Namespace":
			continue // the release namespace
		case "Deployment":
			if manager != nil {
				return nil, fmt.Errorf("%s: a second Deployment", o.source)
			}
			manager = o.doc
		}
		text, err := render(o, objects)
		if err == nil {
			if n, ok := narrowed[o.kind()+"/"+o.name()]; ok {
				text, err = n(text, objects)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s %s: %w", o.source, o.kind(), o.name(), err)
		}
		dest := "templates/" + rel
		if _, ok := templates[dest]; !ok {
			order = append(order, dest)
		}
		templates[dest] = append(templates[dest], text)
	}
	if manager == nil {
		return nil, fmt.Errorf("no Deployment in %s/default", config)
	}
	binding, err := readerBinding(objects)
	if err != nil {
		return nil, err
	}
	files["templates/rbac/metrics/role_binding.yaml"] = []byte(binding)
	for _, dest := range order {
		src := "config/" + strings.TrimPrefix(dest, "templates/")
		files[dest] = []byte(header(src) + strings.Join(templates[dest], "---\n"))
	}
	sample, err := loadDiagnosis(config)
	if err != nil {
		return nil, err
	}
	files["templates/diagnosis.yaml"] = []byte(header(diagnosisSample) + diagnosisTemplate)
	chart, values, schema, err := chartFiles(manager, sample)
	if err != nil {
		return nil, err
	}
	files["Chart.yaml"] = chart
	files["values.yaml"] = values
	files["values.schema.json"] = schema
	files["templates/_helpers.tpl"] = []byte(helpers)
	files["templates/NOTES.txt"] = []byte(notes)
	return files, nil
}

func header(src string) string {
	return "# Generated by hack/chartgen from " + src + "; do not edit.\n"
}

// kustomization is the part of kustomization.yaml chartgen knows; any other field is
// refused, so that the chart cannot silently differ from what kustomize builds.
type kustomization struct {
	Namespace  string   `json:"namespace"`
	NamePrefix string   `json:"namePrefix"`
	Resources  []string `json:"resources"`
}

// load reads the objects of the kustomization in config/dir, recursively.
func load(config, dir, prefix string) ([]object, error) {
	file := filepath.Join(config, filepath.FromSlash(dir), "kustomization.yaml")
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var k kustomization
	if err := yaml.UnmarshalStrict(raw, &k); err != nil {
		return nil, fmt.Errorf("%s: %w (chartgen knows namespace, namePrefix and resources)", file, err)
	}
	prefix = k.NamePrefix + prefix // an outer prefix goes in front
	var objects []object
	for _, res := range k.Resources {
		rel := path.Clean(path.Join(dir, res))
		if strings.HasPrefix(rel, "../") {
			return nil, fmt.Errorf("%s: %s is outside %s", file, res, config)
		}
		full := filepath.Join(config, filepath.FromSlash(rel))
		info, err := os.Stat(full)
		if err != nil {
			return nil, err
		}
		if info.IsDir() {
			objs, err := load(config, rel, prefix)
			if err != nil {
				return nil, err
			}
			objects = append(objects, objs...)
			continue
		}
		raw, err := os.ReadFile(full)
		if err != nil {
			return nil, err
		}
		for _, part := range regexp.MustCompile(`(?m)^---[ \t]*$`).Split(string(raw), -1) {
			var doc map[string]any
			if err := yaml.Unmarshal([]byte(part), &doc); err != nil {
				return nil, fmt.Errorf("%s: %w", full, err)
			}
			if doc == nil {
				continue // comments only
			}
			if strings.Contains(part, "CHARTGEN_") {
				return nil, fmt.Errorf("%s contains CHARTGEN_, chartgen's placeholder", full)
			}
			objects = append(objects, object{source: "config/" + rel, prefix: prefix, raw: raw, doc: doc})
		}
	}
	return objects, nil
}

// render writes one object as a template.
func render(o object, all []object) (string, error) {
	kind := o.kind()
	meta := mapOf(o.doc["metadata"])
	for key := range meta {
		if key != "name" && key != "namespace" && key != "labels" && key != "annotations" {
			return "", fmt.Errorf("metadata.%s is not carried over", key)
		}
	}
	// The references kustomize renames along with the names (its nameReference).
	ref := func(kind, name string) (string, error) {
		for _, other := range all {
			if other.kind() == kind && other.name() == name {
				return other.prefix + name, nil
			}
		}
		return "", fmt.Errorf("refers to %s %s, which config/ does not have", kind, name)
	}
	body := map[string]any{}
	for key, value := range deepCopy(o.doc) {
		if key != "apiVersion" && key != "kind" && key != "metadata" {
			body[key] = value
		}
	}
	if roleRef := mapOf(body["roleRef"]); roleRef != nil {
		name, err := ref(str(roleRef["kind"]), str(roleRef["name"]))
		if err != nil {
			return "", err
		}
		roleRef["name"] = name
	}
	if subjects, ok := body["subjects"].([]any); ok {
		for _, s := range subjects {
			subject := mapOf(s)
			if str(subject["kind"]) != "ServiceAccount" {
				continue
			}
			name, err := ref("ServiceAccount", str(subject["name"]))
			if err != nil {
				return "", err
			}
			subject["name"] = name
			subject["namespace"] = "CHARTGEN_NAMESPACE"
		}
	}
	var blocks map[string]block
	switch kind {
	case "Deployment":
		var err error
		if blocks, err = parameterise(body, ref); err != nil {
			return "", err
		}
	case "ServiceMonitor":
		var err error
		if blocks, err = parameteriseEndpoints(body); err != nil {
			return "", err
		}
	}

	var b strings.Builder
	cond, optional := conditions[kind]
	if optional {
		fmt.Fprintf(&b, "{{- if %s }}\n", cond)
	}
	fmt.Fprintf(&b, "apiVersion: %s\nkind: %s\nmetadata:\n  name: %s\n", str(o.doc["apiVersion"]), kind, o.prefix+o.name())
	if !clusterScoped[kind] {
		namespace := o.namespace
		if namespace == "" {
			namespace = "{{ .Release.Namespace }}"
		}
		fmt.Fprintf(&b, "  namespace: %s\n", namespace)
	}
	b.WriteString("  labels:\n    {{- include \"paasdiag.labels\" . | nindent 4 }}\n")
	if labels := mapOf(meta["labels"]); len(labels) > 0 {
		for _, l := range helmLabels {
			if _, ok := labels[l]; ok {
				return "", fmt.Errorf("label %s is the chart's", l)
			}
		}
		text, err := marshal(labels, "    ")
		if err != nil {
			return "", err
		}
		b.WriteString(text)
	}
	if annotations := mapOf(meta["annotations"]); len(annotations) > 0 {
		text, err := marshal(map[string]any{"annotations": annotations}, "  ")
		if err != nil {
			return "", err
		}
		b.WriteString(text)
	}
	if len(body) > 0 {
		text, err := marshal(body, "")
		if err != nil {
			return "", err
		}
		b.WriteString(text)
	}
	if optional {
		b.WriteString("{{- end }}\n")
	}
	text := b.String()
	text = strings.ReplaceAll(text, "CHARTGEN_NAMESPACE", "{{ .Release.Namespace }}")
	// Placeholders that stand for whole lines.
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		trimmed := strings.TrimLeft(line, " ")
		indent := line[:len(line)-len(trimmed)]
		for token, block := range blocks {
			if strings.HasSuffix(trimmed, token) {
				key := strings.TrimSuffix(strings.TrimSuffix(trimmed, token), " ")
				lines[i] = indentLines(block(key, len(indent)+2), indent)
			}
		}
	}
	text = strings.Join(lines, "\n")
	if strings.Contains(text, "CHARTGEN_") {
		return "", fmt.Errorf("a placeholder is left in\n%s", text)
	}
	return text, nil
}

// watched is the condition and the namespace of the objects that watchNamespace adds.
const (
	watched          = ".Values.watchNamespace"
	watchedNamespace = "{{ .Values.watchNamespace }}"
)

// narrowing turns the template of an object (its text, as render wrote it) into the
// template with watchNamespace's alternative; all is for render.
type narrowing func(text string, all []object) (string, error)

// narrow finds the manager's ClusterRole and the ClusterRoleBindings to it, and returns,
// by kind/name, how to narrow each to the watched namespace:
//
//   - the ClusterRole becomes, with watchNamespace, the same ClusterRole with its rules
//     on cluster-scoped resources only, and a Role in the watched namespace with those on
//     namespaced resources; without, it stays as config/ has it;
//   - a ClusterRoleBinding to it is followed, with watchNamespace, by a RoleBinding in
//     the watched namespace of the same subjects to that Role.
//
// No other ClusterRole may be bound to a ServiceAccount: it would grant cluster-wide
// what watchNamespace is meant to confine.
func narrow(objects []object) (map[string]narrowing, error) {
	var role *object
	for i, o := range objects {
		if o.source == managerRoles && o.kind() == "ClusterRole" {
			if role != nil {
				return nil, fmt.Errorf("%s: a second ClusterRole, %s", o.source, o.name())
			}
			role = &objects[i]
		}
	}
	if role == nil {
		return nil, fmt.Errorf("%s has no ClusterRole: the manager's permissions are not where chartgen looks", managerRoles)
	}
	namespaced, cluster, err := splitRules(role.doc["rules"])
	if err != nil {
		return nil, fmt.Errorf("%s: ClusterRole %s: %w", role.source, role.name(), err)
	}
	clusterOnly := *role
	clusterOnly.doc = deepCopy(role.doc)
	clusterOnly.doc["rules"] = cluster
	local := *role
	local.doc = deepCopy(role.doc)
	local.doc["kind"] = "Role"
	mapOf(local.doc["metadata"])["name"] = role.name() + namespacedSuffix
	local.doc["rules"] = namespaced
	local.namespace = watchedNamespace
	out := map[string]narrowing{
		"ClusterRole/" + role.name(): func(text string, all []object) (string, error) {
			cr, err := render(clusterOnly, all)
			if err != nil {
				return "", err
			}
			r, err := render(local, all)
			if err != nil {
				return "", err
			}
			return "{{- if " + watched + " }}\n" + cr + "---\n" + r + "{{- else }}\n" + text + "{{- end }}\n", nil
		},
	}
	bound := false
	for _, o := range objects {
		if o.kind() != "ClusterRoleBinding" {
			continue
		}
		roleRef := mapOf(o.doc["roleRef"])
		if str(roleRef["kind"]) != "ClusterRole" || str(roleRef["name"]) != role.name() {
			for _, s := range asList(o.doc["subjects"]) {
				if str(mapOf(s)["kind"]) == "ServiceAccount" {
					return nil, fmt.Errorf("%s: ClusterRoleBinding %s binds ClusterRole %s to a ServiceAccount: chartgen narrows only %s's to watchNamespace",
						o.source, o.name(), str(roleRef["name"]), managerRoles)
				}
			}
			continue
		}
		bound = true
		binding := o
		binding.doc = deepCopy(o.doc)
		binding.doc["kind"] = "RoleBinding"
		mapOf(binding.doc["metadata"])["name"] = o.name() + namespacedSuffix
		mapOf(binding.doc["roleRef"])["kind"] = "Role"
		mapOf(binding.doc["roleRef"])["name"] = local.name()
		binding.namespace = watchedNamespace
		out["ClusterRoleBinding/"+o.name()] = func(text string, all []object) (string, error) {
			rb, err := render(binding, append(all[:len(all):len(all)], local))
			if err != nil {
				return "", err
			}
			return text + "{{- if " + watched + " }}\n---\n" + rb + "{{- end }}\n", nil
		}
	}
	if !bound {
		return nil, fmt.Errorf("%s: no ClusterRoleBinding binds ClusterRole %s", managerRoles, role.name())
	}
	return out, nil
}

// splitRules divides a ClusterRole's rules between those on namespaced resources and
// those on cluster-scoped ones (and non-resource URLs), in their order; a rule on both
// becomes two.
func splitRules(rules any) (namespaced, cluster []any, err error) {
	scope := func(group, resource string) (bool, error) {
		in := func(list map[string][]string) bool {
			for _, r := range list[group] {
				if r == resource {
					return true
				}
			}
			return false
		}
		switch {
		case in(namespacedResources):
			return true, nil
		case in(clusterResources):
			return false, nil
		}
		return false, fmt.Errorf("resource %q of API group %q is in neither namespacedResources nor clusterResources (hack/chartgen): say which, so that watchNamespace confines it or not", resource, group)
	}
	for i, r := range asList(rules) {
		rule := mapOf(r)
		for key := range rule {
			switch key {
			case "apiGroups", "resources", "resourceNames", "verbs", "nonResourceURLs":
			default:
				return nil, nil, fmt.Errorf("rule %d: %s is not carried over", i, key)
			}
		}
		resources := asList(rule["resources"])
		if len(resources) == 0 {
			cluster = append(cluster, rule) // nonResourceURLs
			continue
		}
		groups := asList(rule["apiGroups"])
		if len(groups) == 0 {
			return nil, nil, fmt.Errorf("rule %d has resources and no apiGroups", i)
		}
		var ns, cl []any
		for _, res := range resources {
			var first bool
			for j, g := range groups {
				isNamespaced, err := scope(str(g), str(res))
				if err != nil {
					return nil, nil, fmt.Errorf("rule %d: %w", i, err)
				}
				if j > 0 && isNamespaced != first {
					return nil, nil, fmt.Errorf("rule %d: resource %q is namespaced in one of its API groups and not in another", i, str(res))
				}
				first = isNamespaced
			}
			if first {
				ns = append(ns, res)
			} else {
				cl = append(cl, res)
			}
		}
		for _, part := range []struct {
			resources []any
			to        *[]any
		}{{ns, &namespaced}, {cl, &cluster}} {
			if len(part.resources) == 0 {
				continue
			}
			copied := map[string]any{}
			for k, v := range rule {
				copied[k] = v
			}
			copied["resources"] = part.resources
			*part.to = append(*part.to, copied)
		}
	}
	if len(namespaced) == 0 {
		return nil, nil, fmt.Errorf("no rule on a namespaced resource: nothing for watchNamespace to confine")
	}
	if cluster == nil {
		cluster = []any{}
	}
	return namespaced, cluster, nil
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// parameterise replaces what values.yaml sets in the Deployment's body by placeholders,
// and returns the template text of each.
func parameterise(body map[string]any, ref func(kind, name string) (string, error)) (map[string]block, error) {
	spec := mapOf(body["spec"])
	podSpec := mapOf(mapOf(spec["template"])["spec"])
	containers, _ := podSpec["containers"].([]any)
	if len(containers) != 1 {
		return nil, fmt.Errorf("want one container, have %d", len(containers))
	}
	container := mapOf(containers[0])
	if _, ok := spec["replicas"]; !ok {
		return nil, fmt.Errorf("no spec.replicas")
	}
	spec["replicas"] = "CHARTGEN_REPLICAS"
	if sa := str(podSpec["serviceAccountName"]); sa != "" {
		name, err := ref("ServiceAccount", sa)
		if err != nil {
			return nil, err
		}
		podSpec["serviceAccountName"] = name
	}
	for _, key := range []string{"nodeSelector", "tolerations", "affinity"} {
		if _, ok := podSpec[key]; ok {
			return nil, fmt.Errorf("the pod's %s is a value of the chart, empty by default", key)
		}
		podSpec[key] = "CHARTGEN_" + strings.ToUpper(key)
	}
	if _, ok := container["imagePullPolicy"]; ok {
		return nil, fmt.Errorf("imagePullPolicy is a value of the chart")
	}
	container["image"] = "CHARTGEN_IMAGE"
	container["imagePullPolicy"] = "CHARTGEN_PULLPOLICY"
	container["resources"] = "CHARTGEN_RESOURCES"
	args, _ := container["args"].([]any)
	var lines []string
	for _, a := range args {
		arg := str(a)
		switch {
		case arg == "--leader-elect" || arg == "--leader-elect=true":
			lines = append(lines, "{{- if .Values.leaderElection }}", "- --leader-elect", "{{- end }}")
		case strings.HasPrefix(arg, "--leader-elect") || strings.HasPrefix(arg, "--watch-namespace") || strings.HasPrefix(arg, "--metrics-secure"):
			return nil, fmt.Errorf("arg %s: leaderElection, watchNamespace and metrics.secure are values of the chart", arg)
		case strings.HasPrefix(arg, "--settings-from-allowed"):
			return nil, fmt.Errorf("arg %s: settingsFromAllowed and the diagnosis block are values of the chart", arg)
		default:
			text, err := marshal([]any{arg}, "")
			if err != nil {
				return nil, err
			}
			lines = append(lines, strings.TrimSuffix(text, "\n"))
		}
	}
	lines = append(lines, "{{- if not "+secure+" }}", "- --metrics-secure=false", "{{- end }}")
	lines = append(lines, "{{- with .Values.watchNamespace }}", "- --watch-namespace={{ . }}", "{{- end }}")
	// The diagnosis block's Deployment is allowed as a settings source, with those the
	// user lists: helm install alone gives a verdict, with no label to set.
	lines = append(lines,
		"{{- $allowed := .Values.settingsFromAllowed }}",
		"{{- if and .Values.diagnosis.enabled .Values.diagnosis.spec.settingsFrom }}",
		`{{- $allowed = append $allowed (printf "%s/%s" .Values.diagnosis.namespace .Values.diagnosis.spec.settingsFrom.deployment) }}`,
		"{{- end }}",
		"{{- with $allowed }}",
		`- --settings-from-allowed={{ join "," . }}`,
		"{{- end }}")
	// The CAs the probes of the blob store, registries and remote providers trust
	// beside the system's (--probe-ca-file): a ConfigMap's key, mounted read-only.
	lines = append(lines, "{{- with .Values.probeCA.configMap }}", "- --probe-ca-file=/etc/paasdiag/probe-ca/{{ $.Values.probeCA.key }}", "{{- end }}")
	for key, where := range map[string]map[string]any{"volumes": podSpec, "volumeMounts": container} {
		if _, ok := where[key]; ok {
			return nil, fmt.Errorf("%s: the manager has none in config/; the chart adds probeCA's", key)
		}
	}
	podSpec["volumes"] = "CHARTGEN_VOLUMES"
	container["volumeMounts"] = "CHARTGEN_VOLUMEMOUNTS"
	container["args"] = []any{"CHARTGEN_ARGS"}
	inline := func(value string) block {
		return func(key string, _ int) string { return key + " " + value }
	}
	with := func(value string) block {
		return func(key string, indent int) string {
			return fmt.Sprintf("{{- with .Values.%s }}\n%s\n  {{- toYaml . | nindent %d }}\n{{- end }}", value, key, indent)
		}
	}
	return map[string]block{
		"CHARTGEN_REPLICAS":   inline("{{ .Values.replicas }}"),
		"CHARTGEN_IMAGE":      inline(`"{{ .Values.image.repository }}:{{ .Values.image.tag | default (printf "v%s" .Chart.AppVersion) }}"`),
		"CHARTGEN_PULLPOLICY": inline("{{ .Values.image.pullPolicy }}"),
		"CHARTGEN_RESOURCES": func(key string, indent int) string {
			return fmt.Sprintf("%s\n  {{- toYaml .Values.resources | nindent %d }}", key, indent)
		},
		"CHARTGEN_NODESELECTOR": with("nodeSelector"),
		"CHARTGEN_TOLERATIONS":  with("tolerations"),
		"CHARTGEN_AFFINITY":     with("affinity"),
		"CHARTGEN_ARGS":         func(string, int) string { return strings.Join(lines, "\n") },
		"CHARTGEN_VOLUMES": func(key string, _ int) string {
			return "{{- with .Values.probeCA.configMap }}\n" + key + "\n  - name: probe-ca\n    configMap:\n      name: {{ . }}\n{{- end }}"
		},
		"CHARTGEN_VOLUMEMOUNTS": func(key string, _ int) string {
			return "{{- with .Values.probeCA.configMap }}\n" + key + "\n  - name: probe-ca\n    mountPath: /etc/paasdiag/probe-ca\n    readOnly: true\n{{- end }}"
		},
	}, nil
}

// secureKeys are the fields of a ServiceMonitor endpoint that hold only when the
// manager serves HTTPS: the scheme, Prometheus' credentials and the TLS settings.
var secureKeys = []string{"scheme", "bearerTokenFile", "authorization", "tlsConfig"}

// parameteriseEndpoints replaces a ServiceMonitor's endpoints by a placeholder whose
// template keeps each endpoint as config/ has it (over HTTPS) with metrics.secure, and
// scrapes it over plain HTTP, without credentials, without.
func parameteriseEndpoints(body map[string]any) (map[string]block, error) {
	spec := mapOf(body["spec"])
	endpoints := asList(spec["endpoints"])
	if len(endpoints) == 0 {
		return nil, fmt.Errorf("no spec.endpoints")
	}
	var text []string
	for i, e := range endpoints {
		endpoint := mapOf(e)
		if str(endpoint["scheme"]) != "https" {
			return nil, fmt.Errorf("endpoint %d: scheme %q, want https: the manager serves its metrics over HTTPS by default", i, str(endpoint["scheme"]))
		}
		plain, https := map[string]any{}, map[string]any{}
		for k, v := range endpoint {
			plain[k] = v
		}
		for _, k := range secureKeys {
			if v, ok := plain[k]; ok {
				https[k] = v
				delete(plain, k)
			}
		}
		if len(plain) == 0 {
			return nil, fmt.Errorf("endpoint %d has nothing but its scheme and credentials", i)
		}
		item, err := marshal([]any{plain}, "")
		if err != nil {
			return nil, err
		}
		extra, err := marshal(https, "  ")
		if err != nil {
			return nil, err
		}
		text = append(text, item+"  {{- if "+secure+" }}\n"+extra+"  {{- else }}\n  scheme: http\n  {{- end }}")
	}
	spec["endpoints"] = "CHARTGEN_ENDPOINTS"
	return map[string]block{
		"CHARTGEN_ENDPOINTS": func(key string, _ int) string { return key + "\n" + strings.Join(text, "\n") },
	}, nil
}

// readerBinding returns the template of the ClusterRoleBinding of the metrics reader
// ClusterRole to metrics.readerSubjects, rendered only if there are any.
func readerBinding(objects []object) (string, error) {
	var role *object
	for i, o := range objects {
		if o.source != metricsReaderRoles {
			continue
		}
		if o.kind() != "ClusterRole" || role != nil {
			return "", fmt.Errorf("%s: want one ClusterRole, have also %s %s", o.source, o.kind(), o.name())
		}
		role = &objects[i]
	}
	if role == nil {
		return "", fmt.Errorf("%s is not in config/default: the ClusterRole a metrics scraper needs", metricsReaderRoles)
	}
	name := role.prefix + role.name()
	return header(metricsReaderRoles+" (a binding of the chart's own: config/ binds the role to no one)") +
		`{{- with .Values.metrics.readerSubjects }}
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: ` + name + `
  labels:
    {{- include "paasdiag.labels" $ | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: ` + name + `
subjects:
  {{- toYaml . | nindent 2 }}
{{- end }}
`, nil
}

// block is the template text that replaces a placeholder's line: key is what precedes
// the placeholder on it ("args:", "-"), indent the indentation of a value under it.
type block func(key string, indent int) string

// marshal writes v as YAML, each line indented, with Go template delimiters in it
// escaped so that Helm renders them as they are (the alert rules' {{ $labels.name }}).
func marshal(v any, indent string) (string, error) {
	raw, err := yaml.Marshal(v)
	if err != nil {
		return "", err
	}
	text := strings.NewReplacer("{{", `{{ "{{" }}`, "}}", `{{ "}}" }}`).Replace(string(raw))
	return indentLines(strings.TrimSuffix(text, "\n"), indent) + "\n", nil
}

func indentLines(text, indent string) string {
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		if line != "" {
			lines[i] = indent + line
		}
	}
	return strings.Join(lines, "\n")
}

// chartFiles writes Chart.yaml, values.yaml and its schema from the manager Deployment.
func chartFiles(manager, sample map[string]any) (chart, values, schema []byte, err error) {
	spec := mapOf(manager["spec"])
	container := mapOf(mapOf(mapOf(spec["template"])["spec"])["containers"].([]any)[0])
	image := str(container["image"])
	colon := strings.LastIndex(image, ":")
	if colon < 0 || strings.Contains(image[colon:], "/") || !strings.HasPrefix(image[colon+1:], "v") {
		return nil, nil, nil, fmt.Errorf("the manager image %q has no tag v<version>", image)
	}
	repository, version := image[:colon], strings.TrimPrefix(image[colon+1:], "v")
	if !regexp.MustCompile(`^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`).MatchString(version) {
		return nil, nil, nil, fmt.Errorf("the manager image's tag %q is not v<semver>", image[colon+1:])
	}
	leaderElection := false
	for _, a := range container["args"].([]any) {
		leaderElection = leaderElection || str(a) == "--leader-elect" || str(a) == "--leader-elect=true"
	}
	resources, err := marshal(map[string]any{"resources": container["resources"]}, "")
	if err != nil {
		return nil, nil, nil, err
	}
	replicas, err := json.Marshal(spec["replicas"])
	if err != nil {
		return nil, nil, nil, err
	}
	meta := mapOf(sample["metadata"])
	diagName, diagNamespace := str(meta["name"]), str(meta["namespace"])
	diagSpec, err := marshal(map[string]any{"spec": sample["spec"]}, "  ")
	if err != nil {
		return nil, nil, nil, err
	}
	src := "config/manager/manager.yaml"
	chart = []byte(header(src+" (the version is the image's tag)") + `apiVersion: v2
name: paasdiag
description: Predicts bkpaas3 deploy failures (4313021, 4313022) from PaaSDiagnosis objects.
type: application
version: ` + version + `
appVersion: "` + version + `"
kubeVersion: "` + kubeVersion + `"
home: https://github.com/paasdiag/paasdiag
sources:
  - https://github.com/paasdiag/paasdiag
`)
	values = []byte(header(src) + `# The defaults are what ` + "`kubectl apply -k config/default`" + ` installs.

image:
  repository: ` + repository + `
  # Empty: v<appVersion>, the image config/manager names.
  tag: ""
  pullPolicy: IfNotPresent

replicas: ` + string(replicas) + `

# --leader-elect: of several replicas only one evaluates.
leaderElection: ` + fmt.Sprint(leaderElection) + `

# --watch-namespace: only watch PaaSDiagnosis objects in this namespace; empty watches
# all. Set, the manager's permissions on namespaced resources (Secrets, Pods and their
# logs, Jobs, Deployments, events, PaaSDiagnoses) are a Role and RoleBinding in this namespace, not
# a ClusterRole: paasdiag can read nothing outside it. The ClusterRole keeps only what a
# Role cannot grant (paasdiag's CRD, the admission policies, the metrics endpoint's
# TokenReviews and SubjectAccessReviews). The namespace must exist.
watchNamespace: ""

` + resources + `
nodeSelector: {}
tolerations: []
affinity: {}

# The manager's metrics endpoint, :8443/metrics.
metrics:
  # true (--metrics-secure): HTTPS, served only to a client whose bearer token the API
  # server authenticates and authorizes for get on the non-resource URL /metrics, which
  # the ClusterRole paasdiag-metrics-reader grants; others get 401 or 403. The
  # certificate is self-signed, so the ServiceMonitor skips its verification. false:
  # plain HTTP to anyone who reaches the port.
  secure: true
  # Whom to bind paasdiag-metrics-reader to (a ClusterRoleBinding of the same name):
  # the ServiceAccount your Prometheus scrapes as, e.g.
  #   readerSubjects:
  #     - kind: ServiceAccount
  #       name: prometheus-k8s
  #       namespace: monitoring
  # Empty: bind it yourself (kubectl create clusterrolebinding ... --clusterrole
  # paasdiag-metrics-reader --serviceaccount NAMESPACE:NAME). The common Prometheus
  # charts (kube-prometheus-stack, prometheus) already grant their server get on
  # /metrics cluster-wide: nothing to add for them.
  readerSubjects: []

# The metrics Service and a ServiceMonitor (config/prometheus; needs the Prometheus
# Operator's CRDs). Their names are fixed: the PaaSDiagControllerAbsent alert looks for
# the job paasdiag-controller-manager-metrics. Prometheus scrapes with its own
# ServiceAccount's token: that account needs paasdiag-metrics-reader (metrics above).
serviceMonitor:
  enabled: false

# The alert rules (config/prometheus/prometheusrule.yaml).
prometheusRule:
  enabled: false

# --settings-from-allowed: the Deployments (namespace/name, or namespace/* for a whole
# namespace) whose settings diagnoses may read through spec.settingsFrom without the
# Deployment's label diagnosis.paasdiag.io/settings-from=true (docs/settings.md). The
# consent is for the Deployment: every diagnosis in its namespace may use it.
settingsFromAllowed: []

# --probe-ca-file: the CAs, beside the system's, that the checks of the blob store, the
# registries and the remote service providers trust: those the platform's pods trust
# (a private CA of bkrepo or the registry). A ConfigMap in the release's namespace and
# its key holding PEM certificates. Without it, an endpoint signed by another CA is
# Unknown (TLSUnknownAuthority), never a code.
probeCA:
  configMap: ""
  key: ca.crt

# A PaaSDiagnosis for the bkpaas3 release, so that helm install alone gives a verdict:
# its settings come from the platform's apiserver Deployment (spec.settingsFrom), which
# the manager is allowed to read (--settings-from-allowed, for every diagnosis in that
# namespace), so nothing else is needed.
# The spec is that of
# ` + diagnosisSample + `;
# override any part of it. The namespace must exist (bkpaas3's) and, with
# watchNamespace, be the watched one.
diagnosis:
  enabled: false
  name: ` + diagName + `
  namespace: ` + diagNamespace + `
` + diagSpec + `
# The ValidatingAdmissionPolicy that makes a diagnosis's author prove they may read
# what it reads, and its binding (config/admission). Rendered only where the API server
# serves ValidatingAdmissionPolicy v1 (Kubernetes 1.30+); with helm template, pass
# --api-versions ` + vapCapability + `.
admissionPolicy:
  enabled: true
`)
	enabled := map[string]any{"type": "object", "additionalProperties": false, "required": []string{"enabled"},
		"properties": map[string]any{"enabled": map[string]any{"type": "boolean"}}}
	subject := map[string]any{"type": "object", "additionalProperties": false, "required": []string{"kind", "name"},
		"properties": map[string]any{
			"kind":      map[string]any{"enum": []string{"ServiceAccount", "User", "Group"}},
			"name":      map[string]any{"type": "string", "minLength": 1},
			"namespace": map[string]any{"type": "string"},
			"apiGroup":  map[string]any{"type": "string"},
		},
		// A ServiceAccount is named in its namespace.
		"if":   map[string]any{"properties": map[string]any{"kind": map[string]any{"const": "ServiceAccount"}}},
		"then": map[string]any{"required": []string{"namespace"}},
	}
	metrics := map[string]any{"type": "object", "additionalProperties": false, "required": []string{"secure"},
		"properties": map[string]any{
			"secure":         map[string]any{"type": "boolean"},
			"readerSubjects": map[string]any{"type": "array", "items": subject},
		}}
	s := map[string]any{
		"$schema":              "https://json-schema.org/draft-07/schema#",
		"type":                 "object",
		"additionalProperties": false,
		"properties": map[string]any{
			"global": map[string]any{"type": "object"},
			"image": map[string]any{"type": "object", "additionalProperties": false, "required": []string{"repository"},
				"properties": map[string]any{
					"repository": map[string]any{"type": "string", "minLength": 1},
					"tag":        map[string]any{"type": "string"},
					"pullPolicy": map[string]any{"enum": []string{"Always", "IfNotPresent", "Never"}},
				}},
			"replicas":       map[string]any{"type": "integer", "minimum": 0},
			"leaderElection": map[string]any{"type": "boolean"},
			// A namespace's name (a DNS label) or empty: it is written unquoted as the
			// namespace of the Role and RoleBinding.
			"watchNamespace":  map[string]any{"type": "string", "pattern": "^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)?$"},
			"resources":       map[string]any{"type": "object"},
			"nodeSelector":    map[string]any{"type": "object"},
			"tolerations":     map[string]any{"type": "array"},
			"affinity":        map[string]any{"type": "object"},
			"metrics":         metrics,
			"serviceMonitor":  enabled,
			"prometheusRule":  enabled,
			"admissionPolicy": enabled,
			"probeCA": map[string]any{"type": "object", "additionalProperties": false, "required": []string{"configMap", "key"},
				"properties": map[string]any{
					"configMap": map[string]any{"type": "string", "pattern": "^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", "maxLength": 253},
					"key":       map[string]any{"type": "string", "pattern": "^[-._a-zA-Z0-9]+$", "maxLength": 253},
				}},
			"settingsFromAllowed": map[string]any{"type": "array", "items": map[string]any{"type": "string",
				"pattern": "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?/([*]|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$"}},
			"diagnosis": map[string]any{"type": "object", "additionalProperties": false, "required": []string{"enabled", "name", "namespace", "spec"},
				"properties": map[string]any{
					"enabled":   map[string]any{"type": "boolean"},
					"name":      map[string]any{"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", "maxLength": 253},
					"namespace": map[string]any{"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"},
					// The CRD validates the spec when the object is created.
					"spec": map[string]any{"type": "object"},
				}},
		},
	}
	schema, err = json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, nil, nil, err
	}
	return chart, values, append(schema, '\n'), nil
}

// diagnosisTemplate renders the diagnosis block; a diagnosis outside the watched
// namespace would never be evaluated, so it is refused.
const diagnosisTemplate = `{{- if .Values.diagnosis.enabled }}
{{- if and .Values.watchNamespace (ne .Values.watchNamespace .Values.diagnosis.namespace) }}
{{- fail (printf "diagnosis.namespace %s is not watchNamespace %s: the manager would never evaluate it" .Values.diagnosis.namespace .Values.watchNamespace) }}
{{- end }}
apiVersion: diagnosis.paasdiag.io/v1alpha1
kind: PaaSDiagnosis
metadata:
  name: {{ .Values.diagnosis.name }}
  namespace: {{ .Values.diagnosis.namespace }}
  labels:
    app.kubernetes.io/name: paasdiag
    {{- include "paasdiag.labels" . | nindent 4 }}
spec:
  {{- toYaml .Values.diagnosis.spec | nindent 2 }}
{{- end }}
`

// loadDiagnosis reads the sample the diagnosis block is made of: one PaaSDiagnosis.
func loadDiagnosis(config string) (map[string]any, error) {
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Clean(config)), diagnosisSample))
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := yaml.UnmarshalStrict(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", diagnosisSample, err)
	}
	if str(doc["kind"]) != "PaaSDiagnosis" || mapOf(doc["metadata"])["namespace"] == nil || mapOf(mapOf(doc["spec"])["settingsFrom"]) == nil {
		return nil, fmt.Errorf("%s: not a PaaSDiagnosis with a namespace and spec.settingsFrom", diagnosisSample)
	}
	return doc, nil
}

// helpers: the labels Helm's objects carry besides config/'s. Names are config/'s, not
// the release's: the objects are cluster-wide (CRD, ClusterRoles, admission policy) or
// named by others (the alert looks for the metrics Service's job), so there is one
// paasdiag per cluster.
const helpers = `{{/* Generated by hack/chartgen; do not edit. */}}
{{- define "paasdiag.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
`

const notes = `{{/* Generated by hack/chartgen; do not edit. */ -}}
paasdiag {{ .Chart.AppVersion }} runs in namespace {{ .Release.Namespace }}
{{- with .Values.watchNamespace }} and watches PaaSDiagnosis objects in namespace {{ . }}{{ else }} and watches PaaSDiagnosis objects in every namespace{{ end }}.
{{- if and .Values.admissionPolicy.enabled (not (.Capabilities.APIVersions.Has "` + vapCapability + `")) }}
The API server does not serve ValidatingAdmissionPolicy v1 (Kubernetes 1.30+): the
admission policy that checks a diagnosis's author was not installed.
{{- end }}
{{- if and .Values.metrics.secure (not .Values.metrics.readerSubjects) }}

Metrics are served over HTTPS on :8443 only to clients allowed to get /metrics: bind
the ClusterRole paasdiag-metrics-reader to your Prometheus' ServiceAccount
(metrics.readerSubjects) unless its own role grants that already.
{{- end }}

Label the namespace as config/manager does:
  kubectl label namespace {{ .Release.Namespace }} pod-security.kubernetes.io/enforce=restricted
Then create a diagnosis (config/samples, docs/install.md):
  kubectl get paasdiagnosis -A
`

// write puts files in dir and removes what else is there.
func write(dir string, files map[string][]byte) error {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		chart, err := os.ReadFile(filepath.Join(dir, "Chart.yaml"))
		if err != nil || !bytes.HasPrefix(chart, []byte("# Generated by hack/chartgen")) {
			return fmt.Errorf("%s is not empty and not a chart chartgen wrote: not touching it", dir)
		}
	}
	var stale []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == dir {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if !d.IsDir() {
			if _, ok := files[filepath.ToSlash(rel)]; !ok {
				stale = append(stale, p)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, p := range stale {
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// deepCopy copies a parsed document, so that rendering it leaves it as config/ has it.
func deepCopy(doc map[string]any) map[string]any {
	raw, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	var out map[string]any
	if err := yaml.Unmarshal(raw, &out); err != nil {
		panic(err)
	}
	return out
}

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
