-- Read-only access for paasdiag to the platform's default database (bk_paas_ng), for
-- the instance pool check. Column grants: paasdiag can read neither an instance's
-- credentials nor a plan's (encrypted) config. Run as a MySQL administrator of the
-- platform's database server; choose your own password.
CREATE USER IF NOT EXISTS 'paasdiag'@'%' IDENTIFIED BY 'change-me';
GRANT SELECT (uuid, name, config, is_active) ON bk_paas_ng.services_service TO 'paasdiag'@'%';
GRANT SELECT (uuid, service_id, name, is_active, tenant_id) ON bk_paas_ng.services_plan TO 'paasdiag'@'%';
-- binding_policy: which environments an unallocated 'policy' instance can be given to.
GRANT SELECT (uuid, plan_id, is_allocated, allocation_type, binding_policy, tenant_id) ON bk_paas_ng.services_precreatedinstance TO 'paasdiag'@'%';
-- The environments bound to plans (an attachment without a service instance takes one
-- from its plan's pool at the environment's next deployment), with their app code, module
-- and environment names: to name the environments whose next provisioning would fail,
-- and to check deactivated plans still bound.
GRANT SELECT (engine_app_id, plan_id, service_instance_id) ON bk_paas_ng.servicehub_serviceengineappattachment TO 'paasdiag'@'%';
GRANT SELECT (engine_app_id, application_id, module_id, environment) ON bk_paas_ng.applications_applicationenvironment TO 'paasdiag'@'%';
GRANT SELECT (id, code) ON bk_paas_ng.applications_application TO 'paasdiag'@'%';
GRANT SELECT (id, name, application_id, source_origin) ON bk_paas_ng.modules_module TO 'paasdiag'@'%';
-- The newest source package of each package-deployed module, for blobStore: its object key
-- and recorded size, to ask the blob store whether the object is still there.
GRANT SELECT (id, module_id, version, storage_path, package_size, sha256_signature, storage_engine, is_deleted, created) ON bk_paas_ng.sourcectl_sourcepackage TO 'paasdiag'@'%';
-- The remote add-on service plans apps are bound to, for remoteServices: each must still
-- be served by its provider.
GRANT SELECT (service_id, plan_id, engine_app_id, service_instance_id) ON bk_paas_ng.servicehub_remoteserviceengineappattachment TO 'paasdiag'@'%';
-- Which migrations Django applied tell paasdiag the platform's release line (1.6 or 1.7+):
-- the schema alone cannot, and a column grant hides columns from information_schema.
GRANT SELECT (app, name) ON bk_paas_ng.django_migrations TO 'paasdiag'@'%';
