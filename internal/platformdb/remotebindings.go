package platformdb

import (
	"context"
	"database/sql"
	"sort"
	"strings"
)

// The environments bound to remote add-on services live in the default database
// (bk_paas_ng): servicehub_remoteserviceengineappattachment
// (paasng/accessories/servicehub/models.py RemoteServiceEngineAppAttachment), one
// row per environment (engine app) and service, naming the provider's service and plan by
// id only: the plans themselves are in the provider's services/ answer.

// legacyPlanID is servicehub's constants.LEGACY_PLAN_ID, the plan of bindings made before
// remote services had plans: get_plan answers LEGACY_PLAN_INSTANCE for it without asking
// the provider.
const legacyPlanID = "00000000-0000-0000-0000-000000000000"

// RemoteBinding is one plan of a remote service that environments are bound to.
type RemoteBinding struct {
	// ServiceID and PlanID are in the form the platform compares with the provider's
	// "uuid" values: str(UUID), lowercase hex in 8-4-4-4-12 groups (get_plan:
	// d["uuid"] == str(self.db_obj.plan_id)); the column holds the 32 hex digits. A
	// provider answering another spelling does not match on the platform either. A value
	// that is not a UUID is kept as stored.
	ServiceID, PlanID string
	// LegacyPlan is the all-zero plan: the platform never looks it up at the provider, so
	// it cannot be missing there. The service still has to exist (the binding's service
	// and source config are looked up by service id).
	LegacyPlan bool
	// Bindings counts the environments bound; Unprovisioned those without an instance
	// yet (service_instance_id NULL), which their next deploy provisions
	// (list_unprovisioned_rels): a plan missing at the provider fails those deploys.
	Bindings, Unprovisioned int
	// Examples are up to three of the bound modules, "app/module" ("app" for an
	// environment without a module), sorted; an attachment whose engine app belongs to
	// no environment counts but names nothing.
	Examples []string
	// Regions are the bound applications' regions, sorted. Platform 1.6 only finds a
	// binding's service when it has a plan whose properties.region is the application's
	// region (RemoteServiceStore.get(uuid, region=self.db_application.region)); 1.7
	// dropped the rule. Nil when the user cannot read applications_application.region.
	Regions []string
}

var remoteBindingColumns = map[string][]string{
	"servicehub_remoteserviceengineappattachment": {"service_id", "plan_id", "engine_app_id", "service_instance_id"},
	"applications_applicationenvironment":         {"engine_app_id", "application_id", "module_id"},
	"applications_application":                    {"id", "code"},
	"modules_module":                              {"id", "name"},
}

// ReadRemoteBindings reads every (service, plan) of remote services that environments
// are bound to, with how many and which. One query: the attachments are read whole (one
// row per environment and remote service, so no more rows than environments times
// services) and joined through unique keys (applications_applicationenvironment's
// engine_app_id, the applications' and modules' primary keys).
func ReadRemoteBindings(ctx context.Context, tx *sql.Tx) ([]RemoteBinding, error) {
	want := map[string][]string{}
	for t, c := range remoteBindingColumns {
		want[t] = c
	}
	cols, err := columns(ctx, tx, want)
	if err != nil {
		return nil, err
	}
	if err := requireColumns(cols, remoteBindingColumns); err != nil {
		return nil, err
	}
	withRegion := cols["applications_application"]["region"]
	region := "''"
	if withRegion {
		region = "COALESCE(app.region, '')"
	}
	rows, err := tx.QueryContext(ctx, `SELECT r.service_id, r.plan_id, r.service_instance_id IS NULL, COALESCE(app.code, ''), COALESCE(m.name, ''), `+region+`
		FROM servicehub_remoteserviceengineappattachment r
		LEFT JOIN applications_applicationenvironment e ON e.engine_app_id = r.engine_app_id
		LEFT JOIN applications_application app ON app.id = e.application_id
		LEFT JOIN modules_module m ON m.id = e.module_id`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	type group struct {
		b       RemoteBinding
		names   map[string]bool
		regions map[string]bool
	}
	groups := map[[2]string]*group{}
	for rows.Next() {
		var service, plan, app, module, appRegion string
		var unprovisioned bool
		if err := rows.Scan(&service, &plan, &unprovisioned, &app, &module, &appRegion); err != nil {
			return nil, err
		}
		key := [2]string{uuidString(service), uuidString(plan)}
		g := groups[key]
		if g == nil {
			g = &group{b: RemoteBinding{ServiceID: key[0], PlanID: key[1], LegacyPlan: key[1] == legacyPlanID},
				names: map[string]bool{}, regions: map[string]bool{}}
			groups[key] = g
		}
		g.b.Bindings++
		if unprovisioned {
			g.b.Unprovisioned++
		}
		if app != "" {
			name := app
			if module != "" {
				name += "/" + module
			}
			g.names[name] = true
			g.regions[appRegion] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]RemoteBinding, 0, len(groups))
	for _, g := range groups {
		for n := range g.names {
			g.b.Examples = append(g.b.Examples, n)
		}
		sort.Strings(g.b.Examples)
		if len(g.b.Examples) > 3 {
			g.b.Examples = g.b.Examples[:3]
		}
		if withRegion {
			g.b.Regions = []string{}
			for r := range g.regions {
				g.b.Regions = append(g.b.Regions, r)
			}
			sort.Strings(g.b.Regions)
		}
		out = append(out, g.b)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ServiceID != out[j].ServiceID {
			return out[i].ServiceID < out[j].ServiceID
		}
		return out[i].PlanID < out[j].PlanID
	})
	return out, nil
}

// uuidString is Python's str(uuid.UUID(s)) for a stored UUID: 32 hex digits (char(32)
// on MySQL) or already grouped (a native uuid column on MariaDB 10.7+ with Django 5).
func uuidString(s string) string {
	h := normalizeUUID(strings.TrimSpace(s))
	if len(h) != 32 || strings.Trim(h, "0123456789abcdef") != "" {
		return s
	}
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
