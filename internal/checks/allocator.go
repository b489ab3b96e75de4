package checks

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// The platform's allocator of pre-created instances, as far as paasdiag needs it to
// know who can still get an instance (1.7+: paasng/accessories/services/models.py,
// PreCreatedInstanceManager.select_precreated_instance and
// PreCreatedInstance.match_instances; docs/conformance.md POOL07-POOL09, POOL11-POOL13):
//
//   - With no params at all (application_code, module_name and env_name each missing
//     or empty) the platform picks the first FIFO instance and does not look at policy
//     instances. Its only caller always passes the app code, so this is what its tests
//     with `params {}` see, never a deploy.
//   - Unallocated policy instances are tried first, FIFO instances after: any policy
//     instance that matches the environment wins, whatever its score.
//   - binding_policy is a JSON object with the dimensions app_code, module_name and
//     env_name, each a list of values. A dimension that is missing or null matches
//     every environment (a wildcard), an empty list matches none (the platform logs
//     "empty policy_val will never match"), a list matches the values it holds.
//   - The policy itself is read as `binding_policy or {}`: an empty or falsy value is
//     a wildcard on every dimension.
//
// Python's `in` is what compares: a bare string instead of a list is a substring test,
// an object tests its keys, and anything else raises (TypeError, AttributeError), which
// is not 4313022 but fails provisioning from the plan all the same.

// policyDimensions are the dimensions in the order the platform tests them (it stops
// at the first that does not match).
var policyDimensions = [3]string{"app_code", "module_name", "env_name"}

// bindingPolicy is one binding_policy, parsed the way the platform reads it.
type bindingPolicy struct {
	raw  string
	dims [3]any // nil: wildcard
	// broken says why the platform raises on this policy, for every environment (the
	// policy is not an object), or empty.
	broken string
}

func parseBindingPolicy(raw string) bindingPolicy {
	p := bindingPolicy{raw: raw}
	var v any
	if strings.TrimSpace(raw) == "" {
		return p // jsonfield reads an empty column as empty: every dimension a wildcard
	}
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		// jsonfield hands invalid JSON over as a string, whose .get() raises.
		p.broken = "it is not valid JSON"
		return p
	}
	if !truthy(v) {
		return p // `binding_policy or {}`
	}
	obj, ok := v.(map[string]any)
	if !ok {
		p.broken = fmt.Sprintf("it is a JSON %s, not an object", jsonKind(v))
		return p
	}
	for i, d := range policyDimensions {
		p.dims[i] = obj[d]
	}
	return p
}

// wildcard reports whether the policy matches every environment.
func (p bindingPolicy) wildcard() bool {
	return p.broken == "" && p.dims[0] == nil && p.dims[1] == nil && p.dims[2] == nil
}

// neverMatches names a dimension that matches no environment (an empty list, or an
// empty object or string), or returns "".
func (p bindingPolicy) neverMatches() string {
	if p.broken != "" {
		return ""
	}
	for i, d := range p.dims {
		switch v := d.(type) {
		case nil:
		case []any:
			if len(v) == 0 {
				return policyDimensions[i] + " is an empty list"
			}
		case map[string]any:
			if len(v) == 0 {
				return policyDimensions[i] + " is an empty object"
			}
		case string:
			if v == "" {
				return policyDimensions[i] + " is an empty string"
			}
		default:
			return "" // the platform raises on this dimension before it tests the next
		}
	}
	return ""
}

// raisesForAll reports whether the platform raises on this policy for every
// environment: the dimensions before the raising one are wildcards.
func (p bindingPolicy) raisesForAll() bool {
	for _, d := range p.dims {
		if d == nil {
			continue
		}
		_, err := dimensionMatches(d, "")
		return err != nil
	}
	return false
}

// raises names the first dimension on which the platform raises for every
// environment that reaches it (matches the dimensions before it), or returns "".
func (p bindingPolicy) raises() string {
	for i, d := range p.dims {
		if _, err := dimensionMatches(d, ""); err != nil {
			return policyDimensions[i] + " " + err.Error()
		}
	}
	return ""
}

// match says whether the platform hands an instance with this policy to the
// environment, or, as an error, why it raises instead. Dimensions are tested in the
// platform's order, and the first that does not match ends the test.
func (p bindingPolicy) match(app, module, env string) (bool, error) {
	if p.broken != "" {
		return false, fmt.Errorf("binding_policy %s: %s", p.raw, p.broken)
	}
	for i, param := range [3]string{app, module, env} {
		ok, err := dimensionMatches(p.dims[i], param)
		if err != nil {
			return false, fmt.Errorf("binding_policy %s: %s %s", p.raw, policyDimensions[i], err)
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

// dimensionMatches is the platform's _matches(policy_vals, param_val).
func dimensionMatches(vals any, param string) (bool, error) {
	switch v := vals.(type) {
	case nil:
		return true, nil
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok && s == param {
				return true, nil
			}
		}
		return false, nil
	case string:
		return strings.Contains(v, param), nil // `param in "str"`: a substring test
	case map[string]any:
		_, ok := v[param] // `param in dict`: its keys
		return ok, nil
	default:
		return false, fmt.Errorf("is a JSON %s, which Python's `in` cannot search", jsonKind(v))
	}
}

// describe says, for messages, which environments the policy serves.
func (p bindingPolicy) describe() string {
	var parts []string
	for i, d := range p.dims {
		if d == nil {
			continue
		}
		b, _ := json.Marshal(d)
		parts = append(parts, policyDimensions[i]+" "+string(b))
	}
	if len(parts) == 0 {
		return "any app"
	}
	return strings.Join(parts, ", ")
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case float64:
		return x != 0
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

func jsonKind(v any) string {
	switch v.(type) {
	case bool:
		return "boolean"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "null"
}

// planPolicies is what one plan's policy instances offer.
type planPolicies struct {
	// wildcard counts instances any environment gets.
	wildcard int
	// specific are the groups that serve only the environments they match.
	specific []policyGroup
	// never are the groups that match no environment; broken the ones the platform
	// raises on.
	never, broken []policyGroup
}

type policyGroup struct {
	policy bindingPolicy
	count  int
	// why: for never, the dimension that matches nothing; for broken, the error.
	why string
}

// classify sorts a plan's policy groups by whom they serve.
func classify(groups []policyGroupInput) planPolicies {
	var out planPolicies
	for _, g := range groups {
		p := parseBindingPolicy(g.raw)
		switch {
		case p.broken != "":
			out.broken = append(out.broken, policyGroup{policy: p, count: g.count, why: p.broken})
		case p.wildcard():
			out.wildcard += g.count
		case p.neverMatches() != "":
			out.never = append(out.never, policyGroup{policy: p, count: g.count, why: p.neverMatches()})
		default:
			out.specific = append(out.specific, policyGroup{policy: p, count: g.count})
		}
	}
	sort.SliceStable(out.specific, func(i, j int) bool { return out.specific[i].policy.raw < out.specific[j].policy.raw })
	return out
}

type policyGroupInput struct {
	raw   string
	count int
}

// served says whether an environment gets an instance from a plan with fifo FIFO
// instances and these policies, as select_precreated_instance decides; an error is
// what the platform raises instead (not 4313022). Policy instances are evaluated
// first and all of them (the platform builds the list of matches before it picks), so
// a policy the platform raises on fails every environment whatever the FIFO count.
func (pp planPolicies) served(fifo int, app, module, env string) (bool, error) {
	if app == "" && module == "" && env == "" {
		// `if all(params.get(k, "") == "" ...)`: plain FIFO, policies unread.
		return fifo > 0, nil
	}
	for _, g := range pp.broken {
		if _, err := g.policy.match(app, module, env); err != nil {
			return false, err
		}
	}
	matched := pp.wildcard > 0
	for _, g := range pp.specific {
		ok, err := g.policy.match(app, module, env)
		if err != nil {
			return false, err
		}
		matched = matched || ok
	}
	return matched || fifo > 0, nil
}
