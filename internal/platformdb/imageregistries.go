package platformdb

import (
	"context"
	"database/sql"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
)

// A cluster's own app image registry lives in the workloads database (bk_engine_ng) from
// platform 1.7 on: cluster_clusterappimageregistry (paas_wl/infras/cluster/models.py
// ClusterAppImageRegistry, cluster 0022). get_image_registry_by_app takes the app's
// cluster's row when there is one and the settings' APP_DOCKER_REGISTRY_* otherwise; 1.6
// only has the settings.

// ErrNoAppImageRegistryTable is what ReadAppImageRegistries returns when the user cannot
// see cluster_clusterappimageregistry: the table does not exist before platform 1.7, or
// the grant leaves it out. It is an *Error, so DB.ReadOnly returns it as it is and
// errors.Is tells it apart from a failed read; the release line tells the two causes
// apart.
var ErrNoAppImageRegistryTable = &Error{Reason: v1alpha1.ReasonSchemaUnrecognized,
	Message: "the workloads database has no table cluster_clusterappimageregistry that the user can read (platform 1.6 has none: every cluster uses the registry of the settings)"}

// AppImageRegistry is a cluster's own app image registry, as stored.
type AppImageRegistry struct {
	// ClusterName is the name of the cluster whose apps use it.
	ClusterName string
	// Host is the registry's domain[:port], without a scheme: the images are
	// <host>/<namespace>/<app code>/<module name>:<tag>.
	Host, Namespace, Username string
	// Password is as stored: encrypted like the cluster credentials (blue_krill
	// EncryptField: "bkcrypt$" Fernet or "sm4ctr$" SM4), or plaintext. See internal/bkcrypt.
	Password      string
	SkipTLSVerify bool
	TenantID      string
}

var appImageRegistryColumns = map[string][]string{
	"cluster_clusterappimageregistry": {"cluster_id", "host", "namespace", "username", "password", "skip_tls_verify", "tenant_id"},
	"cluster_cluster":                 {"uuid", "name"},
}

// ReadAppImageRegistries reads every cluster's own app image registry, by cluster name.
// A registry whose cluster is gone is left out: the platform reaches a registry through
// its cluster only (cluster_id is a one-to-one key, deleted with the cluster). One query,
// joined on cluster_cluster's primary key.
func ReadAppImageRegistries(ctx context.Context, tx *sql.Tx) ([]AppImageRegistry, error) {
	cols, err := columns(ctx, tx, appImageRegistryColumns)
	if err != nil {
		return nil, err
	}
	if cols["cluster_clusterappimageregistry"] == nil {
		return nil, ErrNoAppImageRegistryTable
	}
	if err := requireColumns(cols, appImageRegistryColumns); err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT c.name, r.host, r.namespace, r.username, r.password, r.skip_tls_verify, r.tenant_id
		FROM cluster_clusterappimageregistry r JOIN cluster_cluster c ON c.uuid = r.cluster_id ORDER BY c.name`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []AppImageRegistry
	for rows.Next() {
		var r AppImageRegistry
		if err := rows.Scan(&r.ClusterName, &r.Host, &r.Namespace, &r.Username, &r.Password, &r.SkipTLSVerify, &r.TenantID); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ClustersWithoutAppImageRegistry names the clusters (1.7+) without a registry of their
// own: their apps' builds push to the settings' registry. Call it after
// ReadAppImageRegistries found the table.
func ClustersWithoutAppImageRegistry(ctx context.Context, tx *sql.Tx) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT c.name FROM cluster_cluster c
		LEFT JOIN cluster_clusterappimageregistry r ON r.cluster_id = c.uuid WHERE r.cluster_id IS NULL ORDER BY c.name`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		out = append(out, name)
	}
	return out, rows.Err()
}
