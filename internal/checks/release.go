package checks

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/platformdb"
	"github.com/paasdiag/paasdiag/internal/release"
)

// ReleaseDetector reads the platform's release line from the migrations recorded in
// whichever of its databases the diagnosis configures, before the checks run: the
// rules of several checks depend on it.
type ReleaseDetector struct {
	// Databases holds the diagnoses' connection pools.
	Databases *platformdb.Pools
}

// Detect reads django_migrations of the workloads and the default database (those the
// spec configures and whose DSN could be read) and decides the release line. A
// database that cannot be read leaves the line to the other; with none, it is Unknown
// and the evidence says why.
func (r ReleaseDetector) Detect(ctx context.Context, t check.Target) release.Detection {
	spec := &t.Diagnosis.Spec
	db := spec.PlatformDatabase
	if db == nil || (db.WorkloadsDSNSecretRef == nil && db.DefaultDSNSecretRef == nil) {
		return release.UnknownBecause("no platform database is configured (spec.platformDatabase): the release line is read from its django_migrations")
	}
	applied := map[string][]string{}
	var failures []string
	read := 0
	for _, source := range []struct {
		name string
		ref  *v1alpha1.SecretKeyReference
	}{
		{"workloads", db.WorkloadsDSNSecretRef},
		{"default", db.DefaultDSNSecretRef},
	} {
		if source.ref == nil {
			continue
		}
		dsn, ok := t.Secrets[source.ref.Name][source.ref.Key]
		if !ok {
			// Not read (no check that needs it is enabled) or missing (a stall says so).
			failures = append(failures, fmt.Sprintf("the %s database's DSN (Secret %q key %q) was not read", source.name, source.ref.Name, source.ref.Key))
			continue
		}
		conn, err := r.Databases.Open(client.ObjectKeyFromObject(t.Diagnosis), source.name, string(dsn), spec.Timeout.Duration)
		if err != nil {
			failures = append(failures, fmt.Sprintf("%s database: %s", source.name, err))
			continue
		}
		var found map[string][]string
		err = conn.ReadOnly(ctx, func(tx *sql.Tx) error {
			var err error
			found, err = platformdb.ReadMigrations(ctx, tx, release.Apps)
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
