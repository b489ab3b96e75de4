package platformsettings

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Setting is one of the platform's settings as its Dynaconf object holds it.
type Setting struct {
	// Value: string, int64, float64, bool, nil (None), []any or map[string]any.
	Value any
	// Lazy names the token (@format, @jinja, @get, @merge, ...) of a value the
	// platform's process computes when it reads it, from its own environment and other
	// settings: paasdiag does not reproduce it.
	Lazy string
	// Unknown: the value comes from the running pod (fieldRef), which paasdiag does not
	// see.
	Unknown bool
	// Source is the environment variable's provenance (Var.Source).
	Source string
}

// Settings are the platform's Dynaconf settings, from the environment only: Dynaconf
// with envvar_prefix PAAS (paasng/settings/__init__.py). Keys are upper-case, as
// Dynaconf stores top-level keys.
type Settings struct {
	values map[string]*Setting
	// Warnings say what makes the process's settings differ from what the environment
	// shows (Dynaconf's own *_FOR_DYNACONF variables, settings files).
	Warnings []string
}

// Prefix is the platform's ENVVAR_PREFIX_FOR_DYNACONF.
const Prefix = "PAAS"

// FromEnv builds the settings as Dynaconf 3.2.13's env loader does: every variable
// beginning with DYNACONF_, then (winning) every one beginning with PAAS_ (exactly that
// case); the rest of the name is the key, upper-cased up to its first "__", after which
// it names nested keys; each value parsed by parse_conf_data.
func FromEnv(env *Env) (*Settings, error) {
	s := &Settings{values: map[string]*Setting{}}
	names := make([]string, 0, len(env.Vars))
	for name := range env.Vars {
		names = append(names, name)
	}
	sort.Strings(names)
	seen := map[string]string{}
	for _, prefix := range []string{"DYNACONF_", Prefix + "_"} {
		for _, name := range names {
			rest, ok := strings.CutPrefix(name, prefix)
			if !ok || rest == "" {
				continue
			}
			v := env.Vars[name]
			key := upperfy(rest)
			top, _, _ := strings.Cut(key, "__")
			if prefix == Prefix+"_" {
				if other, dup := seen[key]; dup {
					s.Warnings = append(s.Warnings, fmt.Sprintf("%s and %s set the same setting %s: which one the platform uses depends on its process's environment order", other, name, key))
				}
				seen[key] = name
			}
			setting := &Setting{Source: v.Source}
			if !v.Known {
				setting.Unknown = true
			} else {
				value, lazy, del, err := parseConfData(v.Value)
				if err != nil {
					return nil, &Problem{fmt.Sprintf("settingsFrom: %s (%s): %v; the platform's settings would not load", name, v.Source, err)}
				}
				if del {
					delete(s.values, top)
					continue
				}
				setting.Value, setting.Lazy = value, lazy
			}
			s.set(key, setting)
		}
	}
	for _, name := range names {
		if strings.HasSuffix(name, "_FOR_DYNACONF") {
			s.Warnings = append(s.Warnings, fmt.Sprintf("%s (%s) changes how the platform's Dynaconf loads its settings; paasdiag reads them as the platform's code configures it", name, env.Vars[name].Source))
		}
	}
	if v, ok := env.Vars["PAAS_SETTINGS"]; ok {
		s.Warnings = append(s.Warnings, fmt.Sprintf("PAAS_SETTINGS (%s) names settings files; settings in them that the environment does not set are not read", v.Source))
	}
	return s, nil
}

// upperfy is Dynaconf's: only the part before the first "__" is upper-cased.
func upperfy(key string) string {
	if top, rest, ok := strings.Cut(key, "__"); ok {
		return strings.ToUpper(top) + "__" + rest
	}
	return strings.ToUpper(key)
}

// set stores a setting; a key with "__" sets a nested key of a dict setting, merged into
// what is there (a nested key matches an existing one whatever its case).
func (s *Settings) set(key string, v *Setting) {
	parts := strings.Split(key, "__")
	if len(parts) == 1 {
		s.values[key] = v
		return
	}
	top := s.values[parts[0]]
	if top == nil || top.Lazy != "" || top.Unknown {
		top = &Setting{Value: map[string]any{}, Source: v.Source}
		s.values[parts[0]] = top
	}
	m, ok := top.Value.(map[string]any)
	if !ok {
		m = map[string]any{}
		top.Value = m
	}
	if v.Lazy != "" || v.Unknown {
		top.Lazy, top.Unknown = v.Lazy, v.Unknown
	}
	top.Source = joinSources(top.Source, v.Source)
	for i, p := range parts[1:] {
		p = existingCase(m, p)
		if i == len(parts)-2 {
			m[p] = v.Value
			return
		}
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
}

func existingCase(m map[string]any, key string) string {
	for k := range m {
		if strings.EqualFold(k, key) {
			return k
		}
	}
	return key
}

func joinSources(a, b string) string {
	if a == "" || a == b {
		return b
	}
	return a + "; " + b
}

// Get returns the setting, looked up without regard to case (Dynaconf's get), or nil.
func (s *Settings) Get(key string) *Setting {
	if v, ok := s.values[strings.ToUpper(key)]; ok {
		return v
	}
	return nil
}

// converters are Dynaconf's value tokens (dynaconf/utils/parse_conf.py, converters).
var converters = []string{"@str", "@int", "@float", "@bool", "@json", "@format", "@jinja", "@get",
	"@merge", "@merge_unique", "@insert", "@del", "@none", "@null", "@note", "@comment", "@empty", "@reset", "@read_file"}

// parseConfData is Dynaconf's parse_conf_data for an environment value (tomlfy=True):
// "True"/"False" lower-cased first (boolean_fix); a value beginning with a token is
// converted by it; anything else is read as the TOML value of key=<value>, and kept as
// the string when that is not valid TOML. It returns the value, or the token of a value
// computed lazily by the process, or del for @del.
func parseConfData(raw string) (value any, lazy string, del bool, err error) {
	if t := strings.TrimSpace(raw); t == "True" || t == "False" {
		raw = strings.ToLower(t)
	}
	for _, c := range converters {
		if !strings.HasPrefix(raw, c) {
			continue
		}
		token, rest, _ := strings.Cut(raw, " ")
		switch token {
		case "@str":
			return rest, "", false, nil
		case "@int":
			n, err := pyInt(rest)
			return n, "", false, err
		case "@float":
			f, err := strconv.ParseFloat(strings.TrimSpace(strings.ReplaceAll(rest, "_", "")), 64)
			if err != nil {
				return nil, "", false, fmt.Errorf("@float: could not convert string to float")
			}
			return f, "", false, nil
		case "@bool":
			switch strings.ToLower(rest) {
			case "t", "true", "enabled", "1", "on", "yes":
				return true, "", false, nil
			}
			return false, "", false, nil
		case "@json":
			return pyJSON(rest)
		case "@none", "@null", "@note", "@comment", "@empty":
			return nil, "", false, nil
		case "@del":
			return nil, "", true, nil
		case "@format", "@jinja", "@get", "@merge", "@merge_unique", "@insert", "@reset", "@read_file":
			return nil, token, false, nil
		default:
			// Dynaconf raises KeyError: the token starts like one it knows.
			return nil, "", false, fmt.Errorf("unknown Dynaconf token %s", token)
		}
	}
	var doc map[string]any
	if _, err := toml.Decode("key="+raw, &doc); err != nil {
		return raw, "", false, nil
	}
	return fromTOML(doc["key"]), "", false, nil
}

func pyInt(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.ReplaceAll(strings.TrimSpace(s), "_", ""), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("@int: invalid literal for int()")
	}
	return n, nil
}

func pyJSON(s string) (any, string, bool, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, "", false, fmt.Errorf("@json: not valid JSON")
	}
	return fromJSON(v), "", false, nil
}

func fromJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = fromJSON(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = fromJSON(x[k])
		}
	}
	return v
}

func fromTOML(v any) any {
	switch x := v.(type) {
	case []any:
		for i := range x {
			x[i] = fromTOML(x[i])
		}
		return x
	case []map[string]any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = fromTOML(x[i])
		}
		return out
	case map[string]any:
		for k := range x {
			x[k] = fromTOML(x[k])
		}
		return x
	case time.Time:
		return x.Format(time.RFC3339Nano)
	}
	return v
}

// PyStr is Python's str() of a setting's value, as Django hands settings to the MySQL
// client: 3306 is "3306", True is "True", None is "None".
func PyStr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return pyFloat(x)
	}
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(v)
	return strings.TrimSpace(b.String())
}

func pyFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	case f == math.Trunc(f) && math.Abs(f) < 1e16:
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// Truthy is Python's truth of a setting's value.
func Truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case bool:
		return x
	case int64:
		return x != 0
	case float64:
		return x != 0
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}
