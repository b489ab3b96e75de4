// Package controlplane finds out, once when the manager starts, what the control
// cluster's API server supports of what paasdiag relies on, so that a feature missing
// below some Kubernetes minor is said in the log rather than silently lost
// (docs/compatibility.md has the matrix).
package controlplane

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/discovery"
)

// Feature is whether the API server offers one thing paasdiag uses, and how that was
// found out.
type Feature struct {
	// Supported is true when the API server offers it.
	Supported bool
	// How says how it was found out, or what is lost without it.
	How string
}

// Support is what the control cluster's API server offers.
type Support struct {
	// Version is the API server's gitVersion; Minor its minor, 0 when unreadable.
	Version string
	Minor   int
	// CRDValidationRules: the API server enforces the CRD's x-kubernetes-validations
	// (1.25+, or 1.23/1.24 with the CustomResourceValidationExpressions gate on).
	CRDValidationRules Feature
	// ValidatingAdmissionPolicy: admissionregistration.k8s.io/v1
	// validatingadmissionpolicies is served (1.30+), which config/admission needs.
	ValidatingAdmissionPolicy Feature
	// EventsV1: events.k8s.io/v1 is served (1.19+), which the manager's events use.
	EventsV1 Feature
}

// CRDName is the name of the CRD whose stored schema tells whether CEL rules are kept.
const CRDName = "paasdiagnoses.diagnosis.paasdiag.io"

// Probe reads paasdiag's own CRD, and only that one, to see whether its CEL rules were kept.
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get,resourceNames=paasdiagnoses.diagnosis.paasdiag.io

// Probe asks the API server. It never fails: what it cannot find out it says it
// cannot, in the feature's How.
func Probe(ctx context.Context, dc discovery.DiscoveryInterface) Support {
	var s Support
	if v, err := dc.ServerVersion(); err != nil {
		s.Version = "unknown (" + err.Error() + ")"
	} else {
		s.Version = v.GitVersion
		s.Minor = minorOf(v.Minor, v.GitVersion)
	}
	s.ValidatingAdmissionPolicy = served(dc, "admissionregistration.k8s.io/v1", "validatingadmissionpolicies",
		"config/admission cannot be installed; the runtime guard (Secret label and annotations) still applies")
	s.EventsV1 = served(dc, "events.k8s.io/v1", "events", "the manager's events are not recorded")
	s.CRDValidationRules = s.crdRules(ctx, dc)
	return s
}

// crdRules reads the installed CRD: an API server that does not enforce CEL rules drops
// x-kubernetes-validations when it stores a CRD (unknown before 1.23, dropped while the
// feature gate is off). Unreadable, the minor decides.
func (s Support) crdRules(ctx context.Context, dc discovery.DiscoveryInterface) Feature {
	const lost = "the CRD's CEL rules are not enforced by the API server; paasdiag refuses a spec that breaks them (Stalled, InvalidSpec)"
	raw, err := dc.RESTClient().Get().AbsPath("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", CRDName).DoRaw(ctx)
	if err == nil {
		var crd apiextensionsv1.CustomResourceDefinition
		if err = json.Unmarshal(raw, &crd); err == nil {
			for _, v := range crd.Spec.Versions {
				if v.Schema != nil && v.Schema.OpenAPIV3Schema != nil && hasRules(*v.Schema.OpenAPIV3Schema) {
					return Feature{Supported: true, How: "the stored CRD keeps its x-kubernetes-validations"}
				}
			}
			return Feature{How: "the API server dropped x-kubernetes-validations from the stored CRD: " + lost}
		}
	}
	reason := err.Error()
	if apierrors.IsForbidden(err) || apierrors.IsNotFound(err) {
		reason = string(apierrors.ReasonForError(err))
	}
	if s.Minor >= 25 {
		return Feature{Supported: true, How: fmt.Sprintf("assumed from the minor (the CRD could not be read: %s)", reason)}
	}
	return Feature{How: fmt.Sprintf("assumed from the minor (the CRD could not be read: %s): %s", reason, lost)}
}

func hasRules(s apiextensionsv1.JSONSchemaProps) bool {
	if len(s.XValidations) > 0 {
		return true
	}
	for _, p := range s.Properties {
		if hasRules(p) {
			return true
		}
	}
	return s.Items != nil && s.Items.Schema != nil && hasRules(*s.Items.Schema)
}

// served reports whether groupVersion serves resource.
func served(dc discovery.DiscoveryInterface, groupVersion, resource, lost string) Feature {
	list, err := dc.ServerResourcesForGroupVersion(groupVersion)
	if err != nil && !apierrors.IsNotFound(err) {
		return Feature{How: "unknown (" + err.Error() + "): if it is missing, " + lost}
	}
	if list != nil {
		for _, r := range list.APIResources {
			if r.Name == resource {
				return Feature{Supported: true, How: groupVersion + " " + resource + " is served"}
			}
		}
	}
	return Feature{How: groupVersion + " " + resource + " is not served: " + lost}
}

// minorOf reads the minor ("20", "20+") or, failing that, the gitVersion (v1.20.15).
func minorOf(minor, gitVersion string) int {
	if n, err := strconv.Atoi(strings.TrimSuffix(minor, "+")); err == nil {
		return n
	}
	parts := strings.Split(strings.TrimPrefix(gitVersion, "v"), ".")
	if len(parts) >= 2 {
		if n, err := strconv.Atoi(parts[1]); err == nil {
			return n
		}
	}
	return 0
}

// KeysAndValues are s as the manager logs it.
func (s Support) KeysAndValues() []any {
	return []any{"version", s.Version,
		"crdValidationRules", s.CRDValidationRules.Supported,
		"validatingAdmissionPolicy", s.ValidatingAdmissionPolicy.Supported,
		"eventsV1", s.EventsV1.Supported}
}

// Lost says, one sentence per missing feature, what paasdiag does without it.
func (s Support) Lost() []string {
	var out []string
	for _, f := range []struct {
		name string
		f    Feature
	}{{"CRD validation rules", s.CRDValidationRules}, {"ValidatingAdmissionPolicy", s.ValidatingAdmissionPolicy}, {"events.k8s.io/v1", s.EventsV1}} {
		if !f.f.Supported {
			out = append(out, f.name+": "+f.f.How)
		}
	}
	return out
}
