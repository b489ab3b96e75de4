-- The platform's workloads database (bk_engine_ng) as platform release 1.6 and
-- earlier lay it out: clusters have a region and is_default, no tenant and no
-- assert_hostname; API servers may override the host name.

CREATE TABLE cluster_cluster (
  uuid char(32) NOT NULL PRIMARY KEY,
  created datetime(6) NOT NULL,
  updated datetime(6) NOT NULL,
  region varchar(32) NOT NULL,
  name varchar(32) NOT NULL UNIQUE,
  type varchar(32) NOT NULL DEFAULT 'normal',
  is_default tinyint(1) NOT NULL DEFAULT 0,
  description longtext NOT NULL,
  ingress_config longtext NOT NULL,
  annotations longtext NOT NULL,
  ca_data longtext NULL,
  cert_data longtext NULL,
  key_data longtext NULL,
  token_type int NULL,
  token_value longtext NULL,
  feature_flags longtext NOT NULL
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE cluster_apiserver (
  uuid char(32) NOT NULL PRIMARY KEY,
  created datetime(6) NOT NULL,
  updated datetime(6) NOT NULL,
  host varchar(255) NOT NULL,
  overridden_hostname varchar(255) NULL,
  cluster_id char(32) NOT NULL,
  UNIQUE KEY cluster_apiserver_cluster_host (cluster_id, host)
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE region_regionclusterstate (
  id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
  created datetime(6) NOT NULL,
  updated datetime(6) NOT NULL,
  region varchar(32) NOT NULL,
  cluster_name varchar(32) NULL,
  name varchar(64) NOT NULL,
  nodes_digest varchar(64) NOT NULL,
  nodes_cnt int NOT NULL DEFAULT 0,
  nodes_name longtext NOT NULL,
  nodes_data longtext NOT NULL
) DEFAULT CHARSET=utf8mb4;
