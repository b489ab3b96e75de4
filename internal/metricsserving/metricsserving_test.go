package metricsserving

import (
	"context"
	"crypto/tls"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	certutil "k8s.io/client-go/util/cert"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/paasdiag/paasdiag/internal/testsupport/netfault"
)

// parse returns the config the flags make from args, as main.go parses them.
func parse(t *testing.T, args ...string) Config {
	t.Helper()
	var c Config
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	c.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return c
}

// writeCert writes a certificate for host and its key into a new directory as
// tls.crt and tls.key, as a mounted kubernetes.io/tls Secret has them.
func writeCert(t *testing.T, host string) string {
	t.Helper()
	crt, key, err := certutil.GenerateSelfSignedCertKey(host, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, data := range map[string][]byte{"tls.crt": crt, "tls.key": key} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestOptions(t *testing.T) {
	certDir := writeCert(t, "metrics.example")
	for _, c := range []struct {
		name    string
		args    []string
		secure  bool
		certDir string
		wantErr string
	}{
		{name: "defaults: HTTPS on :8443, authenticated and authorized, self-signed", secure: true},
		{name: "plain HTTP for local runs", args: []string{"--metrics-secure=false"}},
		{name: "a mounted certificate", args: []string{"--metrics-cert-path=" + certDir}, secure: true, certDir: certDir},
		{name: "a certificate that is not there", args: []string{"--metrics-cert-path=" + t.TempDir()}, wantErr: "tls.crt"},
		{name: "a key of another name that is not there", args: []string{"--metrics-cert-path=" + certDir, "--metrics-cert-key=key.pem"}, wantErr: "key.pem"},
		{name: "a certificate without HTTPS", args: []string{"--metrics-cert-path=" + certDir, "--metrics-secure=false"}, wantErr: "--metrics-secure is false"},
		{name: "no endpoint: no certificate needed", args: []string{"--metrics-bind-address=0", "--metrics-cert-path=" + t.TempDir()}, secure: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := parse(t, c.args...)
			opts, err := cfg.Options()
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one naming %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(c.args) == 0 && opts.BindAddress != ":8443" {
				t.Errorf("bind address %q, want :8443", opts.BindAddress)
			}
			if opts.SecureServing != c.secure || (opts.FilterProvider != nil) != c.secure {
				t.Errorf("secure serving %v with a filter %v, want both %v", opts.SecureServing, opts.FilterProvider != nil, c.secure)
			}
			if opts.CertDir != c.certDir {
				t.Errorf("certificate directory %q, want %q", opts.CertDir, c.certDir)
			}
			if c.certDir != "" && (opts.CertName != "tls.crt" || opts.KeyName != "tls.key") {
				t.Errorf("certificate %q and key %q, want a kubernetes.io/tls Secret's", opts.CertName, opts.KeyName)
			}
		})
	}
}

// serve starts controller-runtime's metrics server with opts on a free local address,
// its filter (if any) asking an API server that is not there, and returns the address.
func serve(t *testing.T, opts metricsserver.Options) string {
	t.Helper()
	addr, err := netfault.ClosedAddr()
	if err != nil {
		t.Fatal(err)
	}
	opts.BindAddress = addr
	srv, err := metricsserver.NewServer(opts, &rest.Config{Host: "https://127.0.0.1:1"}, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return addr
}

// With --metrics-cert-path, the endpoint presents the mounted certificate, and speaks
// HTTP/1.1 only even to a client offering HTTP/2.
func TestServesTheMountedCertificate(t *testing.T) {
	cfg := parse(t, "--metrics-cert-path="+writeCert(t, "paasdiag-metrics.example"))
	opts, err := cfg.Options()
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, opts)
	var state tls.ConnectionState
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}})
		if err == nil {
			state = conn.ConnectionState()
			_ = conn.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no TLS on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if cn := state.PeerCertificates[0].Subject.CommonName; !strings.HasPrefix(cn, "paasdiag-metrics.example") {
		t.Errorf("the endpoint presents a certificate for %q, not the mounted one", cn)
	}
	if state.NegotiatedProtocol == "h2" {
		t.Error("the endpoint speaks HTTP/2")
	}
}

// With --metrics-secure=false the endpoint is plain HTTP, open to anyone: local runs.
func TestPlainHTTP(t *testing.T) {
	opts, err := parse(t, "--metrics-secure=false").Options()
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, opts)
	var resp *http.Response
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err = http.Get("http://" + addr + "/metrics")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /metrics over plain HTTP: %s", resp.Status)
	}
}
