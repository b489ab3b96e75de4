package mariadb

import "fmt"

// Rows of the tables the checks of the other infrastructure read (blobStore,
// remoteServices, appImageRegistries), as the platform writes them.

// Source origins of modules_module (paasng/platform/modules/constants.py SourceOrigin).
const (
	OriginAuthorizedVCS = 1
	OriginBKLessCode    = 2
	OriginSMart         = 3
)

// PackageModule adds a module (with its app and a prod environment) deployed from
// packages of the given source origin, and returns its id.
func (p *Platform) PackageModule(app, module string, origin int) (string, error) {
	if _, err := p.Environment(app, module, "prod"); err != nil {
		return "", err
	}
	if err := p.Server.Exec(p.Database, `UPDATE modules_module m JOIN applications_application a ON a.id = m.application_id
		SET m.source_origin = ? WHERE a.code = ? AND m.name = ?`, origin, app, module); err != nil {
		return "", err
	}
	admin, err := p.Server.Admin(p.Database)
	if err != nil {
		return "", err
	}
	defer func() { _ = admin.Close() }()
	var id string
	err = admin.QueryRow(`SELECT m.id FROM modules_module m JOIN applications_application a ON a.id = m.application_id
		WHERE a.code = ? AND m.name = ?`, app, module).Scan(&id)
	return id, err
}

// SourcePackage records a blob-store package of a module as the uploader does
// (SourcePackage.objects.store, engine GenericRemoteClient), created now, and returns
// its object key (storage_path), the one the build step downloads.
func (p *Platform) SourcePackage(moduleID, version string, size int64) (string, error) {
	key := fmt.Sprintf("default/%s/%s:%064d:pkg.tgz", moduleID[:8], version, 0)
	err := p.Server.Exec(p.Database, `INSERT INTO sourcectl_sourcepackage (created, updated, module_id, version, package_name, package_size,
		storage_engine, storage_path, storage_url, relative_path, is_deleted) VALUES (NOW(6), NOW(6), ?, ?, 'pkg.tgz', ?, 'GenericRemoteClient', ?, ?, './', 0)`,
		moduleID, version, size, key, "bkrepo://bkpaas3-source-packages/"+key)
	return key, err
}

// RemoteAttach binds an environment to a remote service's plan, not provisioned yet
// (servicehub_remoteserviceengineappattachment; ids as hex or hyphenated UUIDs).
func (p *Platform) RemoteAttach(engineAppID, serviceID, planID string) error {
	return p.Server.Exec(p.Database, `INSERT INTO servicehub_remoteserviceengineappattachment (engine_app_id, service_id, plan_id) VALUES (?, REPLACE(?, '-', ''), REPLACE(?, '-', ''))`,
		engineAppID, serviceID, planID)
}

// AppImageRegistry gives a cluster its own app image registry (1.7+), the password as
// stored (encrypted by the caller, as EncryptField stores it).
func (w *Workloads) AppImageRegistry(clusterID, host, namespace, username, storedPassword string, skipTLSVerify bool) error {
	return w.Server.Exec(w.Database, `INSERT INTO cluster_clusterappimageregistry (uuid, created, updated, host, skip_tls_verify, namespace, username, password, tenant_id, cluster_id)
		VALUES (?, NOW(6), NOW(6), ?, ?, ?, ?, ?, 'default', ?)`, NewID(), host, skipTLSVerify, namespace, username, storedPassword, clusterID)
}
