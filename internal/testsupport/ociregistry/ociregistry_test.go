package ociregistry

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The accounts of every test: the platform's S-mart account may pull the base images
// but not push; a builder may push to bkapps only.
var users = map[string]User{
	"smart":   {Password: "smart-secret", Pull: []string{"bkpaas/*"}},
	"builder": {Password: "builder-secret", Push: []string{"bkapps/*"}},
}

func start(t *testing.T, opts Options) *Registry {
	t.Helper()
	if opts.Users == nil {
		opts.Users = users
	}
	r, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func do(t *testing.T, c *http.Client, method, target, bearer string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return send(t, c, req)
}

func send(t *testing.T, c *http.Client, req *http.Request) *http.Response {
	t.Helper()
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	return res
}

var challengeParam = regexp.MustCompile(`(\w+)="([^"]*)"`)

// challenge parses a Bearer WWW-Authenticate header into its parameters.
func challenge(t *testing.T, res *http.Response) map[string]string {
	t.Helper()
	h := res.Header.Get("WWW-Authenticate")
	if !strings.HasPrefix(h, "Bearer ") {
		t.Fatalf("WWW-Authenticate = %q, want a Bearer challenge", h)
	}
	params := map[string]string{}
	for _, m := range challengeParam.FindAllStringSubmatch(h, -1) {
		params[m[1]] = m[2]
	}
	return params
}

// fetchToken asks realm for scope as the platform does; user "" sends no credentials.
// It returns the status, the token and the access the token grants.
func fetchToken(t *testing.T, c *http.Client, realm, service, user, password string, scope ...string) (int, string, []access) {
	t.Helper()
	q := url.Values{"service": {service}, "scope": scope}
	req, err := http.NewRequest(http.MethodGet, realm+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != http.StatusOK {
		return res.StatusCode, "", nil
	}
	var body struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body.Token == "" || body.AccessToken != body.Token || body.ExpiresIn <= 0 {
		t.Fatalf("token answer = %+v, want token = access_token and expires_in > 0", body)
	}
	return res.StatusCode, body.Token, tokenAccess(t, body.Token)
}

// tokenAccess reads the access claim of a token without verifying it (the registry
// verifies).
func tokenAccess(t *testing.T, token string) []access {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c claims
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c.Access
}

func TestBaseWithoutTokenIsChallenged(t *testing.T) {
	r := start(t, Options{})
	res := do(t, http.DefaultClient, http.MethodGet, r.URL+"/v2/", "")
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET /v2/ = %d, want 401", res.StatusCode)
	}
	if got := res.Header.Get("Docker-Distribution-API-Version"); got != "registry/2.0" {
		t.Errorf("Docker-Distribution-API-Version = %q", got)
	}
	ch := challenge(t, res)
	if ch["realm"] != r.TokenURL || ch["service"] != r.Service {
		t.Errorf("challenge = %v, want realm %s and service %s", ch, r.TokenURL, r.Service)
	}
	if _, ok := ch["scope"]; ok {
		t.Errorf("challenge of /v2/ names a scope: %v", ch)
	}

	// docker login: a token without scope. Anonymous, it is refused; with
	// credentials it grants nothing, and /v2/ answers 200 to it.
	if status, _, _ := fetchToken(t, http.DefaultClient, ch["realm"], ch["service"], "", ""); status != http.StatusUnauthorized {
		t.Errorf("anonymous token without scope = %d, want 401", status)
	}
	status, token, granted := fetchToken(t, http.DefaultClient, ch["realm"], ch["service"], "smart", "smart-secret")
	if status != http.StatusOK || len(granted) != 0 {
		t.Fatalf("token without scope = %d %v, want 200 granting nothing", status, granted)
	}
	if res := do(t, http.DefaultClient, http.MethodGet, r.URL+"/v2/", token); res.StatusCode != http.StatusOK {
		t.Errorf("GET /v2/ with a token = %d, want 200", res.StatusCode)
	}
}

func TestTokenServerRefusesBadCredentials(t *testing.T) {
	r := start(t, Options{})
	for _, c := range []struct{ user, password string }{
		{"smart", "wrong"},
		{"smart", ""},
		{"nobody", "smart-secret"},
	} {
		status, _, _ := fetchToken(t, http.DefaultClient, r.TokenURL, r.Service, c.user, c.password, "repository:bkpaas/slug-app:pull")
		if status != http.StatusUnauthorized {
			t.Errorf("token for %s/%q = %d, want 401", c.user, c.password, status)
		}
	}
	// Credentials of another scheme are refused too, not taken for anonymous.
	req, _ := http.NewRequest(http.MethodGet, r.TokenURL+"?service="+r.Service+"&scope=repository:bkpaas/slug-app:pull", nil)
	req.Header.Set("Authorization", "Bearer smart-secret")
	if res := send(t, http.DefaultClient, req); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("token with Bearer credentials = %d, want 401", res.StatusCode)
	}

	// The right password gets a token: the refusals above are the credentials'.
	status, _, granted := fetchToken(t, http.DefaultClient, r.TokenURL, r.Service, "smart", "smart-secret", "repository:bkpaas/slug-app:pull")
	if status != http.StatusOK || !reflect.DeepEqual(granted, []access{{"repository", "bkpaas/slug-app", []string{"pull"}}}) {
		t.Errorf("token for smart = %d %v, want 200 with pull", status, granted)
	}

	// Requests keep who asked for what, never the password.
	reqs := r.Requests()
	last := reqs[len(reqs)-1]
	if last.Path != TokenPath || last.User != "smart" || !reflect.DeepEqual(last.Scope, []string{"repository:bkpaas/slug-app:pull"}) || last.Status != 200 {
		t.Errorf("last request = %+v", last)
	}
	for _, q := range reqs {
		if strings.Contains(q.User, "secret") || strings.Contains(strings.Join(q.Scope, ""), "secret") {
			t.Errorf("a password is kept: %+v", q)
		}
	}
}

// The platform's S-mart probe: /v2/, a token for pull and push, HEAD the base image.
// The account may only pull, so the token grants pull alone, the manifest can be read,
// and an upload with that token is refused.
func TestPullOnlyAccountGetsPullAndCannotUpload(t *testing.T) {
	r := start(t, Options{})
	digest, err := r.PushImage("bkpaas/slug-app", "heroku-bionic")
	if err != nil {
		t.Fatal(err)
	}
	ch := challenge(t, do(t, http.DefaultClient, http.MethodGet, r.URL+"/v2/", ""))
	status, token, granted := fetchToken(t, http.DefaultClient, ch["realm"], ch["service"], "smart", "smart-secret", "repository:bkpaas/slug-app:pull,push")
	if status != http.StatusOK {
		t.Fatalf("token = %d, want 200", status)
	}
	if want := []access{{"repository", "bkpaas/slug-app", []string{"pull"}}}; !reflect.DeepEqual(granted, want) {
		t.Fatalf("granted %v, want %v (push is not the account's)", granted, want)
	}

	res := do(t, http.DefaultClient, http.MethodHead, r.URL+"/v2/bkpaas/slug-app/manifests/heroku-bionic", token)
	if res.StatusCode != http.StatusOK || res.Header.Get("Docker-Content-Digest") != digest {
		t.Errorf("HEAD existing tag = %d %s, want 200 %s", res.StatusCode, res.Header.Get("Docker-Content-Digest"), digest)
	}
	if res := do(t, http.DefaultClient, http.MethodHead, r.URL+"/v2/bkpaas/slug-app/manifests/missing", token); res.StatusCode != http.StatusNotFound {
		t.Errorf("HEAD missing tag = %d, want 404", res.StatusCode)
	}
	if r.Writes() != 0 {
		t.Errorf("Writes = %d after reads only", r.Writes())
	}

	for _, method := range []string{http.MethodPost, http.MethodPut} {
		target := r.URL + "/v2/bkpaas/slug-app/blobs/uploads/"
		if method == http.MethodPut {
			target = r.URL + "/v2/bkpaas/slug-app/manifests/heroku-bionic"
		}
		res := do(t, http.DefaultClient, method, target, token)
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s with a pull token = %d, want 401", method, res.StatusCode)
			continue
		}
		// distribution lists the actions in map order: pull,push or push,pull.
		ch := challenge(t, res)
		if sc := ch["scope"]; ch["error"] != "insufficient_scope" ||
			sc != "repository:bkpaas/slug-app:pull,push" && sc != "repository:bkpaas/slug-app:push,pull" {
			t.Errorf("%s challenge = %v, want insufficient_scope for pull,push", method, ch)
		}
	}
	if r.Writes() != 2 {
		t.Errorf("Writes = %d, want the 2 refused uploads", r.Writes())
	}
}

// The counterpart: an account with push gets push where it may, and its upload starts.
func TestPushAccountCanUpload(t *testing.T) {
	r := start(t, Options{})
	status, token, granted := fetchToken(t, http.DefaultClient, r.TokenURL, r.Service, "builder", "builder-secret",
		"repository:bkapps/demo:pull,push", "repository:bkpaas/slug-app:pull,push")
	if status != http.StatusOK {
		t.Fatalf("token = %d", status)
	}
	want := []access{
		{"repository", "bkapps/demo", []string{"pull", "push"}},
		{"repository", "bkpaas/slug-app", []string{}},
	}
	if !reflect.DeepEqual(granted, want) {
		t.Fatalf("granted %v, want %v", granted, want)
	}
	if res := do(t, http.DefaultClient, http.MethodPost, r.URL+"/v2/bkapps/demo/blobs/uploads/", token); res.StatusCode != http.StatusAccepted {
		t.Errorf("POST upload with a push token = %d, want 202", res.StatusCode)
	}
	if res := do(t, http.DefaultClient, http.MethodPost, r.URL+"/v2/bkpaas/slug-app/blobs/uploads/", token); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST upload to a repository the token does not cover = %d, want 401", res.StatusCode)
	}
}

func TestAnonymousPull(t *testing.T) {
	r := start(t, Options{AnonymousPull: []string{"library/*"}})
	if _, err := r.PushImage("library/busybox", "latest"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.PushImage("bkpaas/slug-app", "latest"); err != nil {
		t.Fatal(err)
	}
	_, token, granted := fetchToken(t, http.DefaultClient, r.TokenURL, r.Service, "", "",
		"repository:library/busybox:pull,push", "repository:bkpaas/slug-app:pull")
	want := []access{
		{"repository", "library/busybox", []string{"pull"}},
		{"repository", "bkpaas/slug-app", []string{}},
	}
	if !reflect.DeepEqual(granted, want) {
		t.Fatalf("anonymous token grants %v, want %v", granted, want)
	}
	if res := do(t, http.DefaultClient, http.MethodHead, r.URL+"/v2/library/busybox/manifests/latest", token); res.StatusCode != http.StatusOK {
		t.Errorf("anonymous HEAD of a public image = %d, want 200", res.StatusCode)
	}
	if res := do(t, http.DefaultClient, http.MethodHead, r.URL+"/v2/bkpaas/slug-app/manifests/latest", token); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous HEAD of a private image = %d, want 401", res.StatusCode)
	}
}

// Tokens the registry must refuse, each next to the same token made right, which it
// accepts: the refusals are the defect's, not the helper's.
func TestRegistryRefusesForgedAndExpiredTokens(t *testing.T) {
	r := start(t, Options{})
	if _, err := r.PushImage("bkpaas/slug-app", "latest"); err != nil {
		t.Fatal(err)
	}
	otherKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherCert, err := selfSigned(otherKey, "ociregistry token signer")
	if err != nil {
		t.Fatal(err)
	}
	pull := []access{{"repository", "bkpaas/slug-app", []string{"pull"}}}
	valid := func() claims {
		now := time.Now()
		return claims{Issuer: issuer, Subject: "smart", Audience: r.Service, Expires: now.Add(time.Minute).Unix(),
			NotBefore: now.Unix(), IssuedAt: now.Unix(), Access: pull}
	}
	head := func(token string) *http.Response {
		return do(t, http.DefaultClient, http.MethodHead, r.URL+"/v2/bkpaas/slug-app/manifests/latest", token)
	}

	good, err := r.sign(valid())
	if err != nil {
		t.Fatal(err)
	}
	if res := head(good); res.StatusCode != http.StatusOK {
		t.Fatalf("HEAD with a valid token = %d, want 200", res.StatusCode)
	}

	forged, err := signJWT(otherKey, otherCert.Raw, valid())
	if err != nil {
		t.Fatal(err)
	}
	// The registry's own certificate in x5c, the signature by another key.
	impostor, err := signJWT(otherKey, r.signCert.Raw, valid())
	if err != nil {
		t.Fatal(err)
	}
	expired := valid()
	// The registry allows 60 seconds of clock skew (distribution's Leeway).
	expired.Expires = time.Now().Add(-2 * time.Minute).Unix()
	expired.NotBefore = time.Now().Add(-7 * time.Minute).Unix()
	expiredToken, err := r.sign(expired)
	if err != nil {
		t.Fatal(err)
	}
	otherAudience := valid()
	otherAudience.Audience = "another-registry"
	otherAudienceToken, err := r.sign(otherAudience)
	if err != nil {
		t.Fatal(err)
	}
	otherIssuer := valid()
	otherIssuer.Issuer = "someone-else"
	otherIssuerToken, err := r.sign(otherIssuer)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	widened := valid()
	widened.Access = []access{{"repository", "bkpaas/slug-app", []string{"pull", "push"}}}
	payload, _ := json.Marshal(widened)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]

	for name, token := range map[string]string{
		"signed by another CA":           forged,
		"registry's cert, another key":   impostor,
		"expired":                        expiredToken,
		"for another service":            otherAudienceToken,
		"from another issuer":            otherIssuerToken,
		"claims changed after signature": tampered,
		"not a JWT":                      "not-a-token",
	} {
		res := head(token)
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: HEAD = %d, want 401", name, res.StatusCode)
			continue
		}
		// distribution adds error="invalid_token" to the challenge for most of these
		// but not for a signature that does not verify; the realm is always there.
		if ch := challenge(t, res); ch["realm"] != r.TokenURL || ch["error"] == "insufficient_scope" {
			t.Errorf("%s: challenge = %v", name, ch)
		}
	}
}

func TestTLS(t *testing.T) {
	r := start(t, Options{TLS: true})
	if !strings.HasPrefix(r.URL, "https://") || !strings.HasPrefix(r.TokenURL, "https://") {
		t.Fatalf("URL %s, TokenURL %s, want https", r.URL, r.TokenURL)
	}
	if _, err := r.PushImage("bkpaas/slug-app", "latest"); err != nil {
		t.Fatal(err)
	}

	// A client that does not trust the CA cannot connect.
	_, err := http.Get(r.URL + "/v2/")
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("GET without the CA: %v, want an unknown authority error", err)
	}

	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(r.CAPEM) {
		t.Fatal("CAPEM holds no certificate")
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	ch := challenge(t, do(t, c, http.MethodGet, r.URL+"/v2/", ""))
	_, token, _ := fetchToken(t, c, ch["realm"], ch["service"], "smart", "smart-secret", "repository:bkpaas/slug-app:pull")
	if res := do(t, c, http.MethodHead, r.URL+"/v2/bkpaas/slug-app/manifests/latest", token); res.StatusCode != http.StatusOK {
		t.Errorf("HEAD over TLS = %d, want 200", res.StatusCode)
	}
}

func TestParseScope(t *testing.T) {
	for _, c := range []struct {
		scope string
		want  access
	}{
		{"repository:bkpaas/slug-app:pull,push", access{"repository", "bkpaas/slug-app", []string{"pull", "push"}}},
		{"repository:127.0.0.1:5000/bkpaas/x:pull", access{"repository", "127.0.0.1:5000/bkpaas/x", []string{"pull"}}},
		{"registry:catalog:*", access{"registry", "catalog", []string{"*"}}},
		{"repository:bkpaas/slug-app", access{"repository", "bkpaas/slug-app", []string{}}},
		{"repository:bkpaas/slug-app:", access{"repository", "bkpaas/slug-app", []string{}}},
		{"repository", access{"repository", "", []string{}}},
	} {
		if got := parseScope(c.scope); !reflect.DeepEqual(got, c.want) {
			t.Errorf("parseScope(%q) = %v, want %v", c.scope, got, c.want)
		}
	}
}

func TestTokenServerGrantsNoCatalogNorDelete(t *testing.T) {
	r := start(t, Options{})
	status, _, granted := fetchToken(t, http.DefaultClient, r.TokenURL, r.Service, "builder", "builder-secret",
		"registry:catalog:*", "repository:bkapps/demo:delete,*,pull")
	want := []access{
		{"registry", "catalog", []string{}},
		{"repository", "bkapps/demo", []string{"pull"}},
	}
	if status != http.StatusOK || !reflect.DeepEqual(granted, want) {
		t.Errorf("token = %d %v, want 200 %v", status, granted, want)
	}
	status, _, granted = fetchToken(t, http.DefaultClient, r.TokenURL, r.Service, "builder", "builder-secret", "repository:bkapps/demo")
	if want := []access{{"repository", "bkapps/demo", []string{}}}; status != http.StatusOK || !reflect.DeepEqual(granted, want) {
		t.Errorf("token for a scope without actions = %d %v, want 200 %v", status, granted, want)
	}
}

// A token request must name the service of the challenge, as with Harbor.
func TestTokenForAnotherServiceIsRefused(t *testing.T) {
	r := start(t, Options{})
	for service, want := range map[string]int{"another-registry": http.StatusBadRequest, "": http.StatusBadRequest, r.Service: http.StatusOK} {
		if status, _, _ := fetchToken(t, http.DefaultClient, r.TokenURL, service, "smart", "smart-secret", "repository:bkpaas/slug-app:pull"); status != want {
			t.Errorf("token for service %q = %d, want %d", service, status, want)
		}
	}
}
