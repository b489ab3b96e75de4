package rsvcprobe

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/platformsettings"
	"github.com/paasdiag/paasdiag/internal/testsupport/rsvcprovider"
)

// The probe against a provider that checks the platform's JWT as the paas-service SDK
// does: the platform's token lists the services; each way it can fail is named.
func TestRSV02_TokenAndCalls(t *testing.T) {
	provider := rsvcprovider.Start(rsvcprovider.Options{Iss: "paas-v3", Key: "jwt-key", Services: []rsvcprovider.Service{
		{UUID: "s-mysql", Name: "mysql", Plans: []rsvcprovider.Plan{{UUID: "p-default", Name: "default", Description: "d", IsActive: true}}}}})
	defer provider.Close()
	ctx := context.Background()
	p := Prober{}
	endpoint := platformsettings.RemoteEndpoint{Name: "mysql_remote", EndpointURL: provider.Endpoint(), Iss: "paas-v3", Key: "jwt-key"}

	res := p.Probe(ctx, endpoint)
	if !res.OK() || res.Version != "3.1.0" || len(res.Services) != 1 || res.Services[0].Plans[0].UUID != "p-default" {
		t.Fatalf("%+v", res)
	}
	wrongKey := endpoint
	wrongKey.Key = "another"
	if res := p.Probe(ctx, wrongKey); res.Reason != v1alpha1.ReasonForbidden || res.Version != "3.1.0" {
		t.Errorf("wrong key: %+v (meta_info/ still answers: it needs no token)", res)
	}
	wrongIss := endpoint
	wrongIss.Iss = "paas-v2"
	if res := p.Probe(ctx, wrongIss); res.Reason != v1alpha1.ReasonForbidden {
		t.Errorf("wrong iss: %+v", res)
	}
	// urljoin: without a trailing slash, the last path segment is replaced, and a
	// deeper path that does not exist is 404.
	deeper := endpoint
	deeper.EndpointURL = provider.Endpoint() + "api/svc"
	if res := p.Probe(ctx, deeper); res.Reason != ReasonNotFound || !strings.Contains(res.Message, "/api/services/") {
		t.Errorf("urljoin: %+v", res)
	}
	if provider.Writes() != 0 {
		t.Errorf("%d writes", provider.Writes())
	}

	// Nothing listening.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/"
	_ = l.Close()
	down := endpoint
	down.EndpointURL = closed
	if res := p.Probe(ctx, down); res.Reason != v1alpha1.ReasonConnectionRefused {
		t.Errorf("down: %+v", res)
	}
	unresolvable := endpoint
	unresolvable.EndpointURL = "http://rsvc.invalid/"
	if res := p.Probe(ctx, unresolvable); res.Reason != v1alpha1.ReasonDNSError {
		t.Errorf("DNS: %+v", res)
	}
}

// An https provider whose certificate the platform's CA bundle does not trust, and
// the same one trusted, with its expiry.
func TestProbeTLS(t *testing.T) {
	provider := rsvcprovider.Start(rsvcprovider.Options{Iss: "paas-v3", Key: "k", TLS: true})
	defer provider.Close()
	endpoint := platformsettings.RemoteEndpoint{Name: "svc", EndpointURL: provider.Endpoint(), Iss: "paas-v3", Key: "k"}
	if res := (Prober{Client: &http.Client{}}).Probe(context.Background(), endpoint); res.Reason != v1alpha1.ReasonTLSUnknownAuthority {
		t.Errorf("untrusted: %+v", res)
	}
	res := (Prober{Client: provider.Server.Client()}).Probe(context.Background(), endpoint)
	if !res.OK() || res.ServingCertificateNotAfter == nil || !res.ServingCertificateNotAfter.After(time.Now()) {
		t.Errorf("trusted: %+v", res)
	}
}

// The token is the platform's: an HS256 JWT whose claims are exactly iss, a float
// expires_at an hour ahead (sub-second kept, as time.time() is) and role
// internal_platform, with no exp; its signature is HMAC-SHA256 with the key.
func TestTokenIsThePlatforms(t *testing.T) {
	now := time.Date(2026, 11, 28, 10, 0, 0, 500e6, time.UTC)
	parts := strings.Split(Token("paas-v3", "k", now), ".")
	if len(parts) != 3 {
		t.Fatal(parts)
	}
	decode := func(s string) map[string]any {
		raw, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if h := decode(parts[0]); h["alg"] != "HS256" || h["typ"] != "JWT" || len(h) != 2 {
		t.Errorf("header %v", h)
	}
	want := map[string]any{"iss": "paas-v3", "expires_at": float64(now.Add(time.Hour).UnixNano()) / 1e9, "role": "internal_platform"}
	if c := decode(parts[1]); !reflect.DeepEqual(c, want) {
		t.Errorf("claims %v, want %v", c, want)
	}
	mac := hmac.New(sha256.New, []byte("k"))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if parts[2] != base64.RawURLEncoding.EncodeToString(mac.Sum(nil)) {
		t.Error("not signed with HMAC-SHA256 of the key")
	}
}
