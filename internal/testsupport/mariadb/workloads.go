package mariadb

import (
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm4"
	"github.com/fernet/fernet-go"
)

// Workloads is one of the platform's workloads databases (bk_engine_ng) on a test
// server, with helpers to configure app clusters as the admin console would.
type Workloads struct {
	Server   *Server
	Database string
	// Line is the release line whose layout the database has.
	Line Line
	// Legacy is the platform 1.6 layout.
	Legacy bool
}

// NewWorkloads creates database in the layout of a release line, its migrations
// recorded.
func NewWorkloads(s *Server, database string, line Line) (*Workloads, error) {
	return &Workloads{Server: s, Database: database, Line: line, Legacy: line.Legacy()}, s.CreateLineDatabase(database, line, "bk_engine_ng")
}

// NodeState records a cluster's node state as the platform does (region_gen_state up
// to 1.6, the admin console's node sync from 1.7): the next version of the state
// named after the digest, with the node names.
func (w *Workloads) NodeState(cluster string, nodes []string, at time.Time) (string, error) {
	sorted := append([]string(nil), nodes...)
	sort.Strings(sorted)
	digest := sha1.Sum([]byte(strings.Join(sorted, ",")))
	hexDigest := hex.EncodeToString(digest[:])
	var n int
	db, err := w.Server.Admin(w.Database)
	if err != nil {
		return "", err
	}
	defer func() { _ = db.Close() }()
	if err := db.QueryRow("SELECT COUNT(*) FROM region_regionclusterstate WHERE cluster_name = ?", cluster).Scan(&n); err != nil {
		return "", err
	}
	name := fmt.Sprintf("eng-cstate-%s-%d", hexDigest[:8], n+1)
	names, _ := json.Marshal(sorted)
	region, regionValue := "", ""
	if w.Legacy {
		region, regionValue = "region, ", "'default', "
	}
	_, err = db.Exec("INSERT INTO region_regionclusterstate ("+region+"created, updated, cluster_name, name, nodes_digest, nodes_cnt, nodes_name, nodes_data) VALUES ("+regionValue+"?, ?, ?, ?, ?, ?, ?, '[]')",
		at.UTC(), at.UTC(), cluster, name, hexDigest, len(sorted), string(names))
	return name, err
}

// StoredCredentials are a cluster's credential columns as stored.
type StoredCredentials struct {
	CA, Cert, Key, Token string
}

// Encrypt stores PEM credentials as the platform does: PEM values base64-encoded, then
// every value passed through encrypt (nil stores plaintext, as rows older than
// encryption are).
func Encrypt(ca, cert, key []byte, token string, encrypt func(string) string) StoredCredentials {
	if encrypt == nil {
		encrypt = func(s string) string { return s }
	}
	enc := func(pem []byte) string {
		if len(pem) == 0 {
			return ""
		}
		return encrypt(base64.StdEncoding.EncodeToString(pem))
	}
	tok := ""
	if token != "" {
		tok = encrypt(token)
	}
	return StoredCredentials{CA: enc(ca), Cert: enc(cert), Key: enc(key), Token: tok}
}

// Cluster adds an app cluster with its API servers and returns its id.
func (w *Workloads) Cluster(name string, apiServers []string, creds StoredCredentials) (string, error) {
	id := NewID()
	nullable := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	var err error
	if w.Legacy {
		err = w.Server.Exec(w.Database, `INSERT INTO cluster_cluster (uuid, created, updated, region, name, description, ingress_config, annotations,
			ca_data, cert_data, key_data, token_type, token_value, feature_flags) VALUES (?, NOW(6), NOW(6), 'default', ?, '', '{}', '{}', ?, ?, ?, 1, ?, '{}')`,
			id, name, nullable(creds.CA), nullable(creds.Cert), nullable(creds.Key), nullable(creds.Token))
	} else {
		err = w.Server.Exec(w.Database, `INSERT INTO cluster_cluster (uuid, created, updated, name, description, ingress_config, annotations,
			ca_data, cert_data, key_data, token_type, token_value, assert_hostname, feature_flags, default_node_selector, default_tolerations,
			available_tenant_ids) VALUES (?, NOW(6), NOW(6), ?, '', '{}', '{}', ?, ?, ?, 1, ?, NULL, '{}', '{}', '[]', '[]')`,
			id, name, nullable(creds.CA), nullable(creds.Cert), nullable(creds.Key), nullable(creds.Token))
	}
	if err != nil {
		return "", err
	}
	for _, host := range apiServers {
		if err := w.Server.Exec(w.Database, "INSERT INTO cluster_apiserver (uuid, created, updated, host, cluster_id) VALUES (?, NOW(6), NOW(6), ?, ?)",
			NewID(), host, id); err != nil {
			return "", err
		}
	}
	return id, nil
}

// Touch marks a cluster and its API servers changed at the given time, as editing it
// in the admin console does.
func (w *Workloads) Touch(name string, at time.Time) error {
	if err := w.Server.Exec(w.Database, "UPDATE cluster_cluster SET updated = ? WHERE name = ?", at.UTC(), name); err != nil {
		return err
	}
	return w.Server.Exec(w.Database, "UPDATE cluster_apiserver SET updated = ? WHERE cluster_id = (SELECT uuid FROM cluster_cluster WHERE name = ?)", at.UTC(), name)
}

// SetToken replaces a cluster's stored token.
func (w *Workloads) SetToken(name, stored string) error {
	return w.Server.Exec(w.Database, "UPDATE cluster_cluster SET token_value = ?, updated = NOW(6) WHERE name = ?", stored, name)
}

// ReadOnlyUser creates user with the grant config/samples/readonly-grant-workloads.sql
// recommends, applied to this database, and returns its DSN.
func (w *Workloads) ReadOnlyUser(user, password string) (string, error) {
	grant, err := os.ReadFile(filepath.Join(RepoRoot(), "config", "samples", "readonly-grant-workloads.sql"))
	if err != nil {
		return "", err
	}
	stmts := string(grant)
	if w.Legacy {
		// As the grant file's comment says for 1.6.
		stmts = strings.ReplaceAll(stmts, "assert_hostname, tenant_id, available_tenant_ids, ", "region, is_default, ")
		stmts = strings.ReplaceAll(stmts, "(host, cluster_id, updated)", "(host, overridden_hostname, cluster_id, updated)")
		stmts = strings.ReplaceAll(stmts, "(uuid, name, region, tenant_id)", "(uuid, name, region)")
		var kept []string
		for _, line := range strings.Split(stmts, "\n") {
			if !strings.Contains(line, "cluster_clusterallocationpolicy") && !strings.Contains(line, "cluster_clusterappimageregistry") {
				kept = append(kept, line)
			}
		}
		stmts = strings.Join(kept, "\n")
	}
	stmts = strings.ReplaceAll(stmts, "bk_engine_ng.", "`"+w.Database+"`.")
	stmts = strings.ReplaceAll(stmts, "'paasdiag'@'%'", "'"+user+"'@'127.0.0.1'")
	stmts = strings.ReplaceAll(stmts, "'change-me'", "'"+password+"'")
	if err := w.Server.Exec("", stmts); err != nil {
		return "", err
	}
	return w.Server.DSN(user, password, w.Database), nil
}

// AllocationPolicy sets a tenant's cluster allocation policy (1.7+), its two policy
// columns as JSON ("" for NULL).
func (w *Workloads) AllocationPolicy(tenant, kind, policy, precedence string) error {
	null := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	if precedence == "" {
		precedence = "[]"
	}
	return w.Server.Exec(w.Database, `REPLACE INTO cluster_clusterallocationpolicy (uuid, tenant_id, type, allocation_policy, allocation_precedence_policies)
		VALUES (?, ?, ?, ?, ?)`, NewID(), tenant, kind, null(policy), precedence)
}

// App adds an app (api_app) whose configs (api_config, oldest first, a microsecond
// apart) name the given clusters: the last one is the app's cluster.
func (w *Workloads) App(name, region string, clusters ...string) error {
	id := NewID()
	if err := w.Server.Exec(w.Database, "INSERT INTO api_app (uuid, name, region) VALUES (?, ?, ?)", id, name, region); err != nil {
		return err
	}
	for i, c := range clusters {
		err := w.Server.Exec(w.Database, "INSERT INTO api_config (uuid, app_id, cluster, created) VALUES (?, ?, ?, NOW(6) - INTERVAL ? MICROSECOND)",
			NewID(), id, c, len(clusters)-i)
		if err != nil {
			return err
		}
	}
	return nil
}

// FernetEncrypter encrypts as the platform's default cipher: "bkcrypt$" + a Fernet
// token made with the key.
func FernetEncrypter(key string) func(string) string {
	k := fernet.MustDecodeKeys(key)[0]
	return func(plain string) string {
		token, err := fernet.EncryptAndSign([]byte(plain), k)
		if err != nil {
			panic(err)
		}
		return "bkcrypt$" + string(token)
	}
}

// SM4CTREncrypter encrypts as the platform does with BK_CRYPTO_TYPE=SHANGMI:
// "sm4ctr$" + base64(IV || SM4-CTR ciphertext), the key's first 16 bytes as the SM4 key.
func SM4CTREncrypter(key string) func(string) string {
	block, err := sm4.NewCipher([]byte(key[:16]))
	if err != nil {
		panic(err)
	}
	return func(plain string) string {
		iv := make([]byte, 16)
		_, _ = rand.Read(iv)
		iv[0] &= 0x7f // far from counter wrap-around
		out := make([]byte, len(plain))
		cipher.NewCTR(blockOnly{block}, iv).XORKeyStream(out, []byte(plain))
		return "sm4ctr$" + base64.StdEncoding.EncodeToString(append(iv, out...))
	}
}

// blockOnly hides the SM4 implementation's own CTR mode, so the standard one is used.
type blockOnly struct{ cipher.Block }
