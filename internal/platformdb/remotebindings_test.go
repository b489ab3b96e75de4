//go:build integration

package platformdb

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/testsupport/mariadb"
)

// attachRemote binds an environment (by its engine app id) to a remote service's plan as
// the platform does when a module enables a remote add-on service: a
// servicehub_remoteserviceengineappattachment row, not provisioned yet.
func attachRemote(t *testing.T, p *mariadb.Platform, engineAppID, serviceID, planID string) {
	t.Helper()
	if err := p.Server.Exec(p.Database, `INSERT INTO servicehub_remoteserviceengineappattachment (engine_app_id, service_id, plan_id) VALUES (?, ?, ?)`,
		engineAppID, serviceID, planID); err != nil {
		t.Fatal(err)
	}
}

// ReadRemoteBindings groups the bindings by service and plan, in the platform's UUID
// form, counts the environments and names up to three modules; the all-zero plan is
// marked legacy, and the applications' regions are given for 1.6's region rule.
func TestReadRemoteBindings(t *testing.T) {
	startServer(t)
	for _, line := range mariadb.Lines {
		t.Run(string(line), func(t *testing.T) {
			p := must(mariadb.NewPlatform(server, "rbind_"+strings.NewReplacer("-", "_", ".", "_").Replace(string(line)), line))
			svc, plan, other := "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210", mariadb.NewID()
			for _, env := range []struct{ app, module, env string }{
				{"app1", "default", "prod"}, {"app1", "default", "stag"}, {"app2", "default", "prod"},
				{"app3", "web", "prod"}, {"app4", "default", "prod"},
			} {
				attachRemote(t, p, must(p.Environment(env.app, env.module, env.env)), svc, plan)
			}
			attachRemote(t, p, must(p.Environment("app5", "", "prod")), other, plan) // an environment without a module
			attachRemote(t, p, must(p.Environment("legacy", "default", "prod")), svc, strings.Repeat("0", 32))
			attachRemote(t, p, mariadb.NewID(), other, plan) // an engine app of no environment
			// Two of the five environments have their instance: the next deploy of the
			// three others provisions one.
			if err := server.Exec(p.Database, "UPDATE servicehub_remoteserviceengineappattachment SET service_instance_id = ? WHERE service_id = ? AND plan_id = ? ORDER BY id LIMIT 2",
				mariadb.NewID(), svc, plan); err != nil {
				t.Fatal(err)
			}
			if err := server.Exec(p.Database, "UPDATE applications_application SET region = 'ieod' WHERE code = 'app4'"); err != nil {
				t.Fatal(err)
			}

			var got []RemoteBinding
			readTx(t, p.Database, func(tx *sql.Tx) (err error) {
				got, err = ReadRemoteBindings(context.Background(), tx)
				return err
			})
			zero := "00000000-0000-0000-0000-000000000000"
			want := []RemoteBinding{
				{ServiceID: "01234567-89ab-cdef-0123-456789abcdef", PlanID: zero, LegacyPlan: true, Bindings: 1, Unprovisioned: 1,
					Examples: []string{"legacy/default"}, Regions: []string{"default"}},
				{ServiceID: "01234567-89ab-cdef-0123-456789abcdef", PlanID: "fedcba98-7654-3210-fedc-ba9876543210", Bindings: 5, Unprovisioned: 3,
					Examples: []string{"app1/default", "app2/default", "app3/web"}, Regions: []string{"default", "ieod"}},
				{ServiceID: uuidString(other), PlanID: "fedcba98-7654-3210-fedc-ba9876543210", Bindings: 2, Unprovisioned: 2,
					Examples: []string{"app5"}, Regions: []string{"default"}},
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("bindings\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// Without the columns that name the bound modules the read fails as an unrecognised
// schema, naming what is missing; without applications_application.region it reads the
// rest.
func TestReadRemoteBindingsHiddenColumns(t *testing.T) {
	startServer(t)
	p := must(mariadb.NewPlatform(server, "rbind_grant", mariadb.Main))
	attachRemote(t, p, must(p.Environment("app1", "default", "prod")), mariadb.NewID(), mariadb.NewID())
	read := func(user string, grants ...string) ([]RemoteBinding, error) {
		stmts := "CREATE USER '" + user + "'@'127.0.0.1' IDENTIFIED BY 'pw';"
		for _, g := range grants {
			stmts += "GRANT SELECT " + g + " TO '" + user + "'@'127.0.0.1';"
		}
		if err := server.Exec("", strings.ReplaceAll(stmts, "DB.", "`"+p.Database+"`.")); err != nil {
			t.Fatal(err)
		}
		pools := NewPools()
		defer pools.Forget(diag)
		db := must(pools.Open(diag, "default", server.DSN(user, "pw", p.Database), 5*time.Second))
		var got []RemoteBinding
		err := db.ReadOnly(context.Background(), func(tx *sql.Tx) (err error) {
			got, err = ReadRemoteBindings(context.Background(), tx)
			return err
		})
		return got, err
	}
	names := []string{
		"(service_id, plan_id, engine_app_id, service_instance_id) ON DB.servicehub_remoteserviceengineappattachment",
		"(engine_app_id, application_id, module_id) ON DB.applications_applicationenvironment",
		"(id, code) ON DB.applications_application",
	}
	got, err := read("rb_noregion", append(names, "(id, name) ON DB.modules_module")...)
	if err != nil || len(got) != 1 || got[0].Regions != nil || !reflect.DeepEqual(got[0].Examples, []string{"app1/default"}) {
		t.Errorf("without region: %+v, %v", got, err)
	}
	_, err = read("rb_nomodule", names...)
	var e *Error
	if !errors.As(err, &e) || e.Reason != v1alpha1.ReasonSchemaUnrecognized || !strings.Contains(e.Message, "table modules_module") {
		t.Errorf("without modules_module: %v", err)
	}
}
