--
-- Dates and times.  SQLite has no date type: dates are text in the forms its
-- date functions read (naive times are UTC), or numbers whose meaning only
-- the column option datetime_unit can give.
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set values_db :abs_srcdir '/test/fixtures/values.db'

CREATE EXTENSION sqlite_fdw_mig;
CREATE SERVER values_srv FOREIGN DATA WRAPPER sqlite_fdw_mig
  OPTIONS (database :'values_db');

SET datestyle = 'ISO, YMD';
SET timezone = 'UTC';

\set helpers :abs_srcdir '/test/regress_helpers.sql'
\i :helpers

CREATE FOREIGN TABLE v_ts (id bigint, x timestamp) SERVER values_srv OPTIONS (table 'v');
CREATE FOREIGN TABLE v_tstz (id bigint, x timestamptz) SERVER values_srv OPTIONS (table 'v');
CREATE FOREIGN TABLE v_date (id bigint, x date) SERVER values_srv OPTIONS (table 'v');
CREATE FOREIGN TABLE v_time (id bigint, x time) SERVER values_srv OPTIONS (table 'v');

\set dt_ids 'ARRAY[70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,20,22,1,10,90,93,60]'
SELECT 'timestamp' AS type, r.* FROM try_read('v_ts', :dt_ids) r;
SELECT 'timestamptz' AS type, r.* FROM try_read('v_tstz', :dt_ids) r;
SELECT 'date' AS type, r.* FROM try_read('v_date', :dt_ids) r;
SELECT 'time' AS type, r.* FROM try_read('v_time', :dt_ids) r;

-- numbers, with datetime_unit saying what they mean
CREATE FOREIGN TABLE v_unix (id bigint, x timestamptz OPTIONS (datetime_unit 'unixepoch'))
  SERVER values_srv OPTIONS (table 'v');
CREATE FOREIGN TABLE v_unix_ms (id bigint, x timestamp OPTIONS (datetime_unit 'unixepoch_ms'))
  SERVER values_srv OPTIONS (table 'v');
CREATE FOREIGN TABLE v_jd (id bigint, x timestamp OPTIONS (datetime_unit 'julianday'))
  SERVER values_srv OPTIONS (table 'v');
CREATE FOREIGN TABLE v_jd_date (id bigint, x date OPTIONS (datetime_unit 'julianday'))
  SERVER values_srv OPTIONS (table 'v');
\set num_ids 'ARRAY[90,91,92,93,94,95,96,80,71,20,5,6]'
SELECT 'unixepoch' AS unit, r.* FROM try_read('v_unix', :num_ids) r;
SELECT 'unixepoch_ms' AS unit, r.* FROM try_read('v_unix_ms', :num_ids) r;
SELECT 'julianday' AS unit, r.* FROM try_read('v_jd', :num_ids) r;
SELECT 'julianday date' AS unit, r.* FROM try_read('v_jd_date', :num_ids) r;
ALTER FOREIGN TABLE v_jd ALTER COLUMN x OPTIONS (SET datetime_unit 'fortnights');

-- the same instants whatever the session's TimeZone and DateStyle
CREATE TABLE utc_run AS
  SELECT id, extract(epoch FROM x) AS epoch FROM v_tstz
  WHERE id BETWEEN 70 AND 74 OR id BETWEEN 81 AND 82;
SET timezone = 'America/New_York';
SET datestyle = 'SQL, DMY';
SELECT v.id, extract(epoch FROM v.x) = u.epoch AS same_instant
  FROM v_tstz v JOIN utc_run u USING (id)
  WHERE v.id BETWEEN 70 AND 74 OR v.id BETWEEN 81 AND 82 ORDER BY id;
SELECT count(*) AS same_timestamps FROM v_ts v JOIN v_tstz z USING (id)
  WHERE v.id BETWEEN 70 AND 74 AND z.id BETWEEN 70 AND 74
    AND v.x = (z.x AT TIME ZONE 'UTC');
RESET timezone;
RESET datestyle;

-- a full error: the hint names the option that resolves it
SELECT x FROM v_ts WHERE id = 90;
SELECT x FROM v_ts WHERE id = 78;

-- clean up
SET client_min_messages = warning;
DROP EXTENSION sqlite_fdw_mig CASCADE;
DROP TABLE utc_run;
DROP FUNCTION try_read;
