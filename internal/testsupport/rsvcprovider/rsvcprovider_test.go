package rsvcprovider

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, url, auth string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// The provider refuses every token the SDK refuses, with 403, and lists its services
// to the platform's; meta_info/ answers anyone.
func TestProviderChecksTheJWTAsTheSDK(t *testing.T) {
	p := Start(Options{Iss: "paas-v3", Key: "one-simple-jwt-key", Services: []Service{{UUID: "s1", Name: "mysql",
		Plans: []Plan{{UUID: "p1", Name: "default", Description: "d", IsActive: true}}}}})
	defer p.Close()
	hour := time.Now().Add(time.Hour)
	good := Sign("paas-v3", "one-simple-jwt-key", "internal_platform", hour)

	if code, body := get(t, p.Endpoint()+"meta_info/", ""); code != 200 || !strings.Contains(body, `"version":"3.1.0"`) {
		t.Errorf("meta_info/: %d %s", code, body)
	}
	if code, body := get(t, p.Endpoint()+"services/", "Bearer "+good); code != 200 || !strings.Contains(body, `"uuid":"p1"`) {
		t.Errorf("services/ with the platform's token: %d %s", code, body)
	}
	for name, auth := range map[string]string{
		"no token":      "",
		"wrong key":     "Bearer " + Sign("paas-v3", "another-key", "internal_platform", hour),
		"wrong iss":     "Bearer " + Sign("paas-v2", "one-simple-jwt-key", "internal_platform", hour),
		"wrong role":    "Bearer " + Sign("paas-v3", "one-simple-jwt-key", "default", hour),
		"expired":       "Bearer " + Sign("paas-v3", "one-simple-jwt-key", "internal_platform", time.Now().Add(-time.Minute)),
		"tampered":      "Bearer " + good[:len(good)-2] + "AA",
		"not a JWT":     "Bearer abc",
		"other scheme ": "Basic " + good, // the prefix is not checked: accepted below
	} {
		code, _ := get(t, p.Endpoint()+"services/", auth)
		want := http.StatusForbidden
		if name == "other scheme " {
			want = http.StatusOK
		}
		if code != want {
			t.Errorf("%s: %d, want %d", name, code, want)
		}
	}
	if len(p.Refusals()) != 7 || p.Writes() != 0 {
		t.Errorf("refusals %v, writes %d", p.Refusals(), p.Writes())
	}
}
