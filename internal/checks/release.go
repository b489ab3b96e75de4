package checks

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/paasdiag/paasdiag/internal/platformdb"
	"github.com/paasdiag/paasdiag/internal/release"
)

// detectRelease reads the platform's release line from the migrations recorded in
// whichever of its databases the diagnosis configures, before the checks run: the
// rules of several checks depend on it. A database that cannot be read leaves the
// line to the other; with none, it is Unknown and the evidence says why. The
// reconciler bounds ctx by the diagnosis' timeout.
func (in *inputs) detectRelease(ctx context.Context) release.Detection {
	if !in.defaultDB.configured() && !in.workloadsDB.configured() {
		return release.UnknownBecause("no platform database is configured (spec.platformDatabase or spec.settingsFrom): the release line is read from its django_migrations")
	}
	applied := map[string][]string{}
	var failures []string
	read := 0
	for _, source := range []dsnInput{in.workloadsDB, in.defaultDB} {
		if !source.configured() {
			continue
		}
		if !source.read {
			// Not read (no check that needs it is enabled) or missing (a stall says so).
			failures = append(failures, fmt.Sprintf("the %s database's DSN (%s) was not read", source.name, source.where()))
			continue
		}
		conn, err := in.open(source)
		if err != nil {
			failures = append(failures, fmt.Sprintf("%s database: %s", source.name, err))
			continue
		}
		var found map[string][]string
		err = conn.ReadOnly(ctx, func(tx *sql.Tx) error {
			var err error
			found, err = platformdb.ReadMigrations(ctx, tx, append(append([]string{}, release.Apps...), release.Markers...))
			return err
		})
		if err != nil {
			failures = append(failures, fmt.Sprintf("django_migrations of %s: %s", conn.Target(), err))
			continue
		}
		read++
		for app, names := range found {
			applied[app] = append(applied[app], names...)
		}
	}
	if read == 0 {
		return release.UnknownBecause(strings.Join(failures, "; ") + " (grant SELECT (app, name) ON django_migrations)")
	}
	d := release.Detect(applied)
	if len(failures) > 0 {
		// Decided by one database: say that the other was not read.
		d.Evidence += " (not read: " + strings.Join(failures, "; ") + ")"
	}
	return d
}
