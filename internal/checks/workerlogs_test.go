package checks

import (
	"strings"
	"testing"
)

func TestRedactor(t *testing.T) {
	redact := redactor([][]byte{[]byte("known-secret-token-value"), []byte("abc")})
	tests := []struct{ in, gone string }{
		{"ERROR 403 with Authorization: Bearer eyJhbGciOi.abc.def", "eyJhbGciOi"},
		{"headers {'Authorization': 'Bearer eyJhbGciOi-xyz'}", "eyJhbGciOi"},
		{"authorization=Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"},
		{"connecting with password=hunter2!, retrying", "hunter2"},
		{`{"token": "tok-123456"}`, "tok-123456"},
		{"api_key: AKIA0000", "AKIA0000"},
		{"the platform used known-secret-token-value to call", "known-secret-token-value"},
	}
	for _, tt := range tests {
		got := redact(tt.in)
		if strings.Contains(got, tt.gone) || !strings.Contains(got, "[REDACTED]") {
			t.Errorf("redact(%q) = %q", tt.in, got)
		}
	}
	if got := redact("Reason: Forbidden (403) for user abc"); got != "Reason: Forbidden (403) for user abc" {
		t.Errorf("a line without credentials changed: %q", got)
	}
}

func TestMatchLines(t *testing.T) {
	builtin, err := compilePatterns([]string{`Reason: Forbidden`})
	if err != nil {
		t.Fatal(err)
	}
	custom, err := compilePatterns([]string{`\b403\b`})
	if err != nil {
		t.Fatal(err)
	}
	logs := "INFO start\nERROR (403)\nat 14:03:22 nothing\nReason: Forbidden\n" + strings.Repeat("x", maxLogLine+10) + "\nReason: Forbidden again\n"
	sc, err := matchLines(strings.NewReader(logs), builtin, custom)
	// Three matches (one after the overlong line), off the egress path; the first
	// quoted is the builtin pattern's: a custom pattern's line is never a sample.
	if err != nil || sc.elsewhere != 3 || sc.elsewhereSample != "Reason: Forbidden" || sc.onPath != 0 {
		t.Errorf("matchLines = %+v, %v", sc, err)
	}
	sc, _ = matchLines(strings.NewReader("ERROR (403)\n"), builtin, custom)
	if sc.elsewhere != 1 || sc.elsewhereSample != "" {
		t.Errorf("a custom pattern's line was kept: %+v", sc)
	}
}

func TestQuoteTruncates(t *testing.T) {
	q := quote(strings.Repeat("资", 200))
	if len(q) > maxQuotedLine+3 || !strings.HasSuffix(q, "...") || strings.ContainsRune(q, '\uFFFD') {
		t.Errorf("quote = %q", q)
	}
}
