
# Copyright: part of sqlite_fdw_mig.
#
# Locks held by another process on the SQLite file: the extension's busy
# handler waits on the latch up to the server's busy_timeout, then fails
# with 55P03 and a hint; a longer timeout rides the lock out; a cancel stops
# the wait at once.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time usleep);

my $db = "$PostgreSQL::Test::Utils::tmp_check/busy.db";
unlink $db;
system_or_bail('sqlite3', $db,
	'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, \'a\');');

my $node = PostgreSQL::Test::Cluster->new('busy');
$node->init;
$node->start;
$node->safe_psql('postgres', qq{
CREATE EXTENSION sqlite_fdw_mig;
CREATE SERVER short FOREIGN DATA WRAPPER sqlite_fdw_mig
  OPTIONS (database '$db', busy_timeout '300');
CREATE SERVER long FOREIGN DATA WRAPPER sqlite_fdw_mig
  OPTIONS (database '$db', busy_timeout '60000');
CREATE FOREIGN TABLE t_short (id bigint, v text) SERVER short OPTIONS (table 't');
CREATE FOREIGN TABLE t_long (id bigint, v text) SERVER long OPTIONS (table 't');
});

# Hold an EXCLUSIVE lock (no reader may enter in rollback-journal mode) from a
# sqlite3 process for $seconds, then commit.  Returns the harness.
sub hold_lock
{
	my ($seconds) = @_;
	my $in = "BEGIN EXCLUSIVE;\nINSERT INTO t VALUES (NULL, 'w');\n.print locked\n";
	my $out = '';
	my $h = IPC::Run::start([ 'sqlite3', $db ], '<', \$in, '>', \$out, '2>', \$out);
	my $deadline = time() + 30;
	$h->pump until $out =~ /locked/ || time() > $deadline;
	like($out, qr/locked/, 'writer holds an exclusive lock');
	return ($h, \$in, $seconds);
}

sub release_lock
{
	my ($h, $in) = @_;
	$$in .= "COMMIT;\n.quit\n";
	$h->finish;
}

# Start a psql reading t_long (60 s busy_timeout) and wait until it is waiting
# in the busy handler.  Returns the harness and refs to its stdout and stderr.
sub start_waiting_reader
{
	my ($out, $err) = ('', '');
	my $reader = IPC::Run::start(
		[ 'psql', '-XAtq', '-d', $node->connstr('postgres'), '-c', 'SELECT count(*) FROM t_long' ],
		'>', \$out, '2>', \$err);
	ok($node->poll_query_until('postgres',
			q{SELECT count(*) = 1 FROM pg_stat_activity WHERE query LIKE '%t_long%' AND state = 'active' AND pid <> pg_backend_pid()}),
		'reader is waiting');
	return ($reader, \$out, \$err);
}

# a short timeout gives up with a clear error
{
	my ($h, $in) = hold_lock();
	my $t0 = time();
	my ($ret, $out, $err) = $node->psql('postgres', 'SELECT count(*) FROM t_short');
	my $elapsed = time() - $t0;
	isnt($ret, 0, 'read fails while the file is locked');
	like($err, qr/could not (open|read) SQLite database ".*busy\.db"/, 'error names the database');
	like($err, qr/busy_timeout/, 'hint names busy_timeout');
	cmp_ok($elapsed, '<', 30, 'gave up without waiting long');
	release_lock($h, $in);
}

# a long timeout waits for the lock and then reads the committed row
{
	my ($h, $in) = hold_lock();
	my ($reader, $out, $err) = start_waiting_reader();
	usleep(500_000);
	release_lock($h, $in);
	$reader->finish;
	is($$out, "3\n", 'reader waited for the writer and sees its row');
	is($$err, '', 'no error');
}

# a cancel stops the wait at once
{
	my ($h, $in) = hold_lock();
	my ($reader, $out, $err) = start_waiting_reader();
	my $t0 = time();
	$node->safe_psql('postgres',
		q{SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%t_long%' AND pid <> pg_backend_pid()});
	$reader->finish;
	my $elapsed = time() - $t0;
	like($$err, qr/canceling statement due to user request/, 'the wait was canceled');
	cmp_ok($elapsed, '<', 30, 'cancel took effect without waiting for the lock');
	release_lock($h, $in);
}

is($node->safe_psql('postgres', 'SELECT count(*) FROM t_short'), '4', 'reads work after the locks');
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal/, 'no backend crashed');

$node->stop;
done_testing();
