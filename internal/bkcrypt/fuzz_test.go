package bkcrypt

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzKeys are the keys every fuzzed value is decrypted with: the vector key
// in both alphabets, a key only SM4 can use, and no key. They are fixed (not
// fuzzed) so that "the error does not contain the key" stays meaningful: a
// fuzzed key could be a short string that occurs in any message.
var fuzzKeys = []string{vectorKey, stdAlphabet(vectorKey), nonFernetKey, ""}

// FuzzDecrypt feeds arbitrary stored values to Decrypt and checks that it
// never panics, that unprefixed values come back unchanged, and that errors
// are always one of the package's fixed messages, so they cannot carry the
// key, the value or any plaintext.
func FuzzDecrypt(f *testing.F) {
	fernetBody := strings.TrimPrefix(vectorFernet, PrefixFernet)
	sm4Body := strings.TrimPrefix(vectorSM4CTR, PrefixSM4CTR)
	for _, seed := range []string{
		vectorFernet, vectorSM4CTR,
		PrefixFernet, PrefixSM4CTR, "", "hello",
		PrefixFernet + fernetBody[:40], PrefixSM4CTR + sm4Body[:20],
		PrefixFernet + stdAlphabet(fernetBody), PrefixSM4CTR + fernetBody,
		PrefixFernet + "gAAAAA==", PrefixSM4CTR + "AAAA", PrefixFernet + "====",
		"\x00\xff garbage \xfe", "bkcrypt", "sm4ctr", "BKCRYPT$" + fernetBody,
		"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==",
	} {
		f.Add(seed)
	}

	decrypters := make([]*Decrypter, len(fuzzKeys))
	for i, k := range fuzzKeys {
		decrypters[i] = mustNew(f, k)
	}

	f.Fuzz(func(t *testing.T, stored string) {
		for i, d := range decrypters {
			key := fuzzKeys[i]
			got, err := d.Decrypt(stored)

			if !IsEncrypted(stored) {
				if err != nil || got != stored {
					t.Fatalf("unprefixed value not returned unchanged: %v", err)
				}
				continue
			}
			if err == nil {
				// Only authentic Fernet tokens or any SM4-CTR value with a
				// valid IV can decrypt; the result is always valid text.
				if key == "" {
					t.Fatal("decrypted an encrypted value without a key")
				}
				if !utf8.ValidString(got) {
					t.Fatal("Decrypt returned invalid UTF-8")
				}
				continue
			}
			if got != "" {
				t.Fatal("Decrypt returned text along with an error")
			}
			if key == "" && !errors.Is(err, ErrNoKey) {
				t.Fatalf("no key: got %v, want ErrNoKey", err)
			}
			// One of the fixed errors, containing no key material.
			checkSafeError(t, err, vectorKey, stdAlphabet(vectorKey), nonFernetKey, vectorKey[:16])
			msg := err.Error()
			allowed := false
			for _, k := range knownErrors {
				if msg == k.Error() || msg == PrefixFernet+" value: "+k.Error() || msg == PrefixSM4CTR+" value: "+k.Error() {
					allowed = true
					break
				}
			}
			if !allowed {
				t.Fatalf("error message %q is not one of the fixed messages", msg)
			}
		}
	})
}

// FuzzRoundTrip encrypts arbitrary plaintexts with both ciphers, with
// arbitrary IVs and Fernet timestamps, and checks that Decrypt returns them.
// Plaintext that is not valid UTF-8 (which the platform cannot store, since
// it encrypts Python strings) must be rejected rather than returned.
func FuzzRoundTrip(f *testing.F) {
	f.Add("hello", []byte("0123456789abcdef"), uint64(0))
	f.Add("", []byte{}, uint64(1))
	f.Add(strings.Repeat("A", 100), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, uint64(1<<63))
	f.Add("LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==", []byte{1, 2, 3}, uint64(1700000000))
	f.Add("\xff\xfe", []byte{}, uint64(0))
	f.Add(PrefixFernet+"x", []byte{}, uint64(0))

	d := mustNew(f, vectorKey)
	f.Fuzz(func(t *testing.T, plain string, ivSeed []byte, ts uint64) {
		iv := make([]byte, 16)
		copy(iv, ivSeed)
		for _, stored := range []string{
			encryptFernet(t, vectorKey, []byte(plain), ts, iv),
			encryptSM4CTR(t, vectorKey, []byte(plain), iv),
		} {
			if !IsEncrypted(stored) {
				t.Fatal("encrypted value is not recognised as encrypted")
			}
			got, err := d.Decrypt(stored)
			if !utf8.ValidString(plain) {
				if err == nil {
					t.Fatal("non-UTF-8 plaintext was returned instead of rejected")
				}
				checkSafeError(t, err, vectorKey, stored, plain)
				continue
			}
			if err != nil {
				t.Fatalf("round trip of %d bytes: %v", len(plain), err)
			}
			if got != plain {
				t.Fatalf("round trip of %d bytes returned different text", len(plain))
			}
		}
	})
}
