package checks

import (
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// apiServer is an app cluster's API server that answers paasdiag's probe as it
// answers a cluster-admin, and records the bearer tokens it is sent.
type apiServer struct {
	url string
	// versions counts the /version requests: one per probe.
	versions atomic.Int32
	// ca is its certificate, PEM.
	ca     []byte
	mu     sync.Mutex
	tokens map[string]int
}

// newAPIServer starts one whose node list is nodes (a NodeList's JSON), or one node n1.
func newAPIServer(t *testing.T, nodes ...string) *apiServer {
	t.Helper()
	a := &apiServer{tokens: map[string]int{}}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]++
		a.mu.Unlock()
		switch {
		case r.URL.Path == "/version":
			a.versions.Add(1)
			_, _ = w.Write([]byte(`{"gitVersion":"v1.24.17"}`))
		case r.URL.Path == "/api/v1/nodes":
			list := `{"metadata":{},"items":[{"metadata":{"name":"n1"}}]}`
			if len(nodes) > 0 {
				list = nodes[0]
			}
			_, _ = w.Write([]byte(list))
		case r.URL.Path == "/api/v1/namespaces":
			_, _ = w.Write([]byte(`{"items":[]}`))
		case strings.HasSuffix(r.URL.Path, "/selfsubjectaccessreviews"):
			_, _ = w.Write([]byte(`{"status":{"allowed":true}}`))
		default:
			http.NotFound(w, r)
		}
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	a.url = srv.URL
	a.ca = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return a
}

// sent reports whether a request came with the token, or with it trimmed.
func (a *apiServer) sent(token string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for got := range a.tokens {
		if strings.TrimSpace(got) == strings.TrimSpace(token) {
			return true
		}
	}
	return false
}
