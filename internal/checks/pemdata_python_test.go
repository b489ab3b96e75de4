//go:build integration

package checks

import (
	"encoding/hex"
	"encoding/json"
	"math/rand"
	"os/exec"
	"strings"
	"testing"
)

// The CPython that decodes for the platform (3.11) against pythonB64Decode, on random
// strings over the alphabet, padding, the characters raw PEM holds and a non-ASCII one,
// encoded to UTF-8 first as kubernetes' FileOrData encodes them.
const b64Reference = `
import base64, binascii, json, sys
out = []
for s in json.load(sys.stdin):
    try:
        out.append(["ok", base64.standard_b64decode(s.encode()).hex()])
    except (binascii.Error, ValueError) as e:
        out.append(["err", str(e)])
json.dump(out, sys.stdout)
`

// CLU22: the port against CPython itself, 20 000 inputs.
func TestCLU22_Base64MatchesCPython(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is needed to compare with CPython's base64 and is not on PATH: %v", err)
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-\n \t:.!é"
	letters := []rune(alphabet)
	rng := rand.New(rand.NewSource(1))
	inputs := make([]string, 20000)
	for i := range inputs {
		var b strings.Builder
		for n := rng.Intn(41); n > 0; n-- {
			b.WriteRune(letters[rng.Intn(len(letters))])
		}
		inputs[i] = b.String()
	}
	in, _ := json.Marshal(inputs)
	cmd := exec.Command(python, "-c", b64Reference)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	var want [][2]string
	if err := json.Unmarshal(out, &want); err != nil || len(want) != len(inputs) {
		t.Fatalf("python3 said %d results: %v", len(want), err)
	}
	bad := 0
	for i, s := range inputs {
		got, err := pythonB64Decode(s)
		g := [2]string{"ok", hex.EncodeToString(got)}
		if err != nil {
			g = [2]string{"err", err.Error()}
		}
		if g != want[i] {
			if bad++; bad <= 5 {
				t.Errorf("%q: got %v, CPython %v", s, g, want[i])
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d differ", bad, len(inputs))
	}
}
