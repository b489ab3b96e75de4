package specvalidation

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/config/crd"
	"github.com/paasdiag/paasdiag/internal/testsupport/invalidspecs"
)

// crdRules lists every rule the generated CRD declares on the spec, named as
// invalidspecs names them. Integer formats (int32, int64) are not listed: the API
// server validates formats of strings only, and the bounds beside them are.
func crdRules(t *testing.T) []string {
	t.Helper()
	var c apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(crd.PaaSDiagnoses(), &c); err != nil {
		t.Fatal(err)
	}
	var rules []string
	var walk func(s apiextensionsv1.JSONSchemaProps, path string)
	walk = func(s apiextensionsv1.JSONSchemaProps, path string) {
		add := func(present bool, keyword string) {
			if present {
				rules = append(rules, path+" "+keyword)
			}
		}
		add(s.MinLength != nil, "minLength")
		add(s.MaxLength != nil, "maxLength")
		add(s.Pattern != "", "pattern")
		add(s.Minimum != nil, "minimum")
		add(s.Maximum != nil, "maximum")
		add(s.ExclusiveMinimum || s.ExclusiveMaximum, "exclusive bound")
		add(s.MultipleOf != nil, "multipleOf")
		add(s.MinItems != nil, "minItems")
		add(s.MaxItems != nil, "maxItems")
		add(s.UniqueItems, "uniqueItems")
		add(s.MinProperties != nil, "minProperties")
		add(s.MaxProperties != nil, "maxProperties")
		add(len(s.Enum) > 0, "enum")
		if len(s.AllOf)+len(s.AnyOf)+len(s.OneOf) > 0 || s.Not != nil || s.Nullable || s.XPreserveUnknownFields != nil || s.XEmbeddedResource {
			t.Errorf("%s: a schema keyword this walk does not list rules of (allOf, anyOf, oneOf, not, nullable, preserve-unknown-fields, embedded-resource): teach it", path)
		}
		add(s.Format != "" && s.Type == "string", "format")
		if s.XListType != nil && *s.XListType != "atomic" {
			add(true, "x-kubernetes-list-type "+*s.XListType)
		}
		for _, r := range s.Required {
			add(true, "required "+r)
		}
		for _, r := range s.XValidations {
			add(true, "x-kubernetes-validations "+r.Message)
		}
		for name, p := range s.Properties {
			if path == "(root)" {
				walk(p, name)
			} else {
				walk(p, path+"."+name)
			}
		}
		if s.Items != nil && s.Items.Schema != nil {
			walk(*s.Items.Schema, path+"[*]")
		}
		if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
			walk(*s.AdditionalProperties.Schema, path+"{*}")
		}
	}
	for _, v := range c.Spec.Versions {
		root := *v.Schema.OpenAPIV3Schema
		root.Properties = map[string]apiextensionsv1.JSONSchemaProps{}
		for name, p := range v.Schema.OpenAPIV3Schema.Properties {
			if name != "status" { // written by paasdiag, bounded by its own test
				root.Properties[name] = p
			}
		}
		walk(root, "(root)")
	}
	sort.Strings(rules)
	return rules
}

// TestEveryCRDRuleHasARefusedSample fails when a rule of the generated CRD has no
// sample in invalidspecs, or a sample names a rule the CRD no longer has: a rule added
// to the markers must come with a spec that breaks it.
func TestEveryCRDRuleHasARefusedSample(t *testing.T) {
	rules := crdRules(t)
	sampled := map[string]bool{}
	for _, s := range invalidspecs.All() {
		if sampled[s.Rule] {
			t.Errorf("two samples for %q", s.Rule)
		}
		sampled[s.Rule] = true
	}
	inCRD := map[string]bool{}
	for _, r := range rules {
		inCRD[r] = true
		if !sampled[r] {
			t.Errorf("the CRD's rule %q has no sample in internal/testsupport/invalidspecs", r)
		}
	}
	for r := range sampled {
		if !inCRD[r] {
			t.Errorf("invalidspecs has a sample for %q, which the CRD does not declare", r)
		}
	}
	if len(rules) < 80 {
		t.Errorf("only %d rules found in the CRD; the walk is broken", len(rules))
	}
}

// TestValidatorRefusesEverySample: each sample is refused with the error its rule
// gives, at its field; the valid object is accepted.
func TestValidatorRefusesEverySample(t *testing.T) {
	v, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if errs := v.ValidateUnstructured(context.Background(), invalidspecs.Valid()); len(errs) > 0 {
		t.Fatalf("the valid sample is refused: %v", errs)
	}
	for _, s := range invalidspecs.All() {
		t.Run(s.Rule, func(t *testing.T) {
			obj := invalidspecs.Valid()
			s.Mutate(obj)
			errs := v.ValidateUnstructured(context.Background(), obj)
			for _, e := range errs {
				if e.Field == s.Field && e.Type == s.Type && strings.Contains(e.Detail, s.Detail) {
					return
				}
			}
			t.Errorf("want %s at %s containing %q; got %v", s.Type, s.Field, s.Detail, errs)
		})
	}
}

// TestCELMessagesAreTheCRDs: the message the controller gives for a CEL rule is the
// rule's message in the CRD, word for word (the one definition).
func TestCELMessagesAreTheCRDs(t *testing.T) {
	v, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range invalidspecs.All() {
		message, ok := strings.CutPrefix(s.Rule[strings.Index(s.Rule, " ")+1:], "x-kubernetes-validations ")
		if !ok {
			continue
		}
		obj := invalidspecs.Valid()
		s.Mutate(obj)
		if msg := Message(v.ValidateUnstructured(context.Background(), obj)); !strings.Contains(msg, message) {
			t.Errorf("%s: the controller says %q, without the CRD's message %q", s.Rule, msg, message)
		}
	}
}

// TestTheIssuesSpecIsRefused: the spec an API server without CEL accepts (interval 1s,
// timeout 1m, an http:// URL) is refused with the CEL rules' messages.
func TestTheIssuesSpecIsRefused(t *testing.T) {
	v, err := New()
	if err != nil {
		t.Fatal(err)
	}
	obj := invalidspecs.Valid()
	spec := obj["spec"].(map[string]any)
	spec["interval"], spec["timeout"] = "1s", "1m"
	spec["clusters"].([]any)[0].(map[string]any)["apiServers"] = []any{"http://10.0.0.10:6443"}
	got := Message(v.ValidateUnstructured(context.Background(), obj))
	for _, want := range []string{
		"spec.interval: Invalid value: \"1s\": interval must be at least 10s",
		"timeout must be shorter than interval",
		"spec.clusters[0].apiServers[0]: Invalid value: \"http://10.0.0.10:6443\": API server URLs must be https URLs with a host",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("want %q in %q", want, got)
		}
	}
}

// TestEdgeCasesTheAPIServerAccepts are accepted: a false InvalidSpec is a false alarm.
// (The controller validates the object as stored, not its typed copy, in which these
// would read differently: 0.5ms as 500µs, an empty list as absent.)
func TestEdgeCasesTheAPIServerAccepts(t *testing.T) {
	v, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(spec map[string]any){
		"sub-millisecond durations": func(spec map[string]any) {
			spec["certificateExpiryWarning"] = "0.0001s"
			spec["workerLogs"].(map[string]any)["window"] = "0.5ms"
		},
		"an empty clusters list with another check": func(spec map[string]any) {
			spec["clusters"] = []any{}
			spec["discoverClusters"] = false
			delete(spec["initialClusterState"].(map[string]any), "verifyNodeLabels")
		},
		"only discoverClusters": func(spec map[string]any) {
			for _, k := range []string{"clusters", "initialClusterState", "workerLogs", "instancePools"} {
				delete(spec, k)
			}
		},
		"compound durations":               func(spec map[string]any) { spec["interval"], spec["timeout"] = "1h0m30s", "59.5s" },
		"the minimum interval and timeout": func(spec map[string]any) { spec["interval"], spec["timeout"] = "10s", "100ms" },
	} {
		obj := invalidspecs.Valid()
		mutate(obj["spec"].(map[string]any))
		if errs := v.ValidateUnstructured(context.Background(), obj); len(errs) > 0 {
			t.Errorf("%s: refused: %v", name, errs)
		}
	}
}

// TestMinimaAreTheCRDs: the controller's schedule floor (v1alpha1.MinInterval,
// MinTimeout) is where the CRD's rules draw it.
func TestMinimaAreTheCRDs(t *testing.T) {
	v, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		interval, timeout time.Duration
		ok                bool
	}{
		{v1alpha1.MinInterval, v1alpha1.MinTimeout, true},
		{v1alpha1.MinInterval - time.Millisecond, v1alpha1.MinTimeout, false},
		{v1alpha1.MinInterval, v1alpha1.MinTimeout - time.Millisecond, false},
	} {
		obj := invalidspecs.Valid()
		spec := obj["spec"].(map[string]any)
		spec["interval"], spec["timeout"] = c.interval.String(), c.timeout.String()
		errs := v.ValidateUnstructured(context.Background(), obj)
		if (len(errs) == 0) != c.ok {
			t.Errorf("interval %s, timeout %s: accepted %v, want %v (%v)", c.interval, c.timeout, len(errs) == 0, c.ok, errs)
		}
	}
}
