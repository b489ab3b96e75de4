package platformsettings

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/fernet/fernet-go"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
)

// Dynaconf 3.2.13's parse_conf_data of an environment value, case by case as the
// platform's process parses it (checked against dynaconf 3.2.13 itself).
func TestSET02_DynaconfParsesValues(t *testing.T) {
	for _, tt := range []struct {
		raw  string
		want any
		lazy string
	}{
		{"3306", int64(3306), ""},
		{"+1", int64(1), ""},
		{"1.5", 1.5, ""},
		{"0x1F", int64(31), ""},
		{"1_000", int64(1000), ""},
		{"0755", "0755", ""}, // TOML forbids leading zeros: kept as the string
		{"true", true, ""},
		{"True", true, ""}, // boolean_fix
		{"False", false, ""},
		{"TRUE", "TRUE", ""}, // not TOML: a (truthy) string
		{"'abc'", "abc", ""},
		{`"a\tb"`, "a\tb", ""},
		{"abc", "abc", ""},
		{"a=b", "a=b", ""},
		{"", "", ""},
		{"12#3", int64(12), ""},    // #3 is a TOML comment
		{`{"a":1}`, `{"a":1}`, ""}, // JSON is not a TOML inline table
		{"{a=1, b='x'}", map[string]any{"a": int64(1), "b": "x"}, ""},
		{`[1,"a"]`, []any{int64(1), "a"}, ""},
		{`@json {"a":1}`, map[string]any{"a": int64(1)}, ""},
		{"@str 0123", "0123", ""},
		{"@int 42", int64(42), ""},
		{"@bool yes", true, ""},
		{"@bool no", false, ""},
		{"@none", nil, ""},
		{"@format {env[HOME]}/x", nil, "@format"},
		{"@jinja {{ this.X }}", nil, "@jinja"},
		{"@merge 3", nil, "@merge"},
	} {
		got, lazy, _, err := parseConfData(tt.raw)
		if err != nil || !reflect.DeepEqual(got, tt.want) || lazy != tt.lazy {
			t.Errorf("parse(%q) = %#v lazy %q err %v; want %#v lazy %q", tt.raw, got, lazy, err, tt.want, tt.lazy)
		}
	}
	for _, raw := range []string{"@intx 5", "@json {bad", "@int abc", `@json {"a":1} trailing`} {
		if _, _, _, err := parseConfData(raw); err == nil {
			t.Errorf("parse(%q) did not fail; the platform's settings would not load", raw)
		}
	}
}

// The env loader: PAAS_ exactly (upper case), the key upper-cased up to its first
// "__", nested keys merged whatever their case, PAAS_ winning over DYNACONF_.
func TestSET01_DynaconfEnvLoader(t *testing.T) {
	env := &Env{Deployment: "web", Container: "c", Vars: map[string]Var{
		"PAAS_database_name":               {Value: "bk_paas_ng", Known: true, Source: "env PAAS_database_name"},
		"paas_DATABASE_USER":               {Value: "ignored", Known: true},
		"DYNACONF_DATABASE_USER":           {Value: "dyn", Known: true},
		"PAAS_DATABASE_OPTIONS__charset":   {Value: "utf8mb4", Known: true},
		"PAAS_DATABASE_OPTIONS__ssl__mode": {Value: "off", Known: true},
		"DYNACONF_DATABASE_HOST":           {Value: "db-dyn", Known: true},
		"PAAS_DATABASE_HOST":               {Value: "db", Known: true},
		"ENVVAR_PREFIX_FOR_DYNACONF":       {Value: "FOO", Known: true, Source: "env ENVVAR_PREFIX_FOR_DYNACONF"},
	}}
	s, err := FromEnv(env)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]any{
		"DATABASE_NAME":    "bk_paas_ng",
		"database_user":    "dyn",
		"DATABASE_HOST":    "db",
		"DATABASE_OPTIONS": map[string]any{"charset": "utf8mb4", "ssl": map[string]any{"mode": "off"}},
	} {
		if got := s.Get(key); got == nil || !reflect.DeepEqual(got.Value, want) {
			t.Errorf("%s = %+v, want %#v", key, got, want)
		}
	}
	if len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], "ENVVAR_PREFIX_FOR_DYNACONF") {
		t.Errorf("warnings %v, want one on ENVVAR_PREFIX_FOR_DYNACONF", s.Warnings)
	}
}

func TestExpandAsTheKubeletDoes(t *testing.T) {
	vars := map[string]Var{"A": {Value: "a", Known: true}, "P": {Known: false}}
	for in, want := range map[string]string{
		"x$(A)y":   "xay",
		"$$(A)":    "$(A)",
		"$(B)":     "$(B)",
		"$(P)":     "$(P)",
		"$A":       "$A",
		"cost $":   "cost $",
		"$(A":      "$(A",
		"$(A)$(A)": "aa",
	} {
		if got := expand(in, vars); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func scheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

func deployment(containers ...corev1.Container) *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "blueking", Name: "bkpaas3-apiserver-web"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: containers}}}}
}

func optional() *bool { b := true; return &b }

func TestSET03_ReadEnvAsTheKubeletResolvesIt(t *testing.T) {
	c := corev1.Container{Name: "apiserver",
		EnvFrom: []corev1.EnvFromSource{
			{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "general-envs"}}},
			{Prefix: "PAAS_", SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "db-envs"}}},
			{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}, Optional: optional()}},
		},
		Env: []corev1.EnvVar{
			{Name: "PAAS_DATABASE_HOST", Value: "$(DB_HOST).svc"},
			{Name: "PAAS_BKKRILL_ENCRYPT_SECRET_KEY", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "keys"}, Key: "bkkrill"}}},
			{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
			{Name: "OPTIONAL", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "general-envs"}, Key: "nope", Optional: optional()}}},
		}}
	objects := []client.Object{
		deployment(corev1.Container{Name: "sidecar"}, c),
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "blueking", Name: "general-envs"},
			Data: map[string]string{"DB_HOST": "mysql", "PAAS_DATABASE_HOST": "overridden-by-env", "1BAD": "skipped"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "blueking", Name: "db-envs"},
			Data: map[string][]byte{"DATABASE_NAME": []byte("bk_paas_ng"), "DATABASE_PASSWORD": []byte("12#3")}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "blueking", Name: "keys"}, Data: map[string][]byte{"bkkrill": []byte("k")}},
	}
	reader := fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(objects...).Build()
	env, err := ReadEnv(context.Background(), reader, "blueking", "bkpaas3-apiserver-web", "apiserver")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"DB_HOST": "mysql", "PAAS_DATABASE_HOST": "mysql.svc", "PAAS_DATABASE_NAME": "bk_paas_ng",
		"PAAS_DATABASE_PASSWORD": "12#3", "PAAS_BKKRILL_ENCRYPT_SECRET_KEY": "k",
	} {
		if v := env.Vars[name]; !v.Known || v.Value != want {
			t.Errorf("%s = %+v, want %q", name, v, want)
		}
	}
	if _, ok := env.Vars["1BAD"]; !ok {
		t.Error("a key that is not a C identifier was dropped; today's kubelet passes it")
	}
	if _, ok := env.Vars["OPTIONAL"]; ok {
		t.Error("an optional missing key was set")
	}
	if v := env.Vars["POD_IP"]; v.Known {
		t.Error("a fieldRef was taken as known")
	}
	if got := env.Vars["PAAS_DATABASE_NAME"].Source; got != "envFrom Secret db-envs" {
		t.Errorf("source %q", got)
	}
	if len(env.Sources) != 3 {
		t.Errorf("sources %+v, want the ConfigMap and two Secrets read", env.Sources)
	}

	// The first container when none is named; a missing one, Deployment or source.
	if env, err := ReadEnv(context.Background(), reader, "blueking", "bkpaas3-apiserver-web", ""); err != nil || env.Container != "sidecar" {
		t.Errorf("no container named: %v %v", env, err)
	}
	var problem *Problem
	for _, tt := range []struct{ deployment, container, want string }{
		{"bkpaas3-apiserver-gone", "", `Deployment "bkpaas3-apiserver-gone" not found`},
		{"bkpaas3-apiserver-web", "worker", `has no container "worker"`},
	} {
		_, err := ReadEnv(context.Background(), reader, "blueking", tt.deployment, tt.container)
		if !errors.As(err, &problem) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s/%s: %v, want a Problem saying %s", tt.deployment, tt.container, err, tt.want)
		}
	}
	missing := deployment(corev1.Container{Name: "c", EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}}}}})
	reader = fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(missing).Build()
	if _, err := ReadEnv(context.Background(), reader, "blueking", "bkpaas3-apiserver-web", ""); !errors.As(err, &problem) || !strings.Contains(err.Error(), `envFrom Secret "absent"`) {
		t.Errorf("a missing non-optional envFrom Secret: %v", err)
	}
}

func envOf(vars map[string]string) *Env {
	env := &Env{Deployment: "bkpaas3-apiserver-web", Container: "apiserver", Vars: map[string]Var{}}
	for k, v := range vars {
		env.Vars[k] = Var{Value: v, Known: true, Source: "env " + k}
	}
	return env
}

// get_database_conf, case by case.
func TestSET04_DatabaseAsGetDatabaseConfBuildsIt(t *testing.T) {
	key := fernet.Key{}
	for i := range key {
		key[i] = byte(i)
	}
	token := func(plain string) string {
		tok, err := fernet.EncryptAndSign([]byte(plain), &key)
		if err != nil {
			t.Fatal(err)
		}
		return string(tok)
	}
	base := map[string]string{"PAAS_BKKRILL_ENCRYPT_SECRET_KEY": key.Encode()}
	with := func(extra map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	for _, tt := range []struct {
		name   string
		vars   map[string]string
		prefix string
		want   string // DSN, or the Missing setting after "missing "
	}{
		{"the five settings", with(map[string]string{"PAAS_DATABASE_NAME": "bk_paas_ng", "PAAS_DATABASE_USER": "paas", "PAAS_DATABASE_PASSWORD": "s3cr3t",
			"PAAS_DATABASE_HOST": "mysql.blueking", "PAAS_DATABASE_PORT": "3307"}), "", "paas:s3cr3t@tcp(mysql.blueking:3307)/bk_paas_ng"},
		{"a password TOML reads as an int", with(map[string]string{"PAAS_DATABASE_NAME": "bk_paas_ng", "PAAS_DATABASE_USER": "paas", "PAAS_DATABASE_PASSWORD": "12#3",
			"PAAS_DATABASE_HOST": "db"}), "", "paas:12@tcp(db:3306)/bk_paas_ng"},
		{"charset from OPTIONS (@json)", with(map[string]string{"PAAS_DATABASE_NAME": "n", "PAAS_DATABASE_USER": "u", "PAAS_DATABASE_HOST": "db",
			"PAAS_DATABASE_OPTIONS": `@json {"charset": "utf8mb4"}`}), "", "u@tcp(db:3306)/n?charset=utf8mb4"},
		{"the workloads database", with(map[string]string{"PAAS_WL_DATABASE_NAME": "bk_engine_ng", "PAAS_WL_DATABASE_USER": "u", "PAAS_WL_DATABASE_HOST": "db"}),
			WorkloadsDatabase, "u@tcp(db:3306)/bk_engine_ng"},
		{"no name: no database", with(map[string]string{"PAAS_DATABASE_HOST": "db"}), "", "missing PAAS_DATABASE_NAME"},
		{"an empty name: no database", with(map[string]string{"PAAS_DATABASE_NAME": "", "PAAS_DATABASE_HOST": "db"}), "", "missing PAAS_DATABASE_NAME"},
		{"no host: a socket", with(map[string]string{"PAAS_DATABASE_NAME": "n"}), "", "missing PAAS_DATABASE_HOST"},
		{"JSON OPTIONS without @json stay a string", with(map[string]string{"PAAS_DATABASE_NAME": "n", "PAAS_DATABASE_HOST": "db",
			"PAAS_DATABASE_OPTIONS": `{"charset": "utf8mb4"}`}), "", "missing PAAS_DATABASE_OPTIONS"},
		{"TLS files in OPTIONS", with(map[string]string{"PAAS_DATABASE_NAME": "n", "PAAS_DATABASE_HOST": "db",
			"PAAS_DATABASE_OPTIONS__ssl__ca": "/etc/ca.pem"}), "", "missing PAAS_DATABASE_OPTIONS"},
		{"a lazy host", with(map[string]string{"PAAS_DATABASE_NAME": "n", "PAAS_DATABASE_HOST": "@format {env[DB]}"}), "", "missing PAAS_DATABASE_HOST"},
		{"DATABASE_URL wins, decrypted", with(map[string]string{"PAAS_DATABASE_NAME": "other", "PAAS_DATABASE_HOST": "other",
			"DATABASE_URL": token("mysql://paas:p%40ss@mysql:3306/bk_paas_ng?charset=utf8mb4&CONN_MAX_AGE=60")}), "", "paas:p@ss@tcp(mysql:3306)/bk_paas_ng?charset=utf8mb4"},
		{"WL_DATABASE_URL", with(map[string]string{"WL_DATABASE_URL": token("mysql://u:p@db/bk_engine_ng")}), WorkloadsDatabase, "u:p@tcp(db:3306)/bk_engine_ng"},
		{"DATABASE_URL not encrypted", with(map[string]string{"DATABASE_URL": "mysql://u:p@db/n"}), "", "missing DATABASE_URL"},
		{"DATABASE_URL present but empty", with(map[string]string{"DATABASE_URL": "", "PAAS_DATABASE_NAME": "n", "PAAS_DATABASE_HOST": "db"}), "", "missing DATABASE_URL"},
		{"DATABASE_URL without the key", map[string]string{"DATABASE_URL": token("mysql://u:p@db/n")}, "", "missing PAAS_BKKRILL_ENCRYPT_SECRET_KEY"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := envOf(tt.vars)
			s, err := FromEnv(env)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.DatabaseDSN(env, tt.prefix)
			if setting, isMissing := strings.CutPrefix(tt.want, "missing "); isMissing {
				var m *Missing
				if !errors.As(err, &m) || m.Setting != setting {
					t.Fatalf("got %+v, %v; want Missing %s", got, err, setting)
				}
				for _, secret := range []string{"s3cr3t", "p@ss", key.Encode()} {
					if strings.Contains(m.Message, secret) {
						t.Errorf("the message quotes a secret: %s", m.Message)
					}
				}
				return
			}
			if err != nil || got.Value != tt.want {
				t.Fatalf("got %+v, %v; want %s", got, err, tt.want)
			}
			if strings.Contains(got.Source, "s3cr3t") || strings.Contains(got.Source, "p@ss") || !strings.Contains(got.Source, "Deployment bkpaas3-apiserver-web") {
				t.Errorf("source %q: names no Deployment, or quotes a value", got.Source)
			}
		})
	}
}

func TestSET05_KeyAndCipher(t *testing.T) {
	for raw, want := range map[string]v1alpha1.Cipher{"SHANGMI": v1alpha1.CipherSM4CTR, `"SHANGMI"`: v1alpha1.CipherSM4CTR,
		"shangmi": v1alpha1.CipherFernet, "CLASSIC": v1alpha1.CipherFernet} {
		s, _ := FromEnv(envOf(map[string]string{"PAAS_BK_CRYPTO_TYPE": raw}))
		if got, _ := s.Cipher(); got != want {
			t.Errorf("BK_CRYPTO_TYPE %q: %s, want %s", raw, got, want)
		}
	}
	s, _ := FromEnv(envOf(nil))
	if got, _ := s.Cipher(); got != v1alpha1.CipherFernet {
		t.Errorf("unset: %s", got)
	}
	var m *Missing
	if _, err := s.EncryptionKey(envOf(nil)); !errors.As(err, &m) || m.Setting != "PAAS_BKKRILL_ENCRYPT_SECRET_KEY" {
		t.Errorf("no key: %v", err)
	}
	s, _ = FromEnv(envOf(map[string]string{"PAAS_BKKRILL_ENCRYPT_SECRET_KEY": "123"}))
	if k, err := s.EncryptionKey(envOf(nil)); err != nil || k.Value != "123" {
		t.Errorf("a numeric key: %+v %v (force_bytes(123) is b'123')", k, err)
	}
}

// The kubelet gives env and envFrom a ConfigMap's data only: a key in its binaryData
// is not a variable (configMapKeyRef to it fails the pod, unless optional).
func TestSET03_BinaryDataIsNotEnv(t *testing.T) {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "blueking", Name: "envs"},
		Data: map[string]string{"PAAS_DATABASE_NAME": "bk_paas_ng"}, BinaryData: map[string][]byte{"PAAS_DATABASE_HOST": []byte("db")}}
	from := corev1.EnvFromSource{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "envs"}}}
	reader := fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(deployment(corev1.Container{Name: "apiserver", EnvFrom: []corev1.EnvFromSource{from}}), cm).Build()
	env, err := ReadEnv(context.Background(), reader, "blueking", "bkpaas3-apiserver-web", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := env.Vars["PAAS_DATABASE_HOST"]; ok || env.Vars["PAAS_DATABASE_NAME"].Value != "bk_paas_ng" {
		t.Errorf("vars %+v", env.Vars)
	}
	ref := corev1.EnvVar{Name: "PAAS_DATABASE_HOST", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "envs"}, Key: "PAAS_DATABASE_HOST"}}}
	reader = fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(deployment(corev1.Container{Name: "apiserver", Env: []corev1.EnvVar{ref}}), cm).Build()
	if _, err := ReadEnv(context.Background(), reader, "blueking", "bkpaas3-apiserver-web", ""); err == nil || !strings.Contains(err.Error(), "key PAAS_DATABASE_HOST not found in ConfigMap") {
		t.Errorf("configMapKeyRef to a binaryData key: %v", err)
	}
}

// The database host is connected to as the platform's pod resolves it: its
// hostAliases, and under cluster DNS a name without a dot in the Deployment's
// namespace (never a Service of that name in paasdiag's own namespace).
func TestSET03_HostAsThePlatformsPodResolvesIt(t *testing.T) {
	env := []corev1.EnvVar{{Name: "PAAS_DATABASE_NAME", Value: "bk_paas_ng"}, {Name: "PAAS_DATABASE_HOST", Value: "bk-mysql"}}
	for _, tc := range []struct {
		name string
		pod  func(*corev1.PodSpec)
		host string
	}{
		{"cluster DNS", func(*corev1.PodSpec) {}, "bk-mysql.blueking.svc:3306"},
		{"host aliases", func(p *corev1.PodSpec) {
			p.HostAliases = []corev1.HostAlias{{IP: "10.0.0.7", Hostnames: []string{"other", "bk-mysql"}}}
		}, "10.0.0.7:3306"},
		{"host network", func(p *corev1.PodSpec) { p.HostNetwork = true }, "bk-mysql:3306"},
		{"host network, cluster DNS", func(p *corev1.PodSpec) {
			p.HostNetwork, p.DNSPolicy = true, corev1.DNSClusterFirstWithHostNet
		}, "bk-mysql.blueking.svc:3306"},
		{"node DNS", func(p *corev1.PodSpec) { p.DNSPolicy = corev1.DNSDefault }, "bk-mysql:3306"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := deployment(corev1.Container{Name: "apiserver", Env: env})
			tc.pod(&d.Spec.Template.Spec)
			reader := fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(d).Build()
			e, err := ReadEnv(context.Background(), reader, "blueking", "bkpaas3-apiserver-web", "")
			if err != nil {
				t.Fatal(err)
			}
			s, err := FromEnv(e)
			if err != nil {
				t.Fatal(err)
			}
			f, err := s.DatabaseDSN(e, DefaultDatabase)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(f.Value, "tcp("+tc.host+")/") {
				t.Errorf("DSN %s, want host %s", f.Value, tc.host)
			}
		})
	}
	// Already qualified, or an address: as given.
	e := &Env{Namespace: "blueking", pod: &corev1.PodSpec{}}
	for _, h := range []string{"bk-mysql.blueking", "10.0.0.8", "db.example.com"} {
		if got := e.Host(h); got != h {
			t.Errorf("Host(%s) = %s", h, got)
		}
	}
}
