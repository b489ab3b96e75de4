//go:build integration

package clusterprobe

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// The cost of a probe against the physical floor: BenchmarkProbe probes one API server
// of a real kube-apiserver; BenchmarkBareClient makes the same four requests with a
// bare Go HTTP client over the same fresh TLS connection setup. `make bench` prints
// their ratio.

var (
	benchOnce  sync.Once
	benchToken string
	benchError error
)

// benchCredentials makes one token for every run of the benchmarks (the testing
// package calls a benchmark several times).
func benchCredentials(b *testing.B) Credentials {
	startApp(b)
	benchOnce.Do(func() { benchToken, benchError = app.TokenUser("bkpaas-bench", "cluster-admin") })
	if benchError != nil {
		b.Fatal(benchError)
	}
	return Credentials{CA: app.CA, Token: benchToken}
}

func BenchmarkProbe(b *testing.B) {
	creds := benchCredentials(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		r := Probe(ctx, app.URL, creds, time.Now())
		cancel()
		if !r.OK {
			b.Fatalf("probe failed: %s %s", r.Reason, r.Message)
		}
	}
}

func BenchmarkBareClient(b *testing.B) {
	creds := benchCredentials(b)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(creds.CA)
	review := []byte(`{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{"resourceAttributes":{"verb":"*","group":"*","resource":"*"}}}`)
	requests := []struct {
		method, path string
		body         []byte
	}{
		{http.MethodGet, "/version", nil},
		{http.MethodGet, "/api/v1/nodes?limit=500", nil},
		{http.MethodGet, "/api/v1/namespaces?limit=1", nil},
		{http.MethodPost, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review},
	}
	base := app.URL
	if base[len(base)-1] == '/' {
		base = base[:len(base)-1]
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// A fresh connection per probe, as the probe makes.
		transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: true}
		c := &http.Client{Transport: transport, Timeout: 10 * time.Second}
		for _, r := range requests {
			var body io.Reader
			if r.body != nil {
				body = bytes.NewReader(r.body)
			}
			req, _ := http.NewRequest(r.method, base+r.path, body)
			req.Header.Set("Authorization", "Bearer "+creds.Token)
			req.Header.Set("Accept", "application/json")
			if r.body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := c.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				b.Fatalf("%s %s: %d", r.method, r.path, resp.StatusCode)
			}
		}
		transport.CloseIdleConnections()
	}
}
