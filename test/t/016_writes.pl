
# Copyright: part of sqlite_fdw_mig.
#
# Writes through an updatable foreign table against a live application
# (a sqlite3 process): the PostgreSQL transaction holds SQLite's write lock
# until it ends, and the application waits or gets "database is locked"; a
# cancel stops a write waiting for the lock at once; a terminated backend
# rolls its SQLite transaction back; a backend killed in the middle of a
# write transaction (crash restart) leaves a file SQLite recovers, without
# the uncommitted rows; in WAL mode the application keeps reading.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::BackgroundPsql;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time);
use MigTest;

my $dir = $PostgreSQL::Test::Utils::tmp_check;
my $db = "$dir/writes.db";
my $wal = "$dir/writes_wal.db";
unlink $db, $wal;
system_or_bail('sqlite3', $db,
	"CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('a'), ('b'), ('c');");
system_or_bail('sqlite3', $wal,
	"PRAGMA journal_mode = WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('a');");

# run sqlite3 on a file, as the application would; returns (exit code, output)
sub app
{
	my ($file, $sql) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'sqlite3', '-bail', $file ], '<', \$sql, '>', \$out, '2>', \$err);
	my $rc = $? >> 8;
	chomp($out);
	return ($rc, $out . $err);
}

my $node = PostgreSQL::Test::Cluster->new('writes');
$node->init;
# section 4 kills a backend: the server must come back
$node->append_conf('postgresql.conf', 'restart_after_crash = on');
$node->start;
$node->safe_psql('postgres', qq{
CREATE EXTENSION sqlite_fdw_mig;
CREATE SERVER rw FOREIGN DATA WRAPPER sqlite_fdw_mig
  OPTIONS (database '$db', updatable 'true', busy_timeout '60000');
CREATE FOREIGN TABLE t (id bigint, v text) SERVER rw;
CREATE SERVER rw_wal FOREIGN DATA WRAPPER sqlite_fdw_mig
  OPTIONS (database '$wal', updatable 'true');
CREATE FOREIGN TABLE t_wal (id bigint, v text) SERVER rw_wal OPTIONS (table 't');
});

# 1. the transaction holds the write lock: the application cannot write
# until COMMIT, then sees the row
{
	my $s = $node->background_psql('postgres');
	bg_query($s, "BEGIN; INSERT INTO t (v) VALUES ('from pg');");
	my ($rc, $out) = app($db, ".timeout 200\nINSERT INTO t (v) VALUES ('from app');\n");
	isnt($rc, 0, 'application write fails while the PostgreSQL transaction holds the lock');
	like($out, qr/database is locked/, '... with "database is locked"');
	($rc, $out) = app($db, "SELECT count(*) FROM t;\n");
	is($out, '3', 'application still reads the committed rows');
	bg_query($s, 'COMMIT;');
	($rc, $out) = app($db, ".timeout 2000\nINSERT INTO t (v) VALUES ('from app');\nSELECT group_concat(v, ',') FROM t;\n");
	is($rc, 0, 'application writes after COMMIT');
	is($out, 'a,b,c,from pg,from app', 'both rows are in the file');
	$s->quit;
}

# 2. a write waiting for the lock stops at once on cancel, and the session
# goes on
{
	my $in = "BEGIN IMMEDIATE;\nINSERT INTO t (v) VALUES ('held');\n.print locked\n";
	my $out = '';
	my $h = IPC::Run::start([ 'sqlite3', $db ], '<', \$in, '>', \$out, '2>', \$out);
	$h->pump until $out =~ /locked/;
	my $s = $node->background_psql('postgres', on_error_stop => 0);
	my $pid = $s->query_safe('SELECT pg_backend_pid()');
	bg_start($s, "INSERT INTO t (v) VALUES ('waits')", 'w');
	ok( $node->poll_query_until('postgres',
			"SELECT wait_event_type = 'Extension' FROM pg_stat_activity WHERE pid = $pid"),
		'the write waits in the busy handler');
	my $t0 = time();
	$node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)");
	$s->{run}->pump until $s->{stdout} =~ /done_w/;
	my $elapsed = time() - $t0;
	like($s->{stderr}, qr/canceling statement due to user request/, 'the write is canceled');
	cmp_ok($elapsed, '<', 10, 'at once, not after busy_timeout');
	$in .= "ROLLBACK;\n.quit\n";
	$h->finish;
	$s->{stdout} = '';
	my ($o) = bg_query($s, 'SELECT count(*) FROM t');
	is($o, '5', 'the session goes on; nothing was written');
	$s->quit;
}

# 3. a terminated backend rolls its SQLite transaction back and releases the
# lock
{
	my $s = $node->background_psql('postgres', on_error_stop => 0);
	my $pid = $s->query_safe('SELECT pg_backend_pid()');
	bg_query($s, "BEGIN; INSERT INTO t (v) VALUES ('terminated');");
	$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
	ok($node->poll_query_until('postgres',
			"SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $pid"),
		'the backend exits');
	my ($rc, $out) = app($db, ".timeout 5000\nINSERT INTO t (v) VALUES ('after terminate');\nSELECT count(*) FROM t WHERE v = 'terminated';\n");
	is($rc, 0, 'the application can write again');
	is($out, '0', 'the terminated transaction left no row');
	ok(!-e "$db-journal", 'no journal is left behind');
	$s->quit;
}

# 4. a backend killed in the middle of a write transaction: the server
# restarts, and the file holds exactly the committed rows
{
	my $s = $node->background_psql('postgres', on_error_stop => 0);
	my $pid = $s->query_safe('SELECT pg_backend_pid()');
	# enough rows that SQLite writes pages and its journal before COMMIT
	bg_query($s, "BEGIN; INSERT INTO t (v) SELECT repeat('x', 500) FROM generate_series(1, 20000);");
	kill 'KILL', $pid;
	eval { $s->quit; };
	ok($node->poll_query_until('postgres', 'SELECT true'), 'the server restarted');
	ok(-e "$db-journal", 'the killed transaction left a hot journal');
	my ($rc, $out) = app($db, ".timeout 5000\nPRAGMA integrity_check;\nSELECT count(*) FROM t;\n");
	is($out, "ok\n6", 'the file is intact with the committed rows only');
	is($node->safe_psql('postgres', 'SELECT count(*) FROM t'), '6',
		'PostgreSQL reads the same');
	$node->safe_psql('postgres', "INSERT INTO t (v) VALUES ('after crash')");
	is($node->safe_psql('postgres', 'SELECT count(*) FROM t'), '7', 'and writes again');
}

# 5. WAL mode: the application reads while a PostgreSQL transaction writes
{
	my $s = $node->background_psql('postgres');
	bg_query($s, "BEGIN; INSERT INTO t_wal (v) VALUES ('pending');");
	my ($rc, $out) = app($wal, ".timeout 200\nSELECT group_concat(v, ',') FROM t;\n");
	is($rc, 0, 'WAL: the application reads during the write transaction');
	is($out, 'a', 'WAL: it sees the last committed state');
	bg_query($s, 'COMMIT;');
	($rc, $out) = app($wal, "SELECT group_concat(v, ',') FROM t;\n");
	is($out, 'a,pending', 'WAL: the row is there after COMMIT');
	$s->quit;
}

$node->stop;
done_testing();
