-- bench/aggregates.sql: aggregates computed by SQLite, against PostgreSQL's
-- own aggregate over the foreign scan, on the benchmark's file.
--
--   python3 bench/gen_app_db.py /var/tmp/app1m.db --size 1m
--   psql -X -v db=/var/tmp/app1m.db -f bench/aggregates.sql
--
-- (as a superuser, in a scratch database of a server with sqlite_fdw_mig
-- installed).  Each query runs five times with aggregate_pushdown = always
-- and five times with off, alternating, in one session; the table gives the
-- fastest run of each and their ratio.
\set ON_ERROR_STOP on
CREATE EXTENSION IF NOT EXISTS sqlite_fdw_mig;
DROP SERVER IF EXISTS bench_agg CASCADE;
CREATE SERVER bench_agg FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database :'db');
CREATE FOREIGN TABLE bench_order_items (id bigint, order_id bigint, sku text,
  product_name text, quantity integer, discount double precision)
  SERVER bench_agg OPTIONS (table 'order_items');
CREATE FOREIGN TABLE bench_events (id bigint, user_id bigint, order_id bigint,
  kind text, duration_ms double precision)
  SERVER bench_agg OPTIONS (table 'events');

CREATE TEMP TABLE bench_agg_times (q text, mode text, ms double precision);
DO $$
DECLARE
  q text;
  m text;
  i int;
  t0 timestamptz;
BEGIN
  FOREACH q IN ARRAY ARRAY[
    'SELECT count(*) FROM bench_events',
    'SELECT count(*) FROM bench_order_items WHERE id > 400000',
    'SELECT count(*) FROM bench_events WHERE kind = ''login''',
    'SELECT count(*) FROM bench_order_items WHERE quantity > 3',
    'SELECT sum(quantity), avg(quantity), min(order_id), max(order_id) FROM bench_order_items',
    'SELECT kind, count(*), count(user_id), max(duration_ms) FROM bench_events GROUP BY kind']
  LOOP
    EXECUTE q;                  -- warm the file cache
    FOR i IN 1..5 LOOP
      FOREACH m IN ARRAY ARRAY['always', 'off'] LOOP
        PERFORM set_config('sqlite_fdw_mig.aggregate_pushdown', m, true);
        t0 := clock_timestamp();
        EXECUTE q;
        INSERT INTO bench_agg_times
          VALUES (q, m, 1000 * extract(epoch FROM clock_timestamp() - t0));
      END LOOP;
    END LOOP;
  END LOOP;
END $$;

SELECT q AS query,
       round(min(ms) FILTER (WHERE mode = 'always')::numeric, 1) AS sqlite_ms,
       round(min(ms) FILTER (WHERE mode = 'off')::numeric, 1) AS postgresql_ms,
       round((min(ms) FILTER (WHERE mode = 'off') /
              min(ms) FILTER (WHERE mode = 'always'))::numeric, 2) AS ratio
  FROM bench_agg_times GROUP BY q ORDER BY min(ctid);
DROP SERVER bench_agg CASCADE;
