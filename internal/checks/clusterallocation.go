package checks

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/paasdiag/paasdiag/internal/platformdb"
)

// The platform (1.7+) gives an app whose latest config names no cluster the default
// cluster of its tenant's allocation policy (paas_wl/infras/cluster/allocator.py
// ClusterAllocator.get_default, from shim.py EnvClusterService.get_cluster_name). When
// that raises, the egress info of an add-on service cannot be built: 4313021. This
// file ports the allocator, and the loading of the policy row it relies on (the two
// JSON columns are structured by cattrs into entities.py's AllocationPolicy and
// AllocationPrecedencePolicy when the row is read).
//
// What is not ported exactly is not judged: a value whose Python meaning paasdiag does
// not reproduce (a cluster list that is not a JSON list of strings, a matcher value that
// is not a string) makes the tenant's apps unjudged rather than a guess.

// allocationRule is one entry of allocation_precedence_policies.
type allocationRule struct {
	matcher map[string]string
	policy  allocationChoice
}

// allocationChoice is an AllocationPolicy: one cluster list, or one per environment.
type allocationChoice struct {
	envSpecific bool
	clusters    []string
	envClusters map[string][]string
}

// tenantPolicy is a tenant's policy row as the platform loads it.
type tenantPolicy struct {
	kind    string
	uniform *allocationChoice // nil when allocation_policy is NULL
	rules   []allocationRule
	// rulesNull: allocation_precedence_policies is JSON null (iterating it raises).
	rulesNull bool
	// broken is why loading the row raises: every app of the tenant then fails.
	broken error
	// unported is why paasdiag cannot tell what the platform does with the row.
	unported error
}

// errUnported marks a value whose Python meaning is not reproduced here.
var errUnported = errors.New("not ported")

// loadTenantPolicy structures a policy row as cattrs does (entities.py:116-171).
func loadTenantPolicy(row platformdb.AllocationPolicyRow) *tenantPolicy {
	p := &tenantPolicy{kind: row.Type}
	fail := func(err error) *tenantPolicy {
		if errors.Is(err, errUnported) {
			p.unported = err
		} else {
			p.broken = err
		}
		return p
	}
	if row.Policy.Valid {
		var raw any
		if err := json.Unmarshal([]byte(row.Policy.String), &raw); err != nil {
			return fail(fmt.Errorf("allocation_policy is not JSON: %w", err))
		}
		if raw != nil { // JSON null loads as None, as SQL NULL does
			c, err := structureChoice(raw)
			if err != nil {
				return fail(fmt.Errorf("allocation_policy: %w", err))
			}
			p.uniform = &c
		}
	}
	if !row.Precedence.Valid {
		p.rulesNull = true
		return p
	}
	var raw any
	if err := json.Unmarshal([]byte(row.Precedence.String), &raw); err != nil {
		return fail(fmt.Errorf("allocation_precedence_policies is not JSON: %w", err))
	}
	if raw == nil {
		p.rulesNull = true
		return p
	}
	list, ok := raw.([]any)
	if !ok {
		return fail(fmt.Errorf("allocation_precedence_policies is not a list: %w", errUnported))
	}
	for i, item := range list {
		r, err := structureRule(item)
		if err != nil {
			return fail(fmt.Errorf("allocation_precedence_policies[%d]: %w", i, err))
		}
		p.rules = append(p.rules, r)
	}
	return p
}

// structureRule is cattrs structuring an AllocationPrecedencePolicy: both attributes
// are required, and a matcher key outside ClusterAllocationPolicyCondType raises.
func structureRule(v any) (allocationRule, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return allocationRule{}, fmt.Errorf("not an object: %w", errUnported)
	}
	rawMatcher, ok := m["matcher"]
	if !ok {
		return allocationRule{}, errors.New("matcher is missing")
	}
	rawPolicy, ok := m["policy"]
	if !ok {
		return allocationRule{}, errors.New("policy is missing")
	}
	matcher, ok := rawMatcher.(map[string]any)
	if !ok {
		return allocationRule{}, fmt.Errorf("matcher is not an object: %w", errUnported)
	}
	r := allocationRule{matcher: map[string]string{}}
	for k, val := range matcher {
		switch k {
		case "region_is", "username_in", "usage_is":
		default:
			return allocationRule{}, fmt.Errorf("%q is not a ClusterAllocationPolicyCondType", k)
		}
		s, ok := val.(string)
		if !ok {
			return allocationRule{}, fmt.Errorf("matcher %s is not a string: %w", k, errUnported)
		}
		r.matcher[k] = s
	}
	c, err := structureChoice(rawPolicy)
	if err != nil {
		return allocationRule{}, fmt.Errorf("policy: %w", err)
	}
	r.policy = c
	return r, nil
}

// structureChoice is cattrs structuring an AllocationPolicy, then its
// __attrs_post_init__ (entities.py:127-139), which raises on an empty list.
func structureChoice(v any) (allocationChoice, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return allocationChoice{}, fmt.Errorf("not an object: %w", errUnported)
	}
	rawEnv, ok := m["env_specific"]
	if !ok {
		return allocationChoice{}, errors.New("env_specific is missing")
	}
	c := allocationChoice{envSpecific: truthy(rawEnv)} // cattrs structures a bool as bool(v)
	var err error
	if c.clusters, err = nameList(m["clusters"]); err != nil {
		return c, fmt.Errorf("clusters: %w", err)
	}
	if raw := m["env_clusters"]; raw != nil {
		envs, ok := raw.(map[string]any)
		if !ok {
			return c, fmt.Errorf("env_clusters is not an object: %w", errUnported)
		}
		c.envClusters = map[string][]string{}
		for env, list := range envs {
			names, err := nameList(list)
			if err != nil {
				return c, fmt.Errorf("env_clusters.%s: %w", env, err)
			}
			c.envClusters[env] = names
		}
	}
	switch {
	case c.envSpecific && len(c.envClusters) == 0:
		return c, errors.New("env_clusters can not be empty when env_specific is True")
	case !c.envSpecific && len(c.clusters) == 0:
		return c, errors.New("clusters can not be empty when env_specific is False")
	}
	return c, nil
}

// nameList reads a List[str] | None; nil for None.
func nameList(v any) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("not a list: %w", errUnported)
	}
	names := make([]string, 0, len(list))
	for _, item := range list {
		s, ok := item.(string)
		if !ok {
			return nil, fmt.Errorf("a name is not a string: %w", errUnported)
		}
		names = append(names, s)
	}
	return names, nil
}

// allocationContext is the platform's AllocationContext (entities.py:174-192). On the
// path that raises 4313021 (from_module_env) username is never set.
type allocationContext struct {
	tenant, region, environment string
	usage                       string // "" is None
	username                    *string
}

// matches is AllocationPrecedencePolicy.match.
func (r allocationRule) matches(ctx allocationContext) bool {
	for k, v := range r.matcher {
		switch k {
		case "region_is":
			if ctx.region != v {
				return false
			}
		case "username_in":
			if ctx.username == nil || !containsName(v, *ctx.username) {
				return false // None is never in a list of strings
			}
		case "usage_is":
			if ctx.usage != v || ctx.usage == "" {
				return false
			}
		}
	}
	return true
}

// containsName is `username in [u.strip() for u in value.split(",")]`.
func containsName(list, name string) bool {
	for _, u := range strings.Split(list, ",") {
		if strings.TrimSpace(u) == name {
			return true
		}
	}
	return false
}

// names is _policy_base_list up to the cluster query: the list of cluster names the
// policy gives ctx, or why the allocator raises.
func (p *tenantPolicy) names(ctx allocationContext) ([]string, error) {
	if p.broken != nil {
		return nil, fmt.Errorf("its allocation policy cannot be loaded: %w", p.broken)
	}
	var choice *allocationChoice
	switch {
	case p.kind == "uniform" && p.uniform != nil:
		choice = p.uniform
	case p.kind == "rule_based":
		if p.rulesNull {
			return nil, errors.New("its rule_based policy has no rules (allocation_precedence_policies is null)")
		}
		for i := range p.rules {
			if p.rules[i].matches(ctx) {
				choice = &p.rules[i].policy
				break
			}
		}
	default:
		return nil, fmt.Errorf("unknown cluster allocation policy type: %s", p.kind)
	}
	if choice == nil {
		return nil, fmt.Errorf("no rule of its policy matches region %s", ctx.region)
	}
	if choice.envSpecific {
		return choice.envClusters[ctx.environment], nil
	}
	return choice.clusters, nil
}

// allocator is the platform's ClusterAllocator over the clusters that exist. Names and
// tenants are compared as the database compares them (clusterKey).
type allocator struct {
	policies map[string]*tenantPolicy
	exists   map[string]bool
	tenancy  map[string]platformdb.ClusterTenancy
}

func newAllocator(a *platformdb.Allocation, rows []platformdb.ClusterRow) *allocator {
	al := &allocator{policies: map[string]*tenantPolicy{}, exists: map[string]bool{}}
	for tenant, row := range a.Policies {
		al.policies[clusterKey(tenant)] = loadTenantPolicy(row)
	}
	for _, r := range rows {
		al.exists[clusterKey(r.Name)] = true
	}
	if a.Tenancy != nil {
		al.tenancy = map[string]platformdb.ClusterTenancy{}
		for name, t := range a.Tenancy {
			al.tenancy[clusterKey(name)] = t
		}
	}
	return al
}

// clusters is ClusterAllocator(ctx).list(): the clusters of the policy's list that
// exist (tenantFilter: and that main also lets the tenant use), in list order, or why
// it raises. unported is set when paasdiag cannot tell.
func (al *allocator) clusters(ctx allocationContext, tenantFilter bool) (names []string, failure, unported error) {
	p := al.policies[clusterKey(ctx.tenant)]
	if p == nil {
		return nil, fmt.Errorf("tenant %s has no cluster allocation policy", ctx.tenant), nil
	}
	if p.unported != nil {
		return nil, nil, p.unported
	}
	listed, err := p.names(ctx)
	if err != nil {
		return nil, err, nil
	}
	if len(listed) == 0 {
		return nil, fmt.Errorf("its policy names no cluster for environment %s", ctx.environment), nil
	}
	if tenantFilter && al.tenancy == nil {
		return nil, nil, errors.New("the clusters' tenant_id and available_tenant_ids cannot be read")
	}
	seen := map[string]bool{}
	for _, n := range listed {
		k := clusterKey(n)
		if !al.exists[k] || seen[k] {
			continue
		}
		if t := al.tenancy[k]; tenantFilter && !strings.EqualFold(t.Tenant, ctx.tenant) && !sharedWith(t.Available, ctx.tenant) {
			continue
		}
		seen[k] = true
		names = append(names, n)
	}
	if len(names) > 0 {
		return names, nil, nil
	}
	if tenantFilter {
		return nil, fmt.Errorf("none of the clusters its policy names (%s) exists and belongs to or is shared with tenant %s", strings.Join(listed, ", "), ctx.tenant), nil
	}
	return nil, fmt.Errorf("none of the clusters its policy names (%s) exists", strings.Join(listed, ", ")), nil
}

// defaultCluster is ClusterAllocator(ctx).get_default(): the first of clusters.
func (al *allocator) defaultCluster(ctx allocationContext, tenantFilter bool) (string, error, error) {
	names, failure, unported := al.clusters(ctx, tenantFilter)
	if len(names) == 0 {
		return "", failure, unported
	}
	return names[0], nil, nil
}

// sharedWith is available_tenant_ids__contains=tenant on MySQL: JSON_CONTAINS, true
// when the list holds the tenant (or the value is that very string).
func sharedWith(available, tenant string) bool {
	var v any
	if json.Unmarshal([]byte(available), &v) != nil {
		return false
	}
	switch t := v.(type) {
	case string:
		return t == tenant
	case []any:
		for _, e := range t {
			if s, ok := e.(string); ok && s == tenant {
				return true
			}
		}
	}
	return false
}

// environmentOf is the environment of a workloads app from its name,
// bkapp-<code>[-m-<module>]-<env> (modules/manager.py), or "" when it has none.
func environmentOf(app string) string {
	for _, env := range []string{"stag", "prod"} {
		if strings.HasSuffix(app, "-"+env) {
			return env
		}
	}
	return ""
}
