// The aliases of go.yaml.in/yaml/v3 that sigs.k8s.io/yaml (a direct dependency) carries
// are deprecated in favour of importing go.yaml.in/yaml/v3 itself, which go.mod has only
// as an indirect dependency: switching needs that line of go.mod to lose "// indirect".
//
//lint:file-ignore SA1019 go.yaml.in/yaml/v3 through sigs.k8s.io/yaml, see above

package platformsettings

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	yaml "sigs.k8s.io/yaml/goyaml.v3"
)

// A settings file is read as the platform's Dynaconf 3.2.13 reads YAML: its vendored
// ruamel.yaml 0.16.10 safe_load (dynaconf/loaders/yaml_loader.py), which follows YAML
// 1.2 unless the document says %YAML 1.1 (ruamel/yaml/compat.py _DEFAULT_YAML_VERSION):
// yes, no, on, off, y and n are strings, 0755 is the int 755 (0o755 is 493), duplicate
// keys, a second document or a tag it has no constructor for fail the load. The parser
// is go-yaml v3; the typing of plain scalars is ruamel's (its resolver's regular
// expressions and constructors, reproduced below), not go-yaml's.

// yamlEntry is a top-level key of a settings file and its value.
type yamlEntry struct {
	key   string
	value any
}

// unreproduced is a value of a YAML type paasdiag does not reproduce (!!binary, !!set,
// !!omap, !!pairs): the platform loads it, paasdiag names it.
type unreproduced struct{ tag string }

type yamlVersion int

const (
	yaml12 yamlVersion = iota
	yaml11
)

// parseSettingsYAML returns the top-level mapping of a settings file in its order, nil
// when the file has no content (Dynaconf skips a file whose content is falsy), or an
// error when the platform's load would fail.
func parseSettingsYAML(data []byte) ([]yamlEntry, error) {
	if !utf8.Valid(data) {
		return nil, errors.New("not UTF-8 (Dynaconf opens settings files as utf-8)")
	}
	data, version, err := yamlDirective(data)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, nil
		}
		return nil, fmt.Errorf("not valid YAML: %v", err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); err != io.EOF {
		if err != nil {
			return nil, fmt.Errorf("not valid YAML: %v", err)
		}
		return nil, fmt.Errorf("expected a single document in the stream, but found another document (line %d)", next.Line)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	c := &yamlConstructor{version: version}
	root := c.deref(doc.Content[0])
	if root.Kind != yaml.MappingNode || root.Style&yaml.TaggedStyle != 0 {
		v, err := c.construct(root, 0)
		if err != nil {
			return nil, err
		}
		if !Truthy(v) {
			return nil, nil
		}
		return nil, fmt.Errorf("the document is %s, not a mapping (Dynaconf fails on it)", pyTypeName(v))
	}
	keys, values, err := c.mapping(root, 0)
	if err != nil {
		return nil, err
	}
	out := make([]yamlEntry, len(keys))
	for i := range keys {
		out[i] = yamlEntry{key: PyStr(keys[i]), value: values[i]}
	}
	return out, nil
}

// yamlDirective reads a %YAML directive (ruamel applies 1.1 rules under %YAML 1.1, 1.2
// ones otherwise) and blanks it, since go-yaml v3 accepts only %YAML 1.1.
func yamlDirective(data []byte) ([]byte, yamlVersion, error) {
	version := yaml12
	lines := bytes.SplitAfter(data, []byte("\n"))
	for i, line := range lines {
		t := strings.TrimSpace(strings.TrimPrefix(string(line), "\ufeff"))
		switch {
		case t == "" || strings.HasPrefix(t, "#"):
			continue
		case strings.HasPrefix(t, "%YAML"):
			v := strings.Fields(t)
			if len(v) < 2 || (v[1] != "1.1" && v[1] != "1.2") {
				return nil, 0, fmt.Errorf("line %d: %s: ruamel.yaml has no rules for it", i+1, t)
			}
			if v[1] == "1.1" {
				version = yaml11
			}
			out := bytes.Clone(data)
			start := len(bytes.Join(lines[:i], nil))
			out[start+bytes.IndexByte(line, '%')] = '#'
			return out, version, nil
		case strings.HasPrefix(t, "%"):
			continue
		}
		break
	}
	return data, version, nil
}

type yamlConstructor struct {
	version yamlVersion
}

const maxYAMLDepth = 100

func (c *yamlConstructor) deref(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < maxYAMLDepth; i++ {
		n = n.Alias
	}
	return n
}

// tag is the node's explicit tag in short form ("!!int", "!foo"), or "" when it has none.
func tag(n *yaml.Node) string {
	if n.Style&yaml.TaggedStyle == 0 {
		return ""
	}
	if rest, ok := strings.CutPrefix(n.Tag, "tag:yaml.org,2002:"); ok {
		return "!!" + rest
	}
	return n.Tag
}

func (c *yamlConstructor) construct(n *yaml.Node, depth int) (any, error) {
	if depth > maxYAMLDepth {
		return nil, fmt.Errorf("line %d: nested too deeply (a recursive alias?)", n.Line)
	}
	n = c.deref(n)
	t := tag(n)
	switch n.Kind {
	case yaml.MappingNode:
		switch t {
		case "", "!", "!!map":
		case "!!set", "!!omap", "!!pairs":
			return unreproduced{t}, nil
		default:
			return nil, fmt.Errorf("line %d: could not determine a constructor for the tag %q on a mapping", n.Line, t)
		}
		keys, values, err := c.mapping(n, depth)
		if err != nil {
			return nil, err
		}
		m := make(map[string]any, len(keys))
		for i := range keys {
			m[PyStr(keys[i])] = values[i]
		}
		return m, nil
	case yaml.SequenceNode:
		switch t {
		case "", "!", "!!seq":
		case "!!omap", "!!pairs":
			return unreproduced{t}, nil
		default:
			return nil, fmt.Errorf("line %d: could not determine a constructor for the tag %q on a sequence", n.Line, t)
		}
		out := make([]any, 0, len(n.Content))
		for _, item := range n.Content {
			v, err := c.construct(item, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.ScalarNode:
		if t == "" {
			if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
				return n.Value, nil
			}
			t = c.resolve(n.Value)
		}
		return c.scalar(n, t)
	}
	return nil, fmt.Errorf("line %d: a YAML node paasdiag does not read", n.Line)
}

// mapping is ruamel's SafeConstructor.construct_mapping, merge keys (<<) flattened as
// its flatten_mapping does: the merged mappings first (an earlier one in a list of them
// winning), then the node's own keys; a duplicate key fails unless merge keys are present.
func (c *yamlConstructor) mapping(n *yaml.Node, depth int) ([]any, []any, error) {
	own, merged, err := c.flatten(n, depth)
	if err != nil {
		return nil, nil, err
	}
	var keys, values []any
	index := map[string]int{}
	add := func(pairs []*yaml.Node, check bool) error {
		for i := 0; i+1 < len(pairs); i += 2 {
			k, err := c.construct(pairs[i], depth+1)
			if err != nil {
				return err
			}
			switch k.(type) {
			case []any, map[string]any, unreproduced:
				return fmt.Errorf("line %d: a mapping key that is not a scalar (paasdiag does not read it)", pairs[i].Line)
			}
			v, err := c.construct(pairs[i+1], depth+1)
			if err != nil {
				return err
			}
			id := pyHashKey(k)
			if j, dup := index[id]; dup {
				if check {
					return fmt.Errorf("line %d: found duplicate key %q (ruamel.yaml refuses it)", pairs[i].Line, PyStr(k))
				}
				values[j] = v
				continue
			}
			index[id] = len(keys)
			keys, values = append(keys, k), append(values, v)
		}
		return nil
	}
	if merged != nil {
		if err := add(merged, false); err != nil {
			return nil, nil, err
		}
		if err := add(own, false); err != nil {
			return nil, nil, err
		}
	} else if err := add(own, true); err != nil {
		return nil, nil, err
	}
	return keys, values, nil
}

// flatten returns the node's own key/value nodes and, when it has a merge key, the
// key/value nodes merged into it, in ruamel's order.
func (c *yamlConstructor) flatten(n *yaml.Node, depth int) (own, merged []*yaml.Node, err error) {
	if depth > maxYAMLDepth {
		return nil, nil, fmt.Errorf("line %d: nested too deeply (a recursive alias?)", n.Line)
	}
	seen := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], c.deref(n.Content[i+1])
		if !isMergeKey(k) {
			own = append(own, k, n.Content[i+1])
			continue
		}
		if seen {
			return nil, nil, fmt.Errorf("line %d: found duplicate key \"<<\" (ruamel.yaml refuses it)", k.Line)
		}
		seen = true
		if merged == nil {
			merged = []*yaml.Node{}
		}
		switch v.Kind {
		case yaml.MappingNode:
			o, m, err := c.flatten(v, depth+1)
			if err != nil {
				return nil, nil, err
			}
			merged = append(append(merged, m...), o...)
		case yaml.SequenceNode:
			var subs [][]*yaml.Node
			for _, item := range v.Content {
				item = c.deref(item)
				if item.Kind != yaml.MappingNode {
					return nil, nil, fmt.Errorf("line %d: expected a mapping for merging", item.Line)
				}
				o, m, err := c.flatten(item, depth+1)
				if err != nil {
					return nil, nil, err
				}
				subs = append(subs, append(m, o...))
			}
			for i := len(subs) - 1; i >= 0; i-- {
				merged = append(merged, subs[i]...)
			}
		default:
			return nil, nil, fmt.Errorf("line %d: expected a mapping or list of mappings for merging", v.Line)
		}
	}
	return own, merged, nil
}

func isMergeKey(k *yaml.Node) bool {
	if k.Kind != yaml.ScalarNode || k.Value != "<<" {
		return false
	}
	if t := tag(k); t != "" {
		return t == "!!merge"
	}
	return k.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0
}

// pyHashKey identifies a key as a Python dict does: 1, 1.0 and True are one key.
func pyHashKey(k any) string {
	switch x := k.(type) {
	case string:
		return "s" + x
	case bool:
		if x {
			return "n1"
		}
		return "n0"
	case int64:
		return "n" + strconv.FormatInt(x, 10)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e18 {
			return "n" + strconv.FormatInt(int64(x), 10)
		}
		return "f" + strconv.FormatFloat(x, 'g', -1, 64)
	case nil:
		return "none"
	}
	return fmt.Sprintf("%T%v", k, k)
}

// ruamel.yaml 0.16.10's implicit resolvers (resolver.py implicit_resolvers), in their
// order, with the first characters each applies to.
type implicitResolver struct {
	tag   string
	re    *regexp.Regexp
	first string
	empty bool
}

var (
	reBool12  = regexp.MustCompile(`^(?:true|True|TRUE|false|False|FALSE)$`)
	reBool11  = regexp.MustCompile(`^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$`)
	reFloat12 = regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)|[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`)
	reFloat11 = regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`)
	reInt12   = regexp.MustCompile(`^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+)$`)
	reInt11   = regexp.MustCompile(`^(?:[-+]?0b[0-1_]+|[-+]?0?[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`)
	reMerge   = regexp.MustCompile(`^(?:<<)$`)
	reNull    = regexp.MustCompile(`^(?:~|null|Null|NULL|)$`)
	reTimeRes = regexp.MustCompile(`^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$`)
	reValue   = regexp.MustCompile(`^(?:=)$`)
	// constructor.py SafeConstructor.timestamp_regexp
	reTimestamp = regexp.MustCompile(`^([0-9][0-9][0-9][0-9])-([0-9][0-9]?)-([0-9][0-9]?)(?:(?:[Tt]|[ \t]+)([0-9][0-9]?):([0-9][0-9]):([0-9][0-9])(?:\.([0-9]*))?(?:[ \t]*(Z|([-+])([0-9][0-9]?)(?::([0-9][0-9]))?))?)?$`)

	digits    = "0123456789"
	resolvers = map[yamlVersion][]implicitResolver{
		yaml12: {
			{"!!bool", reBool12, "tTfF", false},
			{"!!float", reFloat12, "-+" + digits + ".", false},
			{"!!int", reInt12, "-+" + digits, false},
			{"!!merge", reMerge, "<", false},
			{"!!null", reNull, "~nN", true},
			{"!!timestamp", reTimeRes, digits, false},
			{"!!value", reValue, "=", false},
		},
		yaml11: {
			{"!!bool", reBool11, "yYnNtTfFoO", false},
			{"!!float", reFloat11, "-+" + digits + ".", false},
			{"!!int", reInt11, "-+" + digits, false},
			{"!!merge", reMerge, "<", false},
			{"!!null", reNull, "~nN", true},
			{"!!timestamp", reTimeRes, digits, false},
			{"!!value", reValue, "=", false},
		},
	}
)

// resolve is ruamel's VersionedResolver.resolve for a plain scalar.
func (c *yamlConstructor) resolve(value string) string {
	for _, r := range resolvers[c.version] {
		if value == "" {
			if !r.empty {
				continue
			}
		} else if !strings.ContainsRune(r.first, rune(value[0])) {
			continue
		}
		if r.re.MatchString(value) {
			return r.tag
		}
	}
	return "!!str"
}

// scalar is the SafeConstructor of the tag.
func (c *yamlConstructor) scalar(n *yaml.Node, t string) (any, error) {
	v := n.Value
	fail := func(what string) error {
		return fmt.Errorf("line %d: %s (the platform's settings would not load)", n.Line, what)
	}
	switch t {
	case "!!str", "!":
		return v, nil
	case "!!null":
		return nil, nil
	case "!!bool":
		switch strings.ToLower(v) {
		case "yes", "y", "true", "on":
			return true, nil
		case "no", "n", "false", "off":
			return false, nil
		}
		return nil, fail("not a YAML boolean")
	case "!!int":
		i, err := c.constructInt(v)
		if err != nil {
			return nil, fail("not a YAML int")
		}
		return i, nil
	case "!!float":
		f, err := c.constructFloat(v)
		if err != nil {
			return nil, fail("not a YAML float")
		}
		return f, nil
	case "!!timestamp":
		s, err := constructTimestamp(v)
		if err != nil {
			return nil, fail("not a YAML timestamp")
		}
		return s, nil
	case "!!binary", "!!set", "!!omap", "!!pairs":
		return unreproduced{t}, nil
	}
	return nil, fail(fmt.Sprintf("could not determine a constructor for the tag %q", t))
}

// constructInt is SafeConstructor.construct_yaml_int. An int too large for int64 is kept
// as its decimal string (Python's str() of it).
func (c *yamlConstructor) constructInt(s string) (any, error) {
	s = strings.ReplaceAll(s, "_", "")
	sign := int64(1)
	if strings.HasPrefix(s, "-") {
		sign = -1
	}
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		s = s[1:]
	}
	if s == "" {
		return nil, errors.New("empty")
	}
	base := 10
	switch {
	case s == "0":
		return int64(0), nil
	case strings.HasPrefix(s, "0b"):
		s, base = s[2:], 2
	case strings.HasPrefix(s, "0x"):
		s, base = s[2:], 16
	case strings.HasPrefix(s, "0o"):
		s, base = s[2:], 8
	case c.version == yaml11 && s[0] == '0':
		base = 8
	case c.version == yaml11 && strings.Contains(s, ":"):
		n := new(big.Int)
		for _, part := range strings.Split(s, ":") {
			d, ok := new(big.Int).SetString(part, 10)
			if !ok {
				return nil, errors.New("sexagesimal")
			}
			n.Mul(n, big.NewInt(60)).Add(n, d)
		}
		return pyIntValue(n.Mul(n, big.NewInt(sign))), nil
	}
	n, ok := new(big.Int).SetString(s, base)
	if !ok {
		return nil, errors.New("int")
	}
	return pyIntValue(n.Mul(n, big.NewInt(sign))), nil
}

func pyIntValue(n *big.Int) any {
	if n.IsInt64() {
		return n.Int64()
	}
	return n.String()
}

// constructFloat is SafeConstructor.construct_yaml_float.
func (c *yamlConstructor) constructFloat(s string) (float64, error) {
	s = strings.ToLower(strings.ReplaceAll(s, "_", ""))
	sign := 1.0
	if strings.HasPrefix(s, "-") {
		sign = -1
	}
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		s = s[1:]
	}
	switch {
	case s == ".inf":
		return sign * math.Inf(1), nil
	case s == ".nan":
		return math.NaN(), nil
	case c.version != yaml12 && strings.Contains(s, ":"):
		v := 0.0
		for _, part := range strings.Split(s, ":") {
			d, err := strconv.ParseFloat(part, 64)
			if err != nil {
				return 0, err
			}
			v = v*60 + d
		}
		return sign * v, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	return sign * f, err
}

// constructTimestamp is SafeConstructor.construct_yaml_timestamp, as Python's str() of
// the date or (naive, UTC) datetime it builds.
func constructTimestamp(s string) (string, error) {
	m := reTimestamp.FindStringSubmatch(s)
	if m == nil {
		return "", errors.New("timestamp")
	}
	atoi := func(x string) int { n, _ := strconv.Atoi(x); return n }
	year, month, day := atoi(m[1]), atoi(m[2]), atoi(m[3])
	d := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if d.Year() != year || int(d.Month()) != month || d.Day() != day || year < 1 {
		return "", errors.New("date out of range")
	}
	if m[4] == "" {
		return d.Format("2006-01-02"), nil
	}
	hour, minute, second := atoi(m[4]), atoi(m[5]), atoi(m[6])
	if hour > 23 || minute > 59 || second > 59 {
		return "", errors.New("time out of range")
	}
	micro := 0
	if f := m[7]; f != "" {
		fs := (f + "000000")[:6]
		micro = atoi(fs)
		if len(f) > 6 && f[6] > '4' {
			micro++
		}
	}
	t := d.Add(time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute + time.Duration(second)*time.Second + time.Duration(micro)*time.Microsecond)
	if m[9] != "" {
		offset := time.Duration(atoi(m[10]))*time.Hour + time.Duration(atoi(m[11]))*time.Minute
		if m[9] == "-" {
			offset = -offset
		}
		t = t.Add(-offset)
	}
	if t.Nanosecond() != 0 {
		return t.Format("2006-01-02 15:04:05.000000"), nil
	}
	return t.Format("2006-01-02 15:04:05"), nil
}

func pyTypeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case []any:
		return "a list"
	case bool:
		return "a bool"
	case int64:
		return "an int"
	case float64:
		return "a float"
	}
	return "a scalar"
}
