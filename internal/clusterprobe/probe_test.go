//go:build integration

package clusterprobe

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/testsupport/appcluster"
)

// The app cluster is a real kube-apiserver (envtest), started once, by the first test
// that needs it (not by fuzz workers, which need none).
var (
	app      *appcluster.Cluster
	appOnce  sync.Once
	appError error
)

func startApp(t testing.TB) {
	t.Helper()
	appOnce.Do(func() { app, appError = appcluster.Start() })
	if appError != nil {
		t.Fatal(appError)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if app != nil {
		_ = app.Stop()
	}
	os.Exit(code)
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func certCreds(t *testing.T, name string, roles ...string) Credentials {
	cert, key, err := app.CertUser(name, roles...)
	if err != nil {
		t.Fatal(err)
	}
	return Credentials{CA: app.CA, ClientCert: cert, ClientKey: key}
}

func probe(creds Credentials, url string, timeout time.Duration) Result {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return Probe(ctx, url, creds, time.Now())
}

func TestProbe(t *testing.T) {
	startApp(t)
	if err := app.ClusterRole("list-nodes", []string{"list"}, "nodes"); err != nil {
		t.Fatal(err)
	}
	if err := app.ClusterRole("list-nodes-namespaces", []string{"list"}, "nodes", "namespaces"); err != nil {
		t.Fatal(err)
	}
	if err := app.Node("node-1", map[string]string{"eng-cstate-0a1b2c3d-1": "1"}); err != nil {
		t.Fatal(err)
	}
	if err := app.Node("node-2", nil); err != nil {
		t.Fatal(err)
	}
	adminToken := must[string](t)(app.TokenUser("bkpaas-admin", "cluster-admin"))
	noneToken := must[string](t)(app.TokenUser("bkpaas-none"))
	wrongCA, strayCert, _ := must3(t)(appcluster.SelfSignedCA(time.Now().Add(-time.Hour), time.Now().Add(time.Hour)))
	_, expiredCert, expiredKey := must3(t)(appcluster.SelfSignedCA(time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)))
	closed := must[string](t)(appcluster.ClosedPort())
	silent, closeSilent, err := appcluster.SilentListener()
	if err != nil {
		t.Fatal(err)
	}
	defer closeSilent()

	tests := []struct {
		name          string
		creds         Credentials
		url           string
		wantOK        bool
		wantReachable bool
		wantReason    string
		wantMessage   string
	}{
		{name: "client certificate bound to cluster-admin", creds: certCreds(t, "bkpaas-cert-admin", "cluster-admin"), wantOK: true, wantReachable: true},
		{name: "ServiceAccount token bound to cluster-admin", creds: Credentials{CA: app.CA, Token: adminToken}, wantOK: true, wantReachable: true},
		{name: "certificate and token together", creds: func() Credentials {
			c := certCreds(t, "bkpaas-both", "cluster-admin")
			c.Token = adminToken
			return c
		}(), wantOK: true, wantReachable: true},
		{name: "no CA: connects unverified, as the platform does", creds: Credentials{Token: adminToken}, wantOK: true, wantReachable: true},
		{name: "may only list nodes", creds: certCreds(t, "bkpaas-nodes", "list-nodes"), wantReason: v1alpha1.ReasonForbidden,
			wantMessage: `GET /api/v1/namespaces: 403 Forbidden: namespaces is forbidden: User "bkpaas-nodes" cannot list resource "namespaces"`},
		{name: "may list nodes and namespaces but is not cluster-admin", creds: certCreds(t, "bkpaas-viewer", "list-nodes-namespaces"),
			wantReachable: true, wantReason: v1alpha1.ReasonNotClusterAdmin, wantMessage: `user "bkpaas-viewer" may list Nodes and Namespaces but is not cluster-admin`},
		{name: "certificate user without permissions", creds: certCreds(t, "bkpaas-nothing"), wantReason: v1alpha1.ReasonForbidden,
			wantMessage: `GET /api/v1/nodes: 403 Forbidden: nodes is forbidden: User "bkpaas-nothing" cannot list resource "nodes" in API group "" at the cluster scope`},
		{name: "token without permissions", creds: Credentials{CA: app.CA, Token: noneToken}, wantReason: v1alpha1.ReasonForbidden,
			wantMessage: `User "system:serviceaccount:kube-system:bkpaas-none" cannot list resource "nodes"`},
		{name: "token unknown to the server", creds: Credentials{CA: app.CA, Token: "not-a-token-the-server-knows"}, wantReason: v1alpha1.ReasonUnauthorized},
		{name: "wrong CA", creds: Credentials{CA: wrongCA, Token: adminToken}, wantReason: v1alpha1.ReasonTLSUnknownAuthority},
		{name: "serving certificate for another host name", creds: Credentials{CA: app.CA, Token: adminToken, ServerName: "apiserver.other.example"},
			wantReason: v1alpha1.ReasonTLSHostnameMismatch, wantMessage: "apiserver.other.example"},
		{name: "expired client certificate", creds: Credentials{CA: app.CA, ClientCert: expiredCert, ClientKey: expiredKey}, wantReason: v1alpha1.ReasonCertificateExpired, wantMessage: "client certificate expired on"},
		// CLU21: ignored, as the platform ignores it: the token alone authenticates.
		{name: "certificate without its key", creds: Credentials{CA: app.CA, ClientCert: strayCert, Token: adminToken}, wantOK: true, wantReachable: true},
		{name: "closed port", creds: Credentials{CA: app.CA, Token: adminToken}, url: closed, wantReason: v1alpha1.ReasonConnectionRefused},
		{name: "no such host", creds: Credentials{CA: app.CA, Token: adminToken}, url: "https://no-such-apiserver.invalid:6443", wantReason: v1alpha1.ReasonDNSError},
		{name: "a listener that never answers", creds: Credentials{CA: app.CA, Token: adminToken}, url: silent, wantReason: v1alpha1.ReasonTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := tt.url
			if url == "" {
				url = app.URL
			}
			r := probe(tt.creds, url, 2*time.Second)
			if r.OK != tt.wantOK || r.Reachable != tt.wantReachable || r.Reason != tt.wantReason {
				t.Fatalf("OK=%v reachable=%v reason=%q (%s); want OK=%v reachable=%v reason=%q",
					r.OK, r.Reachable, r.Reason, r.Message, tt.wantOK, tt.wantReachable, tt.wantReason)
			}
			if listed := tt.wantOK || tt.wantReachable || strings.HasPrefix(tt.wantMessage, "GET /api/v1/namespaces"); r.NodesListed != listed {
				t.Errorf("NodesListed = %v, want %v", r.NodesListed, listed)
			}
			if !strings.Contains(r.Message, tt.wantMessage) {
				t.Errorf("message %q does not contain %q", r.Message, tt.wantMessage)
			}
			if tt.creds.Token != "" && strings.Contains(r.Message, tt.creds.Token) {
				t.Error("the message contains the token")
			}
			if r.Latency <= 0 {
				t.Errorf("latency %v", r.Latency)
			}
			if tt.wantReachable {
				if r.ServerVersion == "" || !strings.HasPrefix(r.ServerVersion, "v1.") {
					t.Errorf("server version %q", r.ServerVersion)
				}
				if r.ServingNotAfter == nil || len(r.Nodes) != 2 || r.NodesWithState != 1 {
					t.Errorf("serving expiry %v, nodes %d, with state %d", r.ServingNotAfter, len(r.Nodes), r.NodesWithState)
				}
				if r.Verified != (len(tt.creds.CA) > 0) {
					t.Errorf("verified = %v", r.Verified)
				}
			}
		})
	}
}

func TestProbeOfAHungServerEndsWithItsContext(t *testing.T) {
	silent, closeSilent, err := appcluster.SilentListener()
	if err != nil {
		t.Fatal(err)
	}
	defer closeSilent()
	done := make(chan Result, 1)
	go func() { done <- probe(Credentials{}, silent, 300*time.Millisecond) }()
	select {
	case r := <-done:
		// The probe's clock starts a little after the deadline's: allow for it; what is
		// checked is that it waited for the deadline rather than failing at once.
		if r.Reason != v1alpha1.ReasonTimeout || r.Latency < 250*time.Millisecond {
			t.Errorf("reason %s after %v; want Timeout after the 300ms deadline", r.Reason, r.Latency)
		}
	case <-time.After(time.Minute):
		t.Fatal("the probe of a hung server did not end with its context")
	}
}

func TestClientCertificateExpiry(t *testing.T) {
	startApp(t)
	c := certCreds(t, "bkpaas-short-lived", "cluster-admin")
	exp := c.ClientCertNotAfter()
	if exp == nil || time.Until(*exp) > 8*24*time.Hour || time.Until(*exp) < 0 {
		t.Fatalf("envtest's client certificates last a week; got %v", exp)
	}
	if ca := (Credentials{CA: app.CA}).CANotAfter(); ca == nil {
		t.Error("no CA expiry")
	}
	if (Credentials{}).ClientCertNotAfter() != nil {
		t.Error("an expiry without a certificate")
	}
}

func must3(t *testing.T) func(a, b, c []byte, err error) ([]byte, []byte, []byte) {
	return func(a, b, c []byte, err error) ([]byte, []byte, []byte) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b, c
	}
}
