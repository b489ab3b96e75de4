package checks

import (
	"bytes"
	"fmt"
	"strings"
)

// The platform hands ca_data, cert_data and key_data to kubernetes' FileOrData as
// *-data keys, which decodes them with base64.standard_b64decode: CPython's
// binascii.a2b_base64 in its lenient mode (kubernetes/base/config/kube_config.py:124
// `base64.standard_b64decode(content), self._temp_file_path)`). It does so for every
// cluster while it builds its one client pool (DBConfigLoader._load), so a value it
// cannot decode breaks every cluster, and a value that decodes to no PEM fails the TLS
// setup of every request to that cluster.

// pythonBase64Error is what binascii raises, with CPython's message.
type pythonBase64Error struct{ message string }

func (e pythonBase64Error) Error() string { return e.message }

// pythonB64Decode decodes as FileOrData does: the str encoded to UTF-8
// (kube_config.py `content = self._data.encode()`), then
// base64.standard_b64decode of those bytes: bytes outside the alphabet (non-ASCII
// ones too) dropped; decoding ends at the first complete padding, the rest ignored; a
// dangling quantum raises.
func pythonB64Decode(s string) ([]byte, error) {
	var out []byte
	quad, left, pads := 0, byte(0), 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '=' {
			pads++
			if quad >= 2 && quad+pads >= 4 {
				return out, nil
			}
			continue
		}
		v, ok := base64Value(c)
		if !ok {
			continue
		}
		pads = 0
		switch quad {
		case 0:
			left, quad = v, 1
		case 1:
			out = append(out, left<<2|v>>4)
			left, quad = v&0x0f, 2
		case 2:
			out = append(out, left<<4|v>>2)
			left, quad = v&0x03, 3
		default:
			out = append(out, left<<6|v)
			left, quad = 0, 0
		}
	}
	switch quad {
	case 1:
		return nil, pythonBase64Error{fmt.Sprintf("Invalid base64-encoded string: number of data characters (%d) cannot be 1 more than a multiple of 4", len(out)/3*4+1)}
	case 2, 3:
		return nil, pythonBase64Error{"Incorrect padding"}
	}
	return out, nil
}

func base64Value(c byte) (byte, bool) {
	switch {
	case c >= 'A' && c <= 'Z':
		return c - 'A', true
	case c >= 'a' && c <= 'z':
		return c - 'a' + 26, true
	case c >= '0' && c <= '9':
		return c - '0' + 52, true
	case c == '+':
		return 62, true
	case c == '/':
		return 63, true
	}
	return 0, false
}

// undecodableError is a credential column the platform's base64 decoding raises on:
// its whole client pool fails to load.
type undecodableError struct {
	column string
	err    error
}

func (e undecodableError) Error() string {
	return fmt.Sprintf("%s is not base64 to the platform (binascii.Error: %s)", e.column, e.err)
}

// rawPEMError is a certificate or key column that decodes, as the platform decodes
// it, to no PEM block (typically a value stored as raw PEM): the platform's TLS setup
// fails on every request to the cluster.
type rawPEMError struct {
	column string
	raw    bool // stored as raw PEM
}

func (e rawPEMError) Error() string {
	if e.raw {
		return e.column + " is raw PEM, not base64"
	}
	return e.column + " decodes to no PEM block"
}

// pemOf decodes a stored certificate or key value as the platform does. The bytes are
// returned with a rawPEMError too: a lone half of a client pair is ignored, not used.
func pemOf(column, v string) ([]byte, error) {
	raw, err := pythonB64Decode(v)
	if err != nil {
		return nil, undecodableError{column: column, err: err}
	}
	// OpenSSL reads the file for "-----BEGIN" lines, skipping what comes before;
	// a malformed block is left to the probe, which fails on it as the platform does.
	if !bytes.Contains(raw, []byte("-----BEGIN")) {
		return raw, rawPEMError{column: column, raw: strings.HasPrefix(strings.TrimSpace(v), "-----BEGIN")}
	}
	return raw, nil
}
