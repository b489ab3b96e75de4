package checks

import (
	"errors"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/platformdb"
)

// unknownFinding reports something paasdiag could not find out: Unknown, with the
// database error's reason, and no code.
func unknownFinding(name string, err error) check.Finding {
	var dbErr *platformdb.Error
	if !errors.As(err, &dbErr) {
		dbErr = &platformdb.Error{Reason: v1alpha1.ReasonDatabaseError, Message: err.Error()}
	}
	return check.UnknownFinding(name, dbErr.Reason, dbErr.Message)
}
