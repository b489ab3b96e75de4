package bkcrypt

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/emmansun/gmsm/sm4"
	"github.com/fernet/fernet-go"
)

// Published test vectors: key, plaintext "hello", timestamp 0 and IV
// 00 01 .. 0f for both ciphers.
const (
	vectorKey       = "PIMCuSRiVqBg5eSzQqZZrOhGFSUtrlS-8_JlIpjHt0A="
	vectorPlaintext = "hello"
	vectorFernet    = "bkcrypt$gAAAAAAAAAAAAAECAwQFBgcICQoLDA0OD52R7QtOZefX4DBHm_Nb8vbXcToczBF3LcdJeYCKQezINEt9D6RfE4iGzqClbfzB_w=="
	vectorSM4CTR    = "sm4ctr$AAECAwQFBgcICQoLDA0ODxHEJNG5"

	// A key that is long enough for SM4 but is not a Fernet key: a platform
	// configured for SM4CTR may well use one.
	nonFernetKey = "this key is not base64 but is long"
)

// vectorIV is the IV used by both published vectors.
var vectorIV = []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}

// stdAlphabet rewrites URL-safe base64 into the standard alphabet.
func stdAlphabet(s string) string {
	return strings.NewReplacer("-", "+", "_", "/").Replace(s)
}

// knownErrors lists every error Decrypt may return (ErrNoKey is wrapped).
// Their messages are constants, which is what guarantees that no key, value
// or plaintext can leak through them.
var knownErrors = []error{
	ErrNoKey,
	errFernetKeyInvalid, errFernetBase64, errFernetMalformed, errFernetAuth, errFernetPadding, errFernetNotUTF8,
	errSM4Base64, errSM4TooShort, errSM4NotUTF8,
}

// checkSafeError fails unless err is one of the package's fixed errors and
// its message contains none of the secrets (keys, stored values, plaintext).
func checkSafeError(tb testing.TB, err error, secrets ...string) {
	tb.Helper()
	if err == nil {
		tb.Fatal("expected an error, got nil")
	}
	known := false
	for _, k := range knownErrors {
		if errors.Is(err, k) {
			known = true
			break
		}
	}
	if !known {
		tb.Errorf("error %q is not one of the package's fixed errors", err)
	}
	msg := err.Error()
	for _, s := range secrets {
		// Messages name the prefix, so for a stored value look for the body
		// after it, which is what carries the data.
		for _, p := range []string{PrefixFernet, PrefixSM4CTR} {
			if body, ok := strings.CutPrefix(s, p); ok {
				s = body
				break
			}
		}
		if len(s) < 4 {
			continue // too short to be meaningful (and may occur in any text)
		}
		if strings.Contains(msg, s) {
			tb.Errorf("error message %q contains a secret (%d bytes)", msg, len(s))
		}
	}
}

func mustNew(tb testing.TB, key string) *Decrypter {
	tb.Helper()
	d, err := New(key)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return d
}

// encryptFernet is the test-only inverse of Decrypt for bkcrypt$ values,
// written from the Fernet spec: 0x80 || timestamp || IV || AES-128-CBC(PKCS#7)
// || HMAC-SHA256, URL-safe base64 with padding.
func encryptFernet(tb testing.TB, key string, plain []byte, ts uint64, iv []byte) string {
	tb.Helper()
	raw, err := base64.URLEncoding.DecodeString(key)
	if err != nil {
		raw, err = base64.StdEncoding.DecodeString(key)
	}
	if err != nil || len(raw) != 32 {
		tb.Fatalf("test key is not a Fernet key")
	}
	if len(iv) != aes.BlockSize {
		tb.Fatalf("IV must be %d bytes", aes.BlockSize)
	}
	block, err := aes.NewCipher(raw[16:])
	if err != nil {
		tb.Fatal(err)
	}
	n := aes.BlockSize - len(plain)%aes.BlockSize
	padded := append(bytes.Clone(plain), bytes.Repeat([]byte{byte(n)}, n)...)
	tok := []byte{0x80}
	tok = binary.BigEndian.AppendUint64(tok, ts)
	tok = append(tok, iv...)
	ct := make([]byte, len(padded))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, padded)
	tok = append(tok, ct...)
	mac := hmac.New(sha256.New, raw[:16])
	mac.Write(tok)
	tok = mac.Sum(tok)
	return PrefixFernet + base64.URLEncoding.EncodeToString(tok)
}

// encryptSM4CTR is the test-only inverse of Decrypt for sm4ctr$ values: SM4
// key = first 16 bytes of the key string, standard base64 of IV || ciphertext.
// It runs CTR mode by hand (referenceCTR), so that round trips compare the
// production CTR path against an independent one.
func encryptSM4CTR(tb testing.TB, key string, plain []byte, iv []byte) string {
	tb.Helper()
	if len(iv) != sm4.BlockSize {
		tb.Fatalf("IV must be %d bytes", sm4.BlockSize)
	}
	block, err := sm4.NewCipher([]byte(key[:16]))
	if err != nil {
		tb.Fatal(err)
	}
	out := append([]byte(nil), iv...)
	out = append(out, referenceCTR(block, iv, plain)...)
	return PrefixSM4CTR + base64.StdEncoding.EncodeToString(out)
}

// referenceCTR is CTR mode written out: the keystream is E(IV), E(IV+1), ...
// with the whole 16-byte block incremented as a big-endian integer modulo
// 2^128.
func referenceCTR(block cipher.Block, iv, src []byte) []byte {
	dst := make([]byte, len(src))
	ctr := bytes.Clone(iv)
	ks := make([]byte, block.BlockSize())
	for off := 0; off < len(src); off += len(ks) {
		block.Encrypt(ks, ctr)
		for i := off; i < len(src) && i < off+len(ks); i++ {
			dst[i] = src[i] ^ ks[i-off]
		}
		for i := len(ctr) - 1; i >= 0; i-- {
			ctr[i]++
			if ctr[i] != 0 {
				break
			}
		}
	}
	return dst
}

func TestPublishedVectors(t *testing.T) {
	keys := map[string]string{
		"url-safe alphabet":           vectorKey,
		"standard alphabet":           stdAlphabet(vectorKey),
		"unpadded":                    strings.TrimRight(vectorKey, "="),
		"trailing newline":            vectorKey + "\n",
		"standard alphabet, unpadded": strings.TrimRight(stdAlphabet(vectorKey), "="),
	}
	if stdAlphabet(vectorKey) == vectorKey {
		t.Fatal("the vector key should contain URL-safe characters, or the alphabet test proves nothing")
	}
	for name, key := range keys {
		// The SM4 key is the first 16 characters of the key string; they
		// contain no '-' or '_', so every form above also works for SM4.
		d := mustNew(t, key)
		for _, v := range []string{vectorFernet, vectorSM4CTR} {
			got, err := d.Decrypt(v)
			if err != nil {
				t.Errorf("%s: Decrypt(%.12s...): %v", name, v, err)
				continue
			}
			if got != vectorPlaintext {
				t.Errorf("%s: Decrypt(%.12s...) = %q, want %q", name, v, got, vectorPlaintext)
			}
		}
	}
}

// The test-only encrypt helpers must reproduce the published vectors byte for
// byte, otherwise the round-trip tests below would only prove that the
// helpers and Decrypt agree with each other.
func TestEncryptHelpersReproduceVectors(t *testing.T) {
	if got := encryptFernet(t, vectorKey, []byte(vectorPlaintext), 0, vectorIV); got != vectorFernet {
		t.Errorf("encryptFernet = %s, want %s", got, vectorFernet)
	}
	if got := encryptSM4CTR(t, vectorKey, []byte(vectorPlaintext), vectorIV); got != vectorSM4CTR {
		t.Errorf("encryptSM4CTR = %s, want %s", got, vectorSM4CTR)
	}
}

// Cross-check against an independent Fernet implementation.
func TestFernetGoCrossCheck(t *testing.T) {
	fk, err := fernet.DecodeKey(vectorKey)
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimPrefix(vectorFernet, PrefixFernet)
	// ttl 0 means "no TTL" in fernet-go.
	if got := fernet.VerifyAndDecrypt([]byte(tok), 0, []*fernet.Key{fk}); string(got) != vectorPlaintext {
		t.Fatalf("fernet-go decrypts the vector to %q", got)
	}
	d := mustNew(t, vectorKey)
	r := rand.New(rand.NewChaCha8([32]byte{1}))
	for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 1000, 4096} {
		plain := randomText(r, n)
		tok, err := fernet.EncryptAndSign([]byte(plain), fk)
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.Decrypt(PrefixFernet + string(tok))
		if err != nil {
			t.Fatalf("len %d: %v", n, err)
		}
		if got != plain {
			t.Fatalf("len %d: fernet-go token decrypts to different text", n)
		}
	}
}

// GB/T 32907-2016 appendix A example 1, to show that the SM4 block cipher is
// the real SM4.
func TestSM4KnownAnswer(t *testing.T) {
	key, _ := hex.DecodeString("0123456789abcdeffedcba9876543210")
	want, _ := hex.DecodeString("681edf34d206965e86b3e94f536e4246")
	block, err := sm4.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 16)
	block.Encrypt(got, key)
	if !bytes.Equal(got, want) {
		t.Fatalf("SM4(%x) = %x, want %x", key, got, want)
	}
}

// Decrypt must follow the reference counter for every IV, including carries
// across the low 64 bits and wrap-around of the whole 128-bit counter (where
// the SM4 package's own CTR goes wrong; see blockOnly).
func TestSM4CTRCounter(t *testing.T) {
	d := mustNew(t, vectorKey)
	ivs := [][]byte{
		vectorIV,
		make([]byte, 16),
		{0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe},
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfa},
		bytes.Repeat([]byte{0xff}, 16),
	}
	r := rand.New(rand.NewChaCha8([32]byte{2}))
	for range 8 {
		iv := make([]byte, 16)
		for i := range iv {
			iv[i] = byte(r.Uint32())
		}
		ivs = append(ivs, iv)
	}
	for _, iv := range ivs {
		for _, n := range []int{0, 1, 16, 17, 64, 255, 1024, 5000} {
			plain := randomText(r, n)
			got, err := d.Decrypt(encryptSM4CTR(t, vectorKey, []byte(plain), iv))
			if err != nil {
				t.Fatalf("iv %x len %d: %v", iv, n, err)
			}
			if got != plain {
				t.Fatalf("iv %x len %d: Decrypt differs from the reference counter", iv, n)
			}
		}
	}
}

// randomText returns n bytes of valid UTF-8 (mostly ASCII, some multi-byte).
func randomText(r *rand.Rand, n int) string {
	var b strings.Builder
	for b.Len() < n {
		if r.IntN(10) == 0 && n-b.Len() >= 3 {
			b.WriteRune(rune(0x4e00 + r.IntN(0x5000))) // 3-byte CJK
		} else {
			b.WriteByte(byte(0x20 + r.IntN(0x5f)))
		}
	}
	return b.String()
}

// pemLooking returns what ca_data/cert_data/key_data hold: standard base64 of
// a PEM document.
func pemLooking(r *rand.Rand, typ string, n int) string {
	der := make([]byte, n)
	for i := range der {
		der[i] = byte(r.Uint32())
	}
	return base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewChaCha8([32]byte{3}))
	plains := []string{"", "a", "hello", "ünïcödé 加密", strings.Repeat("x", 15), strings.Repeat("y", 16), strings.Repeat("z", 17)}
	for _, n := range []int{1, 7, 31, 100, 2048, 5000, 64 << 10} {
		plains = append(plains, randomText(r, n))
	}
	plains = append(plains,
		pemLooking(r, "CERTIFICATE", 900),
		pemLooking(r, "RSA PRIVATE KEY", 1200),
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not really DER")})),
		"eyJhbGciOiJSUzI1NiIsImtpZCI6IiJ9.eyJpc3MiOiJrdWJlcm5ldGVzIn0.c2lnbmF0dXJl", // token_value-like
		PrefixFernet+"looks encrypted but is the plaintext",
	)

	fernetKey := make([]byte, 32)
	for i := range fernetKey {
		fernetKey[i] = byte(r.Uint32())
	}
	keys := []string{vectorKey, base64.URLEncoding.EncodeToString(fernetKey), base64.StdEncoding.EncodeToString(fernetKey)}

	for _, key := range keys {
		d := mustNew(t, key)
		for _, p := range plains {
			iv := make([]byte, 16)
			for i := range iv {
				iv[i] = byte(r.Uint32())
			}
			for _, stored := range []string{
				encryptFernet(t, key, []byte(p), r.Uint64(), iv),
				encryptFernet(t, key, []byte(p), 0, iv),
				encryptSM4CTR(t, key, []byte(p), iv),
			} {
				if !IsEncrypted(stored) {
					t.Fatalf("IsEncrypted(%.12s...) = false", stored)
				}
				got, err := d.Decrypt(stored)
				if err != nil {
					t.Fatalf("Decrypt(%.12s...) of a %d-byte plaintext: %v", stored, len(p), err)
				}
				if got != p {
					t.Fatalf("Decrypt(%.12s...) of a %d-byte plaintext returned different text", stored, len(p))
				}
			}
		}
	}

	// A key that is not a Fernet key still serves SM4-CTR.
	d := mustNew(t, nonFernetKey)
	for _, p := range plains {
		got, err := d.Decrypt(encryptSM4CTR(t, nonFernetKey, []byte(p), vectorIV))
		if err != nil || got != p {
			t.Fatalf("non-Fernet key: SM4-CTR round trip of %d bytes failed: %v", len(p), err)
		}
	}
}

func TestWrongKeyFernet(t *testing.T) {
	other := base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0x42}, 32))
	for _, key := range []string{other, stdAlphabet(vectorKey[:10] + "AAAA" + vectorKey[14:])} {
		d := mustNew(t, key)
		_, err := d.Decrypt(vectorFernet)
		checkSafeError(t, err, key, vectorKey, vectorFernet, vectorPlaintext)
		if !errors.Is(err, errFernetAuth) {
			t.Errorf("wrong key: got %v, want the authentication error", err)
		}
	}

	// A key that is not a Fernet key at all.
	d := mustNew(t, nonFernetKey)
	_, err := d.Decrypt(vectorFernet)
	checkSafeError(t, err, nonFernetKey, vectorFernet, vectorPlaintext)
	if !errors.Is(err, errFernetKeyInvalid) {
		t.Errorf("non-Fernet key: got %v", err)
	}
}

// SM4-CTR is unauthenticated, so a wrong key cannot always be detected; the
// UTF-8 check catches it for values of realistic length.
func TestWrongKeySM4CTR(t *testing.T) {
	r := rand.New(rand.NewChaCha8([32]byte{4}))
	plain := pemLooking(r, "CERTIFICATE", 1500)
	stored := encryptSM4CTR(t, vectorKey, []byte(plain), vectorIV)
	wrong := "ZZZZZZZZZZZZZZZZ" + vectorKey[16:]
	d := mustNew(t, wrong)
	_, err := d.Decrypt(stored)
	checkSafeError(t, err, wrong, vectorKey, stored, plain)
	if !errors.Is(err, errSM4NotUTF8) {
		t.Errorf("got %v, want the UTF-8 error", err)
	}

	// A short value may decrypt to wrong text; it must at least never be
	// mistaken for the right one.
	got, err := d.Decrypt(vectorSM4CTR)
	if err == nil && got == vectorPlaintext {
		t.Errorf("wrong key decrypted the SM4 vector correctly")
	}
	if err != nil {
		checkSafeError(t, err, wrong, vectorKey, vectorSM4CTR, vectorPlaintext)
	}
}

func TestTamperedFernet(t *testing.T) {
	d := mustNew(t, vectorKey)
	r := rand.New(rand.NewChaCha8([32]byte{5}))
	stored := encryptFernet(t, vectorKey, []byte(randomText(r, 100)), 0, vectorIV)
	for _, s := range []string{stored, vectorFernet} {
		tok, err := base64.URLEncoding.DecodeString(strings.TrimPrefix(s, PrefixFernet))
		if err != nil {
			t.Fatal(err)
		}
		for i := range tok {
			for _, bit := range []byte{0x01, 0x80} {
				mod := bytes.Clone(tok)
				mod[i] ^= bit
				v := PrefixFernet + base64.URLEncoding.EncodeToString(mod)
				_, err := d.Decrypt(v)
				if err == nil {
					t.Fatalf("flipping bit %#x of byte %d was not detected", bit, i)
				}
				checkSafeError(t, err, vectorKey, v)
			}
		}
		// Extra or missing blocks.
		for _, mod := range [][]byte{
			append(bytes.Clone(tok), make([]byte, 16)...),
			tok[:len(tok)-16],
			append(bytes.Clone(tok[:len(tok)-32]), tok[len(tok)-16:]...),
		} {
			v := PrefixFernet + base64.URLEncoding.EncodeToString(mod)
			_, err := d.Decrypt(v)
			checkSafeError(t, err, vectorKey, v)
		}
	}
}

// Authentic tokens that the platform never writes (empty ciphertext, bad
// padding) must give an error, not a panic or wrong text.
func TestAuthenticButMalformedFernet(t *testing.T) {
	d := mustNew(t, vectorKey)
	raw, _ := base64.URLEncoding.DecodeString(vectorKey)
	sign := func(tok []byte) string {
		mac := hmac.New(sha256.New, raw[:16])
		mac.Write(tok)
		return PrefixFernet + base64.URLEncoding.EncodeToString(mac.Sum(tok))
	}
	head := append([]byte{0x80}, make([]byte, 8)...)
	head = append(head, vectorIV...)

	// No ciphertext at all.
	_, err := d.Decrypt(sign(bytes.Clone(head)))
	checkSafeError(t, err, vectorKey)

	// Partial block.
	_, err = d.Decrypt(sign(append(bytes.Clone(head), make([]byte, 10)...)))
	checkSafeError(t, err, vectorKey)

	// Bad PKCS#7 padding: pad bytes 0, 17, and inconsistent.
	block, _ := aes.NewCipher(raw[16:])
	for _, last := range [][]byte{{0}, {17}, {3, 3, 2}} {
		pt := make([]byte, 16)
		copy(pt[16-len(last):], last)
		ct := make([]byte, 16)
		cipher.NewCBCEncrypter(block, vectorIV).CryptBlocks(ct, pt)
		_, err := d.Decrypt(sign(append(bytes.Clone(head), ct...)))
		if !errors.Is(err, errFernetPadding) {
			t.Errorf("padding %v: got %v, want the padding error", last, err)
		}
	}

	// Authentic but not UTF-8.
	_, err = d.Decrypt(encryptFernet(t, vectorKey, []byte{0xff, 0xfe}, 0, vectorIV))
	if !errors.Is(err, errFernetNotUTF8) {
		t.Errorf("non-UTF-8: got %v", err)
	}
}

func TestInvalidValues(t *testing.T) {
	d := mustNew(t, vectorKey)
	fernetBody := strings.TrimPrefix(vectorFernet, PrefixFernet)
	sm4Body := strings.TrimPrefix(vectorSM4CTR, PrefixSM4CTR)

	var bad []string
	// Every truncation of the Fernet token fails (it is authenticated).
	for i := range len(fernetBody) {
		bad = append(bad, PrefixFernet+fernetBody[:i])
	}
	// SM4-CTR is not authenticated: only truncations that break the base64
	// or cut into the IV can be detected.
	for i := range len(sm4Body) {
		if i%4 != 0 || i < 24 {
			bad = append(bad, PrefixSM4CTR+sm4Body[:i])
		}
	}
	bad = append(bad,
		PrefixFernet, PrefixSM4CTR,
		PrefixFernet+"!!!!", PrefixSM4CTR+"!!!!",
		PrefixFernet+stdAlphabet(fernetBody), // the token uses '-' and '_'; '+' and '/' are invalid
		PrefixFernet+strings.TrimRight(fernetBody, "="),
		PrefixFernet+fernetBody+"AAAA",
		PrefixFernet+" "+fernetBody,
		PrefixSM4CTR+strings.TrimRight(sm4Body, "=")+"_-",
		PrefixSM4CTR+"AAECAwQFBgcICQoLDA0O", // 15 bytes: no room for the IV
		PrefixFernet+vectorSM4CTR,
		PrefixSM4CTR+fernetBody,
	)
	for _, v := range bad {
		got, err := d.Decrypt(v)
		if err == nil {
			t.Errorf("Decrypt(%q) = %q, want an error", v, got)
			continue
		}
		if got != "" {
			t.Errorf("Decrypt(%q) returned text along with an error", v)
		}
		checkSafeError(t, err, vectorKey, v)
	}
}

func TestPlaintextPassthrough(t *testing.T) {
	values := []string{
		"", "hello", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
		"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==",
		"BKCRYPT$gAAAAA", "bkcrypt", "bkcrypt:abc", "sm4ctr", "SM4CTR$AAAA", " bkcrypt$x", "\nsm4ctr$x",
		"x" + vectorFernet, "\xff\xfe not UTF-8",
	}
	for _, key := range []string{vectorKey, nonFernetKey, ""} {
		d := mustNew(t, key)
		for _, v := range values {
			if IsEncrypted(v) {
				t.Errorf("IsEncrypted(%q) = true", v)
			}
			got, err := d.Decrypt(v)
			if err != nil || got != v {
				t.Errorf("key %d bytes: Decrypt(%q) = %q, %v; want it unchanged", len(key), v, got, err)
			}
		}
	}
	var nilD *Decrypter
	if got, err := nilD.Decrypt("plain"); err != nil || got != "plain" {
		t.Errorf("nil Decrypter: Decrypt(plain) = %q, %v", got, err)
	}
}

func TestIsEncrypted(t *testing.T) {
	for _, v := range []string{vectorFernet, vectorSM4CTR, PrefixFernet, PrefixSM4CTR, PrefixSM4CTR + "garbage"} {
		if !IsEncrypted(v) {
			t.Errorf("IsEncrypted(%q) = false", v)
		}
	}
}

func TestNoKey(t *testing.T) {
	d, err := New("")
	if err != nil {
		t.Fatalf("New(\"\"): %v", err)
	}
	var nilD *Decrypter
	for name, d := range map[string]*Decrypter{"New(\"\")": d, "nil": nilD, "zero": {}} {
		for _, v := range []string{vectorFernet, vectorSM4CTR, PrefixFernet, PrefixSM4CTR} {
			got, err := d.Decrypt(v)
			if !errors.Is(err, ErrNoKey) {
				t.Errorf("%s: Decrypt(%.12s...) = %q, %v; want ErrNoKey", name, v, got, err)
			}
			checkSafeError(t, err, v)
		}
		if got, err := d.Decrypt("plain"); err != nil || got != "plain" {
			t.Errorf("%s: plaintext not passed through: %q, %v", name, got, err)
		}
	}
}

// CLU23: bkcrypto pads an SM4 key shorter than 16 bytes with zero bytes (and cuts a
// longer one), so any non-empty key serves SM4. Vectors: IV 00..0f, plaintext
// "Bearer-token-ü", made with an independent SM4 implementation (pyca/cryptography).
func TestCLU23_ShortSM4KeysArePaddedAsBkcryptoPadsThem(t *testing.T) {
	for key, stored := range map[string]string{
		"short":            "sm4ctr$AAECAwQFBgcICQoLDA0OD603AOHNqPyeYC+xVwjkMg==",
		"0123456789abcdef": "sm4ctr$AAECAwQFBgcICQoLDA0OD+eizDVvXcOQ2lf1BX377Q==",
		"ZmVybmV0LWtleS1leGFtcGxlLTMyLWJ5dGVzLXh4eHg=": "sm4ctr$AAECAwQFBgcICQoLDA0OD2b747zJM20x/s3Wjy2e0w==",
	} {
		d, err := New(key)
		if err != nil {
			t.Fatalf("New(%d-byte key): %v", len(key), err)
		}
		if err := d.Serves(SM4CTR); err != nil {
			t.Errorf("%d-byte key does not serve SM4CTR: %v", len(key), err)
		}
		got, err := d.Decrypt(stored)
		if err != nil || got != "Bearer-token-ü" {
			t.Errorf("%d-byte key: Decrypt = %q, %v", len(key), got, err)
		}
	}
}

// Printing a Decrypter in any form must not reveal the key or anything
// derived from it.
func TestFormattingHidesKey(t *testing.T) {
	d := mustNew(t, vectorKey)
	raw, _ := base64.URLEncoding.DecodeString(vectorKey)
	secrets := []string{
		vectorKey, vectorKey[:16], hex.EncodeToString(raw[:16]), hex.EncodeToString(raw[16:]),
		fmt.Sprint(raw[:16]), fmt.Sprint(raw[:4]),
	}
	for _, out := range []string{
		fmt.Sprint(d), fmt.Sprintf("%v %+v %#v %s", d, d, d, d),
		fmt.Sprintf("%v %+v %#v", *d, *d, *d),
		fmt.Sprintf("%v", []*Decrypter{d}), fmt.Sprintf("%+v", struct{ D *Decrypter }{d}),
	} {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("formatted Decrypter %q reveals key material", out)
			}
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	d := mustNew(t, vectorKey)
	done := make(chan error)
	for range 8 {
		go func() {
			for range 200 {
				for _, v := range []string{vectorFernet, vectorSM4CTR} {
					got, err := d.Decrypt(v)
					if err != nil || got != vectorPlaintext {
						done <- fmt.Errorf("concurrent Decrypt: %q, %v", got, err)
						return
					}
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// Sanity check of the helper used for random plaintexts.
func TestRandomTextIsUTF8(t *testing.T) {
	r := rand.New(rand.NewChaCha8([32]byte{6}))
	for n := range 100 {
		if s := randomText(r, n); !utf8.ValidString(s) {
			t.Fatalf("randomText(%d) is not UTF-8", n)
		}
	}
}

func TestServes(t *testing.T) {
	fernetKey := "PIMCuSRiVqBg5eSzQqZZrOhGFSUtrlS-8_JlIpjHt0A="
	for _, tt := range []struct {
		key, cipher string
		ok          bool
	}{
		{fernetKey, Fernet, true},
		{fernetKey, SM4CTR, true}, // 44 characters: its first 16 are an SM4 key
		{"a-plain-sm4-key-of-32-characters", SM4CTR, true},
		{"a-plain-sm4-key-of-32-characters", Fernet, false},
		{"", Fernet, true}, // no key: plaintext rows only, nothing to check
		{fernetKey, "", true},
	} {
		d, err := New(tt.key)
		if err != nil {
			t.Fatalf("New(%q): %v", tt.key, err)
		}
		if err := d.Serves(tt.cipher); (err == nil) != tt.ok {
			t.Errorf("key %q cipher %q: %v", tt.key, tt.cipher, err)
		} else if err != nil && strings.Contains(err.Error(), tt.key) {
			t.Error("the error quotes the key")
		}
	}
}
