//go:build integration

package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	lua "github.com/yuin/gopher-lua"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	kubectlrun "github.com/paasdiag/paasdiag/internal/testsupport/kubectl"
)

// How kubectl, Flux (kstatus and healthCheckExprs) and Argo CD (health.lua) judge real
// PaaSDiagnosis objects, as the API server returns them.

func unstructuredOf(key types.NamespacedName) *unstructured.Unstructured {
	GinkgoHelper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("PaaSDiagnosis"))
	Expect(k8sClient.Get(context.Background(), key, u)).To(Succeed())
	return u
}

// argoHealth runs the shipped health.lua as Argo CD does: the object in `obj`.
func argoHealth(obj map[string]any) (string, string) {
	GinkgoHelper()
	script, err := os.ReadFile(filepath.Join("..", "..", "config", "gitops", "argocd", "health.lua"))
	Expect(err).NotTo(HaveOccurred())
	L := lua.NewState()
	defer L.Close()
	L.SetGlobal("obj", toLua(L, obj))
	Expect(L.DoString(string(script))).To(Succeed())
	ret, ok := L.Get(-1).(*lua.LTable)
	Expect(ok).To(BeTrue(), "health.lua returns a table")
	return ret.RawGetString("status").String(), ret.RawGetString("message").String()
}

func toLua(L *lua.LState, v any) lua.LValue {
	switch x := v.(type) {
	case map[string]any:
		t := L.NewTable()
		for k, e := range x {
			t.RawSetString(k, toLua(L, e))
		}
		return t
	case []any:
		t := L.NewTable()
		for _, e := range x {
			t.Append(toLua(L, e))
		}
		return t
	case string:
		return lua.LString(x)
	case bool:
		return lua.LBool(x)
	case int64:
		return lua.LNumber(x)
	case float64:
		return lua.LNumber(x)
	case nil:
		return lua.LNil
	}
	Fail("unexpected JSON value")
	return lua.LNil
}

// fluxExprs evaluates the healthCheckExprs of config/gitops/flux as Flux does: the
// object's top-level fields are the expressions' variables.
func fluxExprs(obj map[string]any) map[string]bool {
	GinkgoHelper()
	exprs := map[string]string{
		"inProgress": "!has(status.observedGeneration) || status.observedGeneration != metadata.generation",
		"failed":     "status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'False')",
		"current":    "status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'True')",
	}
	raw, err := os.ReadFile(filepath.Join("..", "..", "config", "gitops", "flux", "kustomization.yaml"))
	Expect(err).NotTo(HaveOccurred())
	env, err := cel.NewEnv(cel.Variable("metadata", cel.DynType), cel.Variable("spec", cel.DynType), cel.Variable("status", cel.DynType))
	Expect(err).NotTo(HaveOccurred())
	out := map[string]bool{}
	for name, expr := range exprs {
		Expect(string(raw)).To(ContainSubstring(name+`: "`+expr+`"`), "the example ships the expression tested here")
		ast, iss := env.Compile(expr)
		Expect(iss.Err()).NotTo(HaveOccurred())
		prg, err := env.Program(ast)
		Expect(err).NotTo(HaveOccurred())
		val, _, err := prg.Eval(map[string]any{"metadata": obj["metadata"], "spec": obj["spec"], "status": obj["status"]})
		Expect(err).NotTo(HaveOccurred())
		out[name] = val.Value().(bool)
	}
	return out
}

var _ = Describe("GitOps health of real diagnoses", func() {
	It("is Current / Healthy when every check passes", func() {
		p := newPooled(false)
		shared, exclusive := p.redisPlans()
		must(p.platform.Instances(shared, 1, false, "fifo"))
		must(p.platform.Instances(exclusive, 1, false, "fifo"))
		p.watch(1)
		waitForCondition(p.key, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		u := unstructuredOf(p.key)

		res, err := status.Compute(u)
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Status).To(Equal(status.CurrentStatus))
		st, msg := argoHealth(u.Object)
		Expect(st).To(Equal("Healthy"))
		Expect(msg).To(ContainSubstring("the check passed"))
		Expect(fluxExprs(u.Object)).To(Equal(map[string]bool{"inProgress": false, "failed": false, "current": true}))
	})

	It("with a code active: InProgress to kstatus (Ready False), Degraded with the codes to Argo CD, failed to the Flux expressions", func() {
		p := newPooled(false)
		p.redisPlans()
		p.watch(1)
		waitForCondition(p.key, v1alpha1.ConditionInstancePoolAvailable, metav1.ConditionFalse, "PoolEmpty")
		u := unstructuredOf(p.key)

		res, err := status.Compute(u)
		Expect(err).NotTo(HaveOccurred())
		// kstatus reads Ready=False as "still working on it": a Flux Kustomization waiting
		// on the diagnosis times out with this message; the healthCheckExprs fail at once.
		Expect(res.Status).To(Equal(status.InProgressStatus), "%s: %s", res.Status, res.Message)
		Expect(res.Message).To(ContainSubstring("[4313022] 资源池为空"))
		st, msg := argoHealth(u.Object)
		Expect(st).To(Equal("Degraded"))
		Expect(msg).To(HavePrefix("4313022: PoolEmpty: "))
		Expect(fluxExprs(u.Object)).To(Equal(map[string]bool{"inProgress": false, "failed": true, "current": false}))
	})

	It("is Failed / Degraded when the spec is stalled", func() {
		ns := newNamespace()
		p := &pooled{key: types.NamespacedName{Namespace: ns, Name: "bkpaas3"}}
		p.watch(1) // its Secret does not exist
		waitForCondition(p.key, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonSecretNotFound)
		u := unstructuredOf(p.key)

		res, err := status.Compute(u)
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Status).To(Equal(status.FailedStatus))
		Expect(res.Message).To(ContainSubstring(`Secret "bkpaas3-db"`))
		st, msg := argoHealth(u.Object)
		Expect(st).To(Equal("Degraded"))
		Expect(msg).To(HavePrefix("Stalled (SecretNotFound)"))
	})

	It("is InProgress / Progressing while a generation is not evaluated, and Suspended to Argo CD when suspended", func() {
		ns := newNamespace()
		p := &pooled{key: types.NamespacedName{Namespace: ns, Name: "bkpaas3"}}
		d := &v1alpha1.PaaSDiagnosis{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bkpaas3"},
			Spec: v1alpha1.PaaSDiagnosisSpec{
				Interval: metav1.Duration{Duration: 10 * time.Second}, Timeout: metav1.Duration{Duration: 3 * time.Second}, Suspend: true,
				PlatformDatabase: &v1alpha1.PlatformDatabase{DefaultDSNSecretRef: &v1alpha1.SecretKeyReference{Name: "bkpaas3-db", Key: "dsn"}},
				InstancePools:    &v1alpha1.InstancePoolsCheck{MinAvailable: 1},
			},
		}
		create(d)
		waitForCondition(p.key, v1alpha1.ConditionReady, metav1.ConditionUnknown, v1alpha1.ReasonSuspended)
		u := unstructuredOf(p.key)

		res, err := status.Compute(u)
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Status).To(Equal(status.InProgressStatus))
		st, _ := argoHealth(u.Object)
		Expect(st).To(Equal("Suspended"))
		unstructured.RemoveNestedField(u.Object, "spec", "suspend")
		st, msg := argoHealth(u.Object)
		Expect(st).To(Equal("Progressing"))
		Expect(msg).To(ContainSubstring("generation 1"))
		Expect(fluxExprs(u.Object)["inProgress"]).To(BeTrue())
	})

	It("ships the same health.lua in the argocd-cm snippet", func() {
		script, err := os.ReadFile(filepath.Join("..", "..", "config", "gitops", "argocd", "health.lua"))
		Expect(err).NotTo(HaveOccurred())
		cm, err := os.ReadFile(filepath.Join("..", "..", "config", "gitops", "argocd", "argocd-cm.yaml"))
		Expect(err).NotTo(HaveOccurred())
		var indented []string
		for _, l := range strings.Split(strings.TrimRight(string(script), "\n"), "\n") {
			if l == "" {
				indented = append(indented, "")
			} else {
				indented = append(indented, "    "+l)
			}
		}
		Expect(string(cm)).To(ContainSubstring(strings.Join(indented, "\n")))
	})
})

// kubeconfigFile writes a kubeconfig for the control plane's administrator.
func kubeconfigFile() string {
	GinkgoHelper()
	path := filepath.Join(tmpDir, "kubeconfig")
	Expect(kubectlrun.WriteKubeconfig(cfg, path)).To(Succeed())
	return path
}

// kubectl runs the real kubectl (built with the control plane) against it.
func kubectl(args ...string) string {
	GinkgoHelper()
	out, err := exec.Command(kubectlrun.Path(), append([]string{"--kubeconfig", kubeconfigFile()}, args...)...).CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), string(out))
	return string(out)
}

var _ = Describe("kubectl", func() {
	It("shows READY, CODES, REASON, LAST CHECK, AGE; -o wide adds the message; describe shows the findings", func() {
		p := newPooled(false)
		p.redisPlans()
		p.watch(1)
		waitForCondition(p.key, v1alpha1.ConditionInstancePoolAvailable, metav1.ConditionFalse, "PoolEmpty")

		out := kubectl("get", "paasdiagnosis", "-n", p.key.Namespace)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		Expect(lines).To(HaveLen(2), out)
		Expect(strings.Fields(lines[0])).To(Equal([]string{"NAME", "READY", "CODES", "REASON", "LAST", "CHECK", "AGE"}))
		Expect(strings.Fields(lines[1])[:4]).To(Equal([]string{"bkpaas3", "False", "4313022", "PoolEmpty"}))
		GinkgoWriter.Println(out)

		out = kubectl("get", "pdiag", "-A")
		Expect(out).To(ContainSubstring("NAMESPACE"))
		Expect(out).To(MatchRegexp(p.key.Namespace + `\s+bkpaas3\s+False\s+4313022\s+PoolEmpty`))

		out = kubectl("get", "paasdiagnosis", "-n", p.key.Namespace, "-o", "wide")
		Expect(strings.Fields(strings.Split(out, "\n")[0])).To(ContainElement("MESSAGE"))
		Expect(out).To(ContainSubstring("InstancePoolAvailable: [4313022] 资源池为空"))

		out = kubectl("describe", "paasdiagnosis", "-n", p.key.Namespace, "bkpaas3")
		for _, want := range []string{"Findings:", "Code:", "4313022", "Remediation:", "Add pre-created instances to the plan's pool in the admin console", "Reason:", "PoolEmpty"} {
			Expect(out).To(ContainSubstring(want))
		}
		Expect(out).NotTo(ContainSubstring(p.password))
	})

	It("applies config/default, and only what paasdiag needs, to a real API server", func() {
		out := kubectl("apply", "-k", filepath.Join("..", "..", "config", "default"))
		var kinds []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if strings.HasPrefix(l, "Warning:") {
				continue // the CRD envtest installed was not created by kubectl apply
			}
			kinds = append(kinds, strings.SplitN(strings.Fields(l)[0], "/", 2)[0])
		}
		// Four ClusterRoles: the manager's, the viewer's and the editor's (for people),
		// and the metrics reader's (for scrapers).
		Expect(kinds).To(ConsistOf(
			"namespace", "customresourcedefinition.apiextensions.k8s.io", "serviceaccount",
			"role.rbac.authorization.k8s.io", "clusterrole.rbac.authorization.k8s.io",
			"clusterrole.rbac.authorization.k8s.io", "clusterrole.rbac.authorization.k8s.io",
			"clusterrole.rbac.authorization.k8s.io",
			"rolebinding.rbac.authorization.k8s.io", "clusterrolebinding.rbac.authorization.k8s.io", "deployment.apps"), out)
	})
})
