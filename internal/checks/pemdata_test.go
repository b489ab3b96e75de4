package checks

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/paasdiag/paasdiag/internal/bkcrypt"
	"github.com/paasdiag/paasdiag/internal/platformdb"
	"github.com/paasdiag/paasdiag/internal/testsupport/mariadb"
)

// CLU22: base64 decoded as FileOrData decodes it: CPython 3.11's
// base64.standard_b64decode of the str's UTF-8 bytes (the expectations are its output,
// taken from python3.11).
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
		{in: "é", hex: ""},         // UTF-8 encoded first: its bytes are outside the alphabet
		{in: "TWéE=", hex: "4d61"}, // dropped wherever they stand
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
// fails, when the platform uses the value: the CA, or both halves of the client pair),
// or it is base64 PEM, as it should be. An empty value is no value.
func TestCLU22_RawPEMIsUnusable(t *testing.T) {
	d, err := bkcrypt.New(testKey)
	if err != nil {
		t.Fatal(err)
	}
	const decodable = "-----BEGIN CERTIFICATE-----\nMIIBAA==\n-----END CERTIFICATE-----\n"
	goodPEM := base64.StdEncoding.EncodeToString([]byte(testPEM))
	_, err = decryptCredentials(d, platformdb.ClusterRow{CA: testPEM})
	var undecodable undecodableError
	if !errors.As(err, &undecodable) || undecodable.column != "ca_data" || undecodable.err.Error() != "Incorrect padding" {
		t.Errorf("raw PEM the platform cannot decode: %v", err)
	}
	// Undecodable breaks the pool even in a half pair the platform would then ignore.
	if _, err = decryptCredentials(d, platformdb.ClusterRow{Key: testPEM}); !errors.As(err, &undecodable) || undecodable.column != "key_data" {
		t.Errorf("undecodable lone key: %v", err)
	}
	var raw rawPEMError
	if _, err = decryptCredentials(d, platformdb.ClusterRow{CA: decodable}); !errors.As(err, &raw) || raw.column != "ca_data" || !raw.raw {
		t.Errorf("raw PEM CA that decodes to bytes: %v", err)
	}
	if _, err = decryptCredentials(d, platformdb.ClusterRow{Cert: decodable, Key: goodPEM}); !errors.As(err, &raw) || raw.column != "cert_data" || !raw.raw {
		t.Errorf("raw PEM cert of a pair: %v", err)
	}
	if _, err = decryptCredentials(d, platformdb.ClusterRow{Cert: goodPEM, Key: "----"}); !errors.As(err, &raw) || raw.column != "key_data" || raw.raw {
		t.Errorf("a key of a pair that decodes to nothing: %v", err)
	}
	// A lone half is ignored by the platform whatever it holds: kept, as a half pair.
	creds, err := decryptCredentials(d, platformdb.ClusterRow{Cert: decodable})
	if err != nil || !creds.HalfPair() {
		t.Errorf("lone cert: %v, half pair %v", err, creds.HalfPair())
	}
	// A value that decrypts to "" is no file to the platform.
	empty := mariadb.FernetEncrypter(testKey)("")
	creds, err = decryptCredentials(d, platformdb.ClusterRow{CA: empty, Cert: empty, Key: goodPEM, Token: "t"})
	if err != nil || creds.CA != nil || creds.ClientCert != nil || !creds.HalfPair() {
		t.Errorf("empty values: %+v, %v", creds, err)
	}
	// Wrapped, with spaces: the platform reads it, so does paasdiag.
	creds, err = decryptCredentials(d, platformdb.ClusterRow{CA: "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIKLS0tLS1FTkQg\n Q0VSVElGSUNBVEUtLS0tLQo="})
	if err != nil || string(creds.CA) != testPEM {
		t.Errorf("base64 PEM: %q, %v", creds.CA, err)
	}
}
