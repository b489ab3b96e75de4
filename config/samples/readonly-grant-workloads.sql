-- Read-only access for paasdiag to the platform's workloads database (bk_engine_ng),
-- for discoverClusters: the app clusters, their API servers and the credentials the
-- platform uses for them (paasdiag decrypts them with the platform's key to probe the
-- clusters as the platform does). On platform 1.6 and earlier, replace assert_hostname,
-- tenant_id, available_tenant_ids with region, is_default in the cluster_cluster grant
-- (the default cluster of an app that names none), add overridden_hostname to the
-- cluster_apiserver grant, drop tenant_id from the api_app grant and drop the
-- cluster_clusterallocationpolicy and cluster_clusterappimageregistry grants (1.7+ only).
CREATE USER IF NOT EXISTS 'paasdiag'@'%' IDENTIFIED BY 'change-me';
GRANT SELECT (uuid, name, ca_data, cert_data, key_data, token_value, assert_hostname, tenant_id, available_tenant_ids, updated) ON bk_engine_ng.cluster_cluster TO 'paasdiag'@'%';
GRANT SELECT (host, cluster_id, updated) ON bk_engine_ng.cluster_apiserver TO 'paasdiag'@'%';
-- The cluster each app's latest config names: an app bound to a cluster that no longer
-- exists fails its next deploy (4313021). An app that names none gets one from its
-- tenant's allocation policy (1.7+), which may find none: 4313021 too.
GRANT SELECT (uuid, name, region, tenant_id) ON bk_engine_ng.api_app TO 'paasdiag'@'%';
GRANT SELECT (app_id, cluster, created) ON bk_engine_ng.api_config TO 'paasdiag'@'%';
GRANT SELECT (tenant_id, type, allocation_policy, allocation_precedence_policies) ON bk_engine_ng.cluster_clusterallocationpolicy TO 'paasdiag'@'%';
-- The release line (django_migrations) and, on 1.7+, the node state the platform recorded
-- for each cluster (region_regionclusterstate), for the initial cluster state check.
GRANT SELECT (app, name) ON bk_engine_ng.django_migrations TO 'paasdiag'@'%';
GRANT SELECT (cluster_name, name, nodes_name, created) ON bk_engine_ng.region_regionclusterstate TO 'paasdiag'@'%';
-- Each cluster's own app image registry (1.7+), for appImageRegistries: paasdiag decrypts
-- its password with the platform's key to ask the registry for a token.
GRANT SELECT (cluster_id, host, namespace, username, password, skip_tls_verify, tenant_id) ON bk_engine_ng.cluster_clusterappimageregistry TO 'paasdiag'@'%';
