--
-- The conversion matrix: every SQLite storage class read as every common
-- PostgreSQL type.  A value converts only when the result means exactly what
-- the SQLite value meant; otherwise the read is an error.
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set values_db :abs_srcdir '/test/fixtures/values.db'

CREATE EXTENSION sqlite_fdw_mig;
CREATE SERVER values_srv FOREIGN DATA WRAPPER sqlite_fdw_mig
  OPTIONS (database :'values_db');

SET datestyle = 'ISO, YMD';
SET extra_float_digits = 0;

\set helpers :abs_srcdir '/test/regress_helpers.sql'
\i :helpers

-- every value except the 1 MB text (checked by length below) and date/time text
CREATE TABLE ids AS
  SELECT array_agg(i ORDER BY i) AS a FROM unnest(ARRAY[
    1,2,3,4,5,6,7,8,9, 10,11,12,13,14,15,16,17,18,19,
    20,21,22,23,24,25,26,27,28,30,31,32,33,34, 40,41,42, 50,51,52,53, 60]) AS i;

CREATE DOMAIN positive_int AS integer CHECK (VALUE > 0);
CREATE DOMAIN nonnull_text AS text NOT NULL;

-- one foreign table per type, all on the same SQLite table
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['smallint', 'integer', 'bigint', 'real',
    'double precision', 'numeric', 'numeric(10,2)', 'boolean', 'text',
    'varchar(5)', 'char(5)', 'bytea', 'uuid', 'json', 'jsonb', 'interval',
    'positive_int', 'nonnull_text', 'timestamp']
  LOOP
    EXECUTE format('CREATE FOREIGN TABLE %I (id bigint, x %s) SERVER values_srv OPTIONS (table %L)',
                   'v_' || regexp_replace(t, '\W', '_', 'g'), t, 'v');
  END LOOP;
END
$$;

-- the matrix, type by type
SELECT 'smallint' AS type, r.* FROM ids, try_read('v_smallint', ids.a) r;
SELECT 'integer' AS type, r.* FROM ids, try_read('v_integer', ids.a) r;
SELECT 'bigint' AS type, r.* FROM ids, try_read('v_bigint', ids.a) r;
SELECT 'real' AS type, r.* FROM ids, try_read('v_real', ids.a) r;
SELECT 'double' AS type, r.* FROM ids, try_read('v_double_precision', ids.a) r;
SELECT 'numeric' AS type, r.* FROM ids, try_read('v_numeric', ids.a) r;
SELECT 'numeric(10,2)' AS type, r.* FROM ids, try_read('v_numeric_10_2_', ids.a) r;
SELECT 'boolean' AS type, r.* FROM ids, try_read('v_boolean', ids.a) r;
SELECT 'text' AS type, r.* FROM ids, try_read('v_text', ids.a) r;
SELECT 'varchar(5)' AS type, r.* FROM ids, try_read('v_varchar_5_', ids.a) r;
SELECT 'char(5)' AS type, r.* FROM ids, try_read('v_char_5_', ids.a) r;
SELECT 'bytea' AS type, r.* FROM ids, try_read('v_bytea', ids.a) r;
SELECT 'uuid' AS type, r.* FROM ids, try_read('v_uuid', ids.a) r;
SELECT 'json' AS type, r.* FROM ids, try_read('v_json', ids.a) r;
SELECT 'jsonb' AS type, r.* FROM ids, try_read('v_jsonb', ids.a) r;
SELECT 'interval' AS type, r.* FROM ids, try_read('v_interval', ids.a) r;
SELECT 'positive_int' AS type, r.* FROM ids, try_read('v_positive_int', ids.a) r;
SELECT 'nonnull_text' AS type, r.* FROM ids, try_read('v_nonnull_text', ids.a) r;

-- large values and exact edges
SELECT length(x), x = repeat('x', 1048576) AS same FROM v_text WHERE id = 29;
SELECT x, x = 9223372036854775807 AS max FROM v_bigint WHERE id = 5;
SELECT x, x = -9223372036854775808 AS min FROM v_bigint WHERE id = 6;
SELECT x::text, x = 0 AS is_zero, x::text = '-0' AS negative FROM v_double_precision WHERE id = 12;
SELECT x = 'Infinity'::float8 AS pos_inf FROM v_double_precision WHERE id = 13;
SELECT x = 'Infinity'::numeric AS pos_inf FROM v_numeric WHERE id = 13;
SELECT x = '-Infinity'::float8 AS neg_inf FROM v_double_precision WHERE id = 14;
SELECT x, octet_length(x) AS bytes, convert_to(x, 'UTF8') FROM v_text WHERE id = 30;

-- reals print the same whatever extra_float_digits says
SET extra_float_digits = 3;
SELECT id, x FROM v_text WHERE id BETWEEN 15 AND 17 ORDER BY id;
SELECT id, x FROM v_numeric WHERE id BETWEEN 15 AND 17 ORDER BY id;
SET extra_float_digits = 0;
SELECT id, x FROM v_text WHERE id BETWEEN 15 AND 17 ORDER BY id;
SELECT id, x FROM v_numeric WHERE id BETWEEN 15 AND 17 ORDER BY id;

-- only the columns a query needs are read: bad values elsewhere do not matter
SELECT count(*) FROM v_smallint;
SELECT id FROM v_smallint WHERE id < 3 ORDER BY id;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM v_smallint WHERE id < 3;
EXPLAIN (VERBOSE, COSTS OFF) SELECT count(*) FROM v_smallint;

-- the errors in full: each names the column, table, rowid and value
SELECT x FROM v_integer WHERE id = 20;
SELECT x FROM v_smallint WHERE id = 4;
SELECT x FROM v_integer WHERE id = 10;
SELECT x FROM v_boolean WHERE id = 3;
SELECT x FROM v_double_precision WHERE id = 7;
SELECT x FROM v_real WHERE id = 16;
SELECT x FROM v_numeric_10_2_ WHERE id = 18;
SELECT x FROM v_text WHERE id = 27;
SELECT x FROM v_text WHERE id = 28;
SELECT x FROM v_text WHERE id = 51;
SELECT x FROM v_varchar_5_ WHERE id = 30 OR id = 29;
SELECT x FROM v_timestamp WHERE id = 1;

-- clean up
SET client_min_messages = warning;
DROP EXTENSION sqlite_fdw_mig CASCADE;
DROP TABLE ids;
DROP FUNCTION try_read;
DROP DOMAIN positive_int, nonnull_text;
