//go:build integration

package integration

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"
)

// managerUser is the identity config/default gives the manager.
const managerUser = "system:serviceaccount:paasdiag-system:paasdiag-controller-manager"

// unexercised are permissions the role grants that no test makes the manager use, each
// with why it is needed all the same.
var unexercised = map[string]string{
	// The events API patches an event to count a repetition (its series); the tests
	// emit no identical event twice within the series window.
	"events.k8s.io/events:patch": "event series",
	"/events:patch":              "event series (leader election's events)",
	// The informer's first list: client-go 0.37 streams it over the watch (WatchList),
	// which API servers before 1.32 (common under bkpaas3) do not offer; they need list.
	"diagnosis.paasdiag.io/paasdiagnoses:list": "informer list on older API servers",
}

var auditLog string

// auditRequestsOf makes the API server write an audit log in which the manager's requests
// can be found. The manager's requests are impersonated, and the audit policy is matched
// before impersonation, so every request is logged and filtered when read.
func auditRequestsOf(env *envtest.Environment) {
	GinkgoHelper()
	policy := filepath.Join(tmpDir, "audit-policy.yaml")
	auditLog = filepath.Join(tmpDir, "audit.log")
	Expect(os.WriteFile(policy, []byte(`apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
`), 0o600)).To(Succeed())

	env.ControlPlane.GetAPIServer().Configure().
		Set("audit-policy-file", policy).
		Set("audit-log-path", auditLog)
}

type auditEvent struct {
	Verb             string `json:"verb"`
	ImpersonatedUser *struct {
		Username string `json:"username"`
	} `json:"impersonatedUser"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		APIGroup    string `json:"apiGroup"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
}

// permission names one verb on one resource: "group/resource[/subresource]:verb".
func permission(group, resource, verb string) string { return group + "/" + resource + ":" + verb }

// expectLeastPrivilege compares what the manager did, from the audit log, with what
// config/rbac grants: nothing may have been forbidden, and every permission granted
// must have been used.
func expectLeastPrivilege() {
	used := map[string]bool{}
	var forbidden []string
	f, err := os.Open(auditLog)
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e auditEvent
		Expect(json.Unmarshal(sc.Bytes(), &e)).To(Succeed())
		if e.ObjectRef == nil || e.ImpersonatedUser == nil || e.ImpersonatedUser.Username != managerUser {
			continue
		}
		resource := e.ObjectRef.Resource
		if e.ObjectRef.Subresource != "" {
			resource += "/" + e.ObjectRef.Subresource
		}
		p := permission(e.ObjectRef.APIGroup, resource, e.Verb)
		if e.ResponseStatus != nil && e.ResponseStatus.Code == 403 {
			forbidden = append(forbidden, p)
		}
		used[p] = true
	}
	Expect(sc.Err()).NotTo(HaveOccurred())
	Expect(forbidden).To(BeEmpty(), "the manager was refused these: config/rbac lacks them")
	suite, _ := GinkgoConfiguration()
	if len(suite.FocusStrings) > 0 || len(suite.FocusFiles) > 0 || suite.LabelFilter != "" {
		// Only the whole suite exercises every permission; make test runs it whole.
		return
	}

	var granted []string
	raw, err := os.ReadFile(filepath.Join("..", "..", "config", "rbac", "role.yaml"))
	Expect(err).NotTo(HaveOccurred())
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		var role rbacv1.ClusterRole // a Role has the same rules
		Expect(yaml.Unmarshal([]byte(doc), &role)).To(Succeed())
		for _, r := range role.Rules {
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					for _, v := range r.Verbs {
						granted = append(granted, permission(g, res, v))
					}
				}
			}
		}
	}
	Expect(granted).NotTo(BeEmpty())
	var needless []string
	for _, p := range granted {
		if !used[p] && unexercised[p] == "" {
			needless = append(needless, p)
		}
	}
	sort.Strings(needless)
	Expect(needless).To(BeEmpty(), "config/rbac grants these, and no test made the manager use them")
}
