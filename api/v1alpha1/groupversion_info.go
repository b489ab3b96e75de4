// Package v1alpha1 contains the PaaSDiagnosis API of the diagnosis.paasdiag.io group.
//
// +kubebuilder:object:generate=true
// +groupName=diagnosis.paasdiag.io
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of this API.
	GroupVersion = schema.GroupVersion{Group: "diagnosis.paasdiag.io", Version: "v1alpha1"}

	// SchemeBuilder registers the types of this API with a scheme. It is apimachinery's
	// own, so that importing the API does not pull in controller-runtime.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the types of this API to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &PaaSDiagnosis{}, &PaaSDiagnosisList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
