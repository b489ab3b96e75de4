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
	"sigs.k8s.io/yaml"

	"github.com/paasdiag/paasdiag/config/crd"
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
	// CRDCurrent: the installed CRD carries every CEL rule of the CRD this manager was
	// built with. Not when it is older, or was stored by an API server that dropped the
	// rules before the cluster was upgraded: re-applying it makes the API server
	// enforce them (paasdiag enforces them either way).
	CRDCurrent Feature
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
	s.CRDValidationRules, s.CRDCurrent = s.crdRules(ctx, dc)
	return s
}

// crdRules reads the installed CRD: an API server that does not enforce CEL rules drops
// x-kubernetes-validations when it stores a CRD (unknown before 1.23, dropped while the
// feature gate is off). Unreadable, the minor decides. It also compares the stored
// rules with those of the CRD embedded in this manager.
func (s Support) crdRules(ctx context.Context, dc discovery.DiscoveryInterface) (enforced, current Feature) {
	const lost = "the CRD's CEL rules are not enforced by the API server; paasdiag refuses a spec that breaks them (Stalled, InvalidSpec)"
	raw, err := dc.RESTClient().Get().AbsPath("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", CRDName).DoRaw(ctx)
	if err == nil {
		var stored apiextensionsv1.CustomResourceDefinition
		if err = json.Unmarshal(raw, &stored); err == nil {
			have, want := rulesOf(&stored), embeddedRules()
			missing := 0
			for r := range want {
				if !have[r] {
					missing++
				}
			}
			current = Feature{Supported: true, How: "the installed CRD has every CEL rule of this manager's"}
			if missing > 0 {
				current = Feature{How: fmt.Sprintf("the installed CRD lacks %d of the %d CEL rules of this manager's CRD: re-apply config/crd (paasdiag enforces them either way)", missing, len(want))}
			}
			if len(have) > 0 {
				return Feature{Supported: true, How: "the stored CRD keeps its x-kubernetes-validations"}, current
			}
			if s.Minor >= 25 {
				return Feature{How: "the stored CRD has no x-kubernetes-validations although the API server is 1.25 or newer (stored before an upgrade?): re-apply config/crd; until then " + lost}, current
			}
			// Re-applying would not help: this API server drops them.
			return Feature{How: "the API server dropped x-kubernetes-validations from the stored CRD: " + lost},
				Feature{Supported: true, How: "not comparable: this API server stores no CEL rules"}
		}
	}
	reason := err.Error()
	if apierrors.IsForbidden(err) || apierrors.IsNotFound(err) {
		reason = string(apierrors.ReasonForError(err))
	}
	current = Feature{Supported: true, How: "unknown: the CRD could not be read (" + reason + ")"}
	if s.Minor >= 25 {
		return Feature{Supported: true, How: fmt.Sprintf("assumed from the minor (the CRD could not be read: %s)", reason)}, current
	}
	return Feature{How: fmt.Sprintf("assumed from the minor (the CRD could not be read: %s): %s", reason, lost)}, current
}

// rulesOf returns the CEL rules of every version of a CRD.
func rulesOf(c *apiextensionsv1.CustomResourceDefinition) map[string]bool {
	out := map[string]bool{}
	for _, v := range c.Spec.Versions {
		if v.Schema != nil && v.Schema.OpenAPIV3Schema != nil {
			collectRules(*v.Schema.OpenAPIV3Schema, out)
		}
	}
	return out
}

// embeddedRules are the CEL rules of the CRD this manager was built with.
func embeddedRules() map[string]bool {
	var c apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(crd.PaaSDiagnoses(), &c); err != nil {
		return nil
	}
	return rulesOf(&c)
}

func collectRules(s apiextensionsv1.JSONSchemaProps, out map[string]bool) {
	for _, r := range s.XValidations {
		out[r.Rule] = true
	}
	for _, p := range s.Properties {
		collectRules(p, out)
	}
	if s.Items != nil && s.Items.Schema != nil {
		collectRules(*s.Items.Schema, out)
	}
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
	}{{"CRD validation rules", s.CRDValidationRules}, {"ValidatingAdmissionPolicy", s.ValidatingAdmissionPolicy},
		{"events.k8s.io/v1", s.EventsV1}, {"the installed CRD", s.CRDCurrent}} {
		if !f.f.Supported {
			out = append(out, f.name+": "+f.f.How)
		}
	}
	return out
}
