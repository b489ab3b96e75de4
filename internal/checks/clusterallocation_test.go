package checks

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/platformdb"
)

// The clusters of the platform's own allocator test (main
// apiserver/paasng/tests/paas_wl/infras/cluster/test_allocator.py, TestClusterAllocator
// _setup): all the random tenant's but tencent-gz0.
func portedAllocation(policy platformdb.AllocationPolicyRow) (*platformdb.Allocation, []platformdb.ClusterRow) {
	const tenant = "rnd"
	a := &platformdb.Allocation{Policies: map[string]platformdb.AllocationPolicyRow{}, Tenancy: map[string]platformdb.ClusterTenancy{}}
	var rows []platformdb.ClusterRow
	for _, name := range []string{"random-sz1", "random-sz0", "tencent-gz0", "blueking-sh0", "blueking-sz0", "sandbox-cluster", "ai-agent-cluster"} {
		owner := tenant
		if name == "tencent-gz0" {
			owner = "tencent"
		}
		rows = append(rows, platformdb.ClusterRow{Name: name})
		a.Tenancy[name] = platformdb.ClusterTenancy{Tenant: owner, Available: "[]"}
	}
	policy.Tenant = tenant
	a.Policies[tenant] = policy
	return a, rows
}

func jsonColumn(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// _uniform_policy and _rule_based_policy of the platform's test, as the rows cattrs
// unstructures them into.
var (
	portedUniform = platformdb.AllocationPolicyRow{Type: "uniform",
		Policy: jsonColumn(`{"env_specific": false, "clusters": ["random-sz0"], "env_clusters": null}`), Precedence: jsonColumn(`[]`)}
	portedRuleBased = platformdb.AllocationPolicyRow{Type: "rule_based", Precedence: jsonColumn(`[
		{"matcher": {"username_in": "zhangsan, lisi"}, "policy": {"env_specific": false, "clusters": ["random-sz0", "random-sz1"], "env_clusters": null}},
		{"matcher": {"usage_is": "agent_sandbox"}, "policy": {"env_specific": false, "clusters": ["sandbox-cluster"], "env_clusters": null}},
		{"matcher": {"usage_is": "ai_agent"}, "policy": {"env_specific": true, "clusters": null, "env_clusters": {"stag": ["ai-agent-cluster"], "prod": ["ai-agent-cluster"]}}},
		{"matcher": {"region_is": "default"}, "policy": {"env_specific": true, "clusters": null, "env_clusters": {"stag": ["random-sz0"], "prod": ["random-sz1"]}}},
		{"matcher": {"region_is": "blueking"}, "policy": {"env_specific": true, "clusters": null, "env_clusters": {"stag": ["blueking-sz0"], "prod": ["blueking-sz0", "blueking-sh0"]}}},
		{"matcher": {}, "policy": {"env_specific": false, "clusters": ["random-sz1"], "env_clusters": null}}]`)}
)

func user(name string) *string { return &name }

// CLU28: the platform's allocator tests, case by case (main test_allocator.py; the
// tenant filter is main's, so each case runs with it).
func TestCLU28_PlatformAllocatorCases(t *testing.T) {
	type ctx = allocationContext
	cases := []struct {
		name    string
		policy  platformdb.AllocationPolicyRow
		ctx     ctx
		list    string // ClusterAllocator(ctx).list(), in order; "" when it raises
		dflt    string // get_default()
		failure string
	}{
		{"test_policy_base_uniform_list", portedUniform, ctx{tenant: "rnd", region: "default", environment: "prod"}, "random-sz0", "random-sz0", ""},
		{"test_policy_base_rule_based_list zhangsan", portedRuleBased, ctx{tenant: "rnd", region: "default", environment: "prod", username: user("zhangsan")}, "random-sz0 random-sz1", "random-sz0", ""},
		{"test_policy_base_rule_based_list wangwu", portedRuleBased, ctx{tenant: "rnd", region: "default", environment: "prod", username: user("wangwu")}, "random-sz1", "random-sz1", ""},
		{"test_policy_base_rule_based_list stag", portedRuleBased, ctx{tenant: "rnd", region: "default", environment: "stag", username: user("wangwu")}, "random-sz0", "random-sz0", ""},
		{"test_policy_base_rule_based_list blueking stag", portedRuleBased, ctx{tenant: "rnd", region: "blueking", environment: "stag", username: user("wangwu")}, "blueking-sz0", "blueking-sz0", ""},
		{"test_policy_base_rule_based_list blueking prod", portedRuleBased, ctx{tenant: "rnd", region: "blueking", environment: "prod", username: user("wangwu")}, "blueking-sz0 blueking-sh0", "blueking-sz0", ""},
		{"test_policy_base_rule_based_list tencent", portedRuleBased, ctx{tenant: "rnd", region: "tencent", environment: "prod", username: user("wangwu")}, "random-sz1", "random-sz1", ""},
		{"test_get_default_with_uniform_policy", portedUniform, ctx{tenant: "rnd", region: "default", environment: "stag"}, "random-sz0", "random-sz0", ""},
		{"test_get_default_with_rule_based_policy default stag", portedRuleBased, ctx{tenant: "rnd", region: "default", environment: "stag"}, "random-sz0", "random-sz0", ""},
		{"test_get_default_with_rule_based_policy tencent", portedRuleBased, ctx{tenant: "rnd", region: "tencent", environment: "stag"}, "random-sz1", "random-sz1", ""},
		{"test_get_default_with_rule_based_policy blueking prod", portedRuleBased, ctx{tenant: "rnd", region: "blueking", environment: "prod"}, "blueking-sz0 blueking-sh0", "blueking-sz0", ""},
		{"test_get_default_with_rule_based_policy zhangsan", portedRuleBased, ctx{tenant: "rnd", region: "blueking", environment: "prod", username: user("zhangsan")}, "random-sz0 random-sz1", "random-sz0", ""},
		{"test_get_default_with_rule_based_policy agent_sandbox", portedRuleBased, ctx{tenant: "rnd", region: "blueking", environment: "prod", usage: "agent_sandbox"}, "sandbox-cluster", "sandbox-cluster", ""},
		{"test_get_default_with_rule_based_policy ai_agent", portedRuleBased, ctx{tenant: "rnd", region: "blueking", environment: "prod", usage: "ai_agent"}, "ai-agent-cluster", "ai-agent-cluster", ""},
		{"test_rule_based_policy_raises_when_matched_clusters_unavailable", platformdb.AllocationPolicyRow{Type: "rule_based", Precedence: jsonColumn(`[
			{"matcher": {"usage_is": "ai_agent"}, "policy": {"env_specific": false, "clusters": ["unavailable-ai-agent-cluster"]}},
			{"matcher": {}, "policy": {"env_specific": false, "clusters": ["random-sz1"]}}]`)},
			ctx{tenant: "rnd", region: "default", environment: "prod", usage: "ai_agent"}, "", "", "none of the clusters its policy names (unavailable-ai-agent-cluster) exists"},
		// The tenant filter (main): tencent-gz0 is another tenant's, until shared.
		{"another tenant's cluster", platformdb.AllocationPolicyRow{Type: "uniform", Policy: jsonColumn(`{"env_specific": false, "clusters": ["tencent-gz0"]}`)},
			ctx{tenant: "rnd", region: "default", environment: "prod"}, "", "", "belongs to or is shared with tenant rnd"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			al := newAllocator(portedAllocation(c.policy))
			names, failure, unported := al.clusters(c.ctx, true)
			if unported != nil {
				t.Fatalf("unported: %v", unported)
			}
			if got := strings.Join(names, " "); got != c.list {
				t.Errorf("list %q, want %q", got, c.list)
			}
			dflt, derr, _ := al.defaultCluster(c.ctx, true)
			if dflt != c.dflt {
				t.Errorf("default %q, want %q", dflt, c.dflt)
			}
			if (c.failure == "") != (failure == nil) || (failure != nil && !strings.Contains(failure.Error(), c.failure)) ||
				fmt.Sprint(failure) != fmt.Sprint(derr) {
				t.Errorf("failure %v / %v, want %q", failure, derr, c.failure)
			}
		})
	}
}

// CLU28: the policy row as the platform loads it, and what raises.
func TestCLU28_PolicyLoading(t *testing.T) {
	prod := allocationContext{tenant: "rnd", region: "default", environment: "prod"}
	cases := []struct {
		name           string
		policy         platformdb.AllocationPolicyRow
		noPolicy       bool
		dflt, failure  string
		unported       bool
		withoutTenancy bool
		releaseWithout bool // release-1.7: no tenant filter
	}{
		{name: "no policy for the tenant", noPolicy: true, failure: "tenant rnd has no cluster allocation policy"},
		{name: "uniform with a NULL allocation_policy", policy: platformdb.AllocationPolicyRow{Type: "uniform", Precedence: jsonColumn(`[]`)},
			failure: "unknown cluster allocation policy type: uniform"},
		{name: "uniform with a JSON null allocation_policy", policy: platformdb.AllocationPolicyRow{Type: "uniform", Policy: jsonColumn(`null`)},
			failure: "unknown cluster allocation policy type: uniform"},
		{name: "an unknown type", policy: platformdb.AllocationPolicyRow{Type: "manual", Policy: jsonColumn(`{"env_specific": false, "clusters": ["random-sz0"]}`)},
			failure: "unknown cluster allocation policy type: manual"},
		{name: "env_specific without env_clusters raises on load", policy: platformdb.AllocationPolicyRow{Type: "uniform", Policy: jsonColumn(`{"env_specific": true, "clusters": ["random-sz0"]}`)},
			failure: "env_clusters can not be empty when env_specific is True"},
		{name: "an empty cluster list raises on load", policy: platformdb.AllocationPolicyRow{Type: "uniform", Policy: jsonColumn(`{"env_specific": false, "clusters": []}`)},
			failure: "clusters can not be empty when env_specific is False"},
		{name: "a broken rule breaks a uniform row too", policy: platformdb.AllocationPolicyRow{Type: "uniform",
			Policy: jsonColumn(`{"env_specific": false, "clusters": ["random-sz0"]}`), Precedence: jsonColumn(`[{"matcher": {"zone_is": "x"}, "policy": {"env_specific": false, "clusters": ["random-sz0"]}}]`)},
			failure: `"zone_is" is not a ClusterAllocationPolicyCondType`},
		{name: "env_specific missing", policy: platformdb.AllocationPolicyRow{Type: "uniform", Policy: jsonColumn(`{"clusters": ["random-sz0"]}`)},
			failure: "env_specific is missing"},
		{name: "env_specific is bool() of the value", policy: platformdb.AllocationPolicyRow{Type: "uniform",
			Policy: jsonColumn(`{"env_specific": "no", "env_clusters": {"prod": ["random-sz1"]}}`)}, dflt: "random-sz1"},
		{name: "no environment entry", policy: platformdb.AllocationPolicyRow{Type: "uniform",
			Policy: jsonColumn(`{"env_specific": true, "env_clusters": {"stag": ["random-sz1"]}}`)}, failure: "names no cluster for environment prod"},
		{name: "rule_based with null rules", policy: platformdb.AllocationPolicyRow{Type: "rule_based", Precedence: jsonColumn(`null`)},
			failure: "allocation_precedence_policies is null"},
		{name: "rule_based, no rule matches", policy: platformdb.AllocationPolicyRow{Type: "rule_based",
			Precedence: jsonColumn(`[{"matcher": {"region_is": "other"}, "policy": {"env_specific": false, "clusters": ["random-sz0"]}}]`)},
			failure: "no rule of its policy matches region default"},
		{name: "username_in never matches on the deploy path", policy: platformdb.AllocationPolicyRow{Type: "rule_based", Precedence: jsonColumn(`[
			{"matcher": {"username_in": "admin"}, "policy": {"env_specific": false, "clusters": ["random-sz0"]}},
			{"matcher": {"region_is": "default", "usage_is": "ai_agent"}, "policy": {"env_specific": false, "clusters": ["random-sz0"]}},
			{"matcher": {"region_is": "default"}, "policy": {"env_specific": false, "clusters": ["gone", "RANDOM-SZ1"]}}]`)},
			dflt: "RANDOM-SZ1"},
		{name: "a name that is not a string is not ported", policy: platformdb.AllocationPolicyRow{Type: "uniform", Policy: jsonColumn(`{"env_specific": false, "clusters": [1]}`)},
			unported: true},
		{name: "shared through available_tenant_ids", policy: platformdb.AllocationPolicyRow{Type: "uniform", Policy: jsonColumn(`{"env_specific": false, "clusters": ["shared"]}`)},
			dflt: "shared"},
		{name: "tenancy hidden: main's filter cannot be applied", policy: platformdb.AllocationPolicyRow{Type: "uniform", Policy: jsonColumn(`{"env_specific": false, "clusters": ["random-sz0"]}`)},
			withoutTenancy: true, unported: true},
		{name: "release-1.7 takes another tenant's cluster", policy: platformdb.AllocationPolicyRow{Type: "uniform", Policy: jsonColumn(`{"env_specific": false, "clusters": ["tencent-gz0"]}`)},
			releaseWithout: true, dflt: "tencent-gz0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, rows := portedAllocation(c.policy)
			rows = append(rows, platformdb.ClusterRow{Name: "shared"})
			a.Tenancy["shared"] = platformdb.ClusterTenancy{Tenant: "other", Available: `["x", "rnd"]`}
			if c.noPolicy {
				delete(a.Policies, "rnd")
			}
			if c.withoutTenancy {
				a.Tenancy = nil
			}
			dflt, failure, unported := newAllocator(a, rows).defaultCluster(prod, !c.releaseWithout)
			if c.unported != (unported != nil) {
				t.Fatalf("unported %v", unported)
			}
			if dflt != c.dflt {
				t.Errorf("default %q, want %q (%v)", dflt, c.dflt, failure)
			}
			if (c.failure == "") != (failure == nil) || (failure != nil && !strings.Contains(failure.Error(), c.failure)) {
				t.Errorf("failure %v, want %q", failure, c.failure)
			}
		})
	}
}

// CLU28: apps naming no cluster on 1.7+, per allocator line: an Error only where the
// platform's allocator raises for them; main's usage rules and tenant filter are
// judged without false alarms.
func TestCLU28_AppsThePolicyGivesNoCluster(t *testing.T) {
	rows := []platformdb.ClusterRow{{Name: "k8s-a"}, {Name: "k8s-b"}}
	tenancy := map[string]platformdb.ClusterTenancy{"k8s-a": {Tenant: "default", Available: "[]"}, "k8s-b": {Tenant: "other", Available: "[]"}}
	policy := func(precedence string) map[string]platformdb.AllocationPolicyRow {
		return map[string]platformdb.AllocationPolicyRow{"default": {Tenant: "default", Type: "rule_based", Precedence: jsonColumn(precedence)}}
	}
	apps := []platformdb.AppCluster{
		{App: "bkapp-x-prod", Region: "default", Tenant: "default"},
		{App: "bkapp-y-stag", Region: "default", Tenant: "default"},
		{App: "bkapp-z-prod", Region: "ieod", Tenant: "default"},
		{App: "bkapp-n-prod", Region: "default", Tenant: "default", Cluster: "k8s-a"},
		{App: "bkapp-t-prod", Region: "default", Tenant: "t2"},
	}
	cases := []struct {
		name       string
		line       allocatorLine
		precedence string
		want       []string // Check/Severity|and what its message holds|...
	}{
		{"the seeded policy: a region rule and a catch-all", allocator17,
			`[{"matcher": {"region_is": "ieod"}, "policy": {"env_specific": false, "clusters": ["k8s-gone"]}}, {"matcher": {}, "policy": {"env_specific": false, "clusters": ["k8s-a"]}}]`,
			[]string{"tenant/default/Error|1 app(s) of tenant default|: bkapp-z-prod; their next deploy fails|(none of the clusters its policy names (k8s-gone) exists)", "tenant/t2/Error|1 app(s) of tenant t2|: bkapp-t-prod; their next deploy fails|(tenant t2 has no cluster allocation policy)"}},
		{"main: an AI-agent rule could save an app, so it is not claimed", allocatorMain,
			`[{"matcher": {"usage_is": "ai_agent"}, "policy": {"env_specific": false, "clusters": ["k8s-a"]}}, {"matcher": {"region_is": "default"}, "policy": {"env_specific": false, "clusters": ["k8s-gone"]}}]`,
			[]string{"tenant/t2/Error|1 app(s) of tenant t2|: bkapp-t-prod; their next deploy fails|(tenant t2 has no cluster allocation policy)"}},
		{"release-1.7: usage is never set", allocator17,
			`[{"matcher": {"usage_is": "ai_agent"}, "policy": {"env_specific": false, "clusters": ["k8s-a"]}}, {"matcher": {"region_is": "default"}, "policy": {"env_specific": false, "clusters": ["k8s-gone"]}}]`,
			[]string{"tenant/default/Error|2 app(s) of tenant default|: bkapp-x-prod, bkapp-y-stag; their next deploy fails|(none of the clusters its policy names (k8s-gone) exists)",
				"tenant/default/Error|1 app(s) of tenant default|: bkapp-z-prod; their next deploy fails|(no rule of its policy matches region ieod)", "tenant/t2/Error|1 app(s) of tenant t2|: bkapp-t-prod; their next deploy fails|(tenant t2 has no cluster allocation policy)"}},
		{"another tenant's cluster: Error on main", allocatorMain,
			`[{"matcher": {}, "policy": {"env_specific": false, "clusters": ["k8s-b"]}}]`,
			[]string{"tenant/default/Error|3 app(s) of tenant default|: bkapp-x-prod, bkapp-y-stag, bkapp-z-prod; their next deploy fails|(none of the clusters its policy names (k8s-b) exists and belongs to or is shared with tenant default)", "tenant/t2/Error|1 app(s) of tenant t2|: bkapp-t-prod; their next deploy fails|(tenant t2 has no cluster allocation policy)"}},
		{"another tenant's cluster: fine on release-1.7", allocator17,
			`[{"matcher": {}, "policy": {"env_specific": false, "clusters": ["k8s-b"]}}]`,
			[]string{"tenant/t2/Error|1 app(s) of tenant t2|: bkapp-t-prod; their next deploy fails|(tenant t2 has no cluster allocation policy)"}},
		{"another tenant's cluster, line not known: a Warning", allocatorUnknown,
			`[{"matcher": {}, "policy": {"env_specific": false, "clusters": ["k8s-b"]}}]`,
			[]string{"tenant/default/Warning|3 app(s) of tenant default|: bkapp-x-prod, bkapp-y-stag, bkapp-z-prod; their next deploy fails|(none of the clusters its policy names (k8s-b) exists and belongs to or is shared with tenant default)", "tenant/t2/Error|1 app(s) of tenant t2|: bkapp-t-prod; their next deploy fails|(tenant t2 has no cluster allocation policy)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pl := placement{line: c.line, rows: rows, apps: apps, allocation: &platformdb.Allocation{Policies: policy(c.precedence), Tenancy: tenancy}}
			fs := pl.findings()
			if len(fs) != len(c.want) {
				t.Fatalf("%d findings, want %d: %+v", len(fs), len(c.want), fs)
			}
			for i, f := range fs {
				want := strings.Split(c.want[i], "|")
				if f.Reason != v1alpha1.ReasonClusterNotFound || f.Code != "4313021" || fmt.Sprintf("%s/%s", f.Check, f.Severity) != want[0] {
					t.Errorf("%+v, want %s", f, want[0])
				}
				for _, part := range want[1:] {
					if !strings.Contains(f.Message, part) {
						t.Errorf("%q lacks %q", f.Message, part)
					}
				}
			}
		})
	}
}
