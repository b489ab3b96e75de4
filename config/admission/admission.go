// Package admission embeds the admission policy paasdiag ships (the YAML beside this
// file, which `kubectl apply -k config/admission` installs), so that the worker log
// check can tell whether the policy installed is the one shipped, unmodified: custom
// log patterns are honoured only then (docs/security.md).
package admission

import (
	_ "embed"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"sigs.k8s.io/yaml"
)

var (
	//go:embed validatingadmissionpolicy.yaml
	policyYAML []byte
	//go:embed validatingadmissionpolicybinding.yaml
	bindingYAML []byte
)

// Shipped returns the policy and its binding as shipped.
func Shipped() (*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding, error) {
	var p admissionregistrationv1.ValidatingAdmissionPolicy
	var b admissionregistrationv1.ValidatingAdmissionPolicyBinding
	if err := yaml.UnmarshalStrict(policyYAML, &p); err != nil {
		return nil, nil, err
	}
	if err := yaml.UnmarshalStrict(bindingYAML, &b); err != nil {
		return nil, nil, err
	}
	return &p, &b, nil
}
