//go:build integration

package checks

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/platformdb"
	"github.com/paasdiag/paasdiag/internal/testsupport/mariadb"
)

// The pool rows run on a real MariaDB, with each line's layout and migrations: the
// counting that decides 4313022 is SQL.

var testDB mariadb.Lazy

func TestMain(m *testing.M) {
	code := m.Run()
	testDB.Close()
	os.Exit(code)
}

// poolOnLine lays out redis/0shared on a line's database, lets fill add its
// instances, and runs the pool check through the read-only grant the docs recommend.
func poolOnLine(t *testing.T, line mariadb.Line, fill func(p *mariadb.Platform, planID string)) check.Result {
	t.Helper()
	return poolOnLineWithGrant(t, line, line.Legacy(), fill)
}

// poolOnLineWithGrant is poolOnLine with the 1.6 grant (legacyGrant) or the current
// one, whatever the line; the release line is detected as the manager detects it.
func poolOnLineWithGrant(t *testing.T, line mariadb.Line, legacyGrant bool, fill func(p *mariadb.Platform, planID string)) check.Result {
	t.Helper()
	return boundPoolOnLine(t, line, legacyGrant, func(p *mariadb.Platform, _, planID string) { fill(p, planID) })
}

// boundPoolOnLine is poolOnLineWithGrant whose fill also gets the service, to bind
// environments to the plan.
func boundPoolOnLine(t *testing.T, line mariadb.Line, legacyGrant bool, fill func(p *mariadb.Platform, serviceID, planID string)) check.Result {
	t.Helper()
	s := testDB.Get(t)
	name := "pool_" + strings.NewReplacer("-", "_", ".", "_").Replace(string(line)) + "_" + fmt.Sprint(time.Now().UnixNano())
	p, err := mariadb.NewPlatform(s, name, line)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := p.Service("redis", "pool")
	if err != nil {
		t.Fatal(err)
	}
	planID, err := p.Plan(svc, "0shared", "default")
	if err != nil {
		t.Fatal(err)
	}
	fill(p, svc, planID)
	p.Legacy = legacyGrant // which grant file ReadOnlyUser applies
	dsn, err := p.ReadOnlyUser("ro_"+name[len(name)-8:], "pw")
	if err != nil {
		t.Fatal(err)
	}
	d := &v1alpha1.PaaSDiagnosis{ObjectMeta: metav1.ObjectMeta{Namespace: "blueking", Name: name},
		Spec: v1alpha1.PaaSDiagnosisSpec{Timeout: metav1.Duration{Duration: 5 * time.Second},
			PlatformDatabase: &v1alpha1.PlatformDatabase{DefaultDSNSecretRef: &v1alpha1.SecretKeyReference{Name: "db", Key: "dsn"}},
			InstancePools:    &v1alpha1.InstancePoolsCheck{MinAvailable: 1}}}
	pools := platformdb.NewPools()
	defer pools.Forget(client.ObjectKeyFromObject(d))
	pl := Build(Dependencies{Databases: pools})(d)
	pl.Resolve(context.Background(), check.Secrets{"db": {"dsn": []byte(dsn)}})
	return pl.Checks[0].Check(context.Background())
}

func must0(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// POOL01: on 1.7+ a plan whose unallocated instances are all reserved by a policy has
// no instance for other apps: 4313022. One unallocated FIFO instance is enough.
func TestPOOL01_PoolEmpty17Plus(t *testing.T) {
	for _, line := range mariadb.Lines17Plus {
		t.Run(string(line), func(t *testing.T) {
			r := poolOnLine(t, line, func(p *mariadb.Platform, plan string) {
				ids, err := p.Instances(plan, 1, false, "fifo")
				must0(t, err)
				must0(t, p.Allocate(ids[0]))
				_, err = p.Instances(plan, 2, false, "policy")
				must0(t, err)
			})
			expectVerdict(t, r, check.Fail, v1alpha1.ReasonPoolEmpty, "4313022")
			r = poolOnLine(t, line, func(p *mariadb.Platform, plan string) {
				_, err := p.Instances(plan, 1, false, "fifo")
				must0(t, err)
			})
			expectVerdict(t, r, check.Pass, v1alpha1.ReasonSucceeded, "")
		})
	}
}

// POOL02: up to 1.6 any unallocated instance serves any app; none left is 4313022.
func TestPOOL02_PoolEmpty16(t *testing.T) {
	r := poolOnLine(t, mariadb.Release16, func(p *mariadb.Platform, plan string) {
		ids, err := p.Instances(plan, 2, false, "")
		must0(t, err)
		must0(t, p.Allocate(ids[0]))
		must0(t, p.Allocate(ids[1]))
	})
	expectVerdict(t, r, check.Fail, v1alpha1.ReasonPoolEmpty, "4313022")
	r = poolOnLine(t, mariadb.Release16, func(p *mariadb.Platform, plan string) {
		_, err := p.Instances(plan, 1, false, "")
		must0(t, err)
	})
	expectVerdict(t, r, check.Pass, v1alpha1.ReasonSucceeded, "")
}

// POOL10: on 1.7+ (services 0009), a user whose grant hides allocation_type (the 1.6
// grant) would count policy instances as available: Unknown SchemaUnrecognized instead,
// no code.
func TestPOOL10_HiddenColumnsOnALaterLine(t *testing.T) {
	for _, line := range mariadb.Lines17Plus {
		t.Run(string(line), func(t *testing.T) {
			r := poolOnLineWithGrant(t, line, true, func(p *mariadb.Platform, plan string) {
				_, err := p.Instances(plan, 2, false, "policy")
				must0(t, err)
			})
			expectVerdict(t, r, check.Unknown, "SchemaUnrecognized", "")
			if !strings.Contains(r.Message, "allocation_type (services 0009)") {
				t.Errorf("message %q", r.Message)
			}
		})
	}
	// The same grant on 1.6 is right.
	r := poolOnLineWithGrant(t, mariadb.Release16, true, func(p *mariadb.Platform, plan string) {
		_, err := p.Instances(plan, 1, false, "")
		must0(t, err)
	})
	expectVerdict(t, r, check.Pass, v1alpha1.ReasonSucceeded, "")
}

// bind binds a new environment app/default/env to the plan, without an instance.
func bind(t *testing.T, p *mariadb.Platform, serviceID, planID, app, env string) {
	t.Helper()
	engineApp, err := p.Environment(app, "default", env)
	must0(t, err)
	must0(t, p.Attach(engineApp, serviceID, planID, ""))
}

func poolStatus(r check.Result) v1alpha1.PoolStatus {
	var s v1alpha1.PaaSDiagnosisStatus
	if r.Details != nil {
		r.Details(&s)
	}
	if len(s.Pools) == 0 {
		return v1alpha1.PoolStatus{}
	}
	return s.Pools[0]
}

// POOL07 on each 1.7+ line, through the recommended grant: a wildcard policy instance
// is available.
func TestPOOL07_WildcardPolicyOnEachLine(t *testing.T) {
	for _, line := range mariadb.Lines17Plus {
		t.Run(string(line), func(t *testing.T) {
			r := poolOnLine(t, line, func(p *mariadb.Platform, plan string) {
				_, err := p.PolicyInstances(plan, 1, `{"app_code": null, "env_name": null}`)
				must0(t, err)
			})
			expectVerdict(t, r, check.Pass, v1alpha1.ReasonSucceeded, "")
			if st := poolStatus(r); st.Available != 1 || st.Policy != 0 {
				t.Errorf("%+v", st)
			}
		})
	}
}

// POOL09 and POOL12 on each 1.7+ line: an app-specific policy serves only its app;
// the other bound environment is named, and counted, as failing.
func TestPOOL09_PolicyServesItsAppsOnEachLine(t *testing.T) {
	for _, line := range mariadb.Lines17Plus {
		t.Run(string(line), func(t *testing.T) {
			r := boundPoolOnLine(t, line, false, func(p *mariadb.Platform, svc, plan string) {
				_, err := p.PolicyInstances(plan, 1, `{"app_code": ["vip"]}`)
				must0(t, err)
				bind(t, p, svc, plan, "vip", "prod")
				bind(t, p, svc, plan, "other", "stag")
			})
			expectVerdict(t, r, check.Fail, v1alpha1.ReasonPoolEmpty, "4313022")
			if !strings.Contains(r.Findings[0].Message, "1 of them would get none on their next deploy: other/default/stag") {
				t.Errorf("message %q", r.Findings[0].Message)
			}
			if st := poolStatus(r); st.Policy != 1 || st.Unprovisioned != 2 || st.WouldFail != 1 {
				t.Errorf("%+v", st)
			}
		})
	}
}

// POOL12 on every line (1.6 too): bound environments without an instance are read
// through the recommended grant; provisioned ones are not counted.
func TestPOOL12_BoundEnvironmentsOnEachLine(t *testing.T) {
	for _, line := range mariadb.Lines {
		t.Run(string(line), func(t *testing.T) {
			r := boundPoolOnLine(t, line, line.Legacy(), func(p *mariadb.Platform, svc, plan string) {
				bind(t, p, svc, plan, "waiting", "prod")
				done, err := p.Environment("served", "default", "prod")
				must0(t, err)
				must0(t, p.Attach(done, svc, plan, mariadb.NewID()))
			})
			expectVerdict(t, r, check.Fail, v1alpha1.ReasonPoolEmpty, "4313022")
			if st := poolStatus(r); st.Unprovisioned != 1 || st.WouldFail != 1 {
				t.Errorf("%+v", st)
			}
			for _, f := range r.Findings {
				if f.Reason == v1alpha1.ReasonBindingsUnreadable {
					t.Errorf("the recommended grant hides the bindings: %s", f.Message)
				}
			}
		})
	}
}

// POOL08 on every line: a deactivated plan still bound is judged.
func TestPOOL08_DeactivatedPlanOnEachLine(t *testing.T) {
	for _, line := range mariadb.Lines {
		t.Run(string(line), func(t *testing.T) {
			r := boundPoolOnLine(t, line, line.Legacy(), func(p *mariadb.Platform, svc, plan string) {
				bind(t, p, svc, plan, "waiting", "prod")
				must0(t, p.Server.Exec(p.Database, "UPDATE services_plan SET is_active = 0"))
			})
			expectVerdict(t, r, check.Fail, v1alpha1.ReasonPoolEmpty, "4313022")
			if st := poolStatus(r); !st.Inactive {
				t.Errorf("%+v", st)
			}
		})
	}
}
