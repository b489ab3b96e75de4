package checks

import (
	"errors"
	"strings"
	"testing"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/platformdb"
)

func plan(service, name string, available, policy, total int) platformdb.PlanPool {
	return platformdb.PlanPool{Service: service, Provider: "pool", ServiceActive: true, PlanActive: true,
		Plan: name, Tenant: "default", Available: available, Policy: policy, Total: total}
}

var current = platformdb.PoolSchema{PlanTenant: true, AllocationType: true}

func TestJudgePools(t *testing.T) {
	inactive := plan("redis", "retired", 0, 0, 0)
	inactive.PlanActive = false
	remote := plan("mysql", "default", 0, 0, 0)
	remote.Provider = "mysql"

	tests := []struct {
		name         string
		plans        []platformdb.PlanPool
		orphans      []platformdb.Orphans
		cfg          v1alpha1.InstancePoolsCheck
		wantStatus   check.Status
		wantReason   string
		wantMessage  string
		wantFindings []string // severity/reason/check
	}{
		{name: "every plan has instances", plans: []platformdb.PlanPool{plan("redis", "0shared", 3, 0, 5), plan("redis", "1exclusive", 1, 0, 1)},
			cfg: v1alpha1.InstancePoolsCheck{MinAvailable: 1}, wantStatus: check.Pass, wantReason: "Succeeded",
			wantMessage: "2 plan(s) checked (schema: current); each has an available instance"},
		{name: "one plan empty", plans: []platformdb.PlanPool{plan("redis", "0shared", 0, 0, 5), plan("redis", "1exclusive", 2, 0, 2)},
			cfg: v1alpha1.InstancePoolsCheck{MinAvailable: 1}, wantStatus: check.Fail, wantReason: "PoolEmpty",
			wantMessage:  "[4313022] 资源池为空: 1 of 2 plan(s) have no available instance: redis/0shared@default",
			wantFindings: []string{"Error/PoolEmpty/pool/redis/0shared@default"}},
		{name: "low but not empty is a warning", plans: []platformdb.PlanPool{plan("redis", "0shared", 1, 0, 5)},
			cfg: v1alpha1.InstancePoolsCheck{MinAvailable: 2}, wantStatus: check.Pass, wantReason: "Succeeded",
			wantMessage:  "below minAvailable 2: redis/0shared@default",
			wantFindings: []string{"Warning/PoolLow/pool/redis/0shared@default"}},
		{name: "only policy instances left", plans: []platformdb.PlanPool{plan("redis", "0shared", 0, 2, 2)},
			cfg: v1alpha1.InstancePoolsCheck{MinAvailable: 1}, wantStatus: check.Fail, wantReason: "PoolEmpty",
			wantFindings: []string{"Error/PoolEmpty/pool/redis/0shared@default"}},
		{name: "inactive plans and other providers are not pools", plans: []platformdb.PlanPool{inactive, remote},
			cfg: v1alpha1.InstancePoolsCheck{MinAvailable: 1}, wantStatus: check.Pass, wantReason: "Succeeded",
			wantMessage: "no active plan of a service whose provider is pool"},
		{name: "orphans are a warning", plans: []platformdb.PlanPool{plan("redis", "0shared", 1, 0, 1)},
			orphans: []platformdb.Orphans{{PlanID: "abc", Unallocated: 2, Total: 2}},
			cfg:     v1alpha1.InstancePoolsCheck{MinAvailable: 1}, wantStatus: check.Pass, wantReason: "Succeeded",
			wantFindings: []string{"Warning/OrphanedInstances/pool/orphaned/abc"}},
		{name: "listed plans only, one missing", plans: []platformdb.PlanPool{plan("redis", "0shared", 0, 0, 1), plan("redis", "1exclusive", 1, 0, 1)},
			cfg:        v1alpha1.InstancePoolsCheck{MinAvailable: 1, Plans: []v1alpha1.PlanReference{{Service: "redis", Plan: "1exclusive"}, {Service: "redis", Plan: "2big"}}},
			wantStatus: check.Unknown, wantReason: "PlanNotFound",
			wantFindings: []string{"Unknown/PlanNotFound/pool/redis/2big"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := judgePools(&platformdb.PoolReport{Schema: current, Plans: tt.plans, Orphans: tt.orphans}, &tt.cfg)
			if r.Status != tt.wantStatus || r.Reason != tt.wantReason {
				t.Errorf("got %s/%s (%s), want %s/%s", r.Status, r.Reason, r.Message, tt.wantStatus, tt.wantReason)
			}
			if !strings.Contains(r.Message, tt.wantMessage) {
				t.Errorf("message %q does not contain %q", r.Message, tt.wantMessage)
			}
			var got []string
			for _, f := range r.Findings {
				got = append(got, string(f.Severity)+"/"+f.Reason+"/"+f.Check)
				if f.Severity == v1alpha1.SeverityError && (f.Code != "4313022" || !strings.HasPrefix(f.Message, "[4313022] 资源池为空: ")) {
					t.Errorf("failure finding without its code: %+v", f)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.wantFindings, ",") {
				t.Errorf("findings %v, want %v", got, tt.wantFindings)
			}
		})
	}
}

func TestJudgePoolsStatus(t *testing.T) {
	r := judgePools(&platformdb.PoolReport{Schema: current, Plans: []platformdb.PlanPool{plan("redis", "0shared", 2, 1, 7)}},
		&v1alpha1.InstancePoolsCheck{})
	want := v1alpha1.PoolStatus{Service: "redis", Plan: "0shared", Tenant: "default", Available: 2, Policy: 1, Total: 7}
	var status v1alpha1.PaaSDiagnosisStatus
	r.Details(&status)
	if len(status.Pools) != 1 || status.Pools[0] != want {
		t.Errorf("pools %+v, want %+v", status.Pools, want)
	}
}

func TestDatabaseUnknownClaimsNoCode(t *testing.T) {
	for _, err := range []error{
		&platformdb.Error{Reason: v1alpha1.ReasonDatabaseUnreachable, Message: "database x is unreachable"},
		errors.New("something odd"),
	} {
		r := databaseUnknown(err, "paasdiag@db:3306/bk_paas_ng")
		if r.Status != check.Unknown || len(r.Findings) != 1 || r.Findings[0].Code != "" || r.Findings[0].Severity != v1alpha1.SeverityUnknown {
			t.Errorf("%v: %+v", err, r)
		}
	}
}
