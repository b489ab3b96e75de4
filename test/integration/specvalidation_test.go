//go:build integration

package integration

import (
	"context"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"

	"github.com/paasdiag/paasdiag/internal/controlplane"
	"github.com/paasdiag/paasdiag/internal/testsupport/invalidspecs"
)

// The samples the controller's validator refuses (internal/specvalidation) are refused
// by a real API server that enforces the CRD's CEL rules too, each at its field: they
// are real violations, and the controller says what the API server says.
var _ = Describe("The CRD's rules", func() {
	It("refuses every invalidspecs sample at its field, as the controller's validator does", func() {
		ns := newNamespace()
		valid := &unstructured.Unstructured{Object: invalidspecs.Valid()}
		valid.SetNamespace(ns)
		Expect(k8sClient.Create(context.Background(), valid)).To(Succeed())
		for i, s := range invalidspecs.All() {
			obj := &unstructured.Unstructured{Object: invalidspecs.Valid()}
			s.Mutate(obj.Object)
			obj.SetNamespace(ns)
			obj.SetName(fmt.Sprintf("sample-%d", i))
			err := k8sClient.Create(context.Background(), obj)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%s: %v", s.Rule, err)
			Expect(err.Error()).To(ContainSubstring(s.Field), s.Rule)
			Expect(err.Error()).To(ContainSubstring(s.Detail), s.Rule)
		}
	})

	It("are enforced by this control plane, and the manager's probe says so", func() {
		support := controlplane.Probe(context.Background(), discovery.NewDiscoveryClientForConfigOrDie(cfg))
		Expect(support.CRDValidationRules.Supported).To(BeTrue(), support.CRDValidationRules.How)
		Expect(support.ValidatingAdmissionPolicy.Supported).To(BeTrue(), support.ValidatingAdmissionPolicy.How)
		Expect(support.EventsV1.Supported).To(BeTrue(), support.EventsV1.How)
		Expect(support.Minor).To(BeNumerically(">=", 30))
		Expect(support.Lost()).To(BeEmpty())
	})
})
