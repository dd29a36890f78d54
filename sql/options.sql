--
-- Options, their validation, and who may name a file on the server.
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set values_db :abs_srcdir '/test/fixtures/values.db'

CREATE EXTENSION sqlite_fdw_mig;

-- run a statement and show its error with the test directory masked
CREATE FUNCTION show_error(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  msg text;
  det text;
  hint text;
BEGIN
  EXECUTE stmt;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
  RETURN replace(SQLSTATE || ': ' || msg || coalesce(E'\nDETAIL: ' || nullif(det, ''), '')
                 || coalesce(E'\nHINT: ' || nullif(hint, ''), ''),
                 current_setting('regress.abs_srcdir'), '$ABS_SRCDIR');
END
$$;
SELECT set_config('regress.abs_srcdir', :'abs_srcdir', false) IS NOT NULL AS set;

-- the wrapper is there, with handler and validator
SELECT fdwname, fdwhandler::regproc, fdwvalidator::regproc
  FROM pg_foreign_data_wrapper WHERE fdwname = 'sqlite_fdw_mig';

-- database is required, absolute, and validated
CREATE SERVER s_none FOREIGN DATA WRAPPER sqlite_fdw_mig;
CREATE SERVER s_rel FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database 'app.db');
CREATE SERVER s_uri FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database 'file:/tmp/x.db?vfs=unix-none');
CREATE SERVER s_typo FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (databse '/x.db');
CREATE SERVER s_bad FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database '/x.db', busy_timeout 'soon');
CREATE SERVER s_neg FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database '/x.db', busy_timeout '-1');
CREATE SERVER s_unknown FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database '/x.db', colour 'blue');
CREATE SERVER s FOREIGN DATA WRAPPER sqlite_fdw_mig
  OPTIONS (database :'values_db', busy_timeout '2000');
ALTER SERVER s OPTIONS (DROP database);
ALTER SERVER s OPTIONS (SET busy_timeout '0');

-- no options on the wrapper or user mappings
ALTER FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database '/x.db');
CREATE USER MAPPING FOR CURRENT_USER SERVER s OPTIONS (user 'me');
CREATE USER MAPPING FOR CURRENT_USER SERVER s;
DROP USER MAPPING FOR CURRENT_USER SERVER s;

-- table and column options
CREATE FOREIGN TABLE ft_typo (id bigint) SERVER s OPTIONS (tabel 'v');
CREATE FOREIGN TABLE ft_empty (id bigint) SERVER s OPTIONS (table '');
CREATE FOREIGN TABLE ft_col (id bigint OPTIONS (column_nam 'id')) SERVER s OPTIONS (table 'v');
CREATE FOREIGN TABLE ft_unit (x timestamp OPTIONS (datetime_unit 'seconds')) SERVER s OPTIONS (table 'v');
CREATE FOREIGN TABLE ft (key bigint OPTIONS (column_name 'id'), label text OPTIONS (column_name 'note'))
  SERVER s OPTIONS (table 'v');
SELECT key, label FROM ft WHERE key <= 3 ORDER BY key;

-- a table that is not there is reported when the query is planned
CREATE FOREIGN TABLE ft_missing (id bigint) SERVER s OPTIONS (table 'no_such_table');
SELECT show_error('SELECT * FROM ft_missing');
-- a column that is not there is an error, never a string constant
CREATE FOREIGN TABLE ft_badcol (nope text) SERVER s OPTIONS (table 'v');
SELECT show_error('SELECT * FROM ft_badcol');

-- a file that is not there, a directory, a file that is not SQLite
CREATE SERVER s_missing FOREIGN DATA WRAPPER sqlite_fdw_mig
  OPTIONS (database '/nonexistent/dir/app.db');
CREATE FOREIGN TABLE ft_m (id bigint) SERVER s_missing OPTIONS (table 'v');
SELECT show_error('SELECT * FROM ft_m');
\set dir_path :abs_srcdir '/test/fixtures'
CREATE SERVER s_dir FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database :'dir_path');
CREATE FOREIGN TABLE ft_d (id bigint) SERVER s_dir OPTIONS (table 'v');
SELECT show_error('SELECT * FROM ft_d');
\set sql_path :abs_srcdir '/test/fixtures/values.sql'
CREATE SERVER s_text FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database :'sql_path');
CREATE FOREIGN TABLE ft_t (id bigint) SERVER s_text OPTIONS (table 'v');
SELECT show_error('SELECT * FROM ft_t');

-- a path with URI characters is a path, never URI parameters
\set odd_path :abs_srcdir '/test/fixtures/values.db?mode=rwc&vfs=unix-none#x'
CREATE SERVER s_odd FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database :'odd_path');
CREATE FOREIGN TABLE ft_o (id bigint) SERVER s_odd OPTIONS (table 'v');
SELECT show_error('SELECT * FROM ft_o');

-- privileges: only superusers and pg_read_server_files may name a file
CREATE ROLE regress_sqlite_plain LOGIN;
CREATE ROLE regress_sqlite_reader LOGIN IN ROLE pg_read_server_files;
GRANT USAGE ON FOREIGN DATA WRAPPER sqlite_fdw_mig TO regress_sqlite_plain;
GRANT USAGE ON FOREIGN SERVER s TO regress_sqlite_plain;
GRANT CREATE ON SCHEMA public TO regress_sqlite_plain, regress_sqlite_reader;
SET ROLE regress_sqlite_plain;
CREATE SERVER s_plain FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database :'values_db');
-- a server made by a privileged role can be used by those it is granted to
CREATE FOREIGN TABLE ft_plain (id bigint, note text) SERVER s OPTIONS (table 'v');
SELECT id, note FROM ft_plain WHERE id = 1;
RESET ROLE;
ALTER SERVER s OWNER TO regress_sqlite_plain;
SET ROLE regress_sqlite_plain;
ALTER SERVER s OPTIONS (SET database '/etc/passwd');
RESET ROLE;
SET ROLE regress_sqlite_reader;
CREATE SERVER s_reader FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database :'values_db');
CREATE FOREIGN TABLE ft_reader (id bigint, note text) SERVER s_reader OPTIONS (table 'v');
SELECT id, note FROM ft_reader WHERE id = 2;
RESET ROLE;
-- nothing that opens a file is granted to PUBLIC
SELECT a.grantee::regrole, a.privilege_type FROM pg_foreign_data_wrapper w, aclexplode(w.fdwacl) a
  WHERE w.fdwname = 'sqlite_fdw_mig' AND a.grantee <> w.fdwowner ORDER BY 1::text;
SELECT has_foreign_data_wrapper_privilege('public', 'sqlite_fdw_mig', 'USAGE') AS public_usage;
DROP OWNED BY regress_sqlite_plain, regress_sqlite_reader CASCADE;
DROP ROLE regress_sqlite_plain, regress_sqlite_reader;

-- clean up
SET client_min_messages = warning;
DROP EXTENSION sqlite_fdw_mig CASCADE;
DROP FUNCTION show_error;
