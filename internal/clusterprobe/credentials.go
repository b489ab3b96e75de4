// Package clusterprobe probes an app cluster's API servers the way the platform uses
// them: with the platform's own credentials, listing Nodes (what fails as 4313021 when
// an add-on service needs the cluster's egress IPs) and Namespaces (the admin console's
// "is this cluster accessible" check), and asking whether the identity is cluster-admin.
// It classifies each failure into a reason an operator can act on.
package clusterprobe

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Credentials are what the platform holds for one cluster. Any combination is
// allowed, as in the platform: no CA means TLS is not verified; a client certificate
// and a token may both be sent.
type Credentials struct {
	// CA is the PEM bundle that verifies the API servers; empty: TLS not verified.
	CA []byte
	// ClientCert and ClientKey are the PEM client certificate and key.
	ClientCert, ClientKey []byte
	// Token is a bearer token.
	Token string
	// ServerName overrides the host name the serving certificate is verified for, and
	// the one sent in SNI (spec clusters' tlsServerName; platform 1.6's
	// overridden_hostname, which the platform connects with).
	ServerName string
	// VerifyName, with a CA, verifies the serving certificate for this name while SNI
	// stays the URL's host: the platform's assert_hostname set to a host name (urllib3
	// matches the certificate against it and sends the URL's host).
	VerifyName string
	// SkipHostnameCheck, with a CA, verifies the serving chain but not the name: the
	// platform's assert_hostname set to false.
	SkipHostnameCheck bool
}

// Secret keys of a cluster's credentials Secret.
const (
	KeyCA         = "ca.crt"
	KeyClientCert = "tls.crt"
	KeyClientKey  = "tls.key"
	KeyToken      = "token"
)

// CredentialsFromSecret reads a credentials Secret's data.
func CredentialsFromSecret(data map[string][]byte) Credentials {
	return Credentials{
		CA:         data[KeyCA],
		ClientCert: data[KeyClientCert],
		ClientKey:  data[KeyClientKey],
		Token:      strings.TrimSpace(string(data[KeyToken])),
	}
}

// tlsConfig builds the client TLS configuration, as the platform's client does.
func (c Credentials) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName}
	if len(c.CA) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(c.CA) {
			return nil, errors.New("the CA (ca.crt / ca_data) holds no PEM certificate")
		}
		cfg.RootCAs = pool
		if c.VerifyName != "" || c.SkipHostnameCheck {
			// Go verifies the name it sends in SNI; urllib3 can verify another one, or
			// none. Verify the chain here, for the name the platform checks.
			name := c.VerifyName
			if c.SkipHostnameCheck {
				name = ""
			}
			cfg.InsecureSkipVerify = true //nolint:gosec // verified in VerifyConnection
			cfg.VerifyConnection = func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 {
					return errors.New("the API server sent no certificate")
				}
				opts := x509.VerifyOptions{Roots: pool, DNSName: name, Intermediates: x509.NewCertPool()}
				for _, ic := range cs.PeerCertificates[1:] {
					opts.Intermediates.AddCert(ic)
				}
				_, err := cs.PeerCertificates[0].Verify(opts)
				return err
			}
		}
	} else {
		// The platform connects without verification when no CA is configured;
		// paasdiag does the same to see what the platform sees, and warns.
		cfg.InsecureSkipVerify = true //nolint:gosec // mirrors the platform, reported as a warning
	}
	// Only a certificate with its key is used, as the platform's loader uses them; one
	// without the other is ignored (ClientCertIgnored warns about it).
	if c.HasClientPair() {
		pair, err := tls.X509KeyPair(c.ClientCert, c.ClientKey)
		if err != nil {
			return nil, errors.New("the client certificate and key (tls.crt/tls.key, cert_data/key_data) do not form a valid pair")
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// HasClientPair reports whether both a client certificate and its key are set: only
// then are they used.
func (c Credentials) HasClientPair() bool {
	return len(c.ClientCert) > 0 && len(c.ClientKey) > 0
}

// HalfPair reports whether a client certificate is set without its key, or a key
// without its certificate: the platform ignores both.
func (c Credentials) HalfPair() bool {
	return (len(c.ClientCert) > 0) != (len(c.ClientKey) > 0)
}

// Empty reports whether there is no way to authenticate at all.
func (c Credentials) Empty() bool {
	return c.Token == "" && !c.HasClientPair()
}

// ClientCertNotAfter is the expiry of the client certificate that is used, if any.
func (c Credentials) ClientCertNotAfter() *time.Time {
	if !c.HasClientPair() {
		return nil
	}
	return earliestNotAfter(c.ClientCert)
}

// CANotAfter is the earliest expiry among the CA certificates, if any.
func (c Credentials) CANotAfter() *time.Time {
	return earliestNotAfter(c.CA)
}

// earliestNotAfter parses a PEM bundle and returns the earliest NotAfter.
func earliestNotAfter(bundle []byte) *time.Time {
	var earliest *time.Time
	for rest := bundle; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return earliest
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			continue
		}
		if earliest == nil || cert.NotAfter.Before(*earliest) {
			t := cert.NotAfter
			earliest = &t
		}
	}
}

// Describe says which kinds of credentials are configured, never their values.
func (c Credentials) Describe() string {
	var parts []string
	if len(c.ClientCert) > 0 {
		parts = append(parts, "client certificate")
	}
	if c.Token != "" {
		parts = append(parts, "bearer token")
	}
	if len(parts) == 0 {
		parts = append(parts, "no credentials")
	}
	if len(c.CA) == 0 {
		parts = append(parts, "no CA")
	}
	return fmt.Sprint(strings.Join(parts, ", "))
}
