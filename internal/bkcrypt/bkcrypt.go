// Package bkcrypt reads values that the BlueKing PaaS platform stored through
// blue-krill's EncryptField, such as the cluster credentials in the platform
// database (ca_data, cert_data, key_data, token_value).
//
// The platform writes every new value with the cipher named by its
// ENCRYPT_CIPHER_TYPE setting, but it reads by prefix: a value is decrypted
// with whichever cipher its prefix names, and a value without a known prefix
// is taken as plaintext. Databases therefore routinely hold a mix of
// plaintext rows (written before encryption was introduced), Fernet rows and
// SM4-CTR rows (written after a migration between ciphers), and this package
// mirrors that read path rather than asking the caller which cipher is in use.
//
// Errors returned by this package never contain the key, the stored value or
// any decrypted text, because callers report them in Kubernetes status
// objects and events that many people can read.
package bkcrypt

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/emmansun/gmsm/sm4"
)

// Cipher names, matching the CRD's spec.platformDatabase.cipher values.
//
// They name the platform's cipher choices (BK_CRYPTO_TYPE) so that users can say
// which cipher their platform writes with; Serves checks that the key fits it.
// Decrypt does not need them: like the platform itself it picks the cipher from
// each value's prefix, so one Decrypter reads rows written under either setting.
const (
	Fernet = "Fernet"
	SM4CTR = "SM4CTR"
)

// Prefixes that the platform puts in front of encrypted values. They are the
// only thing that tells an encrypted value from a plaintext one, so they are
// matched exactly and case-sensitively, as the platform does.
const (
	// PrefixFernet is followed by a standard Fernet token (URL-safe base64,
	// padded).
	PrefixFernet = "bkcrypt$"
	// PrefixSM4CTR is followed by standard base64 of a 16-byte IV and the
	// SM4-CTR ciphertext.
	PrefixSM4CTR = "sm4ctr$"
)

// ErrNoKey is returned (wrapped; test with errors.Is) when a value carries a
// cipher prefix but the Decrypter has no key. It is a distinct error so that
// callers can tell "configure the platform's encryption key" apart from "the
// configured key is wrong or the value is corrupted".
var ErrNoKey = errors.New("value is encrypted but no platform encryption key (BKKRILL_ENCRYPT_SECRET_KEY) is configured")

// The errors below are fixed strings on purpose: nothing derived from the key,
// the stored value or the plaintext is ever formatted into them, so they are
// safe to put in a Kubernetes status. Keep it that way when adding new ones.
var (
	errKeyNotFernet = errors.New("platform encryption key is not a Fernet key (32 bytes in base64), as cipher Fernet needs: is it the platform's BKKRILL_ENCRYPT_SECRET_KEY, or does the platform run with BK_CRYPTO_TYPE=SHANGMI (cipher SM4CTR)?")

	errFernetKeyInvalid = errors.New(PrefixFernet + " value cannot be decrypted: the configured key is not a Fernet key (32 bytes in base64)")
	errFernetBase64     = errors.New(PrefixFernet + " value is not valid URL-safe base64")
	errFernetMalformed  = errors.New(PrefixFernet + " value is not a well-formed Fernet token (wrong version byte or length)")
	errFernetAuth       = errors.New(PrefixFernet + " value does not decrypt with the configured key (wrong key or corrupted value)")
	errFernetPadding    = errors.New(PrefixFernet + " value has invalid padding after decryption (corrupted value)")
	errFernetNotUTF8    = errors.New(PrefixFernet + " value decrypts to bytes that are not valid UTF-8 text")

	errSM4KeyTooShort = errors.New(PrefixSM4CTR + " value cannot be decrypted: the configured key is shorter than the 16 bytes SM4 needs")
	errSM4Base64      = errors.New(PrefixSM4CTR + " value is not valid base64")
	errSM4TooShort    = errors.New(PrefixSM4CTR + " value is too short to hold the 16-byte IV")
	errSM4NotUTF8     = errors.New(PrefixSM4CTR + " value does not decrypt to valid UTF-8 text (most likely a wrong key, or a corrupted value)")
)

// Fernet token layout (https://github.com/fernet/spec/blob/master/Spec.md):
// version (1) || timestamp (8) || IV (16) || AES-128-CBC ciphertext || HMAC (32).
const (
	fernetVersion    = 0x80
	fernetKeyLen     = 32
	fernetIVOffset   = 1 + 8
	fernetDataOffset = fernetIVOffset + aes.BlockSize
	// The ciphertext always holds at least one block, because PKCS#7 padding
	// adds between 1 and 16 bytes even to an empty message.
	fernetMinLen = fernetDataOffset + aes.BlockSize + sha256.Size
)

// Decrypter decrypts values with one key.
//
// It keeps only the material derived from the key (Fernet signing and
// encryption keys, SM4 key schedule), never the key string, and it hides even
// that from fmt (see String), so that logging a Decrypter cannot leak the key.
// A Decrypter is safe for concurrent use. The zero value and a nil
// *Decrypter behave like New(""): they read plaintext values only.
type Decrypter struct {
	// hasKey is false only for the empty key; it separates ErrNoKey from a
	// key that cannot serve one of the ciphers.
	hasKey bool

	// fernetSign and fernetBlock are nil when the key is not a Fernet key;
	// that is only an error once a bkcrypt$ value has to be read, because a
	// platform configured for SM4CTR need not have a Fernet-shaped key.
	fernetSign  []byte
	fernetBlock cipher.Block

	// sm4Block is nil when the key is shorter than 16 bytes. It is wrapped
	// in blockOnly (see there).
	sm4Block cipher.Block
}

// blockOnly hides every method of a cipher.Block except the Block interface.
//
// The SM4 package's assembly block offers its own NewCTR, which
// cipher.NewCTR would use instead of the standard library's generic CTR.
// In the gmsm version we depend on, that implementation computes a wrong
// keystream when the 128-bit counter wraps around within a batch (an IV of
// all 0xff bytes is the simplest case): the carry of one counter block spills
// into the one before it. Real IVs are random, so this is rare, but a value
// with such an IV would silently decrypt to garbage. The generic CTR
// increments the whole 16-byte block modulo 2^128 (standard CTR, as OpenSSL
// and other common implementations do it), and its speed is ample for
// credentials of a few KB.
type blockOnly struct{ cipher.Block }

// New returns a decrypter for the platform's key (the string form of
// BKKRILL_ENCRYPT_SECRET_KEY).
//
// An empty key is allowed, because many installations predate encryption and
// hold only plaintext: then only plaintext values can be read, and an
// encrypted value gives ErrNoKey.
//
// The key serves each cipher the way the platform uses it:
//   - Fernet: the key is base64 of 32 bytes (16-byte HMAC-SHA256 signing key,
//     then 16-byte AES-128 key). The platform generates it in the URL-safe
//     alphabet, but people copying it around often end up with the standard
//     one, and Python's decoder accepts both, so both alphabets (and missing
//     '=' padding) are accepted here.
//   - SM4-CTR: the SM4 key is the first 16 bytes of the key string itself, not
//     of its base64 decoding, and a shorter key is padded with zero bytes,
//     exactly as the platform's SM4 cipher (bkcrypto) does.
//
// So any non-empty key serves SM4. A key that is not a Fernet key is accepted,
// and Decrypt reports the problem only if it meets a bkcrypt$ value. For SM4
// the key string is used as given, not trimmed, since SM4 would see a
// different key if it were (a trailing newline after 16 bytes does not
// matter: only the first 16 bytes are used).
func New(key string) (*Decrypter, error) {
	d := &Decrypter{}
	if key == "" {
		return d, nil
	}
	d.hasKey = true

	if raw, ok := decodeFernetKey(key); ok {
		block, err := aes.NewCipher(raw[16:])
		if err != nil {
			// Cannot happen for a 16-byte key; never wrap err, to keep key
			// material out of messages.
			return nil, errFernetKeyInvalid
		}
		d.fernetSign = raw[:16]
		d.fernetBlock = block
	}

	// bkcrypto truncates the key to 16 bytes, and pads a shorter one with zero bytes
	// (bkcrypto/symmetric/ciphers/sm4.py), so any non-empty key serves SM4.
	sm4Key := make([]byte, sm4.BlockSize)
	copy(sm4Key, key)
	block, err := sm4.NewCipher(sm4Key)
	if err != nil {
		// Cannot happen for a 16-byte key.
		return nil, errSM4KeyTooShort
	}
	d.sm4Block = blockOnly{block}
	return d, nil
}

// Serves reports whether the key can encrypt and decrypt with the named cipher
// (Fernet or SM4CTR): the one the platform writes new values with. Without a key
// (plaintext rows only) there is nothing to check.
func (d *Decrypter) Serves(cipher string) error {
	if d == nil || !d.hasKey {
		return nil
	}
	if cipher == Fernet && d.fernetBlock == nil {
		return errKeyNotFernet
	}
	return nil // any key serves SM4CTR, padded as bkcrypto pads it
}

// decodeFernetKey decodes a Fernet key written in either base64 alphabet,
// with or without padding. Python's urlsafe_b64decode, which the platform
// uses, maps '-' and '_' to '+' and '/' before decoding, so normalising to the
// standard alphabet here accepts the same keys. Surrounding whitespace (say, a
// trailing newline from a Secret created from a file) is ignored, as Python's
// lenient base64 decoder ignores it too.
func decodeFernetKey(key string) ([]byte, bool) {
	s := strings.NewReplacer("-", "+", "_", "/").Replace(strings.TrimSpace(key))
	s = strings.TrimRight(s, "=")
	raw, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil || len(raw) != fernetKeyLen {
		return nil, false
	}
	return raw, true
}

// IsEncrypted reports whether the value carries a known cipher prefix.
//
// It lets callers tell "this row is still plaintext" from "this row was
// decrypted" (for example to warn that credentials are stored unencrypted)
// without needing a key.
func IsEncrypted(stored string) bool {
	return strings.HasPrefix(stored, PrefixFernet) || strings.HasPrefix(stored, PrefixSM4CTR)
}

// Decrypt returns the plaintext of a stored value, choosing the cipher by its
// prefix; values without a known prefix are returned as they are, because the
// platform itself reads them that way (rows written before encryption was
// introduced).
//
// For bkcrypt$ values the Fernet HMAC is verified, so a wrong key or a
// modified value gives an error, never wrong text. No TTL is applied: the
// platform decrypts without one, and its tokens carry timestamp 0.
//
// sm4ctr$ values are not authenticated (CTR mode has no tag), so with a wrong
// key they decrypt to garbage; that is inherent in the platform's format. The
// platform decodes decrypted bytes as UTF-8, so Decrypt rejects plaintext that
// is not valid UTF-8 (of either cipher); for SM4-CTR this catches a wrong key
// with near certainty for values of more than a few bytes (certificates,
// keys, tokens), but a short value may still come back as wrong text.
//
// Errors never contain the key, the stored value or any plaintext. When the
// Decrypter has no key, an encrypted value gives an error wrapping ErrNoKey.
func (d *Decrypter) Decrypt(stored string) (string, error) {
	if body, ok := strings.CutPrefix(stored, PrefixFernet); ok {
		if d == nil || !d.hasKey {
			return "", fmt.Errorf("%s value: %w", PrefixFernet, ErrNoKey)
		}
		return d.decryptFernet(body)
	}
	if body, ok := strings.CutPrefix(stored, PrefixSM4CTR); ok {
		if d == nil || !d.hasKey {
			return "", fmt.Errorf("%s value: %w", PrefixSM4CTR, ErrNoKey)
		}
		return d.decryptSM4CTR(body)
	}
	return stored, nil
}

// DecryptFernetToken verifies and decrypts a bare Fernet token, as blue-krill's
// decrypt_string does for the platform's encrypted DATABASE_URL (always Fernet,
// whatever BK_CRYPTO_TYPE says).
func (d *Decrypter) DecryptFernetToken(token string) (string, error) {
	if d == nil || !d.hasKey {
		return "", errFernetKeyInvalid
	}
	return d.decryptFernet(token)
}

// decryptFernet verifies and decrypts a Fernet token (without the prefix).
// It is implemented on the standard library rather than on a Fernet package
// so that the "no TTL" rule is explicit, and so that tokens that are
// authentic but malformed (which the platform never writes) give an error
// instead of a panic or a silently accepted bad padding.
func (d *Decrypter) decryptFernet(token string) (string, error) {
	if d.fernetBlock == nil {
		return "", errFernetKeyInvalid
	}
	// Tokens are always padded URL-safe base64. Go's decoder skips '\r' and
	// '\n', which tolerates values that were line-wrapped by some tool.
	tok, err := base64.URLEncoding.DecodeString(token)
	if err != nil {
		return "", errFernetBase64
	}
	if len(tok) < fernetMinLen || tok[0] != fernetVersion {
		return "", errFernetMalformed
	}
	macOffset := len(tok) - sha256.Size
	if (macOffset-fernetDataOffset)%aes.BlockSize != 0 {
		return "", errFernetMalformed
	}

	// The HMAC covers version, timestamp, IV and ciphertext. It is checked
	// before anything is decrypted, and in constant time, so that neither
	// a padding oracle nor a timing side channel exists. The timestamp is
	// deliberately not checked against any TTL.
	mac := hmac.New(sha256.New, d.fernetSign)
	mac.Write(tok[:macOffset])
	if !hmac.Equal(mac.Sum(nil), tok[macOffset:]) {
		return "", errFernetAuth
	}

	iv := tok[fernetIVOffset:fernetDataOffset]
	data := tok[fernetDataOffset:macOffset]
	// CryptBlocks may work in place: tok is our own copy.
	cipher.NewCBCDecrypter(d.fernetBlock, iv).CryptBlocks(data, data)

	plain, ok := unpadPKCS7(data, aes.BlockSize)
	if !ok {
		return "", errFernetPadding
	}
	if !utf8.Valid(plain) {
		return "", errFernetNotUTF8
	}
	return string(plain), nil
}

// unpadPKCS7 removes PKCS#7 padding, rejecting a pad byte of 0 or more than
// one block, and pad bytes that differ. The input is already authenticated,
// so there is no need for a constant-time check here.
func unpadPKCS7(b []byte, blockSize int) ([]byte, bool) {
	if len(b) == 0 || len(b)%blockSize != 0 {
		return nil, false
	}
	n := int(b[len(b)-1])
	if n == 0 || n > blockSize {
		return nil, false
	}
	if !bytes.Equal(b[len(b)-n:], bytes.Repeat([]byte{byte(n)}, n)) {
		return nil, false
	}
	return b[:len(b)-n], true
}

// decryptSM4CTR decrypts the base64 of IV || ciphertext (without the prefix).
// The whole 16-byte IV is the initial counter block, incremented as one
// 128-bit big-endian integer (modulo 2^128): standard CTR, as the standard
// library's generic cipher.NewCTR implements it.
func (d *Decrypter) decryptSM4CTR(body string) (string, error) {
	if d.sm4Block == nil {
		return "", errSM4KeyTooShort
	}
	raw, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return "", errSM4Base64
	}
	if len(raw) < sm4.BlockSize {
		return "", errSM4TooShort
	}
	iv, ct := raw[:sm4.BlockSize], raw[sm4.BlockSize:]
	plain := make([]byte, len(ct))
	cipher.NewCTR(d.sm4Block, iv).XORKeyStream(plain, ct)
	if !utf8.Valid(plain) {
		return "", errSM4NotUTF8
	}
	return string(plain), nil
}

// String describes the Decrypter without any key material, so that printing
// one with %v or %+v (for example in a debug log) cannot leak the key. It has
// a value receiver so that it also covers a Decrypter printed by value; fmt
// prints a nil *Decrypter as <nil> by itself.
func (d Decrypter) String() string {
	if !d.hasKey {
		return "bkcrypt.Decrypter{key: none}"
	}
	return fmt.Sprintf("bkcrypt.Decrypter{key: redacted, fernet: %t, sm4ctr: %t}", d.fernetBlock != nil, d.sm4Block != nil)
}

// GoString is String for %#v, which would otherwise print the key material.
func (d Decrypter) GoString() string { return d.String() }
