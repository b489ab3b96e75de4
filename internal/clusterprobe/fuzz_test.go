package clusterprobe

import (
	"strings"
	"testing"
)

// FuzzCredentials: whatever a credentials Secret or a decrypted row holds, building the
// client never panics, and its error never quotes the credentials.
func FuzzCredentials(f *testing.F) {
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), []byte("-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n"),
		[]byte("-----BEGIN EC PRIVATE KEY-----\nsecretkeymaterial\n-----END EC PRIVATE KEY-----\n"), "token-value-1")
	f.Add([]byte{}, []byte("not pem"), []byte{}, "")
	f.Add([]byte("garbage"), []byte{}, []byte("secretkeymaterial"), " t ")
	f.Fuzz(func(t *testing.T, ca, cert, key []byte, token string) {
		creds := CredentialsFromSecret(map[string][]byte{KeyCA: ca, KeyClientCert: cert, KeyClientKey: key, KeyToken: []byte(token)})
		_ = creds.ClientCertNotAfter()
		_ = creds.CANotAfter()
		_ = creds.Describe()
		_, err := creds.tlsConfig()
		if err == nil {
			return
		}
		for _, secret := range [][]byte{key, cert} {
			if len(secret) >= 8 && strings.Contains(err.Error(), string(secret)) {
				t.Fatalf("the error quotes the credentials: %v", err)
			}
		}
	})
}
