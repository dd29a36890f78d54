-- Set-up shared by the migration tests (sql/migrate*.sql include it):
-- quiet copies, show_error(), and the value-by-value check.
-- each copy's NOTICE shows its time: keep warnings and errors only
SET client_min_messages = warning;
-- reports without lock times, the same on every run
SET sqlite_fdw_mig.report_timings = off;

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
