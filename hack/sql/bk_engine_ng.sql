-- The platform's workloads database (bk_engine_ng): the app cluster tables paasdiag
-- reads, in their current layout. Written from paas_wl/infras/cluster/models.py:
-- UUID keys are char(32) hex, datetimes datetime(6) UTC; the credential columns are
-- encrypted at rest (bkcrypt$ Fernet or sm4ctr$ SM4-CTR), or plaintext on old rows.
-- Loaded into a throw-away MariaDB by the tests and by `make demo`.

CREATE TABLE cluster_cluster (
  uuid char(32) NOT NULL PRIMARY KEY,
  created datetime(6) NOT NULL,
  updated datetime(6) NOT NULL,
  name varchar(32) NOT NULL UNIQUE,
  type varchar(32) NOT NULL DEFAULT 'normal',
  description longtext NOT NULL,
  ingress_config longtext NOT NULL,
  annotations longtext NOT NULL,
  ca_data longtext NULL,
  cert_data longtext NULL,
  key_data longtext NULL,
  token_type int NULL,
  token_value longtext NULL,
  assert_hostname json NULL,
  feature_flags longtext NOT NULL,
  tenant_id varchar(32) NOT NULL DEFAULT 'default'
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE cluster_apiserver (
  uuid char(32) NOT NULL PRIMARY KEY,
  created datetime(6) NOT NULL,
  updated datetime(6) NOT NULL,
  host varchar(255) NOT NULL,
  cluster_id char(32) NOT NULL,
  tenant_id varchar(32) NOT NULL DEFAULT 'default',
  UNIQUE KEY cluster_apiserver_cluster_host (cluster_id, host)
) DEFAULT CHARSET=utf8mb4;

-- Written by the initial cluster state Job (up to platform 1.6).
CREATE TABLE region_regionclusterstate (
  id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
  created datetime(6) NOT NULL,
  updated datetime(6) NOT NULL,
  region varchar(32) NOT NULL DEFAULT 'default',
  cluster_name varchar(32) NULL,
  name varchar(64) NOT NULL,
  nodes_digest varchar(64) NOT NULL,
  nodes_cnt int NOT NULL DEFAULT 0,
  nodes_name longtext NOT NULL,
  nodes_data longtext NOT NULL
) DEFAULT CHARSET=utf8mb4;
