# Copyright: part of sqlite_fdw_mig.
#
# Migrating an uploaded SQLite file as a role with no file privilege,
# logged in as itself: psql's \lo_import, then migrate_sqlite_lo(:LASTOID).
# The history shows each such role its own migrations only.  A cancel
# (statement_timeout) stops a foreign scan and a migration reading a large
# object at once, leaves nothing behind, and the session goes on; the large
# object's descriptor never outlives the transaction (no leak warnings).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $dir = $PostgreSQL::Test::Utils::tmp_check;
my $small = "$dir/lo_small.db";
my $big = "$dir/lo_big.db";
unlink $small, $big;
system_or_bail('sqlite3', $small, <<'EOSQL');
CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, price NUMERIC(8,2));
INSERT INTO items (name, price) VALUES ('one', 1.50), ('two', 2.25), ('three', NULL);
CREATE TABLE tags (id INTEGER PRIMARY KEY, item_id INTEGER REFERENCES items (id), tag TEXT);
INSERT INTO tags VALUES (1, 1, 'a'), (2, 2, 'b');
-- never ends and never returns a row
CREATE VIEW forever AS
  WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)
  SELECT x FROM c WHERE x < 0;
EOSQL
system_or_bail('sqlite3', $big, <<'EOSQL');
CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT, n INTEGER);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000)
INSERT INTO big SELECT x, printf('value %d %s', x, hex(randomblob(20))), x * 7 FROM c;
EOSQL
ok(-s $small && -s $big, 'SQLite files created');

my $node = PostgreSQL::Test::Cluster->new('large_object');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION sqlite_fdw_mig;
CREATE ROLE uploader LOGIN;
CREATE ROLE other LOGIN;
CREATE SCHEMA up AUTHORIZATION uploader;
CREATE SCHEMA up_big AUTHORIZATION uploader;
CREATE SCHEMA oth AUTHORIZATION other;
});

# Run $sql as $role, logged in as that role.
sub as_role
{
	my ($role, $sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', $sql,
		on_error_stop => 0, extra_params => [ '-U', $role ]);
	return ($ret, $out, $err);
}

my ($ret, $out, $err) = as_role('uploader', qq{
\\lo_import $small
SELECT source_table || ' ' || status FROM migrate_sqlite_lo(:LASTOID, 'up') ORDER BY 1;
\\lo_unlink :LASTOID
SELECT count(*) FROM up.items;
SELECT string_agg(name || '=' || coalesce(price::text, 'null'), ',' ORDER BY id) FROM up.items;
});
is($ret, 0, 'a role without file privileges migrates an uploaded file');
like($out, qr/items migrated/, 'report: items migrated');
like($out, qr/^3$/m, 'three items');
like($out, qr/one=1\.50,two=2\.25,three=null/, 'values as in SQLite');
unlike($err, qr/leak|WARNING/, 'no leak warnings') or diag($err);

($ret, $out, $err) = as_role('other', qq{
\\lo_import $small
SELECT count(*) FROM migrate_sqlite_lo(:LASTOID, 'oth');
\\lo_unlink :LASTOID
SELECT count(*) FROM sqlite_migration_history;
});
is($ret, 0, 'a second role migrates its own upload');
like($out, qr/^1$/m, 'it sees one migration in the history: its own');

# the path-based function and file servers stay closed to it
($ret, $out, $err) = as_role('uploader',
	qq{SELECT * FROM migrate_sqlite('$small', 'up', if_exists => 'replace')});
like($err, qr/permission denied for function migrate_sqlite/, 'no path-based migration');
($ret, $out, $err) = as_role('uploader',
	qq{CREATE SERVER f FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database '$small')});
like($err, qr/permission denied to set option "database"/, 'no server on a file');

# cancel: a foreign scan of an uploaded file that never ends
($ret, $out, $err) = as_role('uploader', qq{
\\lo_import $small
CREATE SERVER los FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (large_object :'LASTOID');
CREATE FOREIGN TABLE up.forever (x bigint) SERVER los OPTIONS (table 'forever');
SET statement_timeout = '500ms';
SELECT * FROM up.forever;
RESET statement_timeout;
SELECT 'alive';
});
like($err, qr/canceling statement due to statement timeout/, 'statement_timeout stops a scan of a large object');
like($out, qr/alive/, 'the session goes on');
unlike($err, qr/leak/, 'no leak after the cancel');

# cancel: a migration of a 300,000-row upload
($ret, $out, $err) = as_role('uploader', qq{
\\lo_import $big
\\set big :LASTOID
SET statement_timeout = '300ms';
SELECT count(*) FROM migrate_sqlite_lo(:big, 'up_big');
RESET statement_timeout;
SELECT count(*) FROM pg_class WHERE relnamespace = 'up_big'::regnamespace;
SELECT source_table || ' ' || source_rows || ' ' || target_rows FROM migrate_sqlite_lo(:big, 'up_big');
\\lo_unlink :big
});
like($err, qr/canceling statement due to statement timeout/, 'statement_timeout stops a migration of a large object');
like($out, qr/^0$/m, 'nothing left behind');
like($out, qr/^big 300000 300000$/m, 'the same session then migrates it whole');
unlike($err, qr/leak/, 'no leak warnings');

$node->stop;
done_testing();
