--
-- IMPORT FOREIGN SCHEMA: tables and views, with types from the type table.
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set import_db :abs_srcdir '/test/fixtures/import.db'

CREATE EXTENSION sqlite_fdw_mig;
CREATE SERVER import_srv FOREIGN DATA WRAPPER sqlite_fdw_mig
  OPTIONS (database :'import_db');

CREATE SCHEMA imp;
IMPORT FOREIGN SCHEMA main FROM SERVER import_srv INTO imp;

-- every table and view, never sqlite_% or the virtual table's shadow tables
SELECT c.relname, c.relkind FROM pg_class c
  WHERE c.relnamespace = 'imp'::regnamespace ORDER BY c.relname COLLATE "C";

-- the declared type of each column and the PostgreSQL type it got
SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull
  FROM pg_attribute a
  WHERE a.attrelid = 'imp.every_type'::regclass AND a.attnum > 0
  ORDER BY a.attnum;
SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull
  FROM pg_attribute a
  WHERE a.attrelid = 'imp.strict_t'::regclass AND a.attnum > 0
  ORDER BY a.attnum;

-- options that carry the SQLite names
SELECT c.relname, ft.ftoptions FROM pg_foreign_table ft JOIN pg_class c ON c.oid = ft.ftrelid
  WHERE c.relnamespace = 'imp'::regnamespace ORDER BY c.relname COLLATE "C";
SELECT c.relname, a.attname, a.attfdwoptions FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  WHERE c.relnamespace = 'imp'::regnamespace AND a.attfdwoptions IS NOT NULL
  ORDER BY c.relname COLLATE "C", a.attname COLLATE "C";

-- the imported tables read
SELECT c_integer, c_text, c_real FROM imp.every_type;
SELECT * FROM imp."MixedCase";
SELECT * FROM imp.generated_cols;
SELECT * FROM imp."x""; DROP TABLE t; --";
SELECT * FROM imp.v_every;
-- names over 63 bytes are shortened with a hash suffix, so they stay distinct
SELECT * FROM imp.long_name_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_d34d1e4c;
SELECT count(*) FROM imp.long_name_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_d64d2305;
-- a WITHOUT ROWID table has no rowid to name in errors
SELECT * FROM imp.without_rowid;
-- a table whose columns hide every rowid alias
SELECT * FROM imp.rowid_named;

-- LIMIT TO and EXCEPT; SQLite names are case-insensitive
CREATE SCHEMA imp2;
IMPORT FOREIGN SCHEMA main LIMIT TO (mixedcase, "select", no_such_table)
  FROM SERVER import_srv INTO imp2;
SELECT relname FROM pg_class WHERE relnamespace = 'imp2'::regnamespace ORDER BY relname COLLATE "C";
SELECT * FROM imp2.mixedcase;
CREATE SCHEMA imp3;
IMPORT FOREIGN SCHEMA main EXCEPT (every_type, docs, "MixedCase")
  FROM SERVER import_srv INTO imp3 OPTIONS (import_not_null 'false');
SELECT relname FROM pg_class WHERE relnamespace = 'imp3'::regnamespace ORDER BY relname COLLATE "C";
SELECT attname, attnotnull FROM pg_attribute
  WHERE attrelid = 'imp3.strict_t'::regclass AND attnum > 0 ORDER BY attnum;

-- errors
IMPORT FOREIGN SCHEMA temp FROM SERVER import_srv INTO imp3;
IMPORT FOREIGN SCHEMA main FROM SERVER import_srv INTO imp3 OPTIONS (import_defaults 'true');
-- importing twice collides, as for any IMPORT
IMPORT FOREIGN SCHEMA main LIMIT TO (strict_t) FROM SERVER import_srv INTO imp;

-- ANALYZE reads the table and records a sample
ANALYZE imp.every_type;
SELECT reltuples FROM pg_class WHERE oid = 'imp.every_type'::regclass;

-- clean up
SET client_min_messages = warning;
DROP EXTENSION sqlite_fdw_mig CASCADE;
DROP SCHEMA imp, imp2, imp3 CASCADE;
