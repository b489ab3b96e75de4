package platformsettings

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
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
	// settings, or the YAML tag (!!binary, !!set, ...) of a value paasdiag does not
	// reproduce: paasdiag does not reproduce the setting.
	Lazy string
	// Unknown: the value comes from the running pod (fieldRef), which paasdiag does not
	// see.
	Unknown bool
	// Source says where the value came from, without it: the environment variable's
	// provenance (Var.Source), or the settings file's ("/app/settings_local.yaml from
	// ConfigMap c key k"); several, "; "-separated, when merged.
	Source string
}

// Settings are the platform's Dynaconf settings: Dynaconf with envvar_prefix PAAS
// (paasng/settings/__init__.py) over the container's environment and the settings
// files paasdiag can read. Keys are upper-case, as Dynaconf stores top-level keys.
type Settings struct {
	values map[string]*Setting
	// Warnings say what makes the process's settings differ from what paasdiag read
	// (Dynaconf's own *_FOR_DYNACONF variables, settings files).
	Warnings []string
	// Unseen are the settings files the platform's Dynaconf would load, or looks for,
	// that paasdiag cannot read (Env.Files.Unseen): settings in them are not seen.
	Unseen []UnseenFile
}

// Prefix is the platform's ENVVAR_PREFIX_FOR_DYNACONF.
const Prefix = "PAAS"

// FromEnv builds the settings as Dynaconf 3.2.13 loads them (later winning): the
// settings files PAAS_SETTINGS names (Env.Files, StageSettingsFiles), then the
// environment, then the platform's includes (/app/settings_files/*.yaml, then
// /app/settings_local.yaml, StageIncludes), then the environment again, which so wins
// over every file. From the environment: every variable beginning with DYNACONF_,
// then (winning) every one beginning with PAAS_ (exactly that case); the rest of the
// name is the key, upper-cased up to its first "__", after which it names nested keys;
// each value parsed by parse_conf_data. From a YAML file: each top-level key
// upper-cased (up to its first "__"), "__" and "." naming nested keys, a string value
// converted when it begins with a token (not TOML-parsed). A top-level key replaces
// what is there unless the value or the file asks to merge (dynaconf_merge); a nested
// one merges into it. A file that does not load is a Problem naming it and its object.
func FromEnv(env *Env) (*Settings, error) {
	s := &Settings{values: map[string]*Setting{}}
	names := make([]string, 0, len(env.Vars))
	for name := range env.Vars {
		names = append(names, name)
	}
	sort.Strings(names)
	loadFiles := func(stage Stage) error {
		if env.Files == nil {
			return nil
		}
		for _, f := range env.Files.Loaded {
			if f.Stage == stage {
				if err := s.loadFile(f); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := loadFiles(StageSettingsFiles); err != nil {
		return nil, err
	}
	if err := s.loadEnv(env, names, true); err != nil {
		return nil, err
	}
	if env.Files != nil {
		if inc := s.Get("DYNACONF_INCLUDE"); inc != nil {
			s.Warnings = append(s.Warnings, fmt.Sprintf("DYNACONF_INCLUDE (%s) names more settings files, which Dynaconf loads before the platform's includes: paasdiag does not read them", inc.Source))
		}
		if err := loadFiles(StageIncludes); err != nil {
			return nil, err
		}
		// load_includes: "ensure env vars are the last thing loaded after all includes"
		if err := s.loadEnv(env, names, false); err != nil {
			return nil, err
		}
		s.Unseen = env.Files.Unseen
		s.Warnings = append(s.Warnings, env.Files.Warnings...)
	}
	for _, name := range names {
		if strings.HasSuffix(name, "_FOR_DYNACONF") {
			s.Warnings = append(s.Warnings, fmt.Sprintf("%s (%s) changes how the platform's Dynaconf loads its settings; paasdiag reads them as the platform's code configures it", name, env.Vars[name].Source))
		}
	}
	if v, ok := env.Vars[SettingsVar]; ok && env.Files == nil {
		s.Warnings = append(s.Warnings, fmt.Sprintf("PAAS_SETTINGS (%s) names settings files; settings in them that the environment does not set are not read", v.Source))
	}
	return s, nil
}

// loadEnv is Dynaconf's env loader over the container's environment; first says
// whether to report what it finds (Dynaconf runs it twice).
func (s *Settings) loadEnv(env *Env, names []string, first bool) error {
	seen := map[string]string{}
	for _, prefix := range []string{"DYNACONF_", Prefix + "_"} {
		for _, name := range names {
			rest, ok := strings.CutPrefix(name, prefix)
			if !ok || rest == "" {
				continue
			}
			v := env.Vars[name]
			key := upperfy(rest)
			if prefix == Prefix+"_" && first {
				if other, dup := seen[key]; dup {
					s.Warnings = append(s.Warnings, fmt.Sprintf("%s and %s set the same setting %s: which one the platform uses depends on its process's environment order", other, name, key))
				}
				seen[key] = name
			}
			setting := &Setting{Source: v.Source}
			del := false
			if !v.Known {
				setting.Unknown = true
			} else {
				value, lazy, d, err := parseConfData(v.Value)
				if err != nil {
					return &Problem{fmt.Sprintf("settingsFrom: %s (%s): %v; the platform's settings would not load", name, v.Source, err)}
				}
				setting.Value, setting.Lazy, del = value, lazy, d
			}
			s.put(splitKey(rest, true), setting, del, false)
		}
	}
	return nil
}

// loadFile is Dynaconf's YAML loader over one file (environments=False: the whole file
// is the settings): top-level keys upper-cased, a later one of the same name winning;
// dynaconf_merge and dynaconf_dotted_lookup are the file's own switches.
func (s *Settings) loadFile(f SettingsFile) error {
	fail := func(key string, err error) error {
		where := ""
		if key != "" {
			where = ", key " + key
		}
		return &Problem{fmt.Sprintf("settingsFrom: settings file %s (%s)%s: %v; the platform's settings would not load", f.Path, f.Object, where, err)}
	}
	entries, err := parseSettingsYAML([]byte(f.Data))
	if err != nil {
		return fail("", err)
	}
	var data []yamlEntry
	index := map[string]int{}
	for _, e := range entries {
		k := upperfy(e.key)
		if i, ok := index[k]; ok {
			data[i].value = e.value
			continue
		}
		index[k] = len(data)
		data = append(data, yamlEntry{key: k, value: e.value})
	}
	fileMerge, dotted := false, true
	var rest []yamlEntry
	for _, e := range data {
		switch e.key {
		case "DYNACONF_MERGE":
			fileMerge = Truthy(e.value)
		case "DYNACONF_DOTTED_LOOKUP":
			dotted = e.value == true
		default:
			rest = append(rest, e)
		}
	}
	source := f.Path + " from " + f.Object
	for _, e := range rest {
		value, lazy, del, err := parseFileValue(e.value)
		if err != nil {
			return fail(e.key, err)
		}
		s.put(splitKey(e.key, dotted), &Setting{Value: value, Lazy: lazy, Source: source}, del, fileMerge)
	}
	return nil
}

// parseFileValue is parse_conf_data(tomlfy=False) over a value from a file: strings
// beginning with a token converted, at any depth, others kept. A token computed by the
// process, or @del, below the top level makes the whole setting not reproduced.
func parseFileValue(v any) (any, string, bool, error) {
	switch x := v.(type) {
	case string:
		value, lazy, del, matched, err := convertToken(x)
		if !matched {
			return x, "", false, nil
		}
		return value, lazy, del, err
	case unreproduced:
		return nil, x.tag, false, nil
	case []any:
		lazy := ""
		for i := range x {
			value, err := parseNested(x[i], &lazy)
			if err != nil {
				return nil, "", false, err
			}
			x[i] = value
		}
		return x, lazy, false, nil
	case map[string]any:
		lazy := ""
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			value, err := parseNested(x[k], &lazy)
			if err != nil {
				return nil, "", false, err
			}
			x[k] = value
		}
		return x, lazy, false, nil
	}
	return v, "", false, nil
}

// parseNested parses an element of a list or dict; the first element the process
// computes (or an @del below the top level) names the whole setting's lazy token.
func parseNested(v any, lazy *string) (any, error) {
	value, l, del, err := parseFileValue(v)
	if del {
		l = "@del"
	}
	if *lazy == "" {
		*lazy = l
	}
	return value, err
}

// upperfy is Dynaconf's: only the part before the first "__" is upper-cased.
func upperfy(key string) string {
	if top, rest, ok := strings.Cut(key, "__"); ok {
		return strings.ToUpper(top) + "__" + rest
	}
	return strings.ToUpper(key)
}

// splitKey is how Settings.set reads a key: "__" (NESTED_SEPARATOR_FOR_DYNACONF) becomes
// "."; with dotted lookup a key with "." names nested keys, the first upper-cased, the
// others as they are; otherwise the whole (stripped) key is upper-cased up to its
// first "__".
func splitKey(key string, dotted bool) []string {
	k := strings.ReplaceAll(key, "__", ".")
	if dotted && strings.Contains(k, ".") {
		parts := strings.Split(k, ".")
		parts[0] = strings.ToUpper(parts[0])
		return parts
	}
	return []string{upperfy(strings.TrimSpace(k))}
}

// put stores a setting. A top-level key replaces what is there, unless the file asks
// to merge (fileMerge) or the value does (a dict with dynaconf_merge, a list with
// "dynaconf_merge"); a nested key sets that key of the dict setting, merged into what is
// there (a nested key matches an existing one whatever its case). del is @del.
func (s *Settings) put(parts []string, v *Setting, del, fileMerge bool) {
	if len(parts) > 1 {
		if del {
			s.unsetNested(parts)
			return
		}
		s.setNested(parts, v)
		return
	}
	key := parts[0]
	if del {
		delete(s.values, key)
		return
	}
	old := s.values[key]
	if old == nil || v.Lazy != "" || v.Unknown || reflect.DeepEqual(old.Value, v.Value) {
		s.values[key] = v
		return
	}
	merge, unique := fileMerge, false
	if !fileMerge {
		switch x := v.Value.(type) {
		case map[string]any:
			local, ok := x["dynaconf_merge"]
			localUnique, hasUnique := x["dynaconf_merge_unique"]
			delete(x, "dynaconf_merge")
			delete(x, "dynaconf_merge_unique")
			if !ok {
				local, ok = localUnique, hasUnique
			}
			if _, isBool := local.(bool); ok && local != nil && !isBool && len(x) == 0 {
				v.Value = local // dynaconf_merge holding a value (#241)
			}
			merge = ok && Truthy(local)
		case []any:
			for i, item := range x {
				if item == "dynaconf_merge" || item == "dynaconf_merge_unique" {
					merge, unique = true, item == "dynaconf_merge_unique"
					v.Value = append(x[:i:i], x[i+1:]...)
					break
				}
			}
		}
	}
	if !merge {
		s.values[key] = v
		return
	}
	if old.Lazy != "" || old.Unknown {
		v.Lazy, v.Unknown = old.Lazy, old.Unknown
	}
	v.Value = objectMerge(old.Value, v.Value, unique)
	v.Source = joinSources(old.Source, v.Source)
	s.values[key] = v
}

// objectMerge is Dynaconf's object_merge: a list gets the old items before its own; a
// dict keeps the old keys it does not set (keys matched whatever their case), merging
// those both have; anything else is the new value.
func objectMerge(old, new any, unique bool) any {
	if old == nil || new == nil || reflect.DeepEqual(old, new) {
		return new
	}
	switch n := new.(type) {
	case []any:
		o, ok := old.([]any)
		if !ok {
			return new
		}
		for i, item := range n {
			if item == "dynaconf_merge_unique" {
				n, unique = append(n[:i:i], n[i+1:]...), true
				break
			}
		}
		var head []any
		for _, item := range o {
			if unique && containsValue(n, item) {
				continue
			}
			head = append(head, item)
		}
		return append(head, n...)
	case map[string]any:
		o, ok := old.(map[string]any)
		if !ok {
			return new
		}
		for k, v := range n {
			if c := existingCase(o, k); c != k {
				delete(n, k)
				n[c] = v
			}
		}
		should, ok := n["dynaconf_merge"]
		delete(n, "dynaconf_merge")
		if ok && !Truthy(should) {
			return n
		}
		for k, v := range o {
			if nv, ok := n[k]; ok {
				n[k] = objectMerge(v, nv, false)
			} else {
				n[k] = v
			}
		}
		return n
	}
	return new
}

func containsValue(list []any, v any) bool {
	for _, x := range list {
		if reflect.DeepEqual(x, v) {
			return true
		}
	}
	return false
}

// setNested sets a nested key of a dict setting, merged into what is there.
func (s *Settings) setNested(parts []string, v *Setting) {
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

// unsetNested is @del on a nested key: that key goes.
func (s *Settings) unsetNested(parts []string) {
	top := s.values[parts[0]]
	if top == nil {
		return
	}
	m, _ := top.Value.(map[string]any)
	for i, p := range parts[1:] {
		if m == nil {
			return
		}
		p = existingCase(m, p)
		if i == len(parts)-2 {
			delete(m, p)
			return
		}
		m, _ = m[p].(map[string]any)
	}
}

func existingCase(m map[string]any, key string) string {
	if _, ok := m[key]; ok {
		return key
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
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
	for _, s := range strings.Split(a, "; ") {
		if s == b {
			return a
		}
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
	if value, lazy, del, matched, err := convertToken(raw); matched {
		return value, lazy, del, err
	}
	var doc map[string]any
	if _, err := toml.Decode("key="+raw, &doc); err != nil {
		return raw, "", false, nil
	}
	return fromTOML(doc["key"]), "", false, nil
}

// convertToken applies the token a string begins with (matched), as _parse_conf_data
// does: the token is the first word; a converter followed by @format or @jinja is
// computed by the process.
func convertToken(raw string) (value any, lazy string, del, matched bool, err error) {
	for _, c := range converters {
		if !strings.HasPrefix(raw, c) {
			continue
		}
		token, rest, _ := strings.Cut(raw, " ")
		if slices.Contains(converters, token) && (strings.HasPrefix(rest, "@format") || strings.HasPrefix(rest, "@jinja")) {
			return nil, strings.Fields(rest)[0], false, true, nil
		}
		switch token {
		case "@str":
			return rest, "", false, true, nil
		case "@int":
			n, err := pyInt(rest)
			return n, "", false, true, err
		case "@float":
			f, err := strconv.ParseFloat(strings.TrimSpace(strings.ReplaceAll(rest, "_", "")), 64)
			if err != nil {
				return nil, "", false, true, fmt.Errorf("@float: could not convert string to float")
			}
			return f, "", false, true, nil
		case "@bool":
			switch strings.ToLower(rest) {
			case "t", "true", "enabled", "1", "on", "yes":
				return true, "", false, true, nil
			}
			return false, "", false, true, nil
		case "@json":
			v, err := pyJSON(rest)
			return v, "", false, true, err
		case "@none", "@null", "@note", "@comment", "@empty":
			return nil, "", false, true, nil
		case "@del":
			return nil, "", true, true, nil
		case "@format", "@jinja", "@get", "@merge", "@merge_unique", "@insert", "@reset", "@read_file":
			return nil, token, false, true, nil
		default:
			// Dynaconf raises KeyError: the value starts like a token it knows. The
			// word is not quoted: it may be a secret's beginning.
			return nil, "", false, true, fmt.Errorf("begins with %s but is no Dynaconf token", c)
		}
	}
	return nil, "", false, false, nil
}

func pyInt(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.ReplaceAll(strings.TrimSpace(s), "_", ""), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("@int: invalid literal for int()")
	}
	return n, nil
}

func pyJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("@json: not valid JSON")
	}
	// json.loads refuses anything after the value but whitespace ("Extra data").
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("@json: not valid JSON (extra data after the value)")
	}
	return fromJSON(v), nil
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
