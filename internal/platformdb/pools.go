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

// PoolReport is what ReadPools found.
type PoolReport struct {
	Schema  PoolSchema
	Plans   []PlanPool
	Orphans []Orphans
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
	cols, err := columns(ctx, tx, requiredPoolColumns)
	if err != nil {
		return nil, err
	}
	if err := requireColumns(cols, requiredPoolColumns); err != nil {
		return nil, err
	}
	schema := PoolSchema{
		PlanTenant:     cols["services_plan"]["tenant_id"],
		AllocationType: cols["services_precreatedinstance"]["allocation_type"],
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
	counts, err := tx.QueryContext(ctx, `SELECT COALESCE(plan_id, ''),
		SUM(CASE WHEN `+available+` THEN 1 ELSE 0 END),
		SUM(CASE WHEN `+policy+` THEN 1 ELSE 0 END),
		SUM(CASE WHEN is_allocated = 0 THEN 1 ELSE 0 END),
		COUNT(*)
		FROM services_precreatedinstance GROUP BY plan_id`)
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
	return report, nil
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
	if len(missing) == 0 {
		return nil
	}
	return &Error{Reason: v1alpha1.ReasonSchemaUnrecognized, Message: "the database's schema is not one paasdiag recognises, or the user may not read all of it: missing " +
		strings.Join(missing, "; ")}
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
