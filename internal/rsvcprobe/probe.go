// Package rsvcprobe probes a remote add-on service provider as the platform's
// RemoteServiceClient calls it (accessories/servicehub/remote/client.py and
// collector.py): GET meta_info/ (no token needed; a failure is swallowed by the
// platform) and GET services/ with the platform's HS256 JWT (a failure drops every
// service of the provider), both resolved against endpoint_url with urljoin and
// bounded like the platform's 15 s list timeout by the caller's context. Both calls are
// reads; nothing is provisioned. It is the library of issue 16's remote services
// check; classification follows the cluster probe's reasons.
package rsvcprobe

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/clusterprobe"
	"github.com/paasdiag/paasdiag/internal/httpprobe"
	"github.com/paasdiag/paasdiag/internal/platformsettings"
)

// Reasons the cluster probe does not have.
const (
	// ReasonNotFound: the provider answers 404 (endpoint_url's path is wrong; mind
	// urljoin: without a trailing slash its last segment is replaced).
	ReasonNotFound = httpprobe.ReasonNotFound
	// ReasonInvalidResponse: services/ answers 2xx with something the platform's
	// serializers refuse (not JSON, not a list of services with plans).
	ReasonInvalidResponse = "InvalidResponse"
)

// Plan is one plan of a service in the provider's answer.
type Plan struct {
	UUID     string `json:"uuid"`
	Name     string `json:"name"`
	IsActive *bool  `json:"is_active"`
}

// Service is one service of the provider's answer.
type Service struct {
	UUID  string `json:"uuid"`
	Name  string `json:"name"`
	Plans []Plan `json:"plans"`
}

// Result is what probing one provider found.
type Result struct {
	// Reason is empty when services/ answered with services; else why not.
	Reason, Message string
	// Version is meta_info/'s version, "" when it could not be read (the platform
	// then treats the provider as the oldest version).
	Version string
	// Services are services/'s answer.
	Services []Service
	// ServingCertificateNotAfter is the earliest expiry of an https provider's chain.
	ServingCertificateNotAfter *time.Time
}

// OK says whether the platform can load the provider's services.
func (r Result) OK() bool { return r.Reason == "" }

// Prober probes providers with one HTTP client (its transport's TLS roots are the
// platform's CA bundle as far as paasdiag knows it: the system's).
type Prober struct {
	Client *http.Client
	Now    func() time.Time
}

// Probe calls meta_info/ then services/ of e. The context bounds both.
func (p Prober) Probe(ctx context.Context, e platformsettings.RemoteEndpoint) Result {
	var res Result
	base, err := url.Parse(e.EndpointURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		res.Reason, res.Message = v1alpha1.ReasonInvalidSettings, fmt.Sprintf("endpoint_url of %s is not an http(s) URL with a host: the platform's requests fail before any call", e.Name)
		return res
	}
	metaInfo := base.ResolveReference(&url.URL{Path: "meta_info/"})
	services := base.ResolveReference(&url.URL{Path: "services/"})
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	var meta struct {
		Version string `json:"version"`
	}
	if status, body, _, err := p.get(ctx, metaInfo.String(), ""); err == nil && status/100 == 2 && json.Unmarshal(body, &meta) == nil {
		res.Version = meta.Version
	}
	status, body, state, err := p.get(ctx, services.String(), "Bearer "+Token(e.Iss, e.Key, now()))
	res.ServingCertificateNotAfter = clusterprobe.ChainNotAfter(state)
	if err != nil {
		res.Reason, res.Message = httpprobe.Transport(ctx, err, "GET "+httpprobe.Redact(services), "the provider's")
		return res
	}
	head := fmt.Sprintf("GET %s: %d %s", httpprobe.Redact(services), status, http.StatusText(status))
	switch {
	case status == http.StatusUnauthorized:
		res.Reason, res.Message = v1alpha1.ReasonUnauthorized, head+": the provider does not accept the platform's token"
		return res
	case status == http.StatusForbidden:
		// The paas-service SDK answers 403 to any token it refuses: another key, iss
		// or role, or an expired one.
		res.Reason, res.Message = v1alpha1.ReasonForbidden, head+": the provider refuses the platform's token (jwt_auth_conf's key or iss is not a client the provider knows)"
		return res
	case status == http.StatusNotFound:
		res.Reason, res.Message = ReasonNotFound, head+": no services/ at this endpoint_url (the platform resolves services/ against it with urljoin)"
		return res
	case status/100 != 2:
		res.Reason, res.Message = v1alpha1.ReasonServerError, head
		return res
	}
	if err := json.Unmarshal(body, &res.Services); err != nil {
		res.Reason, res.Message = ReasonInvalidResponse, head+": the answer is not a list of services (the platform: invalid json response)"
		res.Services = nil
		return res
	}
	for _, s := range res.Services {
		if s.UUID == "" || s.Name == "" {
			res.Reason, res.Message = ReasonInvalidResponse, head+": a service without uuid or name: the platform's serializer refuses the whole answer"
			res.Services = nil
			return res
		}
	}
	return res
}

func (p Prober) get(ctx context.Context, target, auth string) (int, []byte, *tls.ConnectionState, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return 0, nil, nil, err
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	client := p.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return resp.StatusCode, body, resp.TLS, err
}

// Token is the platform's token: blue-krill's ClientJWTAuth with
// JWTAuthConf(iss, key, role="internal_platform"), HS256 (the default algorithm), the
// claims iss, expires_at (a float, now + 3600 s) and role; no exp.
func Token(iss, key string, now time.Time) string {
	enc := func(v any) string {
		raw, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(raw)
	}
	unsigned := enc(map[string]string{"alg": "HS256", "typ": "JWT"}) + "." + enc(struct {
		Iss       string  `json:"iss"`
		ExpiresAt float64 `json:"expires_at"`
		Role      string  `json:"role"`
	}{iss, float64(now.Add(time.Hour).UnixNano()) / 1e9, "internal_platform"})
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(unsigned))
	return unsigned + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}
