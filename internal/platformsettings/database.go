package platformsettings

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/bkcrypt"
	"github.com/paasdiag/paasdiag/internal/platformdb"
)

// Missing is a setting the platform's configuration does not give (or gives in a form
// paasdiag cannot use): the condition that needs it is Unknown, naming it.
type Missing struct {
	// Setting is the environment variable the platform would read it from.
	Setting string
	Message string
}

func (m *Missing) Error() string { return m.Message }

// Found is a value read from the platform's settings and where it came from (for
// status, never the value).
type Found struct {
	Value  string
	Source string
}

// The databases, as paasng/settings/__init__.py builds DATABASES with
// get_database_conf (paasng/settings/utils.py).
const (
	// DefaultDatabase reads DATABASE_* (bk_paas_ng), or the encrypted DATABASE_URL.
	DefaultDatabase = ""
	// WorkloadsDatabase reads WL_DATABASE_* (bk_engine_ng), or WL_DATABASE_URL.
	WorkloadsDatabase = "WL_"
)

// DatabaseDSN returns the DSN (go-sql-driver form) of the platform's default
// (DefaultDatabase) or workloads (WorkloadsDatabase) database, as get_database_conf
// builds it: an environment variable DATABASE_URL (WL_DATABASE_URL), read by that very
// name, wins whenever it is present and is a Fernet token decrypted with
// BKKRILL_ENCRYPT_SECRET_KEY; otherwise {prefix}DATABASE_NAME, _USER, _PASSWORD, _HOST,
// _PORT and _OPTIONS, where a missing (or empty) NAME means no such database.
func (s *Settings) DatabaseDSN(env *Env, prefix string) (*Found, error) {
	where := fmt.Sprintf("Deployment %s, container %s", env.Deployment, env.Container)
	urlVar := prefix + "DATABASE_URL"
	if v, ok := env.Vars[urlVar]; ok {
		return s.databaseURL(env, urlVar, v, where)
	}
	get := func(name string) (*Setting, error) {
		st := s.Get(prefix + name)
		if st == nil {
			return nil, nil
		}
		if st.Unknown {
			return nil, &Missing{Setting: Prefix + "_" + prefix + name, Message: fmt.Sprintf("%s_%s%s comes from the running pod (%s), which paasdiag does not see", Prefix, prefix, name, st.Source)}
		}
		if st.Lazy != "" {
			return nil, &Missing{Setting: Prefix + "_" + prefix + name, Message: fmt.Sprintf("%s_%s%s is computed by the platform's process (%s, %s), which paasdiag does not reproduce", Prefix, prefix, name, st.Lazy, st.Source)}
		}
		return st, nil
	}
	name, err := get("DATABASE_NAME")
	if err != nil {
		return nil, err
	}
	if name == nil || !Truthy(name.Value) {
		consequence := "so the platform has no such database either"
		if len(s.Unseen) > 0 {
			consequence = "so the platform has no such database either, unless a settings file paasdiag cannot read sets " + prefix + "DATABASE_NAME (" + s.unseenPaths() + ")"
		}
		return nil, &Missing{Setting: Prefix + "_" + prefix + "DATABASE_NAME", Message: fmt.Sprintf(
			"the platform's %s database is not configured in %s: neither %s nor %s_%sDATABASE_NAME (nor %sDATABASE_NAME in a settings file paasdiag read) is set, %s", dbLabel(prefix), where, urlVar, Prefix, prefix, prefix, consequence)}
	}
	cfg := mysql.NewConfig()
	cfg.DBName = PyStr(name.Value)
	sources := []string{name.Source}
	parts := map[string]*string{"DATABASE_USER": &cfg.User, "DATABASE_PASSWORD": &cfg.Passwd}
	host, port := "", "3306"
	for _, key := range []string{"DATABASE_USER", "DATABASE_PASSWORD", "DATABASE_HOST", "DATABASE_PORT"} {
		st, err := get(key)
		if err != nil {
			return nil, err
		}
		if st == nil || st.Value == nil {
			continue
		}
		sources = append(sources, st.Source)
		switch key {
		case "DATABASE_HOST":
			host = PyStr(st.Value)
		case "DATABASE_PORT":
			if PyStr(st.Value) != "" {
				port = PyStr(st.Value)
			}
		default:
			*parts[key] = PyStr(st.Value)
		}
	}
	if host == "" || strings.HasPrefix(host, "/") {
		return nil, &Missing{Setting: Prefix + "_" + prefix + "DATABASE_HOST", Message: fmt.Sprintf(
			"%s_%sDATABASE_HOST is not set (or is a socket path): the platform connects through a Unix socket inside its pod, which paasdiag cannot reach%s", Prefix, prefix, s.unseenNote())}
	}
	cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(env.Host(host), port)
	options, err := get("DATABASE_OPTIONS")
	if err != nil {
		return nil, err
	}
	if options != nil && options.Value != nil {
		m, ok := options.Value.(map[string]any)
		if !ok {
			return nil, &Missing{Setting: Prefix + "_" + prefix + "DATABASE_OPTIONS", Message: fmt.Sprintf(
				"%s_%sDATABASE_OPTIONS (%s) is not a dict (a JSON value needs the @json token): the platform's database connection would fail too", Prefix, prefix, options.Source)}
		}
		sources = append(sources, options.Source)
		if err := applyOptions(cfg, m, Prefix+"_"+prefix+"DATABASE_OPTIONS"); err != nil {
			return nil, err
		}
	}
	return &Found{Value: cfg.FormatDSN(), Source: where + ": " + summarize(sources)}, nil
}

// applyOptions reproduces the MySQL client options paasdiag can: charset. Options that
// change how the platform connects and that paasdiag cannot reproduce (TLS files inside
// the pod, a socket) make the database Missing rather than probed differently.
func applyOptions(cfg *mysql.Config, options map[string]any, setting string) error {
	keys := make([]string, 0, len(options))
	for k := range options {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch strings.ToLower(k) {
		case "charset":
			if cfg.Params == nil {
				cfg.Params = map[string]string{}
			}
			cfg.Params["charset"] = PyStr(options[k])
		case "connect_timeout", "read_timeout", "write_timeout", "init_command", "sql_mode", "isolation_level", "autocommit":
			// paasdiag's own timeouts and read-only transactions apply.
		default:
			return &Missing{Setting: setting, Message: fmt.Sprintf("%s sets %q, which paasdiag cannot reproduce (e.g. TLS files inside the platform's pod): give platformDatabase a DSN Secret instead", setting, k)}
		}
	}
	return nil
}

// databaseURL decrypts and parses DATABASE_URL as SecureEnv().db_url does.
func (s *Settings) databaseURL(env *Env, urlVar string, v Var, where string) (*Found, error) {
	if !v.Known {
		return nil, &Missing{Setting: urlVar, Message: fmt.Sprintf("%s comes from the running pod (%s), which paasdiag does not see", urlVar, v.Source)}
	}
	key, err := s.EncryptionKey(env)
	if err != nil {
		return nil, err
	}
	d, err := bkcrypt.New(key.Value)
	if err != nil {
		return nil, &Missing{Setting: urlVar, Message: fmt.Sprintf("%s (%s) cannot be decrypted: %v", urlVar, v.Source, err)}
	}
	plain, err := d.DecryptFernetToken(v.Value)
	if err != nil {
		return nil, &Missing{Setting: urlVar, Message: fmt.Sprintf(
			"%s (%s) is not a Fernet token of BKKRILL_ENCRYPT_SECRET_KEY (%v): the platform fails to start the same way (blue-krill: was not encrypted or token is invalid)", urlVar, v.Source, err)}
	}
	u, err := url.Parse(plain)
	if err != nil || (u.Scheme != "mysql" && u.Scheme != "mysql2") || u.Host == "" {
		return nil, &Missing{Setting: urlVar, Message: fmt.Sprintf("%s (%s) decrypts to something other than a mysql:// URL with a host", urlVar, v.Source)}
	}
	cfg := platformdb.ConfigFromURL(u)
	if h, p, err := net.SplitHostPort(cfg.Addr); err == nil {
		cfg.Addr = net.JoinHostPort(env.Host(h), p)
	}
	cfg.DBName, _ = url.QueryUnescape(cfg.DBName) // django-environ's unquote_plus
	options := map[string]any{}
	for k, vs := range u.Query() {
		switch strings.ToUpper(k) {
		case "CONN_MAX_AGE", "ATOMIC_REQUESTS", "AUTOCOMMIT", "DISABLE_SERVER_SIDE_CURSORS", "CONN_HEALTH_CHECKS":
			continue // Django's, not the client's
		}
		options[k] = vs[len(vs)-1]
	}
	if err := applyOptions(cfg, options, urlVar); err != nil {
		return nil, err
	}
	return &Found{Value: cfg.FormatDSN(), Source: fmt.Sprintf("%s: %s (encrypted), decrypted with %s", where, v.Source, key.Source)}, nil
}

// EncryptionKey is BKKRILL_ENCRYPT_SECRET_KEY (force_bytes of the setting; the
// platform refuses to start without it).
func (s *Settings) EncryptionKey(env *Env) (*Found, error) {
	st := s.Get("BKKRILL_ENCRYPT_SECRET_KEY")
	setting := Prefix + "_BKKRILL_ENCRYPT_SECRET_KEY"
	switch {
	case st == nil:
		return nil, &Missing{Setting: setting, Message: fmt.Sprintf("%s is not set in Deployment %s: the platform requires it (its settings validator)%s", setting, env.Deployment, s.unseenNote())}
	case st.Unknown || st.Lazy != "":
		return nil, &Missing{Setting: setting, Message: fmt.Sprintf("%s (%s) is computed by the platform's process or its pod, which paasdiag does not see", setting, st.Source)}
	}
	return &Found{Value: PyStr(st.Value), Source: fmt.Sprintf("Deployment %s, container %s: %s", env.Deployment, env.Container, st.Source)}, nil
}

// Cipher is the cipher the platform writes with: SM4CTR when BK_CRYPTO_TYPE is exactly
// the string SHANGMI, Fernet otherwise (the default is CLASSIC).
func (s *Settings) Cipher() (v1alpha1.Cipher, string) {
	st := s.Get("BK_CRYPTO_TYPE")
	if st == nil {
		return v1alpha1.CipherFernet, "BK_CRYPTO_TYPE not set (CLASSIC)"
	}
	if v, ok := st.Value.(string); ok && v == "SHANGMI" {
		return v1alpha1.CipherSM4CTR, st.Source
	}
	return v1alpha1.CipherFernet, st.Source
}

// unseenPaths names the settings files paasdiag cannot read.
func (s *Settings) unseenPaths() string {
	paths := make([]string, len(s.Unseen))
	for i, u := range s.Unseen {
		paths[i] = u.Path
	}
	return strings.Join(paths, ", ")
}

// unseenNote ends a message about a setting paasdiag did not find: a settings file it
// cannot read may set it.
func (s *Settings) unseenNote() string {
	if len(s.Unseen) == 0 {
		return ""
	}
	return "; a settings file paasdiag cannot read may set it (" + s.unseenPaths() + ")"
}

func dbLabel(prefix string) string {
	if prefix == WorkloadsDatabase {
		return "workloads (bk_engine_ng)"
	}
	return "default (bk_paas_ng)"
}

// summarize joins sources, folding those of one object: "env PAAS_DATABASE_* from
// Secret s" rather than five entries.
func summarize(sources []string) string {
	seen := map[string]bool{}
	var out []string
	for _, s := range sources {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return strings.Join(out, ", ")
}
