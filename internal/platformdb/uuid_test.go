package platformdb

import "testing"

// The platform compares a binding's ids with the provider's as str(UUID): grouped,
// lowercase; what is not a UUID stays as stored.
func TestUUIDString(t *testing.T) {
	for in, want := range map[string]string{
		"0123456789abcdef0123456789abcdef":     "01234567-89ab-cdef-0123-456789abcdef",
		"0123456789ABCDEF0123456789ABCDEF":     "01234567-89ab-cdef-0123-456789abcdef",
		"01234567-89ab-cdef-0123-456789abcdef": "01234567-89ab-cdef-0123-456789abcdef", // a native uuid column
		"00000000000000000000000000000000":     legacyPlanID,
		"not-a-uuid":                           "not-a-uuid",
		"0123456789abcdef0123456789abcdeg":     "0123456789abcdef0123456789abcdeg",
	} {
		if got := uuidString(in); got != want {
			t.Errorf("uuidString(%q) = %q, want %q", in, got, want)
		}
	}
}
