--
-- Aggregates computed by SQLite: a differential test of generated queries
-- (aggregates, GROUP BY, WHERE, HAVING) over tables whose columns hold only
-- their own storage class (g), mixed classes (gd, t), and a value the
-- column's type cannot hold (gbad), each run with push-down on and off.
-- Every query must give the same rows both ways, or fail the same way; a
-- good share must be answered by SQLite, and the checks must send the
-- queries over mixed values to PostgreSQL's own plan.
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set pd_db :abs_srcdir '/test/fixtures/pushdown.db'

CREATE EXTENSION sqlite_fdw_mig;
CREATE SERVER pd_srv FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database :'pd_db');
CREATE FOREIGN TABLE g (id bigint, k bigint, s text, a integer, b bigint,
                        r double precision, n smallint) SERVER pd_srv;
CREATE FOREIGN TABLE gd (id bigint, k bigint, s text, a integer, b bigint,
                         r double precision, n integer) SERVER pd_srv;
CREATE FOREIGN TABLE t (id bigint, i bigint, s text, r double precision, d timestamp)
  SERVER pd_srv;
CREATE FOREIGN TABLE u_num (id bigint, n double precision, s text)
  SERVER pd_srv OPTIONS (table 'u');
CREATE FOREIGN TABLE gbad (id bigint, v smallint) SERVER pd_srv;
CREATE FOREIGN TABLE gok (id bigint, v integer) SERVER pd_srv OPTIONS (table 'gbad');

-- the simplest case, and what it sends: under the default setting
-- aggregate_pushdown = cost, a count(*) goes to SQLite, which counts b-tree
-- cells without reading a column
SHOW sqlite_fdw_mig.aggregate_pushdown;
EXPLAIN (VERBOSE, COSTS OFF) SELECT count(*) FROM g;
SELECT count(*) FROM g;

-- The rest of this test pushes down whatever is exact, whatever the costs
-- (on these small tables PostgreSQL's own aggregate often costs less).
SET sqlite_fdw_mig.aggregate_pushdown = always;
EXPLAIN (VERBOSE, COSTS OFF)
SELECT k, count(*), sum(a), avg(a), sum(b), avg(b), min(r), max(n)
  FROM g WHERE id > 3 GROUP BY k HAVING count(*) > 2;

-- sum of bigint overflows 64 bits in SQLite; the halves do not
SELECT sum(b), avg(b), min(b), max(b) FROM g;

-- which plan answered: 'sqlite', 'fallback' (the check found a value of
-- another storage class), 'local' (not pushed), or the SQLSTATE
CREATE FUNCTION agg_mode(q text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  line text;
  pushed bool := false;
  outer_plan bool := false;
  fallback bool := true;
BEGIN
  PERFORM set_config('sqlite_fdw_mig.enable_pushdown', 'on', true);
  FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
    IF line ~ 'Relations: Aggregate on' THEN
      pushed := true;
    END IF;
    IF pushed AND line ~ '(Aggregate|Group)' AND line !~ 'Relations:' THEN
      outer_plan := true;
    END IF;
    IF pushed AND line ~ '(Aggregate|Group).*never executed' THEN
      fallback := false;
    END IF;
  END LOOP;
  IF NOT pushed THEN
    RETURN 'local';
  END IF;
  -- no outer plan: nothing to check (no column read but a bigint key)
  RETURN CASE WHEN outer_plan AND fallback THEN 'fallback' ELSE 'sqlite' END;
EXCEPTION WHEN others THEN
  RETURN 'ERROR ' || SQLSTATE;
END $$;

-- run one query: its rows as sorted text, or the SQLSTATE it failed with
CREATE FUNCTION run_rows(q text, pushdown bool) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  result text;
BEGIN
  PERFORM set_config('sqlite_fdw_mig.enable_pushdown', pushdown::text, true);
  EXECUTE format('SELECT coalesce(string_agg(r::text, '' | '' ORDER BY r::text), ''(none)'') FROM (%s) r', q)
    INTO result;
  RETURN result;
EXCEPTION WHEN others THEN
  RETURN 'ERROR ' || SQLSTATE;
END $$;

-- the tables, and their columns by use
CREATE TEMP TABLE tabs (tbl text, ints text[], floats text[], texts text[]);
INSERT INTO tabs VALUES
  ('g',     '{k,a,b,n}', '{r}', '{s}'),
  ('gd',    '{k,a,b,n}', '{r}', '{s}'),
  ('t',     '{i}',       '{r}', '{s}'),
  ('u_num', '{id}',      '{n}', '{s}'),
  ('gbad',  '{v}',       '{}',  '{}'),
  ('gok',   '{v}',       '{}',  '{}');

-- aggregate lists, GROUP BY, WHERE and HAVING, by template: {I} is an
-- integer column, {R} a float8 column, {S} a text column
CREATE TEMP TABLE agg_lists (n serial, sel text);
INSERT INTO agg_lists (sel) VALUES
  ('count(*)'), ('count({I})'), ('sum({I})'), ('avg({I})'), ('min({I}), max({I})'),
  ('count(*), sum({I}), avg({I})'), ('min({R}), max({R})'), ('count({R})'),
  ('sum({R})'), ('avg({R})'), ('count({S})'), ('min({S})'), ('count(DISTINCT {I})'),
  ('sum({I}) FILTER (WHERE id > 3)'), ('count(*) + 1, sum({I}) * 2'),
  ('max({I}) - min({I})');
CREATE TEMP TABLE groupings (n serial, grp text);
INSERT INTO groupings (grp) VALUES (''), ('{I}'), ('{S}'), ('{I}, {S}'), ('{R}');
CREATE TEMP TABLE wheres (n serial, cond text);
INSERT INTO wheres (cond) VALUES (''), ('id > 5'), ('{I} = 7'), ('{I} > 0'),
  ('{S} = ''a'''), ('{S} <> ''b'''), ('{R} > 0'), ('{R} < ''NaN'''), ('{I} IS NULL'),
  ('NOT (id > 30)'), ('{I} + 0 > 0'), ('{S} = ''7''');
CREATE TEMP TABLE havings (n serial, hav text);
INSERT INTO havings (hav) VALUES (''), ('count(*) > 2'), ('sum({I}) > 0');

CREATE TEMP TABLE agg_queries AS
SELECT DISTINCT tbl, q FROM (
  SELECT tbl,
         format('SELECT %s%s FROM %I%s%s%s',
                CASE WHEN grp = '' THEN '' ELSE grp || ', ' END, sel, tbl,
                CASE WHEN cond = '' THEN '' ELSE ' WHERE ' || cond END,
                CASE WHEN grp = '' THEN '' ELSE ' GROUP BY ' || grp END,
                CASE WHEN hav = '' THEN '' ELSE ' HAVING ' || hav END) AS tmpl,
         ints, floats, texts, a.n AS an, w.n AS wn, gr.n AS gn, h.n AS hn
    FROM tabs, agg_lists a, groupings gr, wheres w, havings h
   WHERE (a.n * 3 + gr.n * 5 + w.n * 7 + h.n * 11) % 4 = 0
     AND (h.n = 1 OR (a.n + w.n) % 3 = 0)) s,
  LATERAL (SELECT i AS icol FROM unnest(ints) i) ic,
  LATERAL (SELECT coalesce(floats[1 + (an + wn) % greatest(cardinality(floats), 1)], '') AS fcol) fc,
  LATERAL (SELECT coalesce(texts[1], '') AS scol) sc,
  LATERAL (SELECT replace(replace(replace(tmpl, '{I}', icol), '{R}', fcol), '{S}', scol) AS q) qq
 WHERE (fcol <> '' OR position('{R}' in tmpl) = 0)
   AND (scol <> '' OR position('{S}' in tmpl) = 0)
   AND (an + gn + wn + hn + length(icol) + ascii(tbl)) % 3 = 0
   AND (an * 5 + wn * 3 + gn * 7 + hn) % 3 <> 1;

CREATE TEMP TABLE agg_results AS
SELECT tbl, q, run_rows(q, true) AS with_pushdown, run_rows(q, false) AS without,
       agg_mode(q) AS mode
  FROM agg_queries;

-- how many, and how each was answered
SELECT count(*) >= 300 AS several_hundred,
       count(*) FILTER (WHERE mode = 'sqlite') >= 100 AS many_by_sqlite,
       count(*) FILTER (WHERE mode = 'fallback') >= 50 AS many_fallbacks,
       count(*) FILTER (WHERE mode = 'local') >= 50 AS many_local,
       count(*) FILTER (WHERE without LIKE 'ERROR%') > 0 AS some_fail
  FROM agg_results;
-- by table: gd and u_num hold values of other classes, so queries reading
-- those columns fall back, unless their WHERE leaves those rows out
SELECT tbl, mode, count(*) FROM agg_results GROUP BY 1, 2 ORDER BY 1, 2;

-- the differences: none
SELECT q, with_pushdown, without, mode
  FROM agg_results
 WHERE with_pushdown IS DISTINCT FROM without
   AND NOT (without LIKE 'ERROR%' AND with_pushdown NOT LIKE 'ERROR%')
 ORDER BY q;
-- As in pushdown_diff: a WHERE sent to SQLite skips rows before their
-- values are converted, so a query that fails without push-down, because a
-- row it does not want holds a value its column's type cannot hold, can
-- succeed with it.  Never the other way round.
SELECT q, with_pushdown, without, mode
  FROM agg_results
 WHERE without LIKE 'ERROR%' AND with_pushdown NOT LIKE 'ERROR%'
 ORDER BY q;

-- a sample of the answers
SELECT q, run_rows(q, true) AS with_pushdown,
       run_rows(q, true) = run_rows(q, false) AS same, agg_mode(q) AS mode
  FROM unnest(ARRAY['SELECT sum(b) FROM g', 'SELECT avg(a) FROM g WHERE id > 5',
                    'SELECT count(*) FROM gd WHERE a = 7', 'SELECT sum(v) FROM gbad',
                    'SELECT sum(v) FROM gok', 'SELECT s, count(s) FROM g GROUP BY s',
                    'SELECT count(*), min(r) FROM g WHERE r < ''NaN''',
                    'SELECT count(*) FROM g WHERE r > 1.5',
                    'SELECT s FROM gd GROUP BY s', 'SELECT k FROM g GROUP BY k',
                    'SELECT count(*) FROM (SELECT k FROM g GROUP BY k) s',
                    'SELECT 1 FROM g GROUP BY k HAVING count(*) > 9']) AS q;
SELECT run_rows('SELECT s, count(*), sum(a) FROM g GROUP BY s', true);
SELECT run_rows('SELECT k, s, count(*), min(r) FROM gd GROUP BY k, s HAVING count(*) > 1', true);
SELECT agg_mode('SELECT k, s, count(*), min(r) FROM gd GROUP BY k, s HAVING count(*) > 1');

-- a value no smallint holds: the same error either way
SET sqlite_fdw_mig.enable_pushdown = on;
SELECT max(v) FROM gbad;
SET sqlite_fdw_mig.enable_pushdown = off;
SELECT max(v) FROM gbad;
RESET sqlite_fdw_mig.enable_pushdown;

-- a correlated subquery rescans the pushed aggregate with each value
SELECT x, (SELECT count(*) FROM g WHERE g.k = x), (SELECT sum(a) FROM g WHERE g.k = x)
  FROM generate_series(0, 4) x;
-- a prepared statement binds its parameters
PREPARE agg_p(bigint) AS SELECT count(*), sum(a) FROM g WHERE id > $1;
EXECUTE agg_p(10);
EXECUTE agg_p(39);
DEALLOCATE agg_p;
-- nothing matches: one row for a plain aggregate, none for GROUP BY
SELECT count(*), sum(a), avg(b), min(r) FROM g WHERE id > 1000;
SELECT k, count(*) FROM g WHERE id > 1000 GROUP BY k;

-- -0.0 against 0.0: the same answer either way (SQLite keeps the first of
-- equal values, PostgreSQL the last, so the check sends this to PostgreSQL)
CREATE FOREIGN TABLE z (id bigint, f double precision) SERVER pd_srv;
SELECT q, run_rows(q, true) AS with_pushdown,
       run_rows(q, true) = run_rows(q, false) AS same, agg_mode(q) AS mode
  FROM unnest(ARRAY['SELECT max(f), min(f) FROM z', 'SELECT max(f) FROM z WHERE id > 1',
                    'SELECT count(f) FROM z']) AS q;
-- GROUPING() is not for SQLite
SELECT q, run_rows(q, true) AS with_pushdown,
       run_rows(q, true) = run_rows(q, false) AS same, agg_mode(q) AS mode
  FROM unnest(ARRAY['SELECT k, grouping(k) FROM g GROUP BY k',
                    'SELECT k FROM g GROUP BY k HAVING grouping(k) = 0']) AS q;
-- HAVING runs once per group, on whichever plan answered
CREATE SEQUENCE having_calls;
SELECT agg_mode('SELECT s, count(*) FROM gd GROUP BY s HAVING nextval(''having_calls'') > 0');
SELECT setval('having_calls', 1, false);
SELECT s, count(*) FROM gd GROUP BY s HAVING nextval('having_calls') > 0 ORDER BY s;
SELECT last_value AS having_calls FROM having_calls;
SELECT setval('having_calls', 1, false);
SELECT s, count(*) FROM g GROUP BY s HAVING nextval('having_calls') > 0 ORDER BY s;
SELECT last_value AS having_calls FROM having_calls;

-- off really is off, either way
SET sqlite_fdw_mig.enable_pushdown = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM g;
RESET sqlite_fdw_mig.enable_pushdown;
SET sqlite_fdw_mig.aggregate_pushdown = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM g;
RESET sqlite_fdw_mig.aggregate_pushdown;

SET client_min_messages = warning;
DROP EXTENSION sqlite_fdw_mig CASCADE;
RESET client_min_messages;
