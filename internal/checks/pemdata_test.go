package checks

import (
	"encoding/hex"
	"errors"
	"testing"

	"github.com/paasdiag/paasdiag/internal/bkcrypt"
	"github.com/paasdiag/paasdiag/internal/platformdb"
)

// CLU22: base64 decoded as CPython 3.11's base64.standard_b64decode decodes a str
// (the expectations are its output, taken from python3.11).
func TestCLU22_Base64AsThePlatformDecodes(t *testing.T) {
	for _, c := range []struct{ in, hex, err string }{
		{in: "TWFu", hex: "4d616e"},
		{in: "TWE=", hex: "4d61"},
		{in: "TWE", err: "Incorrect padding"},
		{in: "TQ", err: "Incorrect padding"},
		{in: "T", err: "Invalid base64-encoded string: number of data characters (1) cannot be 1 more than a multiple of 4"},
		{in: "TWFuTWFuT", err: "Invalid base64-encoded string: number of data characters (9) cannot be 1 more than a multiple of 4"},
		{in: "TWFu\nTWE=", hex: "4d616e4d61"},
		{in: "TW Fu", hex: "4d616e"},
		{in: "TWE=garbage", hex: "4d61"},
		{in: "TQ==TWFu", hex: "4d"},
		{in: "TWFu=TWE=", hex: "4d616e4d61"},
		{in: "TW=Fu", hex: "4d616e"},
		{in: testPEM, err: "Incorrect padding"},
		{in: "-----BEGIN CERTIFICATE-----\nMIIBAA==\n-----END CERTIFICATE-----\n", hex: "0441883421114c81480804c430820100"},
		{in: "----", hex: ""},
		{in: "", hex: ""},
		{in: "é", err: "string argument should contain only ASCII characters"},
		{in: "TWE=é", err: "string argument should contain only ASCII characters"}, // checked before decoding
	} {
		got, err := pythonB64Decode(c.in)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%q: %x, %v; want error %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || hex.EncodeToString(got) != c.hex {
			t.Errorf("%q: %x, %v; want %s", c.in, got, err, c.hex)
		}
	}
}

// CLU22: what a stored certificate or key column becomes: the platform cannot decode
// it (its whole client pool fails), it decodes to no PEM (that cluster's TLS setup
// fails), or it is base64 PEM, as it should be.
func TestCLU22_RawPEMIsUnusable(t *testing.T) {
	d, err := bkcrypt.New("")
	if err != nil {
		t.Fatal(err)
	}
	_, err = decryptCredentials(d, platformdb.ClusterRow{CA: testPEM})
	var undecodable undecodableError
	if !errors.As(err, &undecodable) || undecodable.column != "ca_data" || undecodable.err.Error() != "Incorrect padding" {
		t.Errorf("raw PEM the platform cannot decode: %v", err)
	}
	_, err = decryptCredentials(d, platformdb.ClusterRow{Cert: "-----BEGIN CERTIFICATE-----\nMIIBAA==\n-----END CERTIFICATE-----\n"})
	var raw rawPEMError
	if !errors.As(err, &raw) || raw.column != "cert_data" || !raw.raw {
		t.Errorf("raw PEM that decodes to bytes: %v", err)
	}
	_, err = decryptCredentials(d, platformdb.ClusterRow{Key: "----"})
	if !errors.As(err, &raw) || raw.column != "key_data" || raw.raw {
		t.Errorf("a value that decodes to nothing: %v", err)
	}
	// Wrapped, with spaces: the platform reads it, so does paasdiag.
	creds, err := decryptCredentials(d, platformdb.ClusterRow{CA: "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIKLS0tLS1FTkQg\n Q0VSVElGSUNBVEUtLS0tLQo="})
	if err != nil || string(creds.CA) != testPEM {
		t.Errorf("base64 PEM: %q, %v", creds.CA, err)
	}
}
