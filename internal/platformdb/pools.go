package platformdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
)

// The pools of pre-created add-on service instances live in the default database
// (bk_paas_ng): services_service, services_plan and services_precreatedinstance
// (paasng/accessories/services/models.py). The admin console's pool page reads these
// tables; there is no machine API for them.

// PoolSchema says which optional columns the database has. Platform 1.6 and earlier
// have none of them: every unallocated instance serves any app, and there are no
// tenants.
type PoolSchema struct {
	// PlanTenant: services_plan.tenant_id.
	PlanTenant bool
	// AllocationType: services_precreatedinstance.allocation_type (fifo or policy).
	AllocationType bool
	// BindingPolicy: services_precreatedinstance.binding_policy, without which a
	// wildcard policy instance cannot be told from one for some apps.
	BindingPolicy bool
}

// Name is a short name of the schema for messages.
func (s PoolSchema) Name() string {
	switch {
	case s.PlanTenant && s.AllocationType:
		return "current"
	case !s.PlanTenant && !s.AllocationType:
		return "platform 1.6"
	case s.AllocationType:
		return "with allocation types, without tenants"
	default:
		return "with tenants, without allocation types"
	}
}

// PlanPool is one plan and the counts of its pre-created instances.
type PlanPool struct {
	Service       string
	Provider      string // the service's provider_name, or its name
	ServiceActive bool
	PlanID        string
	Plan          string
	PlanActive    bool
	Tenant        string // empty without tenants
	// Available counts unallocated instances any app can get (fifo; on 1.6 every
	// unallocated one).
	Available int
	// Policy counts unallocated instances reserved by a binding policy.
	Policy int
	// Total counts every instance of the plan.
	Total int
}

// Orphans counts instances whose plan no longer exists (plan_id is NULL or names no
// plan): they can never be allocated.
type Orphans struct {
	PlanID      string // empty for NULL
	Unallocated int
	Total       int
}

// PolicyGroup counts a plan's unallocated policy instances that share one
// binding_policy, as stored (JSON text).
type PolicyGroup struct {
	PlanID string
	Policy string
	Count  int
}

// Unprovisioned is an environment bound to a plan that has no instance yet: the
// platform allocates one from the plan the next time the environment is deployed
// (servicehub_serviceengineappattachment with service_instance_id NULL).
type Unprovisioned struct {
	PlanID string
	// App, Module and Env are what the platform matches binding policies with; Module
	// is empty when the environment has no module (the platform fails otherwise then).
	App, Module, Env string
}

// PoolReport is what ReadPools found.
type PoolReport struct {
	Schema  PoolSchema
	Plans   []PlanPool
	Orphans []Orphans
	// Policies are the unallocated policy instances, grouped (1.7+ schemas only).
	Policies []PolicyGroup
	// Unprovisioned are the environments waiting for an instance; nil with
	// BindingsHidden.
	Unprovisioned []Unprovisioned
	// BindingsHidden names what the user cannot see of the tables binding
	// environments to plans; empty when they were read.
	BindingsHidden string
}

// The columns that bind environments to plans and name them
// (paasng/accessories/servicehub/models.py ServiceEngineAppAttachment, and the
// application, module and environment an engine app belongs to).
var bindingColumns = map[string][]string{
	"servicehub_serviceengineappattachment": {"engine_app_id", "plan_id", "service_instance_id"},
	"applications_applicationenvironment":   {"engine_app_id", "application_id", "module_id", "environment"},
	"applications_application":              {"id", "code"},
	"modules_module":                        {"id", "name"},
}

// The columns paasdiag needs, per table; the check refuses to guess without them.
var requiredPoolColumns = map[string][]string{
	"services_service":            {"uuid", "name", "config", "is_active"},
	"services_plan":               {"uuid", "service_id", "name", "is_active"},
	"services_precreatedinstance": {"plan_id", "is_allocated"},
}

// ReadPools reads every plan and the counts of its instances. It selects no
// credentials and no encrypted column.
func ReadPools(ctx context.Context, tx *sql.Tx) (*PoolReport, error) {
	wanted := map[string][]string{}
	for t, c := range requiredPoolColumns {
		wanted[t] = c
	}
	for t, c := range bindingColumns {
		wanted[t] = c
	}
	cols, err := columns(ctx, tx, wanted)
	if err != nil {
		return nil, err
	}
	if err := requireColumns(cols, requiredPoolColumns); err != nil {
		return nil, err
	}
	schema := PoolSchema{
		PlanTenant:     cols["services_plan"]["tenant_id"],
		AllocationType: cols["services_precreatedinstance"]["allocation_type"],
		BindingPolicy:  cols["services_precreatedinstance"]["binding_policy"],
	}

	tenant := "''"
	if schema.PlanTenant {
		tenant = "COALESCE(p.tenant_id, '')"
	}
	rows, err := tx.QueryContext(ctx, `SELECT s.name, COALESCE(s.config, ''), s.is_active, p.uuid, p.name, p.is_active, `+tenant+`
		FROM services_plan p JOIN services_service s ON s.uuid = p.service_id`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	report := &PoolReport{Schema: schema}
	index := map[string]int{}
	for rows.Next() {
		var p PlanPool
		var config string
		if err := rows.Scan(&p.Service, &config, &p.ServiceActive, &p.PlanID, &p.Plan, &p.PlanActive, &p.Tenant); err != nil {
			return nil, err
		}
		p.Provider = providerName(p.Service, config)
		p.PlanID = normalizeUUID(p.PlanID)
		index[p.PlanID] = len(report.Plans)
		report.Plans = append(report.Plans, p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}

	// On 1.6 there is no allocation type: every unallocated instance is available.
	available, policy := "is_allocated = 0", "0"
	if schema.AllocationType {
		available = "is_allocated = 0 AND allocation_type = 'fifo'"
		policy = "is_allocated = 0 AND allocation_type = 'policy'"
	}
	// Grouped by an expression, not the column: grouped by plan_id, MySQL and MariaDB
	// walk the plan_id index and fetch every row by its key, 13 times slower than one
	// scan at 100,000 instances (make bench, BenchmarkReadPoolsAtScale).
	counts, err := tx.QueryContext(ctx, `SELECT COALESCE(plan_id, ''),
		SUM(CASE WHEN `+available+` THEN 1 ELSE 0 END),
		SUM(CASE WHEN `+policy+` THEN 1 ELSE 0 END),
		SUM(CASE WHEN is_allocated = 0 THEN 1 ELSE 0 END),
		COUNT(*)
		FROM services_precreatedinstance GROUP BY COALESCE(plan_id, '')`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = counts.Close() }()
	for counts.Next() {
		var planID string
		var avail, pol, unallocated, total int
		if err := counts.Scan(&planID, &avail, &pol, &unallocated, &total); err != nil {
			return nil, err
		}
		planID = normalizeUUID(planID)
		i, ok := index[planID]
		if !ok {
			report.Orphans = append(report.Orphans, Orphans{PlanID: planID, Unallocated: unallocated, Total: total})
			continue
		}
		report.Plans[i].Available += avail
		report.Plans[i].Policy += pol
		report.Plans[i].Total += total
	}
	if err := counts.Err(); err != nil {
		return nil, err
	}
	sort.Slice(report.Plans, func(i, j int) bool {
		a, b := report.Plans[i], report.Plans[j]
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		if a.Plan != b.Plan {
			return a.Plan < b.Plan
		}
		return a.Tenant < b.Tenant
	})
	sort.Slice(report.Orphans, func(i, j int) bool { return report.Orphans[i].PlanID < report.Orphans[j].PlanID })

	if schema.AllocationType && schema.BindingPolicy {
		if report.Policies, err = readPolicies(ctx, tx); err != nil {
			return nil, err
		}
	}
	if missing := missingColumns(cols, bindingColumns); len(missing) > 0 {
		report.BindingsHidden = strings.Join(missing, "; ")
		return report, nil
	}
	if report.Unprovisioned, err = readUnprovisioned(ctx, tx); err != nil {
		return nil, err
	}
	return report, nil
}

// readPolicies groups the unallocated policy instances of each plan by their binding
// policy. One query, whatever the number of plans; grouped here rather than in SQL,
// since GROUP BY on a text column compares only a prefix.
func readPolicies(ctx context.Context, tx *sql.Tx) ([]PolicyGroup, error) {
	rows, err := tx.QueryContext(ctx, `SELECT COALESCE(plan_id, ''), COALESCE(binding_policy, '')
		FROM services_precreatedinstance WHERE is_allocated = 0 AND allocation_type = 'policy'`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	index := map[[2]string]int{}
	var out []PolicyGroup
	for rows.Next() {
		var plan, policy string
		if err := rows.Scan(&plan, &policy); err != nil {
			return nil, err
		}
		key := [2]string{normalizeUUID(plan), policy}
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, PolicyGroup{PlanID: key[0], Policy: policy})
		}
		out[i].Count++
	}
	return out, rows.Err()
}

// readUnprovisioned lists the environments bound to a plan without an instance yet,
// with the application code, module and environment names the platform matches
// binding policies with. One query; the joins follow unique keys.
func readUnprovisioned(ctx context.Context, tx *sql.Tx) ([]Unprovisioned, error) {
	rows, err := tx.QueryContext(ctx, `SELECT a.plan_id, COALESCE(app.code, ''), COALESCE(m.name, ''), COALESCE(e.environment, '')
		FROM servicehub_serviceengineappattachment a
		LEFT JOIN applications_applicationenvironment e ON e.engine_app_id = a.engine_app_id
		LEFT JOIN applications_application app ON app.id = e.application_id
		LEFT JOIN modules_module m ON m.id = e.module_id
		WHERE a.service_instance_id IS NULL`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []Unprovisioned
	for rows.Next() {
		var u Unprovisioned
		if err := rows.Scan(&u.PlanID, &u.App, &u.Module, &u.Env); err != nil {
			return nil, err
		}
		u.PlanID = normalizeUUID(u.PlanID)
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.App != b.App {
			return a.App < b.App
		}
		if a.Module != b.Module {
			return a.Module < b.Module
		}
		return a.Env < b.Env
	})
	return out, nil
}

// columns reads which columns of the given tables the connection can see. A user
// with column-level grants sees only the columns granted to it.
func columns(ctx context.Context, tx *sql.Tx, tables map[string][]string) (map[string]map[string]bool, error) {
	names := make([]string, 0, len(tables))
	args := make([]any, 0, len(tables))
	for t := range tables {
		names = append(names, "?")
		args = append(args, t)
	}
	rows, err := tx.QueryContext(ctx, `SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS
		WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (`+strings.Join(names, ",")+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := map[string]map[string]bool{}
	for rows.Next() {
		var table, column string
		if err := rows.Scan(&table, &column); err != nil {
			return nil, err
		}
		table, column = strings.ToLower(table), strings.ToLower(column)
		if out[table] == nil {
			out[table] = map[string]bool{}
		}
		out[table][column] = true
	}
	return out, rows.Err()
}

// requireColumns says, as a SchemaUnrecognized error, what the schema lacks.
func requireColumns(have map[string]map[string]bool, want map[string][]string) error {
	missing := missingColumns(have, want)
	if len(missing) == 0 {
		return nil
	}
	return &Error{Reason: v1alpha1.ReasonSchemaUnrecognized, Message: "the database's schema is not one paasdiag recognises, or the user may not read all of it: missing " +
		strings.Join(missing, "; ")}
}

// missingColumns names the tables and columns of want that are not in have.
func missingColumns(have map[string]map[string]bool, want map[string][]string) []string {
	tables := make([]string, 0, len(want))
	for t := range want {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	var missing []string
	for _, t := range tables {
		if have[t] == nil {
			missing = append(missing, "table "+t)
			continue
		}
		var cols []string
		for _, c := range want[t] {
			if !have[t][c] {
				cols = append(cols, c)
			}
		}
		if len(cols) > 0 {
			missing = append(missing, fmt.Sprintf("%s.%s", t, strings.Join(cols, ", "+t+".")))
		}
	}
	return missing
}

// providerName is the service's provider: config.provider_name, falling back to the
// service's name, as the platform does.
func providerName(service, config string) string {
	var c struct {
		ProviderName string `json:"provider_name"`
	}
	if json.Unmarshal([]byte(config), &c) == nil && c.ProviderName != "" {
		return c.ProviderName
	}
	return service
}

// normalizeUUID compares Django's char(32) hex UUIDs whatever their case or dashes.
func normalizeUUID(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, "-", ""))
}
