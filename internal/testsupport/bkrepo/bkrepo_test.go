package bkrepo_test

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/paasdiag/paasdiag/internal/testsupport/bkrepo"
)

func start(t *testing.T, opts bkrepo.Options) *bkrepo.Server {
	t.Helper()
	s, err := bkrepo.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

var opts = bkrepo.Options{
	Users:    map[string]string{"bkpaas": "secret", "guest": "guest-pw"},
	Projects: map[string][]string{"bkpaas": {"packages"}},
	Access:   map[string]map[string]bkrepo.Access{"bkpaas": {"bkpaas": bkrepo.ReadWrite}},
}

// do sends a request as user (no auth if user is "") and returns the status, the
// headers and bkrepo's code (-1 without a JSON body).
func do(t *testing.T, c *http.Client, method, url, user, password string) (int, http.Header, int) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var body struct{ Code int }
	if json.NewDecoder(resp.Body).Decode(&body) != nil {
		body.Code = -1
	}
	return resp.StatusCode, resp.Header, body.Code
}

// Each refusal has bkrepo's status and code, in bkrepo's order of checks.
func TestRefusalsAreBKRepos(t *testing.T) {
	s := start(t, opts)
	body := []byte("package")
	if err := s.PutObject("bkpaas", "packages", "app/v1.tar.gz", body); err != nil {
		t.Fatal(err)
	}
	info := s.Endpoint + "/repository/api/repo/info/bkpaas/packages/GENERIC"
	obj := s.Endpoint + "/generic/bkpaas/packages/app/v1.tar.gz"
	for _, c := range []struct {
		method, url, user, password string
		status, code                int
	}{
		{"GET", info, "bkpaas", "secret", 200, 0},
		{"GET", info, "bkpaas", "wrong", 401, bkrepo.CodeRequestUnauthenticated},
		{"GET", info, "nobody", "secret", 401, bkrepo.CodeRequestUnauthenticated},
		{"GET", info, "", "", 401, bkrepo.CodeRequestUnauthenticated},
		{"GET", info, "guest", "guest-pw", 403, bkrepo.CodeRequestDenied},
		{"GET", s.Endpoint + "/repository/api/repo/info/other/packages/GENERIC", "guest", "guest-pw", 404, bkrepo.CodeRepositoryNotFound},
		{"GET", s.Endpoint + "/repository/api/repo/info/bkpaas/other/GENERIC", "bkpaas", "secret", 404, bkrepo.CodeRepositoryNotFound},
		{"GET", s.Endpoint + "/repository/api/repo/info/bkpaas/packages/DOCKER", "bkpaas", "secret", 200, 0},
		{"GET", s.Endpoint + "/generic/bkpaas/packages/app/gone.tar.gz", "bkpaas", "secret", 404, bkrepo.CodeNodeNotFound},
		{"HEAD", obj, "bkpaas", "wrong", 401, -1},
		{"PUT", obj, "bkpaas", "secret", 405, bkrepo.CodeMethodNotAllowed},
	} {
		status, _, code := do(t, http.DefaultClient, c.method, c.url, c.user, c.password)
		if status != c.status || code != c.code {
			t.Errorf("%s %s as %q: %d code %d, want %d code %d", c.method, c.url, c.user, status, code, c.status, c.code)
		}
	}
	status, h, _ := do(t, http.DefaultClient, "HEAD", obj, "bkpaas", "secret")
	sum := sha256.Sum256(body)
	if status != 200 || h.Get("ETag") != hex.EncodeToString(sum[:]) || h.Get("Content-Length") != "7" {
		t.Errorf("HEAD: %d %v", status, h)
	}
	if w := s.Writes(); len(w) != 1 || w[0].Method != "PUT" || w[0].User != "bkpaas" {
		t.Errorf("writes %+v", w)
	}
	for _, r := range s.Requests() {
		if strings.Contains(r.User+r.Path, "secret") {
			t.Errorf("a request records a password: %+v", r)
		}
	}
}

// Under a prefix only the prefix is served; over TLS the CA is the server's own.
func TestPrefixAndTLS(t *testing.T) {
	o := opts
	o.PathPrefix, o.TLS = "/bkrepo/", true
	s := start(t, o)
	if !strings.HasPrefix(s.Endpoint, "https://127.0.0.1:") || !strings.HasSuffix(s.Endpoint, "/bkrepo") {
		t.Fatalf("endpoint %s", s.Endpoint)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CAPEM) {
		t.Fatal("no CA")
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if status, _, code := do(t, c, "GET", s.Endpoint+"/repository/api/repo/info/bkpaas/packages", "bkpaas", "secret"); status != 200 || code != 0 {
		t.Errorf("under the prefix: %d %d", status, code)
	}
	if status, _, code := do(t, c, "GET", s.URL+"/repository/api/repo/info/bkpaas/packages", "bkpaas", "secret"); status != 404 || code != -1 {
		t.Errorf("outside the prefix: %d %d", status, code)
	}
	if _, err := http.Get(s.Endpoint); err == nil {
		t.Error("a client without the CA connected")
	}
	want := []bkrepo.Request{{"GET", "/bkrepo/repository/api/repo/info/bkpaas/packages", "bkpaas", 200},
		{"GET", "/repository/api/repo/info/bkpaas/packages", "bkpaas", 404}}
	if got := s.Requests(); !reflect.DeepEqual(got, want) {
		t.Errorf("requests %+v", got)
	}
}
