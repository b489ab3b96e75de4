package controlplane

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/paasdiag/paasdiag/config/crd"
)

// fakeAPIServer answers what Probe asks: /version, two API group versions and the CRD.
type fakeAPIServer struct {
	minor, gitVersion string
	vap               bool
	crd               any // the CRD's JSON body, or an int status code
}

func (f fakeAPIServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reply := func(v any) { w.Header().Set("Content-Type", "application/json"); _ = json.NewEncoder(w).Encode(v) }
	switch {
	case r.URL.Path == "/version":
		reply(map[string]string{"major": "1", "minor": f.minor, "gitVersion": f.gitVersion})
	case r.URL.Path == "/apis/admissionregistration.k8s.io/v1":
		list := metav1.APIResourceList{GroupVersion: "admissionregistration.k8s.io/v1", APIResources: []metav1.APIResource{{Name: "validatingwebhookconfigurations"}}}
		if f.vap {
			list.APIResources = append(list.APIResources, metav1.APIResource{Name: "validatingadmissionpolicies"})
		}
		reply(list)
	case r.URL.Path == "/apis/events.k8s.io/v1":
		reply(metav1.APIResourceList{GroupVersion: "events.k8s.io/v1", APIResources: []metav1.APIResource{{Name: "events"}}})
	case strings.HasPrefix(r.URL.Path, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"):
		if code, ok := f.crd.(int); ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			reason := map[int]string{403: "Forbidden", 404: "NotFound"}[code]
			_ = json.NewEncoder(w).Encode(metav1.Status{Status: "Failure", Reason: metav1.StatusReason(reason), Code: int32(code)})
			return
		}
		reply(f.crd)
	default:
		http.NotFound(w, r)
	}
}

func shippedCRD(t *testing.T, withoutRules int) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	var c apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(crd.PaaSDiagnoses(), &c); err != nil {
		t.Fatal(err)
	}
	spec := c.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
	if withoutRules < 0 {
		var strip func(s *apiextensionsv1.JSONSchemaProps)
		strip = func(s *apiextensionsv1.JSONSchemaProps) {
			s.XValidations = nil
			for k, p := range s.Properties {
				strip(&p)
				s.Properties[k] = p
			}
			if s.Items != nil && s.Items.Schema != nil {
				strip(s.Items.Schema)
			}
		}
		strip(&spec)
	} else {
		spec.XValidations = spec.XValidations[withoutRules:]
	}
	c.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"] = spec
	return &c
}

func TestProbe(t *testing.T) {
	for _, tt := range []struct {
		name                string
		server              fakeAPIServer
		rules, vap, current bool
		minor               int
		lost                int
		howContains         string
	}{
		{"1.37 with the CRD as shipped", fakeAPIServer{"37", "v1.37.2", true, shippedCRD(t, 0)}, true, true, true, 37, 0, "keeps"},
		{"1.20: the rules dropped", fakeAPIServer{"20+", "v1.20.15", false, shippedCRD(t, -1)}, false, false, true, 20, 2, "dropped"},
		{"1.30 with a CRD stored before an upgrade", fakeAPIServer{"30", "v1.30.1", true, shippedCRD(t, -1)}, false, true, false, 30, 2, "re-apply"},
		{"an older CRD with fewer rules", fakeAPIServer{"33", "v1.33.0", true, shippedCRD(t, 2)}, true, true, false, 33, 1, "keeps"},
		{"the CRD unreadable, 1.26: assumed", fakeAPIServer{"26", "v1.26.15", false, 403}, true, false, true, 26, 1, "assumed from the minor"},
		{"the CRD missing, 1.24: assumed not", fakeAPIServer{"", "v1.24.17", false, 404}, false, false, true, 24, 2, "assumed from the minor"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.server)
			defer srv.Close()
			s := Probe(context.Background(), discovery.NewDiscoveryClientForConfigOrDie(&rest.Config{Host: srv.URL}))
			if s.Minor != tt.minor || s.Version != tt.server.gitVersion {
				t.Errorf("version %q minor %d, want %q %d", s.Version, s.Minor, tt.server.gitVersion, tt.minor)
			}
			if s.CRDValidationRules.Supported != tt.rules || s.ValidatingAdmissionPolicy.Supported != tt.vap || s.CRDCurrent.Supported != tt.current || !s.EventsV1.Supported {
				t.Errorf("rules %v vap %v current %v events %v; want %v %v %v true (%+v)", s.CRDValidationRules.Supported, s.ValidatingAdmissionPolicy.Supported,
					s.CRDCurrent.Supported, s.EventsV1.Supported, tt.rules, tt.vap, tt.current, s)
			}
			if !strings.Contains(s.CRDValidationRules.How, tt.howContains) {
				t.Errorf("CRDValidationRules.How %q lacks %q", s.CRDValidationRules.How, tt.howContains)
			}
			if got := len(s.Lost()); got != tt.lost {
				t.Errorf("%d lost features, want %d: %v", got, tt.lost, s.Lost())
			}
		})
	}
}
