package checks

import (
	"context"
	"fmt"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/config/admission"
)

// Custom worker log patterns are the author's regular expressions over logs paasdiag
// reads with its own rights: match counts alone would be an oracle that reveals a log
// line one character at a time. So they report counts only (never a quoted line), and
// they are honoured only while the shipped admission policy, which makes the author
// prove they may read those logs, is installed unmodified and was already in force when
// the diagnosis was created (docs/security.md).

// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingadmissionpolicies;validatingadmissionpolicybindings,verbs=get

// isBuiltinPattern reports whether p is one of the default patterns: they match the
// platform's own error texts, and their lines may be quoted.
func isBuiltinPattern(p string) bool {
	for _, d := range v1alpha1.DefaultWorkerLogPatterns {
		if p == d {
			return true
		}
	}
	return false
}

// policyMargin is how long after the policy and binding are created a diagnosis must
// be created for the policy to have judged it: the API server takes a moment to start
// enforcing a new policy.
const policyMargin = 30 * time.Second

// createdAt is when the API server created the diagnosis (its managed fields, which a
// client may supply, are not trusted), nil when unset.
func createdAt(d *v1alpha1.PaaSDiagnosis) *time.Time {
	if d.CreationTimestamp.IsZero() {
		return nil
	}
	t := d.CreationTimestamp.Time
	return &t
}

// customPatternsAllowed says whether custom patterns may be honoured, or why not.
func customPatternsAllowed(ctx context.Context, reader client.Reader, created *time.Time) (bool, string) {
	shippedPolicy, shippedBinding, err := admission.Shipped()
	if err != nil {
		return false, "the shipped admission policy cannot be read: " + err.Error()
	}
	if created == nil {
		return false, "the diagnosis has no creation time"
	}
	var policy admissionregistrationv1.ValidatingAdmissionPolicy
	if err := reader.Get(ctx, types.NamespacedName{Name: shippedPolicy.Name}, &policy); err != nil {
		return false, fmt.Sprintf("the admission policy %s is not installed (kubectl apply -k config/admission): %v", shippedPolicy.Name, client.IgnoreNotFound(err))
	}
	var binding admissionregistrationv1.ValidatingAdmissionPolicyBinding
	if err := reader.Get(ctx, types.NamespacedName{Name: shippedBinding.Name}, &binding); err != nil {
		return false, fmt.Sprintf("the admission policy's binding %s is not installed (kubectl apply -k config/admission): %v", shippedBinding.Name, client.IgnoreNotFound(err))
	}
	if diff := policyDiff(&policy, shippedPolicy); diff != "" || policy.Generation > 1 {
		if diff == "" {
			diff = "it was updated since it was created"
		}
		return false, fmt.Sprintf("the admission policy %s is not the one paasdiag ships, unmodified (%s)", policy.Name, diff)
	}
	if !sameBinding(&binding, shippedBinding) || binding.Generation > 1 {
		return false, fmt.Sprintf("the admission policy's binding %s is not the one paasdiag ships, unmodified", binding.Name)
	}
	for _, installed := range []metav1.Time{policy.CreationTimestamp, binding.CreationTimestamp} {
		if !installed.Add(policyMargin).Before(*created) {
			return false, fmt.Sprintf("the diagnosis was created (%s) before the admission policy was in force (%s, and %s for it to take effect): recreate it to have it checked",
				created.UTC().Format(time.RFC3339), installed.UTC().Format(time.RFC3339), policyMargin)
		}
	}
	return true, ""
}

// policyDiff names what decides a policy's verdicts that differs from the shipped one
// (the API server defaults the rest), or "".
func policyDiff(live, shipped *admissionregistrationv1.ValidatingAdmissionPolicy) string {
	switch {
	case live.Spec.MatchConstraints == nil || shipped.Spec.MatchConstraints == nil:
		return "matchConstraints"
	case !sameValidations(live.Spec.Validations, shipped.Spec.Validations):
		return "validations"
	case !sameVariables(live.Spec.Variables, shipped.Spec.Variables):
		return "variables"
	case !equality.Semantic.DeepEqual(live.Spec.FailurePolicy, shipped.Spec.FailurePolicy):
		return "failurePolicy"
	case len(live.Spec.MatchConditions) != 0:
		return "matchConditions"
	case len(live.Spec.MatchConstraints.ResourceRules) != len(shipped.Spec.MatchConstraints.ResourceRules),
		len(live.Spec.MatchConstraints.ExcludeResourceRules) != 0,
		!emptySelector(live.Spec.MatchConstraints.NamespaceSelector), !emptySelector(live.Spec.MatchConstraints.ObjectSelector):
		return "matchConstraints"
	}
	for i, r := range live.Spec.MatchConstraints.ResourceRules {
		s := shipped.Spec.MatchConstraints.ResourceRules[i]
		if !equality.Semantic.DeepEqual(r.Operations, s.Operations) || !equality.Semantic.DeepEqual(r.APIGroups, s.APIGroups) ||
			!equality.Semantic.DeepEqual(r.APIVersions, s.APIVersions) || !equality.Semantic.DeepEqual(r.Resources, s.Resources) {
			return "matchConstraints.resourceRules"
		}
	}
	return ""
}

// sameValidations compares validations as CEL reads them: YAML tools fold and indent
// multi-line expressions differently, so runs of white space count as one.
func sameValidations(a, b []admissionregistrationv1.Validation) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if cel(a[i].Expression) != cel(b[i].Expression) || cel(a[i].MessageExpression) != cel(b[i].MessageExpression) ||
			cel(a[i].Message) != cel(b[i].Message) || !equality.Semantic.DeepEqual(a[i].Reason, b[i].Reason) {
			return false
		}
	}
	return true
}

func sameVariables(a, b []admissionregistrationv1.Variable) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || cel(a[i].Expression) != cel(b[i].Expression) {
			return false
		}
	}
	return true
}

func cel(expr string) string { return strings.Join(strings.Fields(expr), " ") }

// sameBinding: the shipped policy, denying, in every namespace.
func sameBinding(live, shipped *admissionregistrationv1.ValidatingAdmissionPolicyBinding) bool {
	if live.Spec.PolicyName != shipped.Spec.PolicyName || !equality.Semantic.DeepEqual(live.Spec.ValidationActions, shipped.Spec.ValidationActions) ||
		live.Spec.ParamRef != nil {
		return false
	}
	m := live.Spec.MatchResources
	return m == nil || (emptySelector(m.NamespaceSelector) && emptySelector(m.ObjectSelector) && len(m.ResourceRules) == 0 && len(m.ExcludeResourceRules) == 0)
}

func emptySelector(s *metav1.LabelSelector) bool {
	return s == nil || (len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0)
}
