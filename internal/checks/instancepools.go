package checks

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/errorcodes"
	"github.com/paasdiag/paasdiag/internal/platformdb"
	"github.com/paasdiag/paasdiag/internal/release"
)

// poolProvider is the provider of add-on services backed by pre-created instances.
const poolProvider = "pool"

// InstancePools checks that every plan of a pool-provider add-on service has a
// pre-created instance to hand out: step 1 of the 4313022 procedure, done by reading
// the tables the admin console's pool page reads.
type InstancePools struct {
	cfg v1alpha1.InstancePoolsCheck
	in  *inputs
}

var _ check.Checker = (*InstancePools)(nil)

func newInstancePools(cfg *v1alpha1.InstancePoolsCheck, in *inputs) *InstancePools {
	return &InstancePools{cfg: *cfg, in: in}
}

// Name implements check.Checker.
func (*InstancePools) Name() string { return "instance-pools" }

// Condition implements check.Checker.
func (*InstancePools) Condition() string { return v1alpha1.ConditionInstancePoolAvailable }

// inputs are the default database's DSN.
func (c *InstancePools) inputs() []check.Input { return c.in.defaultDSNInput() }

// Check implements check.Checker.
func (c *InstancePools) Check(ctx context.Context) check.Result {
	db, err := c.in.open(c.in.defaultDB)
	if err != nil {
		return databaseUnknown(err, c.in.defaultDB.where())
	}
	var report *platformdb.PoolReport
	err = db.ReadOnly(ctx, func(tx *sql.Tx) error {
		var err error
		report, err = platformdb.ReadPools(ctx, tx)
		return err
	})
	if err != nil {
		return databaseUnknown(err, db.Target())
	}
	if err := hiddenColumns(report.Schema, c.in.release); err != nil {
		return databaseUnknown(err, db.Target())
	}
	return judgePools(report, &c.cfg)
}

// hiddenColumns cross-checks the columns the user can see with the migrations the
// database has: a grant written for 1.6 hides allocation_type on a 1.7+ database, and
// the pool would be counted as 1.6 counts it (policy instances as available), missing
// a 4313022. Keyed on the migrations that add the columns: services 0007 (tenant_id)
// and 0009 (allocation_type).
func hiddenColumns(schema platformdb.PoolSchema, rel release.Detection) error {
	var hidden []string
	if rel.Has("services", 7) && !schema.PlanTenant {
		hidden = append(hidden, "services_plan.tenant_id (services 0007)")
	}
	if rel.Has("services", 9) && !schema.AllocationType {
		hidden = append(hidden, "services_precreatedinstance.allocation_type (services 0009)")
	}
	if rel.Has("services", 9) && schema.AllocationType && !schema.BindingPolicy {
		// Without it a wildcard policy instance reads as one for some apps: a plan
		// whose only free instances are wildcards would be a false 4313022.
		hidden = append(hidden, "services_precreatedinstance.binding_policy (services 0009)")
	}
	if len(hidden) == 0 {
		return nil
	}
	return &platformdb.Error{Reason: v1alpha1.ReasonSchemaUnrecognized, Message: fmt.Sprintf(
		"the database has the migrations that add %s, but the user cannot see them: grant them (config/samples/readonly-grant.sql), or pools would be counted as on 1.6",
		strings.Join(hidden, " and "))}
}

// judgePools turns what the database holds into a verdict, as the platform's
// allocator would hand out instances (see allocator.go). It is pure, so every rule is
// table-tested without a database.
func judgePools(report *platformdb.PoolReport, cfg *v1alpha1.InstancePoolsCheck) check.Result {
	code := errorcodes.Must(errorcodes.ResourcePoolIsEmpty)
	minAvailable := int(cfg.MinAvailable)
	if minAvailable < 1 {
		minAvailable = 1
	}
	policies := map[string][]policyGroupInput{}
	for _, g := range report.Policies {
		policies[g.PlanID] = append(policies[g.PlanID], policyGroupInput{raw: g.Policy, count: g.Count})
	}
	unprovisioned := map[string][]platformdb.Unprovisioned{}
	for _, u := range report.Unprovisioned {
		unprovisioned[u.PlanID] = append(unprovisioned[u.PlanID], u)
	}
	plans, findings := selectPlans(report.Plans, cfg.Plans, unprovisioned)
	res := check.Result{Status: check.Pass, Reason: v1alpha1.ReasonSucceeded, Findings: findings}
	var empty, low []string
	failing := 0
	pools := make([]v1alpha1.PoolStatus, 0, len(plans))
	res.Details = func(s *v1alpha1.PaaSDiagnosisStatus) {
		s.Pools = append(s.Pools, pools...)
		if s.Summary != nil {
			s.Summary.PlansChecked += int32(len(plans))
			s.Summary.PlansEmpty += int32(len(empty))
			s.Summary.PlansLow += int32(len(low))
			s.Summary.EnvironmentsWouldFail += int32(failing)
		}
	}
	for _, p := range plans {
		name := planName(p)
		j := judgePlan(p, classify(policies[p.PlanID]), unprovisioned[p.PlanID], report.Schema.AllocationType)
		failing += len(j.wouldFail)
		pools = append(pools, v1alpha1.PoolStatus{
			Service: p.Service, Plan: p.Plan, Tenant: p.Tenant,
			Available: int32(j.anyApp), Policy: int32(j.specific), Total: int32(p.Total),
			Unprovisioned: int32(len(unprovisioned[p.PlanID])), WouldFail: int32(len(j.wouldFail)),
			Inactive: !p.PlanActive || !p.ServiceActive,
		})
		switch {
		case j.raisesForAll:
			// PolicyBroken (a warning, in j.warnings) says it: not 4313022.
		case j.anyApp == 0:
			empty = append(empty, name)
			res.Findings = append(res.Findings, check.ErrorFinding("pool/"+name, v1alpha1.ReasonPoolEmpty, code.Number, code.Message(j.detail)))
		case j.anyApp < minAvailable:
			low = append(low, name)
			res.Findings = append(res.Findings, check.WarningFinding("pool/"+name, v1alpha1.ReasonPoolLow, code.Number,
				code.Predicted(fmt.Sprintf("%s, fewer than minAvailable %d: the pool is about to run dry", j.detail, minAvailable))))
		}
		res.Findings = append(res.Findings, j.warnings...)
	}
	for _, o := range report.Orphans {
		plan := "no plan (plan_id is NULL)"
		if o.PlanID != "" {
			plan = "plan id " + o.PlanID + ", which no longer exists"
		}
		res.Findings = append(res.Findings, check.WarningFinding("pool/orphaned/"+o.PlanID, v1alpha1.ReasonOrphanedInstances, "",
			fmt.Sprintf("%d pre-created instance(s) (%d unallocated) belong to %s: no app can get them", o.Total, o.Unallocated, plan)))
	}
	if report.BindingsHidden != "" {
		res.Findings = append(res.Findings, check.WarningFinding("pool/bindings", v1alpha1.ReasonBindingsUnreadable, "",
			"the environments bound to plans cannot be read (missing "+report.BindingsHidden+"): paasdiag cannot name the environments whose next deploy would fail, nor judge deactivated plans still bound; grant the columns of config/samples/readonly-grant.sql"))
	}

	summary := fmt.Sprintf("%d plan(s) checked (schema: %s)", len(plans), report.Schema.Name())
	pass := summary + "; each has an available instance"
	if len(plans) == 0 {
		pass = "no active plan of a service whose provider is pool: no pool to run dry"
	}
	fail := fmt.Sprintf("%d of %d plan(s) have no available instance: %s", len(empty), len(plans), firstFew(empty))
	if failing > 0 {
		fail += fmt.Sprintf("; %d bound environment(s) would fail on their next deploy", failing)
	}
	res.Conclude(check.Verdict{
		Fail:    code.Message(fail),
		Unknown: func(check.Finding) string { return summary + "; a plan the spec lists is not in the database" },
		Pass:    pass,
	})
	if len(low) > 0 {
		res.Message += fmt.Sprintf("; %d plan(s) below minAvailable %d: %s", len(low), minAvailable, firstFew(low))
	}
	return res
}

// maxNamed bounds the environments and policies a message names.
const maxNamed = 5

// planJudgement is what one plan offers, and to whom.
type planJudgement struct {
	// anyApp counts the instances any environment gets: FIFO and wildcard policies.
	anyApp int
	// specific counts the policy instances that serve only the environments they
	// match, or none.
	specific int
	// wouldFail names the unprovisioned environments no instance would be given to.
	wouldFail []string
	// raisesForAll: a free policy instance makes the platform raise for every
	// environment (it evaluates all policy instances before it picks), so provisioning
	// from the plan never gets as far as 4313022.
	raisesForAll bool
	detail       string
	warnings     []check.Finding
}

// moduleRequired (1.7+) says the platform reads the environment's module to match
// policies: without one it fails before it looks at the pool. 1.6 does not read it.
func judgePlan(p platformdb.PlanPool, pp planPolicies, unprovisioned []platformdb.Unprovisioned, moduleRequired bool) planJudgement {
	name := planName(p)
	j := planJudgement{anyApp: p.Available + pp.wildcard, specific: p.Policy - pp.wildcard}
	// The policies the platform raises on: one message per policy, whichever way it
	// was found (an environment waiting on the plan, or the policy alone).
	var raising, waiting []string
	raise := func(msg string) {
		for _, m := range raising {
			if m == msg {
				return
			}
		}
		raising = append(raising, msg)
	}
	var reserved []string
	for _, g := range pp.specific {
		why := g.policy.raises()
		switch {
		case why == "":
			reserved = append(reserved, fmt.Sprintf("%s (%d)", g.policy.describe(), g.count))
		case g.policy.raisesForAll():
			j.raisesForAll = true
			raise(fmt.Sprintf("binding_policy %s: %s", g.policy.raw, why))
		default:
			raise(fmt.Sprintf("binding_policy %s: %s", g.policy.raw, why))
		}
	}
	for _, g := range pp.broken {
		j.raisesForAll = true
		raise(fmt.Sprintf("binding_policy %s: %s", g.policy.raw, g.why))
	}
	for _, u := range unprovisioned {
		if u.Module == "" && moduleRequired {
			continue // no module: the platform fails before it looks at the pool
		}
		env := u.App + "/" + u.Module + "/" + u.Env
		ok, err := pp.served(p.Available, u.App, u.Module, u.Env)
		switch {
		case err != nil:
			waiting = append(waiting, env)
			raise(err.Error())
		case !ok:
			j.wouldFail = append(j.wouldFail, env)
		}
	}

	j.detail = fmt.Sprintf("plan %s has %d available instance(s), %d in all", name, j.anyApp, p.Total)
	switch {
	case len(reserved) > 0:
		j.detail += fmt.Sprintf("; %d more are reserved by binding policies, and only these apps can still get one: %s", j.specific, firstFew(reserved))
	case j.specific > 0:
		j.detail += fmt.Sprintf("; %d more are reserved by binding policies and serve only the apps they name", j.specific)
	}
	if len(unprovisioned) > 0 {
		j.detail += fmt.Sprintf("; %d bound environment(s) have no instance yet", len(unprovisioned))
		if len(j.wouldFail) > 0 {
			j.detail += fmt.Sprintf(", and %d of them would get none on their next deploy: %s", len(j.wouldFail), firstFew(j.wouldFail))
		}
	}
	if !p.PlanActive || !p.ServiceActive {
		j.detail += " (the plan is deactivated, but the platform provisions the environments still bound to it from it)"
	}
	for _, g := range pp.never {
		j.warnings = append(j.warnings, check.WarningFinding("pool/"+name+"/policy", v1alpha1.ReasonPolicyNeverMatches, "",
			fmt.Sprintf("%d policy instance(s) of plan %s can never be given to an app: in binding_policy %s, %s (the platform raises no error for it%s)",
				g.count, name, g.policy.raw, g.why, logNote(g.why))))
	}
	if len(raising) > 0 {
		msg := fmt.Sprintf("the platform raises an error (not 4313022) when it evaluates binding policies of plan %s, and provisioning from it fails for the environments that reach them: %s",
			name, firstFew(raising))
		if len(waiting) > 0 {
			msg += fmt.Sprintf("; %d bound environment(s) waiting on the plan meet it: %s", len(waiting), firstFew(waiting))
		}
		j.warnings = append(j.warnings, check.WarningFinding("pool/"+name+"/policy", v1alpha1.ReasonPolicyBroken, "", msg))
	}
	return j
}

// logNote says what the platform logs for a dimension that matches nothing: only an
// empty list is logged.
func logNote(why string) string {
	if strings.HasSuffix(why, "empty list") {
		return `; it logs "empty policy_val will never match, may is it a mistake?"`
	}
	return ""
}

// firstFew joins the first maxNamed items and says how many more there are: messages
// name the first culprits and count the rest, whatever the platform's size.
func firstFew(items []string) string { return firstFewOf(items, ", ") }

func firstFewOf(items []string, sep string) string {
	if len(items) <= maxNamed {
		return strings.Join(items, sep)
	}
	return strings.Join(items[:maxNamed], sep) + fmt.Sprintf(" and %d more", len(items)-maxNamed)
}

// selectPlans picks the plans to judge: the ones the spec lists, or every active plan
// of every active pool-provider service, and every deactivated one that environments
// are still bound to without an instance (the platform provisions them from it
// without looking at is_active). A listed plan that does not exist is an Unknown
// finding.
func selectPlans(all []platformdb.PlanPool, wanted []v1alpha1.PlanReference, unprovisioned map[string][]platformdb.Unprovisioned) ([]platformdb.PlanPool, []check.Finding) {
	if len(wanted) == 0 {
		var out []platformdb.PlanPool
		for _, p := range all {
			if p.Provider == poolProvider && ((p.ServiceActive && p.PlanActive) || len(unprovisioned[p.PlanID]) > 0) {
				out = append(out, p)
			}
		}
		return out, nil
	}
	var out []platformdb.PlanPool
	var findings []check.Finding
	for _, w := range wanted {
		found := false
		for _, p := range all {
			if p.Service == w.Service && p.Plan == w.Plan && (w.Tenant == "" || p.Tenant == w.Tenant) {
				out = append(out, p)
				found = true
			}
		}
		if !found {
			name := w.Service + "/" + w.Plan
			if w.Tenant != "" {
				name += "@" + w.Tenant
			}
			findings = append(findings, check.UnknownFinding("pool/"+name, v1alpha1.ReasonPlanNotFound,
				fmt.Sprintf("plan %s, listed in spec.instancePools.plans, is not in the database", name)))
		}
	}
	return out, findings
}

// planName is service/plan, with @tenant on platforms with tenants.
func planName(p platformdb.PlanPool) string {
	if p.Tenant == "" {
		return p.Service + "/" + p.Plan
	}
	return p.Service + "/" + p.Plan + "@" + p.Tenant
}

// databaseUnknown reports a database that could not be read: Unknown, never a claim
// that a pool is empty.
func databaseUnknown(err error, where string) check.Result {
	f := unknownFinding("database/default", err)
	if !strings.HasPrefix(f.Message, "database ") {
		f.Message = where + ": " + f.Message
	}
	return check.Only(f)
}
