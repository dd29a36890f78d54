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

-- Members of pg_read_server_files may create servers (the validator still
-- checks their right to name a file).  Nobody else gets anything.
GRANT USAGE ON FOREIGN DATA WRAPPER sqlite_fdw_mig TO pg_read_server_files;

-- The version of the SQLite library the extension runs with.
CREATE FUNCTION sqlite_fdw_mig_sqlite_version()
RETURNS text
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT PARALLEL SAFE;
