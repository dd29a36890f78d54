
# Copyright: part of sqlite_fdw_mig.
#
# File descriptors: one backend that runs hundreds of failing foreign scans
# (top level, in transactions, in subtransactions, on two servers) must keep
# at most one open descriptor per SQLite file, and must not leak others.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MigTest;
use Cwd qw(abs_path);
use IPC::Run;

if (!-d '/proc/self/fd')
{
	plan skip_all => '/proc/<pid>/fd is not available';
}

# ---------------------------------------------------------------- SQLite files
my $dir = $PostgreSQL::Test::Utils::tmp_check;
my $db1 = "$dir/fds_one.db";
my $db2 = "$dir/fds_two.db";
my $db3 = "$dir/fds_bad.db";    # not a SQLite file: every open fails
unlink $db1, $db2, $db3;

# "x" holds text where the foreign table declares integer: every scan that
# reads x fails in the conversion, after the SQLite statement was started.
system_or_bail('sqlite3', $db1, <<'EOSQL');
CREATE TABLE t (id INTEGER PRIMARY KEY, x);
INSERT INTO t VALUES (1, 'abc');
CREATE TABLE good (id INTEGER PRIMARY KEY, name TEXT);
INSERT INTO good VALUES (1, 'one'), (2, 'two');
EOSQL
system_or_bail('sqlite3', $db2, <<'EOSQL');
CREATE TABLE u (id INTEGER PRIMARY KEY, d);
INSERT INTO u VALUES (1, 'not a date'), (2, 'still not a date');
EOSQL
append_to_file($db3, "this is not a SQLite database\n" x 200);
ok(-s $db1 && -s $db2 && -s $db3, 'SQLite files created');

# ---------------------------------------------------------------- cluster
my $node = PostgreSQL::Test::Cluster->new('fds');
$node->init;
$node->start;

$node->safe_psql('postgres', qq{
CREATE EXTENSION sqlite_fdw_mig;
CREATE SERVER s1 FOREIGN DATA WRAPPER sqlite_fdw_mig
  OPTIONS (database '$db1', busy_timeout '5000');
CREATE SERVER s2 FOREIGN DATA WRAPPER sqlite_fdw_mig
  OPTIONS (database '$db2', busy_timeout '5000');
CREATE SERVER s3 FOREIGN DATA WRAPPER sqlite_fdw_mig
  OPTIONS (database '$db3');
CREATE FOREIGN TABLE t_ft (id bigint, x integer) SERVER s1 OPTIONS (table 't');
CREATE FOREIGN TABLE good_ft (id bigint, name text) SERVER s1 OPTIONS (table 'good');
CREATE FOREIGN TABLE u_ft (id bigint, d date) SERVER s2 OPTIONS (table 'u');
CREATE FOREIGN TABLE bad_ft (id bigint) SERVER s3 OPTIONS (table 'whatever');
});

# Sanity: the failing queries fail, the good one works.
my ($rc, $out, $err) = $node->psql('postgres', 'SELECT * FROM t_ft');
isnt($rc, 0, 'SELECT * FROM t_ft fails');
like($err, qr/ERROR/, 'conversion error on s1');
note "s1 error: $err";
($rc, $out, $err) = $node->psql('postgres', 'SELECT * FROM u_ft');
isnt($rc, 0, 'SELECT * FROM u_ft fails');
like($err, qr/ERROR/, 'conversion error on s2');
note "s2 error: $err";
($rc, $out, $err) = $node->psql('postgres', 'SELECT * FROM bad_ft');
isnt($rc, 0, 'SELECT * FROM bad_ft fails');
like($err, qr/ERROR/, 'open error on s3');
note "s3 error: $err";
is($node->safe_psql('postgres', 'SELECT count(*) FROM good_ft'),
	'2', 'good foreign table works');

# ---------------------------------------------------------------- helpers



# Map of fd number => link target of process $pid.
sub fd_targets
{
	my ($pid) = @_;
	my %fds;
	opendir(my $dh, "/proc/$pid/fd") or die "opendir /proc/$pid/fd: $!";
	foreach my $fd (readdir $dh)
	{
		next unless $fd =~ /^\d+$/;
		my $target = readlink("/proc/$pid/fd/$fd");
		next unless defined $target;
		$fds{$fd} = $target;
	}
	closedir $dh;
	return \%fds;
}

# Number of descriptors of $pid pointing to exactly $path.
sub count_links
{
	my ($fds, $path) = @_;
	my @paths = ($path);
	my $real = abs_path($path);
	push @paths, $real if defined $real && $real ne $path;
	my $n = 0;
	foreach my $t (values %$fds)
	{
		$n++ if grep { $t eq $_ || $t eq "$_ (deleted)" } @paths;
	}
	return $n;
}

# A batch of statements: $n failing top-level queries, $n failing queries in
# a rolled back transaction, $n failing queries in subtransactions, and $n
# failing queries on the second server.
sub workload
{
	my (%n) = @_;
	my $sql = '';
	$sql .= "SELECT * FROM t_ft;\n" x $n{top};
	$sql .= "BEGIN;\nSELECT count(*) FROM good_ft;\nSELECT * FROM t_ft;\nROLLBACK;\n"
	  x $n{xact};
	$sql .= "BEGIN;\nSELECT count(*) FROM good_ft;\n";
	$sql .=
	  "SAVEPOINT sp;\nSELECT * FROM t_ft;\nROLLBACK TO SAVEPOINT sp;\nSELECT count(*) FROM good_ft;\n"
	  x $n{sub};
	$sql .= "COMMIT;\n";
	$sql .= "SELECT * FROM u_ft;\n" x $n{other};
	# a failing scan on each server while the other one is open, in one query
	$sql .= "SELECT * FROM good_ft, u_ft;\n" x $n{other};
	# a server whose file never opens
	$sql .= "SELECT * FROM bad_ft;\n" x $n{bad};
	return $sql;
}

# ---------------------------------------------------------------- the session
my $session = $node->background_psql('postgres', on_error_stop => 0);
my ($pid) = bg_query($session, 'SELECT pg_backend_pid()');
like($pid, qr/^\d+$/, "backend pid $pid");

# Warm up: open both handles, load catalogs, then take the baseline count.
($out, $err) = bg_quiet($session,
	workload(top => 3, xact => 3, sub => 3, other => 3, bad => 3));
like($err, qr/ERROR/, 'warm-up workload raises errors');
my $before = fd_targets($pid);
my $n_before = scalar keys %$before;
note "descriptors after warm-up: $n_before";

($out, $err) = bg_quiet($session,
	workload(top => 200, xact => 50, sub => 50, other => 50, bad => 50));
my $n_errors = () = $err =~ /ERROR:/g;
# 200 + 50 + 50 on s1, 50 + 50 on s2, 50 on s3
is($n_errors, 450, "workload raised the expected errors ($n_errors)");
my $n_bad = () = $err =~ /could not open SQLite database "\Q$db3\E"/g;
is($n_bad, 50, 'every open of the bad file failed with an error');
unlike($err, qr/current transaction is aborted/,
	'no statement ran in an aborted transaction (ROLLBACK TO worked)');
my $err_good = join("\n", grep { !/\Q$db3\E/ } split /\n/, $err);
unlike($err_good, qr/could not open|too many open files/i,
	'no error opening the good files during the workload');

# Read the descriptors while the session is still open.
my $after = fd_targets($pid);
my $n_after = scalar keys %$after;
note "descriptors after workload: $n_after";
note "  $_ -> $after->{$_}" foreach sort { $a <=> $b } keys %$after;

is(count_links($after, $db3), 0, 'no descriptor left on the file that failed to open');
foreach my $db ($db1, $db2)
{
	cmp_ok(count_links($after, $db), '<=', 1, "at most one descriptor on $db");
	cmp_ok(count_links($after, "$db-journal"), '<=', 1,
		"at most one descriptor on $db-journal");
	cmp_ok(count_links($after, "$db-wal"), '<=', 1,
		"at most one descriptor on $db-wal");
	cmp_ok(count_links($after, "$db-shm"), '<=', 1,
		"at most one descriptor on $db-shm");
}
my @sqlite_links = grep { m{/fds_(one|two|bad)\.db} } values %$after;
cmp_ok(scalar(@sqlite_links), '<=', 2,
	'at most two descriptors on SQLite files in all (one per server)');
cmp_ok($n_after - $n_before, '<=', 5,
	"no descriptor leak ($n_before before, $n_after after 450 failing scans)");

# The backend is alive and still works.
($out, $err) = bg_query($session, 'SELECT 1');
is($out, '1', 'SELECT 1 in the same session');
is($err, '', 'no error for SELECT 1');
($out, $err) = bg_query($session, 'SELECT count(*) FROM good_ft');
is($out, '2', 'good foreign table in the same session');
is($err, '', 'no error for the good foreign table');
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE pid = $pid"),
	'1', 'backend is still in pg_stat_activity');

$session->quit;

my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal/, 'no backend terminated by a signal');
unlike($log, qr/server process .* was terminated/, 'no server process was terminated');
unlike($log, qr/WARNING:.*(leak|not closed)/i, 'no leak warnings in the log');

$node->stop;
done_testing();
