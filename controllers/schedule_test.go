package controllers

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/checks"
)

func TestDue(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	at := func(ago time.Duration) *metav1.Time { m := metav1.NewTime(now.Add(-ago)); return &m }
	for _, tt := range []struct {
		name     string
		last     *metav1.Time
		observed int64
		want     bool
	}{
		{"never evaluated", nil, 1, true},
		{"a new generation", at(time.Second), 0, true},
		{"within the interval", at(30 * time.Second), 1, false},
		{"exactly one interval ago", at(time.Minute), 1, true},
		{"overdue", at(10 * time.Minute), 1, true},
	} {
		d := &v1alpha1.PaaSDiagnosis{ObjectMeta: metav1.ObjectMeta{Generation: 1}, Spec: v1alpha1.PaaSDiagnosisSpec{Interval: metav1.Duration{Duration: time.Minute}}}
		d.Status.LastEvaluationTime, d.Status.ObservedGeneration = tt.last, tt.observed
		if got := (&PaaSDiagnosisReconciler{}).due(d, now); got != tt.want {
			t.Errorf("%s: due = %v", tt.name, got)
		}
	}
}

func TestJitter(t *testing.T) {
	r := &PaaSDiagnosisReconciler{}
	for _, interval := range []time.Duration{0, 50, time.Second, time.Minute, time.Hour} {
		for i := 0; i < 200; i++ {
			j := r.jitter(interval)
			if j < 0 || (interval >= 100 && j >= interval/100) || (interval < 100 && j != 0) {
				t.Fatalf("jitter(%v) = %v, want [0, 1%%)", interval, j)
			}
		}
	}
}

// Lateness is measured against the time the evaluation was scheduled for, jitter
// included; after a restart, against lastEvaluationTime plus the interval; and a first
// evaluation or a new generation is not late at all.
func TestLateness(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	last := metav1.NewTime(t0)
	d := &v1alpha1.PaaSDiagnosis{ObjectMeta: metav1.ObjectMeta{Name: "d", Generation: 1},
		Spec: v1alpha1.PaaSDiagnosisSpec{Interval: metav1.Duration{Duration: time.Minute}}}
	r := &PaaSDiagnosisReconciler{}
	if _, scheduled := r.observeLateness(d, t0); scheduled {
		t.Error("a first evaluation counted as scheduled")
	}
	d.Status.LastEvaluationTime, d.Status.ObservedGeneration = &last, 1
	if late, _ := r.observeLateness(d, t0.Add(61*time.Second)); late != time.Second {
		t.Errorf("after a restart: late %v, want 1s", late)
	}
	// Scheduled with 400ms of jitter: starting at that time is not late.
	r.requeueAt(d, t0.Add(60*time.Second+400*time.Millisecond))
	if late, _ := r.observeLateness(d, t0.Add(60*time.Second+500*time.Millisecond)); late != 100*time.Millisecond {
		t.Errorf("scheduled: late %v, want 100ms", late)
	}
	d.Generation = 2
	if _, scheduled := r.observeLateness(d, t0.Add(70*time.Second)); scheduled {
		t.Error("a new generation counted as scheduled")
	}
}

func TestResolveSecrets(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	secret := func(name string, data map[string]string) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "blueking", Name: name, Labels: map[string]string{v1alpha1.SecretLabel: "true"}},
			Data: map[string][]byte{}}
		for k, v := range data {
			s.Data[k] = []byte(v)
		}
		return s
	}
	reader := fake.NewClientBuilder().WithScheme(scheme).WithObjects(
		secret("db", map[string]string{"dsn": "x"}), secret("wl", map[string]string{"other": "y"}),
		secret("app-cluster", map[string]string{"token": "t"}),
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "blueking", Name: "unmarked"}, Data: map[string][]byte{"token": []byte("t")}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "blueking", Name: "bound", Labels: map[string]string{v1alpha1.SecretLabel: "true"},
			Annotations: map[string]string{v1alpha1.SecretAPIServersAnnotation: "https://10.0.0.1:6443, https://10.0.0.2:6443"}}, Data: map[string][]byte{"token": []byte("t")}},
	).Build()
	ref := func(name, key string) *v1alpha1.SecretKeyReference {
		return &v1alpha1.SecretKeyReference{Name: name, Key: key}
	}
	for _, tt := range []struct {
		name       string
		spec       v1alpha1.PaaSDiagnosisSpec
		wantRead   []string
		wantStalls []string // condition/reason
	}{
		{name: "pools read the default DSN", spec: v1alpha1.PaaSDiagnosisSpec{
			InstancePools: &v1alpha1.InstancePoolsCheck{}, PlatformDatabase: &v1alpha1.PlatformDatabase{DefaultDSNSecretRef: ref("db", "dsn")}},
			wantRead: []string{"db"}},
		{name: "a Secret a disabled check names is not read", spec: v1alpha1.PaaSDiagnosisSpec{
			WorkerLogs: &v1alpha1.WorkerLogsCheck{}, PlatformDatabase: &v1alpha1.PlatformDatabase{DefaultDSNSecretRef: ref("db", "dsn")}}},
		{name: "a missing key stalls the check that needs it", spec: v1alpha1.PaaSDiagnosisSpec{
			DiscoverClusters: true, PlatformDatabase: &v1alpha1.PlatformDatabase{WorkloadsDSNSecretRef: ref("wl", "dsn")}},
			wantRead: []string{"wl"}, wantStalls: []string{"ClusterReachable/SecretKeyMissing"}},
		{name: "the workloads DSN blocks the initial cluster state check too", spec: v1alpha1.PaaSDiagnosisSpec{
			InitialClusterState: &v1alpha1.InitialClusterStateCheck{}, PlatformDatabase: &v1alpha1.PlatformDatabase{WorkloadsDSNSecretRef: ref("gone", "dsn")}},
			wantStalls: []string{"InitialClusterStateReady/SecretNotFound"}},
		{name: "cluster credentials", spec: v1alpha1.PaaSDiagnosisSpec{Clusters: []v1alpha1.ClusterTarget{
			{Name: "a", CredentialsSecretRef: v1alpha1.SecretReference{Name: "app-cluster"}},
			{Name: "b", CredentialsSecretRef: v1alpha1.SecretReference{Name: "missing"}}}},
			wantRead: []string{"app-cluster"}, wantStalls: []string{"ClusterReachable/SecretNotFound"}},
		// A credential goes only where the Secret's writer allowed.
		{name: "a cluster Secret sent where it allows", spec: v1alpha1.PaaSDiagnosisSpec{Clusters: []v1alpha1.ClusterTarget{
			{Name: "a", CredentialsSecretRef: v1alpha1.SecretReference{Name: "bound"}, APIServers: []v1alpha1.APIServerURL{"https://10.0.0.2:6443"}}}},
			wantRead: []string{"bound"}},
		{name: "a cluster Secret sent elsewhere", spec: v1alpha1.PaaSDiagnosisSpec{Clusters: []v1alpha1.ClusterTarget{
			{Name: "a", CredentialsSecretRef: v1alpha1.SecretReference{Name: "bound"}, APIServers: []v1alpha1.APIServerURL{"https://10.0.0.1:6443", "https://attacker.example:443"}}}},
			wantStalls: []string{"ClusterReachable/SecretDestinationNotAllowed"}},
		{name: "a cluster Secret without the annotation", spec: v1alpha1.PaaSDiagnosisSpec{Clusters: []v1alpha1.ClusterTarget{
			{Name: "a", CredentialsSecretRef: v1alpha1.SecretReference{Name: "app-cluster"}, APIServers: []v1alpha1.APIServerURL{"https://10.0.0.1:6443"}}}},
			wantStalls: []string{"ClusterReachable/SecretDestinationNotAllowed"}},
		{name: "the key with a workloads DSN it does not name", spec: v1alpha1.PaaSDiagnosisSpec{DiscoverClusters: true,
			PlatformDatabase: &v1alpha1.PlatformDatabase{WorkloadsDSNSecretRef: ref("wl", "other"), EncryptionKeySecretRef: ref("db", "dsn")}},
			wantRead: []string{"wl"}, wantStalls: []string{"ClusterReachable/SecretDestinationNotAllowed"}},
		// A Secret not marked for paasdiag is not used: no confused deputy.
		{name: "an unmarked Secret stalls, and its data is not kept", spec: v1alpha1.PaaSDiagnosisSpec{Clusters: []v1alpha1.ClusterTarget{
			{Name: "a", CredentialsSecretRef: v1alpha1.SecretReference{Name: "unmarked"}}}},
			wantStalls: []string{"ClusterReachable/SecretNotMarked"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			plan := checks.Build(checks.Dependencies{})(&v1alpha1.PaaSDiagnosis{Spec: tt.spec})
			secrets, stalls, err := resolveSecrets(context.Background(), reader, "blueking", plan.Checks, destinationsOf(&tt.spec))
			if err != nil {
				t.Fatal(err)
			}
			var read, got []string
			for name := range secrets {
				read = append(read, name)
			}
			sort.Strings(read)
			for _, s := range stalls {
				got = append(got, s.condition+"/"+s.reason)
				if strings.Contains(s.message, "\"x\"") || strings.Contains(s.message, "\"y\"") {
					t.Errorf("a stall quotes a Secret's value: %s", s.message)
				}
			}
			if strings.Join(read, ",") != strings.Join(tt.wantRead, ",") || strings.Join(got, ",") != strings.Join(tt.wantStalls, ",") {
				t.Errorf("read %v stalls %v; want read %v stalls %v", read, got, tt.wantRead, tt.wantStalls)
			}
		})
	}
}

// countingReader counts the Secrets read through it: an invalid spec must read none.
type countingReader struct {
	client.Reader
	reads int
}

func (c *countingReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if _, ok := obj.(*corev1.Secret); ok {
		c.reads++
	}
	return c.Reader.Get(ctx, key, obj, opts...)
}

func testScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	return scheme
}

// The spec an API server without CEL rules lets through (interval 1s, timeout 1m, an
// http:// URL) is refused by the controller: Stalled/InvalidSpec with the CEL rules'
// messages, no Secret read, nothing scheduled.
func TestInvalidSpecIsNotEvaluated(t *testing.T) {
	scheme := testScheme(t)
	d := &v1alpha1.PaaSDiagnosis{ObjectMeta: metav1.ObjectMeta{Namespace: "blueking", Name: "too-often", Generation: 1},
		Spec: v1alpha1.PaaSDiagnosisSpec{
			Interval: metav1.Duration{Duration: time.Second}, Timeout: metav1.Duration{Duration: time.Minute},
			Clusters: []v1alpha1.ClusterTarget{{Name: "a", APIServers: []v1alpha1.APIServerURL{"http://10.0.0.1:6443"},
				CredentialsSecretRef: v1alpha1.SecretReference{Name: "app-cluster"}}},
			PlatformDatabase: &v1alpha1.PlatformDatabase{DefaultDSNSecretRef: &v1alpha1.SecretKeyReference{Name: "db", Key: "dsn"}},
			InstancePools:    &v1alpha1.InstancePoolsCheck{MinAvailable: 1},
		}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(d).WithStatusSubresource(d).Build()
	reader := &countingReader{Reader: c}
	r := &PaaSDiagnosisReconciler{Client: c, APIReader: reader, Build: checks.Build(checks.Dependencies{})}
	res, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(d)})
	if err != nil {
		t.Fatal(err)
	}
	if res.RequeueAfter != 0 {
		t.Errorf("an invalid spec is scheduled again in %s; only a new generation can fix it", res.RequeueAfter)
	}
	if reader.reads != 0 {
		t.Errorf("%d Secret read(s) for an invalid spec", reader.reads)
	}
	var got v1alpha1.PaaSDiagnosis
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(d), &got); err != nil {
		t.Fatal(err)
	}
	stalled := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionStalled)
	if stalled == nil || stalled.Status != metav1.ConditionTrue || stalled.Reason != v1alpha1.ReasonInvalidSpec {
		t.Fatalf("Stalled = %+v, want True/InvalidSpec", stalled)
	}
	for _, rule := range []string{"interval must be at least 10s", "timeout must be shorter than interval", "API server URLs must be https URLs with a host"} {
		if !strings.Contains(stalled.Message, rule) {
			t.Errorf("Stalled %q lacks the CEL rule's message %q", stalled.Message, rule)
		}
	}
	for _, cond := range []string{v1alpha1.ConditionClusterReachable, v1alpha1.ConditionInstancePoolAvailable} {
		if c := meta.FindStatusCondition(got.Status.Conditions, cond); c == nil || c.Status != metav1.ConditionUnknown || c.Reason != v1alpha1.ReasonInvalidSpec {
			t.Errorf("%s = %+v, want Unknown/InvalidSpec", cond, c)
		}
	}
}

// Whatever the spec says, the schedule's interval is never below MinInterval.
func TestScheduleIntervalFloor(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	last := metav1.NewTime(now.Add(-2 * time.Second))
	d := &v1alpha1.PaaSDiagnosis{ObjectMeta: metav1.ObjectMeta{Generation: 1}, Spec: v1alpha1.PaaSDiagnosisSpec{Interval: metav1.Duration{Duration: time.Second}}}
	d.Status.LastEvaluationTime, d.Status.ObservedGeneration = &last, 1
	if got := scheduleInterval(d); got != v1alpha1.MinInterval {
		t.Errorf("scheduleInterval(1s) = %s, want %s", got, v1alpha1.MinInterval)
	}
	if (&PaaSDiagnosisReconciler{}).due(d, now) {
		t.Error("a diagnosis with interval 1s evaluated 2s ago is due")
	}
}

// No evaluation starts within MinInterval of the last one, whatever triggers the
// reconcile: an error's retry (here, a status write the API server failed) or a new
// generation.
func TestNoEvaluationWithinMinInterval(t *testing.T) {
	scheme := testScheme(t)
	d := &v1alpha1.PaaSDiagnosis{ObjectMeta: metav1.ObjectMeta{Namespace: "blueking", Name: "d", Generation: 1},
		Spec: v1alpha1.PaaSDiagnosisSpec{
			Interval: metav1.Duration{Duration: time.Minute}, Timeout: metav1.Duration{Duration: time.Second},
			PlatformDatabase: &v1alpha1.PlatformDatabase{DefaultDSNSecretRef: &v1alpha1.SecretKeyReference{Name: "db", Key: "dsn"}},
			InstancePools:    &v1alpha1.InstancePoolsCheck{MinAvailable: 1},
		}}
	failWrites := true
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(d).WithStatusSubresource(d).
		WithInterceptorFuncs(interceptor.Funcs{SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			if failWrites {
				return apierrors.NewServiceUnavailable("etcd is away")
			}
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		}}).Build()
	reader := &countingReader{Reader: c}
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	r := &PaaSDiagnosisReconciler{Client: c, APIReader: reader, Build: checks.Build(checks.Dependencies{}), Now: func() time.Time { return now }}
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(d)}
	if _, err := r.Reconcile(context.Background(), req); err == nil {
		t.Fatal("the failed status write was not returned")
	}
	if reader.reads != 1 {
		t.Fatalf("the first evaluation read %d Secret(s), want 1 (the DSN)", reader.reads)
	}
	// The retry with backoff, 5 ms later (the API server is back): nothing is read,
	// the next look is at the floor.
	failWrites = false
	now = now.Add(5 * time.Millisecond)
	res, err := r.Reconcile(context.Background(), req)
	if err != nil || reader.reads != 1 {
		t.Fatalf("the retry read again (%d reads, err %v)", reader.reads, err)
	}
	if want := 10*time.Second - 5*time.Millisecond; res.RequeueAfter != want {
		t.Errorf("the retry requeues after %s, want %s", res.RequeueAfter, want)
	}
	// A new generation 2 s later waits too.
	var cur v1alpha1.PaaSDiagnosis
	if err := c.Get(context.Background(), req.NamespacedName, &cur); err != nil {
		t.Fatal(err)
	}
	cur.Spec.Timeout = metav1.Duration{Duration: 2 * time.Second}
	if err := c.Update(context.Background(), &cur); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Second)
	if _, err := r.Reconcile(context.Background(), req); err != nil || reader.reads != 1 {
		t.Fatalf("a new generation within the minimum interval was evaluated (%d reads, err %v)", reader.reads, err)
	}
	now = now.Add(8 * time.Second)
	if _, err := r.Reconcile(context.Background(), req); err != nil || reader.reads != 2 {
		t.Fatalf("at the minimum interval: %d reads (want 2), err %v", reader.reads, err)
	}
}
