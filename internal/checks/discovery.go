package checks

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/bkcrypt"
	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/clusterprobe"
	"github.com/paasdiag/paasdiag/internal/platformdb"
)

// discoverClusters reads the app clusters configured in the platform's workloads
// database and decrypts their credentials. Clusters whose credentials cannot be read
// are left out, each with an Unknown finding.
func (in *inputs) discoverClusters(ctx context.Context) ([]*clusterTarget, []check.Finding, error) {
	decrypter, err := bkcrypt.New(in.key)
	if err != nil {
		return nil, nil, &platformdb.Error{Reason: v1alpha1.ReasonDecryptionFailed, Message: "the encryption key cannot be used: " + err.Error()}
	}
	findings := keyCipherFindings(decrypter, in.cipher)
	conn, err := in.open(in.workloadsDB)
	if err != nil {
		return nil, nil, err
	}
	var rows []platformdb.ClusterRow
	err = conn.ReadOnly(ctx, func(tx *sql.Tx) error {
		var err error
		rows, err = platformdb.ReadClusters(ctx, tx)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	var targets []*clusterTarget
	for _, row := range rows {
		creds, err := decryptCredentials(decrypter, row)
		if err != nil {
			findings = append(findings, check.UnknownFinding("cluster/"+row.Name, v1alpha1.ReasonDecryptionFailed,
				fmt.Sprintf("the stored credentials of cluster %s cannot be read: %s", row.Name, err)))
			continue
		}
		targets = append(targets, &clusterTarget{
			name: row.Name, source: sourceDiscovered, apiServers: row.APIServers, creds: creds, updated: row.Updated,
		})
	}
	return targets, findings, nil
}

// keyCipherFindings warns when the key does not serve the cipher the platform writes
// new values with: today's rows may read, the ones written from now on will not.
func keyCipherFindings(d *bkcrypt.Decrypter, cipher v1alpha1.Cipher) []check.Finding {
	if cipher == "" {
		return nil
	}
	if err := d.Serves(string(cipher)); err != nil {
		return []check.Finding{check.WarningFinding("database/workloads", v1alpha1.ReasonKeyCipherMismatch, "",
			"spec.platformDatabase.cipher is "+string(cipher)+", but the "+err.Error())}
	}
	return nil
}

// decryptCredentials decrypts a cluster row's credentials. ca_data, cert_data and
// key_data hold base64 PEM (as kubeconfig's *-data fields) once decrypted; token_value
// is the raw token.
func decryptCredentials(d *bkcrypt.Decrypter, row platformdb.ClusterRow) (clusterprobe.Credentials, error) {
	creds := clusterprobe.Credentials{ServerName: row.ServerName}
	for _, f := range []struct {
		column string
		stored string
		pem    bool
		into   func(string)
	}{
		{"ca_data", row.CA, true, func(v string) { creds.CA = []byte(v) }},
		{"cert_data", row.Cert, true, func(v string) { creds.ClientCert = []byte(v) }},
		{"key_data", row.Key, true, func(v string) { creds.ClientKey = []byte(v) }},
		{"token_value", row.Token, false, func(v string) { creds.Token = strings.TrimSpace(v) }},
	} {
		if f.stored == "" {
			continue
		}
		plain, err := d.Decrypt(f.stored)
		if err != nil {
			return creds, fmt.Errorf("%s: %w", f.column, err)
		}
		if f.pem {
			pem, err := pemOf(plain)
			if err != nil {
				return creds, fmt.Errorf("%s: %w", f.column, err)
			}
			plain = pem
		}
		f.into(plain)
	}
	return creds, nil
}

// pemOf decodes a base64 PEM value; a value that already is PEM is taken as it is.
func pemOf(v string) (string, error) {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "-----BEGIN") {
		return v, nil
	}
	raw, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return "", fmt.Errorf("the decrypted value is neither base64 nor PEM")
	}
	return string(raw), nil
}
