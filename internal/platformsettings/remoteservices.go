package platformsettings

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// RemoteEndpoint is one remote add-on service provider the platform is configured with
// (an entry of its SERVICE_REMOTE_ENDPOINTS setting, as get_service_remote_endpoints
// builds it and RemoteSvcConfig reads it).
type RemoteEndpoint struct {
	// Name is the entry's name (mysql_remote, svc_bk_repo, ...).
	Name string
	// EndpointURL is where meta_info/ and services/ are resolved against (urljoin).
	EndpointURL string
	// Iss and Key are jwt_auth_conf's: the platform signs its HS256 token with Key.
	Iss, Key string
	// IsReady false: the platform skips provisioning from it (manager.py provision),
	// so a deploy does not fail on it.
	IsReady bool
	// Bundle names the RSVC_BUNDLE_* setting the entry was made from; empty for an
	// entry of SERVICE_REMOTE_ENDPOINTS.
	Bundle string
	// Extra: from RSVC_BUNDLE_EXTRA_SERVICES, which only platform 1.7 and later read.
	Extra bool
	// Source says where the entry came from, never the key.
	Source string
	// Invalid says why the platform refuses the entry (RemoteSvcConfig.from_json); the
	// other fields are then what could be read.
	Invalid string
}

// remoteConfigKeys are RemoteSvcConfig's fields: required, then optional.
var (
	remoteConfigRequired = []string{"name", "endpoint_url", "provision_params_tmpl", "jwt_auth_conf"}
	remoteConfigOptional = []string{"prefer_async_delete", "is_ready", "prefer_idempotent_provision"}
)

// remoteBundles are the RSVC_BUNDLE_*_ENDPOINT_URL settings, in the order
// get_service_remote_endpoints adds them, with the names it gives them.
var remoteBundles = []struct{ setting, name string }{
	{"RSVC_BUNDLE_MYSQL_ENDPOINT_URL", "mysql_remote"},
	{"RSVC_BUNDLE_BKREPO_ENDPOINT_URL", "svc_bk_repo"},
	{"RSVC_BUNDLE_RABBITMQ_ENDPOINT_URL", "svc_rabbitmq"},
	{"RSVC_BUNDLE_OTEL_ENDPOINT_URL", "svc_otel"},
}

// RemoteServiceEndpoints is get_service_remote_endpoints (paasng/settings/utils.py):
// a non-empty SERVICE_REMOTE_ENDPOINTS wins outright; otherwise, only with
// ONE_SIMPLE_JWT_AUTH_KEY set, one entry per RSVC_BUNDLE_*_ENDPOINT_URL that is set
// (iss paas-v3, that key; svc_otel ready only with RSVC_BUNDLE_OTEL_ENABLED), then
// RSVC_BUNDLE_EXTRA_SERVICES merged over the same template. Each entry is checked as
// RemoteSvcConfig.from_json checks it. An error means the settings cannot be used at
// all (a value computed by the process, a SERVICE_REMOTE_ENDPOINTS that is no list).
func (s *Settings) RemoteServiceEndpoints() ([]RemoteEndpoint, error) {
	if st := s.Get("SERVICE_REMOTE_ENDPOINTS"); st != nil && Truthy(st.Value) {
		if err := reproducible(st, "SERVICE_REMOTE_ENDPOINTS"); err != nil {
			return nil, err
		}
		list, ok := st.Value.([]any)
		if !ok {
			return nil, &Missing{Setting: Prefix + "_SERVICE_REMOTE_ENDPOINTS", Message: fmt.Sprintf(
				"SERVICE_REMOTE_ENDPOINTS (%s) is not a list: the platform cannot read its remote services", st.Source)}
		}
		out := make([]RemoteEndpoint, 0, len(list))
		for i, e := range list {
			out = append(out, remoteEntry(e, fmt.Sprintf("SERVICE_REMOTE_ENDPOINTS[%d] (%s)", i, st.Source)))
		}
		return out, nil
	}
	keySetting := s.Get("ONE_SIMPLE_JWT_AUTH_KEY")
	if keySetting == nil || !Truthy(keySetting.Value) {
		return nil, nil
	}
	if err := reproducible(keySetting, "ONE_SIMPLE_JWT_AUTH_KEY"); err != nil {
		return nil, err
	}
	key := PyStr(keySetting.Value)
	var out []RemoteEndpoint
	for _, b := range remoteBundles {
		st := s.Get(b.setting)
		if st == nil || !Truthy(st.Value) {
			continue
		}
		if err := reproducible(st, b.setting); err != nil {
			return nil, err
		}
		e := RemoteEndpoint{Name: b.name, EndpointURL: PyStr(st.Value), Iss: "paas-v3", Key: key, IsReady: true, Bundle: b.setting,
			Source: fmt.Sprintf("%s (%s), key ONE_SIMPLE_JWT_AUTH_KEY (%s)", b.setting, st.Source, keySetting.Source)}
		if b.name == "svc_otel" {
			enabled := s.Get("RSVC_BUNDLE_OTEL_ENABLED")
			e.IsReady = enabled != nil && Truthy(enabled.Value)
		}
		out = append(out, e)
	}
	if st := s.Get("RSVC_BUNDLE_EXTRA_SERVICES"); st != nil && Truthy(st.Value) {
		if err := reproducible(st, "RSVC_BUNDLE_EXTRA_SERVICES"); err != nil {
			return nil, err
		}
		list, _ := st.Value.([]any)
		for i, raw := range list {
			svc, _ := raw.(map[string]any)
			// `if not svc.get("name") or not svc.get("endpoint_url")`: skipped, logged.
			if svc == nil || !Truthy(svc["name"]) || !Truthy(svc["endpoint_url"]) {
				continue
			}
			merged := map[string]any{
				"provision_params_tmpl": map[string]any{},
				"jwt_auth_conf":         map[string]any{"iss": "paas-v3", "key": key},
				"prefer_async_delete":   true,
			}
			for k, v := range svc {
				merged[k] = v // object_merge: the entry's own keys win over the template's
			}
			if conf, ok := svc["jwt_auth_conf"].(map[string]any); ok {
				m := map[string]any{"iss": "paas-v3", "key": key}
				for k, v := range conf {
					m[k] = v
				}
				merged["jwt_auth_conf"] = m
			}
			e := remoteEntry(merged, fmt.Sprintf("RSVC_BUNDLE_EXTRA_SERVICES[%d] (%s)", i, st.Source))
			e.Extra, e.Bundle = true, "RSVC_BUNDLE_EXTRA_SERVICES"
			out = append(out, e)
		}
	}
	return out, nil
}

// reproducible refuses a setting whose value paasdiag does not see or reproduce.
func reproducible(st *Setting, name string) error {
	switch {
	case st.Unknown:
		return &Missing{Setting: Prefix + "_" + name, Message: fmt.Sprintf("%s comes from the running pod (%s), which paasdiag does not see", name, st.Source)}
	case st.Lazy != "":
		return &Missing{Setting: Prefix + "_" + name, Message: fmt.Sprintf("%s is computed by the platform's process (%s, %s), which paasdiag does not reproduce", name, st.Lazy, st.Source)}
	}
	return nil
}

// remoteEntry reads one entry as RemoteSvcConfig.from_json does: every required key,
// no unknown key; jwt_auth_conf's iss and key.
func remoteEntry(raw any, source string) RemoteEndpoint {
	e := RemoteEndpoint{Source: source, IsReady: true}
	m, ok := raw.(map[string]any)
	if !ok {
		e.Invalid = "the entry is not a mapping"
		return e
	}
	e.Name, _ = m["name"].(string)
	e.EndpointURL = PyStr(m["endpoint_url"])
	if v, ok := m["is_ready"]; ok {
		e.IsReady = Truthy(v)
	}
	var problems []string
	for _, k := range remoteConfigRequired {
		if _, ok := m[k]; !ok {
			problems = append(problems, k+" is missing")
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(remoteConfigRequired, k) && !slices.Contains(remoteConfigOptional, k) {
			problems = append(problems, k+" is an unexpected argument")
		}
	}
	if conf, ok := m["jwt_auth_conf"].(map[string]any); ok {
		e.Iss, e.Key = PyStr(conf["iss"]), PyStr(conf["key"])
		if _, ok := conf["iss"]; !ok {
			problems = append(problems, "jwt_auth_conf has no iss")
		}
		if _, ok := conf["key"]; !ok {
			problems = append(problems, "jwt_auth_conf has no key")
		}
	} else if _, ok := m["jwt_auth_conf"]; ok {
		problems = append(problems, "jwt_auth_conf is not a mapping")
	}
	if len(problems) > 0 {
		e.Invalid = "config data is not valid: " + strings.Join(problems, ", ")
	}
	return e
}
