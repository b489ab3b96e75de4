// Package release tells which release line of the platform (bkpaas3) a database
// belongs to, from the migrations Django recorded in its django_migrations table.
//
// The schemas alone cannot be trusted for this: release-1.7 and main lay the tables
// paasdiag reads out identically, and a column-level grant hides columns from
// information_schema. The migrations Django applied can: each release line ships a
// known set (docs/conformance.md, "Release lines", cites them at the pinned revisions).
package release

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Line is a release line of the platform, as far as paasdiag's rules tell them apart.
type Line string

const (
	// Line16 is platform 1.6 and earlier: the initial cluster state Job
	// (region_gen_state), clusters cached per process until a restart.
	Line16 Line = "1.6"
	// Line17Plus is platform 1.7 and later (release-1.7 and main): node state synced
	// from the admin console, cluster cache invalidated by the platform itself.
	Line17Plus Line = "1.7+"
	// Unknown: the migrations could not be read, or contradict each other. No rule that
	// depends on the release line claims a code then.
	Unknown Line = "Unknown"
)

// Apps are the Django app labels whose migrations tell the release lines apart, in the
// order evidence is written.
var Apps = []string{"services", "cluster", "region"}

// Markers are app labels read with Apps but kept out of the line and its evidence:
// their migrations tell apart revisions within 1.7+ that some rules depend on.
var Markers = []string{"applications"}

// applicationsTenantAllocation is the applications migration (0021_application_is_isolated,
// blueking-paas #2928) first applied after the allocator began to filter clusters by
// tenant and to match AI-agent usage (#2913, its ancestor on main); release-1.7 stops
// at 0019.
const applicationsTenantAllocation = 21

// AllocatorFiltersByTenant reports whether the platform's cluster allocator keeps only
// the clusters of, or shared with, the app's tenant and matches usage (main after
// #2913), and whether that is known: the applications migrations live in the default
// database, so it is not known when only the workloads database was read.
func (d Detection) AllocatorFiltersByTenant() (filters, known bool) {
	latest, ok := d.Latest["applications"]
	if !ok || d.Line != Line17Plus {
		return false, d.Line == Line16
	}
	return latest >= applicationsTenantAllocation, true
}

// firstOf17 is, per app, the number of the first migration that release-1.7 added:
// release-1.6 stops just before it (services 0006, cluster 0010, region 0003). Any
// later migration, on main or beyond, counts as 1.7+ as well.
var firstOf17 = map[string]int{
	// services 0007: plans get a tenant_id (multi-tenancy arrived with 1.7).
	"services": 7,
	// cluster 0011: cluster.exposed_url_type, the first of the 1.7 cluster migrations.
	"cluster": 11,
	// region 0004: RegionClusterState loses its region, when generate_state lost its
	// region argument and region_gen_state was emptied.
	"region": 4,
}

// Detection is what the migrations said, with the evidence for it.
type Detection struct {
	Line Line
	// Evidence names the newest migration seen per app, e.g. "services 0009, cluster
	// 0023", or says why the line is unknown.
	Evidence string
	// Latest is the number of the newest migration applied, per app label; an app
	// absent from the map had none recorded.
	Latest map[string]int
}

// Has reports whether migration number n of app was applied: what a rule keyed on a
// migration asks.
func (d Detection) Has(app string, n int) bool {
	latest, ok := d.Latest[app]
	return ok && latest >= n
}

// UnknownBecause is a Detection that could not tell, and why.
func UnknownBecause(why string) Detection {
	return Detection{Line: Unknown, Evidence: why}
}

// Detect decides the release line from the migration names applied per app (as
// recorded in django_migrations, from one database or both). Names that do not start
// with a number (Django's squashed or custom names) are ignored.
func Detect(applied map[string][]string) Detection {
	d := Detection{Latest: map[string]int{}}
	for app, names := range applied {
		for _, name := range names {
			n, ok := number(name)
			if !ok {
				continue
			}
			if cur, seen := d.Latest[app]; !seen || n > cur {
				d.Latest[app] = n
			}
		}
	}
	var evidence, newer, older []string
	for _, app := range Apps {
		latest, ok := d.Latest[app]
		if !ok {
			continue
		}
		evidence = append(evidence, fmt.Sprintf("%s %04d", app, latest))
		if latest >= firstOf17[app] {
			newer = append(newer, app)
		} else {
			older = append(older, app)
		}
	}
	switch {
	case len(evidence) == 0:
		d.Line, d.Evidence = Unknown, "no migration of "+strings.Join(Apps, ", ")+" is recorded in django_migrations"
		return d
	case len(newer) > 0 && len(older) > 0:
		// One database upgraded and the other not: an upgrade in progress or a failed
		// one. Neither line's rules are safe.
		sort.Strings(newer)
		sort.Strings(older)
		d.Line = Unknown
		d.Evidence = fmt.Sprintf("migrations disagree: %s (1.7+ for %s, 1.6 for %s); an upgrade may be incomplete",
			strings.Join(evidence, ", "), strings.Join(newer, ", "), strings.Join(older, ", "))
		return d
	case len(newer) > 0:
		d.Line = Line17Plus
	default:
		d.Line = Line16
	}
	d.Evidence = strings.Join(evidence, ", ")
	return d
}

// number reads the leading number of a migration name, "0009_precreated..." -> 9.
func number(name string) (int, bool) {
	i := 0
	for i < len(name) && name[i] >= '0' && name[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, false
	}
	n, err := strconv.Atoi(name[:i])
	return n, err == nil
}
