// Package checks lists every check paasdiag runs. Each check lives in a file of its own
// and implements check.Checker; a diagnosis runs the ones its spec enables.
package checks

import (
	"github.com/paasdiag/paasdiag/internal/check"
)

// All returns one instance of every check, in the order their conditions are reported.
func All() []check.Checker {
	return []check.Checker{}
}
