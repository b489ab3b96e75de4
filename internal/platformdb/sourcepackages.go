package platformdb

import (
	"context"
	"database/sql"
	"strings"
	"time"
)

// The source packages of the modules deployed from a package live in the default
// database (bk_paas_ng): sourcectl_sourcepackage (paasng/platform/sourcectl/models.py
// SourcePackage), one row per uploaded version of a module. The cleaner
// (clean_source_package) deletes old packages' objects and keeps their rows, marked
// is_deleted.

// SourcePackage is the newest package of a module deployed from a package: the object a
// deployment of it downloads from the blob store.
type SourcePackage struct {
	// ModuleID is modules_module.id as stored: pass the last one as the next page's
	// afterModuleID.
	ModuleID string
	// App is the application's code, Module the module's name.
	App, Module string
	Version     string
	// StoragePath is the object's key in the bucket BLOBSTORE_BUCKET_AP_PACKAGES of the
	// default store: the build step's get_client hands it to GenericRemoteClient, whose
	// parse_url takes a path without a scheme as such a key. storage_url
	// ("<type>://<bucket>/<key>") serves the API's downloads and the cleaner only.
	StoragePath string
	// Size is package_size, the uploaded file's size in bytes: the object's
	// Content-Length. The platform records no ETag.
	Size int64
	// SHA256 is sha256_signature, the uploaded file's digest; empty when NULL.
	SHA256  string
	Created time.Time
}

var sourcePackageColumns = map[string][]string{
	"modules_module":           {"id", "name", "application_id", "source_origin"},
	"applications_application": {"id", "code"},
	"sourcectl_sourcepackage":  {"id", "module_id", "version", "storage_path", "package_size", "sha256_signature", "storage_engine", "is_deleted", "created"},
}

// ReadLatestSourcePackages reads, for the modules deployed from a package with an id
// after afterModuleID ("" for the first page), in id order, each one's newest package the
// platform can still download, at most limit of them. Fewer than limit means there are no
// more.
//
// A package module is one whose source_origin is in SourceOrigin.get_package_origins():
// BK_LESS_CODE 2, S_MART 3 and AI_AGENT 7 (modules/constants.py). The platform keeps no
// pointer to a module's current package (a deployment names its version); the newest by
// created is what its package lists put first. Deleted packages (the default manager's
// filter) and S-mart image packages (storage_engine docker: an image, not a blob object)
// are left out; so is a module left without any other package.
//
// Besides information_schema, two queries per page, reading rows in proportion to the
// page, not to the installation (at 20,000 modules a page of 100 reads about 2,100 rows:
// TestReadLatestSourcePackagesAtScale):
//   - modules_module is read in primary-key order from afterModuleID and stops at the
//     limit-th module that has a package (the HAVING is checked before the LIMIT counts a
//     row). source_origin has no index, so the modules of other origins between them are
//     read too, each once over all the pages. Each of the two dependent subqueries (the
//     newest package's id and its engine) reaches one module's
//     packages through sourcectl_sourcepackage's index on module_id (Django creates it
//     itself for the db_constraint=False foreign key of sourcectl 0001; the unique key
//     (module_id, version) of the same migration would serve too), reads those rows only
//     and sorts them by created. applications_application is joined on its primary key.
//   - the packages found are then read by sourcectl_sourcepackage's primary key.
func ReadLatestSourcePackages(ctx context.Context, tx *sql.Tx, afterModuleID string, limit int) ([]SourcePackage, error) {
	if limit <= 0 {
		return nil, nil
	}
	cols, err := columns(ctx, tx, sourcePackageColumns)
	if err != nil {
		return nil, err
	}
	if err := requireColumns(cols, sourcePackageColumns); err != nil {
		return nil, err
	}
	// The newest non-deleted package of any engine: a module whose newest is an image
	// (S-mart with images) deploys that, without the blob store, and is left out; an
	// older blob package of it is not what its next deploy reads.
	rows, err := tx.QueryContext(ctx, `SELECT m.id, m.name, COALESCE(a.code, ''),
		(SELECT p.id FROM sourcectl_sourcepackage p
		 WHERE p.module_id = m.id AND p.is_deleted = 0
		 ORDER BY p.created DESC, p.id DESC LIMIT 1) AS package_id,
		(SELECT p.storage_engine FROM sourcectl_sourcepackage p
		 WHERE p.module_id = m.id AND p.is_deleted = 0
		 ORDER BY p.created DESC, p.id DESC LIMIT 1) AS engine
		FROM modules_module m LEFT JOIN applications_application a ON a.id = m.application_id
		WHERE m.source_origin IN (2, 3, 7) AND m.id > ?
		HAVING package_id IS NOT NULL AND engine <> 'docker'
		ORDER BY m.id LIMIT ?`, afterModuleID, limit)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []SourcePackage
	var ids []int64
	for rows.Next() {
		var p SourcePackage
		var id int64
		var engine string
		if err := rows.Scan(&p.ModuleID, &p.Module, &p.App, &id, &engine); err != nil {
			return nil, err
		}
		out = append(out, p)
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, nil
	}
	marks := make([]string, len(ids))
	args := make([]any, len(ids))
	for i, id := range ids {
		marks[i], args[i] = "?", id
	}
	pkgs, err := tx.QueryContext(ctx, `SELECT id, version, storage_path, package_size, COALESCE(sha256_signature, ''), created
		FROM sourcectl_sourcepackage WHERE id IN (`+strings.Join(marks, ",")+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = pkgs.Close() }()
	byID := make(map[int64]SourcePackage, len(ids))
	for pkgs.Next() {
		var id int64
		var p SourcePackage
		if err := pkgs.Scan(&id, &p.Version, &p.StoragePath, &p.Size, &p.SHA256, &p.Created); err != nil {
			return nil, err
		}
		byID[id] = p
	}
	if err := pkgs.Err(); err != nil {
		return nil, err
	}
	for i, id := range ids {
		p := byID[id] // in the same transaction, so never missing
		out[i].Version, out[i].StoragePath, out[i].Size, out[i].SHA256, out[i].Created = p.Version, p.StoragePath, p.Size, p.SHA256, p.Created
	}
	return out, nil
}
