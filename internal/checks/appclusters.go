package checks

import (
	"fmt"
	"sort"
	"strings"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/errorcodes"
	"github.com/paasdiag/paasdiag/internal/platformdb"
	"github.com/paasdiag/paasdiag/internal/release"
)

// allocatorLine is which of the platform's cluster allocators runs.
type allocatorLine int

const (
	// allocatorUnknown: 1.7+, but release-1.7's allocator cannot be told from main's
	// (the default database's applications migrations were not read).
	allocatorUnknown allocatorLine = iota
	// allocator16: 1.6, the region's is_default cluster.
	allocator16
	// allocator17: release-1.7, the policy's first existing cluster.
	allocator17
	// allocatorMain: main, the policy's first existing cluster of, or shared with, the
	// app's tenant, with rules that may match on usage (AI-agent apps).
	allocatorMain
)

func (in *inputs) allocatorLine() allocatorLine {
	filters, known := in.release.AllocatorFiltersByTenant()
	switch {
	case in.release.Line == release.Line16:
		return allocator16
	case !known:
		return allocatorUnknown
	case filters:
		return allocatorMain
	}
	return allocator17
}

// placement is what decides each app's cluster: its latest config's name, else the
// region's default (1.6) or the tenant's allocation policy (1.7+).
type placement struct {
	line             allocatorLine
	rows             []platformdb.ClusterRow
	apps             []platformdb.AppCluster
	appsHidden       string
	defaults         map[string][]string // 1.6; nil on 1.7+
	allocation       *platformdb.Allocation
	allocationHidden string
}

// clusterKey is how the platform's database compares cluster names: MySQL's and
// MariaDB's default collations ignore case, and (PAD SPACE) trailing spaces.
func clusterKey(name string) string { return strings.ToLower(strings.TrimRight(name, " ")) }

// findings judges where each app's next deploy runs: an app whose config names a
// cluster that does not exist, or names none and gets none, fails it (4313021 where an
// add-on service needs the cluster's egress info: paas_wl/infras/cluster/shim.py
// get_cluster_name takes the name without checking it, egress/shim.py then raises).
func (pl placement) findings() []check.Finding {
	if pl.appsHidden != "" {
		return []check.Finding{check.WarningFinding("clusters/apps", v1alpha1.ReasonBindingsUnreadable, "",
			"the apps' clusters cannot be read (missing "+pl.appsHidden+"): paasdiag cannot find apps bound to a cluster that does not exist; grant the columns of config/samples/readonly-grant-workloads.sql")}
	}
	exists := map[string]bool{}
	for _, r := range pl.rows {
		exists[clusterKey(r.Name)] = true
	}
	var al *allocator
	if pl.allocation != nil {
		al = newAllocator(pl.allocation, pl.rows)
	}
	code := errorcodes.Must(errorcodes.CannotGetClusterInfo)
	groups := map[string]*appGroup{}
	var order []string
	add := func(key string, g appGroup, app string) {
		if groups[key] == nil {
			groups[key] = &g
			order = append(order, key)
		}
		groups[key].apps = append(groups[key].apps, app)
	}
	for _, a := range pl.apps {
		switch {
		case a.Cluster != "":
			if !exists[clusterKey(a.Cluster)] {
				add("cluster\x00"+a.Cluster, appGroup{subject: "cluster/" + a.Cluster, severity: v1alpha1.SeverityError, why: fmt.Sprintf(
					"cluster %s does not exist, but the latest config of %%d app(s) names it: %%s; the platform takes the name without checking it, and their next deploy fails", a.Cluster)}, a.App)
			}
		case pl.defaults != nil:
			if len(pl.defaults[a.Region]) == 0 {
				add("region\x00"+a.Region, appGroup{subject: "region/" + a.Region, severity: v1alpha1.SeverityError, why: fmt.Sprintf(
					"%%d app(s) of region %s name no cluster and the region has no default cluster (is_default): %%s; their next deploy fails", a.Region)}, a.App)
			}
		case al != nil:
			if g, failed := pl.allocate(al, a); failed {
				add("tenant\x00"+a.Tenant+"\x00"+string(g.severity)+"\x00"+g.why, g, a.App)
			}
		}
	}
	var out []check.Finding
	for _, key := range order {
		g := groups[key]
		msg := code.Message(fmt.Sprintf(g.why, len(g.apps), firstFew(g.apps)))
		if g.severity == v1alpha1.SeverityWarning {
			out = append(out, check.WarningFinding(g.subject, v1alpha1.ReasonClusterNotFound, code.Number, msg))
		} else {
			out = append(out, check.ErrorFinding(g.subject, v1alpha1.ReasonClusterNotFound, code.Number, msg))
		}
	}
	if hidden := pl.unjudgedReason(); hidden != "" && pl.countUnnamed() > 0 {
		out = append(out, check.WarningFinding("clusters/allocation", v1alpha1.ReasonBindingsUnreadable, "", fmt.Sprintf(
			"%d app(s) name no cluster, and %s: paasdiag cannot tell whether the platform finds a cluster for them; grant the columns of config/samples/readonly-grant-workloads.sql", pl.countUnnamed(), hidden)))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Check < out[j].Check })
	return out
}

// appGroup is the apps one finding names.
type appGroup struct {
	subject  string
	severity v1alpha1.Severity
	// why is the message, with %d for the number of apps and %s for their names.
	why  string
	apps []string
}

// unjudgedReason is why apps naming no cluster cannot be judged at all, or "".
func (pl placement) unjudgedReason() string {
	switch {
	case pl.defaults != nil || pl.allocation != nil:
		return ""
	case pl.line == allocator16:
		return "the grant hides cluster_cluster.region or is_default (the region's default cluster)"
	case pl.allocationHidden != "":
		return "the grant hides " + pl.allocationHidden + " (the tenant's cluster allocation policy)"
	}
	return ""
}

func (pl placement) countUnnamed() int {
	n := 0
	for _, a := range pl.apps {
		if a.Cluster == "" {
			n++
		}
	}
	return n
}

// usages an environment can be allocated with on main (shim.py _get_cluster_usage):
// None, or for the default module of an AI-agent app one of two. paasdiag does not read
// which apps are AI agents, so on main an app fails only if it fails with each.
var usages = []string{"", "ai_agent", "ai_agent_isolated"}

// allocate judges an app whose config names no cluster (1.7+). failed: its next
// deploy fails (Error), or fails on main only while the line is not known (Warning).
// An app whose outcome paasdiag cannot tell (no environment in its name, a policy
// value it does not port) is left unjudged.
func (pl placement) allocate(al *allocator, a platformdb.AppCluster) (appGroup, bool) {
	env := environmentOf(a.App)
	if env == "" {
		return appGroup{}, false
	}
	ctx := allocationContext{tenant: a.Tenant, region: a.Region, environment: env}
	// failsWith reports the first failure when every usage fails, else nil.
	failsWith := func(filter bool, tried []string) (error, bool) {
		var first error
		for _, u := range tried {
			c := ctx
			c.usage = u
			_, failure, unported := al.defaultCluster(c, filter)
			if unported != nil {
				return unported, false
			}
			if failure == nil {
				return nil, true
			}
			if first == nil {
				first = failure
			}
		}
		return first, true
	}
	group := func(severity v1alpha1.Severity, failure error, note string) appGroup {
		return appGroup{subject: "tenant/" + a.Tenant, severity: severity, why: fmt.Sprintf(
			"%%d app(s) of tenant %s name no cluster, and the platform's cluster allocator finds none for them (%s): %%s; their next deploy fails%s",
			a.Tenant, failure, note)}
	}
	switch pl.line {
	case allocator17:
		if failure, judged := failsWith(false, usages[:1]); !judged {
			return appGroup{}, false
		} else if failure != nil {
			return group(v1alpha1.SeverityError, failure, ""), true
		}
	case allocatorMain:
		if failure, judged := failsWith(true, usages); !judged {
			return appGroup{}, false
		} else if failure != nil {
			return group(v1alpha1.SeverityError, failure, ""), true
		}
	default:
		if failure, judged := failsWith(false, usages); !judged {
			return appGroup{}, false
		} else if failure != nil {
			return group(v1alpha1.SeverityError, failure, ""), true
		}
		if failure, judged := failsWith(true, usages); judged && failure != nil {
			return group(v1alpha1.SeverityWarning, failure,
				" on main, whose allocator keeps only the clusters of, or shared with, the app's tenant (release-1.7's takes any; which of the two runs is read from the default database's migrations: configure spec.platformDatabase.defaultDSNSecretRef)"), true
		}
	}
	return appGroup{}, false
}
