// Package metricsserving holds how the manager serves its metrics: its flags and the
// controller-runtime metrics server options they make, shared by main.go and the tests
// that scrape a manager wired as main.go wires it.
//
// By default the endpoint is HTTPS on :8443, and only a client whose bearer token the
// API server authenticates (TokenReview) and authorizes for get on the non-resource
// URL /metrics (SubjectAccessReview; the ClusterRole paasdiag-metrics-reader grants
// it) is served; the others get 401 or 403. This is the kubebuilder scaffold's
// filters.WithAuthenticationAndAuthorization.
package metricsserving

import (
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// The manager checks the scraper's token and its right to get /metrics with the API
// server, once a minute per token (allowed answers are cached for five minutes,
// refusals for 30 seconds).
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// DefaultBindAddress is where the metrics endpoint listens unless told otherwise.
const DefaultBindAddress = ":8443"

// Config is what the metrics flags say.
type Config struct {
	// BindAddress is host:port, or "0" for no metrics endpoint.
	BindAddress string
	// Secure serves HTTPS to authenticated and authorized clients only; false serves
	// plain HTTP to anyone.
	Secure bool
	// CertPath is the directory holding the serving certificate CertName and its key
	// CertKey; empty serves a self-signed certificate made at start.
	CertPath, CertName, CertKey string
}

// BindFlags registers the metrics flags on fs, with their defaults, into c.
func (c *Config) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.BindAddress, "metrics-bind-address", DefaultBindAddress,
		"Address the metrics endpoint (/metrics) listens on, host:port; 0 turns it off.")
	fs.BoolVar(&c.Secure, "metrics-secure", true,
		"Serve metrics over HTTPS, and only to clients whose bearer token the API server authenticates and "+
			"authorizes for get on /metrics (ClusterRole paasdiag-metrics-reader). "+
			"false serves plain HTTP to anyone who can reach the port: for local runs only.")
	fs.StringVar(&c.CertPath, "metrics-cert-path", "",
		"Directory holding the metrics endpoint's serving certificate and key (a mounted Secret, e.g. cert-manager's), "+
			"reloaded when they change; empty: a self-signed certificate made at start.")
	fs.StringVar(&c.CertName, "metrics-cert-name", "tls.crt", "File name of the certificate in --metrics-cert-path.")
	fs.StringVar(&c.CertKey, "metrics-cert-key", "tls.key", "File name of the private key in --metrics-cert-path.")
}

// Options returns the metrics server options the config asks for. It refuses a
// certificate directory without HTTPS, and one that lacks the certificate or the key
// (controller-runtime would fall back to a self-signed certificate without a word).
func (c Config) Options() (metricsserver.Options, error) {
	opts := metricsserver.Options{BindAddress: c.BindAddress}
	if !c.Secure {
		if c.CertPath != "" {
			return opts, fmt.Errorf("--metrics-cert-path is set but --metrics-secure is false: the certificate would not be used")
		}
		return opts, nil
	}
	opts.SecureServing = true
	opts.FilterProvider = filters.WithAuthenticationAndAuthorization
	// HTTP/1.1 only: HTTP/2's stream cancellation and rapid reset weaknesses
	// (CVE-2023-44487, CVE-2023-39325) are not worth it for one scrape a minute, as
	// the kubebuilder scaffold decides.
	opts.TLSOpts = []func(*tls.Config){func(cfg *tls.Config) { cfg.NextProtos = []string{"http/1.1"} }}
	if c.CertPath == "" || c.BindAddress == "0" {
		return opts, nil
	}
	for _, name := range []string{c.CertName, c.CertKey} {
		if _, err := os.Stat(filepath.Join(c.CertPath, name)); err != nil {
			return opts, fmt.Errorf("the metrics endpoint's certificate: %w", err)
		}
	}
	// controller-runtime watches the files and serves a renewed certificate.
	opts.CertDir, opts.CertName, opts.KeyName = c.CertPath, c.CertName, c.CertKey
	return opts, nil
}
