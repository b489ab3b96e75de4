// Package ociregistry starts a real OCI registry on loopback for tests, behind a token
// server that enforces scopes as Docker Hub's and Harbor's do (the Docker token auth
// spec, distribution.github.io/distribution/spec/auth/token/).
//
// The registry is distribution's (github.com/distribution/distribution/v3, the
// registry Harbor runs), with in-memory storage and its token access controller:
// it answers GET /v2/ without a token with 401 and a Bearer challenge, verifies each
// bearer token's ES256 signature, issuer, audience and expiry, and requires the
// token's access list to hold pull for GET and HEAD, pull and push for PUT, POST and
// PATCH, delete for DELETE, per repository. Nothing of that is ours.
//
// The token server is ours (distribution ships none) and answers as Harbor's does
// where Docker Hub's is not observable: it serves only the registry's service (400
// for another); it checks Basic credentials and answers 401 to wrong ones; it grants
// only the requested actions the user is configured for, so a token's access may be
// narrower than the scope asked for, and it never grants delete, "*" or the catalog.
// A request without credentials gets an anonymous token with pull on
// Options.AnonymousPull's repositories only, and 401 if it names no scope (docker
// login). It serves on its own port, as Docker Hub's auth.docker.io does, so a client
// must take the realm from the challenge and cannot guess it from the registry's
// address.
//
// Used by tests only.
package ociregistry

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/sirupsen/logrus"

	// The token access controller and the in-memory storage driver register
	// themselves by name; the configuration below names them.
	_ "github.com/distribution/distribution/v3/registry/auth/token"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
)

// TokenPath is the token server's path; the realm is TokenURL.
const TokenPath = "/token"

// issuer is the token's iss, which the registry is configured to trust.
const issuer = "ociregistry-token-server"

// User is an account of the token server.
type User struct {
	// Password is checked against the Basic credentials of a token request.
	Password string
	// Pull and Push are the repositories (path.Match patterns over the full name, such
	// as "bkpaas/*" or "bkpaas/slug-app") on which the token server grants pull and
	// push. Push implies pull, as every registry's roles do (Harbor's developer,
	// Docker Hub's write), and as the registry requires for any upload.
	Pull, Push []string
}

// Options configure a registry.
type Options struct {
	// TLS serves the registry and the token server over HTTPS with a certificate for
	// 127.0.0.1, ::1 and localhost, signed by a CA made for this registry (CAPEM).
	TLS bool
	// Users are the token server's accounts, by name.
	Users map[string]User
	// AnonymousPull are the repositories (patterns as User.Pull) anyone may pull,
	// with or without credentials, as public projects.
	AnonymousPull []string
	// Service is the service name the challenge announces, the token server serves
	// and the registry accepts as a token's audience; empty: "ociregistry.test".
	Service string
}

// Request is one request a client sent to the registry or to its token server.
// PushImage's requests are not recorded: they are the test's setup, not the client's.
type Request struct {
	// Method and Path are the request's; Path is TokenPath for token requests.
	Method, Path string
	// Status is the answer's status code.
	Status int
	// User is the Basic user name of a token request ("" without credentials);
	// passwords are never kept.
	User string
	// Scope are the scope parameters of a token request, as sent.
	Scope []string
}

// Registry is a running registry and its token server.
type Registry struct {
	// URL is the registry's base URL, such as https://127.0.0.1:41234 (no /v2/).
	URL string
	// Host is URL's host:port, the registry part of an image reference.
	Host string
	// TokenURL is the token server's address, the realm of the registry's challenge.
	TokenURL string
	// Service is the service name of the challenge and of the tokens.
	Service string
	// CAPEM is the PEM of the CA that signed the serving certificate (TLS only).
	CAPEM []byte

	opts    Options
	app     *handlers.App
	servers []*http.Server
	// signKey and signCert sign tokens; the registry trusts signCert alone.
	signKey  *ecdsa.PrivateKey
	signCert *x509.Certificate

	writes   atomic.Int64
	mu       sync.Mutex
	requests []Request
}

var quietLogs sync.Once

// Start serves a registry and its token server on loopback.
func Start(opts Options) (*Registry, error) {
	// distribution logs through logrus' standard logger, a line for every refused
	// token and every 404; tests want their own output only, and Requests has each
	// answer's status.
	quietLogs.Do(func() { logrus.SetOutput(io.Discard) })

	r := &Registry{opts: opts, Service: opts.Service}
	if r.Service == "" {
		r.Service = "ociregistry.test"
	}
	regL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	tokL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = regL.Close()
		return nil, err
	}
	scheme := "http"
	if opts.TLS {
		scheme = "https"
	}
	r.Host = regL.Addr().String()
	r.URL = scheme + "://" + r.Host
	r.TokenURL = scheme + "://" + tokL.Addr().String() + TokenPath

	if err := r.newApp(); err != nil {
		_ = regL.Close()
		_ = tokL.Close()
		return nil, err
	}
	var tlsConfig *tls.Config
	if opts.TLS {
		caPEM, cert, err := servingCert()
		if err != nil {
			_ = regL.Close()
			_ = tokL.Close()
			return nil, err
		}
		r.CAPEM = caPEM
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		regL = tls.NewListener(regL, tlsConfig)
		tokL = tls.NewListener(tokL, tlsConfig)
	}
	tokenMux := http.NewServeMux()
	tokenMux.HandleFunc(TokenPath, r.serveToken)
	for _, s := range []struct {
		l net.Listener
		h http.Handler
	}{{regL, r.record(false, r.app)}, {tokL, r.record(true, tokenMux)}} {
		// ErrorLog: a client that does not trust the CA is a case tests make on purpose.
		srv := &http.Server{Handler: s.h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
		r.servers = append(r.servers, srv)
		go func() { _ = srv.Serve(s.l) }()
	}
	return r, nil
}

// newApp configures distribution's registry application: in-memory storage, token
// auth trusting only this registry's signing certificate.
func (r *Registry) newApp() (err error) {
	r.signKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	r.signCert, err = selfSigned(r.signKey, "ociregistry token signer")
	if err != nil {
		return err
	}
	// The access controller reads its root certificate bundle from a file, once,
	// when it is built.
	dir, err := os.MkdirTemp("", "ociregistry-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	bundle := filepath.Join(dir, "token-signer.pem")
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.signCert.Raw}), 0o600); err != nil {
		return err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return err
	}

	cfg := &configuration.Configuration{}
	cfg.Storage = configuration.Storage{
		"inmemory": configuration.Parameters{},
		// The upload purger is a goroutine that would outlive Close.
		"maintenance": configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}},
	}
	cfg.Auth = configuration.Auth{"token": configuration.Parameters{
		"realm":          r.TokenURL,
		"service":        r.Service,
		"issuer":         issuer,
		"rootcertbundle": bundle,
	}}
	// The secret signs upload state between requests; set, so the app does not warn.
	cfg.HTTP.Secret = hex.EncodeToString(secret)

	// NewApp panics on a configuration it refuses.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("distribution refused the configuration: %v", p)
		}
	}()
	r.app = handlers.NewApp(context.Background(), cfg)
	return nil
}

// Close stops the registry and the token server and drops every connection.
func (r *Registry) Close() {
	for _, s := range r.servers {
		_ = s.Close()
	}
	if r.app != nil {
		_ = r.app.Shutdown()
	}
}

// SetPassword changes a user's password, as an administrator rotating it does; tokens
// issued before stay valid until they expire.
func (r *Registry) SetPassword(user, password string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	users := make(map[string]User, len(r.opts.Users))
	for name, u := range r.opts.Users {
		users[name] = u
	}
	u := users[user]
	u.Password = password
	users[user] = u
	r.opts.Users = users
}

// Requests are the requests clients sent, in the order they were answered.
func (r *Registry) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.requests...)
}

// Writes counts the requests to the registry other than GET and HEAD, answered or
// refused: a read-only probe sends none.
func (r *Registry) Writes() int64 { return r.writes.Load() }

// record keeps each request with the status it was answered with.
func (r *Registry) record(token bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		if !token && req.Method != http.MethodGet && req.Method != http.MethodHead {
			r.writes.Add(1)
		}
		next.ServeHTTP(sw, req)
		q := Request{Method: req.Method, Path: req.URL.Path, Status: sw.status}
		if token {
			q.User, _, _ = req.BasicAuth()
			q.Scope = req.URL.Query()["scope"]
		}
		r.mu.Lock()
		r.requests = append(r.requests, q)
		r.mu.Unlock()
	})
}

type statusWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wroteHeader = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// selfSigned makes a self-signed CA certificate for key.
func selfSigned(key *ecdsa.PrivateKey, cn string) (*x509.Certificate, error) {
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// servingCert makes a CA and a serving certificate it signs for the loopback names.
func servingCert() ([]byte, tls.Certificate, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	ca, err := selfSigned(caKey, "ociregistry test CA")
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})
	return caPEM, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
