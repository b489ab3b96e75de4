package platformdb

import (
	"context"
	"database/sql"
	"sort"
	"strings"
	"time"
)

// The app clusters live in the platform's workloads database (bk_engine_ng):
// cluster_cluster and cluster_apiserver (paas_wl/infras/cluster/models.py). Their
// credential columns are encrypted at rest (see internal/bkcrypt).

// ClusterRow is one app cluster as the platform stores it. Credential values are as
// stored: encrypted, or plaintext on rows older than encryption.
type ClusterRow struct {
	Name       string
	APIServers []string
	CA         string
	Cert       string
	Key        string
	Token      string
	// AssertHostname is the cluster's assert_hostname (1.7+), as stored: JSON true,
	// false, null or a host name; empty when the column is absent or NULL.
	AssertHostname string
	// Overrides are the API servers' overridden_hostname (platform 1.6), by host.
	Overrides map[string]string
	// Updated is the latest change of the cluster row or one of its API servers.
	Updated time.Time
}

var requiredClusterColumns = map[string][]string{
	"cluster_cluster":   {"uuid", "name", "ca_data", "cert_data", "key_data", "token_value", "updated"},
	"cluster_apiserver": {"host", "cluster_id", "updated"},
}

// ReadClusters reads every app cluster with its API servers and stored credentials.
func ReadClusters(ctx context.Context, tx *sql.Tx) ([]ClusterRow, error) {
	cols, err := columns(ctx, tx, map[string][]string{"cluster_cluster": nil, "cluster_apiserver": nil})
	if err != nil {
		return nil, err
	}
	if err := requireColumns(cols, requiredClusterColumns); err != nil {
		return nil, err
	}
	assert := "''"
	if cols["cluster_cluster"]["assert_hostname"] {
		assert = "COALESCE(CAST(assert_hostname AS CHAR), '')"
	}
	rows, err := tx.QueryContext(ctx, `SELECT uuid, name, COALESCE(ca_data, ''), COALESCE(cert_data, ''), COALESCE(key_data, ''),
		COALESCE(token_value, ''), updated, `+assert+` FROM cluster_cluster`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	byID := map[string]*ClusterRow{}
	var order []string
	for rows.Next() {
		var id, assertHostname string
		c := &ClusterRow{}
		if err := rows.Scan(&id, &c.Name, &c.CA, &c.Cert, &c.Key, &c.Token, &c.Updated, &assertHostname); err != nil {
			return nil, err
		}
		c.AssertHostname = strings.TrimSpace(assertHostname)
		id = normalizeUUID(id)
		byID[id] = c
		order = append(order, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}

	overridden := "''"
	if cols["cluster_apiserver"]["overridden_hostname"] {
		overridden = "COALESCE(overridden_hostname, '')"
	}
	servers, err := tx.QueryContext(ctx, `SELECT cluster_id, host, updated, `+overridden+` FROM cluster_apiserver ORDER BY host`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = servers.Close() }()
	for servers.Next() {
		var clusterID, host, override string
		var updated time.Time
		if err := servers.Scan(&clusterID, &host, &updated, &override); err != nil {
			return nil, err
		}
		c := byID[normalizeUUID(clusterID)]
		if c == nil {
			continue // an API server of a deleted cluster: the platform never uses it
		}
		c.APIServers = append(c.APIServers, host)
		if updated.After(c.Updated) {
			c.Updated = updated
		}
		if override = strings.TrimSpace(override); override != "" {
			if c.Overrides == nil {
				c.Overrides = map[string]string{}
			}
			c.Overrides[host] = override
		}
	}
	if err := servers.Err(); err != nil {
		return nil, err
	}
	out := make([]ClusterRow, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// AppCluster is the cluster an app of the workloads database (api_app, named
// bkapp-<code>-<env> or bkapp-<code>-m-<module>-<env>) is bound to: the cluster of
// its latest config (api_config, by created), which the platform takes without
// checking that it exists (paas_wl/infras/cluster/shim.py get_cluster_name).
type AppCluster struct {
	App, Region, Cluster string
	// Tenant is the app's tenant_id (1.7+): whose allocation policy picks its cluster
	// when the config names none. Empty on 1.6, or when the grant hides the column.
	Tenant string
}

// appClusterColumns are what ReadAppClusters needs.
var appClusterColumns = map[string][]string{
	"api_app":    {"uuid", "name", "region"},
	"api_config": {"app_id", "cluster", "created"},
}

// ReadAppClusters reads the cluster of every app's latest config, in two queries. When
// the user cannot see the columns, it returns what is missing instead.
func ReadAppClusters(ctx context.Context, tx *sql.Tx) ([]AppCluster, string, error) {
	cols, err := columns(ctx, tx, appClusterColumns)
	if err != nil {
		return nil, "", err
	}
	if missing := missingColumns(cols, appClusterColumns); len(missing) > 0 {
		return nil, strings.Join(missing, "; "), nil
	}
	tenant := "''"
	if cols["api_app"]["tenant_id"] {
		tenant = "a.tenant_id"
	}
	// Two plain scans, the newest config picked here: a correlated MAX(created) per
	// app costs an index dive and row reads per app (1.6 s at 40,000 apps, against
	// about a tenth of that for the scans; docs/performance.md). Of two configs created
	// in the same microsecond the first read wins: the platform's pick is arbitrary too.
	type config struct {
		cluster string
		created time.Time
	}
	latest := map[string]config{}
	configs, err := tx.QueryContext(ctx, `SELECT app_id, cluster, created FROM api_config`)
	if err != nil {
		return nil, "", err
	}
	defer func() { _ = configs.Close() }()
	for configs.Next() {
		var id string
		var c config
		if err := configs.Scan(&id, &c.cluster, &c.created); err != nil {
			return nil, "", err
		}
		id = normalizeUUID(id)
		if cur, ok := latest[id]; !ok || c.created.After(cur.created) {
			latest[id] = c
		}
	}
	if err := configs.Err(); err != nil {
		return nil, "", err
	}
	rows, err := tx.QueryContext(ctx, `SELECT a.uuid, a.name, a.region, `+tenant+` FROM api_app a`)
	if err != nil {
		return nil, "", err
	}
	defer func() { _ = rows.Close() }()
	var out []AppCluster
	for rows.Next() {
		var id string
		var a AppCluster
		if err := rows.Scan(&id, &a.App, &a.Region, &a.Tenant); err != nil {
			return nil, "", err
		}
		c, ok := latest[normalizeUUID(id)]
		if !ok {
			continue // no config: not an app the platform deploys yet
		}
		a.Cluster = c.cluster // as stored: " " is a name to the platform (truthy), that no cluster has
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].App < out[j].App })
	return out, "", nil
}

// DefaultClusters (platform 1.6) are the clusters marked is_default, by region: where
// an app whose config names no cluster runs. Nil on 1.7+, where an allocation policy
// decides instead.
func DefaultClusters(ctx context.Context, tx *sql.Tx) (map[string][]string, error) {
	cols, err := columns(ctx, tx, map[string][]string{"cluster_cluster": nil})
	if err != nil {
		return nil, err
	}
	if !cols["cluster_cluster"]["is_default"] || !cols["cluster_cluster"]["region"] {
		return nil, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT region, name FROM cluster_cluster WHERE is_default = 1`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := map[string][]string{}
	for rows.Next() {
		var region, name string
		if err := rows.Scan(&region, &name); err != nil {
			return nil, err
		}
		out[region] = append(out[region], name)
	}
	return out, rows.Err()
}

// AllocationPolicyRow is a tenant's cluster allocation policy (1.7+,
// cluster_clusterallocationpolicy) as stored: the two policies are JSON that the
// platform structures when it loads the row, so they are judged by the caller.
type AllocationPolicyRow struct {
	Tenant, Type string
	// Policy is allocation_policy (the uniform policy); Valid false when NULL.
	Policy sql.NullString
	// Precedence is allocation_precedence_policies (the rules); Valid false when NULL.
	Precedence sql.NullString
}

// ClusterTenancy is who may use a cluster (1.7+): its tenant_id and the JSON
// available_tenant_ids it is shared with (main's allocator filters on both).
type ClusterTenancy struct {
	Tenant, Available string
}

// Allocation is what picks the cluster of an app whose config names none, on 1.7+.
type Allocation struct {
	// Policies by tenant (tenant_id is unique).
	Policies map[string]AllocationPolicyRow
	// Tenancy by cluster name; nil when the grant hides the two columns.
	Tenancy map[string]ClusterTenancy
}

var allocationColumns = map[string][]string{
	"cluster_clusterallocationpolicy": {"tenant_id", "type", "allocation_policy", "allocation_precedence_policies"},
	"api_app":                         {"tenant_id"},
}

// ReadAllocation reads every tenant's cluster allocation policy and each cluster's
// tenancy, in two queries. When the grant hides what the policies need (or the table
// is absent: before 1.7), it returns what is missing instead.
func ReadAllocation(ctx context.Context, tx *sql.Tx) (*Allocation, string, error) {
	cols, err := columns(ctx, tx, map[string][]string{"cluster_clusterallocationpolicy": nil, "api_app": nil, "cluster_cluster": nil})
	if err != nil {
		return nil, "", err
	}
	if missing := missingColumns(cols, allocationColumns); len(missing) > 0 {
		return nil, strings.Join(missing, "; "), nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT tenant_id, type, CAST(allocation_policy AS CHAR),
		CAST(allocation_precedence_policies AS CHAR) FROM cluster_clusterallocationpolicy`)
	if err != nil {
		return nil, "", err
	}
	defer func() { _ = rows.Close() }()
	out := &Allocation{Policies: map[string]AllocationPolicyRow{}}
	for rows.Next() {
		var p AllocationPolicyRow
		if err := rows.Scan(&p.Tenant, &p.Type, &p.Policy, &p.Precedence); err != nil {
			return nil, "", err
		}
		out.Policies[p.Tenant] = p
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	if !cols["cluster_cluster"]["tenant_id"] || !cols["cluster_cluster"]["available_tenant_ids"] {
		return out, "", nil
	}
	tenancy, err := tx.QueryContext(ctx, `SELECT name, tenant_id, COALESCE(CAST(available_tenant_ids AS CHAR), '') FROM cluster_cluster`)
	if err != nil {
		return nil, "", err
	}
	defer func() { _ = tenancy.Close() }()
	out.Tenancy = map[string]ClusterTenancy{}
	for tenancy.Next() {
		var name string
		var t ClusterTenancy
		if err := tenancy.Scan(&name, &t.Tenant, &t.Available); err != nil {
			return nil, "", err
		}
		out.Tenancy[name] = t
	}
	return out, "", tenancy.Err()
}
