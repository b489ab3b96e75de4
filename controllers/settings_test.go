package controllers

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/checks"
	"github.com/paasdiag/paasdiag/internal/platformsettings"
)

func TestSettingsAllowList(t *testing.T) {
	l := SettingsAllowList{"blueking/bkpaas3-apiserver-web", "other/*"}
	for _, tc := range []struct {
		ns, name string
		want     bool
	}{
		{"blueking", "bkpaas3-apiserver-web", true},
		{"blueking", "bkpaas3-apiserver-worker", false},
		{"other", "anything", true},
		{"blueking-2", "bkpaas3-apiserver-web", false},
	} {
		if got := l.allows(tc.ns, tc.name); got != tc.want {
			t.Errorf("allows(%s/%s) = %v", tc.ns, tc.name, got)
		}
	}
	if (SettingsAllowList{}).allows("blueking", "x") {
		t.Error("an empty list allows nothing")
	}
}

func TestSameDatabase(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"ro:x@tcp(db:3306)/bk_engine_ng", "bkpaas3:y@tcp(db:3306)/bk_engine_ng?charset=utf8mb4", true},
		{"ro:x@tcp(db:3306)/bk_engine_ng", "bkpaas3:y@tcp(db:3307)/bk_engine_ng", false},
		{"ro:x@tcp(db:3306)/bk_engine_ng", "bkpaas3:y@tcp(db:3306)/bk_paas_ng", false},
		{"ro:x@tcp(evil:3306)/bk_engine_ng", "bkpaas3:y@tcp(db:3306)/bk_engine_ng", false},
		{"not a dsn", "bkpaas3:y@tcp(db:3306)/bk_engine_ng", false},
	} {
		if got := sameDatabase(tc.a, tc.b); got != tc.want {
			t.Errorf("sameDatabase(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}

func settingsScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

func webDeployment(labels map[string]string, env ...corev1.EnvVar) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "blueking", Name: "bkpaas3-apiserver-web", Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "apiserver", Env: env}}}},
		},
	}
}

// Each way settingsFrom cannot be used is a stall naming the Deployment or container,
// never a transient error (which would retry at backoff speed) and never a crash.
func TestResolveSettingsStalls(t *testing.T) {
	consent := map[string]string{v1alpha1.SettingsFromLabel: "true"}
	for _, tc := range []struct {
		name    string
		objects []runtime.Object
		from    v1alpha1.SettingsSource
		allowed SettingsAllowList
		reason  string
		message string
	}{
		{name: "missing Deployment", from: v1alpha1.SettingsSource{Deployment: "bkpaas3-apiserver-web"},
			reason: v1alpha1.ReasonSettingsSourceNotFound, message: `Deployment "bkpaas3-apiserver-web" not found in namespace "blueking"`},
		{name: "missing container", objects: []runtime.Object{webDeployment(consent)}, from: v1alpha1.SettingsSource{Deployment: "bkpaas3-apiserver-web", Container: "web"},
			reason: v1alpha1.ReasonSettingsSourceNotFound, message: `has no container "web"; it has apiserver`},
		{name: "no consent", objects: []runtime.Object{webDeployment(nil)}, from: v1alpha1.SettingsSource{Deployment: "bkpaas3-apiserver-web"},
			reason: v1alpha1.ReasonSettingsSourceNotAllowed, message: "diagnosis.paasdiag.io/settings-from=true"},
		{name: "label not true", objects: []runtime.Object{webDeployment(map[string]string{v1alpha1.SettingsFromLabel: "yes"})}, from: v1alpha1.SettingsSource{Deployment: "bkpaas3-apiserver-web"},
			reason: v1alpha1.ReasonSettingsSourceNotAllowed, message: "--settings-from-allowed"},
		{name: "allowed by the manager", objects: []runtime.Object{webDeployment(nil)}, from: v1alpha1.SettingsSource{Deployment: "bkpaas3-apiserver-web"},
			allowed: SettingsAllowList{"blueking/*"}},
		{name: "labelled", objects: []runtime.Object{webDeployment(consent)}, from: v1alpha1.SettingsSource{Deployment: "bkpaas3-apiserver-web", Container: "apiserver"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reader := fake.NewClientBuilder().WithScheme(settingsScheme(t)).WithRuntimeObjects(tc.objects...).Build()
			p, stall, err := resolveSettings(context.Background(), reader, "blueking", &v1alpha1.PaaSDiagnosisSpec{SettingsFrom: &tc.from}, tc.allowed)
			if err != nil {
				t.Fatal(err)
			}
			if tc.reason == "" {
				if stall != nil || p == nil || p.Err != nil {
					t.Fatalf("stall %v, platform %+v", stall, p)
				}
				return
			}
			if stall == nil || stall.reason != tc.reason || !strings.Contains(stall.message, tc.message) {
				t.Fatalf("stall %+v, want %s containing %q", stall, tc.reason, tc.message)
			}
		})
	}
}

// A missing setting blocks the check as Unknown naming it; the platform's key is not
// used with a workloads database the spec chose that is not the platform's.
func TestSettingsBlock(t *testing.T) {
	env := []corev1.EnvVar{
		{Name: "PAAS_WL_DATABASE_NAME", Value: "bk_engine_ng"}, {Name: "PAAS_WL_DATABASE_HOST", Value: "db"},
		{Name: "PAAS_WL_DATABASE_USER", Value: "bkpaas3"}, {Name: "PAAS_WL_DATABASE_PASSWORD", Value: "pw-canary"},
		{Name: "PAAS_BKKRILL_ENCRYPT_SECRET_KEY", Value: "k"},
	}
	reader := fake.NewClientBuilder().WithScheme(settingsScheme(t)).WithRuntimeObjects(webDeployment(map[string]string{v1alpha1.SettingsFromLabel: "true"}, env...)).Build()
	spec := &v1alpha1.PaaSDiagnosisSpec{SettingsFrom: &v1alpha1.SettingsSource{Deployment: "bkpaas3-apiserver-web"}}
	p, stall, err := resolveSettings(context.Background(), reader, "blueking", spec, nil)
	if err != nil || stall != nil {
		t.Fatal(err, stall)
	}
	if b := settingsBlock(check.Input{Setting: platformsettings.DefaultDatabaseSetting, What: "DSN of the default database"}, p, spec, nil); b == nil ||
		b.reason != v1alpha1.ReasonSettingMissing || !strings.Contains(b.message, "PAAS_DATABASE_NAME") {
		t.Errorf("default database: %+v", b)
	}
	key := check.Input{Setting: platformsettings.EncryptionKeySetting, What: "the platform's encryption key"}
	if b := settingsBlock(key, p, spec, nil); b != nil {
		t.Errorf("key with the platform's own workloads database: %+v", b)
	}
	explicit := *spec
	explicit.PlatformDatabase = &v1alpha1.PlatformDatabase{WorkloadsDSNSecretRef: &v1alpha1.SecretKeyReference{Name: "wl", Key: "dsn"}}
	// The platform's pod resolves "db" in its namespace.
	same := check.Secrets{"wl": {"dsn": []byte("ro:x@tcp(db.blueking.svc:3306)/bk_engine_ng")}}
	if b := settingsBlock(key, p, &explicit, same); b != nil {
		t.Errorf("key with a read-only user of the same database: %+v", b)
	}
	other := check.Secrets{"wl": {"dsn": []byte("ro:x@tcp(attacker:3306)/bk_engine_ng")}}
	b := settingsBlock(key, p, &explicit, other)
	if b == nil || !strings.Contains(b.message, "give platformDatabase.encryptionKeySecretRef") {
		t.Errorf("key with another database: %+v", b)
	}
	for _, s := range []string{"pw-canary", "attacker"} {
		if b != nil && strings.Contains(b.message, s) {
			t.Errorf("message quotes %q", s)
		}
	}
}

// A source written after the newest start of the settings container is named; one
// written before, or a pod of another Deployment, is not.
func TestChangedAfterStart(t *testing.T) {
	start := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	env := &platformsettings.Env{Deployment: "web", Container: "apiserver",
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		Sources: []platformsettings.Source{
			{Kind: "ConfigMap", Name: "before", Changed: start.Add(-time.Minute)},
			{Kind: "Secret", Name: "after", Changed: start.Add(time.Minute)},
			{Kind: "ConfigMap", Name: "same-second", Changed: start.Add(500 * time.Millisecond)},
		}}
	pod := func(app string, started time.Time) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}}, Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
			Name: "apiserver", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(started)}}}}}}
	}
	p := platformsettings.NewPlatform(env, nil)
	changed, newest := p.ChangedAfterStart([]corev1.Pod{pod("web", start), pod("web", start.Add(-time.Hour)), pod("other", start.Add(time.Hour))})
	if !newest.Equal(start) || len(changed) != 1 || changed[0].Name != "after" {
		t.Errorf("changed %+v newest %v", changed, newest)
	}
	if changed, newest := p.ChangedAfterStart(nil); changed != nil || !newest.IsZero() {
		t.Errorf("no pods: %+v %v", changed, newest)
	}
}

// A ConfigMap or Secret the Deployment names that paasdiag may not read stalls the
// diagnosis, naming it, rather than retrying at backoff speed.
func TestResolveSettingsForbiddenSourceStalls(t *testing.T) {
	from := corev1.EnvVar{Name: "PAAS_DATABASE_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "password"}}}
	reader := fake.NewClientBuilder().WithScheme(settingsScheme(t)).
		WithRuntimeObjects(webDeployment(map[string]string{v1alpha1.SettingsFromLabel: "true"}, from)).
		WithInterceptorFuncs(interceptor.Funcs{Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if _, ok := obj.(*corev1.Secret); ok {
				return apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, key.Name, errors.New("RBAC"))
			}
			return c.Get(ctx, key, obj, opts...)
		}}).Build()
	_, stall, err := resolveSettings(context.Background(), reader, "blueking", &v1alpha1.PaaSDiagnosisSpec{SettingsFrom: &v1alpha1.SettingsSource{Deployment: "bkpaas3-apiserver-web"}}, nil)
	if err != nil || stall == nil || stall.reason != v1alpha1.ReasonSettingsSourceUnreadable || !strings.Contains(stall.message, `Secret "db"`) {
		t.Fatalf("err %v, stall %+v", err, stall)
	}
}

// A block's settingsSecretRef is named in status.settings, as settingsFrom's sources are.
func TestProvenanceNamesSettingsSecrets(t *testing.T) {
	ref := &v1alpha1.SecretReference{Name: "smart-settings"}
	spec := v1alpha1.PaaSDiagnosisSpec{
		SmartRegistry: &v1alpha1.SmartRegistryCheck{PlatformSettingsSecret: v1alpha1.PlatformSettingsSecret{SettingsSecretRef: ref}},
		BlobStore:     &v1alpha1.BlobStoreCheck{PlatformSettingsSecret: v1alpha1.PlatformSettingsSecret{SettingsSecretRef: ref}},
	}
	plan := checks.Build(checks.Dependencies{})(&v1alpha1.PaaSDiagnosis{Spec: spec})
	got := settingsProvenance(&spec, plan.Checks, nil, nil)
	want := []v1alpha1.SettingProvenance{
		{Name: "blobStore", Source: "Secret smart-settings (blobStore.settingsSecretRef)"},
		{Name: "smartRegistry", Source: "Secret smart-settings (smartRegistry.settingsSecretRef)"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}
