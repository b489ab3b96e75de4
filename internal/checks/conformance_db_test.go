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
	"github.com/paasdiag/paasdiag/internal/release"
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
	pl.Resolve(context.Background(), check.Resolved{Secrets: check.Secrets{"db": {"dsn": []byte(dsn)}}})
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

// POOL11 on each 1.7+ line, through the recommended grant: a policy instance whose
// binding policy has a dimension that matches nothing (an empty list, object or
// string) is a PolicyNeverMatches warning without a code, and is not counted as
// available: with the FIFO instance the plan passes, without it the plan is empty. A
// policy the platform raises on is a PolicyBroken warning, without a code either.
func TestPOOL11_EmptyListPolicyOnEachLine(t *testing.T) {
	const judged = "plan redis/0shared@default"
	for _, line := range mariadb.Lines17Plus {
		t.Run(string(line), func(t *testing.T) {
			for _, tt := range []struct {
				policy, reason string
				want           []string // in the finding's message
			}{
				{`{"env_name": []}`, v1alpha1.ReasonPolicyNeverMatches, []string{
					"1 policy instance(s) of " + judged + " can never be given to an app",
					`in binding_policy {"env_name": []}, env_name is an empty list`,
					`it logs "empty policy_val will never match, may is it a mistake?"`}},
				{`{"app_code": ["vip"], "module_name": {}}`, v1alpha1.ReasonPolicyNeverMatches, []string{
					"module_name is an empty object (the platform raises no error for it)"}},
				{`{"app_code": ""}`, v1alpha1.ReasonPolicyNeverMatches, []string{
					"app_code is an empty string (the platform raises no error for it)"}},
				{`["vip"]`, v1alpha1.ReasonPolicyBroken, []string{
					"the platform raises an error (not 4313022) when it evaluates binding policies of " + judged,
					`binding_policy ["vip"]: it is a JSON array, not an object`}},
			} {
				t.Run(tt.policy, func(t *testing.T) {
					r := poolOnLine(t, line, func(p *mariadb.Platform, plan string) {
						_, err := p.Instances(plan, 1, false, "fifo")
						must0(t, err)
						_, err = p.PolicyInstances(plan, 1, tt.policy)
						must0(t, err)
					})
					expectVerdict(t, r, check.Pass, v1alpha1.ReasonSucceeded, "")
					expectPolicyWarning(t, r, tt.reason, tt.want)
					if st := poolStatus(r); st.Available != 1 || st.Policy != 1 || st.Total != 2 {
						t.Errorf("%+v", st)
					}
				})
			}
			t.Run("no FIFO instance", func(t *testing.T) {
				r := poolOnLine(t, line, func(p *mariadb.Platform, plan string) {
					_, err := p.PolicyInstances(plan, 2, `{"env_name": []}`)
					must0(t, err)
				})
				expectVerdict(t, r, check.Fail, v1alpha1.ReasonPoolEmpty, "4313022")
				expectPolicyWarning(t, r, v1alpha1.ReasonPolicyNeverMatches, []string{"2 policy instance(s) of " + judged + " can never be given to an app"})
				if st := poolStatus(r); st.Available != 0 || st.Policy != 2 || st.Total != 2 {
					t.Errorf("%+v", st)
				}
			})
			// A dimension Python's `in` cannot search raises for every environment that
			// gets that far: here the one bound to the plan.
			t.Run("a number", func(t *testing.T) {
				r := boundPoolOnLine(t, line, false, func(p *mariadb.Platform, svc, plan string) {
					_, err := p.Instances(plan, 1, false, "fifo")
					must0(t, err)
					_, err = p.PolicyInstances(plan, 1, `{"env_name": 3}`)
					must0(t, err)
					bind(t, p, svc, plan, "waiting", "prod")
				})
				expectVerdict(t, r, check.Pass, v1alpha1.ReasonSucceeded, "")
				expectPolicyWarning(t, r, v1alpha1.ReasonPolicyBroken, []string{
					"binding_policy {\"env_name\": 3}: env_name is a JSON number, which Python's `in` cannot search",
					"1 bound environment(s) waiting on the plan meet it: waiting/default/prod"})
			})
		})
	}
}

// expectPolicyWarning expects exactly one finding besides the pool's own: a Warning
// about plan redis/0shared's policies, without a code, whose message holds want.
func expectPolicyWarning(t *testing.T, r check.Result, reason string, want []string) {
	t.Helper()
	var got []check.Finding
	for _, f := range r.Findings {
		if f.Reason != v1alpha1.ReasonPoolEmpty {
			got = append(got, f)
		}
	}
	if len(got) != 1 {
		t.Fatalf("findings %+v", r.Findings)
	}
	f := got[0]
	if f.Reason != reason || f.Severity != v1alpha1.SeverityWarning || f.Code != "" || f.Check != "pool/redis/0shared@default/policy" {
		t.Errorf("%+v", f)
	}
	for _, w := range want {
		if !strings.Contains(f.Message, w) {
			t.Errorf("message %q lacks %q", f.Message, w)
		}
	}
}

// discoverOnLine lays out a line's workloads database, lets fill add its clusters,
// and runs the cluster check with discoverClusters, the key given as key, through the
// read-only grant the docs recommend (config/samples/readonly-grant-workloads.sql, as
// its comment adapts it to 1.6); the release line is detected from the database, as
// the manager detects it.
func discoverOnLine(t *testing.T, line mariadb.Line, key string, fill func(w *mariadb.Workloads)) check.Result {
	t.Helper()
	s := testDB.Get(t)
	name := "wl_" + strings.NewReplacer("-", "_", ".", "_").Replace(string(line)) + "_" + fmt.Sprint(time.Now().UnixNano())
	w, err := mariadb.NewWorkloads(s, name, line)
	must0(t, err)
	fill(w)
	dsn, err := w.ReadOnlyUser("rc_"+name[len(name)-8:], "pw")
	must0(t, err)
	d := &v1alpha1.PaaSDiagnosis{ObjectMeta: metav1.ObjectMeta{Namespace: "blueking", Name: name},
		Spec: v1alpha1.PaaSDiagnosisSpec{Timeout: metav1.Duration{Duration: 5 * time.Second}, DiscoverClusters: true,
			PlatformDatabase: &v1alpha1.PlatformDatabase{WorkloadsDSNSecretRef: &v1alpha1.SecretKeyReference{Name: "wl", Key: "dsn"},
				EncryptionKeySecretRef: &v1alpha1.SecretKeyReference{Name: "encrypt", Key: "key"}}}}
	pools := platformdb.NewPools()
	defer pools.Forget(client.ObjectKeyFromObject(d))
	pl := Build(Dependencies{Databases: pools})(d)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	det := pl.Resolve(ctx, check.Resolved{Secrets: check.Secrets{"wl": {"dsn": []byte(dsn)}, "encrypt": {"key": []byte(key)}}})
	if want := map[bool]release.Line{true: release.Line16, false: release.Line17Plus}[line.Legacy()]; det.Line != want {
		t.Fatalf("release line %s (%s), want %s", det.Line, det.Evidence, want)
	}
	if len(pl.Checks) != 1 || pl.Checks[0].Condition() != v1alpha1.ConditionClusterReachable {
		t.Fatalf("plan %+v", pl.Checks)
	}
	return pl.Checks[0].Check(ctx)
}

func addCluster(t *testing.T, w *mariadb.Workloads, name, apiServer string, creds mariadb.StoredCredentials) {
	t.Helper()
	_, err := w.Cluster(name, []string{apiServer}, creds)
	must0(t, err)
}

// findingOf is the result's finding about subject with reason, or nil.
func findingOf(r check.Result, subject, reason string) *check.Finding {
	for i := range r.Findings {
		if r.Findings[i].Check == subject && r.Findings[i].Reason == reason {
			return &r.Findings[i]
		}
	}
	return nil
}

// probedClusters names the clusters of the result's status, which are the ones probed.
func probedClusters(r check.Result) string {
	var s v1alpha1.PaaSDiagnosisStatus
	if r.Details != nil {
		r.Details(&s)
	}
	var names []string
	for _, c := range s.Clusters {
		names = append(names, c.Name)
	}
	return strings.Join(names, ",")
}

// expectFinding expects the finding about subject with reason, of severity, with the
// code (none for ""), whose message holds want.
func expectFinding(t *testing.T, r check.Result, subject, reason string, severity v1alpha1.Severity, code string, want ...string) {
	t.Helper()
	f := findingOf(r, subject, reason)
	if f == nil {
		t.Errorf("no %s finding about %s: %+v", reason, subject, r.Findings)
		return
	}
	if f.Severity != severity || f.Code != code {
		t.Errorf("%+v, want %s with code %q", f, severity, code)
	}
	if code != "" {
		want = append(want, "["+code+"] ")
	}
	for _, w := range want {
		if !strings.Contains(f.Message, w) {
			t.Errorf("message %q lacks %q", f.Message, w)
		}
	}
}

// CLU22 on every line, through the recommended grant, as the row reads:
//   - raw PEM the platform's base64 decoding raises on (testPEM: "Incorrect padding"),
//     encrypted as the admin console stores every value, breaks its client pool:
//     ClusterPoolBroken, Error, 4313021, for all clusters;
//   - raw PEM that decodes to bytes without a -----BEGIN line (encrypted, or in
//     plaintext as rows older than encryption are), or "----", fails that cluster's
//     TLS setup: InvalidCredentials, Error, 4313021, for it, and it is not probed.
//
// The cluster stored as the platform stores it (base64 PEM) is probed.
func TestCLU22_RawPEMOnEachLine(t *testing.T) {
	// Raw PEM whose base64 characters decode, to bytes without a PEM block.
	const decodablePEM = "-----BEGIN CERTIFICATE-----\nMIIBAA==\n-----END CERTIFICATE-----\n"
	encrypt := mariadb.FernetEncrypter(testKey)
	for _, line := range mariadb.Lines {
		t.Run(string(line), func(t *testing.T) {
			api := newAPIServer(t)
			r := discoverOnLine(t, line, testKey, func(w *mariadb.Workloads) {
				addCluster(t, w, "good", api.url, mariadb.Encrypt(api.ca, nil, nil, "tok-good", encrypt))
				undecodable := mariadb.Encrypt(api.ca, nil, nil, "tok-undecodable", encrypt)
				undecodable.CA = encrypt(testPEM)
				addCluster(t, w, "undecodable", api.url, undecodable)
			})
			expectVerdict(t, r, check.Fail, v1alpha1.ReasonClusterPoolBroken, "4313021")
			expectFinding(t, r, "clusters", v1alpha1.ReasonClusterPoolBroken, v1alpha1.SeverityError, "4313021",
				"ca_data of cluster undecodable cannot be base64-decoded as the platform decodes it (binascii.Error: Incorrect padding",
				"the platform builds one client pool from every cluster row, so no cluster can be reached")
			if got := probedClusters(r); got != "good" {
				t.Errorf("probed %q, want good", got)
			}
			if !api.sent("tok-good") || api.sent("tok-undecodable") {
				t.Errorf("tokens sent %v", api.tokens)
			}

			api = newAPIServer(t)
			r = discoverOnLine(t, line, testKey, func(w *mariadb.Workloads) {
				addCluster(t, w, "good", api.url, mariadb.Encrypt(api.ca, nil, nil, "tok-good", encrypt))
				rawCA := mariadb.Encrypt(api.ca, nil, nil, "tok-raw-ca", encrypt)
				rawCA.CA = encrypt(decodablePEM)
				addCluster(t, w, "raw-ca", api.url, rawCA)
				rawCert := mariadb.Encrypt(api.ca, nil, []byte(testPEM), "tok-raw-cert", nil)
				rawCert.Cert = decodablePEM
				addCluster(t, w, "raw-cert", api.url, rawCert)
				dashes := mariadb.Encrypt(api.ca, []byte(testPEM), nil, "tok-dashes", encrypt)
				dashes.Key = encrypt("----")
				addCluster(t, w, "dashes", api.url, dashes)
			})
			expectVerdict(t, r, check.Fail, v1alpha1.ReasonInvalidCredentials, "4313021")
			for cluster, column := range map[string]string{"raw-ca": "ca_data", "raw-cert": "cert_data"} {
				expectFinding(t, r, "cluster/"+cluster, v1alpha1.ReasonInvalidCredentials, v1alpha1.SeverityError, "4313021",
					column+" of cluster "+cluster+" is stored as raw PEM: the platform base64-decodes it (kubernetes' FileOrData) into bytes that hold no PEM block",
					"its TLS setup fails on every request")
			}
			expectFinding(t, r, "cluster/dashes", v1alpha1.ReasonInvalidCredentials, v1alpha1.SeverityError, "4313021",
				"key_data of cluster dashes decodes, as the platform base64-decodes it (kubernetes' FileOrData), to no PEM block",
				"its TLS setup fails on every request")
			if f := findingOf(r, "clusters", v1alpha1.ReasonClusterPoolBroken); f != nil {
				t.Errorf("every value decodes, yet %+v", f)
			}
			if got := probedClusters(r); got != "good" {
				t.Errorf("probed %q, want good", got)
			}
			if !api.sent("tok-good") || api.sent("tok-raw-ca") || api.sent("tok-raw-cert") || api.sent("tok-dashes") {
				t.Errorf("tokens sent %v", api.tokens)
			}
		})
	}
}

// CLU25 on every line, through the recommended grant: a row the key cannot decrypt
// while it decrypts another is ClusterPoolBroken, Error, 4313021 (and the row's
// DecryptionFailed, Unknown); when the key decrypts no row (every encrypted row fails,
// the others are plaintext), the key is suspect: DecryptionFailed, Unknown, no code.
func TestCLU25_UndecryptableRowOnEachLine(t *testing.T) {
	const otherKey = "dGhpcyBpcyBub3QgdGhlIHBsYXRmb3JtJ3Mga2V5ISE="
	encrypt, other := mariadb.FernetEncrypter(testKey), mariadb.FernetEncrypter(otherKey)
	for _, line := range mariadb.Lines {
		t.Run(string(line), func(t *testing.T) {
			api := newAPIServer(t)
			r := discoverOnLine(t, line, testKey, func(w *mariadb.Workloads) {
				addCluster(t, w, "good", api.url, mariadb.Encrypt(api.ca, nil, nil, "tok-good", encrypt))
				addCluster(t, w, "bad", api.url, mariadb.Encrypt(api.ca, nil, nil, "tok-bad", other))
			})
			expectVerdict(t, r, check.Fail, v1alpha1.ReasonClusterPoolBroken, "4313021")
			expectFinding(t, r, "clusters", v1alpha1.ReasonClusterPoolBroken, v1alpha1.SeverityError, "4313021",
				"the stored credentials of 1 cluster(s) cannot be decrypted with the key that reads the others: bad",
				"the platform builds one client pool from every cluster row, so no cluster can be reached")
			expectFinding(t, r, "cluster/bad", v1alpha1.ReasonDecryptionFailed, v1alpha1.SeverityUnknown, "",
				"the stored credentials of cluster bad cannot be read", "does not decrypt with the configured key")
			if got := probedClusters(r); got != "good" {
				t.Errorf("probed %q, want good", got)
			}
			if !api.sent("tok-good") || api.sent("tok-bad") {
				t.Errorf("tokens sent %v", api.tokens)
			}

			for name, fill := range map[string]func(w *mariadb.Workloads){
				"every encrypted row fails": func(w *mariadb.Workloads) {
					addCluster(t, w, "bad", api.url, mariadb.Encrypt(api.ca, nil, nil, "tok-bad", other))
					addCluster(t, w, "bad-too", api.url, mariadb.Encrypt(api.ca, nil, nil, "tok-bad-too", other))
				},
				"the others are plaintext": func(w *mariadb.Workloads) {
					addCluster(t, w, "bad", api.url, mariadb.Encrypt(api.ca, nil, nil, "tok-bad", other))
					addCluster(t, w, "plain", api.url, mariadb.Encrypt(api.ca, nil, nil, "tok-plain", nil))
				},
			} {
				t.Run(name, func(t *testing.T) {
					r := discoverOnLine(t, line, testKey, fill)
					expectVerdict(t, r, check.Unknown, v1alpha1.ReasonDecryptionFailed, "")
					expectFinding(t, r, "cluster/bad", v1alpha1.ReasonDecryptionFailed, v1alpha1.SeverityUnknown, "",
						"the stored credentials of cluster bad cannot be read")
					if f := findingOf(r, "clusters", v1alpha1.ReasonClusterPoolBroken); f != nil {
						t.Errorf("the key reads no row, yet %+v", f)
					}
				})
			}
		})
	}
}

// CLU27 on every line, through the recommended grant: a stored token with a line break
// (a trailing newline, encrypted; a CRLF, in plaintext) is InvalidCredentials, Error,
// 4313021, and the cluster is not probed (nor is its token sent trimmed); the others
// are.
func TestCLU27_TokenWithALineBreakOnEachLine(t *testing.T) {
	encrypt := mariadb.FernetEncrypter(testKey)
	for _, line := range mariadb.Lines {
		t.Run(string(line), func(t *testing.T) {
			api := newAPIServer(t)
			r := discoverOnLine(t, line, testKey, func(w *mariadb.Workloads) {
				addCluster(t, w, "good", api.url, mariadb.Encrypt(api.ca, nil, nil, "tok-good", encrypt))
				addCluster(t, w, "newline", api.url, mariadb.Encrypt(api.ca, nil, nil, "tok-newline", encrypt))
				must0(t, w.SetToken("newline", encrypt("tok-newline\n")))
				addCluster(t, w, "crlf", api.url, mariadb.Encrypt(api.ca, nil, nil, "tok-crlf", nil))
				must0(t, w.SetToken("crlf", "tok-crlf\r\n"))
			})
			expectVerdict(t, r, check.Fail, v1alpha1.ReasonInvalidCredentials, "4313021")
			for _, cluster := range []string{"newline", "crlf"} {
				expectFinding(t, r, "cluster/"+cluster, v1alpha1.ReasonInvalidCredentials, v1alpha1.SeverityError, "4313021",
					"token_value of cluster "+cluster+" holds a line break", "its HTTP client refuses the header on every request")
			}
			if got := probedClusters(r); got != "good" {
				t.Errorf("probed %q, want good", got)
			}
			if !api.sent("tok-good") || api.sent("tok-newline") || api.sent("tok-crlf") {
				t.Errorf("tokens sent %v", api.tokens)
			}
		})
	}
}
