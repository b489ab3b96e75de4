package checks

import (
	"github.com/paasdiag/paasdiag/internal/testsupport/mariadb"
	"strings"
	"testing"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/platformdb"
)

// POOL13: the platform's own tests of the allocator
// (apiserver/paasng/tests/paasng/accessories/services/test_provider.py, identical on
// release-1.7 and main), case by case. paasdiag does not pick the instance, only
// whether the environment gets one, and whether from a policy instance.
func TestPOOL13_PlatformAllocatorTests(t *testing.T) {
	const exact = `{"app_code": ["myapp"], "module_name": ["default"], "env_name": ["prod"]}`
	for _, tt := range []struct {
		name       string // the platform's test id
		fifo       int
		policies   []string
		env        [3]string
		wantServed bool
		wantPolicy bool // served by a policy instance (policies win over FIFO)
	}{
		{"test_provision (1 or 3 FIFO instances)", 3, nil, [3]string{"myapp", "default", "prod"}, true, false},
		{"exact_match_all_dimensions", 1, []string{exact}, [3]string{"myapp", "default", "prod"}, true, true},
		{"wildcard_module_and_env", 1, []string{`{"app_code": ["myapp"]}`}, [3]string{"myapp", "default", "prod"}, true, true},
		{"multi_value_env_match", 1, []string{`{"app_code": ["myapp"], "env_name": ["prod", "stag"]}`}, [3]string{"myapp", "default", "stag"}, true, true},
		{"app_code_mismatch_fallback_fifo", 1, []string{`{"app_code": ["otherapp"], "module_name": ["default"], "env_name": ["prod"]}`}, [3]string{"myapp", "default", "prod"}, true, false},
		{"env_mismatch_fallback_fifo", 1, []string{`{"app_code": ["myapp"], "env_name": ["prod"]}`}, [3]string{"myapp", "default", "stag"}, true, false},
		{"test_provision_policy_score_priority", 0, []string{`{"app_code": ["myapp"], "module_name": ["default"]}`, exact}, [3]string{"myapp", "default", "prod"}, true, true},
		{"test_provision_raises_when_all_allocated", 0, nil, [3]string{"myapp", "default", "prod"}, false, false},
		// What the platform does not test, read from match_instances.
		{"empty list never matches, FIFO serves", 1, []string{`{"app_code": []}`}, [3]string{"myapp", "default", "prod"}, true, false},
		{"empty list never matches, nothing else", 0, []string{`{"app_code": ["myapp"], "env_name": []}`}, [3]string{"myapp", "default", "prod"}, false, false},
		{"null is a wildcard", 0, []string{`{"app_code": null, "module_name": null, "env_name": ["prod"]}`}, [3]string{"x", "y", "prod"}, true, true},
		{"an empty policy serves any app", 0, []string{`{}`}, [3]string{"x", "y", "z"}, true, true},
		{"a JSON null policy serves any app", 0, []string{`null`}, [3]string{"x", "y", "z"}, true, true},
		{"a policy-only pool with no match", 0, []string{`{"app_code": ["other"]}`}, [3]string{"myapp", "default", "prod"}, false, false},
		{"a bare string is a substring test", 0, []string{`{"app_code": "myapp-and-more"}`}, [3]string{"myapp", "default", "prod"}, true, true},
		{"values compare case-sensitively", 0, []string{`{"app_code": ["MyApp"]}`}, [3]string{"myapp", "default", "prod"}, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var groups []policyGroupInput
			for _, p := range tt.policies {
				groups = append(groups, policyGroupInput{raw: p, count: 1})
			}
			pp := classify(groups)
			served, err := pp.served(tt.fifo, tt.env[0], tt.env[1], tt.env[2])
			if err != nil || served != tt.wantServed {
				t.Fatalf("served = %v, %v; want %v", served, err, tt.wantServed)
			}
			byPolicy, _ := pp.served(0, tt.env[0], tt.env[1], tt.env[2])
			if byPolicy != tt.wantPolicy {
				t.Errorf("served by a policy instance = %v, want %v", byPolicy, tt.wantPolicy)
			}
		})
	}
}

// A policy the platform raises on (not an object, or a dimension Python's `in`
// cannot search) fails provisioning from the plan, whatever the FIFO count; a
// dimension is only evaluated when the ones before it matched.
func TestBrokenPolicies(t *testing.T) {
	for _, tt := range []struct {
		policy  string
		env     [3]string
		wantErr bool
	}{
		{`["myapp"]`, [3]string{"myapp", "default", "prod"}, true},
		{`"myapp"`, [3]string{"myapp", "default", "prod"}, true},
		{`{not json`, [3]string{"myapp", "default", "prod"}, true},
		{`{"app_code": ["myapp"], "env_name": 3}`, [3]string{"myapp", "default", "prod"}, true},
		{`{"app_code": ["other"], "env_name": 3}`, [3]string{"myapp", "default", "prod"}, false},
	} {
		pp := classify([]policyGroupInput{{raw: tt.policy, count: 1}})
		_, err := pp.served(5, tt.env[0], tt.env[1], tt.env[2])
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err %v, want an error: %v", tt.policy, err, tt.wantErr)
		}
	}
}

func policyPlan(available, policy, total int) platformdb.PlanPool {
	p := plan("redis", "0shared", available, policy, total)
	p.PlanID = "p1"
	return p
}

// POOL07: a policy instance whose binding policy leaves every dimension missing or
// null serves any app: a plan whose only free instances are such is not empty.
func TestPOOL07_WildcardPolicyIsAvailable(t *testing.T) {
	r := judgePools(&platformdb.PoolReport{Schema: current, Plans: []platformdb.PlanPool{policyPlan(0, 2, 2)},
		Policies: []platformdb.PolicyGroup{{PlanID: "p1", Policy: `{"app_code": null}`, Count: 1}, {PlanID: "p1", Policy: `{}`, Count: 1}}},
		&v1alpha1.InstancePoolsCheck{MinAvailable: 1})
	expectVerdict(t, r, check.Pass, v1alpha1.ReasonSucceeded, "")
	var s v1alpha1.PaaSDiagnosisStatus
	r.Details(&s)
	if s.Pools[0].Available != 2 || s.Pools[0].Policy != 0 {
		t.Errorf("%+v", s.Pools[0])
	}
}

// POOL09: a policy instance for some apps only serves them: a plan with nothing for
// any app is 4313022, and its message says which apps can still get an instance. The
// unprovisioned environments the policy matches are not counted as failing.
func TestPOOL09_AppSpecificPolicyServesOnlyItsApps(t *testing.T) {
	r := judgePools(&platformdb.PoolReport{Schema: current, Plans: []platformdb.PlanPool{policyPlan(0, 1, 3)},
		Policies: []platformdb.PolicyGroup{{PlanID: "p1", Policy: `{"app_code": ["vip"]}`, Count: 1}},
		Unprovisioned: []platformdb.Unprovisioned{
			{PlanID: "p1", App: "vip", Module: "default", Env: "prod"},
			{PlanID: "p1", App: "other", Module: "default", Env: "stag"},
		}}, &v1alpha1.InstancePoolsCheck{MinAvailable: 1})
	expectVerdict(t, r, check.Fail, v1alpha1.ReasonPoolEmpty, "4313022")
	msg := r.Findings[0].Message
	for _, want := range []string{`only these apps can still get one: app_code ["vip"] (1)`, "2 bound environment(s) have no instance yet, and 1 of them would get none on their next deploy: other/default/stag"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	var s v1alpha1.PaaSDiagnosisStatus
	r.Details(&s)
	if p := s.Pools[0]; p.Available != 0 || p.Policy != 1 || p.Unprovisioned != 2 || p.WouldFail != 1 {
		t.Errorf("%+v", p)
	}
}

// POOL11: a policy whose dimension is an empty list matches no app: a Warning without
// a code, since the platform only logs it.
func TestPOOL11_EmptyListPolicyWarns(t *testing.T) {
	r := judgePools(&platformdb.PoolReport{Schema: current, Plans: []platformdb.PlanPool{policyPlan(1, 1, 2)},
		Policies: []platformdb.PolicyGroup{{PlanID: "p1", Policy: `{"env_name": []}`, Count: 1}}}, &v1alpha1.InstancePoolsCheck{MinAvailable: 1})
	expectVerdict(t, r, check.Pass, v1alpha1.ReasonSucceeded, "")
	if len(r.Findings) != 1 || r.Findings[0].Reason != v1alpha1.ReasonPolicyNeverMatches || r.Findings[0].Code != "" ||
		r.Findings[0].Severity != v1alpha1.SeverityWarning || !strings.Contains(r.Findings[0].Message, "env_name is an empty list") {
		t.Fatalf("%+v", r.Findings)
	}
}

// POOL08: a deactivated plan that environments are still bound to without an instance
// is judged like an active one; one nobody waits on is not.
func TestPOOL08_DeactivatedPlanStillBound(t *testing.T) {
	retired := policyPlan(0, 0, 1)
	retired.PlanActive = false
	bound := []platformdb.Unprovisioned{{PlanID: "p1", App: "a", Module: "default", Env: "prod"}}
	r := judgePools(&platformdb.PoolReport{Schema: current, Plans: []platformdb.PlanPool{retired}, Unprovisioned: bound}, &v1alpha1.InstancePoolsCheck{MinAvailable: 1})
	expectVerdict(t, r, check.Fail, v1alpha1.ReasonPoolEmpty, "4313022")
	if !strings.Contains(r.Findings[0].Message, "deactivated") || !strings.Contains(r.Findings[0].Message, "a/default/prod") {
		t.Errorf("message %q", r.Findings[0].Message)
	}
	r = judgePools(&platformdb.PoolReport{Schema: current, Plans: []platformdb.PlanPool{retired}}, &v1alpha1.InstancePoolsCheck{MinAvailable: 1})
	expectVerdict(t, r, check.Pass, v1alpha1.ReasonSucceeded, "")
}

// POOL12: the environments whose next deploy would fail are named (the first few) with
// their count, on 1.6 too; an environment without a module fails before the pool is
// looked at, so it is not counted.
func TestPOOL12_NamesTheEnvironmentsThatWouldFail(t *testing.T) {
	var bound []platformdb.Unprovisioned
	for _, app := range []string{"a1", "a2", "a3", "a4", "a5", "a6", "a7"} {
		bound = append(bound, platformdb.Unprovisioned{PlanID: "p1", App: app, Module: "default", Env: "prod"})
	}
	bound = append(bound, platformdb.Unprovisioned{PlanID: "p1", App: "nomodule", Env: "prod"})
	r := judgePools(&platformdb.PoolReport{Schema: current, Plans: []platformdb.PlanPool{policyPlan(0, 0, 4)}, Unprovisioned: bound}, &v1alpha1.InstancePoolsCheck{MinAvailable: 1})
	expectVerdict(t, r, check.Fail, v1alpha1.ReasonPoolEmpty, "4313022")
	if want := "7 of them would get none on their next deploy: a1/default/prod, a2/default/prod, a3/default/prod, a4/default/prod, a5/default/prod and 2 more"; !strings.Contains(r.Findings[0].Message, want) {
		t.Errorf("message %q lacks %q", r.Findings[0].Message, want)
	}
	if !strings.Contains(r.Message, "7 bound environment(s) would fail on their next deploy") {
		t.Errorf("condition message %q", r.Message)
	}
	var s v1alpha1.PaaSDiagnosisStatus
	r.Details(&s)
	if p := s.Pools[0]; p.Unprovisioned != 8 || p.WouldFail != 7 {
		t.Errorf("%+v", p)
	}
	// 1.6 does not read the module: that environment fails on the pool too.
	r = judgePools(&platformdb.PoolReport{Schema: platformdb.PoolSchema{}, Plans: []platformdb.PlanPool{policyPlan(0, 0, 4)}, Unprovisioned: bound}, &v1alpha1.InstancePoolsCheck{MinAvailable: 1})
	s = v1alpha1.PaaSDiagnosisStatus{}
	r.Details(&s)
	if p := s.Pools[0]; p.WouldFail != 8 {
		t.Errorf("1.6: %+v", p)
	}
}

// Without the grant on the binding tables the pools are still judged, with a warning
// that says what cannot be done.
func TestBindingsUnreadableWarns(t *testing.T) {
	r := judgePools(&platformdb.PoolReport{Schema: current, Plans: []platformdb.PlanPool{policyPlan(1, 0, 1)}, BindingsHidden: "table modules_module"},
		&v1alpha1.InstancePoolsCheck{MinAvailable: 1})
	expectVerdict(t, r, check.Pass, v1alpha1.ReasonSucceeded, "")
	if len(r.Findings) != 1 || r.Findings[0].Reason != v1alpha1.ReasonBindingsUnreadable || !strings.Contains(r.Findings[0].Message, "modules_module") {
		t.Fatalf("%+v", r.Findings)
	}
}

// POOL10: on 1.7+, a grant that shows allocation_type but hides binding_policy (the
// grant of paasdiag before it read policies) cannot tell wildcard policy instances
// from reserved ones: SchemaUnrecognized, not a false 4313022.
func TestPOOL10_HiddenBindingPolicy(t *testing.T) {
	det := lineDetection(t, mariadb.Release17)
	err := hiddenColumns(platformdb.PoolSchema{PlanTenant: true, AllocationType: true}, det)
	if err == nil || !strings.Contains(err.Error(), "binding_policy (services 0009)") {
		t.Fatalf("%v", err)
	}
	if err := hiddenColumns(platformdb.PoolSchema{PlanTenant: true, AllocationType: true, BindingPolicy: true}, det); err != nil {
		t.Errorf("full grant: %v", err)
	}
}
