
# Copyright: part of sqlite_fdw_mig.
#
# Query cancel, statement_timeout and backend termination while a foreign
# scan is stuck inside a SQLite statement that never ends: the progress
# handler must stop SQLite at once, the backend must stay usable after a
# cancel, and nothing may crash.

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

# ---------------------------------------------------------------- SQLite file
my $db = "$PostgreSQL::Test::Utils::tmp_check/cancel.db";
unlink $db;
my $sqlite_sql = <<'EOSQL';
CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO items VALUES (1, 'one'), (2, 'two'), (3, 'three');
-- never ends and never returns a row
CREATE VIEW forever AS
  WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)
  SELECT x FROM c WHERE x < 0;
EOSQL
system_or_bail('sqlite3', $db, $sqlite_sql);
ok(-s $db, 'SQLite file created');

# ---------------------------------------------------------------- cluster
my $node = PostgreSQL::Test::Cluster->new('cancel');
$node->init;
$node->start;

$node->safe_psql('postgres', qq{
CREATE EXTENSION sqlite_fdw_mig;
CREATE SERVER s FOREIGN DATA WRAPPER sqlite_fdw_mig
  OPTIONS (database '$db', busy_timeout '5000');
CREATE FOREIGN TABLE forever (x bigint) SERVER s OPTIONS (table 'forever');
CREATE FOREIGN TABLE items (id bigint, name text) SERVER s OPTIONS (table 'items');
});

is($node->safe_psql('postgres', 'SELECT string_agg(name, \',\' ORDER BY id) FROM items'),
	'one,two,three', 'normal foreign-table query works');


# Poll until backend $pid is active in a query on "forever".
sub wait_active
{
	my ($pid) = @_;
	return $node->poll_query_until('postgres', qq{
		SELECT count(*) = 1 FROM pg_stat_activity
		 WHERE pid = $pid AND state = 'active' AND query LIKE '%forever%'});
}

# ------------------------------------------------ (a) statement_timeout
{
	my $session = $node->background_psql('postgres', on_error_stop => 0);
	my ($out, $err) = bg_query($session, q{SET statement_timeout = '1s'});
	is($err, '', 'SET statement_timeout');

	my $t0 = time();
	($out, $err) = bg_query($session, 'SELECT * FROM forever');
	my $elapsed = time() - $t0;
	like($err, qr/canceling statement due to statement timeout/,
		'statement_timeout cancels the endless SQLite scan');
	cmp_ok($elapsed, '<', $max_wait,
		"statement_timeout scan ends quickly (took ${elapsed}s)");

	($out, $err) = bg_query($session, 'RESET statement_timeout');
	is($err, '', 'RESET statement_timeout');
	($out, $err) = bg_query($session, 'SELECT 1');
	is($out, '1', 'same session: SELECT 1 after statement timeout');
	is($err, '', 'same session: no error for SELECT 1');
	($out, $err) = bg_query($session,
		q{SELECT string_agg(name, ',' ORDER BY id) FROM items});
	is($out, 'one,two,three',
		'same session: foreign-table query after statement timeout');
	is($err, '', 'same session: no error for foreign-table query');

	# The same handle can run the endless statement again and be stopped
	# again (the interrupt state of the SQLite handle was cleared).
	bg_query($session, q{SET statement_timeout = '500ms'});
	$t0 = time();
	($out, $err) = bg_query($session, 'SELECT count(*) FROM forever');
	$elapsed = time() - $t0;
	like($err, qr/canceling statement due to statement timeout/,
		'second statement timeout in the same session');
	cmp_ok($elapsed, '<', $max_wait, "second timeout is quick (${elapsed}s)");
	bg_query($session, 'RESET statement_timeout');
	($out, $err) = bg_query($session, 'SELECT count(*) FROM items');
	is($out, '3', 'foreign table still readable after second timeout');

	$session->quit;
}

# ------------------------------------------------ (b) pg_cancel_backend
{
	my $session = $node->background_psql('postgres', on_error_stop => 0);
	my ($pid) = bg_query($session, 'SELECT pg_backend_pid()');
	like($pid, qr/^\d+$/, 'background backend pid');

	# Warm the connection so that the scan below is inside sqlite3_step.
	my ($out, $err) = bg_query($session, 'SELECT count(*) FROM items');
	is($out, '3', 'background session reads the foreign table');

	$session->{stderr} = '';
	$session->query_until(qr/started/,
		"\\echo started\nSELECT * FROM forever;\n");
	ok(wait_active($pid), 'background scan is active in pg_stat_activity');
	usleep(300_000);    # let it get well into the SQLite loop

	my $t0 = time();
	is($node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)"),
		't', 'pg_cancel_backend');
	my $timer = IPC::Run::timer($max_wait);
	$timer->start;
	my $got = pump_until($session->{run}, $timer, \$session->{stderr},
		qr/canceling statement due to user request/);
	my $elapsed = time() - $t0;
	ok($got, 'background scan ends with "canceling statement due to user request"');
	cmp_ok($elapsed, '<', $max_wait, "cancel took ${elapsed}s");
	unlike($session->{stderr}, qr/could not read SQLite/,
		'cancel is not reported as a SQLite read error');

	($out, $err) = bg_query($session, 'SELECT 1');
	is($out, '1', 'same session: SELECT 1 after cancel');
	($out, $err) = bg_query($session,
		q{SELECT string_agg(name, ',' ORDER BY id) FROM items});
	is($out, 'one,two,three', 'same session: foreign-table query after cancel');
	is($err, '', 'same session: no error after cancel');
	is($node->safe_psql('postgres', 'SELECT count(*) FROM items'),
		'3', 'another session: foreign-table query after cancel');

	# Cancel inside an explicit transaction, then ROLLBACK and go on.
	bg_query($session, 'BEGIN');
	$session->{stderr} = '';
	$session->query_until(qr/started2/,
		"\\echo started2\nSELECT count(*) FROM forever;\n");
	ok(wait_active($pid), 'scan in a transaction is active');
	usleep(300_000);
	$node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)");
	$timer = IPC::Run::timer($max_wait);
	$timer->start;
	ok( pump_until(
			$session->{run}, $timer, \$session->{stderr},
			qr/canceling statement due to user request/),
		'cancel inside a transaction');
	($out, $err) = bg_query($session, 'ROLLBACK');
	($out, $err) = bg_query($session, 'SELECT count(*) FROM items');
	is($out, '3', 'foreign table readable after cancel + ROLLBACK');
	is($err, '', 'no error after cancel + ROLLBACK');

	$session->quit;
}

# ------------------------------------------------ (d) pg_terminate_backend
{
	my $session = $node->background_psql('postgres', on_error_stop => 0);
	my ($pid) = bg_query($session, 'SELECT pg_backend_pid()');
	like($pid, qr/^\d+$/, 'backend pid for termination test');

	$session->{stderr} = '';
	$session->query_until(qr/started/,
		"\\echo started\nSELECT * FROM forever;\n");
	ok(wait_active($pid), 'scan to terminate is active');
	usleep(300_000);

	my $t0 = time();
	is($node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)"),
		't', 'pg_terminate_backend');
	my $gone = 0;
	while (time() - $t0 < $max_wait)
	{
		my $n = $node->safe_psql('postgres',
			"SELECT count(*) FROM pg_stat_activity WHERE pid = $pid");
		if ($n eq '0' && !kill(0, $pid))
		{
			$gone = 1;
			last;
		}
		usleep(100_000);
	}
	my $elapsed = time() - $t0;
	ok($gone, "terminated backend exits (took ${elapsed}s)");
	cmp_ok($elapsed, '<', $max_wait, 'termination is quick');

	my $timer = IPC::Run::timer($max_wait);
	$timer->start;
	pump_until($session->{run}, $timer, \$session->{stderr},
		qr/terminating connection due to administrator command|server closed the connection/
	);
	like($session->{stderr},
		qr/terminating connection due to administrator command|server closed the connection/,
		'client sees the termination');
	eval { $session->quit; };

	is($node->safe_psql('postgres', 'SELECT 1'), '1',
		'server accepts queries after termination');
	is($node->safe_psql('postgres', 'SELECT count(*) FROM items'), '3',
		'foreign table readable after termination');
}

# ------------------------------------------------ log checks
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal/, 'no backend terminated by a signal');
unlike($log, qr/server process .* was terminated/, 'no server process was terminated abnormally');
unlike($log, qr/all server processes terminated; reinitializing/,
	'no crash recovery cycle');
unlike($log, qr/PANIC/, 'no PANIC in the log');
like($log, qr/terminating connection due to administrator command/,
	'log shows the termination');

$node->stop;
done_testing();
