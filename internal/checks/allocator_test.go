package checks

import (
	"github.com/paasdiag/paasdiag/internal/testsupport/mariadb"
	"strings"
	"testing"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/platformdb"
)

// POOL13: the platform's own tests of the allocator, case by case, on every line:
// apiserver/paasng/tests/paasng/accessories/services/test_provider.py (1.6; 1.7 and main
// identical but for the copyright line), test_import.py beside it, and
// apiserver/paasng/tests/api/plat_mgt/applications/test_services.py (1.7, main), the
// one test elsewhere that provisions from a real pool. paasdiag does not pick the
// instance, only whether the environment gets one, and whether from a policy
// instance.
//
// A row is named after the Python test and its parameter ids: a pytest.param id, or
// the fixture params, bk_plan0 (plan config {"recyclable": true}) and bk_plan1 (plan
// config {}) and the pool size 1 or 3. Every test of test_provider.py runs with both
// bk_plan params; the plan's config is read only by delete (recyclable), so rows of
// other tests leave bk_plan out. Where a test does not provision (deletion, import),
// the row is the pool the test leaves behind, and what the next environment gets.
func TestPOOL13_PlatformAllocatorTests(t *testing.T) {
	const (
		exact = `{"app_code": ["myapp"], "module_name": ["default"], "env_name": ["prod"]}`
		all   = "1.6, 1.7, main"
		l16   = "1.6"
		l17   = "1.7, main"
	)
	var none [3]string // params {}: the platform tests' shortcut
	prod := [3]string{"myapp", "default", "prod"}
	stag := [3]string{"myapp", "default", "stag"}
	for _, tt := range []struct {
		name      string // the platform's test id
		lines     string
		fifo      int // unallocated FIFO instances (on 1.6, every unallocated one)
		allocated int
		policies  []string // unallocated policy instances (1.7+)
		// params: application_code, module_name, env_name; all empty is `{}`.
		params     [3]string
		wantServed bool
		wantPolicy bool // served by a policy instance (policies win over FIFO)
		// wantEmpty: the plan is PoolEmpty / 4313022 (no FIFO and no wildcard
		// instance), whether or not this environment is served (POOL09).
		wantEmpty bool
	}{
		// test_provider.py, TestResourcePoolProvider.
		{name: "test_provision[1]", lines: all, fifo: 1, params: none, wantServed: true},
		{name: "test_provision[3]", lines: all, fifo: 3, params: none, wantServed: true},
		// The config is parsed after the instance is chosen: it does not bear on which.
		{name: "test_provision_with_str_config", lines: all, fifo: 1, params: none, wantServed: true},
		// After delete_service_instance: a recyclable plan puts the instance back
		// (1.6 reads recyclable with default false, 1.7+ with default true), otherwise
		// it stays allocated and the pool is one short.
		{name: "test_delete[bk_plan0-1]", lines: all, fifo: 1, params: none, wantServed: true},
		{name: "test_delete[bk_plan0-3]", lines: all, fifo: 3, params: none, wantServed: true},
		{name: "test_delete[bk_plan1-1]", lines: l16, allocated: 1, params: none, wantEmpty: true},
		{name: "test_delete[bk_plan1-3]", lines: l16, fifo: 2, allocated: 1, params: none, wantServed: true},
		{name: "test_delete[bk_plan1-1]", lines: l17, fifo: 1, params: none, wantServed: true},
		{name: "test_delete[bk_plan1-3]", lines: l17, fifo: 3, params: none, wantServed: true},
		{name: "test_provision_with_policy_match[exact_match_all_dimensions]", lines: l17, fifo: 1, policies: []string{exact}, params: prod, wantServed: true, wantPolicy: true},
		{name: "test_provision_with_policy_match[wildcard_module_and_env]", lines: l17, fifo: 1, policies: []string{`{"app_code": ["myapp"]}`}, params: prod, wantServed: true, wantPolicy: true},
		{name: "test_provision_with_policy_match[multi_value_env_match]", lines: l17, fifo: 1, policies: []string{`{"app_code": ["myapp"], "env_name": ["prod", "stag"]}`}, params: stag, wantServed: true, wantPolicy: true},
		{name: "test_provision_with_policy_match[app_code_mismatch_fallback_fifo]", lines: l17, fifo: 1, policies: []string{`{"app_code": ["otherapp"], "module_name": ["default"], "env_name": ["prod"]}`}, params: prod, wantServed: true},
		{name: "test_provision_with_policy_match[env_mismatch_fallback_fifo]", lines: l17, fifo: 1, policies: []string{`{"app_code": ["myapp"], "env_name": ["prod"]}`}, params: stag, wantServed: true},
		{name: "test_provision_policy_score_priority", lines: l17, policies: []string{`{"app_code": ["myapp"], "module_name": ["default"]}`, exact}, params: prod, wantServed: true, wantPolicy: true, wantEmpty: true},
		{name: "test_provision_raises_when_all_allocated", lines: l17, allocated: 1, params: none, wantEmpty: true},

		// test_import.py, TestPreCreatedInstanceImport: imported instances are FIFO
		// (the serializer leaves allocation_type to its default), in the plan of the
		// importing tenant.
		{name: "test_import_single[input_0]", lines: all, fifo: 1, params: none, wantServed: true},
		{name: "test_import_single[input_1]", lines: all, fifo: 1, params: none, wantServed: true},
		{name: "test_import_multi[input_0-0]", lines: all, params: none, wantEmpty: true},
		{name: "test_import_multi[input_1-1]", lines: all, fifo: 1, params: none, wantServed: true},
		{name: "test_import_multi[input_2-2]", lines: all, fifo: 2, params: none, wantServed: true},
		// pytest's id of a YAML case is the escaped YAML text; <...> stands for it.
		{name: "test_import_from_yaml[<one document>-1]", lines: all, fifo: 1, params: none, wantServed: true},
		{name: "test_import_from_yaml[<two documents>-2]", lines: all, fifo: 2, params: none, wantServed: true},
		{name: "test_import_with_multi_tenant[input_0]", lines: l17, fifo: 1, params: none, wantServed: true},
		{name: "test_import_with_multi_tenant[input_1]", lines: l17, fifo: 1, params: none, wantServed: true},

		// tests/api/plat_mgt/applications/test_services.py: one FIFO instance per plan;
		// the stag environment of the default module gets it (test_provision_instance,
		// and rel.provision() in the setup of test_list_unbound_attachments,
		// test_unbound_instance, test_unbound_shared_service_instance_forbidden,
		// test_recycle_unbound_instance and test_view_credentials).
		{name: "test_provision_instance", lines: l17, fifo: 1, params: [3]string{"bk_app", "default", "stag"}, wantServed: true},

		// What the platform does not test, read from select_precreated_instance and
		// match_instances.
		// The plan still counts the wildcard as available: no deploy passes `{}`.
		{name: "params {} takes FIFO only, a wildcard policy instance is not read", lines: l17, policies: []string{`{}`}, params: none},
		{name: "params {} does not evaluate a broken policy", lines: l17, fifo: 1, policies: []string{`["myapp"]`}, params: none, wantServed: true},
		{name: "empty list never matches, FIFO serves", lines: l17, fifo: 1, policies: []string{`{"app_code": []}`}, params: prod, wantServed: true},
		{name: "empty list never matches, nothing else", lines: l17, policies: []string{`{"app_code": ["myapp"], "env_name": []}`}, params: prod, wantEmpty: true},
		{name: "null is a wildcard", lines: l17, policies: []string{`{"app_code": null, "module_name": null, "env_name": ["prod"]}`}, params: [3]string{"x", "y", "prod"}, wantServed: true, wantPolicy: true, wantEmpty: true},
		{name: "an empty policy serves any app", lines: l17, policies: []string{`{}`}, params: [3]string{"x", "y", "z"}, wantServed: true, wantPolicy: true},
		{name: "a JSON null policy serves any app", lines: l17, policies: []string{`null`}, params: [3]string{"x", "y", "z"}, wantServed: true, wantPolicy: true},
		{name: "a policy-only pool with no match", lines: l17, policies: []string{`{"app_code": ["other"]}`}, params: prod, wantEmpty: true},
		{name: "a bare string is a substring test", lines: l17, policies: []string{`{"app_code": "myapp-and-more"}`}, params: prod, wantServed: true, wantPolicy: true, wantEmpty: true},
		{name: "values compare case-sensitively", lines: l17, policies: []string{`{"app_code": ["MyApp"]}`}, params: prod, wantEmpty: true},
	} {
		t.Run(tt.lines+"/"+tt.name, func(t *testing.T) {
			var groups []policyGroupInput
			var report []platformdb.PolicyGroup
			for _, p := range tt.policies {
				groups = append(groups, policyGroupInput{raw: p, count: 1})
				report = append(report, platformdb.PolicyGroup{PlanID: "p1", Policy: p, Count: 1})
			}
			pp := classify(groups)
			served, err := pp.served(tt.fifo, tt.params[0], tt.params[1], tt.params[2])
			if err != nil || served != tt.wantServed {
				t.Fatalf("served = %v, %v; want %v", served, err, tt.wantServed)
			}
			byPolicy, _ := pp.served(0, tt.params[0], tt.params[1], tt.params[2])
			if byPolicy != tt.wantPolicy {
				t.Errorf("served by a policy instance = %v, want %v", byPolicy, tt.wantPolicy)
			}

			// The same pool judged as the check judges it, on the schema of the line.
			if tt.lines != l17 && len(tt.policies) > 0 {
				t.Fatal("1.6 has no policy instances")
			}
			schemas := map[string]platformdb.PoolSchema{l17: {PlanTenant: true, AllocationType: true, BindingPolicy: true}}
			switch tt.lines {
			case l16:
				schemas = map[string]platformdb.PoolSchema{l16: {}}
			case all:
				schemas[l16] = platformdb.PoolSchema{}
			}
			for line, schema := range schemas {
				p := policyPlan(tt.fifo, len(tt.policies), tt.fifo+len(tt.policies)+tt.allocated)
				pr := &platformdb.PoolReport{Schema: schema, Plans: []platformdb.PlanPool{p}, Policies: report}
				if tt.params != none {
					pr.Unprovisioned = []platformdb.Unprovisioned{{PlanID: "p1", App: tt.params[0], Module: tt.params[1], Env: tt.params[2]}}
				}
				r := judgePools(pr, &v1alpha1.InstancePoolsCheck{MinAvailable: 1})
				if tt.wantEmpty {
					expectVerdict(t, r, check.Fail, v1alpha1.ReasonPoolEmpty, "4313022")
				} else {
					expectVerdict(t, r, check.Pass, v1alpha1.ReasonSucceeded, "")
				}
				var s v1alpha1.PaaSDiagnosisStatus
				r.Details(&s)
				wantFail := int32(0)
				if tt.params != none && !tt.wantServed {
					wantFail = 1
				}
				if s.Pools[0].WouldFail != wantFail {
					t.Errorf("%s: wouldFail = %d, want %d", line, s.Pools[0].WouldFail, wantFail)
				}
			}
		})
	}

	// test_import_with_multi_tenant: the instance goes to plan-b of the importing
	// tenant; plan-b of tenants test1 and test2 are other plans, and stay empty.
	t.Run("1.7, main/test_import_with_multi_tenant: the other tenants' plans", func(t *testing.T) {
		var plans []platformdb.PlanPool
		for i, tenant := range []string{"default", "test1", "test2"} {
			p := plan("redis", "plan-b", 0, 0, 0)
			p.PlanID, p.Tenant = "p"+tenant, tenant
			if i == 0 {
				p.Available, p.Total = 1, 1
			}
			plans = append(plans, p)
		}
		r := judgePools(&platformdb.PoolReport{Schema: current, Plans: plans}, &v1alpha1.InstancePoolsCheck{MinAvailable: 1})
		expectVerdict(t, r, check.Fail, v1alpha1.ReasonPoolEmpty, "4313022")
		if want := "2 of 3 plan(s) have no available instance: redis/plan-b@test1, redis/plan-b@test2"; !strings.Contains(r.Message, want) {
			t.Errorf("message %q lacks %q", r.Message, want)
		}
	})
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
		// app_code is tested first and raises: the empty list after it is never reached.
		{`{"app_code": 3, "env_name": []}`, [3]string{"myapp", "default", "prod"}, true},
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

// POOL11: a dimension the platform raises on (a number) is a PolicyBroken warning even
// before an environment waits on the plan; one behind an empty list is never reached.
func TestPOOL11_RaisingDimensionWarnsWithoutBoundEnvironments(t *testing.T) {
	for _, c := range []struct{ policy, reason, words string }{
		{`{"env_name": 3}`, v1alpha1.ReasonPolicyBroken, "env_name is a JSON number"},
		{`{"app_code": 3, "env_name": []}`, v1alpha1.ReasonPolicyBroken, "app_code is a JSON number"},
		{`{"app_code": [], "env_name": 3}`, v1alpha1.ReasonPolicyNeverMatches, "app_code is an empty list"},
	} {
		r := judgePools(&platformdb.PoolReport{Schema: current, Plans: []platformdb.PlanPool{policyPlan(1, 1, 2)},
			Policies: []platformdb.PolicyGroup{{PlanID: "p1", Policy: c.policy, Count: 1}}}, &v1alpha1.InstancePoolsCheck{MinAvailable: 1})
		expectVerdict(t, r, check.Pass, v1alpha1.ReasonSucceeded, "")
		if len(r.Findings) != 1 || r.Findings[0].Reason != c.reason || r.Findings[0].Code != "" || !strings.Contains(r.Findings[0].Message, c.words) {
			t.Errorf("%s: %+v", c.policy, r.Findings)
		}
	}
}

// POOL11: a free policy instance the platform raises on for every environment (not an
// object; a first-tested dimension that is a number) stops provisioning from the plan
// before it gets to 4313022: a plan with nothing else is PolicyBroken, never PoolEmpty.
// One that raises only for the apps it names leaves the others' 4313022.
func TestPOOL11_BrokenPolicyIsNot4313022(t *testing.T) {
	waiting := []platformdb.Unprovisioned{{PlanID: "p1", App: "demo", Module: "default", Env: "prod"}}
	for _, c := range []struct {
		policy    string
		available int
		empty     bool
	}{
		{`["x"]`, 0, false},
		{`{"app_code": 3}`, 0, false},
		{`{"module_name": null, "app_code": true}`, 2, false},
		{`{"app_code": ["x"], "env_name": 3}`, 0, true},
	} {
		r := judgePools(&platformdb.PoolReport{Schema: current, Plans: []platformdb.PlanPool{policyPlan(c.available, 1, c.available+1)},
			Policies: []platformdb.PolicyGroup{{PlanID: "p1", Policy: c.policy, Count: 1}}, Unprovisioned: waiting}, &v1alpha1.InstancePoolsCheck{MinAvailable: 1})
		var broken []check.Finding
		for _, f := range r.Findings {
			if f.Reason == v1alpha1.ReasonPolicyBroken {
				broken = append(broken, f)
			}
		}
		if len(broken) != 1 || broken[0].Code != "" || strings.Count(broken[0].Message, "binding_policy") != 1 {
			t.Errorf("%s: PolicyBroken %+v", c.policy, broken)
		}
		if c.empty {
			expectVerdict(t, r, check.Fail, v1alpha1.ReasonPoolEmpty, "4313022")
			continue
		}
		if r.Status != check.Pass || strings.Contains(r.Message, "4313022") {
			t.Errorf("%s: %s/%s %s", c.policy, r.Status, r.Reason, r.Message)
		}
		for _, f := range r.Findings {
			if f.Code != "" {
				t.Errorf("%s: claims %s: %+v", c.policy, f.Code, f)
			}
		}
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
