// Package checks lists every check paasdiag runs. Each check lives in a file of its own
// and implements check.Checker; a diagnosis runs the ones its spec enables.
package checks

import (
	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/platformdb"
)

// All returns one instance of every check, in the order their conditions are reported.
func All(databases *platformdb.Pools) []check.Checker {
	return []check.Checker{
		InstancePools{Databases: databases},
	}
}
