// Package specvalidation re-checks a PaaSDiagnosis against its CRD's schema (the OpenAPI
// bounds and the x-kubernetes-validations CEL rules) with the API server's own
// validation code, on the CRD that controller-gen generated from the markers. The CRD
// is the one definition: the controller enforces exactly what the API server would,
// with the same messages, also where the API server does not (CEL rules need 1.25, and
// a CRD applied with validation off enforces nothing).
package specvalidation

import (
	"context"
	"fmt"
	"strings"
	"sync"

	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structurallisttype "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/config/crd"
)

// Validator validates diagnoses against one version of the CRD's schema.
type Validator struct {
	schema     apiservervalidation.SchemaValidator
	structural *structuralschema.Structural
	rules      *cel.Validator
}

// New builds the validator of v1alpha1 from the CRD embedded in the binary.
func New() (*Validator, error) {
	return FromCRD(crd.PaaSDiagnoses(), v1alpha1.GroupVersion.Version)
}

// Default is New's validator, built once per process.
var Default = sync.OnceValues(New)

// FromCRD builds the validator of the named version of a CRD given as YAML.
func FromCRD(crdYAML []byte, version string) (*Validator, error) {
	var c apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(crdYAML, &c); err != nil {
		return nil, fmt.Errorf("reading the CRD: %w", err)
	}
	var props *apiextensionsv1.JSONSchemaProps
	for _, v := range c.Spec.Versions {
		if v.Name == version && v.Schema != nil {
			props = v.Schema.OpenAPIV3Schema
		}
	}
	if props == nil {
		return nil, fmt.Errorf("the CRD %s has no schema for version %s", c.Name, version)
	}
	var internal apiextensionsinternal.JSONSchemaProps
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(props, &internal, nil); err != nil {
		return nil, fmt.Errorf("converting the CRD's schema: %w", err)
	}
	structural, err := structuralschema.NewStructural(&internal)
	if err != nil {
		return nil, fmt.Errorf("the CRD's schema is not structural: %w", err)
	}
	schema, _, err := apiservervalidation.NewSchemaValidator(&internal)
	if err != nil {
		return nil, fmt.Errorf("compiling the CRD's schema: %w", err)
	}
	return &Validator{schema: schema, structural: structural, rules: cel.NewValidator(structural, true, celconfig.PerCallLimit)}, nil
}

// ValidateUnstructured returns what the API server would refuse in obj (a diagnosis as
// the API server stores it) when creating it: the schema's bounds, list-type
// invariants and CEL rules, in the API server's order and words. Status is not
// validated (paasdiag writes it, bounded). Validate the object as stored, not a typed
// copy: a typed copy drops empty lists and re-spells durations.
func (v *Validator) ValidateUnstructured(ctx context.Context, obj map[string]any) field.ErrorList {
	obj = runtime.DeepCopyJSON(obj)
	delete(obj, "status")
	errs := apiservervalidation.ValidateCustomResource(nil, obj, v.schema)
	errs = append(errs, structurallisttype.ValidateListSetsAndMaps(nil, v.structural, obj)...)
	if blocking(errs) {
		// As the API server does: CEL rules are not run on an object of the wrong shape.
		return errs
	}
	celErrs, _ := v.rules.Validate(ctx, nil, v.structural, obj, nil, celconfig.RuntimeCELCostBudget)
	return append(errs, celErrs...)
}

// blocking reports the errors after which the API server does not run the CEL rules.
func blocking(errs field.ErrorList) bool {
	for _, err := range errs {
		switch err.Type {
		case field.ErrorTypeNotSupported, field.ErrorTypeRequired, field.ErrorTypeTooLong, field.ErrorTypeTooMany, field.ErrorTypeTypeInvalid:
			return true
		}
	}
	return false
}

// Message joins errs as the condition message says them.
func Message(errs field.ErrorList) string {
	parts := make([]string, len(errs))
	for i, e := range errs {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}
