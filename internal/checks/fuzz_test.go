package checks

import (
	"strings"
	"testing"
)

// FuzzWorkerLogs: whatever a worker logs, matching never panics, and what a finding
// would quote never contains a secret paasdiag holds.
func FuzzWorkerLogs(f *testing.F) {
	f.Add("Reason: Forbidden\nHTTP 403 with Authorization: Bearer tok-canary-123\n", "tok-canary-123")
	f.Add("\x00\xff\n\n\r\n"+strings.Repeat("a", 1000), "secret-value")
	f.Add("Can not get app cluster egress info password=hunter22", "hunter22")
	patterns, err := compilePatterns([]string{`Reason: Forbidden`, `\b403\b`, `Can not get app cluster egress info`, `.`})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, logs, secret string) {
		sc, err := matchLines(strings.NewReader(logs), patterns[:3], patterns[3:])
		if err != nil {
			t.Fatal(err)
		}
		if sc.onPath < 0 || sc.elsewhere < 0 || len(sc.onPathSample) > len(logs) || len(sc.elsewhereSample) > len(logs) {
			t.Fatalf("%+v from %d bytes", sc, len(logs))
		}
		if len(strings.TrimSpace(secret)) < 6 {
			return
		}
		redact := redactor([][]byte{[]byte(secret)})
		for _, sample := range []string{sc.onPathSample, sc.elsewhereSample} {
			if q := quote(redact(sample)); strings.Contains(q, strings.TrimSpace(secret)) {
				t.Fatalf("the quoted line %q contains the secret %q", q, secret)
			}
		}
	})
}
