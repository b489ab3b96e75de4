package checks

import (
	"context"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/config/admission"
	"github.com/paasdiag/paasdiag/internal/check"
)

// Custom patterns are honoured only while the shipped policy and binding are
// installed, unmodified, and were in force when the diagnosis was last written.
func TestCustomPatternsAllowed(t *testing.T) {
	policy, binding, err := admission.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	installed := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	after, before, tooSoon := installed.Add(time.Hour), installed.Add(-time.Hour), installed.Add(5*time.Second)
	objects := func(mutate func(*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding)) []client.Object {
		p, b := policy.DeepCopy(), binding.DeepCopy()
		p.CreationTimestamp, b.CreationTimestamp = metav1.NewTime(installed), metav1.NewTime(installed)
		p.Generation, b.Generation = 1, 1
		if mutate != nil {
			mutate(p, b)
		}
		var out []client.Object
		if p.Name != "" {
			out = append(out, p)
		}
		if b.Name != "" {
			out = append(out, b)
		}
		return out
	}
	for _, c := range []struct {
		name    string
		objects []client.Object
		written *time.Time
		allowed bool
		why     string
	}{
		{"installed as shipped, before the last write", objects(nil), &after, true, ""},
		{"the diagnosis was created before the policy", objects(nil), &before, false, "before the admission policy was in force"},
		{"created before the policy took effect", objects(nil), &tooSoon, false, "for it to take effect"},
		{"no creation time", objects(nil), nil, false, "no creation time"},
		{"no policy", nil, &after, false, "is not installed"},
		{"no binding", objects(func(_ *admissionregistrationv1.ValidatingAdmissionPolicy, b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
			b.Name = ""
		}), &after, false, "binding paasdiag-author-may-read is not installed"},
		{"a validation removed", objects(func(p *admissionregistrationv1.ValidatingAdmissionPolicy, _ *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
			p.Spec.Validations = p.Spec.Validations[:1]
		}), &after, false, "not the one paasdiag ships"},
		{"modified then restored", objects(func(p *admissionregistrationv1.ValidatingAdmissionPolicy, _ *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
			p.Generation = 2
		}), &after, false, "not the one paasdiag ships"},
		{"the binding only warns", objects(func(_ *admissionregistrationv1.ValidatingAdmissionPolicy, b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
			b.Spec.ValidationActions = []admissionregistrationv1.ValidationAction{admissionregistrationv1.Warn}
		}), &after, false, "binding paasdiag-author-may-read is not the one paasdiag ships"},
		{"the binding spares a namespace", objects(func(_ *admissionregistrationv1.ValidatingAdmissionPolicy, b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
			b.Spec.MatchResources = &admissionregistrationv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"x": "y"}}}
		}), &after, false, "not the one paasdiag ships"},
	} {
		t.Run(c.name, func(t *testing.T) {
			scheme := runtime.NewScheme()
			_ = clientgoscheme.AddToScheme(scheme)
			reader := fake.NewClientBuilder().WithScheme(scheme).WithObjects(c.objects...).Build()
			ok, why := customPatternsAllowed(context.Background(), reader, c.written)
			if ok != c.allowed || !strings.Contains(why, c.why) {
				t.Errorf("allowed %v (%s), want %v (%q)", ok, why, c.allowed, c.why)
			}
		})
	}
}

// Without the policy, a custom pattern is ignored with a warning: its matches are not
// counted; the default patterns still run.
func TestCustomPatternsIgnoredWithoutThePolicy(t *testing.T) {
	target, reader := workerTarget()
	target.Spec.WorkerLogs.Patterns = append(target.Spec.WorkerLogs.Patterns, `secret-[a-z]`)
	target.CreationTimestamp = metav1.Now()
	r := workerCheck(t, target, reader, logs{"worker-0": "INFO secret-a\n"}).Check(context.Background())
	if r.Status != check.Pass || len(r.Findings) != 1 || r.Findings[0].Reason != v1alpha1.ReasonCustomPatternsIgnored ||
		r.Findings[0].Severity != v1alpha1.SeverityWarning || !strings.Contains(r.Findings[0].Message, "is not installed") {
		t.Errorf("%s %s %+v", r.Status, r.Message, r.Findings)
	}
}
