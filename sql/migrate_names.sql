--
-- migrate_sqlite(): SQLite names as PostgreSQL names (folded, quoted,
-- shortened, renamed, reported), and values checked one by one.
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set names_db :abs_srcdir '/test/fixtures/mig_names.db'

CREATE EXTENSION sqlite_fdw_mig;
\set mig_helpers :abs_srcdir '/test/mig_helpers.sql'
\i :mig_helpers

CREATE SERVER names_src FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database :'names_db');
CREATE SCHEMA names_src;
-- (IMPORT refuses system column names: that table is declared by hand)
IMPORT FOREIGN SCHEMA main EXCEPT (sys) FROM SERVER names_src INTO names_src;
CREATE FOREIGN TABLE names_src.sys (id bigint, c1 bigint OPTIONS (column_name 'oid'),
  c2 text OPTIONS (column_name 'ctid'), c3 bigint OPTIONS (column_name 'xmin'),
  c4 bigint OPTIONS (column_name 'xmax'), c5 bigint OPTIONS (column_name 'cmin'),
  c6 bigint OPTIONS (column_name 'cmax'), c7 text OPTIONS (column_name 'tableoid'),
  c8 text OPTIONS (column_name 'XMIN_')) SERVER names_src OPTIONS (table 'sys');

-- the table the SQL-looking name names
CREATE SCHEMA mn;
CREATE TABLE mn.t (id int);
INSERT INTO mn.t VALUES (42);

-- names folded to lower case (the default)
SELECT source_table, target_table, source_rows, target_rows, status, detail
  FROM migrate_sqlite(:'names_db', 'mn', tables => ARRAY['MixedCase', 'select', 'with space',
    'dot.name', 'Naïve_Café', 'sys', 'x"; DROP TABLE t; --',
    'long_table_name_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx_one',
    'long_table_name_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx_two'])
 ORDER BY source_table COLLATE "C";
SELECT c.relname, a.attnum, a.attname, octet_length(a.attname) AS bytes
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
 WHERE c.relnamespace = 'mn'::regnamespace AND c.relkind = 'r' AND a.attnum > 0
 ORDER BY c.relname COLLATE "C", a.attnum;
SELECT c.relname AS index_name, octet_length(c.relname) AS bytes, pg_get_indexdef(c.oid)
  FROM pg_class c WHERE c.relnamespace = 'mn'::regnamespace AND c.relkind = 'i'
 ORDER BY c.relname COLLATE "C";
-- unquoted SQL works on folded names
SELECT userid, displayname, lower FROM mn.mixedcase ORDER BY userid;
SELECT "from", "where", "order", "user" FROM mn."select";
SELECT * FROM mn."with space";
SELECT * FROM mn."dot.name";
SELECT * FROM mn."naïve_café";
SELECT oid_, ctid_, xmin_, xmax_, cmin_, cmax_, tableoid_ FROM mn.sys;
-- the SQL-looking name is only a name
SELECT * FROM mn."x""; drop table t; --";
SELECT * FROM mn.t;
SELECT * FROM mig_check('mn', 'names_src');

-- preserve_case => true keeps the names as written
CREATE SCHEMA mpc;
SELECT source_table, target_table, status, detail
  FROM migrate_sqlite(:'names_db', 'mpc', preserve_case => true,
                      tables => ARRAY['MixedCase', 'Naïve_Café', 'sys'])
 ORDER BY source_table COLLATE "C";
SELECT c.relname, a.attname
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
 WHERE c.relnamespace = 'mpc'::regnamespace AND c.relkind = 'r' AND a.attnum > 0
 ORDER BY c.relname COLLATE "C", a.attnum;
SELECT "UserId", "DisplayName" FROM mpc."MixedCase" ORDER BY 1;
SELECT * FROM mig_check('mpc', 'names_src');
-- a second run of the same names is refused (the folded name exists)
SELECT show_error(format('SELECT * FROM migrate_sqlite(%L, %L, tables => ARRAY[%L])', :'names_db', 'mn', 'MIXEDCASE'));

-- clean up
DROP SCHEMA mn, mpc CASCADE;
DROP EXTENSION sqlite_fdw_mig CASCADE;
DROP SCHEMA names_src;
RESET client_min_messages;
DROP FUNCTION show_error, mig_norm, mig_diff, mig_check;
