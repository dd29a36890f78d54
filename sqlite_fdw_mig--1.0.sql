/* sqlite_fdw_mig--1.0.sql: the extension's SQL objects */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION sqlite_fdw_mig" to load this file. \quit

CREATE FUNCTION sqlite_fdw_mig_handler()
RETURNS fdw_handler
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

CREATE FUNCTION sqlite_fdw_mig_validator(text[], oid)
RETURNS void
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

CREATE FOREIGN DATA WRAPPER sqlite_fdw_mig
  HANDLER sqlite_fdw_mig_handler
  VALIDATOR sqlite_fdw_mig_validator;

COMMENT ON FOREIGN DATA WRAPPER sqlite_fdw_mig IS 'reads SQLite database files';

-- Anyone may create a server: the validator lets only members of
-- pg_read_server_files name a file (option database), and a server on an
-- uploaded large object (option large_object) reads it only for roles with
-- SELECT on that large object.
GRANT USAGE ON FOREIGN DATA WRAPPER sqlite_fdw_mig TO PUBLIC;

-- The version of the SQLite library the extension runs with.
CREATE FUNCTION sqlite_fdw_mig_sqlite_version()
RETURNS text
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT PARALLEL SAFE;

-- Translate one SQLite expression (kind: default, check, generated, index,
-- where) as migrate_sqlite would, without touching any file: the PostgreSQL
-- text, or NULL when it is not translated (the reason is raised as a
-- NOTICE).  columns lists the SQLite column names the expression may use
-- (they keep their names, lower-cased); target_type is the column's type for
-- a DEFAULT.  For checking a file before migrating it, and for tests.
CREATE FUNCTION sqlite_translate_expr(expr text, kind text,
                                      target_type regtype DEFAULT NULL,
                                      columns text[] DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'sqlite_translate_expr_sql'
LANGUAGE C CALLED ON NULL INPUT;

-- A SQLite value exactly as stored: its storage class ('integer', 'real',
-- 'text', 'blob' or 'null') and its integer, real or bytes (text as its
-- bytes, which need not be valid UTF-8).  Rejects tables hold these, and a
-- foreign table column of this type reads any value.
CREATE TYPE sqlite_value AS (
    storage_class text,
    int_value bigint,
    real_value double precision,
    bytes bytea
);

-- Every migration run: what was read, with which options, what it created
-- (migrate_sqlite(if_exists => 'replace') rebuilds only those tables) and
-- its report.
CREATE TABLE sqlite_migration_history (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    database text NOT NULL,
    file_size bigint,
    target_schema name NOT NULL,
    options jsonb NOT NULL,
    objects jsonb NOT NULL,
    report jsonb NOT NULL,
    migrated_by name NOT NULL DEFAULT current_user
);
SELECT pg_catalog.pg_extension_config_dump('sqlite_migration_history', '');
REVOKE ALL ON sqlite_migration_history FROM PUBLIC;
-- Members of pg_read_server_files see every migration; other roles (who
-- migrate uploaded large objects) see their own, which is what
-- if_exists => 'replace' needs.
GRANT SELECT ON sqlite_migration_history TO PUBLIC;
ALTER TABLE sqlite_migration_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY sqlite_migration_history_read ON sqlite_migration_history
  FOR SELECT
  USING (migrated_by IN (current_user, session_user)
         OR pg_catalog.pg_has_role(current_user, 'pg_read_server_files', 'USAGE'));

-- Only a running migration can write the history (the C function refuses
-- any other caller).  if_exists => 'replace' trusts only the rows of the
-- same role or of roles that may read server files (plan.c), so a row from
-- an unprivileged role's migration of a large object cannot make another
-- role's migration drop a table.
CREATE FUNCTION sqlite_fdw_mig_record_history(
    started_at timestamptz, database text, file_size bigint, target_schema name,
    objects jsonb, report jsonb, options jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'sqlite_fdw_mig_record_history'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
-- Any role may call it, since a migration of a large object runs as a role
-- without file privileges; the C function refuses unless called by one.
GRANT EXECUTE ON FUNCTION sqlite_fdw_mig_record_history(timestamptz, text, bigint, name, jsonb, jsonb, jsonb) TO PUBLIC;

-- Migrate a SQLite database into native PostgreSQL tables, in the caller's
-- transaction, and report every table, view, trigger and virtual table.
CREATE FUNCTION migrate_sqlite(
    database text,
    target_schema name DEFAULT 'public',
    if_exists text DEFAULT 'error',
    on_mismatch text DEFAULT 'error',
    tables text[] DEFAULT NULL,
    type_overrides jsonb DEFAULT NULL,
    datetime_numbers text DEFAULT NULL,
    preserve_case boolean DEFAULT false,
    owner name DEFAULT NULL)
RETURNS TABLE (source_table text, target_table text, source_rows bigint,
               target_rows bigint, status text, detail text)
AS 'MODULE_PATHNAME', 'migrate_sqlite'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;

-- The statements migrate_sqlite would run, and every finding, without
-- writing anything.
CREATE FUNCTION migrate_sqlite_plan(
    database text,
    target_schema name DEFAULT 'public',
    if_exists text DEFAULT 'error',
    on_mismatch text DEFAULT 'error',
    tables text[] DEFAULT NULL,
    type_overrides jsonb DEFAULT NULL,
    datetime_numbers text DEFAULT NULL,
    preserve_case boolean DEFAULT false,
    owner name DEFAULT NULL)
RETURNS TABLE (step integer, phase text, object text, statement text, detail text)
AS 'MODULE_PATHNAME', 'migrate_sqlite_plan'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;

-- Opening a file is checked in C (superuser or pg_read_server_files); the
-- functions themselves are not for PUBLIC.
REVOKE ALL ON FUNCTION migrate_sqlite(text, name, text, text, text[], jsonb, text, boolean, name) FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate_sqlite_plan(text, name, text, text, text[], jsonb, text, boolean, name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION migrate_sqlite(text, name, text, text, text[], jsonb, text, boolean, name) TO pg_read_server_files;
GRANT EXECUTE ON FUNCTION migrate_sqlite_plan(text, name, text, text, text[], jsonb, text, boolean, name) TO pg_read_server_files;

-- The same two, reading the SQLite file from a large object the caller
-- uploaded (\lo_import in psql) and may SELECT: no file privileges needed.
CREATE FUNCTION migrate_sqlite_lo(
    large_object oid,
    target_schema name DEFAULT 'public',
    if_exists text DEFAULT 'error',
    on_mismatch text DEFAULT 'error',
    tables text[] DEFAULT NULL,
    type_overrides jsonb DEFAULT NULL,
    datetime_numbers text DEFAULT NULL,
    preserve_case boolean DEFAULT false,
    owner name DEFAULT NULL)
RETURNS TABLE (source_table text, target_table text, source_rows bigint,
               target_rows bigint, status text, detail text)
AS 'MODULE_PATHNAME', 'migrate_sqlite_lo'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;

CREATE FUNCTION migrate_sqlite_plan_lo(
    large_object oid,
    target_schema name DEFAULT 'public',
    if_exists text DEFAULT 'error',
    on_mismatch text DEFAULT 'error',
    tables text[] DEFAULT NULL,
    type_overrides jsonb DEFAULT NULL,
    datetime_numbers text DEFAULT NULL,
    preserve_case boolean DEFAULT false,
    owner name DEFAULT NULL)
RETURNS TABLE (step integer, phase text, object text, statement text, detail text)
AS 'MODULE_PATHNAME', 'migrate_sqlite_plan_lo'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;
