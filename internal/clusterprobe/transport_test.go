package clusterprobe

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/testsupport/appcluster"
	"github.com/paasdiag/paasdiag/internal/testsupport/netfault"
)

// Transport-level cases on local listeners, without a control plane: what a probe
// concludes from each answer (or silence) of an API server. The same cases against a
// real kube-apiserver are in probe_test.go (integration).

// apiServer answers the probe's four requests as an API server would; each field
// changes one answer.
type apiServer struct {
	versionStatus int              // status of GET /version
	nodesStatus   int              // status of the Node list
	nsStatus      int              // status of the Namespace list
	allowed       bool             // the access review's answer
	nodes         []map[string]any // metadata of the Nodes
	pageSize      int              // Nodes per page; 0: all at once
	endless       bool             // always return a continue token
}

func (a apiServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	status := func(code int) bool {
		if code == 0 || code == http.StatusOK {
			return false
		}
		w.WriteHeader(code)
		_, _ = fmt.Fprintf(w, `{"kind":"Status","message":"answer %d"}`, code)
		return true
	}
	switch {
	case r.URL.Path == "/version":
		if !status(a.versionStatus) {
			_, _ = w.Write([]byte(`{"gitVersion":"v1.20.15"}`))
		}
	case r.URL.Path == "/api/v1/nodes":
		if status(a.nodesStatus) {
			return
		}
		items, cont := a.nodes, ""
		if a.pageSize > 0 {
			start := 0
			_, _ = fmt.Sscanf(r.URL.Query().Get("continue"), "%d", &start)
			end := min(start+a.pageSize, len(items))
			items = items[start:end]
			if end < len(a.nodes) {
				cont = fmt.Sprint(end)
			}
		}
		if a.endless {
			cont = "more"
		}
		list := map[string]any{"metadata": map[string]any{"continue": cont}, "items": []any{}}
		for _, n := range items {
			list["items"] = append(list["items"].([]any), map[string]any{"metadata": n})
		}
		_ = json.NewEncoder(w).Encode(list)
	case r.URL.Path == "/api/v1/namespaces":
		if !status(a.nsStatus) {
			_, _ = w.Write([]byte(`{"items":[]}`))
		}
	case strings.HasSuffix(r.URL.Path, "/selfsubjectaccessreviews"):
		_ = json.NewEncoder(w).Encode(map[string]any{"status": map[string]any{"allowed": a.allowed}})
	case strings.HasSuffix(r.URL.Path, "/selfsubjectreviews"):
		_, _ = w.Write([]byte(`{"status":{"userInfo":{"username":"bkpaas3"}}}`))
	default:
		http.NotFound(w, r)
	}
}

func node(name string, labels map[string]string) map[string]any {
	return map[string]any{"name": name, "labels": labels}
}

func serve(t *testing.T, a apiServer) (*httptest.Server, Credentials) {
	t.Helper()
	srv := httptest.NewUnstartedServer(a)
	// Refused handshakes are what some cases test; the server need not log them.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return srv, Credentials{CA: ca, Token: "t0ken"}
}

func probeOnce(url string, creds Credentials, timeout time.Duration) Result {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return Probe(ctx, url, creds, time.Now())
}

func TestProbeTransport(t *testing.T) {
	healthy := apiServer{allowed: true, nodes: []map[string]any{node("n1", nil)}}
	otherCA, _, _, err := appcluster.SelfSignedCA(time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		server     apiServer
		creds      func(Credentials) Credentials
		wantOK     bool
		wantReason string
	}{
		{name: "a cluster-admin on a healthy server", server: healthy, wantOK: true},
		{name: "401 on /version", server: apiServer{versionStatus: 401}, wantReason: v1alpha1.ReasonUnauthorized},
		{name: "403 listing Nodes", server: apiServer{nodesStatus: 403}, wantReason: v1alpha1.ReasonForbidden},
		{name: "500 listing Nodes", server: apiServer{nodesStatus: 500}, wantReason: v1alpha1.ReasonServerError},
		{name: "403 listing Namespaces", server: apiServer{nsStatus: 403}, wantReason: v1alpha1.ReasonForbidden},
		{name: "not cluster-admin", server: apiServer{allowed: false}, wantReason: v1alpha1.ReasonNotClusterAdmin},
		{name: "another CA", server: healthy, creds: func(c Credentials) Credentials {
			c.CA = otherCA
			return c
		}, wantReason: v1alpha1.ReasonTLSUnknownAuthority},
		{name: "a host name the certificate does not name", server: healthy, creds: func(c Credentials) Credentials {
			c.ServerName = "apiserver.example.org"
			return c
		}, wantReason: v1alpha1.ReasonTLSHostnameMismatch},
		{name: "no CA: not verified, still reachable", server: healthy, creds: func(c Credentials) Credentials {
			c.CA = nil
			return c
		}, wantOK: true},
		// CLU19: the platform's assert_hostname.
		{name: "assert_hostname false: the name is not checked", server: healthy, creds: func(c Credentials) Credentials {
			c.ServerName, c.SkipHostnameCheck = "", true
			c.VerifyName = "apiserver.example.org"
			return c
		}, wantOK: true},
		{name: "assert_hostname false still verifies the chain", server: healthy, creds: func(c Credentials) Credentials {
			c.SkipHostnameCheck = true
			c.CA = otherCA
			return c
		}, wantReason: v1alpha1.ReasonTLSUnknownAuthority},
		{name: "assert_hostname names a host the certificate does not name", server: healthy, creds: func(c Credentials) Credentials {
			c.VerifyName = "apiserver.example.org"
			return c
		}, wantReason: v1alpha1.ReasonTLSHostnameMismatch},
		{name: "assert_hostname names the certificate's host", server: healthy, creds: func(c Credentials) Credentials {
			c.VerifyName = "127.0.0.1"
			return c
		}, wantOK: true},
		{name: "a client key without its certificate is ignored (CLU21)", server: healthy, creds: func(c Credentials) Credentials {
			c.ClientKey = []byte("not used")
			return c
		}, wantOK: true},
		{name: "a CA that is not PEM", server: healthy, creds: func(c Credentials) Credentials {
			c.CA = []byte("not a certificate")
			return c
		}, wantReason: v1alpha1.ReasonInvalidCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, creds := serve(t, tt.server)
			if tt.creds != nil {
				creds = tt.creds(creds)
			}
			r := probeOnce(srv.URL, creds, 5*time.Second)
			if r.OK != tt.wantOK || r.Reason != tt.wantReason {
				t.Fatalf("OK=%v reason=%q (%s); want OK=%v reason=%q", r.OK, r.Reason, r.Message, tt.wantOK, tt.wantReason)
			}
			if strings.Contains(r.Message, "t0ken") {
				t.Error("the message quotes the token")
			}
			if tt.wantOK && (r.ServerVersion != "v1.20.15" || r.Verified != (len(creds.CA) > 0)) {
				t.Errorf("version %q verified %v", r.ServerVersion, r.Verified)
			}
		})
	}
}

func TestProbeNodes(t *testing.T) {
	master := map[string]string{"node-role.kubernetes.io/master": "true"}
	nodes := []map[string]any{
		node("w2", map[string]string{"eng-cstate-0a1b2c3d-1": "1"}), node("w1", nil), node("m1", master),
		node("m2", map[string]string{"node-role.kubernetes.io/control-plane": ""}),
	}
	srv, creds := serve(t, apiServer{allowed: true, nodes: nodes, pageSize: 1})
	r := probeOnce(srv.URL, creds, 5*time.Second)
	if !r.OK || strings.Join(r.Nodes, ",") != "m2,w1,w2" || r.NodesIgnored != 1 || r.NodesWithState != 1 || r.NodesTruncated {
		t.Fatalf("%+v", r)
	}
	srv, creds = serve(t, apiServer{allowed: true, nodes: nodes[:1], endless: true})
	if r := probeOnce(srv.URL, creds, 5*time.Second); !r.NodesTruncated || len(r.Nodes) != maxNodePages {
		t.Fatalf("endless pages: truncated=%v, %d nodes", r.NodesTruncated, len(r.Nodes))
	}
}

func TestProbeSilenceAndRefusal(t *testing.T) {
	addr, stop, err := netfault.SilentListener()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if r := probeOnce("https://"+addr, Credentials{}, 200*time.Millisecond); r.Reason != v1alpha1.ReasonTimeout {
		t.Errorf("silent listener: %q (%s)", r.Reason, r.Message)
	}
	closed, err := netfault.ClosedAddr()
	if err != nil {
		t.Fatal(err)
	}
	if r := probeOnce("https://"+closed, Credentials{}, 2*time.Second); r.Reason != v1alpha1.ReasonConnectionRefused {
		t.Errorf("closed port: %q (%s)", r.Reason, r.Message)
	}
	if r := probeOnce("https://paasdiag-no-such-host.invalid:6443", Credentials{}, 2*time.Second); r.Reason != v1alpha1.ReasonDNSError {
		t.Errorf("unknown host: %q (%s)", r.Reason, r.Message)
	}
}
