package registryprobe

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/testsupport/ociregistry"
)

// The S-mart registry as the platform configures it: SMART_DOCKER_NAMESPACE
// bkpaas/docker, base images slug-app and run-heroku-bionic (1.7/main), the push
// target {namespace}/{app}/{module}.
const (
	namespace = "bkpaas/docker"
	slugApp   = namespace + "/slug-app"
	cnbRun    = namespace + "/run-heroku-bionic"
	target    = namespace + "/myapp/default"

	smartPassword  = "smart-S3cret-pw"
	pullerPassword = "puller-S3cret-pw"
)

var users = map[string]ociregistry.User{
	// The platform's account: pull on the base images, push on the apps' repositories.
	"smart": {Password: smartPassword, Pull: []string{namespace + "/*"}, Push: []string{namespace + "/*/*"}},
	// An account that may only read.
	"puller": {Password: pullerPassword, Pull: []string{namespace + "/*", namespace + "/*/*"}},
}

// importRequest is what the S-mart import needs of the registry.
func importRequest() Request {
	return Request{
		Scopes: []Scope{
			{Repository: slugApp, Actions: []string{"pull"}},
			{Repository: cnbRun, Actions: []string{"pull"}},
			{Repository: target, Actions: []string{"pull", "push"}},
		},
		Manifests: []string{slugApp + ":latest", cnbRun + ":v1.0.4"},
	}
}

func startRegistry(t *testing.T, opts ociregistry.Options) *ociregistry.Registry {
	t.Helper()
	if opts.Users == nil {
		opts.Users = users
	}
	r, err := ociregistry.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	for _, ref := range [][2]string{{slugApp, "latest"}, {cnbRun, "v1.0.4"}} {
		if _, err := r.PushImage(ref[0], ref[1]); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// trusting is a client whose transport trusts the registry's test CA.
func trusting(t *testing.T, r *ociregistry.Registry) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(r.CAPEM) {
		t.Fatal("no CA")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig.RootCAs = pool
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// systemRoots is a client that trusts the system's roots only, as the platform's
// default CA bundle.
func systemRoots(t *testing.T) *http.Client {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// readOnly checks that the probe wrote nothing and sent only GETs and HEADs.
func readOnly(t *testing.T, r *ociregistry.Registry) {
	t.Helper()
	if w := r.Writes(); w != 0 {
		t.Errorf("%d writes to the registry", w)
	}
	for _, q := range r.Requests() {
		if q.Method != http.MethodGet && q.Method != http.MethodHead {
			t.Errorf("request %+v is neither GET nor HEAD", q)
		}
	}
}

// noSecrets checks that no message or note holds a password, Basic credentials or a
// token (a JWT starts with the base64 of `{"`: "eyJ").
func noSecrets(t *testing.T, res Result) {
	t.Helper()
	texts := append([]string{res.Message}, res.Notes...)
	for _, s := range texts {
		for _, secret := range []string{smartPassword, pullerPassword, "basic-S3cret", "opaque-T0ken-value", "eyJ", "Authorization"} {
			if strings.Contains(s, secret) {
				t.Errorf("%q leaks %q", s, secret)
			}
		}
		for _, u := range []string{"smart:" + smartPassword, "puller:" + pullerPassword, "u:basic-S3cret"} {
			if strings.Contains(s, base64.StdEncoding.EncodeToString([]byte(u))) {
				t.Errorf("%q leaks Basic credentials", s)
			}
		}
	}
}

func hasNote(res Result, sub string) bool {
	for _, n := range res.Notes {
		if strings.Contains(n, sub) {
			return true
		}
	}
	return false
}

func scopeStrings(scopes []Scope) []string {
	var out []string
	for _, s := range scopes {
		out = append(out, s.String())
	}
	return out
}

// Everything the import needs is granted and present: one token request with the
// import's scopes, the manifests HEADed with the Docker schema 2 Accept header.
func TestProbeAllGranted(t *testing.T) {
	r := startRegistry(t, ociregistry.Options{})
	p := Prober{Client: systemRoots(t), Now: time.Now}
	res := p.Probe(context.Background(), Registry{Host: r.URL, Username: "smart", Password: smartPassword}, importRequest())
	if !res.OK() || res.Stage != "" || res.Message != "" {
		t.Fatalf("%+v", res)
	}
	if res.Scheme != "http" || res.Auth != "Bearer" || !res.GrantedKnown || len(res.Missing) != 0 || res.TokenRefused || res.UnexpectedStatus || len(res.MissingManifests) != 0 {
		t.Errorf("%+v", res)
	}
	wantGranted := []string{"repository:" + slugApp + ":pull", "repository:" + cnbRun + ":pull", "repository:" + target + ":pull,push"}
	if got := scopeStrings(res.Granted); !reflect.DeepEqual(got, wantGranted) {
		t.Errorf("granted %v, want %v", got, wantGranted)
	}
	if !hasNote(res, "write permission can only be inferred from a token's granted scopes") {
		t.Errorf("notes %q do not say that push is only inferred", res.Notes)
	}
	var got []string
	for _, q := range r.Requests() {
		got = append(got, q.Method+" "+q.Path)
		if q.Path == ociregistry.TokenPath && (q.User != "smart" || !reflect.DeepEqual(q.Scope, scopeStrings(importRequest().Scopes))) {
			t.Errorf("token request %+v, want user smart and the import's scopes", q)
		}
	}
	want := []string{"GET /v2/", "GET /token", "HEAD /v2/" + slugApp + "/manifests/latest", "HEAD /v2/" + cnbRun + "/manifests/v1.0.4"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("requests %v, want %v", got, want)
	}
	readOnly(t, r)
	noSecrets(t, res)

	// moby's detection: the TLS handshake to the explicit port fails (plain http
	// there), so plain http on that port; the scheme prefix plays no part.
	for _, host := range []string{r.Host, "https://" + r.Host} {
		res = p.Probe(context.Background(), Registry{Host: host, Username: "smart", Password: smartPassword, DetectScheme: true}, importRequest())
		if !res.OK() || res.Scheme != "http" || !hasNote(res, "plain http on port") {
			t.Errorf("%s detected: %+v", host, res)
		}
		noSecrets(t, res)
	}
	readOnly(t, r)
}

// A wrong password: the token server refuses the token, the platform's AuthFailed,
// 4314004.
func TestProbeWrongPassword(t *testing.T) {
	r := startRegistry(t, ociregistry.Options{})
	res := Prober{Client: systemRoots(t)}.Probe(context.Background(), Registry{Host: r.URL, Username: "smart", Password: "wrong-" + smartPassword}, importRequest())
	if res.Reason != ReasonTokenRefused || res.Stage != StageToken || !res.TokenRefused || res.UnexpectedStatus || res.GrantedKnown {
		t.Fatalf("%+v", res)
	}
	if !strings.Contains(res.Message, "401 Unauthorized") || !strings.Contains(res.Message, "4314004") || !strings.Contains(res.Message, "GET "+r.TokenURL) {
		t.Errorf("message %q", res.Message)
	}
	if strings.Contains(res.Message, "wrong-") {
		t.Errorf("message %q quotes the password", res.Message)
	}
	for _, q := range r.Requests() {
		if strings.HasPrefix(q.Path, "/v2/"+namespace) {
			t.Errorf("a manifest was read after the refusal: %+v", q)
		}
	}
	readOnly(t, r)
	noSecrets(t, res)
}

// An account that may only pull: the token lacks push on the target, and the probe
// says that write permission is only inferred from the granted scopes.
func TestProbePullOnly(t *testing.T) {
	r := startRegistry(t, ociregistry.Options{AnonymousPull: []string{namespace + "/*"}})
	p := Prober{Client: systemRoots(t)}
	res := p.Probe(context.Background(), Registry{Host: r.URL, Username: "puller", Password: pullerPassword}, importRequest())
	if res.Reason != ReasonScopeNotGranted || res.Stage != StageToken || !res.GrantedKnown || res.TokenRefused {
		t.Fatalf("%+v", res)
	}
	if want := []Scope{{Repository: target, Actions: []string{"push"}}}; !reflect.DeepEqual(res.Missing, want) {
		t.Errorf("missing %+v, want %+v", res.Missing, want)
	}
	for _, sub := range []string{"repository:" + target + ":push", "write permission can only be inferred from a token's granted scopes", "PermissionDeny"} {
		if !strings.Contains(res.Message, sub) {
			t.Errorf("message %q lacks %q", res.Message, sub)
		}
	}
	noSecrets(t, res)

	// Without credentials: client_id anonymous, no Basic credentials; the public base
	// images are readable, the target neither readable nor writable.
	res = p.Probe(context.Background(), Registry{Host: r.URL}, importRequest())
	if res.Reason != ReasonScopeNotGranted || !reflect.DeepEqual(res.Missing, []Scope{{Repository: target, Actions: []string{"pull", "push"}}}) || len(res.MissingManifests) != 0 {
		t.Fatalf("anonymous: %+v", res)
	}
	reqs := r.Requests()
	if last := reqs[len(reqs)-3]; last.Path != ociregistry.TokenPath || last.User != "" || last.Status != http.StatusOK {
		t.Errorf("anonymous token request %+v", last)
	}
	readOnly(t, r)
	noSecrets(t, res)
}

// A base image that is not there: ManifestNotFound, listed; the others are still
// checked.
func TestProbeMissingManifest(t *testing.T) {
	r := startRegistry(t, ociregistry.Options{})
	req := importRequest()
	req.Manifests = []string{slugApp + ":latest-smart", cnbRun + ":v1.0.4", namespace + "/missing"}
	res := Prober{Client: systemRoots(t)}.Probe(context.Background(), Registry{Host: r.URL, Username: "smart", Password: smartPassword}, req)
	if res.Reason != ReasonManifestNotFound || res.Stage != StageManifest || res.UnexpectedStatus {
		t.Fatalf("%+v", res)
	}
	if want := []string{slugApp + ":latest-smart", namespace + "/missing:latest"}; !reflect.DeepEqual(res.MissingManifests, want) {
		t.Errorf("missing manifests %v, want %v", res.MissingManifests, want)
	}
	if !strings.Contains(res.Message, "ResourceNotFound") || !strings.Contains(res.Message, slugApp+":latest-smart") {
		t.Errorf("message %q", res.Message)
	}
	// The manifest's repository gets pull in the token request even though no scope
	// named it.
	for _, q := range r.Requests() {
		if q.Path == ociregistry.TokenPath && !strings.Contains(strings.Join(q.Scope, " "), "repository:"+namespace+"/missing:pull") {
			t.Errorf("token request %+v lacks pull on the manifest's repository", q)
		}
	}
	readOnly(t, r)
	noSecrets(t, res)
}

// An https registry whose CA the client trusts: verified, with the chain's expiry,
// whether the scheme is given or detected as moby does.
func TestProbeTLSTrusted(t *testing.T) {
	r := startRegistry(t, ociregistry.Options{TLS: true})
	p := Prober{Client: trusting(t, r)}
	for _, reg := range []Registry{
		{Host: r.Host},
		{Host: "https://" + r.Host + "/"},
		{Host: r.Host, DetectScheme: true},
	} {
		reg.Username, reg.Password = "smart", smartPassword
		res := p.Probe(context.Background(), reg, importRequest())
		if !res.OK() || res.Scheme != "https" || !res.TLSVerified || res.ServingCertificateNotAfter == nil || !res.ServingCertificateNotAfter.After(time.Now()) {
			t.Errorf("%+v: %+v", reg.Host, res)
		}
		noSecrets(t, res)
	}
	readOnly(t, r)
}

// An https registry whose CA the client does not trust.
func TestProbeTLSUntrusted(t *testing.T) {
	r := startRegistry(t, ociregistry.Options{TLS: true})
	p := Prober{Client: systemRoots(t)}
	ctx := context.Background()

	// https only: the certificate is refused.
	res := p.Probe(ctx, Registry{Host: r.Host, Username: "smart", Password: smartPassword}, importRequest())
	if res.Reason != v1alpha1.ReasonTLSUnknownAuthority || res.Stage != StagePing || res.Scheme != "https" {
		t.Errorf("verified: %+v", res)
	}
	noSecrets(t, res)

	// skip_tls_verify: neither the registry's nor the token server's certificate is
	// verified, as the builders' transport does.
	res = p.Probe(ctx, Registry{Host: r.Host, Username: "smart", Password: smartPassword, SkipTLSVerify: true}, importRequest())
	if !res.OK() || res.Scheme != "https" || res.TLSVerified || res.ServingCertificateNotAfter == nil || !hasNote(res, "skip_tls_verify") {
		t.Errorf("skip_tls_verify: %+v", res)
	}
	noSecrets(t, res)

	// moby's detection: the registry is used without verification, but the token
	// request is a plain requests.get that verifies, and this token server has the
	// same untrusted certificate.
	res = p.Probe(ctx, Registry{Host: r.Host, Username: "smart", Password: smartPassword, DetectScheme: true}, importRequest())
	if res.Reason != v1alpha1.ReasonTLSUnknownAuthority || res.Stage != StageToken || res.Scheme != "https" || res.TLSVerified || !strings.Contains(res.Message, "requests.get") || !hasNote(res, "without verifying") {
		t.Errorf("detected: %+v", res)
	}
	noSecrets(t, res)
	readOnly(t, r)
}

// moby's detection in front of a registry whose certificate is untrusted but whose
// token server is reachable (here plain http, as a separate auth host): the probe
// works over https without verification, as the platform does, and says so.
func TestProbeDetectedUntrustedCertificate(t *testing.T) {
	r := startRegistry(t, ociregistry.Options{})
	backend, err := url.Parse(r.URL)
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewTLSServer(httputil.NewSingleHostReverseProxy(backend))
	t.Cleanup(front.Close)
	host := front.Listener.Addr().String()

	p := Prober{Client: systemRoots(t)}
	res := p.Probe(context.Background(), Registry{Host: host, Username: "smart", Password: smartPassword, DetectScheme: true}, importRequest())
	if !res.OK() || res.Scheme != "https" || res.TLSVerified || res.ServingCertificateNotAfter == nil || !hasNote(res, "without verifying its certificate") {
		t.Fatalf("%+v", res)
	}
	noSecrets(t, res)
	// Without detection the same registry is refused.
	res = p.Probe(context.Background(), Registry{Host: host, Username: "smart", Password: smartPassword}, importRequest())
	if res.Reason != v1alpha1.ReasonTLSUnknownAuthority {
		t.Errorf("not detected: %+v", res)
	}
	readOnly(t, r)
}

// Nothing listens: connection refused, with or without moby's detection (which
// falls back to http after the refused handshake, and is refused again).
func TestProbeConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	p := Prober{Client: systemRoots(t)}
	for _, reg := range []Registry{
		{Host: "http://" + addr},
		{Host: addr},
		{Host: addr, DetectScheme: true},
	} {
		reg.Username, reg.Password = "smart", smartPassword
		res := p.Probe(context.Background(), reg, importRequest())
		if res.Reason != v1alpha1.ReasonConnectionRefused || res.Stage != StagePing || !strings.Contains(res.Message, "GET ") {
			t.Errorf("%s (detect %v): %+v", reg.Host, reg.DetectScheme, res)
		}
		if reg.DetectScheme && (res.Scheme != "http" || !hasNote(res, "plain http on port")) {
			t.Errorf("detected: %+v", res)
		}
		noSecrets(t, res)
	}
	res := p.Probe(context.Background(), Registry{Host: "registry.invalid:5000"}, importRequest())
	if res.Reason != v1alpha1.ReasonDNSError {
		t.Errorf("unresolvable: %+v", res)
	}
}

// basicRegistry is a registry with a Basic challenge (as some self-hosted ones are):
// /v2/ and the manifests need user u's password.
func basicRegistry(t *testing.T) (*httptest.Server, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var methods []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		methods = append(methods, req.Method+" "+req.URL.Path)
		mu.Unlock()
		if u, pw, ok := req.BasicAuth(); !ok || u != "u" || pw != "basic-S3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="Registry Realm"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch {
		case req.URL.Path == "/v2/":
			w.WriteHeader(http.StatusOK)
		case req.URL.Path == "/v2/"+slugApp+"/manifests/latest" && req.Header.Get("Accept") == ManifestMediaType:
			w.Header().Set("Content-Type", ManifestMediaType)
			w.WriteHeader(http.StatusOK)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), methods...) }
}

// A Basic challenge: the credentials are checked with an authenticated GET /v2/; a
// wrong password there is the platform's PermissionDeny (uncoded 500), not a refused
// token.
func TestProbeBasicChallenge(t *testing.T) {
	srv, methods := basicRegistry(t)
	p := Prober{Client: srv.Client()}
	req := Request{Scopes: []Scope{{Repository: target, Actions: []string{"pull", "push"}}}, Manifests: []string{slugApp + ":latest"}}
	res := p.Probe(context.Background(), Registry{Host: srv.URL, Username: "u", Password: "wrong"}, req)
	if res.Reason != v1alpha1.ReasonUnauthorized || res.Stage != StageToken || res.TokenRefused || res.Auth != "Basic" || !strings.Contains(res.Message, "PermissionDeny") {
		t.Errorf("wrong password: %+v", res)
	}
	res = p.Probe(context.Background(), Registry{Host: srv.URL, Username: "u", Password: "basic-S3cret"}, req)
	if !res.OK() || res.Auth != "Basic" || res.GrantedKnown || !hasNote(res, "write permission can only be inferred") {
		t.Errorf("right password: %+v", res)
	}
	noSecrets(t, res)
	for _, m := range methods() {
		if !strings.HasPrefix(m, "GET ") && !strings.HasPrefix(m, "HEAD ") {
			t.Errorf("sent %s", m)
		}
	}
}

// The token request is the platform's (auth.py :142-156): service from the challenge,
// client_id, offline_token=True, Basic credentials; an opaque token is used as is, and
// what it grants is then unknown.
func TestTokenRequestAndOpaqueToken(t *testing.T) {
	var mu sync.Mutex
	var query url.Values
	var tokenAuth string
	tokenSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		query, tokenAuth = req.URL.Query(), req.Header.Get("Authorization")
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"opaque-T0ken-value","expires_in":300}`))
	}))
	t.Cleanup(tokenSrv.Close)
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("Authorization") != "Bearer opaque-T0ken-value" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+tokenSrv.URL+`/auth",service="harbor-registry"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(reg.Close)

	res := Prober{Client: reg.Client()}.Probe(context.Background(), Registry{Host: reg.URL, Username: "smart", Password: smartPassword}, importRequest())
	if !res.OK() || res.GrantedKnown || res.Granted != nil || !hasNote(res, "opaque") || !hasNote(res, "write permission can only be inferred") {
		t.Fatalf("%+v", res)
	}
	mu.Lock()
	defer mu.Unlock()
	want := url.Values{
		"service":       {"harbor-registry"},
		"scope":         scopeStrings(importRequest().Scopes),
		"client_id":     {"smart"},
		"offline_token": {"True"},
	}
	if !reflect.DeepEqual(query, want) {
		t.Errorf("token query %v, want %v", query, want)
	}
	if tokenAuth != "Basic "+base64.StdEncoding.EncodeToString([]byte("smart:"+smartPassword)) {
		t.Errorf("token request Authorization is not the Basic credentials")
	}
	noSecrets(t, res)
}

// Challenges the platform cannot answer, and a 5xx (RequestErrorWithResponse, 4314004).
func TestProbeUnsupportedAndUnexpected(t *testing.T) {
	for _, c := range []struct {
		name, challenge string
		status          int
		reason          string
		unexpected      bool
	}{
		{"no header", "", 401, ReasonUnsupportedChallenge, false},
		{"other scheme", `Negotiate abc==`, 401, ReasonUnsupportedChallenge, false},
		{"bearer without service", `Bearer realm="http://127.0.0.1:1/token"`, 401, ReasonUnsupportedChallenge, false},
		{"server error", "", 502, v1alpha1.ReasonServerError, true},
		{"forbidden", "", 403, v1alpha1.ReasonForbidden, false},
		{"not a registry", "", 404, ReasonNotFound, false},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if c.challenge != "" {
				w.Header().Set("WWW-Authenticate", c.challenge)
			}
			w.WriteHeader(c.status)
			_, _ = w.Write([]byte("upstream says no"))
		}))
		res := Prober{Client: srv.Client()}.Probe(context.Background(), Registry{Host: srv.URL, Username: "smart", Password: smartPassword}, importRequest())
		srv.Close()
		if res.Reason != c.reason || res.UnexpectedStatus != c.unexpected || res.Stage != StagePing && res.Stage != StageToken {
			t.Errorf("%s: %+v", c.name, res)
		}
		if c.unexpected && !strings.Contains(res.Message, "upstream says no") {
			t.Errorf("%s: message %q lacks the answer's text (the platform's message)", c.name, res.Message)
		}
		noSecrets(t, res)
	}
}

func TestProbeInvalidReference(t *testing.T) {
	for _, c := range []struct {
		host string
		req  Request
	}{
		{"ftp://registry", importRequest()},
		{"registry:http", importRequest()},
		{"registry", Request{Manifests: []string{"Bad/Name:tag"}}},
		{"registry", Request{Scopes: []Scope{{Repository: "a//b", Actions: []string{"pull"}}}}},
	} {
		if res := (Prober{}).Probe(context.Background(), Registry{Host: c.host}, c.req); res.Reason != ReasonInvalidReference {
			t.Errorf("%q %+v: %+v", c.host, c.req, res)
		}
	}
}

func TestParseChallenges(t *testing.T) {
	for _, c := range []struct {
		name, header string
		want         []Challenge
	}{
		{"empty", "", nil},
		{"distribution's /v2/", `Bearer realm="https://auth.example.com/token",service="registry.example.com"`,
			[]Challenge{{Scheme: "bearer", Params: map[string]string{"realm": "https://auth.example.com/token", "service": "registry.example.com"}}}},
		{"comma inside a quoted scope", `Bearer realm="https://t/token",service="s",scope="repository:bkpaas/docker/app/m:pull,push"`,
			[]Challenge{{Scheme: "bearer", Params: map[string]string{"realm": "https://t/token", "service": "s", "scope": "repository:bkpaas/docker/app/m:pull,push"}}}},
		{"multiple scopes, spaces after commas", `Bearer realm="r", service="s", scope="repository:a:pull repository:b/c:pull,push"`,
			[]Challenge{{Scheme: "bearer", Params: map[string]string{"realm": "r", "service": "s", "scope": "repository:a:pull repository:b/c:pull,push"}}}},
		{"two challenges, comma in a realm", `Basic realm="a, b", Bearer realm="https://t/token",service="s"`,
			[]Challenge{
				{Scheme: "basic", Params: map[string]string{"realm": "a, b"}},
				{Scheme: "bearer", Params: map[string]string{"realm": "https://t/token", "service": "s"}},
			}},
		{"case and unquoted tokens", `BEARER Realm=r,Service=s`,
			[]Challenge{{Scheme: "bearer", Params: map[string]string{"realm": "r", "service": "s"}}}},
		{"escaped quote", `Basic realm="say \"hi\""`,
			[]Challenge{{Scheme: "basic", Params: map[string]string{"realm": `say "hi"`}}}},
		{"token68 then another challenge", `Negotiate abc/def==, Basic realm="x"`,
			[]Challenge{
				{Scheme: "negotiate", Params: map[string]string{}, Token68: "abc/def=="},
				{Scheme: "basic", Params: map[string]string{"realm": "x"}},
			}},
		{"scheme without params", `Bearer, Basic realm="x"`,
			[]Challenge{
				{Scheme: "bearer", Params: map[string]string{}},
				{Scheme: "basic", Params: map[string]string{"realm": "x"}},
			}},
		{"unterminated quote", `Bearer realm="r`,
			[]Challenge{{Scheme: "bearer", Params: map[string]string{"realm": "r"}}}},
	} {
		if got := ParseChallenges(c.header); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: ParseChallenges(%q) = %+v, want %+v", c.name, c.header, got, c.want)
		}
	}
}

func TestParseScopes(t *testing.T) {
	for _, c := range []struct {
		param string
		want  []Scope
	}{
		{"repository:a:pull repository:b/c:pull,push", []Scope{{"a", []string{"pull"}}, {"b/c", []string{"pull", "push"}}}},
		{"repository:127.0.0.1:5000/foo:pull,push", []Scope{{"127.0.0.1:5000/foo", []string{"pull", "push"}}}},
		{"registry:catalog:* repository:x:", []Scope{{"x", nil}}},
		{"", nil},
	} {
		if got := ParseScopes(c.param); !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseScopes(%q) = %+v, want %+v", c.param, got, c.want)
		}
	}
	if s := (Scope{Repository: "a/b", Actions: []string{"pull", "push"}}).String(); s != "repository:a/b:pull,push" {
		t.Errorf("String() = %q", s)
	}
}

// go-containerregistry's addresses that may be plain http (name.Registry.Scheme).
func TestGGCRMayUseHTTP(t *testing.T) {
	for _, tt := range []struct {
		host, port string
		want       bool
	}{
		{"10.1.2.3", "", true}, {"172.16.0.1", "5000", true}, {"172.32.0.1", "", false}, {"192.168.1.1", "", true},
		{"127.0.0.1", "5000", true}, {"::1", "", true}, {"localhost", "5000", true}, {"localhost", "", false},
		{"registry.localhost", "", true}, {"registry.example.com", "", false}, {"8.8.8.8", "", false},
	} {
		if got := ggcrMayUseHTTP(tt.host, tt.port); got != tt.want {
			t.Errorf("%s:%s: %v, want %v", tt.host, tt.port, got, tt.want)
		}
	}
}
