package ociregistry

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"
)

// tokenLifetime is Docker Hub's (expires_in 300).
const tokenLifetime = 5 * time.Minute

// access is one entry of a token's access claim: the actions granted on a resource.
type access struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// claims are the token's claims as the spec names them.
type claims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  string   `json:"aud"`
	Expires   int64    `json:"exp"`
	NotBefore int64    `json:"nbf"`
	IssuedAt  int64    `json:"iat"`
	ID        string   `json:"jti"`
	Access    []access `json:"access"`
}

// serveToken is the token endpoint: GET realm?service=...&scope=... with optional
// Basic credentials.
func (r *Registry) serveToken(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet {
		// The OAuth2 POST form of the spec is not served; clients fall back to GET
		// when they have no refresh token, and the platform never has one.
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"details": "method not allowed"})
		return
	}
	q := req.URL.Query()
	// Harbor's token service answers 400 for a service it does not serve.
	if service := q.Get("service"); service != r.Service {
		writeJSON(w, http.StatusBadRequest, map[string]string{"details": "unable to handle service: " + service})
		return
	}
	var user *User
	name, password, hasBasic := req.BasicAuth()
	switch {
	case hasBasic:
		r.mu.Lock()
		u, ok := r.opts.Users[name]
		r.mu.Unlock()
		// Compare even for an unknown user, so both fail alike.
		if subtle.ConstantTimeCompare([]byte(password), []byte(u.Password)) != 1 || !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="`+r.Service+`"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"details": "incorrect username or password"})
			return
		}
		user = &u
	case req.Header.Get("Authorization") != "":
		w.Header().Set("WWW-Authenticate", `Basic realm="`+r.Service+`"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"details": "only Basic credentials are accepted"})
		return
	case len(q["scope"]) == 0:
		// No credentials and no scope is docker login without a password: 401, as
		// Harbor answers; with a scope it is an anonymous pull.
		w.Header().Set("WWW-Authenticate", `Basic realm="`+r.Service+`"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"details": "authentication required"})
		return
	}

	granted := []access{}
	for _, param := range q["scope"] {
		// One parameter may hold several scopes separated by spaces.
		for _, scope := range strings.Fields(param) {
			a := parseScope(scope)
			a.Actions = r.grant(user, a)
			granted = append(granted, a)
		}
	}
	now := time.Now()
	token, err := r.sign(claims{
		Issuer:    issuer,
		Subject:   name,
		Audience:  r.Service,
		Expires:   now.Add(tokenLifetime).Unix(),
		NotBefore: now.Unix(),
		IssuedAt:  now.Unix(),
		Access:    granted,
	})
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"details": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"token":        token,
		"access_token": token,
		"expires_in":   int(tokenLifetime / time.Second),
		"issued_at":    now.UTC().Format(time.RFC3339),
	})
}

// parseScope splits resourcetype:resourcename:action[,action...] as Harbor's token
// service does: the name may hold colons (a registry host with a port), so the type
// ends at the first colon and the actions start after the last; a scope without
// actions asks for none.
func parseScope(scope string) access {
	items := strings.Split(scope, ":")
	a := access{Type: items[0], Actions: []string{}}
	switch n := len(items); {
	case n == 2:
		a.Name = items[1]
	case n > 2:
		a.Name = strings.Join(items[1:n-1], ":")
		if items[n-1] != "" {
			a.Actions = strings.Split(items[n-1], ",")
		}
	}
	return a
}

// grant is the part of the requested actions that user (nil: anonymous) may have.
// Only pull and push on repositories are ever granted: no delete, no catalog, no "*".
func (r *Registry) grant(user *User, a access) []string {
	granted := []string{}
	if a.Type != "repository" {
		return granted
	}
	var pull, push bool
	if user != nil {
		push = matchAny(user.Push, a.Name)
		pull = push || matchAny(user.Pull, a.Name)
	}
	pull = pull || matchAny(r.opts.AnonymousPull, a.Name)
	for _, action := range a.Actions {
		if (action == "pull" && pull || action == "push" && push) && !slices.Contains(granted, action) {
			granted = append(granted, action)
		}
	}
	return granted
}

func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// sign makes an ES256 JWT carrying the signing certificate in x5c, which the
// registry's access controller verifies against the one root it trusts. The standard
// library signs, so the verifier (distribution's, with go-jose) is not our code.
func (r *Registry) sign(c claims) (string, error) {
	return signJWT(r.signKey, r.signCert.Raw, c)
}

func signJWT(key *ecdsa.PrivateKey, certDER []byte, c claims) (string, error) {
	if c.ID == "" {
		id := make([]byte, 16)
		if _, err := rand.Read(id); err != nil {
			return "", err
		}
		c.ID = hex.EncodeToString(id)
	}
	header, err := json.Marshal(map[string]any{
		"typ": "JWT",
		"alg": "ES256",
		"x5c": []string{base64.StdEncoding.EncodeToString(certDER)},
	})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	signed := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
	digest := sha256.Sum256([]byte(signed))
	rr, ss, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		return "", err
	}
	// JWS ES256 signatures are R and S as two 32-byte big-endian numbers (RFC 7518).
	sig := append(rr.FillBytes(make([]byte, 32)), ss.FillBytes(make([]byte, 32))...)
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
