// Package registryprobe is a read-only probe of a Docker Registry HTTP API v2 as the
// platform's S-mart import and its app image builds use it, with the platform's own
// credentials.
//
// The S-mart import talks to SMART_DOCKER_REGISTRY_ADDR through moby-distribution's
// DockerRegistryV2Client (vendored in 1.7/main as paasng/utils/moby_distribution;
// the PyPI package 0.8.2 in 1.6):
//
//   - scheme detection (spec/endpoint.py is_secure_repository :78-107): a bare TLS
//     handshake to host:port (port 443 when the address names none); a certificate
//     the CA bundle refuses (CERTIFICATE_VERIFY_FAILED) gives https without
//     verification, provided a ping (GET /v2/, authenticating if challenged) works
//     (registry/client.py :58-70); any other TLS or OS error gives plain http, on port
//     80 when the address names none (:71-79, endpoint.py :118-123); a socket timeout is
//     re-raised (:103-104);
//   - GET /v2/{base}/manifests/{tag} with Accept: the Docker schema 2 manifest type;
//   - on 401, the WWW-Authenticate challenge: Basic just sends the credentials; Bearer
//     asks GET {realm}?service=&scope=<the challenge's>&client_id=&offline_token=
//     with Basic credentials (registry/auth.py :132-163), a non-200 answer being
//     AuthFailed, the import's 4314004; a second 401 or a 403 is PermissionDeny and a
//     404 ResourceNotFound, uncoded HTTP 500s; another non-OK status is
//     RequestErrorWithResponse, 4314004 (registry/client.py :161-194);
//   - then the push to {namespace}/{app}/{module}, whose first request is a POST
//     (blob mount), needing pull and push on that repository.
//
// The probe makes the same reads and none of the writes: GET /v2/, one token request
// asking for the scopes the import needs (pull on the base repositories, pull and
// push on a target), and HEAD of each base manifest. Every request is a GET or a
// HEAD. Write permission can therefore only be inferred from the access the token
// server says the token grants; no registry confirms it before a write.
//
// moby-distribution caches its https detection per apiserver process
// (endpoint.py :26-40, with index.docker.io, registry.hub.docker.com and quay.io
// pre-seeded as valid https): the probe detects afresh, so after a change of the
// registry's TLS the running apiserver may still use the scheme it found first.
package registryprobe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/clusterprobe"
	"github.com/paasdiag/paasdiag/internal/httpprobe"
)

// Reasons beyond httpprobe's.
const (
	// ReasonTokenRefused: the token server answered a status other than 200 to the
	// token request (wrong user or password, usually): moby-distribution's AuthFailed,
	// which the S-mart import reports as 4314004.
	ReasonTokenRefused = "TokenRefused"
	// ReasonScopeNotGranted: the token server issued a token whose access lacks an
	// action asked for (push on the target, usually). The registry then answers 401
	// to the request that needs it, and the platform's retry with a new token gets
	// the same access: PermissionDeny, an uncoded HTTP 500 in the S-mart import.
	ReasonScopeNotGranted = "ScopeNotGranted"
	// ReasonManifestNotFound: a base image manifest answers 404: ResourceNotFound, an
	// uncoded HTTP 500 in the S-mart import.
	ReasonManifestNotFound = "ManifestNotFound"
	// ReasonUnsupportedChallenge: a 401 without a WWW-Authenticate header, with
	// neither a Basic nor a Bearer challenge, or a Bearer challenge without realm or
	// service. The platform fails with an uncoded HTTP 500 (KeyError,
	// NotImplementedError or AssertionError in registry/client.py :170 and
	// registry/auth.py :122-126, :178).
	ReasonUnsupportedChallenge = "UnsupportedChallenge"
	// ReasonInvalidTokenResponse: the token server answered 200 with something that
	// is not JSON or holds neither token nor access_token (the platform: an uncoded
	// HTTP 500).
	ReasonInvalidTokenResponse = "InvalidTokenResponse"
	// ReasonInvalidReference: the registry address, a scope's repository or a
	// manifest reference cannot be parsed; nothing was called.
	ReasonInvalidReference = "InvalidReference"
	// ReasonNotFound is httpprobe's: /v2/ answers 404 (no registry API there).
	ReasonNotFound = httpprobe.ReasonNotFound
)

// Stages of Result.Stage.
const (
	// StagePing is GET /v2/ without credentials (and moby's scheme detection).
	StagePing = "ping"
	// StageToken is authentication: the Bearer token request, or with a Basic
	// challenge the authenticated GET /v2/; ScopeNotGranted is reported here too.
	StageToken = "token"
	// StageManifest is the HEAD of the base manifests.
	StageManifest = "manifest"
)

// ManifestMediaType is the only manifest type the platform accepts (moby-distribution
// registry/resources/manifests.py get :60-69): Docker image manifest v2, schema 2.
const ManifestMediaType = "application/vnd.docker.distribution.manifest.v2+json"

// inferredOnly is said wherever a push permission is reported.
const inferredOnly = "write permission can only be inferred from a token's granted scopes: the probe never writes"

// Registry is a registry as the platform has it configured.
type Registry struct {
	// Host is SMART_DOCKER_REGISTRY_ADDR or an app image registry's host: "host[:port]",
	// possibly with a scheme prefix ("https://host:port") and a path.
	Host               string
	Username, Password string
	// SkipTLSVerify is the app image registry's skip_tls_verify column (per cluster
	// registry): https without certificate verification, for the registry and its
	// token server alike (the builders' transport).
	SkipTLSVerify bool
	// DetectScheme is moby-distribution's is_secure_repository behaviour, as the
	// S-mart import uses it; a scheme prefix of Host is then ignored, as moby's URL
	// regex drops it. False: https only (verified unless SkipTLSVerify), unless Host
	// starts with http://.
	DetectScheme bool
	// HTTPFallback is go-containerregistry's rule, which the builders (kaniko, the CNB
	// lifecycle) follow without DetectScheme: for an RFC 1918 or loopback address,
	// localhost or *.localhost, https first and plain http when the registry does not
	// speak TLS (name.Registry.Scheme, transport.ping in v0.22.1).
	HTTPFallback bool
}

// Scope is a repository scope of a token request: "repository:<name>:<a,b>".
type Scope struct {
	Repository string
	Actions    []string
}

// String is the scope as the Docker token spec writes it.
func (s Scope) String() string {
	return "repository:" + s.Repository + ":" + strings.Join(s.Actions, ",")
}

// Request is what to check on one registry.
type Request struct {
	// Scopes are asked for in one token request (pull on the base repositories, pull
	// and push on the target). Pull on the repository of each manifest is added when
	// missing, as the platform's read of that manifest would ask for it.
	Scopes []Scope
	// Manifests are "repo:tag" (or "repo@digest", or "repo" for latest) to HEAD: the
	// base images.
	Manifests []string
}

// Result is what probing one registry found.
type Result struct {
	// Reason and Message are "" when every step succeeded.
	Reason, Message string
	// Stage is where the probe stopped or failed: StagePing, StageToken, StageManifest
	// ("" when every step succeeded).
	Stage string
	// Scheme is "https" or "http" as used for the registry.
	Scheme string
	// TLSVerified is false when https was used without verifying the certificate
	// (SkipTLSVerify, or moby's detection found a certificate the CA bundle refuses).
	TLSVerified bool
	// Auth is the scheme the registry challenged with: "Bearer", "Basic" or "none".
	Auth string
	// TokenRefused: the token server answered non-200, the platform's AuthFailed →
	// 4314004.
	TokenRefused bool
	// UnexpectedStatus: a non-OK status other than 401/403/404, the platform's
	// RequestErrorWithResponse → 4314004.
	UnexpectedStatus bool
	// Granted is the token's access (its JWT payload's "access" claim), nil if the
	// token is opaque or there is no token; GrantedKnown says whether it was read.
	Granted      []Scope
	GrantedKnown bool
	// Missing are the actions asked for but not granted (only when GrantedKnown).
	Missing []Scope
	// MissingManifests are the manifests that answered 404.
	MissingManifests []string
	// ServingCertificateNotAfter is the earliest NotAfter of the registry's https chain.
	ServingCertificateNotAfter *time.Time
	// Notes are facts that are not failures but qualify the result (an unverified
	// certificate accepted, write permission only inferred, an opaque token).
	Notes []string
}

// OK says whether every step succeeded.
func (r Result) OK() bool { return r.Reason == "" }

// Prober probes registries with one HTTP client whose transport carries the CA
// roots the platform trusts (the system's, or a test CA). For SkipTLSVerify, or the
// certificate moby's detection finds invalid, the transport is cloned with
// InsecureSkipVerify; a transport that is not an *http.Transport is then replaced by
// a default one.
type Prober struct {
	Client *http.Client
	Now    func() time.Time
}

// endpoint is Registry.Host parsed.
type endpoint struct {
	scheme   string // "http", "https" or "" (none given)
	hostname string // without brackets
	port     string // "" when none given
	path     string // "" or "/prefix"
}

var (
	repoName = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$`)
	tagName  = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	digestRe = regexp.MustCompile(`^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[A-Za-z0-9=_-]+$`)
)

// parseHost reads "host[:port]", "scheme://host[:port][/path]", dropping user info
// (never shown). IPv6 addresses are bracketed.
func parseHost(h string) (endpoint, error) {
	var e endpoint
	rest := strings.TrimSpace(h)
	if scheme, after, ok := strings.Cut(rest, "://"); ok {
		e.scheme = strings.ToLower(scheme)
		if e.scheme != "http" && e.scheme != "https" {
			return e, fmt.Errorf("scheme %q is neither http nor https", scheme)
		}
		rest = after
	}
	hostport := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		hostport, e.path = rest[:i], rest[i:]
		if j := strings.IndexAny(e.path, "?#"); j >= 0 {
			e.path = e.path[:j]
		}
		e.path = strings.TrimRight(e.path, "/")
	}
	if i := strings.LastIndexByte(hostport, '@'); i >= 0 {
		hostport = hostport[i+1:]
	}
	switch {
	case strings.HasPrefix(hostport, "["):
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return e, errors.New("unterminated IPv6 address")
		}
		e.hostname = hostport[1:end]
		if tail := hostport[end+1:]; tail != "" {
			if !strings.HasPrefix(tail, ":") {
				return e, errors.New("garbage after the IPv6 address")
			}
			e.port = tail[1:]
		}
	case strings.Count(hostport, ":") == 1:
		e.hostname, e.port, _ = strings.Cut(hostport, ":")
	default:
		e.hostname = hostport
	}
	if e.hostname == "" || strings.ContainsAny(e.hostname, " \t") {
		return e, errors.New("no host name")
	}
	if e.port != "" {
		if n, err := strconv.Atoi(e.port); err != nil || n <= 0 || n > 65535 {
			return e, fmt.Errorf("port %q is not a port number", e.port)
		}
	}
	return e, nil
}

// base is scheme://host[:port]path; port "" leaves the scheme's default.
func (e endpoint) base(scheme, port string) string {
	host := e.hostname
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host + e.path
}

// splitReference splits "repo:tag", "repo@digest" or "repo" (tag latest).
func splitReference(ref string) (repo, reference string, err error) {
	if r, d, ok := strings.Cut(ref, "@"); ok {
		if !digestRe.MatchString(d) {
			return "", "", fmt.Errorf("%q: %q is not a digest", ref, d)
		}
		repo, reference = r, d
	} else {
		repo, reference = ref, "latest"
		if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
			repo, reference = ref[:i], ref[i+1:]
		}
		if !tagName.MatchString(reference) {
			return "", "", fmt.Errorf("%q: %q is not a tag", ref, reference)
		}
	}
	if !repoName.MatchString(repo) {
		return "", "", fmt.Errorf("%q: %q is not a repository name", ref, repo)
	}
	return repo, reference, nil
}

// run is one probe's state.
type run struct {
	p        Prober
	ctx      context.Context
	reg      Registry
	res      *Result
	verified *http.Client // the platform's CA roots
	registry *http.Client // for the registry: verified or insecure
	token    *http.Client // for the token server
	// authorization is the Authorization header value sent to the registry once
	// authenticated ("" before, or without credentials); it is never put in a message.
	authorization string
	authed        bool
	// tokenCall names the token request ("GET realm"), for messages.
	tokenCall string
	// missingCalls name the manifest HEADs that answered 404.
	missingCalls []string
	secrets      []string
	// cleanup closes the idle connections of cloned transports.
	cleanup []func()
}

// Probe checks r: GET /v2/, authentication (one token request for req's scopes, or
// the Basic credentials), then a HEAD of each manifest. The context bounds it all.
func (p Prober) Probe(ctx context.Context, r Registry, req Request) Result {
	res := Result{}
	rn := &run{p: p, ctx: ctx, reg: r, res: &res, verified: p.Client}
	if rn.verified == nil {
		rn.verified = http.DefaultClient
	}
	rn.secrets = []string{r.Password}
	if r.Username != "" || r.Password != "" {
		rn.secrets = append(rn.secrets, base64.StdEncoding.EncodeToString([]byte(r.Username+":"+r.Password)))
	}
	defer func() {
		for _, f := range rn.cleanup {
			f()
		}
		res.Message = rn.redact(res.Message)
		for i := range res.Notes {
			res.Notes[i] = rn.redact(res.Notes[i])
		}
		if res.Reason == "" {
			res.Message, res.Stage = "", ""
		}
	}()

	ep, err := parseHost(r.Host)
	if err != nil {
		res.Reason, res.Stage = ReasonInvalidReference, StagePing
		res.Message = fmt.Sprintf("registry address %q cannot be parsed: %v", redactURL(r.Host), err)
		return res
	}
	scopes, manifests, err := plan(req)
	if err != nil {
		res.Reason, res.Stage = ReasonInvalidReference, StagePing
		res.Message = err.Error()
		return res
	}

	base, ok := rn.chooseScheme(ep)
	if !ok {
		return res
	}
	v2 := base + "/v2/"
	if !rn.ping(v2, scopes) {
		return res
	}
	rn.manifests(base, manifests, scopes)
	rn.finish(scopes)
	return res
}

// plan validates the request and adds pull on each manifest's repository.
func plan(req Request) ([]Scope, [][2]string, error) {
	var scopes []Scope
	for _, s := range req.Scopes {
		if !repoName.MatchString(s.Repository) {
			return nil, nil, fmt.Errorf("scope repository %q is not a repository name", s.Repository)
		}
		scopes = append(scopes, Scope{Repository: s.Repository, Actions: slices.Clone(s.Actions)})
	}
	var manifests [][2]string
	for _, m := range req.Manifests {
		repo, ref, err := splitReference(m)
		if err != nil {
			return nil, nil, fmt.Errorf("manifest reference %v", err)
		}
		manifests = append(manifests, [2]string{repo, ref})
		covered := false
		for _, s := range scopes {
			if s.Repository == repo && slices.Contains(s.Actions, "pull") {
				covered = true
			}
		}
		if !covered {
			scopes = append(scopes, Scope{Repository: repo, Actions: []string{"pull"}})
		}
	}
	return scopes, manifests, nil
}

// insecure clones the client's transport with InsecureSkipVerify.
func (rn *run) insecure() *http.Client {
	var t *http.Transport
	switch tr := rn.verified.Transport.(type) {
	case nil:
		t = http.DefaultTransport.(*http.Transport).Clone()
	case *http.Transport:
		t = tr.Clone()
	default:
		t = http.DefaultTransport.(*http.Transport).Clone()
	}
	cfg := &tls.Config{}
	if t.TLSClientConfig != nil {
		cfg = t.TLSClientConfig.Clone()
	}
	cfg.InsecureSkipVerify = true //nolint:gosec // the platform's own choice (skip_tls_verify, or moby's verify=False), reported in Result.TLSVerified
	t.TLSClientConfig = cfg
	rn.cleanup = append(rn.cleanup, t.CloseIdleConnections)
	c := *rn.verified
	c.Transport = t
	return &c
}

// tlsConfig is the TLS configuration of the client's transport, with its CA roots
// (nil RootCAs: the system's).
func (rn *run) tlsConfig() *tls.Config {
	t, _ := rn.verified.Transport.(*http.Transport)
	if rn.verified.Transport == nil {
		t = http.DefaultTransport.(*http.Transport)
	}
	if t != nil && t.TLSClientConfig != nil {
		return t.TLSClientConfig.Clone()
	}
	return &tls.Config{}
}

// handshake is a TLS handshake with addr, verifying the certificate for hostname.
func (rn *run) handshake(addr, hostname string) (*tls.Conn, error) {
	cfg := rn.tlsConfig()
	cfg.ServerName = hostname
	cfg.InsecureSkipVerify = false
	conn, err := rn.handshakeWith(addr, cfg)
	if err == nil {
		_ = conn.Close()
	}
	return conn, err
}

// handshakeWith dials as the client's transport dials (the caller's resolution of the
// host, the platform pod's hostAliases and namespace, applies) and shakes hands.
func (rn *run) handshakeWith(addr string, cfg *tls.Config) (*tls.Conn, error) {
	dial := (&net.Dialer{}).DialContext
	if t, ok := rn.verified.Transport.(*http.Transport); ok && t.DialContext != nil {
		dial = t.DialContext
	}
	raw, err := dial(rn.ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	conn := tls.Client(raw, cfg)
	if err := conn.HandshakeContext(rn.ctx); err != nil {
		_ = raw.Close()
		return nil, err
	}
	return conn, nil
}

// isNotTLS: the server answered, but not with TLS (a plain-http registry).
func isNotTLS(err error) bool {
	var rh tls.RecordHeaderError
	return errors.As(err, &rh)
}

// ggcrMayUseHTTP is go-containerregistry's name.Registry.Scheme() == "http" (v0.22.1
// pkg/name/registry.go): an RFC 1918 address, localhost:<port>, *.localhost, 127.0.0.1
// or ::1.
func ggcrMayUseHTTP(hostname, port string) bool {
	if ip := net.ParseIP(hostname); ip != nil {
		for _, cidr := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"} {
			if _, block, _ := net.ParseCIDR(cidr); block.Contains(ip) {
				return true
			}
		}
		return hostname == "127.0.0.1" || hostname == "::1"
	}
	return (hostname == "localhost" && port != "") || strings.HasSuffix(hostname, ".localhost")
}

// chooseScheme picks the registry's base URL and clients as the platform would.
func (rn *run) chooseScheme(ep endpoint) (string, bool) {
	res := rn.res
	rn.registry, rn.token = rn.verified, rn.verified
	if !rn.reg.DetectScheme && rn.reg.HTTPFallback && ep.scheme == "" && ggcrMayUseHTTP(ep.hostname, ep.port) {
		// https unless the registry does not speak TLS at all (a certificate it
		// fails on fails the https ping; the http ping of a TLS server fails too).
		port := ep.port
		if port == "" {
			port = "443"
		}
		if _, err := rn.handshake(net.JoinHostPort(ep.hostname, port), ep.hostname); err != nil && isNotTLS(err) {
			httpPort := ep.port
			if httpPort == "" {
				httpPort = "80"
			}
			res.Scheme = "http"
			res.Notes = append(res.Notes, fmt.Sprintf("%s does not speak TLS; as go-containerregistry does for a private address, the registry is used over plain http", ep.hostname))
			return ep.base("http", httpPort), true
		}
	}
	if !rn.reg.DetectScheme {
		res.Scheme = ep.scheme
		if res.Scheme == "" {
			res.Scheme = "https"
		}
		res.TLSVerified = res.Scheme == "https"
		if rn.reg.SkipTLSVerify {
			// The builders' transport skips verification for every request of the
			// registry, token requests included.
			rn.registry = rn.insecure()
			rn.token = rn.registry
			if res.Scheme == "https" {
				res.TLSVerified = false
				res.Notes = append(res.Notes, "skip_tls_verify is set: the registry's and the token server's certificates are not verified")
			}
		}
		return ep.base(res.Scheme, ep.port), true
	}

	// moby-distribution: a bare TLS handshake decides (endpoint.py :85-107). The URL's
	// scheme plays no part.
	port := ep.port
	if port == "" {
		port = "443"
	}
	addr := net.JoinHostPort(ep.hostname, port)
	conn, err := rn.handshake(addr, ep.hostname)
	if err == nil {
		state := conn.ConnectionState()
		res.ServingCertificateNotAfter = clusterprobe.ChainNotAfter(&state)
		_ = conn.Close()
		res.Scheme, res.TLSVerified = "https", true
		return ep.base("https", port), true
	}
	var netErr net.Error
	switch {
	case isVerifyError(err):
		// (https, invalid certificate): moby uses https with verify=False if its ping
		// works (client.py :58-70). The token request is a plain requests.get with
		// the default verification (auth.py :156), so the token server's certificate
		// must still be valid.
		res.Scheme, res.TLSVerified = "https", false
		rn.registry = rn.insecure()
		res.Notes = append(res.Notes, fmt.Sprintf(
			"TLS handshake with %s: the certificate is not trusted (%v); as moby-distribution does, the registry is used over https without verifying its certificate (the token server's certificate is still verified)",
			addr, shortTLSError(err)))
		return ep.base("https", port), true
	case rn.ctx.Err() != nil || (errors.As(err, &netErr) && netErr.Timeout()):
		res.Reason, res.Stage = v1alpha1.ReasonTimeout, StagePing
		res.Message = fmt.Sprintf("TLS handshake with %s: no answer within the timeout; moby-distribution re-raises the socket timeout of its https detection (endpoint.py :103-104): an uncoded HTTP 500", addr)
		return "", false
	}
	httpPort := ep.port
	if httpPort == "" {
		httpPort = "80"
	}
	res.Scheme = "http"
	res.Notes = append(res.Notes, fmt.Sprintf(
		"TLS handshake with %s failed (%s); as moby-distribution does, the registry is used over plain http on port %s",
		addr, shortTLSError(err), httpPort))
	return ep.base("http", httpPort), true
}

func isVerifyError(err error) bool {
	var verr *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	return errors.As(err, &verr) || errors.As(err, &unknownAuthority) || errors.As(err, &hostname) || errors.As(err, &invalid)
}

// shortTLSError drops net's "dial tcp ..." prefix chain to the cause.
func shortTLSError(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}

// do sends one GET or HEAD (nothing else is ever sent).
func (rn *run) do(c *http.Client, method, target, authorization string, header http.Header) (*http.Response, []byte, error) {
	if method != http.MethodGet && method != http.MethodHead {
		panic("registryprobe: only GET and HEAD are sent")
	}
	req, err := http.NewRequestWithContext(rn.ctx, method, target, nil)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, body, nil
}

// transportFailure records a connection or TLS error.
func (rn *run) transportFailure(stage string, err error, call, whose string) {
	rn.res.Reason, rn.res.Message = httpprobe.Transport(rn.ctx, err, call, whose)
	rn.res.Stage = stage
}

// ping is GET /v2/ without credentials, then authentication if challenged.
func (rn *run) ping(v2 string, scopes []Scope) bool {
	res := rn.res
	call := "GET " + v2
	resp, body, err := rn.do(rn.registry, http.MethodGet, v2, "", nil)
	if err != nil {
		rn.transportFailure(StagePing, err, call, "the registry's")
		if res.Scheme == "https" && !res.TLSVerified && rn.reg.DetectScheme {
			res.Message += "; moby-distribution's ping fails the same way and it falls back to plain http on the same port"
		}
		return false
	}
	if resp.TLS != nil && res.ServingCertificateNotAfter == nil {
		res.ServingCertificateNotAfter = clusterprobe.ChainNotAfter(resp.TLS)
	}
	switch {
	case resp.StatusCode/100 == 2:
		res.Auth = "none"
		return true
	case resp.StatusCode == http.StatusUnauthorized:
		return rn.authenticate(v2, resp, scopes, StageToken)
	}
	rn.statusFailure(StagePing, resp, body, call)
	if resp.StatusCode == http.StatusNotFound {
		res.Message += ": no Docker Registry v2 API at this address"
	}
	return false
}

// statusFailure records a non-OK answer other than a 401 being handled.
func (rn *run) statusFailure(stage string, resp *http.Response, body []byte, call string) {
	res := rn.res
	res.Reason, res.Message = httpprobe.Status(resp.StatusCode, call)
	res.Stage = stage
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		res.Message += " (the platform: PermissionDeny, an uncoded HTTP 500)"
	case http.StatusNotFound:
		res.Message += " (the platform: ResourceNotFound, an uncoded HTTP 500)"
	default:
		res.UnexpectedStatus = true
		res.Message += " (the platform: RequestErrorWithResponse, 4314004 in the S-mart import"
		if snippet := bodySnippet(body); snippet != "" {
			res.Message += ", with the answer's text: " + snippet
		}
		res.Message += ")"
	}
}

func bodySnippet(body []byte) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// authenticate answers a 401 to target as the platform would: Basic if the header
// has a Basic challenge (UniversalAuthentication checks "basic" first, auth.py
// :172-177), else Bearer.
func (rn *run) authenticate(target string, resp *http.Response, scopes []Scope, stage string) bool {
	res := rn.res
	rn.authed = true
	call := "GET " + target
	values := resp.Header.Values("Www-Authenticate")
	if len(values) == 0 {
		res.Reason, res.Stage = ReasonUnsupportedChallenge, stage
		res.Message = call + ": 401 without a WWW-Authenticate header: the platform cannot authenticate (KeyError in moby-distribution's client.py :170, an uncoded HTTP 500)"
		return false
	}
	challenges := ParseChallenges(strings.Join(values, ", "))
	if _, ok := find(challenges, "basic"); ok {
		res.Auth = "Basic"
		return rn.basic(target)
	}
	bearer, ok := find(challenges, "bearer")
	if !ok {
		res.Reason, res.Stage = ReasonUnsupportedChallenge, stage
		res.Message = fmt.Sprintf("%s: 401 with a challenge that is neither Basic nor Bearer (%q): the platform raises NotImplementedError (auth.py :178), an uncoded HTTP 500", call, schemes(challenges))
		return false
	}
	res.Auth = "Bearer"
	return rn.bearer(target, bearer, scopes)
}

func schemes(cs []Challenge) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Scheme)
	}
	return strings.Join(out, ",")
}

// basic checks the credentials with an authenticated GET /v2/.
func (rn *run) basic(target string) bool {
	res := rn.res
	rn.authorization = "Basic " + base64.StdEncoding.EncodeToString([]byte(rn.reg.Username+":"+rn.reg.Password))
	v2 := target
	if !strings.HasSuffix(v2, "/v2/") {
		if i := strings.Index(v2, "/v2/"); i >= 0 {
			v2 = v2[:i+len("/v2/")]
		}
	}
	call := "GET " + v2 + " with Basic credentials"
	resp, body, err := rn.do(rn.registry, http.MethodGet, v2, rn.authorization, nil)
	if err != nil {
		rn.transportFailure(StageToken, err, call, "the registry's")
		return false
	}
	res.Notes = append(res.Notes, "the registry uses Basic authentication: there is no token whose scopes would show what may be pushed; "+inferredOnly)
	if resp.StatusCode/100 == 2 {
		return true
	}
	rn.statusFailure(StageToken, resp, body, call)
	if resp.StatusCode == http.StatusUnauthorized {
		res.Message = fmt.Sprintf("%s: 401 Unauthorized: the registry refuses user %q's credentials; with a Basic challenge the platform sends them with the retried request and a second 401 is PermissionDeny, an uncoded HTTP 500 (not 4314004)", call, rn.reg.Username)
	}
	return false
}

// tokenResponse is the token server's answer (Docker token spec).
type tokenResponse struct {
	Token       string `json:"token"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	IssuedAt    string `json:"issued_at"`
}

// bearer asks the realm for one token covering scopes, as moby-distribution's
// DockerRegistryTokenAuthentication does but with the import's scopes instead of one
// challenge's.
func (rn *run) bearer(target string, ch Challenge, scopes []Scope) bool {
	res := rn.res
	realm, service := ch.Params["realm"], ch.Params["service"]
	if realm == "" {
		res.Reason, res.Stage = ReasonUnsupportedChallenge, StageToken
		res.Message = fmt.Sprintf("GET %s: the Bearer challenge has no realm: moby-distribution asserts realm and service (auth.py :113, :125-126), an uncoded HTTP 500", target)
		return false
	}
	if _, ok := ch.Params["service"]; !ok {
		res.Reason, res.Stage = ReasonUnsupportedChallenge, StageToken
		res.Message = fmt.Sprintf("GET %s: the Bearer challenge has no service: moby-distribution asserts realm and service (auth.py :113, :125-126), an uncoded HTTP 500", target)
		return false
	}
	u, err := url.Parse(realm)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		res.Reason, res.Stage = ReasonUnsupportedChallenge, StageToken
		res.Message = fmt.Sprintf("GET %s: the Bearer challenge's realm %q is not an http(s) URL", target, redactURL(realm))
		return false
	}
	u.User = nil
	q := u.Query()
	q.Set("service", service)
	for _, s := range scopes {
		q.Add("scope", s.String())
	}
	clientID := rn.reg.Username
	if clientID == "" {
		clientID = "anonymous"
	}
	q.Set("client_id", clientID)
	// requests encodes the Python True of auth.py :146 as "True".
	q.Set("offline_token", "True")
	u.RawQuery = q.Encode()
	// The call as named in messages: the realm without the query (which holds only the
	// service, scopes and user name, listed separately).
	shown := *u
	shown.RawQuery = ""
	call := "GET " + shown.String()
	rn.tokenCall = call
	var authorization string
	// Basic credentials only when both are given (auth.py :149-151).
	if rn.reg.Username != "" && rn.reg.Password != "" {
		authorization = "Basic " + base64.StdEncoding.EncodeToString([]byte(rn.reg.Username+":"+rn.reg.Password))
	}
	resp, body, err := rn.do(rn.token, http.MethodGet, u.String(), authorization, nil)
	if err != nil {
		rn.transportFailure(StageToken, err, call, "the token server's")
		if rn.reg.DetectScheme {
			res.Message += "; the platform's token request (a plain requests.get, auth.py :156) fails the same way: an uncoded HTTP 500"
		}
		return false
	}
	asked := scopeList(scopes)
	if resp.StatusCode != http.StatusOK {
		res.TokenRefused = true
		res.Reason, res.Stage = ReasonTokenRefused, StageToken
		res.Message = fmt.Sprintf("%s: %d %s: the token server refuses a token to user %q for %s (the platform's AuthFailed \"用户凭证校验失败, 请检查用户信息和操作权限\": 4314004 in the S-mart import; usually a wrong user name or password)",
			call, resp.StatusCode, http.StatusText(resp.StatusCode), clientID, asked)
		if rn.reg.DetectScheme && res.Scheme == "https" && !res.TLSVerified {
			res.Message += "; with the registry's untrusted certificate moby-distribution's ping fails on this and falls back to plain http on the same port"
		}
		return false
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		res.Reason, res.Stage = ReasonInvalidTokenResponse, StageToken
		res.Message = fmt.Sprintf("%s: 200 but the answer is not JSON: the platform fails with an uncoded HTTP 500", call)
		return false
	}
	token := tr.Token
	if token == "" {
		token = tr.AccessToken
	}
	if token == "" {
		res.Reason, res.Stage = ReasonInvalidTokenResponse, StageToken
		res.Message = fmt.Sprintf("%s: 200 but the answer holds neither token nor access_token: the platform raises \"Missing Token\" (auth.py :89), an uncoded HTTP 500", call)
		return false
	}
	rn.secrets = append(rn.secrets, tr.Token, tr.AccessToken)
	rn.authorization = "Bearer " + token
	granted, exp, ok := tokenAccess(token)
	if !ok {
		res.Notes = append(res.Notes, "the token is opaque (not a JWT with an access claim): which of "+asked+" it grants is unknown; "+inferredOnly)
		return true
	}
	res.Granted, res.GrantedKnown = granted, true
	res.Missing = missing(scopes, granted)
	if exp != 0 && rn.p.Now != nil && !time.Unix(exp, 0).After(rn.p.Now()) {
		res.Notes = append(res.Notes, "the token's exp is already past by paasdiag's clock: check the clocks of the token server and the registry")
	}
	return true
}

// tokenAccess reads the access claim of a JWT's payload. The signature is not
// verified, and need not be: we only read what the token server says it granted,
// which is the server's own statement; the registry verifies the token when it is
// used, and a forged token could only mislead this report.
func tokenAccess(token string) ([]Scope, int64, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, 0, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, 0, false
	}
	var claims struct {
		Exp    json.Number `json:"exp"`
		Access *[]struct {
			Type    string   `json:"type"`
			Name    string   `json:"name"`
			Actions []string `json:"actions"`
		} `json:"access"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil || claims.Access == nil {
		return nil, 0, false
	}
	granted := []Scope{}
	for _, a := range *claims.Access {
		if a.Type != "repository" {
			continue
		}
		granted = append(granted, Scope{Repository: a.Name, Actions: a.Actions})
	}
	exp, _ := claims.Exp.Int64()
	return granted, exp, true
}

// missing are the actions of asked that granted lacks ("*" grants every action).
func missing(asked, granted []Scope) []Scope {
	var out []Scope
	for _, s := range asked {
		var lack []string
		for _, a := range s.Actions {
			ok := false
			for _, g := range granted {
				if g.Repository == s.Repository && (slices.Contains(g.Actions, a) || slices.Contains(g.Actions, "*")) {
					ok = true
				}
			}
			if !ok && !slices.Contains(lack, a) {
				lack = append(lack, a)
			}
		}
		if len(lack) > 0 {
			out = append(out, Scope{Repository: s.Repository, Actions: lack})
		}
	}
	return out
}

func scopeList(scopes []Scope) string {
	if len(scopes) == 0 {
		return "no scope"
	}
	var out []string
	for _, s := range scopes {
		out = append(out, s.String())
	}
	return strings.Join(out, " ")
}

// manifests HEADs each base manifest with the platform's Accept header. 404s are
// collected; any other failure stops.
func (rn *run) manifests(base string, manifests [][2]string, scopes []Scope) {
	res := rn.res
	header := http.Header{"Accept": {ManifestMediaType}}
	for _, m := range manifests {
		target := base + "/v2/" + m[0] + "/manifests/" + m[1]
		call := "HEAD " + target
		resp, _, err := rn.do(rn.registry, http.MethodHead, target, rn.authorization, header)
		if err != nil {
			rn.transportFailure(StageManifest, err, call, "the registry's")
			return
		}
		if resp.StatusCode == http.StatusUnauthorized && !rn.authed {
			// /v2/ asked for no credentials but the repository does: authenticate
			// with this challenge, as the platform's first 401 would, and retry once.
			if !rn.authenticate(target, resp, scopes, StageManifest) {
				return
			}
			resp, _, err = rn.do(rn.registry, http.MethodHead, target, rn.authorization, header)
			if err != nil {
				rn.transportFailure(StageManifest, err, call, "the registry's")
				return
			}
		}
		switch {
		case resp.StatusCode/100 == 2:
			continue
		case resp.StatusCode == http.StatusNotFound:
			res.MissingManifests = append(res.MissingManifests, m[0]+referenceSep(m[1])+m[1])
			rn.missingCalls = append(rn.missingCalls, call)
			continue
		}
		rn.statusFailure(StageManifest, resp, nil, call)
		if resp.StatusCode == http.StatusUnauthorized {
			res.Message += fmt.Sprintf(": the credentials do not give pull on %s", m[0])
		}
		return
	}
}

func referenceSep(ref string) string {
	if strings.Contains(ref, ":") {
		return "@"
	}
	return ":"
}

// finish turns missing manifests and scopes into the reason, unless a step failed.
func (rn *run) finish(scopes []Scope) {
	res := rn.res
	var extra []string
	if len(res.MissingManifests) > 0 {
		extra = append(extra, fmt.Sprintf("%s (Accept: %s): 404 Not Found: base image %s is missing; the import's read of it is ResourceNotFound, an uncoded HTTP 500 (the platform accepts Docker schema 2 manifests only; a tag holding only an OCI manifest is not found either)",
			strings.Join(rn.missingCalls, ", "), ManifestMediaType, strings.Join(res.MissingManifests, ", ")))
	}
	if len(res.Missing) > 0 {
		extra = append(extra, fmt.Sprintf("%s: the token server grants %s only %s, not %s (%s); the registry would answer 401 to the requests that need them (for push, the import's first write, POST /v2/<target>/blobs/uploads/) and the platform's retry gets the same token: PermissionDeny, an uncoded HTTP 500 in the S-mart import",
			rn.tokenCall, userName(rn.reg.Username), grantedList(res.Granted), scopeList(res.Missing), inferredOnly))
	}
	if res.Auth == "none" {
		res.Notes = append(res.Notes, "the registry asks for no credentials: there is no token whose scopes would show what may be pushed; "+inferredOnly)
	}
	pushAsked := false
	for _, s := range scopes {
		if slices.Contains(s.Actions, "push") {
			pushAsked = true
		}
	}
	if res.GrantedKnown && len(res.Missing) == 0 && pushAsked {
		res.Notes = append(res.Notes, "the token grants every action asked for ("+scopeList(scopes)+"); "+inferredOnly+" (the registry may still refuse a push for quota, immutability or project rules)")
	}
	if res.Reason != "" {
		// A step failed; the other findings follow its message.
		if len(extra) > 0 {
			res.Message += "; also: " + strings.Join(extra, "; ")
		}
		return
	}
	switch {
	case len(res.MissingManifests) > 0:
		res.Reason, res.Stage = ReasonManifestNotFound, StageManifest
	case len(res.Missing) > 0:
		res.Reason, res.Stage = ReasonScopeNotGranted, StageToken
	default:
		return
	}
	res.Message = strings.Join(extra, "; ")
}

func userName(u string) string {
	if u == "" {
		return "anonymous"
	}
	return fmt.Sprintf("user %q", u)
}

func grantedList(g []Scope) string {
	var out []string
	for _, s := range g {
		if len(s.Actions) > 0 {
			out = append(out, s.String())
		}
	}
	if len(out) == 0 {
		return "nothing"
	}
	return strings.Join(out, " ")
}

// redact removes the password, the Basic credentials and the token from s, should a
// server have echoed them into an answer quoted in a message.
func (rn *run) redact(s string) string {
	for _, secret := range rn.secrets {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}

// redactURL drops user info from an address shown in a message.
func redactURL(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		rest := s[i+3:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		if at := strings.LastIndexByte(rest[:end], '@'); at >= 0 {
			return s[:i+3] + rest[at+1:]
		}
		return s
	}
	end := strings.IndexAny(s, "/?#")
	if end < 0 {
		end = len(s)
	}
	if at := strings.LastIndexByte(s[:end], '@'); at >= 0 {
		return s[at+1:]
	}
	return s
}
