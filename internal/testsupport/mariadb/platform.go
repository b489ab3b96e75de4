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
// console would.
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
// "" for NULL). allocationType is "fifo" or "policy"; ignored on the legacy layout.
// It returns the instances' ids.
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
				policy = `{"app_codes": ["reserved-app"]}`
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
