package checks

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/bkcrypt"
	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/clusterprobe"
	"github.com/paasdiag/paasdiag/internal/errorcodes"
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
	pl := placement{line: in.allocatorLine()}
	err = conn.ReadOnly(ctx, func(tx *sql.Tx) error {
		var err error
		if rows, err = platformdb.ReadClusters(ctx, tx); err != nil {
			return err
		}
		if pl.apps, pl.appsHidden, err = platformdb.ReadAppClusters(ctx, tx); err != nil {
			return err
		}
		if pl.defaults, err = platformdb.DefaultClusters(ctx, tx); err != nil || pl.defaults != nil {
			return err
		}
		pl.allocation, pl.allocationHidden, err = platformdb.ReadAllocation(ctx, tx)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	pl.rows = rows
	var targets []*clusterTarget
	var undecryptable []string
	decrypted := 0 // rows with an encrypted value that decrypted: the key is right
	for _, row := range rows {
		creds, err := decryptCredentials(decrypter, row)
		var raw rawPEMError
		var undecodable undecodableError
		switch {
		case errors.As(err, &undecodable):
			findings = append(findings, poolBroken(fmt.Sprintf("%s of cluster %s cannot be base64-decoded as the platform decodes it (binascii.Error: %s; store it base64-encoded, as kubeconfig's *-data fields)",
				undecodable.column, row.Name, undecodable.err)))
			continue
		case errors.As(err, &raw):
			code := errorcodes.Must(errorcodes.CannotGetClusterInfo)
			why := "decodes, as the platform base64-decodes it (kubernetes' FileOrData), to no PEM block"
			if raw.raw {
				why = "is stored as raw PEM: the platform base64-decodes it (kubernetes' FileOrData) into bytes that hold no PEM block"
			}
			findings = append(findings, check.ErrorFinding("cluster/"+row.Name, v1alpha1.ReasonInvalidCredentials, code.Number, code.Message(fmt.Sprintf(
				"%s of cluster %s %s, and its TLS setup fails on every request; store it base64-encoded, as kubeconfig's *-data fields", raw.column, row.Name, why))))
			continue
		}
		if err != nil {
			undecryptable = append(undecryptable, row.Name)
			findings = append(findings, check.UnknownFinding("cluster/"+row.Name, v1alpha1.ReasonDecryptionFailed,
				fmt.Sprintf("the stored credentials of cluster %s cannot be read: %s", row.Name, err)))
			continue
		}
		if encrypted(row) {
			decrypted++
		}
		if f := tokenLineBreak(row.Name, creds.Token); f != nil {
			findings = append(findings, *f)
			continue
		}
		ct := &clusterTarget{name: row.Name, source: sourceDiscovered, apiServers: row.APIServers, creds: creds, updated: row.Updated}
		findings = append(findings, applyHostnames(ct, row)...)
		targets = append(targets, ct)
	}
	findings = append(findings, undecryptableRows(undecryptable, decrypted)...)
	return targets, append(findings, pl.findings()...), nil
}

// undecryptableRows judges rows whose credentials cannot be decrypted. When the key
// decrypts other rows' encrypted values (decrypted of them), these rows are what is
// wrong, and the platform builds one client pool from every row: none of its clusters
// can be used. When it decrypts none (rows in plaintext or empty prove nothing), the
// key given to paasdiag is the likelier cause, and each row is already Unknown.
func undecryptableRows(names []string, decrypted int) []check.Finding {
	if len(names) == 0 || decrypted == 0 {
		return nil
	}
	return []check.Finding{poolBroken(fmt.Sprintf("the stored credentials of %d cluster(s) cannot be decrypted with the key that reads the others: %s",
		len(names), firstFew(names)))}
}

// encrypted reports whether a row holds a value encrypted with a cipher.
func encrypted(row platformdb.ClusterRow) bool {
	for _, v := range []string{row.CA, row.Cert, row.Key, row.Token} {
		if strings.HasPrefix(v, bkcrypt.PrefixFernet) || strings.HasPrefix(v, bkcrypt.PrefixSM4CTR) {
			return true
		}
	}
	return false
}

// tokenLineBreak is the finding for a stored token with a line break: the platform
// sends "Bearer <token>" as stored, and Python's http.client refuses a header value
// with a line break (ValueError: Invalid header value) on every request.
func tokenLineBreak(cluster, token string) *check.Finding {
	if !strings.ContainsAny(token, "\r\n") {
		return nil
	}
	code := errorcodes.Must(errorcodes.CannotGetClusterInfo)
	f := check.ErrorFinding("cluster/"+cluster, v1alpha1.ReasonInvalidCredentials, code.Number, code.Message(fmt.Sprintf(
		"token_value of cluster %s holds a line break (a trailing newline?): the platform sends it as stored and its HTTP client refuses the header on every request; store the token without it", cluster)))
	return &f
}

// applyHostnames sets what the platform verifies serving certificates for: 1.7+'s
// assert_hostname (with a CA: null checks the URL's host, false no name, a string that
// name; true crashes the platform's client), or 1.6's overridden_hostname per API
// server (only an IP host can be overridden; a name makes the platform fail to build
// its client pool, for every cluster).
func applyHostnames(ct *clusterTarget, row platformdb.ClusterRow) []check.Finding {
	var findings []check.Finding
	code := errorcodes.Must(errorcodes.CannotGetClusterInfo)
	if row.AssertHostname != "" && len(ct.creds.CA) > 0 {
		var v any
		if json.Unmarshal([]byte(row.AssertHostname), &v) != nil {
			v = row.AssertHostname
		}
		// urllib3: `assert_hostname is not False` gates the check, then it matches
		// `assert_hostname or server_hostname`, calling .strip() on it.
		if s, ok := v.(string); ok {
			ct.creds.VerifyName = strings.TrimSpace(s) // "" is falsy there: the URL's host
		} else if v == false {
			ct.creds.SkipHostnameCheck = true
		} else if truthy(v) {
			findings = append(findings, check.ErrorFinding("cluster/"+ct.name, v1alpha1.ReasonInvalidCredentials, code.Number, code.Message(fmt.Sprintf(
				"cluster %s has assert_hostname %s: the platform's client (urllib3) calls .strip() on it and raises AttributeError on every request; set it to null, false or a host name", ct.name, row.AssertHostname))))
		}
	}
	for host, name := range row.Overrides {
		u, err := url.Parse(host)
		if err != nil || net.ParseIP(u.Hostname()) == nil {
			findings = append(findings, poolBroken(fmt.Sprintf("API server %s of cluster %s has overridden_hostname %q but is not an IP address (\"No IP address found in %s\")",
				host, ct.name, name, host)))
			continue
		}
		if ct.serverNames == nil {
			ct.serverNames = map[string]string{}
		}
		ct.serverNames[host] = name
	}
	return findings
}

// poolBroken is a row that keeps the platform from building its client pool, which it
// builds from every cluster row at once: every cluster fails with 4313021.
func poolBroken(why string) check.Finding {
	code := errorcodes.Must(errorcodes.CannotGetClusterInfo)
	return check.ErrorFinding("clusters", v1alpha1.ReasonClusterPoolBroken, code.Number, code.Message(
		why+": the platform builds one client pool from every cluster row, so no cluster can be reached until it is fixed"))
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
	var creds clusterprobe.Credentials
	plain := map[string]string{}
	for _, f := range []struct{ column, stored string }{
		{"ca_data", row.CA}, {"cert_data", row.Cert}, {"key_data", row.Key}, {"token_value", row.Token},
	} {
		if f.stored == "" {
			continue
		}
		v, err := d.Decrypt(f.stored)
		if err != nil {
			return creds, fmt.Errorf("%s: %w", f.column, err)
		}
		plain[f.column] = v
	}
	creds.Token = plain["token_value"] // sent as stored, as the platform sends it
	// FileOrData decodes every non-empty value, in this order, while the platform builds
	// its client pool; an empty one is no file. TLS then uses the CA, and the client
	// pair only when both halves are there (loaders.py `if cert_file and key_file:`):
	// a lone half that decodes to no PEM is ignored, not an error.
	pair := plain["cert_data"] != "" && plain["key_data"] != ""
	for _, f := range []struct {
		column string
		used   bool
		into   *[]byte
	}{{"ca_data", true, &creds.CA}, {"cert_data", pair, &creds.ClientCert}, {"key_data", pair, &creds.ClientKey}} {
		v := plain[f.column]
		if v == "" {
			continue
		}
		raw, err := pemOf(f.column, v)
		var noPEM rawPEMError
		if errors.As(err, &noPEM) && !f.used {
			err = nil // ignored by the platform: the half pair is reported, not probed
		}
		if err != nil {
			return creds, err
		}
		*f.into = raw
	}
	return creds, nil
}
