package platformsettings

import (
	"strings"
	"testing"
)

// get_service_remote_endpoints, case by case.
func TestRSV01_RemoteServiceEndpoints(t *testing.T) {
	endpoints := func(t *testing.T, vars map[string]string) []RemoteEndpoint {
		t.Helper()
		s, err := FromEnv(envOf(vars))
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.RemoteServiceEndpoints()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	bundles := map[string]string{
		"PAAS_RSVC_BUNDLE_MYSQL_ENDPOINT_URL":  "http://mysql-svc:8080/",
		"PAAS_RSVC_BUNDLE_OTEL_ENDPOINT_URL":   "http://otel-svc:8080/",
		"PAAS_RSVC_BUNDLE_BKREPO_ENDPOINT_URL": "",
	}

	t.Run("bundles need the shared key", func(t *testing.T) {
		if got := endpoints(t, bundles); len(got) != 0 {
			t.Errorf("without ONE_SIMPLE_JWT_AUTH_KEY: %+v", got)
		}
	})
	t.Run("bundles", func(t *testing.T) {
		vars := map[string]string{"PAAS_ONE_SIMPLE_JWT_AUTH_KEY": "k-canary"}
		for k, v := range bundles {
			vars[k] = v
		}
		got := endpoints(t, vars)
		if len(got) != 2 || got[0].Name != "mysql_remote" || got[1].Name != "svc_otel" {
			t.Fatalf("%+v", got)
		}
		if got[0].Iss != "paas-v3" || got[0].Key != "k-canary" || !got[0].IsReady || got[0].EndpointURL != "http://mysql-svc:8080/" {
			t.Errorf("mysql %+v", got[0])
		}
		if got[1].IsReady {
			t.Error("svc_otel is ready only with RSVC_BUNDLE_OTEL_ENABLED")
		}
		if strings.Contains(got[0].Source, "k-canary") {
			t.Errorf("source quotes the key: %s", got[0].Source)
		}
		vars["PAAS_RSVC_BUNDLE_OTEL_ENABLED"] = "true"
		vars["PAAS_RSVC_BUNDLE_EXTRA_SERVICES"] = `@json [{"name": "svc_x", "endpoint_url": "http://x/"}, {"name": "no-url"}, {"name": "svc_y", "endpoint_url": "http://y/", "jwt_auth_conf": {"key": "own"}}]`
		got = endpoints(t, vars)
		if len(got) != 4 || !got[1].IsReady || got[2].Name != "svc_x" || !got[2].Extra || got[2].Key != "k-canary" || got[2].Invalid != "" {
			t.Fatalf("%+v", got)
		}
		if got[3].Key != "own" || got[3].Iss != "paas-v3" {
			t.Errorf("svc_y: jwt_auth_conf merged over the template's: %+v", got[3])
		}
	})
	t.Run("SERVICE_REMOTE_ENDPOINTS wins outright", func(t *testing.T) {
		vars := map[string]string{"PAAS_ONE_SIMPLE_JWT_AUTH_KEY": "k", "PAAS_RSVC_BUNDLE_MYSQL_ENDPOINT_URL": "http://mysql-svc/",
			"PAAS_SERVICE_REMOTE_ENDPOINTS": `@json [
				{"name": "mysql_remote", "endpoint_url": "http://m/", "provision_params_tmpl": {}, "jwt_auth_conf": {"iss": "paas-v3", "key": "k1"}, "is_ready": false},
				{"name": "bad", "endpoint_url": "http://b/", "jwt_auth_conf": {"iss": "paas-v3"}, "prepare_params": {}}]`}
		got := endpoints(t, vars)
		if len(got) != 2 || got[0].EndpointURL != "http://m/" || got[0].Key != "k1" || got[0].IsReady || got[0].Invalid != "" {
			t.Fatalf("%+v", got)
		}
		want := "config data is not valid: provision_params_tmpl is missing, prepare_params is an unexpected argument, jwt_auth_conf has no key"
		if got[1].Invalid != want {
			t.Errorf("invalid entry: %q, want %q", got[1].Invalid, want)
		}
	})
	t.Run("not a list", func(t *testing.T) {
		s, err := FromEnv(envOf(map[string]string{"PAAS_SERVICE_REMOTE_ENDPOINTS": "http://m/"}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.RemoteServiceEndpoints(); err == nil || !strings.Contains(err.Error(), "is not a list") {
			t.Errorf("%v", err)
		}
	})
}
