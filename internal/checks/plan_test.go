package checks

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/platformsettings"
	"github.com/paasdiag/paasdiag/internal/release"
)

// builtCheck builds d's plan with deps, binds secrets, sets the release line (as if
// read) and returns the check that owns condition.
func builtCheck(t *testing.T, d *v1alpha1.PaaSDiagnosis, deps Dependencies, secrets check.Secrets, det release.Detection, condition string) check.Checker {
	t.Helper()
	p, in := buildPlan(d, deps)
	in.bind(check.Resolved{Secrets: secrets})
	in.release = det
	for _, c := range p.Checks {
		if c.Condition() == condition {
			if c.Invalid != nil {
				t.Fatalf("%s: %v", condition, c.Invalid)
			}
			return c.Checker
		}
	}
	t.Fatalf("no check for %s in the plan", condition)
	return nil
}

func ref(name, key string) *v1alpha1.SecretKeyReference {
	return &v1alpha1.SecretKeyReference{Name: name, Key: key}
}

// A diagnosis runs exactly the checks its spec enables, in the order of the
// troubleshooting steps, and each declares exactly the Secrets it reads.
func TestPlanEnablesAndDeclares(t *testing.T) {
	cluster := v1alpha1.ClusterTarget{Name: "a", CredentialsSecretRef: v1alpha1.SecretReference{Name: "cred-a"}}
	db := &v1alpha1.PlatformDatabase{DefaultDSNSecretRef: ref("db", "dsn"), WorkloadsDSNSecretRef: ref("wl", "dsn"), EncryptionKeySecretRef: ref("key", "k")}
	for _, tt := range []struct {
		name string
		spec v1alpha1.PaaSDiagnosisSpec
		want string // condition: declared inputs; ...
	}{
		{"nothing enabled", v1alpha1.PaaSDiagnosisSpec{PlatformDatabase: db}, ""},
		{"spec clusters", v1alpha1.PaaSDiagnosisSpec{Clusters: []v1alpha1.ClusterTarget{cluster}, PlatformDatabase: db},
			"ClusterReachable: cred-a"},
		{"discovered clusters read the workloads DSN and the key", v1alpha1.PaaSDiagnosisSpec{DiscoverClusters: true, PlatformDatabase: db},
			"ClusterReachable: wl/dsn key/k"},
		{"the Job check reads both DSNs for the release line", v1alpha1.PaaSDiagnosisSpec{InitialClusterState: &v1alpha1.InitialClusterStateCheck{}, PlatformDatabase: db},
			"InitialClusterStateReady: wl/dsn db/dsn"},
		{"verifying labels reads the clusters too", v1alpha1.PaaSDiagnosisSpec{Clusters: []v1alpha1.ClusterTarget{cluster},
			InitialClusterState: &v1alpha1.InitialClusterStateCheck{VerifyNodeLabels: true}, PlatformDatabase: db},
			"ClusterReachable: cred-a; InitialClusterStateReady: wl/dsn db/dsn cred-a"},
		{"worker logs read no Secret", v1alpha1.PaaSDiagnosisSpec{WorkerLogs: &v1alpha1.WorkerLogsCheck{}, PlatformDatabase: db},
			"WorkerLogsClean:"},
		{"pools read the default DSN", v1alpha1.PaaSDiagnosisSpec{InstancePools: &v1alpha1.InstancePoolsCheck{}, PlatformDatabase: db},
			"InstancePoolAvailable: db/dsn"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := &v1alpha1.PaaSDiagnosis{Spec: tt.spec}
			p, _ := buildPlan(d, Dependencies{})
			var got []string
			for _, c := range p.Checks {
				s := c.Condition() + ":"
				for _, in := range c.Inputs {
					s += " " + in.Secret
					if in.Key != "" {
						s += "/" + in.Key
					}
				}
				got = append(got, s)
			}
			if g := strings.Join(got, "; "); g != tt.want {
				t.Errorf("plan %q, want %q", g, tt.want)
			}
		})
	}
}

// A check whose spec section is invalid is rejected when built, with a message that
// names the field; the others are built.
func TestPlanRejectsInvalidSections(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  v1alpha1.WorkerLogsCheck
		want string
	}{
		{"a pattern that does not compile", v1alpha1.WorkerLogsCheck{Patterns: []string{"ok", "(unclosed"}}, "workerLogs.patterns[1]"},
		{"an invalid selector", v1alpha1.WorkerLogsCheck{PodSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Bogus"}}}}, "workerLogs.podSelector"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := &v1alpha1.PaaSDiagnosis{Spec: v1alpha1.PaaSDiagnosisSpec{WorkerLogs: &tt.cfg, InstancePools: &v1alpha1.InstancePoolsCheck{},
				PlatformDatabase: &v1alpha1.PlatformDatabase{DefaultDSNSecretRef: ref("db", "dsn")}}}
			p, _ := buildPlan(d, Dependencies{})
			if len(p.Checks) != 2 {
				t.Fatalf("%d checks", len(p.Checks))
			}
			w := p.Checks[0]
			if w.Invalid == nil || w.Condition() != v1alpha1.ConditionWorkerLogsClean || !strings.Contains(w.Invalid.Error(), tt.want) {
				t.Errorf("worker logs: %v", w.Invalid)
			}
			if p.Checks[1].Invalid != nil {
				t.Errorf("pools rejected: %v", p.Checks[1].Invalid)
			}
		})
	}
}

// Binding types the Secrets once: each spec cluster gets its credentials and TLS
// server name, the DSNs and key their values (the key trimmed), and a DSN whose Secret
// was not read stays unread.
func TestBindTypesTheSecrets(t *testing.T) {
	d := &v1alpha1.PaaSDiagnosis{Spec: v1alpha1.PaaSDiagnosisSpec{
		Clusters: []v1alpha1.ClusterTarget{{Name: "a", TLSServerName: "kubernetes", CredentialsSecretRef: v1alpha1.SecretReference{Name: "cred-a"}}},
		PlatformDatabase: &v1alpha1.PlatformDatabase{DefaultDSNSecretRef: ref("db", "dsn"), WorkloadsDSNSecretRef: ref("wl", "dsn"),
			EncryptionKeySecretRef: ref("key", "k")}}}
	_, in := buildPlan(d, Dependencies{})
	in.bind(check.Resolved{Secrets: check.Secrets{"cred-a": {"token": []byte("t0k")}, "db": {"dsn": []byte("u:p@tcp(h)/d")}, "key": {"k": []byte(" k3y\n")}}})
	if c := in.credentials["a"]; c.Token != "t0k" || c.ServerName != "kubernetes" {
		t.Errorf("credentials %+v", c)
	}
	if !in.defaultDB.read || in.defaultDB.value != "u:p@tcp(h)/d" || in.workloadsDB.read {
		t.Errorf("default %+v workloads %+v", in.defaultDB, in.workloadsDB)
	}
	if in.key != "k3y" {
		t.Errorf("key %q", in.key)
	}
	if len(in.secretData) != 3 {
		t.Errorf("%d values kept for redaction", len(in.secretData))
	}
}

// Without any platform database, the release line is Unknown and says why, without
// touching a database.
func TestReleaseUnknownWithoutDatabase(t *testing.T) {
	p := Build(Dependencies{})(&v1alpha1.PaaSDiagnosis{Spec: v1alpha1.PaaSDiagnosisSpec{WorkerLogs: &v1alpha1.WorkerLogsCheck{}}})
	det := p.Resolve(context.Background(), check.Resolved{Secrets: check.Secrets{}})
	if det.Line != release.Unknown || !strings.Contains(det.Evidence, "no platform database") {
		t.Errorf("%+v", det)
	}
}

// With settingsFrom, binding takes what the platform's settings give where the spec
// names nothing: the DSNs, the key with its cipher, and the apiserver pods (the
// Deployment's selector) for RestartRequired; what the spec names explicitly wins.
func TestBindTakesTheSettings(t *testing.T) {
	env := &platformsettings.Env{Deployment: "web", Container: "apiserver",
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		Vars: map[string]platformsettings.Var{
			"PAAS_DATABASE_NAME": {Value: "bk_paas_ng", Known: true}, "PAAS_DATABASE_HOST": {Value: "10.0.0.5", Known: true},
			"PAAS_WL_DATABASE_NAME": {Value: "bk_engine_ng", Known: true}, "PAAS_WL_DATABASE_HOST": {Value: "10.0.0.5", Known: true},
			"PAAS_BKKRILL_ENCRYPT_SECRET_KEY": {Value: "k3y", Known: true}, "PAAS_BK_CRYPTO_TYPE": {Value: "SHANGMI", Known: true},
		}}
	settings := platformsettings.NewPlatform(env, nil)
	d := &v1alpha1.PaaSDiagnosis{Spec: v1alpha1.PaaSDiagnosisSpec{
		SettingsFrom: &v1alpha1.SettingsSource{Deployment: "web"}, DiscoverClusters: true, InstancePools: &v1alpha1.InstancePoolsCheck{},
		PlatformDatabase: &v1alpha1.PlatformDatabase{DefaultDSNSecretRef: ref("db", "dsn"), Cipher: v1alpha1.CipherFernet}}}
	p, in := buildPlan(d, Dependencies{})
	in.bind(check.Resolved{Secrets: check.Secrets{"db": {"dsn": []byte("u:p@tcp(h)/explicit")}}, Settings: settings})
	if in.defaultDB.value != "u:p@tcp(h)/explicit" {
		t.Errorf("the explicit default DSN lost: %q", in.defaultDB.value)
	}
	if !in.workloadsDB.read || !strings.HasSuffix(in.workloadsDB.value, "tcp(10.0.0.5:3306)/bk_engine_ng") || !strings.HasPrefix(in.workloadsDB.where(), "Deployment web, container apiserver: ") {
		t.Errorf("workloads %+v", in.workloadsDB)
	}
	if in.key != "k3y" || in.cipher != v1alpha1.CipherSM4CTR {
		t.Errorf("key %q cipher %s: the key from settingsFrom comes with BK_CRYPTO_TYPE", in.key, in.cipher)
	}
	var clusters *ClusterReachability
	for _, c := range p.Checks {
		if cr, ok := c.Checker.(*ClusterReachability); ok {
			clusters = cr
		}
	}
	if got := clusters.pods(); got == nil || got.MatchLabels["app"] != "web" {
		t.Errorf("apiserver pods %v, want the Deployment's selector", got)
	}
	d.Spec.APIServerPodSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "explicit"}}
	p, in = buildPlan(d, Dependencies{})
	in.bind(check.Resolved{Settings: settings})
	for _, c := range p.Checks {
		if cr, ok := c.Checker.(*ClusterReachability); ok && cr.pods().MatchLabels["app"] != "explicit" {
			t.Errorf("apiServerPodSelector lost to the Deployment's: %v", cr.pods())
		}
	}
	if len(in.secretData) != 2 {
		t.Errorf("%d values from the settings kept for redaction, want the workloads DSN and the key", len(in.secretData))
	}
}
