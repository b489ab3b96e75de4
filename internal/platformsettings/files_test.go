package platformsettings

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// Fixtures: the container, its volumes, the objects in the namespace.

var changed = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

func cm(name string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "blueking", Name: name, CreationTimestamp: metav1.NewTime(changed)}, Data: data}
}

func secret(name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "blueking", Name: name, CreationTimestamp: metav1.NewTime(changed)}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func cmVolume(name, object string, items ...corev1.KeyToPath) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: object}, Items: items}}}
}

func secretVolume(name, object string, items ...corev1.KeyToPath) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: object, Items: items}}}
}

func item(key, path string) corev1.KeyToPath { return corev1.KeyToPath{Key: key, Path: path} }

func mount(volume, path, subPath string) corev1.VolumeMount {
	return corev1.VolumeMount{Name: volume, MountPath: path, SubPath: subPath}
}

type pod struct {
	env     map[string]string
	volumes []corev1.Volume
	mounts  []corev1.VolumeMount
	objects []client.Object
	workDir string
}

func (p pod) read(t *testing.T) (*Env, error) {
	t.Helper()
	c := corev1.Container{Name: "apiserver", VolumeMounts: p.mounts, WorkingDir: p.workDir}
	for k, v := range p.env {
		c.Env = append(c.Env, corev1.EnvVar{Name: k, Value: v})
	}
	d := deployment(c)
	d.Spec.Template.Spec.Volumes = p.volumes
	reader := fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(append(p.objects, d)...).Build()
	return ReadEnv(context.Background(), reader, "blueking", "bkpaas3-apiserver-web", "apiserver")
}

func (p pod) settings(t *testing.T) (*Env, *Settings) {
	t.Helper()
	env, err := p.read(t)
	if err != nil {
		t.Fatal(err)
	}
	s, err := FromEnv(env)
	if err != nil {
		t.Fatal(err)
	}
	return env, s
}

func loaded(env *Env) []string {
	var out []string
	for _, f := range env.Files.Loaded {
		out = append(out, f.Path+" <- "+f.Object)
	}
	return out
}

func sources(env *Env) []string {
	var out []string
	for _, s := range env.Sources {
		out = append(out, s.Kind+"/"+s.Name)
	}
	return out
}

func unseen(s []UnseenFile) []string {
	var out []string
	for _, u := range s {
		out = append(out, u.Path)
	}
	return out
}

// A file PAAS_SETTINGS names, from a ConfigMap (items and subPath), a Secret, a
// projected volume: read as the kubelet projects it, its object in Sources with its
// time, and no other volume's object read.
func TestSET06_SettingsFilesFromConfigMapSecretAndProjectedVolumes(t *testing.T) {
	for _, tt := range []struct {
		name    string
		setting string
		volumes []corev1.Volume
		mounts  []corev1.VolumeMount
		objects []client.Object
		want    string // the file's object
		read    int    // objects read
	}{
		{"ConfigMap, items and subPath", "/etc/paas/common.yaml",
			[]corev1.Volume{cmVolume("extra", "paas-extra", item("common", "conf/common.yaml"), item("other", "conf/other.yaml"))},
			[]corev1.VolumeMount{mount("extra", "/etc/paas/common.yaml", "conf/common.yaml")},
			[]client.Object{cm("paas-extra", map[string]string{"common": "DATABASE_NAME: bk_paas_ng\n", "other": "X: 1\n", "unlisted": "X: 2\n"})},
			"ConfigMap paas-extra key common", 1},
		{"ConfigMap, subPathExpr from the container's variables", "/etc/paas/common.yaml",
			[]corev1.Volume{cmVolume("extra", "paas-extra")},
			[]corev1.VolumeMount{{Name: "extra", MountPath: "/etc/paas/common.yaml", SubPathExpr: "$(PAAS_SETTINGS_KEY)"}},
			[]client.Object{cm("paas-extra", map[string]string{"common.yaml": "DATABASE_NAME: bk_paas_ng\n"})},
			"ConfigMap paas-extra key common.yaml", 1},
		{"Secret, the whole volume at a directory", "/etc/paas/secret.yaml",
			[]corev1.Volume{secretVolume("secret", "paas-secret-settings")},
			[]corev1.VolumeMount{mount("secret", "/etc/paas", "")},
			[]client.Object{secret("paas-secret-settings", map[string]string{"secret.yaml": "DATABASE_NAME: bk_paas_ng\n"})},
			"Secret paas-secret-settings key secret.yaml", 1},
		{"projected: a later source wins", "/etc/paas/proj.yaml",
			[]corev1.Volume{{Name: "proj", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "proj-cm"}, Items: []corev1.KeyToPath{item("a", "proj.yaml")}}},
				{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "labels"}}}},
				{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "proj-secret"}, Items: []corev1.KeyToPath{item("b", "proj.yaml")}}},
			}}}}},
			[]corev1.VolumeMount{mount("proj", "/etc/paas", "")},
			[]client.Object{cm("proj-cm", map[string]string{"a": "DATABASE_NAME: overridden\n"}), secret("proj-secret", map[string]string{"b": "DATABASE_NAME: bk_paas_ng\n"})},
			"Secret proj-secret key b", 1}, // the ConfigMap's file is shadowed: not read
	} {
		t.Run(tt.name, func(t *testing.T) {
			// An unrelated volume, whose object does not even exist: not read.
			volumes := append(tt.volumes, cmVolume("unrelated", "not-needed"))
			mounts := append(tt.mounts, mount("unrelated", "/etc/unrelated", ""))
			vars := map[string]string{"PAAS_SETTINGS": tt.setting, "PAAS_SETTINGS_KEY": "common.yaml"}
			env, s := pod{env: vars, volumes: volumes, mounts: mounts, objects: tt.objects}.settings(t)
			if got, want := loaded(env), []string{tt.setting + " <- " + tt.want}; !reflect.DeepEqual(got, want) {
				t.Fatalf("loaded %v, want %v", got, want)
			}
			if env.Files.Loaded[0].Stage != StageSettingsFiles || env.Files.Loaded[0].Source() != tt.want+", mounted at "+tt.setting {
				t.Errorf("file %+v", env.Files.Loaded[0])
			}
			st := s.Get("DATABASE_NAME")
			if st == nil || st.Value != "bk_paas_ng" || st.Source != tt.setting+" from "+tt.want {
				t.Errorf("DATABASE_NAME = %+v", st)
			}
			for _, src := range env.Sources {
				if src.Name == "not-needed" {
					t.Errorf("read %s, which no settings file needs", src.Name)
				}
				if !src.Changed.Equal(changed) {
					t.Errorf("source %+v: Changed is not the object's time", src)
				}
			}
			if len(env.Sources) != tt.read {
				t.Errorf("sources %v, want the %d objects of the file's volume that give it", sources(env), tt.read)
			}
		})
	}
}

// Dynaconf's order, later winning: PAAS_SETTINGS files (then their .local. siblings),
// the environment, settings_files/*.yaml in name order (.local. ones last, each file
// followed by its sibling), settings_local.yaml, the environment again. The same
// fixture through dynaconf 3.2.13 itself gave the values below.
func TestSET07_SettingsFilesPrecedence(t *testing.T) {
	p := pod{
		env: map[string]string{"PAAS_SETTINGS": "/etc/paas/x.yaml", "DYNACONF_D": "from_dynaconf_env", "DYNACONF_E": "from_dynaconf_env",
			"PAAS_E": "from_paas_env", "PAAS_DATABASE_OPTIONS__ssl__ca": "/etc/ca.pem"},
		volumes: []corev1.Volume{cmVolume("extra", "extra"), cmVolume("files", "settings-files"), cmVolume("local", "settings-local", item("settings_local.yaml", "settings_local.yaml"))},
		mounts:  []corev1.VolumeMount{mount("extra", "/etc/paas", ""), mount("files", "/app/settings_files", ""), mount("local", "/app/settings_local.yaml", "settings_local.yaml")},
		objects: []client.Object{
			cm("extra", map[string]string{
				"x.yaml":       "A: from_paas_settings\nB: from_paas_settings\nC: from_paas_settings\nD: from_paas_settings\nE: from_paas_settings\nF: from_paas_settings\n",
				"x.local.yaml": "F: from_paas_settings_local_sibling\n"}),
			cm("settings-files", map[string]string{
				"a.yaml":       "B: from_settings_files_a\nC: from_settings_files_a\nD: from_settings_files_a\nE: from_settings_files_a\nG: a\nH: a\nLIST: [1]\nDICT: {x: 1}\n",
				"b.yaml":       "G: b\nH: b\nLIST: [2, dynaconf_merge]\n",
				"a.local.yaml": "H: a_local\nI: a_local\n",
				"b.yaml.bak":   "I: b\n"}),
			cm("settings-local", map[string]string{"settings_local.yaml": "C: from_settings_local\nD: from_settings_local\nE: from_settings_local\n" +
				"DATABASE_OPTIONS: {charset: utf8mb4, ssl: {ca: /x}}\ndict: {y: 2, dynaconf_merge: true}\n"}),
		},
	}
	env, s := p.settings(t)
	wantLoaded := []string{
		"/etc/paas/x.yaml <- ConfigMap extra key x.yaml",
		"/etc/paas/x.local.yaml <- ConfigMap extra key x.local.yaml",
		"/app/settings_files/a.yaml <- ConfigMap settings-files key a.yaml",
		"/app/settings_files/a.local.yaml <- ConfigMap settings-files key a.local.yaml",
		"/app/settings_files/b.yaml <- ConfigMap settings-files key b.yaml",
		"/app/settings_files/a.local.yaml <- ConfigMap settings-files key a.local.yaml",
		"/app/settings_local.yaml <- ConfigMap settings-local key settings_local.yaml",
	}
	if got := loaded(env); !reflect.DeepEqual(got, wantLoaded) {
		t.Errorf("loaded\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantLoaded, "\n"))
	}
	for key, want := range map[string]any{
		"A": "from_paas_settings", "B": "from_settings_files_a", "C": "from_settings_local", "D": "from_dynaconf_env",
		"E": "from_paas_env", "F": "from_paas_settings_local_sibling", "G": "b", "H": "a_local", "I": "a_local",
		"LIST":             []any{int64(1), int64(2)},
		"DICT":             map[string]any{"y": int64(2), "x": int64(1)},
		"DATABASE_OPTIONS": map[string]any{"charset": "utf8mb4", "ssl": map[string]any{"ca": "/etc/ca.pem"}},
	} {
		if got := s.Get(key); got == nil || !reflect.DeepEqual(got.Value, want) {
			t.Errorf("%s = %+v, want %#v", key, got, want)
		}
	}
	if got := s.Get("C").Source; got != "/app/settings_local.yaml from ConfigMap settings-local key settings_local.yaml" {
		t.Errorf("C's source %q", got)
	}
	if got := s.Get("E").Source; got != "env PAAS_E" {
		t.Errorf("E's source %q", got)
	}
	if got := s.Get("DATABASE_OPTIONS").Source; !strings.Contains(got, "settings_local.yaml") || !strings.Contains(got, "env PAAS_DATABASE_OPTIONS__ssl__ca") {
		t.Errorf("DATABASE_OPTIONS's source %q names not both", got)
	}
	// settings_local.yaml is a subPath in the image's /app: its sibling may be there.
	if got, want := unseen(s.Unseen), []string{"/app/settings_local.local.yaml", ".env"}; !reflect.DeepEqual(got, want) {
		t.Errorf("unseen %v, want %v", got, want)
	}
}

// A settings file is YAML as ruamel.yaml 0.16.10 (Dynaconf's) safe_loads it, 1.2 unless
// it says %YAML 1.1; string values beginning with a token are converted, others are
// not TOML-parsed; keys are upper-cased, "__" and "." nest.
func TestSET08_SettingsYAMLAsDynaconfReadsIt(t *testing.T) {
	for _, tt := range []struct {
		yaml string
		key  string
		want any
		lazy string
	}{
		{"A: yes", "A", "yes", ""}, // YAML 1.2: not a boolean
		{"A: on", "A", "on", ""},
		{"A: TRUE", "A", true, ""},
		{"%YAML 1.1\n---\nA: yes", "A", true, ""},
		{"A: 0755", "A", int64(755), ""}, // 1.2: Python's int('0755')
		{"%YAML 1.1\n---\nA: 0755", "A", int64(493), ""},
		{"A: 0o755", "A", int64(493), ""},
		{"A: 0x1F", "A", int64(31), ""},
		{"A: 1_000", "A", int64(1000), ""},
		{"A: 1e3", "A", 1000.0, ""},
		{"A: inf", "A", "inf", ""},
		{"A: 12#3", "A", "12#3", ""}, // no TOML: a YAML comment needs a space
		{"A: 12 #3", "A", int64(12), ""},
		{"A: '3306'", "A", "3306", ""},
		{"A: 2024-01-01", "A", "2024-01-01", ""},
		{"A: ~", "A", nil, ""},
		{"A: '@int 5'", "A", int64(5), ""},
		{`A: '@json {"ssl": {"ca": "/x"}}'`, "A", map[string]any{"ssl": map[string]any{"ca": "/x"}}, ""},
		{`A: {x: "@int 7", y: ["@bool on", z]}`, "A", map[string]any{"x": int64(7), "y": []any{true, "z"}}, ""},
		{`A: "@format {env[DB_HOST]}"`, "A", nil, "@format"},
		{`A: {host: "@jinja {{ this.X }}"}`, "A", nil, "@jinja"},
		{"A: !!binary aGk=", "A", nil, "!!binary"},
		{"database_name: n", "DATABASE_NAME", "n", ""},
		{"database_options.charset: utf8", "DATABASE_OPTIONS", map[string]any{"CHARSET": "utf8"}, ""},
		{"DATABASE_OPTIONS__ssl__ca: /x", "DATABASE_OPTIONS", map[string]any{"ssl": map[string]any{"ca": "/x"}}, ""},
		{"b: &x {p: 1, q: 2}\nA: {<<: *x, q: 3}", "A", map[string]any{"p": int64(1), "q": int64(3)}, ""},
		{"a: 1\nA: 2", "A", int64(2), ""},
	} {
		env := envOf(nil)
		env.Files = &SettingsFiles{Loaded: []SettingsFile{{Path: "/app/settings_local.yaml", Data: tt.yaml, Object: "ConfigMap c key k", Stage: StageIncludes}}}
		s, err := FromEnv(env)
		if err != nil {
			t.Errorf("%q: %v", tt.yaml, err)
			continue
		}
		got := s.Get(tt.key)
		if got == nil || got.Lazy != tt.lazy || (tt.lazy == "" && !reflect.DeepEqual(got.Value, tt.want)) {
			t.Errorf("%q: %s = %+v, want %#v lazy %q", tt.yaml, tt.key, got, tt.want, tt.lazy)
		}
	}

	// What fails the platform's load fails here: a Problem naming the file and its
	// object, never a value.
	for _, tt := range []struct{ yaml, want string }{
		{"PASSWORD: s3cr3t\nDATABASE_NAME: [1, 2\n", "not valid YAML"},
		{"PASSWORD: s3cr3t\nPASSWORD: s3cr3t2\n", `duplicate key "PASSWORD"`},
		{"PASSWORD: s3cr3t\n---\nB: 2\n", "expected a single document"},
		{"- s3cr3t\n", "not a mapping"},
		{"PASSWORD: !vault s3cr3t\n", "could not determine a constructor"},
		{"PASSWORD: '@int s3cr3t'\n", "key PASSWORD: @int"},
		{"PASSWORD: '@strs3cr3t'\n", "key PASSWORD: begins with @str but is no Dynaconf token"},
		{"PASSWORD: 2024-02-30\n", "not a YAML timestamp"},
		{"%YAML 1.3\n---\nPASSWORD: s3cr3t\n", "ruamel.yaml has no rules"},
		{"1: s3cr3t\n1.0: s3cr3t\n", `duplicate key "1.0"`}, // 1 == 1.0 in Python
		{"true: s3cr3t\n1: s3cr3t\n", `duplicate key "1"`},
	} {
		env := envOf(map[string]string{"PAAS_DATABASE_NAME": "n"})
		env.Files = &SettingsFiles{Loaded: []SettingsFile{{Path: "/etc/paas/x.yaml", Data: tt.yaml, Object: "Secret s key x.yaml"}}}
		s, err := FromEnv(env)
		var problem *Problem
		if !errors.As(err, &problem) || s != nil {
			t.Errorf("%q: %v, want a Problem and no settings", tt.yaml, err)
			continue
		}
		if !strings.Contains(err.Error(), "/etc/paas/x.yaml (Secret s key x.yaml)") || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%q: %q names not the file, its object and %q, or quotes a value", tt.yaml, err, tt.want)
		}
	}
	// Python's str() of other keys; "2" and 2 are two keys, one setting.
	env := envOf(map[string]string{"PAAS_A__b": "@del"})
	env.Files = &SettingsFiles{Loaded: []SettingsFile{{Path: "/x.yaml", Data: "2: int\n'2': str\ntrue: bool\nA: {b: 1, c: 2}\n", Object: "ConfigMap c key k", Stage: StageIncludes}}}
	s, err := FromEnv(env)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]any{"2": "str", "TRUE": "bool", "A": map[string]any{"c": int64(2)}} {
		if got := s.Get(key); got == nil || !reflect.DeepEqual(got.Value, want) {
			t.Errorf("%s = %+v, want %#v", key, got, want)
		}
	}

	// Empty or falsy content is skipped, as Dynaconf skips it.
	for _, data := range []string{"", "# nothing\n", "---\n", "{}\n", "[]\n", "0\n"} {
		env := envOf(nil)
		env.Files = &SettingsFiles{Loaded: []SettingsFile{{Path: "/x.yaml", Data: data, Object: "ConfigMap c key k"}}}
		if _, err := FromEnv(env); err != nil {
			t.Errorf("%q: %v", data, err)
		}
	}
}

// A volume object the files need that is missing: nothing when optional; otherwise the
// platform's pods would not start, a Problem naming it.
func TestSET09_MissingVolumeObjects(t *testing.T) {
	opt := func(v corev1.Volume) corev1.Volume {
		switch {
		case v.ConfigMap != nil:
			v.ConfigMap.Optional = optional()
		case v.Secret != nil:
			v.Secret.Optional = optional()
		}
		return v
	}
	for _, tt := range []struct {
		name    string
		volume  corev1.Volume
		mount   corev1.VolumeMount
		objects []client.Object
		problem string // "" when none
	}{
		{"optional ConfigMap missing", opt(cmVolume("v", "absent")), mount("v", "/app/settings_local.yaml", "settings_local.yaml"), nil, ""},
		{"optional Secret missing", opt(secretVolume("v", "absent")), mount("v", "/app/settings_files", ""), nil, ""},
		{"ConfigMap missing", cmVolume("v", "absent"), mount("v", "/app/settings_local.yaml", "settings_local.yaml"), nil, `ConfigMap "absent" of volume "v" of Deployment "bkpaas3-apiserver-web" not found`},
		{"Secret missing", secretVolume("v", "absent"), mount("v", "/app/settings_files", ""), nil, `Secret "absent" of volume "v"`},
		{"an item's key missing", cmVolume("v", "c", item("settings_local.yaml", "settings_local.yaml"), item("gone", "other.yaml")),
			mount("v", "/app/settings_local.yaml", "settings_local.yaml"), []client.Object{cm("c", map[string]string{"settings_local.yaml": "A: 1\n"})},
			`ConfigMap "c" has no key "gone", which volume "v"`},
		{"an optional item's key missing", opt(cmVolume("v", "c", item("gone", "settings_local.yaml"))),
			mount("v", "/app/settings_local.yaml", "settings_local.yaml"), []client.Object{cm("c", map[string]string{})}, ""},
		{"a subPath the ConfigMap lacks: an empty directory", cmVolume("v", "c"),
			mount("v", "/app/settings_local.yaml", "settings_local.yaml"), []client.Object{cm("c", map[string]string{"other": "A: 1\n"})}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env, err := pod{volumes: []corev1.Volume{tt.volume}, mounts: []corev1.VolumeMount{tt.mount}, objects: tt.objects}.read(t)
			var problem *Problem
			if tt.problem != "" {
				if !errors.As(err, &problem) || !strings.Contains(err.Error(), tt.problem) || !strings.Contains(err.Error(), "not optional: the platform's pods would not start") {
					t.Fatalf("%v, want a Problem saying %s", err, tt.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(env.Files.Loaded) != 0 {
				t.Errorf("loaded %v", loaded(env))
			}
			for _, u := range env.Files.Unseen {
				if strings.HasPrefix(u.Path, tt.mount.MountPath) {
					t.Errorf("%s is unseen, though its volume is known to give nothing: %s", u.Path, u.Reason)
				}
			}
		})
	}
}

// What Dynaconf would load that no ConfigMap or Secret volume provides is named, not
// guessed at: a PAAS_SETTINGS path not mounted, on another kind of volume, a Python
// module, a TOML file, the image's includes and .env.
func TestSET10_UnseenSettingsFiles(t *testing.T) {
	p := pod{
		env: map[string]string{"PAAS_SETTINGS": "/etc/paas/missing.yaml;common.yaml;/data/x.yaml;paasng.settings_extra;/etc/paas/x.toml;/etc/paas/absent.yaml"},
		volumes: []corev1.Volume{cmVolume("conf", "conf"), cmVolume("common", "common"),
			{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		mounts: []corev1.VolumeMount{mount("conf", "/etc/paas/x.toml", "x.toml"), mount("conf", "/etc/paas/absent.yaml", "absent.yaml"),
			mount("common", "/srv/config", ""), mount("data", "/data", "")},
		objects: []client.Object{cm("conf", map[string]string{"x.toml": "A = 1\n"}), cm("common", map[string]string{"common.yaml": "A: 1\n"})},
		workDir: "/srv",
	}
	env, s := p.settings(t)
	named := map[string]string{}
	var always []string
	for _, u := range s.Unseen {
		if u.Named {
			named[u.Path] = u.Reason
		} else {
			always = append(always, u.Path)
		}
	}
	for file, reason := range map[string]string{
		"/etc/paas/missing.yaml": "PAAS_SETTINGS names /etc/paas/missing.yaml, which is not mounted from a ConfigMap or Secret: settings baked into the image cannot be read",
		"/data/x.yaml":           `PAAS_SETTINGS names /data/x.yaml, which is mounted from volume "data" (emptyDir), which paasdiag cannot read`,
		"paasng.settings_extra":  "a Python module",
		"/etc/paas/x.toml":       "a TOML file: paasdiag reads YAML settings files only",
	} {
		if !strings.Contains(named[file], reason) {
			t.Errorf("unseen %s: %q, want it to say %q", file, named[file], reason)
		}
	}
	if len(named) != 4 {
		t.Errorf("named unseen %v", named)
	}
	// The relative common.yaml is found in the working directory's config/ (the
	// ConfigMap), with a warning that Dynaconf looks in the script's directories first;
	// /etc/paas/absent.yaml is a subPath the ConfigMap lacks (an empty directory).
	if got, want := loaded(env), []string{"/srv/config/common.yaml <- ConfigMap common key common.yaml"}; !reflect.DeepEqual(got, want) {
		t.Errorf("loaded %v, want %v", got, want)
	}
	warned := strings.Join(s.Warnings, "\n")
	for _, want := range []string{"names the relative path common.yaml: paasdiag reads /srv/config/common.yaml", "/etc/paas/absent.yaml, a directory"} {
		if !strings.Contains(warned, want) {
			t.Errorf("warnings %q, want %q", warned, want)
		}
	}
	// /srv/config is the ConfigMap's: common.local.yaml is known not to be there; the
	// sibling of /etc/paas/absent.yaml (a directory Dynaconf finds, and fails to read)
	// would be the image's.
	if want := []string{"/etc/paas/absent.local.yaml", "/app/settings_files/*.yaml", "/app/settings_local.yaml", ".env"}; !reflect.DeepEqual(always, want) {
		t.Errorf("unseen %v, want %v", always, want)
	}
	if !strings.Contains(s.Unseen[len(s.Unseen)-1].Reason, "/srv") {
		t.Errorf(".env: %q does not name the working directory", s.Unseen[len(s.Unseen)-1].Reason)
	}

	// A setting not found: the message says a file paasdiag cannot read may set it.
	if _, err := s.DatabaseDSN(env, DefaultDatabase); err == nil || !strings.Contains(err.Error(), "unless a settings file paasdiag cannot read sets DATABASE_NAME (/etc/paas/missing.yaml") {
		t.Errorf("DatabaseDSN: %v", err)
	}

	// PAAS_SETTINGS from the running pod; none at all: the includes and .env only.
	fromPod := deployment(corev1.Container{Name: "c", Env: []corev1.EnvVar{{Name: "PAAS_SETTINGS", ValueFrom: &corev1.EnvVarSource{
		FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations['settings']"}}}}})
	reader := fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(fromPod).Build()
	env, err := ReadEnv(context.Background(), reader, "blueking", "bkpaas3-apiserver-web", "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := unseen(env.Files.Unseen), []string{"PAAS_SETTINGS", "/app/settings_files/*.yaml", "/app/settings_local.yaml", ".env"}; !reflect.DeepEqual(got, want) || !env.Files.Unseen[0].Named {
		t.Errorf("unseen %v, want %v", env.Files.Unseen, want)
	}
}

// An absolute pattern in PAAS_SETTINGS is globbed over what the volume has; Dynaconf
// loads the matches in the directory's listing order, which paasdiag does not know.
func TestSET10_SettingsPattern(t *testing.T) {
	p := pod{
		env:     map[string]string{"PAAS_SETTINGS": "/etc/conf.d/*.yaml,/etc/image/*.yaml"},
		volumes: []corev1.Volume{cmVolume("conf", "conf")},
		mounts:  []corev1.VolumeMount{mount("conf", "/etc/conf.d", ""), mount("conf", "/etc/image/mounted.yaml", "b.yaml")},
		objects: []client.Object{cm("conf", map[string]string{"b.yaml": "B: 1\n", "a.yaml": "A: 1\n", "c.txt": "C: 1\n"})},
	}
	env, s := p.settings(t)
	want := []string{"/etc/conf.d/a.yaml <- ConfigMap conf key a.yaml", "/etc/conf.d/b.yaml <- ConfigMap conf key b.yaml", "/etc/image/mounted.yaml <- ConfigMap conf key b.yaml"}
	if got := loaded(env); !reflect.DeepEqual(got, want) {
		t.Errorf("loaded %v, want %v", got, want)
	}
	if !strings.Contains(strings.Join(s.Warnings, "\n"), "the order the directory lists them") {
		t.Errorf("warnings %v", s.Warnings)
	}
	if got := unseen(s.Unseen); len(got) < 2 || got[0] != "/etc/image/*.yaml" || got[1] != "/etc/image/mounted.local.yaml" {
		t.Errorf("unseen %v: want the image's part of /etc/image/*.yaml, then the sibling", got)
	}
}

// Dynaconf's helpers as they are: ensure_a_list's split (";" before ","),
// get_local_filename, _walk_to_root.
func TestSET10_DynaconfFileHelpers(t *testing.T) {
	for in, want := range map[string][]string{
		"a.yaml;b.yaml":            {"a.yaml", "b.yaml"},
		"a.yaml, b.yaml":           {"a.yaml", "b.yaml"},
		"a.yaml;b.yaml,c.yaml":     {"a.yaml", "b.yaml,c.yaml"},
		" a.yaml":                  {" a.yaml"},
		`["a.yaml", "/b.yaml"]`:    {"a.yaml", "/b.yaml"},
		`'/etc/x.yaml'`:            {"/etc/x.yaml"},
		"":                         nil,
		"@json [\"x.yaml\", 1]":    {"x.yaml", "1"},
		"/etc/settings_local.yaml": {"/etc/settings_local.yaml"},
	} {
		v, _, _, err := parseConfData(in)
		if got := ensureAList(v); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"/app/settings_local.yaml": "/app/settings_local.local.yaml",
		"/etc/x.yml":               "/etc/x.local.yml",
		"a.b.yaml":                 "a.b.local.yaml",
	} {
		if got := localName(in); got != want {
			t.Errorf("localName(%q) = %q, want %q", in, got, want)
		}
	}
	if got, want := walkUp("/srv/app", ""), []string{"/srv/app", "/srv/app/config", "/srv", "/srv/config", "/", "/config"}; !reflect.DeepEqual(got, want) {
		t.Errorf("walkUp %v", got)
	}
	if got, want := walkUp("/etc/paas/x", "/etc"), []string{"/etc/paas/x", "/etc/paas/x/config", "/etc/paas", "/etc/paas/config", "/etc", "/etc/config"}; !reflect.DeepEqual(got, want) {
		t.Errorf("walkUp %v", got)
	}
}
