// Package rsvcprovider is a remote add-on service provider for tests, started on
// loopback: it answers the two calls the platform makes to every provider it is
// configured with (GET meta_info/ and GET services/) and checks the platform's JWT
// exactly as providers built on the paas-service SDK do (auth/middleware.py,
// auth/backends.py, auth/decorator.py, views.py at TencentBlueKing/bkpaas-python-sdk
// 3357382): meta_info/ needs no token; services/ needs an HS256 token signed with the
// client's key whose iss is the client's, whose custom float claim expires_at is not
// past (int() of it, as the SDK truncates), and whose role is internal_platform;
// anything else is 403 (Django's PermissionDenied), never 401.
package rsvcprovider

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Plan is one plan of a service, as the provider's PlanSLZ renders it.
type Plan struct {
	UUID        string         `json:"uuid"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	IsActive    bool           `json:"is_active"`
	Properties  map[string]any `json:"properties"`
	Config      map[string]any `json:"config"`
}

// Service is one service of the provider's services/ answer (the fields the platform's
// RemoteServiceSLZ requires).
type Service struct {
	UUID               string         `json:"uuid"`
	Name               string         `json:"name"`
	Category           int            `json:"category"`
	DisplayName        string         `json:"display_name"`
	Logo               string         `json:"logo"`
	AvailableLanguages string         `json:"available_languages"`
	IsVisible          bool           `json:"is_visible"`
	IsActive           bool           `json:"is_active"`
	Config             map[string]any `json:"config"`
	Plans              []Plan         `json:"plans"`
}

// Options configure a provider.
type Options struct {
	// Iss and Key are the platform client the provider accepts
	// (PAAS_SERVICE_JWT_CLIENTS): the platform signs with jwt_auth_conf's.
	Iss, Key string
	// Services are what services/ lists.
	Services []Service
	// Version is meta_info/'s version (the SDK's __version__); empty: 3.1.0.
	Version string
	// TLS serves HTTPS with httptest's certificate (Provider.Server.Certificate()).
	TLS bool
}

// Provider is a running provider.
type Provider struct {
	// Server is the listener; Server.URL + "/" is the endpoint_url to configure.
	Server *httptest.Server

	opts     Options
	mu       sync.Mutex
	refusals []string
	writes   atomic.Int64
	calls    atomic.Int64
}

// Start serves a provider on loopback.
func Start(opts Options) *Provider {
	if opts.Version == "" {
		opts.Version = "3.1.0"
	}
	p := &Provider{opts: opts}
	mux := http.NewServeMux()
	mux.HandleFunc("/meta_info/", p.metaInfo)
	mux.HandleFunc("/services/", p.services)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.calls.Add(1)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			p.writes.Add(1)
		}
		mux.ServeHTTP(w, r)
	})
	if opts.TLS {
		p.Server = httptest.NewTLSServer(handler)
	} else {
		p.Server = httptest.NewServer(handler)
	}
	return p
}

// Endpoint is the endpoint_url the platform is configured with (trailing slash: the
// platform urljoins meta_info/ and services/ to it).
func (p *Provider) Endpoint() string { return p.Server.URL + "/" }

// Close stops the provider.
func (p *Provider) Close() { p.Server.Close() }

// Writes counts requests other than GET and HEAD: a probe must make none.
func (p *Provider) Writes() int64 { return p.writes.Load() }

// Calls counts every request.
func (p *Provider) Calls() int64 { return p.calls.Load() }

// Refusals are why services/ refused each refused request, in order.
func (p *Provider) Refusals() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.refusals...)
}

func (p *Provider) metaInfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, `{"detail":"Method not allowed."}`, http.StatusMethodNotAllowed)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"version": p.opts.Version})
}

func (p *Provider) services(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, `{"detail":"Method not allowed."}`, http.StatusMethodNotAllowed)
		return
	}
	if why := p.verify(r.Header.Get("Authorization")); why != "" {
		p.mu.Lock()
		p.refusals = append(p.refusals, why)
		p.mu.Unlock()
		writeJSON(w, http.StatusForbidden, map[string]string{"detail": "You do not have permission to perform this action."})
		return
	}
	services := p.opts.Services
	if services == nil {
		services = []Service{}
	}
	writeJSON(w, http.StatusOK, services)
}

// verify is VerifiedClientMiddleware + JWTClientAuthenticator + the role decorator:
// "" when the request may list services, else why not.
func (p *Provider) verify(header string) string {
	// prefix, token = auth_header_val.split(None, 1): the prefix is not checked.
	fields := strings.Fields(header)
	if len(fields) < 2 {
		return "no token"
	}
	token := strings.Join(fields[1:], " ")
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "not a JWT"
	}
	var head struct {
		Alg string `json:"alg"`
	}
	if err := decodePart(parts[0], &head); err != nil || head.Alg != "HS256" {
		// jwt.decode(..., algorithms=["HS256"]) refuses another algorithm.
		return "not an HS256 token"
	}
	mac := hmac.New(sha256.New, []byte(p.opts.Key))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		return "signature does not verify with the client's key"
	}
	var claims map[string]any
	if err := decodePart(parts[1], &claims); err != nil {
		return "claims do not decode"
	}
	// expires_at = int(expires_at); if expires_at < time.time(): expired.
	exp, ok := claims["expires_at"].(float64)
	if !ok {
		return "no expires_at"
	}
	if float64(int64(exp)) < float64(time.Now().UnixNano())/1e9 {
		return "token has already expired"
	}
	if iss, _ := claims["iss"].(string); iss == "" || iss != p.opts.Iss {
		return "iss is not the client's"
	}
	if role, _ := claims["role"].(string); role != "internal_platform" {
		return "role is not internal_platform"
	}
	return ""
}

func decodePart(s string, into any) error {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, into)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Sign makes the token the platform sends (blue-krill's ClientJWTAuth with the
// platform's JWTAuthConf): HS256, claims iss, expires_at (float, now + expiresIn) and
// role. Tests use it to check the provider; paasdiag has its own signer.
func Sign(iss, key, role string, expiresAt time.Time) string {
	enc := func(v any) string {
		raw, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(raw)
	}
	unsigned := enc(map[string]string{"alg": "HS256", "typ": "JWT"}) + "." +
		enc(map[string]any{"iss": iss, "expires_at": float64(expiresAt.UnixNano()) / 1e9, "role": role})
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(unsigned))
	return unsigned + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}
