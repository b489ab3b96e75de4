-- Read-only access for paasdiag to the platform's workloads database (bk_engine_ng),
-- for discoverClusters: the app clusters, their API servers and the credentials the
-- platform uses for them (paasdiag decrypts them with the platform's key to probe the
-- clusters as the platform does). On platform 1.6 and earlier, drop assert_hostname
-- and add overridden_hostname to the cluster_apiserver grant.
CREATE USER IF NOT EXISTS 'paasdiag'@'%' IDENTIFIED BY 'change-me';
GRANT SELECT (uuid, name, ca_data, cert_data, key_data, token_value, assert_hostname, updated) ON bk_engine_ng.cluster_cluster TO 'paasdiag'@'%';
GRANT SELECT (host, cluster_id, updated) ON bk_engine_ng.cluster_apiserver TO 'paasdiag'@'%';
