-- The same for platform 1.6 and earlier, whose tables have no tenant_id and no
-- allocation_type.
CREATE USER IF NOT EXISTS 'paasdiag'@'%' IDENTIFIED BY 'change-me';
GRANT SELECT (uuid, name, config, is_active) ON bk_paas_ng.services_service TO 'paasdiag'@'%';
GRANT SELECT (uuid, service_id, name, is_active) ON bk_paas_ng.services_plan TO 'paasdiag'@'%';
GRANT SELECT (uuid, plan_id, is_allocated) ON bk_paas_ng.services_precreatedinstance TO 'paasdiag'@'%';
-- Which migrations Django applied tell paasdiag the platform's release line (1.6 or 1.7+):
-- the schema alone cannot, and a column grant hides columns from information_schema.
GRANT SELECT (app, name) ON bk_paas_ng.django_migrations TO 'paasdiag'@'%';
