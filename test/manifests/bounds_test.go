package manifests

import (
	"os"
	"sort"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
)

// statusSchema reads the generated CRD's schema of .status.
func statusSchema(t *testing.T) apiextensionsv1.JSONSchemaProps {
	t.Helper()
	raw, err := os.ReadFile(root("config", "crd", "bases", "diagnosis.paasdiag.io_paasdiagnoses.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(raw, &crd); err != nil {
		t.Fatal(err)
	}
	return crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["status"]
}

// at walks a dotted path through properties ("[]" steps into an array's items).
func at(t *testing.T, s apiextensionsv1.JSONSchemaProps, path string) apiextensionsv1.JSONSchemaProps {
	t.Helper()
	for _, step := range strings.Split(path, ".") {
		if step == "[]" {
			if s.Items == nil || s.Items.Schema == nil {
				t.Fatalf("%s: no items", path)
			}
			s = *s.Items.Schema
			continue
		}
		next, ok := s.Properties[step]
		if !ok {
			t.Fatalf("%s: no property %s", path, step)
		}
		s = next
	}
	return s
}

// The CRD's markers take literals; the code caps status with the constants of
// api/v1alpha1/limits.go. They must agree, or the API server refuses what the code
// writes (or accepts what the code never would).
func TestStatusBoundsMatchTheConstants(t *testing.T) {
	status := statusSchema(t)
	for path, want := range map[string]int{
		"conditions":             v1alpha1.MaxStatusConditions,
		"codes":                  v1alpha1.MaxStatusCodes,
		"findings":               v1alpha1.MaxStatusFindings,
		"clusters":               v1alpha1.MaxStatusClusters,
		"clusters.[].apiServers": v1alpha1.MaxStatusAPIServers,
		"pools":                  v1alpha1.MaxStatusPools,
		"settings":               v1alpha1.MaxStatusSettings,
	} {
		if s := at(t, status, path); s.MaxItems == nil || int(*s.MaxItems) != want {
			t.Errorf("status.%s: maxItems %v, the code caps it at %d", path, s.MaxItems, want)
		}
	}
	for path, want := range map[string]int{
		"codeSummary":                             v1alpha1.MaxCodeSummaryLength,
		"reduced":                                 v1alpha1.MaxMessageLength,
		"platform.evidence":                       v1alpha1.MaxMessageLength,
		"findings.[].check":                       v1alpha1.MaxCheckLength,
		"findings.[].condition":                   v1alpha1.MaxReasonLength,
		"findings.[].reason":                      v1alpha1.MaxReasonLength,
		"findings.[].message":                     v1alpha1.MaxMessageLength,
		"findings.[].remediation":                 v1alpha1.MaxRemediationLength,
		"clusters.[].name":                        v1alpha1.MaxNameLength,
		"clusters.[].apiServers.[].url":           v1alpha1.MaxURLLength,
		"clusters.[].apiServers.[].reason":        v1alpha1.MaxReasonLength,
		"clusters.[].apiServers.[].serverVersion": v1alpha1.MaxVersionLength,
		"clusters.[].apiServers.[].latency":       v1alpha1.MaxDurationLength,
		"pools.[].service":                        v1alpha1.MaxNameLength,
		"pools.[].plan":                           v1alpha1.MaxNameLength,
		"pools.[].tenant":                         v1alpha1.MaxNameLength,
		"settings.[].name":                        v1alpha1.MaxReasonLength,
		"settings.[].source":                      v1alpha1.MaxMessageLength,
	} {
		if s := at(t, status, path); s.MaxLength == nil || int(*s.MaxLength) != want {
			t.Errorf("status.%s: maxLength %v, the code cuts it at %d", path, s.MaxLength, want)
		}
	}
	// The conditions' messages are metav1.Condition's (32768): the code keeps them
	// shorter.
	if s := at(t, status, "conditions.[].message"); s.MaxLength == nil || int(*s.MaxLength) < v1alpha1.MaxConditionMessageLength {
		t.Errorf("conditions' message: maxLength %v, below the code's %d", s.MaxLength, v1alpha1.MaxConditionMessageLength)
	}
}

// Every list and every string of status has a bound (an enum or a date-time format
// bounds a string too): nothing the platform's size can grow without limit.
func TestEveryStatusListAndStringIsBounded(t *testing.T) {
	var unbounded []string
	var walk func(path string, s apiextensionsv1.JSONSchemaProps)
	walk = func(path string, s apiextensionsv1.JSONSchemaProps) {
		switch s.Type {
		case "array":
			if s.MaxItems == nil {
				unbounded = append(unbounded, path)
			}
			if s.Items != nil && s.Items.Schema != nil {
				walk(path+"[]", *s.Items.Schema)
			}
		case "string":
			if s.MaxLength == nil && len(s.Enum) == 0 && s.Format != "date-time" {
				unbounded = append(unbounded, path)
			}
		case "object":
			for name, p := range s.Properties {
				walk(path+"."+name, p)
			}
			if s.AdditionalProperties != nil {
				unbounded = append(unbounded, path+" (a map)")
			}
		}
	}
	walk("status", statusSchema(t))
	sort.Strings(unbounded)
	if len(unbounded) > 0 {
		t.Errorf("unbounded in status: %s", strings.Join(unbounded, ", "))
	}
}
