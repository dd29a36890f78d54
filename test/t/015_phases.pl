# Copyright: part of sqlite_fdw_mig.
#
# Faults in each phase of migrate_sqlite() (issue "Reliability"), and
# sessions side by side:
#  - pg_cancel_backend while the migration analyses (the profile read of
#    every row), while it copies, and while it builds an index: each stops
#    promptly, leaves nothing behind, and the same session migrates the same
#    file right after;
#  - pg_terminate_backend in the middle of an index build: the server keeps
#    running, nothing is left (no table, staging server, temporary file);
#  - two sessions migrating two files at the same time, and two sessions
#    reading the same file at the same time.
# Bounds are generous: the test checks that each stop happens, not how fast.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MigTest;
use IPC::Run;
use Time::HiRes qw(time usleep);

my $rows = 1_500_000;
my $max_wait = 60;             # generous bound for a stop (seconds)

# ---------------------------------------------------------------- SQLite files
my $tmp = $PostgreSQL::Test::Utils::tmp_check;

# phases.db: one big table with three secondary indexes, so the profile,
# the copy and the index builds each take a noticeable time.
my $big = "$tmp/phases.db";
unlink $big;
system_or_bail('sqlite3', $big, <<"EOSQL");
CREATE TABLE big (id INTEGER PRIMARY KEY, k INTEGER NOT NULL, t TEXT NOT NULL,
                  r REAL, at DATETIME);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $rows)
INSERT INTO big SELECT x, (x * 7919) % 100003, hex(randomblob(10)), x / 3.0,
                       datetime(1600000000 + x, 'unixepoch') FROM c;
CREATE INDEX big_t ON big (t);
CREATE INDEX big_k_t ON big (k, t);
CREATE INDEX big_at ON big (at DESC, t);
EOSQL
ok(-s $big, 'big SQLite file created');

# two small files for the side-by-side migrations
my @small;
for my $i (1, 2)
{
	my $f = "$tmp/small$i.db";
	unlink $f;
	system_or_bail('sqlite3', $f, <<"EOSQL");
CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000 + $i)
INSERT INTO items (name) SELECT 'item ' || x FROM c;
CREATE TABLE tags (id INTEGER PRIMARY KEY, item_id INTEGER REFERENCES items (id), tag TEXT);
INSERT INTO tags VALUES (1, 1, 'a'), (2, 2, 'b');
EOSQL
	push @small, $f;
}

# ---------------------------------------------------------------- cluster
my $node = PostgreSQL::Test::Cluster->new('phases');
$node->init;
$node->append_conf('postgresql.conf', "max_parallel_maintenance_workers = 0\n");
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION sqlite_fdw_mig;
CREATE SCHEMA target;
CREATE SCHEMA one;
CREATE SCHEMA two;
});

# What a migration into $schema may leave behind: tables in the schema,
# staging servers, foreign tables, history rows, temporary files.
sub leftovers
{
	my ($schema) = @_;
	my $tmpfiles = () = glob($node->data_dir . '/base/pgsql_tmp/*');
	return $node->safe_psql('postgres', qq{
		SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = '$schema'::regnamespace)
		  || '/' || (SELECT count(*) FROM pg_foreign_server WHERE srvname LIKE 'sqlite_mig_%')
		  || '/' || (SELECT count(*) FROM pg_foreign_table)
		  || '/' || (SELECT count(*) FROM sqlite_migration_history)})
	  . "/$tmpfiles";
}


# Wait until pg_stat_activity shows $pid's query matching $re; false if
# $session's statement ends first or nothing shows within $max_wait.
sub wait_activity
{
	my ($session, $pid, $re, $tag) = @_;
	my $t0 = time();
	while (time() - $t0 < $max_wait * 2)
	{
		my $q = $node->safe_psql('postgres',
			qq{SELECT query FROM pg_stat_activity WHERE pid = $pid});
		return $q if $q =~ $re;
		$session->{run}->pump_nb();
		return undef if $session->{stdout} =~ /done_$tag/;
		usleep(10_000);
	}
	return undef;
}

my $report_sql = qq{SELECT string_agg(source_table || ':' || target_rows || ':' || status, ',' ORDER BY source_table)
	FROM migrate_sqlite('$big', 'target')};

# ------------------------------------------------ cancel in each phase
my @phases = (
	[ 'analysing', qr/^migrate_sqlite: analysing$/, 0.3 ],
	[ 'copy', qr/^migrate_sqlite: copy target\.big$/ ],
	[ 'index build', qr/^migrate_sqlite: keys target\.big$/ ],);

my $a = $node->background_psql('postgres', on_error_stop => 0);
my ($pid) = bg_query($a, 'SELECT pg_backend_pid()');
like($pid, qr/^\d+$/, 'session A pid');
my $before = leftovers('target');
is($before, '0/0/0/0/0', 'nothing before the first migration');

my $n = 0;
for my $p (@phases)
{
	my ($name, $re, $delay) = @$p;
	my $tag = 'cancel' . ++$n;
	bg_start($a, "SELECT * FROM migrate_sqlite('$big', 'target')", $tag);
	my $seen = wait_activity($a, $pid, $re, $tag);
	ok(defined $seen, "$name: pg_stat_activity shows the phase")
	  or diag($a->{stderr});
	# past the snapshot copy, into the profile read (60 MB take well under
	# 0.3 s to copy; if the profile is over by then, the copy is cancelled)
	usleep($delay * 1_000_000) if $delay;
	my $t0 = time();
	is($node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)"), 't',
		"$name: pg_cancel_backend");
	my $timer = IPC::Run::timer($max_wait);
	$timer->start;
	my $got = pump_until($a->{run}, $timer, \$a->{stderr},
		qr/canceling statement due to user request/);
	my $elapsed = time() - $t0;
	ok($got, "$name: the migration ends with the cancel message")
	  or diag($a->{stderr});
	cmp_ok($elapsed, '<', $max_wait, "$name: the cancel took ${elapsed}s");
	$timer = IPC::Run::timer($max_wait);
	$timer->start;
	pump_until($a->{run}, $timer, \$a->{stdout}, qr/done_$tag/);
	$a->{stdout} = '';
	unlike($a->{stderr}, qr/could not read SQLite|XX000|internal/,
		"$name: reported as a cancel, nothing else");
	is(leftovers('target'), $before,
		"$name: no table, staging server, foreign table, history row or temporary file left");
}

# The same session migrates the same file right after.
{
	my ($out, $err) = bg_query($a, $report_sql);
	is($out, "big:$rows:migrated",
		'after three cancels, the same session migrates the file');
	unlike($err, qr/ERROR|WARNING/, 'without an error or warning');
	is($node->safe_psql('postgres', q{
		SELECT count(*) || '/' || count(DISTINCT t) || '/' || max(id) FROM target.big}),
		"$rows/$rows/$rows", 'every row is there');
	is($node->safe_psql('postgres', q{
		SELECT count(*) FROM pg_indexes WHERE schemaname = 'target' AND tablename = 'big'}),
		'4', 'the primary key and the three indexes');
	bg_query($a, 'DROP TABLE target.big; DELETE FROM sqlite_migration_history');
}
$a->quit;

# ------------------------------------------------ pg_terminate_backend mid-index
{
	my $t = $node->background_psql('postgres', on_error_stop => 0);
	my ($tpid) = bg_query($t, 'SELECT pg_backend_pid()');
	bg_start($t, "SELECT * FROM migrate_sqlite('$big', 'target')", 'term');
	my $seen = wait_activity($t, $tpid, qr/^migrate_sqlite: keys target\.big$/, 'term');
	ok(defined $seen, 'terminate: the index build is under way');
	is($node->safe_psql('postgres', "SELECT pg_terminate_backend($tpid)"), 't',
		'pg_terminate_backend');
	my $t0 = time();
	my $gone = 0;
	while (time() - $t0 < $max_wait)
	{
		$gone = $node->safe_psql('postgres',
			"SELECT count(*) FROM pg_stat_activity WHERE pid = $tpid") eq '0';
		last if $gone;
		usleep(50_000);
	}
	ok($gone, 'the backend is gone');
	eval { $t->quit; };
	is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server keeps running');
	is(leftovers('target'), '0/0/0/0/0',
		'after the terminate: nothing left behind');
}

# ------------------------------------------------ two files at the same time
{
	my $s1 = $node->background_psql('postgres', on_error_stop => 0);
	my $s2 = $node->background_psql('postgres', on_error_stop => 0);
	my $sql = q{SELECT string_agg(source_table || ':' || target_rows || ':' || status, ',' ORDER BY source_table)
		FROM migrate_sqlite('%s', '%s') WHERE target_table IS NOT NULL};
	bg_start($s1, sprintf($sql, $small[0], 'one'), 'm1');
	bg_start($s2, sprintf($sql, $small[1], 'two'), 'm2');
	my $timer = IPC::Run::timer($max_wait * 4);
	$timer->start;
	ok(pump_until($s1->{run}, $timer, \$s1->{stdout}, qr/done_m1/), 'first migration ends');
	ok(pump_until($s2->{run}, $timer, \$s2->{stdout}, qr/done_m2/), 'second migration ends');
	like($s1->{stdout}, qr/items:200001:migrated,tags:2:migrated/, 'first report');
	like($s2->{stdout}, qr/items:200002:migrated,tags:2:migrated/, 'second report');
	unlike($s1->{stderr} . $s2->{stderr}, qr/ERROR/, 'no error in either session');
	is($node->safe_psql('postgres', q{
		SELECT (SELECT count(*) FROM one.items) || '/' || (SELECT count(*) FROM two.items)}),
		'200001/200002', 'both tables complete');
	$s1->quit;
	$s2->quit;
}

# ------------------------------------------------ one file, two readers
{
	$node->safe_psql('postgres', qq{
		CREATE SERVER phases FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database '$big');
		CREATE SCHEMA f;
		IMPORT FOREIGN SCHEMA main LIMIT TO (big) FROM SERVER phases INTO f;});
	my $r1 = $node->background_psql('postgres', on_error_stop => 0);
	my $r2 = $node->background_psql('postgres', on_error_stop => 0);
	my $sql = q{SELECT count(*) || '/' || sum(k) || '/' || count(DISTINCT t) FROM f.big};
	bg_start($r1, $sql, 'r1');
	bg_start($r2, $sql, 'r2');
	my $timer = IPC::Run::timer($max_wait * 4);
	$timer->start;
	ok(pump_until($r1->{run}, $timer, \$r1->{stdout}, qr/done_r1/), 'first reader ends');
	ok(pump_until($r2->{run}, $timer, \$r2->{stdout}, qr/done_r2/), 'second reader ends');
	my ($o1) = $r1->{stdout} =~ /^(\d+\/\d+\/\d+)$/m;
	my ($o2) = $r2->{stdout} =~ /^(\d+\/\d+\/\d+)$/m;
	ok(defined $o1 && $o1 =~ /^$rows\//, "first reader read every row ($o1)");
	is($o2, $o1, 'both readers read the same rows');
	unlike($r1->{stderr} . $r2->{stderr}, qr/ERROR/, 'no error in either reader');
	$r1->quit;
	$r2->quit;
}

# ------------------------------------------------ locks of this backend kept
# A foreign table's read transaction holds SQLite's shared lock on the file
# until the PostgreSQL transaction ends.  A migration of the same file in
# the same transaction reads it through SQLite's own descriptors: closing a
# descriptor of its own would drop that lock (POSIX locks belong to the
# process), and a writer could then change the file under the open read.
{
	my $f = $small[0];
	$node->safe_psql('postgres', qq{
		CREATE SERVER lockcheck FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database '$f');
		CREATE SCHEMA lk;
		CREATE SCHEMA lkm;
		IMPORT FOREIGN SCHEMA main LIMIT TO (tags) FROM SERVER lockcheck INTO lk;});
	my $s = $node->background_psql('postgres', on_error_stop => 0);
	my ($out, $err) = bg_query($s, q{
		BEGIN;
		SELECT count(*) FROM lk.tags;
		SET client_min_messages = warning;
		SELECT count(*) FROM migrate_sqlite('} . $f . q{', 'lkm');});
	is($out, "2
3", 'a foreign table read, then a migration of the same file, in one transaction')
	  or diag($err);
	my ($rc, $wout, $werr) = (0, '', '');
	IPC::Run::run([ 'sqlite3', $f, '.timeout 0', q{INSERT INTO tags VALUES (3, 3, 'c')} ],
		'>', \$wout, '2>', \$werr) or $rc = $?;
	isnt($rc, 0, 'a writer is still locked out while the transaction is open');
	like($werr, qr/database is locked/, 'by the shared lock');
	bg_query($s, 'COMMIT');
	$rc = 0;
	IPC::Run::run([ 'sqlite3', $f, '.timeout 2000', q{INSERT INTO tags VALUES (3, 3, 'c')} ],
		'>', \$wout, '2>', \$werr) or $rc = $?;
	is($rc, 0, 'after COMMIT the writer proceeds') or diag($werr);
	$s->quit;
}

my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|TRAP:|PANIC/, 'no backend crashed');
$node->stop;
done_testing();
