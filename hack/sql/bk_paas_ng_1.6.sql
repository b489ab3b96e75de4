-- The platform's default database (bk_paas_ng) as platform release 1.6 and earlier lay
-- it out: no tenants, no allocation types, no binding policies. Every unallocated
-- pre-created instance serves any app. See bk_paas_ng.sql for the current layout.

CREATE TABLE services_servicecategory (
  id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name varchar(64) NOT NULL UNIQUE,
  sort_priority int NOT NULL DEFAULT 0
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE services_service (
  uuid char(32) NOT NULL PRIMARY KEY,
  created datetime(6) NOT NULL,
  updated datetime(6) NOT NULL,
  region varchar(32) NOT NULL,
  name varchar(64) NOT NULL UNIQUE,
  category_id int NOT NULL,
  display_name_zh_cn varchar(64) NULL,
  display_name_en varchar(64) NULL,
  logo varchar(100) NULL,
  available_languages varchar(1024) NULL,
  config longtext NOT NULL,
  is_active tinyint(1) NOT NULL DEFAULT 1,
  is_visible tinyint(1) NOT NULL DEFAULT 1,
  description_zh_cn varchar(1024) NULL,
  description_en varchar(1024) NULL
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
  UNIQUE KEY services_plan_service_name (service_id, name)
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE services_precreatedinstance (
  uuid char(32) NOT NULL PRIMARY KEY,
  created datetime(6) NOT NULL,
  updated datetime(6) NOT NULL,
  plan_id char(32) NULL,
  config longtext NOT NULL,
  credentials longtext NOT NULL,
  is_allocated tinyint(1) NOT NULL DEFAULT 0,
  KEY services_precreatedinstance_plan_id (plan_id)
) DEFAULT CHARSET=utf8mb4;
