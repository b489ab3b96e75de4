// Package platformsettings reads the bkpaas3 platform's own settings from its apiserver
// Deployment (spec.settingsFrom): the container's environment resolved as the kubelet
// resolves it, then turned into settings as the platform's Dynaconf does, then into the
// databases, key and cipher as the platform's settings module does
// (docs/conformance.md, rows SET*). Values never leave this package except as inputs
// to the checks; what status may say is where each one came from.
package platformsettings

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Var is one environment variable of the container, resolved.
type Var struct {
	// Value is the variable's value, when Known.
	Value string
	// Known is false when the value depends on the running pod (fieldRef,
	// resourceFieldRef), which paasdiag does not see.
	Known bool
	// Source says where it came from, without the value: "env X (literal)", "env X
	// from Secret s key k", "envFrom ConfigMap c".
	Source string
}

// Env is a container's environment as the kubelet would give it, and the objects it was
// read from.
type Env struct {
	// Deployment and Container name where it was read.
	Deployment, Container string
	// Vars by name.
	Vars map[string]Var
	// Sources are the ConfigMaps and Secrets read, with when each last changed.
	Sources []Source
	// Selector is the Deployment's pod selector.
	Selector *metav1.LabelSelector
	// Namespace is the Deployment's: a host name its pods resolve is looked up there.
	Namespace string
	// pod is the Deployment's pod template (host aliases, DNS policy); nil for an Env
	// made by hand.
	pod *corev1.PodSpec
	// Files are the platform's settings files as the container's ConfigMap and Secret
	// volumes give them, and those paasdiag cannot read (ReadEnv fills it; nil when
	// the Env was not read from a Deployment).
	Files *SettingsFiles
}

// Source is a ConfigMap or Secret the environment was read from.
type Source struct {
	Kind, Name string
	// Changed is the latest time a manager wrote it (its managedFields), or its
	// creation.
	Changed time.Time
}

// Problem is an input the platform's pod would not start with, or that paasdiag
// cannot read: it names the object, never a value.
type Problem struct{ Message string }

func (p *Problem) Error() string { return p.Message }

// Unreadable is a ConfigMap or Secret the settings come from that paasdiag may not
// read (RBAC): an operator must grant it, so the diagnosis stalls, naming it.
type Unreadable struct{ Message string }

func (u *Unreadable) Error() string { return u.Message }

// ReadEnv reads the Deployment's container (the named one, or the first) and resolves
// its environment: envFrom in order (later sources win, prefix prepended), then env in
// order, $(VAR) expanded against what is
// defined before it ($$ escapes), valueFrom read from Secrets and ConfigMaps. A
// missing Deployment, container, or non-optional source is a Problem naming it.
//
// It then resolves the platform's settings files (Env.Files): those Dynaconf would load
// (PAAS_SETTINGS, /app/settings_files/*.yaml, /app/settings_local.yaml and their .local.
// siblings) that the container's configMap, secret and projected volumes provide, as
// the kubelet projects them (items, subPath, optional), reading only the objects those
// files need; the others are Files.Unseen. A non-optional object or key such a file
// needs that is missing is a Problem naming it. Sources lists every object read.
func ReadEnv(ctx context.Context, reader client.Reader, namespace, deployment, container string) (*Env, error) {
	var d appsv1.Deployment
	if err := reader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: deployment}, &d); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &Problem{fmt.Sprintf("settingsFrom: Deployment %q not found in namespace %q", deployment, namespace)}
		}
		return nil, fmt.Errorf("reading Deployment %q: %w", deployment, err)
	}
	return EnvOf(ctx, reader, &d, container)
}

// EnvOf is ReadEnv for a Deployment already read: the ConfigMaps and Secrets its
// container names are read in its namespace.
func EnvOf(ctx context.Context, reader client.Reader, d *appsv1.Deployment, container string) (*Env, error) {
	namespace, deployment := d.Namespace, d.Name
	containers := d.Spec.Template.Spec.Containers
	var c *corev1.Container
	for i := range containers {
		if container == "" || containers[i].Name == container {
			c = &containers[i]
			break
		}
	}
	if c == nil {
		return nil, &Problem{fmt.Sprintf("settingsFrom: Deployment %q has no container %q", deployment, container)}
	}
	r := &envReader{ctx: ctx, reader: reader, namespace: namespace, seen: map[string]Source{}, read: map[string]map[string]string{},
		env: &Env{Deployment: deployment, Container: c.Name, Vars: map[string]Var{}, Selector: d.Spec.Selector,
			Namespace: namespace, pod: &d.Spec.Template.Spec}}
	for _, from := range c.EnvFrom {
		if err := r.envFrom(from); err != nil {
			return nil, err
		}
	}
	for _, v := range c.Env {
		if err := r.envVar(v); err != nil {
			return nil, err
		}
	}
	cwd := c.WorkingDir
	if cwd == "" {
		cwd = platformBaseDir // the image's WORKDIR
	}
	files, err := newPodFS(r, d.Spec.Template.Spec.Volumes, c.VolumeMounts, r.env.Vars).planFiles(r.env, cwd)
	if err != nil {
		return nil, err
	}
	r.env.Files = files
	for _, s := range r.seen {
		r.env.Sources = append(r.env.Sources, s)
	}
	sort.Slice(r.env.Sources, func(i, j int) bool {
		return r.env.Sources[i].Kind+"/"+r.env.Sources[i].Name < r.env.Sources[j].Kind+"/"+r.env.Sources[j].Name
	})
	return r.env, nil
}

type envReader struct {
	ctx       context.Context
	reader    client.Reader
	namespace string
	env       *Env
	seen      map[string]Source
	// read are the objects' data already read (each object is read once).
	read map[string]map[string]string
	// binary are the keys of each ConfigMap that come from its binaryData.
	binary map[string]map[string]bool
}

// data returns the Secret's or ConfigMap's data (a ConfigMap's binaryData too), or nil
// when it does not exist.
func (r *envReader) data(kind, name string) (map[string]string, error) {
	if d, ok := r.read[kind+"/"+name]; ok {
		return d, nil
	}
	var obj client.Object
	switch kind {
	case "Secret":
		obj = &corev1.Secret{}
	default:
		obj = &corev1.ConfigMap{}
	}
	if err := r.reader.Get(r.ctx, types.NamespacedName{Namespace: r.namespace, Name: name}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			r.read[kind+"/"+name] = nil
			return nil, nil
		}
		if apierrors.IsForbidden(err) {
			return nil, &Unreadable{Message: fmt.Sprintf("settingsFrom: %s %q, which Deployment %q gives its container, cannot be read: paasdiag's service account may not get it", kind, name, r.env.Deployment)}
		}
		return nil, fmt.Errorf("reading %s %q: %w", kind, name, err)
	}
	r.seen[kind+"/"+name] = Source{Kind: kind, Name: name, Changed: lastChange(obj)}
	out := map[string]string{}
	switch o := obj.(type) {
	case *corev1.Secret:
		for k, v := range o.Data {
			out[k] = string(v)
		}
	case *corev1.ConfigMap:
		for k, v := range o.Data {
			out[k] = v
		}
		for k, v := range o.BinaryData {
			out[k] = string(v)
			if r.binary == nil {
				r.binary = map[string]map[string]bool{}
			}
			if r.binary[kind+"/"+name] == nil {
				r.binary[kind+"/"+name] = map[string]bool{}
			}
			r.binary[kind+"/"+name][k] = true
		}
	}
	r.read[kind+"/"+name] = out
	return out, nil
}

// envData is data as the kubelet gives it to env and envFrom: a ConfigMap's data
// only (its binaryData goes to volumes alone).
func (r *envReader) envData(kind, name string) (map[string]string, error) {
	data, err := r.data(kind, name)
	if err != nil || data == nil || len(r.binary[kind+"/"+name]) == 0 {
		return data, err
	}
	out := make(map[string]string, len(data))
	for k, v := range data {
		if !r.binary[kind+"/"+name][k] {
			out[k] = v
		}
	}
	return out, nil
}

// lastChange is the latest write of obj that the API server recorded.
func lastChange(obj client.Object) time.Time {
	t := obj.GetCreationTimestamp().Time
	for _, m := range obj.GetManagedFields() {
		if m.Time != nil && m.Time.After(t) {
			t = m.Time.Time
		}
	}
	return t
}

func (r *envReader) envFrom(from corev1.EnvFromSource) error {
	kind, name, optional := "ConfigMap", "", false
	switch {
	case from.ConfigMapRef != nil:
		name, optional = from.ConfigMapRef.Name, from.ConfigMapRef.Optional != nil && *from.ConfigMapRef.Optional
	case from.SecretRef != nil:
		kind, name, optional = "Secret", from.SecretRef.Name, from.SecretRef.Optional != nil && *from.SecretRef.Optional
	default:
		return nil
	}
	data, err := r.envData(kind, name)
	if err != nil {
		return err
	}
	if data == nil {
		if optional {
			return nil
		}
		return &Problem{fmt.Sprintf("settingsFrom: envFrom %s %q of Deployment %q not found (not optional: the platform's pods would not start)", kind, name, r.env.Deployment)}
	}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		// Every key, as today's kubelet (pkg/kubelet/kubelet_pods.go) passes them;
		// kubelets before relaxed variable names skipped invalid ones, none of which
		// can be a PAAS_ setting's name anyway.
		v := from.Prefix + k
		r.env.Vars[v] = Var{Value: data[k], Known: true, Source: fmt.Sprintf("envFrom %s %s", kind, name)}
	}
	return nil
}

func (r *envReader) envVar(v corev1.EnvVar) error {
	if v.ValueFrom == nil {
		r.env.Vars[v.Name] = Var{Value: expand(v.Value, r.env.Vars), Known: true, Source: "env " + v.Name}
		return nil
	}
	var kind, name, key string
	optional := false
	switch {
	case v.ValueFrom.SecretKeyRef != nil:
		ref := v.ValueFrom.SecretKeyRef
		kind, name, key, optional = "Secret", ref.Name, ref.Key, ref.Optional != nil && *ref.Optional
	case v.ValueFrom.ConfigMapKeyRef != nil:
		ref := v.ValueFrom.ConfigMapKeyRef
		kind, name, key, optional = "ConfigMap", ref.Name, ref.Key, ref.Optional != nil && *ref.Optional
	default:
		// fieldRef, resourceFieldRef, fileKeyRef: the running pod's, not the spec's.
		r.env.Vars[v.Name] = Var{Known: false, Source: "env " + v.Name + " (from the running pod)"}
		return nil
	}
	data, err := r.envData(kind, name)
	if err != nil {
		return err
	}
	value, ok := data[key]
	if !ok {
		if optional {
			return nil
		}
		what := "key " + key + " not found in"
		if data == nil {
			what = "not found:"
		}
		return &Problem{fmt.Sprintf("settingsFrom: env %s of Deployment %q: %s %s %q (not optional: the platform's pods would not start)", v.Name, r.env.Deployment, what, kind, name)}
	}
	r.env.Vars[v.Name] = Var{Value: value, Known: true, Source: fmt.Sprintf("env %s from %s %s key %s", v.Name, kind, name, key)}
	return nil
}

// expand replaces $(VAR) with the value of a variable defined before, as the kubelet
// does: $$ is a literal $, and a reference to an undefined (or unknown) variable is
// left as written.
func expand(s string, vars map[string]Var) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok && v.Known {
				b.WriteString(v.Value)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// Host is the host name paasdiag must connect to for a host the platform's pod
// connects to: the pod's hostAliases first (its /etc/hosts); then, where the pod
// resolves through the cluster DNS with its namespace's search path, a name without a
// dot is qualified with the Deployment's namespace (host.namespace.svc), so that it
// names the same Service from paasdiag's own namespace and never one of paasdiag's.
func (e *Env) Host(host string) string {
	if e.pod == nil || host == "" || net.ParseIP(host) != nil {
		return host
	}
	for _, a := range e.pod.HostAliases {
		for _, h := range a.Hostnames {
			if h == host {
				return a.IP
			}
		}
	}
	clusterDNS := false
	switch e.pod.DNSPolicy {
	case "", corev1.DNSClusterFirst:
		clusterDNS = !e.pod.HostNetwork // with hostNetwork, ClusterFirst falls back to Default
	case corev1.DNSClusterFirstWithHostNet:
		clusterDNS = true
	}
	if clusterDNS && !strings.Contains(host, ".") && e.Namespace != "" {
		return host + "." + e.Namespace + ".svc"
	}
	return host
}
