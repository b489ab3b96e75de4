//go:build compat

package helm

import (
	"context"
	"os"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// The packaged chart installs on the oldest supported Kubernetes (make test-compat sets
// KUBEBUILDER_ASSETS to kube-apiserver 1.20.15): its kubeVersion admits it, Helm creates
// the CRD from crds/ (the API server drops the CEL rules it does not know; paasdiag
// enforces them), the Deployment and RBAC, and leaves out the admission policy the API
// server cannot serve.
func TestInstallOnTheOldestControlPlane(t *testing.T) {
	ctx := context.Background()
	env := &envtest.Environment{}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting the compatibility control plane (KUBEBUILDER_ASSETS=%s): %v", os.Getenv("KUBEBUILDER_ASSETS"), err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	version, err := discovery.NewDiscoveryClientForConfigOrDie(cfg).ServerVersion()
	if err != nil || !strings.HasPrefix(version.GitVersion, "v1.20.") {
		t.Fatalf("the control plane is %v (%v), want 1.20: run make test-compat", version, err)
	}
	const ns = "paasdiag-system"
	rel := helmInstall(ctx, t, env, ns, nil)
	t.Logf("release %s %s on kube-apiserver %s", rel.Name, rel.Info.Status, version.GitVersion)
	if strings.Contains(rel.Manifest, "ValidatingAdmissionPolicy") {
		t.Error("the admission policy was rendered for an API server that does not serve it")
	}

	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = apiextensionsv1.AddToScheme(scheme)
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := c.Get(ctx, client.ObjectKey{Name: "paasdiagnoses.diagnosis.paasdiag.io"}, &crd); err != nil {
		t.Fatalf("the CRD from crds/: %v", err)
	}
	var d appsv1.Deployment
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "paasdiag-controller-manager"}, &d); err != nil {
		t.Fatalf("the Deployment: %v", err)
	}
	if sc := d.Spec.Template.Spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("the Deployment's pod securityContext on 1.20: %+v", sc)
	}
}
