-- The platform's default database (bk_paas_ng): the add-on service tables paasdiag
-- reads, in their current layout (with tenants, allocation types and binding policies).
-- Written from the platform's Django models (paasng/accessories/services/models.py):
-- UUID keys are char(32) hex, datetimes datetime(6) UTC, encrypted fields longtext.
-- Loaded into a throw-away MariaDB by the tests and by `make demo`; never run it
-- against a real installation.

CREATE TABLE services_servicecategory (
  id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name varchar(64) NOT NULL UNIQUE,
  sort_priority int NOT NULL DEFAULT 0
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE services_service (
  uuid char(32) NOT NULL PRIMARY KEY,
  created datetime(6) NOT NULL,
  updated datetime(6) NOT NULL,
  region varchar(32) NOT NULL DEFAULT 'default',
  name varchar(64) NOT NULL UNIQUE,
  category_id int NOT NULL,
  display_name_zh_cn varchar(64) NULL,
  display_name_en varchar(64) NULL,
  logo varchar(100) NULL,
  logo_b64 longtext NULL,
  available_languages varchar(1024) NULL,
  config longtext NOT NULL,
  is_active tinyint(1) NOT NULL DEFAULT 1,
  is_visible tinyint(1) NOT NULL DEFAULT 1,
  description_zh_cn varchar(1024) NULL,
  description_en varchar(1024) NULL,
  long_description_zh_cn longtext NULL,
  long_description_en longtext NULL,
  instance_tutorial_zh_cn longtext NULL,
  instance_tutorial_en longtext NULL,
  tenant_id varchar(32) NOT NULL DEFAULT 'default'
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE services_plan (
  uuid char(32) NOT NULL PRIMARY KEY,
  created datetime(6) NOT NULL,
  updated datetime(6) NOT NULL,
  service_id char(32) NOT NULL,
  name varchar(64) NOT NULL,
  description varchar(1024) NOT NULL DEFAULT '',
  config longtext NOT NULL,
  is_active tinyint(1) NOT NULL DEFAULT 1,
  properties longtext NOT NULL,
  tenant_id varchar(32) NOT NULL DEFAULT 'default',
  UNIQUE KEY services_plan_tenant_service_name (tenant_id, service_id, name),
  KEY services_plan_service_id (service_id)
) DEFAULT CHARSET=utf8mb4;

-- plan_id has no foreign key constraint (db_constraint=False in the model), so
-- instances outlive a deleted plan.
CREATE TABLE services_precreatedinstance (
  uuid char(32) NOT NULL PRIMARY KEY,
  created datetime(6) NOT NULL,
  updated datetime(6) NOT NULL,
  plan_id char(32) NULL,
  config longtext NOT NULL,
  credentials longtext NOT NULL,
  is_allocated tinyint(1) NOT NULL DEFAULT 0,
  allocation_type varchar(32) NOT NULL DEFAULT 'fifo',
  binding_policy json NULL,
  tenant_id varchar(32) NOT NULL DEFAULT 'default',
  KEY services_precreatedinstance_plan_id (plan_id)
) DEFAULT CHARSET=utf8mb4;
