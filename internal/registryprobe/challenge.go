package registryprobe

import (
	"strings"
)

// Challenge is one challenge of a WWW-Authenticate header (RFC 7235 section 4.1).
type Challenge struct {
	// Scheme is the auth scheme, lower-cased ("bearer", "basic"), as the
	// www-authenticate library the platform uses keys it (case-folded).
	Scheme string
	// Params are the auth-params by lower-cased name, quoted strings unquoted.
	Params map[string]string
	// Token68 is the token68 form of the credentials, if the challenge has one.
	Token68 string
}

// ParseChallenges parses a WWW-Authenticate header value, which may hold several
// challenges separated by commas (`Basic realm="r", Bearer realm="t",service="s"`);
// commas inside quoted strings (a scope "repository:a:pull,push") do not split.
// Several header fields are joined with ", " before parsing, as requests does.
func ParseChallenges(header string) []Challenge {
	p := &challengeParser{s: header}
	var out []Challenge
	for {
		p.skip(" \t,")
		if p.done() {
			return out
		}
		scheme := p.token()
		if scheme == "" {
			// Not a token: skip one character and resynchronise.
			p.i++
			continue
		}
		c := Challenge{Scheme: strings.ToLower(scheme), Params: map[string]string{}}
		p.skip(" \t")
		if name, value, ok := p.param(); ok {
			c.Params[name] = value
		} else if t, ok := p.tryToken68(); ok {
			c.Token68 = t
		}
		// More auth-params follow after commas; anything else after a comma starts
		// the next challenge.
		for {
			mark := p.i
			p.skip(" \t,")
			if p.done() {
				break
			}
			name, value, ok := p.param()
			if !ok {
				p.i = mark
				break
			}
			c.Params[name] = value
		}
		out = append(out, c)
	}
}

// param reads one auth-param (name = token / quoted-string) and restores the
// position when there is none.
func (p *challengeParser) param() (string, string, bool) {
	mark := p.i
	name := p.token()
	p.skip(" \t")
	// A single "=": "==" is token68 padding.
	if name == "" || p.done() || p.s[p.i] != '=' || (p.i+1 < len(p.s) && p.s[p.i+1] == '=') {
		p.i = mark
		return "", "", false
	}
	p.i++
	p.skip(" \t")
	var value string
	switch {
	case !p.done() && p.s[p.i] == '"':
		value = p.quoted()
	default:
		value = p.token()
		if value == "" {
			// "name=" without a value: a token68 with one "=" of padding.
			p.i = mark
			return "", "", false
		}
	}
	return strings.ToLower(name), value, true
}

// tryToken68 reads a token68 (letters, digits, -._~+/ then "=" padding) that ends
// the challenge or precedes a comma, and restores the position when there is none.
func (p *challengeParser) tryToken68() (string, bool) {
	mark := p.i
	for p.i < len(p.s) && (isAlnum(p.s[p.i]) || strings.IndexByte("-._~+/", p.s[p.i]) >= 0) {
		p.i++
	}
	for p.i < len(p.s) && p.s[p.i] == '=' {
		p.i++
	}
	t := p.s[mark:p.i]
	p.skip(" \t")
	if t == "" || (!p.done() && p.s[p.i] != ',') {
		p.i = mark
		return "", false
	}
	return t, true
}

type challengeParser struct {
	s string
	i int
}

func (p *challengeParser) done() bool { return p.i >= len(p.s) }

func (p *challengeParser) skip(set string) {
	for p.i < len(p.s) && strings.IndexByte(set, p.s[p.i]) >= 0 {
		p.i++
	}
}

// token reads an RFC 7230 token.
func (p *challengeParser) token() string {
	start := p.i
	for p.i < len(p.s) && isTokenChar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

// quoted reads a quoted-string starting at '"', resolving backslash escapes; an
// unterminated string runs to the end.
func (p *challengeParser) quoted() string {
	p.i++ // opening quote
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch {
		case c == '\\' && p.i < len(p.s):
			b.WriteByte(p.s[p.i])
			p.i++
		case c == '"':
			return b.String()
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isTokenChar(c byte) bool {
	return isAlnum(c) || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// find returns the first challenge of the scheme (lower case).
func find(challenges []Challenge, scheme string) (Challenge, bool) {
	for _, c := range challenges {
		if c.Scheme == scheme {
			return c, true
		}
	}
	return Challenge{}, false
}

// ParseScope parses "repository:<name>:<action>[,<action>...]" as the Docker token
// spec writes it. The name may hold colons (a registry host with a port), so the
// type ends at the first colon and the actions start after the last, as
// distribution's and Harbor's token services split it. ok is false for a scope
// that is not of the type "repository".
func ParseScope(s string) (Scope, bool) {
	typ, rest, ok := strings.Cut(s, ":")
	if !ok || typ != "repository" {
		return Scope{}, false
	}
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return Scope{Repository: rest}, true
	}
	sc := Scope{Repository: rest[:i]}
	if a := rest[i+1:]; a != "" {
		sc.Actions = strings.Split(a, ",")
	}
	return sc, true
}

// ParseScopes splits a scope parameter that holds several scopes separated by
// spaces (a challenge's scope, or a token request's) and keeps the repository ones.
func ParseScopes(param string) []Scope {
	var out []Scope
	for _, f := range strings.Fields(param) {
		if sc, ok := ParseScope(f); ok {
			out = append(out, sc)
		}
	}
	return out
}
