package mariadb

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Platform is one of the platform's default databases (bk_paas_ng) on a test server,
// with helpers to lay out services, plans and pre-created instances as the admin
// console would, and apps' environments bound to plans as the platform does.
type Platform struct {
	Server   *Server
	Database string
	// Line is the release line whose layout the database has.
	Line Line
	// Legacy is the platform 1.6 layout: no tenants, no allocation types.
	Legacy bool
}

// NewPlatform creates database in the layout of a release line, its migrations
// recorded.
func NewPlatform(s *Server, database string, line Line) (*Platform, error) {
	if err := s.CreateLineDatabase(database, line, "bk_paas_ng"); err != nil {
		return nil, err
	}
	p := &Platform{Server: s, Database: database, Line: line, Legacy: line.Legacy()}
	return p, s.Exec(database, "INSERT INTO services_servicecategory (id, name_zh_cn, name_en) VALUES (1, '数据', 'data')")
}

// NewID is a Django UUID: 32 hex characters.
func NewID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Service adds an add-on service with the given provider and returns its id.
func (p *Platform) Service(name, provider string) (string, error) {
	id := NewID()
	config := fmt.Sprintf(`{"provider_name": %q}`, provider)
	return id, p.Server.Exec(p.Database,
		"INSERT INTO services_service (uuid, created, updated, name, category_id, config, is_active, is_visible) VALUES (?, NOW(6), NOW(6), ?, 1, ?, 1, 1)",
		id, name, config)
}

// Plan adds an active plan of a service; tenant is ignored on the legacy layout.
func (p *Platform) Plan(serviceID, name, tenant string) (string, error) {
	id := NewID()
	if p.Legacy {
		return id, p.Server.Exec(p.Database,
			"INSERT INTO services_plan (uuid, created, updated, service_id, name, config, is_active) VALUES (?, NOW(6), NOW(6), ?, ?, 'encrypted', 1)",
			id, serviceID, name)
	}
	return id, p.Server.Exec(p.Database,
		"INSERT INTO services_plan (uuid, created, updated, service_id, name, config, is_active, tenant_id) VALUES (?, NOW(6), NOW(6), ?, ?, 'encrypted', 1, ?)",
		id, serviceID, name, tenant)
}

// Instances adds n pre-created instances to a plan (planID may name no plan, or be
// "" for NULL). allocationType is "fifo" or "policy"; ignored on the legacy layout. A
// "policy" instance is reserved for the app reserved-app (binding_policy
// {"app_code": ["reserved-app"]}); PolicyInstances takes any binding policy. It returns
// the instances' ids.
func (p *Platform) Instances(planID string, n int, allocated bool, allocationType string) ([]string, error) {
	var ids []string
	var plan any = planID
	if planID == "" {
		plan = nil
	}
	for i := 0; i < n; i++ {
		id := NewID()
		var err error
		if p.Legacy {
			err = p.Server.Exec(p.Database,
				"INSERT INTO services_precreatedinstance (uuid, created, updated, plan_id, config, credentials, is_allocated) VALUES (?, NOW(6), NOW(6), ?, '{}', 'encrypted', ?)",
				id, plan, allocated)
		} else {
			// binding_policy is NOT NULL, {} by default (services 0009).
			policy := "{}"
			if allocationType == "policy" {
				policy = `{"app_code": ["reserved-app"]}`
			}
			err = p.Server.Exec(p.Database,
				"INSERT INTO services_precreatedinstance (uuid, created, updated, plan_id, config, credentials, is_allocated, allocation_type, binding_policy, tenant_id) VALUES (?, NOW(6), NOW(6), ?, '{}', 'encrypted', ?, ?, ?, 'default')",
				id, plan, allocated, allocationType, policy)
		}
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// Allocate marks an instance allocated, as the platform does when an app gets it.
func (p *Platform) Allocate(instanceID string) error {
	return p.Server.Exec(p.Database, "UPDATE services_precreatedinstance SET is_allocated = 1 WHERE uuid = ?", instanceID)
}

// PolicyInstances adds n unallocated pre-created instances of allocation type
// "policy" to a plan (planID "" for NULL), with bindingPolicy as the binding_policy JSON
// text, stored as given (e.g. `{"app_code": ["myapp"], "env_name": ["prod"]}`; the
// platform reads the keys app_code, module_name and env_name, each a list). Like the
// admin console, it gives them the plan's tenant ("default" when planID names no plan).
// Allocation types and binding policies exist from 1.7 on (services 0009): on the legacy
// layout it is an error. It returns the instances' ids.
func (p *Platform) PolicyInstances(planID string, n int, bindingPolicy string) ([]string, error) {
	if p.Legacy {
		return nil, fmt.Errorf("%s has no allocation types or binding policies (services 0009 is 1.7+)", p.Line)
	}
	var plan any = planID
	if planID == "" {
		plan = nil
	}
	var ids []string
	for i := 0; i < n; i++ {
		id := NewID()
		if err := p.Server.Exec(p.Database,
			"INSERT INTO services_precreatedinstance (uuid, created, updated, plan_id, config, credentials, is_allocated, allocation_type, binding_policy, tenant_id) "+
				"VALUES (?, NOW(6), NOW(6), ?, '{}', 'encrypted', 0, 'policy', ?, COALESCE((SELECT tenant_id FROM services_plan WHERE uuid = ?), 'default'))",
			id, plan, bindingPolicy, plan); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// Environment adds an environment (env, e.g. "stag" or "prod") of a module of an app,
// as the platform does when it creates an app: the applications_application row of
// appCode and the modules_module row of module are created unless they exist (module ""
// means an environment without a module: module_id NULL), then the
// applications_applicationenvironment row, with a new engine app id, which it returns.
// An environment that exists already for the module is an error (unique (module_id,
// environment)). On the lines with tenants every row is of the tenant "default".
func (p *Platform) Environment(appCode, module, env string) (engineAppID string, err error) {
	db, err := p.Server.Admin(p.Database)
	if err != nil {
		return "", err
	}
	defer func() { _ = db.Close() }()
	// The app's name is its code: both are unique and varchar(20).
	if p.Legacy {
		_, err = db.Exec("INSERT INTO applications_application (id, created, updated, code, name) VALUES (?, NOW(6), NOW(6), ?, ?) ON DUPLICATE KEY UPDATE id = id",
			NewID(), appCode, appCode)
	} else {
		_, err = db.Exec("INSERT INTO applications_application (id, created, updated, code, name, app_tenant_id, tenant_id) VALUES (?, NOW(6), NOW(6), ?, ?, 'default', 'default') ON DUPLICATE KEY UPDATE id = id",
			NewID(), appCode, appCode)
	}
	if err != nil {
		return "", err
	}
	var appID string
	if err := db.QueryRow("SELECT id FROM applications_application WHERE code = ?", appCode).Scan(&appID); err != nil {
		return "", fmt.Errorf("app %s: %w", appCode, err)
	}
	var moduleID any
	if module != "" {
		if p.Legacy {
			_, err = db.Exec("INSERT INTO modules_module (id, created, updated, name, is_default, application_id) VALUES (?, NOW(6), NOW(6), ?, ?, ?) ON DUPLICATE KEY UPDATE id = id",
				NewID(), module, module == "default", appID)
		} else {
			_, err = db.Exec("INSERT INTO modules_module (id, created, updated, name, is_default, application_id, tenant_id) VALUES (?, NOW(6), NOW(6), ?, ?, ?, 'default') ON DUPLICATE KEY UPDATE id = id",
				NewID(), module, module == "default", appID)
		}
		if err != nil {
			return "", err
		}
		var id string
		if err := db.QueryRow("SELECT id FROM modules_module WHERE application_id = ? AND name = ?", appID, module).Scan(&id); err != nil {
			return "", fmt.Errorf("module %s of app %s: %w", module, appCode, err)
		}
		moduleID = id
	}
	engineAppID = NewID()
	if p.Legacy {
		_, err = db.Exec("INSERT INTO applications_applicationenvironment (created, updated, environment, is_offlined, application_id, engine_app_id, module_id) VALUES (NOW(6), NOW(6), ?, 0, ?, ?, ?)",
			env, appID, engineAppID, moduleID)
	} else {
		_, err = db.Exec("INSERT INTO applications_applicationenvironment (created, updated, environment, is_offlined, application_id, engine_app_id, module_id, tenant_id) VALUES (NOW(6), NOW(6), ?, 0, ?, ?, ?, 'default')",
			env, appID, engineAppID, moduleID)
	}
	if err != nil {
		return "", err
	}
	return engineAppID, nil
}

// Attach binds an environment (by its engine app id) to a plan of a service, as the
// platform does when a module enables an add-on service: a
// servicehub_serviceengineappattachment row. instanceID is the provisioned service
// instance, "" (NULL) for one not provisioned yet: the next deployment of the environment
// provisions it, from the plan's pool for a pool service. On the lines with tenants the
// attachment has the environment's tenant ("default" when engineAppID names none).
func (p *Platform) Attach(engineAppID, serviceID, planID, instanceID string) error {
	var instance any = instanceID
	if instanceID == "" {
		instance = nil
	}
	if p.Legacy {
		return p.Server.Exec(p.Database,
			"INSERT INTO servicehub_serviceengineappattachment (created, updated, engine_app_id, service_id, plan_id, service_instance_id, credentials_enabled) VALUES (NOW(6), NOW(6), ?, ?, ?, ?, 1)",
			engineAppID, serviceID, planID, instance)
	}
	return p.Server.Exec(p.Database,
		"INSERT INTO servicehub_serviceengineappattachment (created, updated, engine_app_id, service_id, plan_id, service_instance_id, credentials_enabled, tenant_id) "+
			"VALUES (NOW(6), NOW(6), ?, ?, ?, ?, 1, COALESCE((SELECT tenant_id FROM applications_applicationenvironment WHERE engine_app_id = ?), 'default'))",
		engineAppID, serviceID, planID, instance, engineAppID)
}

// ReadOnlyUser creates user with the read-only grant docs/runbooks.md recommends
// (config/samples/readonly-grant*.sql), applied to this database, and returns its DSN.
func (p *Platform) ReadOnlyUser(user, password string) (string, error) {
	file := "readonly-grant.sql"
	if p.Legacy {
		file = "readonly-grant-1.6.sql"
	}
	grant, err := os.ReadFile(filepath.Join(RepoRoot(), "config", "samples", file))
	if err != nil {
		return "", err
	}
	stmts := string(grant)
	stmts = strings.ReplaceAll(stmts, "bk_paas_ng.", "`"+p.Database+"`.")
	stmts = strings.ReplaceAll(stmts, "'paasdiag'@'%'", "'"+user+"'@'127.0.0.1'")
	stmts = strings.ReplaceAll(stmts, "'change-me'", "'"+password+"'")
	if err := p.Server.Exec("", stmts); err != nil {
		return "", err
	}
	return p.Server.DSN(user, password, p.Database), nil
}
