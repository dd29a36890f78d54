--
-- migrate_sqlite(): SQLite names as PostgreSQL names (folded, quoted,
-- shortened, renamed, reported), and values checked one by one.
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set names_db :abs_srcdir '/test/fixtures/mig_names.db'

CREATE EXTENSION sqlite_fdw_mig;
-- each copy's NOTICE shows its time: keep warnings and errors only
SET client_min_messages = warning;

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

-- The value-by-value check.  mig_norm() gives a value's text under the
-- PostgreSQL type it was migrated to, computed by PostgreSQL's own input
-- functions (numbers in date columns by arithmetic), with no typmod applied,
-- so nothing is rounded or cut on the way.
CREATE FUNCTION mig_norm(v text, typ regtype, unit text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql SET timezone = 'UTC' SET datestyle = 'ISO, YMD'
SET extra_float_digits = 1 SET intervalstyle = 'postgres' AS $$
DECLARE
  base text := format_type(typ, NULL);
  secs float8;
  r text;
BEGIN
  IF v IS NULL THEN
    RETURN NULL;
  ELSIF base IN ('smallint', 'integer', 'bigint', 'numeric') THEN
    RETURN trim_scale(v::numeric)::text;
  ELSIF base IN ('real', 'double precision') THEN
    RETURN v::float8::text;
  ELSIF base IN ('character varying', 'character', 'text') THEN
    RETURN v;
  ELSIF base IN ('date', 'timestamp without time zone', 'timestamp with time zone')
        AND v ~ '^[-+]?[0-9]+(\.[0-9]*)?$' AND unit IS NOT NULL THEN
    secs := CASE unit WHEN 'unixepoch' THEN v::numeric
                      WHEN 'unixepoch_ms' THEN v::numeric / 1000
                      WHEN 'julianday' THEN (v::numeric - 2440587.5) * 86400 END;
    r := (timestamptz 'epoch' + make_interval(secs => secs))::text;
    RETURN CASE base WHEN 'timestamp with time zone' THEN r
                     WHEN 'date' THEN r::timestamptz::date::text
                     ELSE r::timestamptz::timestamp::text END;
  END IF;
  EXECUTE format('SELECT $1::%s::text', base) INTO r USING v;
  RETURN r;
EXCEPTION WHEN OTHERS THEN
  RETURN 'ERROR: ' || SQLERRM;
END
$$;

-- Compare every value of migrated table "target" with the SQLite table
-- read by foreign table "src" (IMPORT FOREIGN SCHEMA of the same file):
-- the columns pair up by position.  Rows pair up by "key" (a target column
-- name), or as a multiset of whole rows when key is NULL.  Returns the
-- number of values that differ (a row missing on one side counts all its
-- values) and shows the first few.
CREATE FUNCTION mig_diff(target regclass, src regclass, key text DEFAULT NULL,
                         unit text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SET timezone = 'UTC' SET datestyle = 'ISO, YMD'
SET extra_float_digits = 1 SET intervalstyle = 'postgres' AS $$
DECLARE
  tcols text[];
  ttypes regtype[];
  scols text[];
  cols text := '';
  sexpr text := '';
  texpr text := '';
  n int;
  k int;
  base text;
  diffs bigint;
  r record;
BEGIN
  SELECT array_agg(attname::text ORDER BY attnum), array_agg(atttypid::regtype ORDER BY attnum)
    INTO tcols, ttypes FROM pg_attribute WHERE attrelid = target AND attnum > 0 AND NOT attisdropped;
  SELECT array_agg(coalesce((SELECT substr(o, 13) FROM unnest(attfdwoptions) o
                              WHERE o LIKE 'column_name=%'), attname::text) ORDER BY attnum)
    INTO scols FROM pg_attribute WHERE attrelid = src AND attnum > 0 AND NOT attisdropped;
  n := cardinality(tcols);
  IF n IS DISTINCT FROM cardinality(scols) THEN
    RAISE EXCEPTION '% has % columns, % has %', target, n, src, cardinality(scols);
  END IF;
  FOR i IN 1 .. n LOOP
    base := format_type(ttypes[i], NULL);
    cols := cols || format('%s c%s %s OPTIONS (column_name %L)', CASE WHEN i > 1 THEN ',' END, i,
                           CASE WHEN base IN ('bytea', 'uuid') THEN 'bytea' ELSE 'text' END, scols[i]);
    IF base = 'bytea' THEN
      sexpr := sexpr || format(', encode(c%s, ''hex'')', i);
      texpr := texpr || format(', encode(%I, ''hex'')', tcols[i]);
    ELSIF base = 'uuid' THEN
      sexpr := sexpr || format(', mig_norm(CASE WHEN length(c%1$s) = 16 THEN encode(c%1$s, ''hex'') '
                               'ELSE convert_from(c%1$s, ''UTF8'') END, ''uuid'')', i);
      texpr := texpr || format(', %I::text', tcols[i]);
    ELSE
      sexpr := sexpr || format(', mig_norm(c%s, %L, %L)', i, ttypes[i], unit);
      texpr := texpr || format(', mig_norm(%I::text, %L, %L)', tcols[i], ttypes[i], unit);
    END IF;
  END LOOP;
  EXECUTE format('CREATE FOREIGN TABLE pg_temp.mig_cmp (%s) SERVER %I OPTIONS (table %L)', cols,
                 (SELECT srvname FROM pg_foreign_table JOIN pg_foreign_server s ON s.oid = ftserver
                   WHERE ftrelid = src),
                 (SELECT substr(o, 7) FROM pg_foreign_table, unnest(ftoptions) o
                   WHERE ftrelid = src AND o LIKE 'table=%'));
  k := array_position(tcols, key);
  IF key IS NOT NULL AND k IS NULL THEN
    RAISE EXCEPTION 'no column % in %', key, target;
  END IF;
  diffs := 0;
  FOR r IN EXECUTE format(
    'WITH s AS (SELECT ARRAY[%1$s] AS a FROM pg_temp.mig_cmp), t AS (SELECT ARRAY[%2$s] AS a FROM %3$s) '
    || CASE WHEN k IS NULL THEN
         'SELECT x.a AS s, NULL::text[] AS t FROM (TABLE s EXCEPT ALL TABLE t) x '
         'UNION ALL SELECT NULL, y.a FROM (TABLE t EXCEPT ALL TABLE s) y'
       ELSE
         'SELECT s.a AS s, t.a AS t FROM s FULL JOIN t '
         'ON coalesce(s.a[%4$s], ''<NULL>'') = coalesce(t.a[%4$s], ''<NULL>'') '
         'WHERE s.a IS DISTINCT FROM t.a'
       END,
    substr(sexpr, 3), substr(texpr, 3), target, k)
  LOOP
    FOR i IN 1 .. n LOOP
      IF r.s IS NULL OR r.t IS NULL OR r.s[i] IS DISTINCT FROM r.t[i] THEN
        diffs := diffs + 1;
        IF diffs <= 5 THEN
          RAISE WARNING '%.%: SQLite % / PostgreSQL %', target, tcols[i],
            coalesce(quote_literal(r.s[i]), CASE WHEN r.s IS NULL THEN 'no row' ELSE 'NULL' END),
            coalesce(quote_literal(r.t[i]), CASE WHEN r.t IS NULL THEN 'no row' ELSE 'NULL' END);
        END IF;
      END IF;
    END LOOP;
  END LOOP;
  EXECUTE 'DROP FOREIGN TABLE pg_temp.mig_cmp';
  RETURN diffs;
END
$$;

-- mig_diff for every table of the last migration into "schema": the
-- foreign tables of "src_schema" are matched by their "table" option, rows
-- by a one-column primary key when there is one.
CREATE FUNCTION mig_check(schema name, src_schema name, unit text DEFAULT NULL)
RETURNS TABLE (target_table text, values_differing bigint) LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT e ->> 'source_table' AS source, e ->> 'target_table' AS target
      FROM (SELECT report FROM sqlite_migration_history h WHERE h.target_schema = schema
             ORDER BY id DESC LIMIT 1) h, jsonb_array_elements(h.report) e
     ORDER BY 2
  LOOP
    target_table := r.target;
    values_differing := mig_diff(r.target::regclass,
      (SELECT ftrelid FROM pg_foreign_table JOIN pg_class c ON c.oid = ftrelid
        WHERE c.relnamespace = src_schema::regnamespace
          AND lower('table=' || r.source) = ANY (SELECT lower(o) FROM unnest(ftoptions) o)),
      (SELECT a.attname FROM pg_constraint c JOIN pg_attribute a
          ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        WHERE c.conrelid = r.target::regclass AND c.contype IN ('p', 'u')
          AND cardinality(c.conkey) = 1 ORDER BY c.contype LIMIT 1),
      unit);
    RETURN NEXT;
  END LOOP;
END
$$;

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
