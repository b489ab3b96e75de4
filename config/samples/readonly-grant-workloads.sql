-- Read-only access for paasdiag to the platform's workloads database (bk_engine_ng),
-- for discoverClusters: the app clusters, their API servers and the credentials the
-- platform uses for them (paasdiag decrypts them with the platform's key to probe the
-- clusters as the platform does). On platform 1.6 and earlier, drop assert_hostname,
-- add region and is_default to the cluster_cluster grant (the default cluster of an app
-- that names none) and overridden_hostname to the cluster_apiserver grant.
CREATE USER IF NOT EXISTS 'paasdiag'@'%' IDENTIFIED BY 'change-me';
GRANT SELECT (uuid, name, ca_data, cert_data, key_data, token_value, assert_hostname, updated) ON bk_engine_ng.cluster_cluster TO 'paasdiag'@'%';
GRANT SELECT (host, cluster_id, updated) ON bk_engine_ng.cluster_apiserver TO 'paasdiag'@'%';
-- The cluster each app's latest config names: an app bound to a cluster that no longer
-- exists fails its next deploy (4313021).
GRANT SELECT (uuid, name, region) ON bk_engine_ng.api_app TO 'paasdiag'@'%';
GRANT SELECT (app_id, cluster, created) ON bk_engine_ng.api_config TO 'paasdiag'@'%';
-- The release line (django_migrations) and, on 1.7+, the node state the platform recorded
-- for each cluster (region_regionclusterstate), for the initial cluster state check.
GRANT SELECT (app, name) ON bk_engine_ng.django_migrations TO 'paasdiag'@'%';
GRANT SELECT (cluster_name, name, nodes_name, created) ON bk_engine_ng.region_regionclusterstate TO 'paasdiag'@'%';
