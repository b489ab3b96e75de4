package checks

// Tests named Test<ROW>_... prove one row of docs/conformance.md each; the row's rule is
// checked on every release line where it applies, with the migrations each line ships
// (hack/sql/<line>/migrations.tsv). test/conformance fails when a row has no test or a
// test no row.

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/bkcrypt"
	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/clusterprobe"
	"github.com/paasdiag/paasdiag/internal/platformdb"
	"github.com/paasdiag/paasdiag/internal/release"
	"github.com/paasdiag/paasdiag/internal/testsupport/mariadb"
)

// lineDetection is what paasdiag detects on a database migrated to the line's pinned
// revision.
func lineDetection(t *testing.T, line mariadb.Line) release.Detection {
	t.Helper()
	m, err := mariadb.Migrations(line)
	if err != nil {
		t.Fatal(err)
	}
	return release.Detect(m)
}

// onLines runs fn on each line, with the detection of that line.
func onLines(t *testing.T, lines []mariadb.Line, fn func(t *testing.T, det release.Detection)) {
	for _, line := range lines {
		t.Run(string(line), func(t *testing.T) { fn(t, lineDetection(t, line)) })
	}
}

var (
	lines16 = []mariadb.Line{mariadb.Release16}
	unknown = release.UnknownBecause("no platform database is configured")
)

const jobName = v1alpha1.DefaultInitialClusterStateJobName

func jobDiagnosis() *v1alpha1.PaaSDiagnosis {
	return &v1alpha1.PaaSDiagnosis{ObjectMeta: metav1.ObjectMeta{Namespace: "blueking", Name: "bkpaas3"},
		Spec: v1alpha1.PaaSDiagnosisSpec{Timeout: metav1.Duration{Duration: time.Second}, InitialClusterState: &v1alpha1.InitialClusterStateCheck{}}}
}

// jobCheck is the initial cluster state check of jobDiagnosis, reading Jobs with reader,
// on the given release line.
func jobCheck(t *testing.T, reader client.Reader, det release.Detection) check.Checker {
	return builtCheck(t, jobDiagnosis(), Dependencies{Reader: reader}, nil, det, v1alpha1.ConditionInitialClusterStateReady)
}

func jobReader(t *testing.T, conditions ...batchv1.JobCondition) client.Reader {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	b := fake.NewClientBuilder().WithScheme(scheme)
	if conditions != nil {
		b = b.WithObjects(&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "blueking", Name: jobName},
			Status: batchv1.JobStatus{Conditions: conditions, Failed: 1}})
	}
	return b.Build()
}

func cond(typ batchv1.JobConditionType) batchv1.JobCondition {
	return batchv1.JobCondition{Type: typ, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "limit"}
}

func expectVerdict(t *testing.T, r check.Result, status check.Status, reason, code string) {
	t.Helper()
	if r.Status != status || r.Reason != reason {
		t.Fatalf("%s/%s (%s), want %s/%s", r.Status, r.Reason, r.Message, status, reason)
	}
	for _, f := range r.Findings {
		if f.Code != "" && f.Code != code {
			t.Errorf("finding %s claims %s, want %q", f.Reason, f.Code, code)
		}
	}
	if code != "" && !strings.Contains(r.Message, code) {
		t.Errorf("message %q lacks code %s", r.Message, code)
	}
	if code == "" && codesOf(r) != "" {
		t.Errorf("claims %s, want no code", codesOf(r))
	}
}

func codesOf(r check.Result) string {
	var codes []string
	for _, f := range r.Findings {
		if f.Code != "" {
			codes = append(codes, f.Code)
		}
	}
	return strings.Join(codes, ",")
}

// ICS01: up to 1.6 a missing Job is 4313021.
func TestICS01_JobMissing16(t *testing.T) {
	onLines(t, lines16, func(t *testing.T, det release.Detection) {
		r := jobCheck(t, jobReader(t), det).Check(context.Background())
		expectVerdict(t, r, check.Fail, v1alpha1.ReasonJobMissing, "4313021")
	})
}

// ICS02: up to 1.6 a failed Job is 4313021, with the Job's own reason.
func TestICS02_JobFailed16(t *testing.T) {
	onLines(t, lines16, func(t *testing.T, det release.Detection) {
		r := jobCheck(t, jobReader(t, cond(batchv1.JobFailed)), det).Check(context.Background())
		expectVerdict(t, r, check.Fail, v1alpha1.ReasonJobFailed, "4313021")
		if !strings.Contains(r.Message, "BackoffLimitExceeded") {
			t.Errorf("message %q", r.Message)
		}
	})
}

// ICS03: a running Job is Unknown, without a code.
func TestICS03_JobRunning16(t *testing.T) {
	onLines(t, lines16, func(t *testing.T, det release.Detection) {
		r := jobCheck(t, jobReader(t, batchv1.JobCondition{}), det).Check(context.Background())
		expectVerdict(t, r, check.Unknown, v1alpha1.ReasonJobRunning, "")
	})
}

// ICS04: a succeeded Job passes.
func TestICS04_JobSucceeded16(t *testing.T) {
	onLines(t, lines16, func(t *testing.T, det release.Detection) {
		r := jobCheck(t, jobReader(t, cond(batchv1.JobComplete)), det).Check(context.Background())
		expectVerdict(t, r, check.Pass, v1alpha1.ReasonSucceeded, "")
	})
}

// ICS08: masters are left out exactly as the platform leaves them out: the label
// node-role.kubernetes.io/master with the value "true", nothing else.
func TestICS08_MastersIgnoredAsThePlatformIgnoresThem(t *testing.T) {
	for _, tt := range []struct {
		labels map[string]string
		want   bool
	}{
		{map[string]string{"node-role.kubernetes.io/master": "true"}, true},
		{map[string]string{"node-role.kubernetes.io/master": ""}, false},
		{map[string]string{"node-role.kubernetes.io/control-plane": ""}, false},
		{map[string]string{"node-role.kubernetes.io/master": "True"}, false},
		{nil, false},
	} {
		if got := clusterprobe.Ignored(tt.labels); got != tt.want {
			t.Errorf("Ignored(%v) = %v, want %v", tt.labels, got, tt.want)
		}
	}
}

// ICS09: on 1.7+ the Job is not judged, whatever its state: a missing or failed Job
// claims no code.
func TestICS09_JobNotJudged17Plus(t *testing.T) {
	onLines(t, mariadb.Lines17Plus, func(t *testing.T, det release.Detection) {
		for _, reader := range []client.Reader{jobReader(t), jobReader(t, cond(batchv1.JobFailed))} {
			r := jobCheck(t, reader, det).Check(context.Background())
			if codesOf(r) != "" || r.Status == check.Fail || strings.Contains(r.Reason, "Job") {
				t.Errorf("%s/%s claims %q: %s", r.Status, r.Reason, codesOf(r), r.Message)
			}
		}
	})
}

// ICS11: on 1.7+ a recorded node state that differs from the live nodes names the
// nodes that joined and left.
func TestICS11_NodeStateDiff17Plus(t *testing.T) {
	joined, left := diffNames([]string{"a", "b", "c"}, []string{"b", "c", "d", "e"})
	if strings.Join(joined, ",") != "d,e" || strings.Join(left, ",") != "a" {
		t.Fatalf("joined %v left %v", joined, left)
	}
	if got := describeDiff(joined, left); got != "2 node(s) joined (d, e), 1 node(s) left (a)" {
		t.Errorf("describeDiff = %q", got)
	}
	if j, l := diffNames([]string{"a"}, []string{"a"}); len(j)+len(l) != 0 {
		t.Errorf("in sync: %v %v", j, l)
	}
	many := []string{"n1", "n2", "n3", "n4", "n5", "n6", "n7"}
	if got := describeDiff(many, nil); got != "7 node(s) joined (n1, n2, n3, n4, n5, and 2 more)" {
		t.Errorf("describeDiff = %q", got)
	}
}

// ICS13: with the release line unknown, the check is Unknown and claims no code,
// whatever the Job's state.
func TestICS13_UnknownReleaseClaimsNothing(t *testing.T) {
	for _, reader := range []client.Reader{jobReader(t), jobReader(t, cond(batchv1.JobFailed))} {
		r := jobCheck(t, reader, unknown).Check(context.Background())
		expectVerdict(t, r, check.Unknown, v1alpha1.ReasonReleaseLineUnknown, "")
		if !strings.Contains(r.Message, "no platform database is configured") {
			t.Errorf("message %q lacks the evidence", r.Message)
		}
	}
}

// ICS15: on 1.7+ without the workloads database the node state cannot be compared.
func TestICS15_NodeStateNeedsWorkloadsDatabase17Plus(t *testing.T) {
	onLines(t, mariadb.Lines17Plus, func(t *testing.T, det release.Detection) {
		r := jobCheck(t, jobReader(t), det).Check(context.Background())
		expectVerdict(t, r, check.Unknown, v1alpha1.ReasonNodeStateUnreadable, "")
	})
}

func restartTarget(det release.Detection) ([]*clusterTarget, *ClusterReachability) {
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	started := metav1.NewTime(time.Now().Add(-time.Hour))
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "blueking", Name: "bkpaas3-apiserver-web-0", Labels: map[string]string{"app": "apiserver"}},
		Status: corev1.PodStatus{StartTime: &started}}
	reader := fake.NewClientBuilder().WithScheme(scheme).WithObjects(pod).Build()
	targets := []*clusterTarget{{name: "default-main", source: sourceDiscovered, updated: time.Now()}}
	return targets, &ClusterReachability{reader: reader, namespace: "blueking",
		podSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "apiserver"}}, in: &inputs{release: det}}
}

// CLU13: on 1.6 a cluster changed after the apiserver pods started is a predicted
// 4313021 (the pool is an lru_cache, never cleared outside tests).
func TestCLU13_RestartRequired16(t *testing.T) {
	onLines(t, lines16, func(t *testing.T, det release.Detection) {
		targets, c := restartTarget(det)
		fs := c.restartFindings(context.Background(), targets)
		if len(fs) != 1 || fs[0].Code != "4313021" || fs[0].Severity != v1alpha1.SeverityWarning || fs[0].Reason != v1alpha1.ReasonRestartRequired ||
			!strings.Contains(fs[0].Message, "bkpaas3-apiserver-web-0") || strings.Contains(fs[0].Message, "unknown") {
			t.Fatalf("findings %+v", fs)
		}
	})
}

// CLU14: on 1.7+ no restart is needed: a cluster changed after the pods started is no
// finding.
func TestCLU14_NoRestartRequired17Plus(t *testing.T) {
	onLines(t, mariadb.Lines17Plus, func(t *testing.T, det release.Detection) {
		targets, c := restartTarget(det)
		if fs := c.restartFindings(context.Background(), targets); len(fs) != 0 {
			t.Errorf("RestartRequired on 1.7+: %+v", fs)
		}
	})
}

// CLU15: with the line unknown, RestartRequired is a warning without a code.
func TestCLU15_RestartRequiredUnknownRelease(t *testing.T) {
	targets, c := restartTarget(unknown)
	fs := c.restartFindings(context.Background(), targets)
	if len(fs) != 1 || fs[0].Code != "" || !strings.Contains(fs[0].Message, "release line is unknown") {
		t.Fatalf("findings %+v", fs)
	}
}

// CLU26: a failing API server of several is an Error whose message says what share of
// the platform's requests it costs, as the platform's client fails over: connection
// failures until the server is benched, HTTP errors every time.
func TestCLU26_FailoverShare(t *testing.T) {
	ct := &clusterTarget{name: "c", apiServers: []string{"https://10.0.0.1:6443", "https://10.0.0.2:6443", "https://10.0.0.3:6443"}, creds: clusterprobe.Credentials{CA: []byte("x")}}
	for reason, want := range map[string]string{
		v1alpha1.ReasonConnectionRefused: "the first request of each platform process picks a failing one with a chance of about 1/3 and fails, after which its score keeps it out (3 connection failures bench a server for 20 s)",
		v1alpha1.ReasonForbidden:         "until a request succeeds on another server, each request picks one of the 1 failing with a chance of about 1/3 and fails",
	} {
		probed := []probedServer{
			{cluster: ct, result: clusterprobe.Result{URL: ct.apiServers[0], Reason: reason, Message: "m"}},
			{cluster: ct, result: clusterprobe.Result{URL: ct.apiServers[1], OK: true, Reachable: true, NodesListed: true}},
			{cluster: ct, result: clusterprobe.Result{URL: ct.apiServers[2], OK: true, Reachable: true, NodesListed: true}},
		}
		res := check.Result{}
		judgeClusters(&res, []*clusterTarget{ct}, probed, time.Now(), time.Hour)
		expectVerdict(t, res, check.Fail, reason, "4313021")
		if !strings.Contains(res.Findings[0].Message, want) {
			t.Errorf("%s: %q lacks %q", reason, res.Findings[0].Message, want)
		}
	}
	if got := failoverNote(v1alpha1.ReasonTimeout, 2, 2); !strings.Contains(got, "every request fails") {
		t.Errorf("all failing: %q", got)
	}
	if got := failoverNote(v1alpha1.ReasonTimeout, 1, 1); got != "" {
		t.Errorf("one server: %q", got)
	}
}

// CLU03: what fails after the Nodes were listed (Namespaces, cluster-admin) is a
// Warning tagged 4313021 that says it is not raised for it; the condition passes with
// the warning's reason. Failing to list Nodes stays an Error.
func TestCLU03_NotClusterAdminWarns(t *testing.T) {
	for _, reason := range []string{v1alpha1.ReasonNotClusterAdmin, v1alpha1.ReasonForbidden} {
		t.Run(reason, func(t *testing.T) {
			ct := &clusterTarget{name: "default-main", apiServers: []string{"https://10.0.0.1:6443"}, creds: clusterprobe.Credentials{CA: []byte("x")}}
			res := check.Result{}
			judgeClusters(&res, []*clusterTarget{ct}, []probedServer{{cluster: ct, result: clusterprobe.Result{URL: ct.apiServers[0],
				Reason: reason, Message: "m", NodesListed: true}}}, time.Now(), time.Hour)
			if res.Status != check.Pass || res.Reason != reason || len(res.Findings) != 1 {
				t.Fatalf("%s/%s %+v", res.Status, res.Reason, res.Findings)
			}
			f := res.Findings[0]
			if f.Severity != v1alpha1.SeverityWarning || f.Code != "4313021" || !strings.Contains(f.Message, "not raised for it") {
				t.Errorf("%+v", f)
			}
		})
	}
	ct := &clusterTarget{name: "default-main", apiServers: []string{"https://10.0.0.1:6443"}, creds: clusterprobe.Credentials{CA: []byte("x")}}
	res := check.Result{}
	judgeClusters(&res, []*clusterTarget{ct}, []probedServer{{cluster: ct, result: clusterprobe.Result{URL: ct.apiServers[0],
		Reason: v1alpha1.ReasonForbidden, Message: "GET /api/v1/nodes: 403"}}}, time.Now(), time.Hour)
	expectVerdict(t, res, check.Fail, v1alpha1.ReasonForbidden, "4313021")
}

// CLU01..CLU10: every probe failure of an API server is an Error with 4313021 on every
// line: the platform lists the cluster's Nodes through it and wraps any exception in
// GetClusterEgressInfoError.
func TestCLU01_ProbeFailuresAre4313021(t *testing.T) {
	for _, reason := range []string{v1alpha1.ReasonDNSError, v1alpha1.ReasonConnectionRefused, v1alpha1.ReasonConnectionFailed,
		v1alpha1.ReasonTimeout, v1alpha1.ReasonTLSUnknownAuthority, v1alpha1.ReasonTLSHostnameMismatch,
		v1alpha1.ReasonCertificateExpired, v1alpha1.ReasonUnauthorized, v1alpha1.ReasonForbidden,
		v1alpha1.ReasonServerError, v1alpha1.ReasonInvalidCredentials} {
		onLines(t, mariadb.Lines, func(t *testing.T, det release.Detection) {
			ct := &clusterTarget{name: "default-main", apiServers: []string{"https://10.0.0.1:6443"}, creds: clusterprobe.Credentials{CA: []byte("x")}}
			res := check.Result{Status: check.Pass, Reason: v1alpha1.ReasonSucceeded}
			judgeClusters(&res, []*clusterTarget{ct}, []probedServer{{cluster: ct, result: clusterprobe.Result{URL: ct.apiServers[0], Reason: reason, Message: "m"}}}, time.Now(), time.Hour)
			expectVerdict(t, res, check.Fail, reason, "4313021")
		})
	}
}

// CLU02: a cluster without API servers is 4313021 NoAPIServers.
func TestCLU02_NoAPIServers(t *testing.T) {
	ct := &clusterTarget{name: "default-main", creds: clusterprobe.Credentials{CA: []byte("x")}}
	res := check.Result{Status: check.Pass, Reason: v1alpha1.ReasonSucceeded}
	judgeClusters(&res, []*clusterTarget{ct}, nil, time.Now(), time.Hour)
	expectVerdict(t, res, check.Fail, v1alpha1.ReasonNoAPIServers, "4313021")
}

// CLU11: no CA is a warning without a code: the platform connects unverified.
func TestCLU11_TLSNotVerifiedWarns(t *testing.T) {
	ct := &clusterTarget{name: "default-main", apiServers: []string{"https://10.0.0.1:6443"}}
	res := check.Result{Status: check.Pass, Reason: v1alpha1.ReasonSucceeded}
	judgeClusters(&res, []*clusterTarget{ct}, []probedServer{{cluster: ct, result: clusterprobe.Result{URL: ct.apiServers[0], OK: true, Reachable: true}}}, time.Now(), time.Hour)
	expectVerdict(t, res, check.Pass, v1alpha1.ReasonSucceeded, "")
	if len(res.Findings) != 1 || res.Findings[0].Reason != v1alpha1.ReasonTLSNotVerified || res.Findings[0].Severity != v1alpha1.SeverityWarning {
		t.Fatalf("findings %+v", res.Findings)
	}
}

// CLU19: assert_hostname (1.7+) is honoured as the platform's client honours it, with
// a CA: null and "" check the URL's host, false checks no name (the chain still), a
// string checks that name, and true (or any other truthy non-string) makes every
// request raise: 4313021. Without a CA nothing is verified and it does not matter.
func TestCLU19_AssertHostname(t *testing.T) {
	for _, tt := range []struct {
		stored, wantName string
		wantSkip         bool
		wantError        bool
	}{
		{stored: ""}, {stored: "null"}, {stored: `""`}, {stored: "0"},
		{stored: "false", wantSkip: true},
		{stored: `"kubernetes"`, wantName: "kubernetes"},
		{stored: "true", wantError: true},
		{stored: `["a"]`, wantError: true},
	} {
		ct := &clusterTarget{name: "c", creds: clusterprobe.Credentials{CA: []byte("x")}}
		fs := applyHostnames(ct, platformdb.ClusterRow{AssertHostname: tt.stored})
		if ct.creds.VerifyName != tt.wantName || ct.creds.SkipHostnameCheck != tt.wantSkip || (len(fs) == 1) != tt.wantError {
			t.Errorf("%s: name %q skip %v findings %+v", tt.stored, ct.creds.VerifyName, ct.creds.SkipHostnameCheck, fs)
		}
		if tt.wantError && (fs[0].Code != "4313021" || fs[0].Severity != v1alpha1.SeverityError) {
			t.Errorf("%s: %+v", tt.stored, fs[0])
		}
		noCA := &clusterTarget{name: "c"}
		if fs := applyHostnames(noCA, platformdb.ClusterRow{AssertHostname: tt.stored}); len(fs) != 0 || noCA.creds.VerifyName != "" || noCA.creds.SkipHostnameCheck {
			t.Errorf("%s without a CA: %+v %+v", tt.stored, fs, noCA.creds)
		}
	}
}

// CLU20: on 1.6, overridden_hostname applies per API server and only to IP hosts (the
// platform connects to the IP with the name); on a host name the platform cannot build
// its client pool at all: ClusterPoolBroken, 4313021, for every cluster.
func TestCLU20_OverriddenHostname16(t *testing.T) {
	ct := &clusterTarget{name: "c", apiServers: []string{"https://10.0.0.1:6443", "https://10.0.0.2:6443"}}
	fs := applyHostnames(ct, platformdb.ClusterRow{Overrides: map[string]string{"https://10.0.0.1:6443": "kubernetes"}})
	if len(fs) != 0 || ct.serverNames["https://10.0.0.1:6443"] != "kubernetes" || ct.serverNames["https://10.0.0.2:6443"] != "" {
		t.Fatalf("%+v %v", fs, ct.serverNames)
	}
	fs = applyHostnames(&clusterTarget{name: "c"}, platformdb.ClusterRow{Overrides: map[string]string{"https://k8s.example:6443": "kubernetes"}})
	if len(fs) != 1 || fs[0].Reason != v1alpha1.ReasonClusterPoolBroken || fs[0].Code != "4313021" || fs[0].Check != "clusters" ||
		!strings.Contains(fs[0].Message, "No IP address found in https://k8s.example:6443") {
		t.Fatalf("%+v", fs)
	}
}

// CLU24: apps whose latest config names a cluster that does not exist are 4313021,
// grouped by cluster with the apps named; on 1.6 an app that names none runs on its
// region's default cluster, and a region without one is 4313021 too; on 1.7+ the
// allocation policy decides (CLU28), and without it nothing is claimed.
func TestCLU24_AppsBoundToAMissingCluster(t *testing.T) {
	rows := []platformdb.ClusterRow{{Name: "default-main"}}
	apps := []platformdb.AppCluster{
		{App: "bkapp-a-prod", Region: "default", Cluster: "default-main"},
		{App: "bkapp-b-prod", Region: "default", Cluster: "gone"},
		{App: "bkapp-c-stag", Region: "default", Cluster: "gone"},
		{App: "bkapp-d-prod", Region: "default"},
		{App: "bkapp-e-prod", Region: "other"},
	}
	fs := placement{line: allocator16, rows: rows, apps: apps, defaults: map[string][]string{"default": {"default-main"}}}.findings()
	if len(fs) != 2 {
		t.Fatalf("%+v", fs)
	}
	if f := fs[0]; f.Check != "cluster/gone" || f.Reason != v1alpha1.ReasonClusterNotFound || f.Code != "4313021" || f.Severity != v1alpha1.SeverityError ||
		!strings.Contains(f.Message, "2 app(s) names it: bkapp-b-prod, bkapp-c-stag") {
		t.Errorf("%+v", f)
	}
	if f := fs[1]; f.Check != "region/other" || !strings.Contains(f.Message, "bkapp-e-prod") {
		t.Errorf("%+v", f)
	}
	// Names compare as the database compares them: case-insensitively.
	apps[1].Cluster = "DEFAULT-MAIN"
	if fs := (placement{line: allocator16, rows: rows, apps: apps, defaults: map[string][]string{"default": {"default-main"}}}).findings(); len(fs) != 2 ||
		!strings.Contains(fs[0].Message, "1 app(s) names it: bkapp-c-stag") {
		t.Errorf("case: %+v", fs)
	}
	// A name of spaces is a name to the platform (truthy), which no cluster has; a
	// trailing space compares equal (PAD SPACE).
	spaced := []platformdb.AppCluster{{App: "bkapp-s-prod", Region: "default", Cluster: " "}, {App: "bkapp-t-prod", Region: "default", Cluster: "default-main "}}
	if fs := (placement{line: allocator16, rows: rows, apps: spaced, defaults: map[string][]string{"default": {"default-main"}}}).findings(); len(fs) != 1 ||
		fs[0].Check != "cluster/ " || !strings.Contains(fs[0].Message, "bkapp-s-prod") {
		t.Errorf("spaces: %+v", fs)
	}
	// 1.7+ with the policy hidden by the grant: the apps naming none are not judged, and
	// a Warning says why.
	fs = placement{line: allocator17, rows: rows, apps: apps, allocationHidden: "table cluster_clusterallocationpolicy"}.findings()
	if len(fs) != 2 || fs[0].Check != "cluster/gone" || fs[1].Reason != v1alpha1.ReasonBindingsUnreadable || fs[1].Severity != v1alpha1.SeverityWarning ||
		!strings.Contains(fs[1].Message, "2 app(s) name no cluster") {
		t.Errorf("1.7+: %+v", fs)
	}
}

// CLU25: rows the key cannot decrypt while it reads the others break the platform's
// client pool (4313021 for every cluster); when it reads none, the key is suspect and
// nothing is claimed.
func TestCLU25_OneUndecryptableRowBreaksThePool(t *testing.T) {
	fs := undecryptableRows([]string{"bad"}, 2)
	if len(fs) != 1 || fs[0].Reason != v1alpha1.ReasonClusterPoolBroken || fs[0].Code != "4313021" || !strings.Contains(fs[0].Message, "bad") {
		t.Fatalf("%+v", fs)
	}
	// The other rows decrypted nothing (plaintext or empty): the key is suspect.
	if fs := undecryptableRows([]string{"a", "b"}, 0); len(fs) != 0 {
		t.Errorf("no encrypted value decrypts: %+v", fs)
	}
	if fs := undecryptableRows(nil, 2); len(fs) != 0 {
		t.Errorf("all decrypt: %+v", fs)
	}
	if encrypted(platformdb.ClusterRow{CA: "plain"}) || !encrypted(platformdb.ClusterRow{Token: "sm4ctr$x"}) || !encrypted(platformdb.ClusterRow{Key: "bkcrypt$x"}) {
		t.Error("encrypted()")
	}
}

// CLU21: a client certificate without its key (or a key without its certificate) is
// ignored, as the platform's loader ignores it: a Warning without a code, and no
// expiry is reported for a certificate that is not used.
func TestCLU21_HalfClientPairIgnored(t *testing.T) {
	for name, creds := range map[string]clusterprobe.Credentials{
		"certificate without key": {CA: []byte("x"), ClientCert: []byte("cert")},
		"key without certificate": {CA: []byte("x"), ClientKey: []byte("key")},
	} {
		t.Run(name, func(t *testing.T) {
			ct := &clusterTarget{name: "default-main", apiServers: []string{"https://10.0.0.1:6443"}, creds: creds}
			res := check.Result{}
			judgeClusters(&res, []*clusterTarget{ct}, []probedServer{{cluster: ct, result: clusterprobe.Result{URL: ct.apiServers[0], OK: true, Reachable: true, NodesListed: true}}}, time.Now(), time.Hour)
			expectVerdict(t, res, check.Pass, v1alpha1.ReasonSucceeded, "")
			if len(res.Findings) != 1 || res.Findings[0].Reason != v1alpha1.ReasonClientCertIgnored || res.Findings[0].Code != "" {
				t.Fatalf("findings %+v", res.Findings)
			}
			if creds.HasClientPair() || creds.ClientCertNotAfter() != nil {
				t.Error("a half pair is used")
			}
		})
	}
}

// CLU12: a certificate expiring within the window is a predicted 4313021, a warning.
func TestCLU12_CertificateExpiringWarns(t *testing.T) {
	now := time.Now()
	soon := now.Add(time.Hour)
	ct := &clusterTarget{name: "default-main", apiServers: []string{"https://10.0.0.1:6443"}, creds: clusterprobe.Credentials{CA: []byte("x")}}
	res := check.Result{Status: check.Pass, Reason: v1alpha1.ReasonSucceeded}
	judgeClusters(&res, []*clusterTarget{ct}, []probedServer{{cluster: ct, result: clusterprobe.Result{URL: ct.apiServers[0], OK: true, Reachable: true, Verified: true, ServingNotAfter: &soon}}}, now, 24*time.Hour)
	if len(res.Findings) != 1 || res.Findings[0].Reason != v1alpha1.ReasonCertificateExpiring || res.Findings[0].Code != "4313021" || res.Status != check.Pass {
		t.Fatalf("%s findings %+v", res.Status, res.Findings)
	}
}

// CLU16: what paasdiag could not find out claims no code.
func TestCLU16_UnknownReasonsClaimNoCode(t *testing.T) {
	for _, reason := range []string{v1alpha1.ReasonPodsUnreadable, v1alpha1.ReasonDecryptionFailed, "InvalidDSN", "DatabaseUnreachable", "AccessDenied",
		"DatabaseNotFound", "Timeout", "DatabaseError", "SchemaUnrecognized"} {
		ct := &clusterTarget{name: "default-main", apiServers: []string{"https://10.0.0.1:6443"}, creds: clusterprobe.Credentials{CA: []byte("x")}}
		res := check.Result{Status: check.Pass, Reason: v1alpha1.ReasonSucceeded,
			Findings: []check.Finding{{Check: "x", Severity: v1alpha1.SeverityUnknown, Reason: reason, Message: "m"}}}
		judgeClusters(&res, []*clusterTarget{ct}, []probedServer{{cluster: ct, result: clusterprobe.Result{URL: ct.apiServers[0], OK: true, Reachable: true}}}, time.Now(), time.Hour)
		expectVerdict(t, res, check.Unknown, reason, "")
	}
}

// ICS05: up to 1.6, a succeeded Job whose state no node carries is 4313021.
func TestICS05_StateMissing16(t *testing.T) {
	f := judgeLabels("Job x", "default-main", clusterprobe.Result{Nodes: []string{"n1", "n2"}, NodesIgnored: 1})
	if f == nil || f.Severity != v1alpha1.SeverityError || f.Code != "4313021" || f.Reason != v1alpha1.ReasonStateMissing || !strings.Contains(f.Message, "none of the 2 node(s)") {
		t.Fatalf("%+v", f)
	}
	if f := judgeLabels("Job x", "default-main", clusterprobe.Result{NodesIgnored: 3}); f != nil {
		t.Errorf("masters only: %+v", f)
	}
}

// ICS06: up to 1.6, nodes without the label that joined later are a warning.
func TestICS06_StatePartial16(t *testing.T) {
	f := judgeLabels("Job x", "default-main", clusterprobe.Result{Nodes: []string{"n1", "n2", "n3"}, NodesWithState: 2})
	if f == nil || f.Severity != v1alpha1.SeverityWarning || f.Code != "" || f.Reason != v1alpha1.ReasonStatePartial || !strings.Contains(f.Message, "1 of 3 node(s)") {
		t.Fatalf("%+v", f)
	}
	if f := judgeLabels("Job x", "default-main", clusterprobe.Result{Nodes: []string{"n1"}, NodesWithState: 1}); f != nil {
		t.Errorf("all labelled: %+v", f)
	}
}

// ICS07: nodes that cannot be read are Unknown, without a code.
func TestICS07_NodesUnreadable(t *testing.T) {
	ct := &clusterTarget{name: "default-main", apiServers: []string{"https://10.0.0.1:6443"}}
	inv := &inventory{clusters: []*clusterTarget{ct}, probed: []probedServer{{cluster: ct, result: clusterprobe.Result{URL: ct.apiServers[0], Reason: v1alpha1.ReasonConnectionRefused}}}}
	probed, f := inv.nodesOf(ct)
	if !strings.Contains(f.Message, "ConnectionRefused") {
		t.Errorf("message %q does not say why", f.Message)
	}
	if probed != nil || f.Severity != v1alpha1.SeverityUnknown || f.Reason != v1alpha1.ReasonNodesUnreadable || f.Code != "" {
		t.Fatalf("%v %+v", probed, f)
	}
}

// ICS10: on 1.7+ a recorded state that lists the live nodes is no finding.
func TestICS10_NodeStateInSync17Plus(t *testing.T) {
	st := platformdb.ClusterState{Cluster: "default-main", Name: "eng-cstate-0a1b2c3d-2", Nodes: []string{"n1", "n2"}}
	if f := judgeNodeState("default-main", st, true, []string{"n1", "n2"}); f != nil {
		t.Fatalf("%+v", f)
	}
	f := judgeNodeState("default-main", st, true, []string{"n1", "n2", "n3"})
	if f == nil || f.Severity != v1alpha1.SeverityWarning || f.Code != "" || f.Reason != v1alpha1.ReasonNodeStateNotSynced || !strings.Contains(f.Message, "eng-cstate-0a1b2c3d-2") {
		t.Fatalf("%+v", f)
	}
}

// ICS12: on 1.7+ a cluster never synced is no finding.
func TestICS12_NeverSynced17Plus(t *testing.T) {
	if f := judgeNodeState("default-main", platformdb.ClusterState{}, false, []string{"n1"}); f != nil {
		t.Fatalf("%+v", f)
	}
}

// ICS14: a Job that cannot be read is Unknown, without a code.
func TestICS14_JobUnreadable16(t *testing.T) {
	onLines(t, lines16, func(t *testing.T, det release.Detection) {
		r := jobCheck(t, failingReader{}, det).Check(context.Background())
		expectVerdict(t, r, check.Unknown, v1alpha1.ReasonJobUnreadable, "")
	})
}

type failingReader struct{ client.Reader }

func (failingReader) Get(context.Context, client.ObjectKey, client.Object, ...client.GetOption) error {
	return errors.New("forbidden")
}

func (failingReader) List(context.Context, client.ObjectList, ...client.ListOption) error {
	return errors.New("forbidden")
}

type logs map[string]string

func (l logs) StreamLogs(_ context.Context, _, pod string, _ *corev1.PodLogOptions) (io.ReadCloser, error) {
	text, ok := l[pod]
	if !ok {
		return nil, errors.New("the kubelet did not answer")
	}
	return io.NopCloser(strings.NewReader(text)), nil
}

func workerTarget() (*v1alpha1.PaaSDiagnosis, client.Reader) {
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	labels := map[string]string{"app": "worker"}
	reader := fake.NewClientBuilder().WithScheme(scheme).WithObjects(
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "blueking", Name: "worker-0", Labels: labels}}).Build()
	d := &v1alpha1.PaaSDiagnosis{ObjectMeta: metav1.ObjectMeta{Namespace: "blueking", Name: "bkpaas3"},
		Spec: v1alpha1.PaaSDiagnosisSpec{WorkerLogs: &v1alpha1.WorkerLogsCheck{PodSelector: &metav1.LabelSelector{MatchLabels: labels},
			Patterns: []string{"Reason: Forbidden", "Can not get app cluster egress info"}}}}
	return d, reader
}

// workerCheck is the worker logs check of d, reading pods with reader and logs from l.
func workerCheck(t *testing.T, d *v1alpha1.PaaSDiagnosis, reader client.Reader, l logs) check.Checker {
	return builtCheck(t, d, Dependencies{Reader: reader, Logs: l}, nil, unknown, v1alpha1.ConditionWorkerLogsClean)
}

// WL01: the lines the platform logs when provisioning fails on the cluster are
// 4313021, on every line (the log texts are the same).
func TestWL01_ForbiddenInWorkerLogs(t *testing.T) {
	target, reader := workerTarget()
	r := workerCheck(t, target, reader, logs{"worker-0": "INFO ok\nERROR Can not get app cluster egress info\nReason: Forbidden\n"}).Check(context.Background())
	expectVerdict(t, r, check.Fail, v1alpha1.ReasonForbiddenInWorkerLogs, "4313021")
	r = workerCheck(t, target, reader, logs{"worker-0": "INFO all well\n"}).Check(context.Background())
	expectVerdict(t, r, check.Pass, v1alpha1.ReasonSucceeded, "")
}

// WL03: the default patterns match the lines the platform logs on a 4313021 (the
// Kubernetes client's 403 exception and reason lines, in text or JSON logs, and the
// platform's message), and no line that merely holds the number 403.
func TestWL03_DefaultPatternsMatchOnlyThePlatformsLines(t *testing.T) {
	patterns, err := compilePatterns(v1alpha1.DefaultWorkerLogPatterns)
	if err != nil {
		t.Fatal(err)
	}
	matches := func(line string) bool {
		sc, err := matchLines(strings.NewReader(line+"\n"), patterns, nil)
		return err == nil && sc.onPath+sc.elsewhere == 1
	}
	for _, line := range []string{
		"kubernetes.client.exceptions.ApiException: (403)",
		"Reason: Forbidden",
		"kubernetes.dynamic.exceptions.ForbiddenError: 403",
		"paasng.accessories.servicehub.remote.exceptions.GetClusterEgressInfoError: 403",
		"ERROR [2026-11-28 02:08:22] [None] paasng.accessories.servicehub.remote.manager(ln:204): Can not get app cluster egress info",
		`{"levelname": "ERROR", "exc_info": "Traceback ...\\nkubernetes.client.exceptions.ApiException: (403)\\nReason: Forbidden\\n"}`,
	} {
		if !matches(line) {
			t.Errorf("the defaults miss the platform's line %q", line)
		}
	}
	for _, line := range []string{
		`10.0.0.7 - - [28/Nov/2026:02:08:22 +0000] "GET /api/bkapps/applications/ HTTP/1.1" 403 153`,
		"INFO deployment 403 of app demo finished",
		"DEBUG response size=403 bytes",
		"kubernetes.client.exceptions.ApiException: (404)",
	} {
		if matches(line) {
			t.Errorf("the defaults match the unrelated line %q", line)
		}
	}
}

// The platform's records on a 4313021 (text format), as its logger writes them with
// the exception chain of kubernetes 24.2.0, and a 403 of another path.
const (
	egressRecords = `ERROR [2026-11-28 02:08:22] [None] paasng.accessories.servicehub.remote.manager(ln:204): Can not get app cluster egress info
Traceback (most recent call last):
  File "/app/paasng/accessories/servicehub/remote/manager.py", line 202, in get_cluster_egress_info
kubernetes.client.exceptions.ApiException: (403)
Reason: Forbidden
HTTP response headers: HTTPHeaderDict({'Audit-Id': '0f1e', 'Content-Type': 'application/json'})

During handling of the above exception, another exception occurred:

kubernetes.dynamic.exceptions.ForbiddenError: 403
Reason: Forbidden
ERROR [2026-11-28 02:08:22] [None] paasng.accessories.servicehub.remote.manager(ln:263): Error provisioning new instance for demo
Traceback (most recent call last):
paasng.accessories.servicehub.remote.exceptions.GetClusterEgressInfoError: 403
Reason: Forbidden
`
	namespaceRecord = `INFO [2026-11-28 02:09:01] [None] paas_wl.bk_app.deploy(ln:80): release demo
ERROR [2026-11-28 02:09:02] [None] paas_wl.infras.resources.base.kres(ln:310): failed to create namespace bkapp-demo-prod
Traceback (most recent call last):
kubernetes.dynamic.exceptions.ForbiddenError: 403
Reason: Forbidden
INFO [2026-11-28 02:09:03] [None] paas_wl.bk_app.deploy(ln:90): next
`
)

// WL04: a matching line is the platform's 4313021 only inside a log record of its
// egress path ("Can not get app cluster egress info", or GetClusterEgressInfoError in
// the provisioning error's chain), in text and JSON logs; a 403 in another record (a
// namespace the cluster refuses) is a Warning tagged 4313021: it breaks deploys
// without that code.
func TestWL04_ForbiddenOnlyOnTheEgressPathIs4313021(t *testing.T) {
	patterns, err := compilePatterns(v1alpha1.DefaultWorkerLogPatterns)
	if err != nil {
		t.Fatal(err)
	}
	jsonRecord := func(message, exc string) string {
		return `{"levelname": "ERROR", "asctime": "2026-11-28 02:08:22,001", "message": "` + message + `", "exc_info": "Traceback (most recent call last):\n` + exc + `\nReason: Forbidden\n"}` + "\n"
	}
	for _, c := range []struct {
		name              string
		logs              string
		onPath, elsewhere int
	}{
		{"the two text records of a 4313021", egressRecords, 7, 0},
		{"a namespace refused, in text", namespaceRecord, 0, 2},
		{"both, in text", namespaceRecord + egressRecords, 7, 2},
		{"a 4313021 in JSON", jsonRecord("Can not get app cluster egress info", "kubernetes.client.exceptions.ApiException: (403)"), 1, 0},
		{"a namespace refused, in JSON", jsonRecord("failed to create namespace", "kubernetes.dynamic.exceptions.ForbiddenError: 403"), 0, 1},
		{"a traceback cut from its record by the byte limit", "kubernetes.dynamic.exceptions.ForbiddenError: 403\nReason: Forbidden\n", 0, 2},
	} {
		sc, err := matchLines(strings.NewReader(c.logs), patterns, nil)
		if err != nil || sc.onPath != c.onPath || sc.elsewhere != c.elsewhere {
			t.Errorf("%s: %+v, %v; want %d on the egress path, %d elsewhere", c.name, sc, err, c.onPath, c.elsewhere)
		}
	}

	target, reader := workerTarget()
	r := workerCheck(t, target, reader, logs{"worker-0": namespaceRecord}).Check(context.Background())
	if r.Status != check.Pass || r.Reason != v1alpha1.ReasonSucceeded || len(r.Findings) != 1 || r.Findings[0].Severity != v1alpha1.SeverityWarning || r.Findings[0].Code != "4313021" ||
		r.Findings[0].Reason != v1alpha1.ReasonForbiddenInWorkerLogs || !strings.Contains(r.Findings[0].Message, "outside the platform's 4313021 path") ||
		!strings.Contains(r.Message, "1 pod(s) logged matching lines elsewhere") {
		t.Errorf("%s / %+v", r.Message, r.Findings)
	}
	r = workerCheck(t, target, reader, logs{"worker-0": namespaceRecord + egressRecords}).Check(context.Background())
	expectVerdict(t, r, check.Fail, v1alpha1.ReasonForbiddenInWorkerLogs, "4313021")
	if len(r.Findings) != 2 || r.Findings[0].Severity != v1alpha1.SeverityError || !strings.Contains(r.Findings[0].Message, "while getting an app cluster's egress info") ||
		r.Findings[1].Severity != v1alpha1.SeverityWarning {
		t.Errorf("%+v", r.Findings)
	}
}

// WL02: logs that cannot be read, or no worker pod, claim no code.
func TestWL02_UnreadableLogsClaimNoCode(t *testing.T) {
	target, reader := workerTarget()
	r := workerCheck(t, target, reader, logs{}).Check(context.Background())
	expectVerdict(t, r, check.Unknown, v1alpha1.ReasonLogsUnreadable, "")
	target.Spec.WorkerLogs.PodSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "none"}}
	r = workerCheck(t, target, reader, logs{}).Check(context.Background())
	expectVerdict(t, r, check.Unknown, v1alpha1.ReasonNoWorkerPods, "")
}

// POOL03: fewer available instances than minAvailable is a warning that predicts
// 4313022; Ready stays True.
func TestPOOL03_PoolLowWarns(t *testing.T) {
	r := judgePools(&platformdb.PoolReport{Schema: current, Plans: []platformdb.PlanPool{plan("redis", "0shared", 1, 0, 3)}}, &v1alpha1.InstancePoolsCheck{MinAvailable: 2})
	if r.Status != check.Pass {
		t.Fatalf("%s/%s", r.Status, r.Reason)
	}
	if len(r.Findings) != 1 || r.Findings[0].Reason != v1alpha1.ReasonPoolLow || r.Findings[0].Severity != v1alpha1.SeverityWarning || r.Findings[0].Code != "4313022" {
		t.Fatalf("%+v", r.Findings)
	}
}

// POOL04: instances whose plan is gone are a warning without a code.
func TestPOOL04_OrphanedInstancesWarn(t *testing.T) {
	r := judgePools(&platformdb.PoolReport{Schema: current, Plans: []platformdb.PlanPool{plan("redis", "0shared", 1, 0, 1)},
		Orphans: []platformdb.Orphans{{PlanID: "gone", Unallocated: 2, Total: 2}}}, &v1alpha1.InstancePoolsCheck{})
	expectVerdict(t, r, check.Pass, v1alpha1.ReasonSucceeded, "")
	if len(r.Findings) != 1 || r.Findings[0].Reason != v1alpha1.ReasonOrphanedInstances || r.Findings[0].Severity != v1alpha1.SeverityWarning {
		t.Fatalf("%+v", r.Findings)
	}
}

// POOL05: only services whose provider is "pool" have pre-created instances; remote
// services never raise 4313022.
func TestPOOL05_OnlyPoolProvidersJudged(t *testing.T) {
	remote := plan("mysql", "default", 0, 0, 0)
	remote.Provider = "mysql"
	r := judgePools(&platformdb.PoolReport{Schema: current, Plans: []platformdb.PlanPool{remote}}, &v1alpha1.InstancePoolsCheck{MinAvailable: 1})
	expectVerdict(t, r, check.Pass, v1alpha1.ReasonSucceeded, "")
}

// POOL06: a plan the spec names that is not in the database, and a database that
// cannot be read, claim no code.
func TestPOOL06_UnknownReasonsClaimNoCode(t *testing.T) {
	r := judgePools(&platformdb.PoolReport{Schema: current, Plans: []platformdb.PlanPool{plan("redis", "0shared", 1, 0, 1)}},
		&v1alpha1.InstancePoolsCheck{Plans: []v1alpha1.PlanReference{{Service: "redis", Plan: "gone"}}})
	expectVerdict(t, r, check.Unknown, v1alpha1.ReasonPlanNotFound, "")
	r = databaseUnknown(&platformdb.Error{Reason: v1alpha1.ReasonDatabaseUnreachable, Message: "down"}, "db")
	expectVerdict(t, r, check.Unknown, v1alpha1.ReasonDatabaseUnreachable, "")
}

// CLU17: a key that does not serve the cipher the platform writes with is a warning
// without a code; discovery goes on with the rows it can read.
func TestCLU17_KeyCipherMismatchWarns(t *testing.T) {
	d, err := bkcrypt.New("a-plain-sm4-key-of-32-characters")
	if err != nil {
		t.Fatal(err)
	}
	fs := keyCipherFindings(d, v1alpha1.CipherFernet)
	if len(fs) != 1 || fs[0].Severity != v1alpha1.SeverityWarning || fs[0].Code != "" || fs[0].Reason != v1alpha1.ReasonKeyCipherMismatch {
		t.Fatalf("%+v", fs)
	}
	if strings.Contains(fs[0].Message, "a-plain-sm4-key") {
		t.Error("the message quotes the key")
	}
	if fs := keyCipherFindings(d, v1alpha1.CipherSM4CTR); len(fs) != 0 {
		t.Errorf("SM4CTR: %+v", fs)
	}
}

// The check's message names what failed: API servers, and Errors found before any
// probe (they name no API server; found by the per-line tests, where such a Fail used
// to read "0 of 1 API server(s) failed: ").
func TestClusterFailMessageNamesErrorsBeforeProbes(t *testing.T) {
	pool := poolBroken("ca_data of cluster c cannot be base64-decoded")
	token := *tokenLineBreak("d", "x\n")
	probe := check.ErrorFinding("cluster/e/https://10.0.0.1:6443", v1alpha1.ReasonConnectionRefused, "4313021", "refused")
	for _, c := range []struct {
		name     string
		findings []check.Finding
		failed   []string
		want     []string
	}{
		{"before probes only", []check.Finding{pool}, nil, []string{"ca_data of cluster c cannot be base64-decoded"}},
		{"two before probes", []check.Finding{pool, token}, nil, []string{"ca_data of cluster c", "and 1 more error finding(s)"}},
		{"probes and one before", []check.Finding{probe, token}, []string{"e https://10.0.0.1:6443: ConnectionRefused"},
			[]string{"1 of 2 API server(s) failed: e https://10.0.0.1:6443: ConnectionRefused", "and 1 error finding(s) that name no API server, the first: token_value of cluster d"}},
	} {
		got := failMessage(c.findings, c.failed, 2)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", c.name, got, w)
			}
		}
		if !strings.HasPrefix(got, "[4313021]") || strings.Count(got, "[4313021]") != 1 {
			t.Errorf("%s: %q", c.name, got)
		}
	}
}
