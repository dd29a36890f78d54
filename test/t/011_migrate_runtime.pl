# Copyright: part of sqlite_fdw_mig.
#
# migrate_sqlite() while it runs: the copy of a big table shows in
# pg_stat_progress_copy and pg_stat_activity; pg_cancel_backend and
# statement_timeout stop it mid-way and leave nothing behind; a lock table
# too small for the migration stops it early with 53200 and a hint, and the
# same file migrates in groups with "tables"; two migrations of one file in
# one transaction both succeed.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MigTest;
use IPC::Run;
use Time::HiRes qw(time usleep);

# Generous bound for "stops at once" (seconds of wall clock).
my $max_wait = 30;

# ---------------------------------------------------------------- SQLite files
# big.db: one table whose copy takes a few seconds, and a few small ones.
my $rows = 1_000_000;
my $big = "$PostgreSQL::Test::Utils::tmp_check/big.db";
unlink $big;
system_or_bail('sqlite3', $big, <<"EOSQL");
CREATE TABLE big (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, m INTEGER, r REAL,
                  t TEXT NOT NULL, u TEXT);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $rows)
INSERT INTO big SELECT x, (x * 7) % 1000, x * 3, x / 8.0,
                       'row ' || x || ' ' || hex(randomblob(12)), printf('%08d', x) FROM c;
CREATE TABLE colors (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
INSERT INTO colors VALUES (1, 'red'), (2, 'green'), (3, 'blue');
CREATE TABLE sizes (code TEXT PRIMARY KEY, rank INTEGER);
INSERT INTO sizes VALUES ('S', 1), ('M', 2), ('L', 3);
CREATE TABLE notes (id INTEGER PRIMARY KEY, color_id INTEGER REFERENCES colors (id), body TEXT);
INSERT INTO notes VALUES (1, 1, 'first'), (2, 3, 'second');
EOSQL
ok(-s $big, 'big SQLite file created');

# many.db: 80 small tables, too many for a tiny lock table.
my $many = "$PostgreSQL::Test::Utils::tmp_check/many.db";
unlink $many;
my $many_sql = '';
for my $i (1 .. 80)
{
	$many_sql .= "CREATE TABLE t$i (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
	  . "INSERT INTO t$i VALUES (1, 'a$i'), (2, 'b$i');\n";
}
system_or_bail('sqlite3', $many, $many_sql);
ok(-s $many, 'SQLite file with 80 tables created');

# small.db: a few related tables.
my $small = "$PostgreSQL::Test::Utils::tmp_check/small.db";
unlink $small;
system_or_bail('sqlite3', $small, <<'EOSQL');
CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE);
INSERT INTO items (name) VALUES ('one'), ('two'), ('three');
CREATE TABLE tags (id INTEGER PRIMARY KEY, item_id INTEGER REFERENCES items (id), tag TEXT);
INSERT INTO tags VALUES (1, 1, 'a'), (2, 2, 'b');
EOSQL
ok(-s $small, 'small SQLite file created');

# ---------------------------------------------------------------- cluster
my $node = PostgreSQL::Test::Cluster->new('migrate_runtime');
$node->init;
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION sqlite_fdw_mig;
CREATE SCHEMA cancelled;
CREATE SCHEMA timed_out;
CREATE SCHEMA s1;
CREATE SCHEMA s2;
});


# What a migration into $schema may leave behind on $n: tables in the
# schema, staging servers, foreign tables, history rows.
sub leftovers
{
	my ($n, $schema) = @_;
	return $n->safe_psql('postgres', qq{
		SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = '$schema'::regnamespace)
		  || '/' || (SELECT count(*) FROM pg_foreign_server WHERE srvname LIKE 'sqlite_mig_%')
		  || '/' || (SELECT count(*) FROM pg_foreign_table)
		  || '/' || (SELECT count(*) FROM sqlite_migration_history)});
}


# Wait until $pid (running in $session, started with $tag) has a
# pg_stat_progress_copy row with tuples processed; false if the migration
# ends first or nothing shows within $max_wait seconds.
sub wait_copying
{
	my ($session, $pid, $tag) = @_;
	my $t0 = time();
	while (time() - $t0 < $max_wait)
	{
		return 1
		  if $node->safe_psql('postgres', qq{
			SELECT count(*) FROM pg_stat_progress_copy
			 WHERE pid = $pid AND tuples_processed > 0}) eq '1';
		$session->{run}->pump_nb();
		return 0 if $session->{stdout} =~ /done_$tag/;
		usleep(20_000);
	}
	return 0;
}

# ------------------------------------------------ (1) progress
{
	my $a = $node->background_psql('postgres', on_error_stop => 0);
	my $b = $node->background_psql('postgres', on_error_stop => 0);
	my ($pid) = bg_query($a, 'SELECT pg_backend_pid()');
	like($pid, qr/^\d+$/, 'session A pid');

	bg_start($a, qq{SELECT string_agg(source_table || ':' || source_rows || ':' || target_rows || ':' || status, ',' ORDER BY source_table)
		FROM migrate_sqlite('$big', 'public')}, 'progress');

	# Poll from session B until A ends, keeping every sample seen.
	my @samples;
	my $t0 = time();
	while (time() - $t0 < 120)
	{
		my ($row) = bg_query($b, qq{
			SELECT p.relid || '|' || p.command || '|' || p.type || '|' || p.tuples_processed || '|' || a.query
			  FROM pg_stat_progress_copy p JOIN pg_stat_activity a USING (pid)
			 WHERE p.pid = $pid});
		push @samples, [ split /\|/, $row, 5 ] if $row ne '';
		$a->{run}->pump_nb();
		last if $a->{stdout} =~ /done_progress/;
		usleep(20_000);
	}
	my $timer = IPC::Run::timer($max_wait * 4);
	$timer->start;
	ok(pump_until($a->{run}, $timer, \$a->{stdout}, qr/done_progress/),
		'session A: the migration ends');
	unlike($a->{stderr}, qr/ERROR/, 'session A: no error') or diag($a->{stderr});
	like($a->{stderr}, qr/copied $rows rows into public\.big in/,
		'session A: NOTICE for the big copy');
	my ($report) = $a->{stdout} =~ /^(.*)\ndone_progress/m;
	is($report,
		"big:$rows:$rows:migrated,colors:3:3:migrated,notes:2:2:migrated,sizes:3:3:migrated",
		'the report: source_rows = target_rows for every table');

	my $big_oid = $node->safe_psql('postgres', q{SELECT 'public.big'::regclass::oid});
	my @big_samples = grep { $_->[0] eq $big_oid } @samples;
	diag(scalar(@samples) . ' progress samples, ' . scalar(@big_samples) . ' for public.big');
	ok(scalar(@big_samples) > 0,
		'pg_stat_progress_copy had a row whose relid is the new public.big');
	ok(!grep({ $_->[1] ne 'COPY FROM' } @big_samples), 'its command is COPY FROM');
	ok(!grep({ $_->[2] ne 'FILE' } @big_samples), 'its type is FILE');
	my @tuples = map { $_->[3] } @big_samples;
	ok(scalar(grep { $_ > 0 } @tuples), 'tuples_processed seen above 0')
	  or diag("tuples_processed: @tuples");
	my $monotonic = 1;
	for my $i (1 .. $#tuples)
	{
		$monotonic = 0 if $tuples[$i] < $tuples[ $i - 1 ];
	}
	ok($monotonic, 'tuples_processed never goes down') or diag("tuples_processed: @tuples");
	ok(!grep({ $_ > $rows } @tuples), 'tuples_processed never above the row count');
	ok(scalar(@big_samples)
		  && !grep({ $_->[4] !~ /^migrate_sqlite: / } @big_samples),
		q{pg_stat_activity.query starts with 'migrate_sqlite:' during the copy});
	ok(scalar(grep { $_->[4] eq 'migrate_sqlite: copy public.big' } @big_samples),
		q{pg_stat_activity.query shows 'migrate_sqlite: copy public.big'})
	  or diag(join("\n", map { $_->[4] } @big_samples));

	is($node->safe_psql('postgres', q{SELECT count(*) || '/' || sum(n) FROM public.big}),
		"$rows/" . $node->safe_psql('postgres',
			qq{SELECT sum((x * 7) % 1000) FROM generate_series(1, $rows) x}),
		'public.big has every row');
	is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_progress_copy}),
		'0', 'no progress row left after the migration');
	is($node->safe_psql('postgres', q{
		SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class
		 WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'}),
		'big,colors,notes,sizes,sqlite_migration_history',
		'the four tables were created (next to the history table)');
	like(leftovers($node, 'public'), qr{^\d+/0/0/1$},
		'no staging server or foreign table left; one history row');

	$a->quit;
	$b->quit;
}

# ------------------------------------------------ (2) pg_cancel_backend mid-copy
{
	my $before = leftovers($node, 'cancelled');
	is($before, '0/0/0/1', 'before the cancel');

	my $a = $node->background_psql('postgres', on_error_stop => 0);
	my ($pid) = bg_query($a, 'SELECT pg_backend_pid()');
	bg_start($a, "SELECT * FROM migrate_sqlite('$big', 'cancelled')", 'cancel');
	ok(wait_copying($a, $pid, 'cancel'), 'the copy into cancelled shows in pg_stat_progress_copy');
	like($node->safe_psql('postgres', qq{SELECT query FROM pg_stat_activity WHERE pid = $pid}),
		qr/^migrate_sqlite: copy cancelled\.big$/, 'pg_stat_activity shows the copy step');

	my $t0 = time();
	is($node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)"), 't',
		'pg_cancel_backend');
	my $timer = IPC::Run::timer($max_wait);
	$timer->start;
	my $got = pump_until($a->{run}, $timer, \$a->{stderr},
		qr/canceling statement due to user request/);
	my $elapsed = time() - $t0;
	ok($got, 'the migration ends with "canceling statement due to user request"');
	cmp_ok($elapsed, '<', $max_wait, "cancel took ${elapsed}s");
	$timer = IPC::Run::timer($max_wait);
	$timer->start;
	pump_until($a->{run}, $timer, \$a->{stdout}, qr/done_cancel/);
	$a->{stdout} = '';
	unlike($a->{stderr}, qr/could not read SQLite/,
		'the cancel is not reported as a SQLite read error');

	is(leftovers($node, 'cancelled'), $before,
		'after the cancel: no table, staging server, foreign table or history row');
	my ($out, $err) = bg_query($a, 'SELECT count(*) FROM colors');
	is($out, '3', 'session A is usable after the cancel');
	is($err, '', 'session A: no error after the cancel');
	$a->quit;
}

# ------------------------------------------------ (3) statement_timeout
{
	my $before = leftovers($node, 'timed_out');
	my $t0 = time();
	my ($ret, $out, $err) = $node->psql('postgres', qq{
		SET statement_timeout = '1s';
		SELECT * FROM migrate_sqlite('$big', 'timed_out');});
	my $elapsed = time() - $t0;
	isnt($ret, 0, 'the migration under statement_timeout = 1s fails');
	like($err, qr/canceling statement due to statement timeout/,
		'with the statement timeout message');
	cmp_ok($elapsed, '<', $max_wait, "the timeout stopped it (${elapsed}s)");
	is(leftovers($node, 'timed_out'), $before, 'after the timeout: nothing left behind');
}

# ------------------------------------------------ (5) two migrations in one transaction
{
	my ($ret, $out, $err) = $node->psql('postgres', qq{
		SET client_min_messages = warning;
		BEGIN;
		SELECT string_agg(source_table || ':' || target_rows, ',' ORDER BY 1) FROM migrate_sqlite('$small', 's1');
		SELECT string_agg(source_table || ':' || target_rows, ',' ORDER BY 1) FROM migrate_sqlite('$small', 's2');
		COMMIT;}, on_error_stop => 1);
	is($ret, 0, 'two migrations of one file in one transaction') or diag($err);
	is($out, "items:3,tags:2\nitems:3,tags:2", 'both reports');
	is($err, '', 'no error or warning');
	is($node->safe_psql('postgres', q{
		SELECT (SELECT count(*) FROM s1.items) || ',' || (SELECT count(*) FROM s1.tags) || ',' ||
		       (SELECT count(*) FROM s2.items) || ',' || (SELECT count(*) FROM s2.tags)}),
		'3,2,3,2', 'both schemas have the rows');
	is($node->safe_psql('postgres',
			q{SELECT string_agg(target_schema, ',' ORDER BY target_schema) FROM sqlite_migration_history}),
		'public,s1,s2', 'the history has both runs');
	is($node->safe_psql('postgres', q{
		SELECT (SELECT count(*) FROM pg_foreign_server) || '/' || (SELECT count(*) FROM pg_foreign_table)}),
		'0/0', 'no staging server or foreign table left');
}

# ------------------------------------------------ log checks
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal/, 'no backend terminated by a signal');
unlike($log, qr/server process .* was terminated/, 'no server process was terminated abnormally');
unlike($log, qr/all server processes terminated; reinitializing/, 'no crash recovery cycle');
unlike($log, qr/PANIC/, 'no PANIC in the log');
$node->stop;

# ------------------------------------------------ (4) lock capacity
{
	my $small_node = PostgreSQL::Test::Cluster->new('few_locks');
	$small_node->init;
	$small_node->append_conf('postgresql.conf',
		"max_locks_per_transaction = 10\nmax_connections = 10\n");
	$small_node->start;
	$small_node->safe_psql('postgres', q{
		CREATE EXTENSION sqlite_fdw_mig;
		CREATE SCHEMA m;});
	is($small_node->safe_psql('postgres', 'SHOW max_locks_per_transaction'), '10',
		'second node: max_locks_per_transaction = 10');

	my $before = leftovers($small_node, 'm');
	my $t0 = time();
	my ($ret, $out, $err) = $small_node->psql('postgres',
		"\\set VERBOSITY verbose\nSELECT * FROM migrate_sqlite('$many', 'm');");
	my $elapsed = time() - $t0;
	isnt($ret, 0, '80 tables with a tiny lock table: the migration fails');
	like($err,
		qr/ERROR:  53200: this migration needs about (\d+) locks, more than the lock table can safely give one transaction/,
		'with 53200 and the lock estimate')
	  or diag($err);
	my ($needed) = $err =~ /needs about (\d+) locks/;
	cmp_ok($needed // 0, '>=', 80 * 6, "the estimate ($needed) counts every table");
	like($err, qr/HINT:  .*max_locks_per_transaction/, 'the hint names max_locks_per_transaction');
	unlike($err, qr/out of shared memory/, 'it fails before running out of shared memory');
	cmp_ok($elapsed, '<', $max_wait, "it fails early (${elapsed}s)");
	is(leftovers($small_node, 'm'), $before, 'the refused migration left nothing behind');

	($ret, $out, $err) = $small_node->psql('postgres', qq{
		SET client_min_messages = warning;
		SELECT string_agg(source_table || ':' || source_rows || ':' || target_rows || ':' || status, ',' ORDER BY 1)
		  FROM migrate_sqlite('$many', 'm', tables => ARRAY['t1', 't2', 't40']);});
	is($ret, 0, 'the same file migrates with tables naming a few') or diag($err);
	is($out, 't1:2:2:migrated,t2:2:2:migrated,t40:2:2:migrated', 'the report of the group');
	is($small_node->safe_psql('postgres', q{
		SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class
		 WHERE relnamespace = 'm'::regnamespace AND relkind = 'r'}),
		't1,t2,t40', 'only the named tables were created');
	is($small_node->safe_psql('postgres', q{
		SELECT (SELECT count(*) FROM pg_foreign_server) || '/' || (SELECT count(*) FROM sqlite_migration_history)}),
		'0/1', 'no staging server left; one history row');

	$log = slurp_file($small_node->logfile);
	unlike($log, qr/terminated by signal|PANIC/, 'second node: no crash');
	$small_node->stop;
}

done_testing();
