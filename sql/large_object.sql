--
-- Migrating a SQLite file the server cannot see: uploaded as a large
-- object, read through the extension's read-only VFS, by a role without
-- any file privilege.  The result must be the path-based migration's.
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set types_db :abs_srcdir '/test/fixtures/mig_types.db'
\set keys_db :abs_srcdir '/test/fixtures/mig_keys.db'
\set wal_db :abs_srcdir '/test/fixtures/write_lock_wal.db'
-- the tables of mig_types.db that migrate with the default options
\set type_tables '{clean,bools,blobs,dates_naive,dates_offset,w_ints,w_numeric,w_varchar,w_date,w_json}'

CREATE EXTENSION sqlite_fdw_mig;
SET sqlite_fdw_mig.report_timings = off;
SET client_min_messages = warning;
CREATE ROLE regress_lo_user;
CREATE SCHEMA lo_types AUTHORIZATION regress_lo_user;
CREATE SCHEMA lo_keys AUTHORIZATION regress_lo_user;
CREATE SCHEMA path_types;
CREATE SCHEMA path_keys;

-- the uploads (what \lo_import does from a laptop), owned by the role;
-- fixed OIDs, so that messages naming them are the same on every run
SELECT lo_import(:'types_db', 4242001) AS types_lo \gset
SELECT lo_import(:'keys_db', 4242002) AS keys_lo \gset
ALTER LARGE OBJECT :types_lo OWNER TO regress_lo_user;
ALTER LARGE OBJECT :keys_lo OWNER TO regress_lo_user;

-- the role has no file privilege, and needs none
SELECT pg_has_role('regress_lo_user', 'pg_read_server_files', 'USAGE') AS reads_files;
SET ROLE regress_lo_user;
CREATE TEMP TABLE rep_lo_types AS SELECT * FROM migrate_sqlite_lo(:types_lo, 'lo_types', tables => :'type_tables');
CREATE TEMP TABLE rep_lo_keys AS SELECT * FROM migrate_sqlite_lo(:keys_lo, 'lo_keys');
CREATE TEMP TABLE plan_lo AS SELECT * FROM migrate_sqlite_plan_lo(:keys_lo, 'lo_keys', if_exists => 'replace');
-- but not the path-based function
SELECT * FROM migrate_sqlite(:'types_db', 'lo_types');
RESET ROLE;

CREATE TEMP TABLE rep_path_types AS SELECT * FROM migrate_sqlite(:'types_db', 'path_types', tables => :'type_tables');
CREATE TEMP TABLE rep_path_keys AS SELECT * FROM migrate_sqlite(:'keys_db', 'path_keys');

-- every table has the same rows, value for value, and the same columns
CREATE FUNCTION same_tables(a name, b name)
RETURNS TABLE (tbl name, a_rows bigint, only_in_a bigint, only_in_b bigint, same_columns bool)
LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT c.relname FROM pg_class c
            WHERE c.relnamespace = a::regnamespace AND c.relkind = 'r' ORDER BY 1 LOOP
    tbl := r.relname;
    EXECUTE format('SELECT count(*) FROM %I.%I', a, r.relname) INTO a_rows;
    -- rows compared as their text (json has no equality)
    EXECUTE format('SELECT count(*) FROM (SELECT x::text FROM %I.%I x EXCEPT ALL SELECT y::text FROM %I.%I y) d',
                   a, r.relname, b, r.relname) INTO only_in_a;
    EXECUTE format('SELECT count(*) FROM (SELECT x::text FROM %I.%I x EXCEPT ALL SELECT y::text FROM %I.%I y) d',
                   b, r.relname, a, r.relname) INTO only_in_b;
    SELECT NOT EXISTS (
             SELECT attname, format_type(atttypid, atttypmod), attnotnull, attidentity
               FROM pg_attribute WHERE attrelid = format('%I.%I', a, r.relname)::regclass AND attnum > 0
             EXCEPT
             SELECT attname, format_type(atttypid, atttypmod), attnotnull, attidentity
               FROM pg_attribute WHERE attrelid = format('%I.%I', b, r.relname)::regclass AND attnum > 0)
      INTO same_columns;
    RETURN NEXT;
  END LOOP;
END $$;
SELECT * FROM same_tables('lo_types', 'path_types');
SELECT * FROM same_tables('lo_keys', 'path_keys');
-- the same keys, indexes and constraints
SELECT count(*) AS constraints_differ FROM (
  (SELECT conname, contype::text, pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'lo_keys'::regnamespace
   EXCEPT
   SELECT conname, contype::text, replace(pg_get_constraintdef(oid), 'path_keys.', 'lo_keys.') FROM pg_constraint WHERE connamespace = 'path_keys'::regnamespace)
  UNION ALL
  (SELECT indexname, NULL, replace(indexdef, 'lo_keys.', 'path_keys.') FROM pg_indexes WHERE schemaname = 'lo_keys'
   EXCEPT
   SELECT indexname, NULL, indexdef FROM pg_indexes WHERE schemaname = 'path_keys')) d;

-- the same report, but for the path's private-copy row (a large object is
-- already a snapshot: nothing to copy)
SELECT status, count(*) FROM rep_path_types GROUP BY 1 ORDER BY 1;
SELECT source_table, replace(target_table, 'path_', 'lo_') AS target_table,
       source_rows, target_rows, status, replace(detail, 'path_', 'lo_') AS detail
  FROM rep_path_types WHERE status <> 'snapshot taken'
EXCEPT ALL
SELECT * FROM rep_lo_types;
SELECT * FROM rep_lo_types
EXCEPT ALL
SELECT source_table, replace(target_table, 'path_', 'lo_'), source_rows, target_rows,
       status, replace(detail, 'path_', 'lo_')
  FROM rep_path_types WHERE status <> 'snapshot taken';
SELECT count(*) AS report_rows_differ FROM (
  SELECT source_table, replace(target_table, 'path_', 'lo_'), source_rows, target_rows,
         status, replace(detail, 'path_', 'lo_')
    FROM rep_path_keys WHERE status <> 'snapshot taken'
  EXCEPT ALL
  SELECT * FROM rep_lo_keys) d;
SELECT count(*) > 0 AS planned FROM plan_lo;

-- the history records the migrations from large objects as such
SELECT database ~ '^large object [0-9]+$' AS from_large_object, target_schema
  FROM sqlite_migration_history ORDER BY id;

-- errors: another role's large object, none, not a database, empty,
-- truncated, damaged
CREATE ROLE regress_lo_other;
GRANT CREATE ON SCHEMA lo_keys TO regress_lo_other;
SET ROLE regress_lo_other;
\set VERBOSITY sqlstate
SELECT * FROM migrate_sqlite_lo(:types_lo, 'lo_keys');
\set VERBOSITY default
SELECT * FROM migrate_sqlite_lo(:types_lo, 'lo_keys');
SELECT * FROM migrate_sqlite_lo(4242999, 'lo_keys');
RESET ROLE;
SELECT lo_from_bytea(4242003, convert_to(repeat('not a database ', 10), 'UTF8')) AS junk_lo \gset
SELECT lo_from_bytea(4242004, '') AS empty_lo \gset
SELECT lo_from_bytea(4242005, substring(pg_read_binary_file(:'keys_db') for 5000)) AS short_lo \gset
SELECT lo_from_bytea(4242006, overlay(pg_read_binary_file(:'keys_db')
                                placing decode(repeat('ff', 64), 'hex') from 4097 for 64)) AS bad_lo \gset
CREATE SCHEMA scratch;
SELECT * FROM migrate_sqlite_lo(:junk_lo, 'scratch');
SELECT * FROM migrate_sqlite_lo(:empty_lo, 'scratch');
SELECT * FROM migrate_sqlite_lo(:short_lo, 'scratch');
SELECT source_table, status FROM migrate_sqlite_lo(:bad_lo, 'scratch');
SELECT count(*) AS left_behind FROM pg_class WHERE relnamespace = 'scratch'::regnamespace;

-- a file uploaded in WAL mode: its pages are read, with a warning that
-- rows only in its "-wal" are missing
SELECT lo_import(:'wal_db', 4242007) AS wal_lo \gset
SET client_min_messages = warning;
SELECT source_table, target_table, source_rows, status FROM migrate_sqlite_lo(:wal_lo, 'scratch');

-- the foreign data wrapper reads an uploaded file too, for the same role
CREATE SCHEMA lo_ft AUTHORIZATION regress_lo_user;
SET ROLE regress_lo_user;
CREATE SERVER lo_srv FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (large_object :'keys_lo');
IMPORT FOREIGN SCHEMA main FROM SERVER lo_srv INTO lo_ft;
SELECT c.relname, (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM lo_ft.%I', c.relname), false, true, '')))[1]::text::int AS n
  FROM pg_class c WHERE c.relnamespace = 'lo_ft'::regnamespace ORDER BY 1;
-- read in the transaction's snapshot: an unlink later in it changes nothing
BEGIN;
SELECT count(*) > 0 AS rows_before FROM lo_ft.parent;
SELECT lo_unlink(:keys_lo);
SELECT count(*) > 0 AS rows_after FROM lo_ft.parent;
ROLLBACK;
-- read-only, and exclusive of a path
ALTER SERVER lo_srv OPTIONS (ADD updatable 'true');
RESET ROLE;
ALTER SERVER lo_srv OPTIONS (ADD updatable 'true');
ALTER SERVER lo_srv OPTIONS (ADD database '/tmp/x.db');
CREATE SERVER lo_bad FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (large_object 'x1');
-- a role that may use the server and the table, but not read the large object
SET ROLE regress_lo_user;
GRANT USAGE ON FOREIGN SERVER lo_srv TO regress_lo_other;
GRANT USAGE ON SCHEMA lo_ft TO regress_lo_other;
GRANT SELECT ON lo_ft.parent TO regress_lo_other;
SET ROLE regress_lo_other;
SELECT count(*) FROM lo_ft.parent;
RESET ROLE;
-- nor once a SECURITY DEFINER function of the owner has opened it in the
-- same transaction: the right is checked at every use of the open handle
SET ROLE regress_lo_user;
CREATE FUNCTION lo_ft.parent_count() RETURNS bigint LANGUAGE sql SECURITY DEFINER
  AS 'SELECT count(*) FROM lo_ft.parent';
GRANT EXECUTE ON FUNCTION lo_ft.parent_count() TO regress_lo_other;
SET ROLE regress_lo_other;
BEGIN;
SELECT lo_ft.parent_count() > 0 AS through_the_function;
SELECT count(*) FROM lo_ft.parent;
ROLLBACK;
RESET ROLE;

DROP SCHEMA lo_types, lo_keys, path_types, path_keys, scratch, lo_ft CASCADE;
DROP SERVER lo_srv CASCADE;
SELECT lo_unlink(oid) FROM pg_largeobject_metadata;
DROP EXTENSION sqlite_fdw_mig CASCADE;
DROP TABLE rep_lo_types, rep_lo_keys, plan_lo;
DROP ROLE regress_lo_user, regress_lo_other;
