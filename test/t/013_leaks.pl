
# Copyright: part of sqlite_fdw_mig.
#
# Leaks: one backend runs 1,100 migrations that fail (a value mismatch found by
# the analysis, an existing target table, a file that is not SQLite) or that
# succeed and are rolled back, in rollback-journal and WAL files, plus failing
# foreign scans. Afterwards the backend must hold the same descriptors, its
# private memory must not have grown with the number of calls, no snapshot
# copy may remain in pgsql_tmp, and no table, server or user mapping may
# remain.


use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MigTest;
use IPC::Run;

if (!-r '/proc/self/status' || !-d '/proc/self/fd')
{
	plan skip_all => '/proc/<pid>/status or /proc/<pid>/fd is not available';
}

my $dir = $PostgreSQL::Test::Utils::tmp_check;
my $journal = "$dir/leak_journal.db";    # rollback journal: a snapshot per call
my $wal = "$dir/leak_wal.db";            # WAL: read in place
my $good = "$dir/leak_good.db";
my $notdb = "$dir/leak_not_sqlite.db";
unlink $journal, $wal, $good, $notdb;

my $tables = <<'EOSQL';
CREATE TABLE a (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, t TEXT, d DATETIME);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2000)
INSERT INTO a SELECT i, i * 7, 'row ' || i, '2024-01-02 03:04:05' FROM c;
CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a (id), v REAL);
INSERT INTO b SELECT id, id, id / 3.0 FROM a;
CREATE INDEX b_a ON b (a_id);
EOSQL
# The bad files: one text value in an INTEGER column, at the end of the table.
system_or_bail('sqlite3', $journal,
	$tables . "INSERT INTO a VALUES (5000, 'many', 'x', NULL);\n");
system_or_bail('sqlite3', $wal,
	"PRAGMA journal_mode = wal;\n"
	  . $tables
	  . "INSERT INTO a VALUES (5000, 'many', 'x', NULL);\n");
system_or_bail('sqlite3', $good, $tables);
append_to_file($notdb, "not a database\n" x 300);

my $node = PostgreSQL::Test::Cluster->new('leaks');
$node->init;
$node->start;
$node->safe_psql('postgres', qq{
CREATE EXTENSION sqlite_fdw_mig;
CREATE SCHEMA taken;
CREATE SCHEMA m;
CREATE SCHEMA r;
CREATE TABLE taken.a (x int);
CREATE SERVER s FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database '$journal');
CREATE FOREIGN TABLE a_ft (id bigint, n integer) SERVER s OPTIONS (table 'a');
});

# Sanity: each kind of call fails (or succeeds) as the workload expects.
my ($rc, $out, $err) = $node->psql('postgres',
	"SELECT count(*) FROM migrate_sqlite('$journal', 'm')");
isnt($rc, 0, 'journal file with a mismatch fails');
like($err, qr/ERROR:.*\n(?s:.*)many/, 'the error shows the value');
note "journal error: $err";
($rc, $out, $err) = $node->psql('postgres',
	"SELECT count(*) FROM migrate_sqlite('$wal', 'm')");
isnt($rc, 0, 'WAL file with a mismatch fails');
($rc, $out, $err) = $node->psql('postgres',
	"SELECT count(*) FROM migrate_sqlite('$good', 'taken')");
isnt($rc, 0, 'existing target table fails');
like($err, qr/already exists/, 'the error says the table exists');
($rc, $out, $err) = $node->psql('postgres',
	"SELECT count(*) FROM migrate_sqlite('$notdb', 'm')");
isnt($rc, 0, 'a file that is not SQLite fails');
is( $node->safe_psql('postgres',
		"BEGIN; SELECT count(*) FROM migrate_sqlite('$good', 'r'); ROLLBACK;"),
	'3', 'the good file migrates (2 tables and a summary row; rolled back)');

my $baseline_sql = q{
SELECT (SELECT count(*) FROM pg_class WHERE relnamespace <> 'pg_catalog'::regnamespace
          AND relnamespace <> 'information_schema'::regnamespace
          AND relnamespace::regnamespace::text NOT LIKE 'pg_toast%'
          AND relnamespace::regnamespace::text NOT LIKE 'pg_temp%')
    || '/' || (SELECT count(*) FROM pg_foreign_server)
    || '/' || (SELECT count(*) FROM pg_user_mappings)
    || '/' || (SELECT count(*) FROM pg_namespace)};
my $objects_before = $node->safe_psql('postgres', $baseline_sql);

# ---------------------------------------------------------------- helpers


# Private memory (RssAnon) of $pid in kB.
sub rss_anon_kb
{
	my ($pid) = @_;
	open(my $fh, '<', "/proc/$pid/status") or die "open /proc/$pid/status: $!";
	while (<$fh>)
	{
		return $1 if /^RssAnon:\s+(\d+)\s+kB/;
	}
	die "no RssAnon in /proc/$pid/status";
}

sub fd_count
{
	my ($pid) = @_;
	opendir(my $dh, "/proc/$pid/fd") or die "opendir /proc/$pid/fd: $!";
	my @fds = grep { /^\d+$/ } readdir $dh;
	closedir $dh;
	# PostgreSQL's own relation and WAL segments come and go with its
	# caches; count everything else (SQLite files, temporary files, sockets,
	# pipes).
	my $pgdata = $node->data_dir;
	my @ours;
	foreach my $fd (sort { $a <=> $b } @fds)
	{
		my $t = readlink("/proc/$pid/fd/$fd") // '?';
		next if $t =~ m{^\Q$pgdata\E/(?:base/\d+|global|pg_wal)/};
		push @ours, "$fd=$t";
	}
	note "descriptors: @ours";
	return scalar @ours;
}

sub tmp_files
{
	my @f = glob($node->data_dir . '/base/pgsql_tmp/*');
	return scalar @f;
}

# A batch of $n rounds; each round is 11 calls: 2 mismatches (journal), 2
# mismatches (WAL), 2 existing tables, 2 non-SQLite files (migration and
# plan), 1 plan that succeeds, 1 successful migration rolled back, 1 failing
# foreign scan: 9 errors. Suppress NOTICEs.
sub workload
{
	my ($n) = @_;
	my $round = <<"EOSQL";
SELECT count(*) FROM migrate_sqlite('$journal', 'm');
SELECT count(*) FROM migrate_sqlite('$journal', 'm', tables => ARRAY['a']);
SELECT count(*) FROM migrate_sqlite_plan('$notdb', 'm');
SELECT 'plan ' || count(*) FROM migrate_sqlite_plan('$journal', 'm');
SELECT count(*) FROM migrate_sqlite('$wal', 'm');
SELECT count(*) FROM migrate_sqlite('$wal', 'm', on_mismatch => 'error');
SELECT count(*) FROM migrate_sqlite('$good', 'taken');
SELECT count(*) FROM migrate_sqlite('$good', 'taken', tables => ARRAY['a']);
SELECT count(*) FROM migrate_sqlite('$notdb', 'm');
BEGIN; SELECT count(*) FROM migrate_sqlite('$good', 'r'); ROLLBACK;
SELECT sum(n) FROM a_ft;
EOSQL
	return "SET client_min_messages = warning;\n" . ($round x $n);
}

my $session = $node->background_psql('postgres', on_error_stop => 0);
my ($pid) = $session->query('SELECT pg_backend_pid()');
like($pid, qr/^\d+$/, "backend pid $pid");

# Warm up (caches, the SQLite library's allocator, plan caches).
my ($o, $e) = bg_quiet($session, workload(10));
my $fd0 = fd_count($pid);
my $mem0 = rss_anon_kb($pid);
note "after 110 warm-up calls: $fd0 descriptors, RssAnon $mem0 kB";

($o, $e) = bg_quiet($session, workload(50));
my $fd1 = fd_count($pid);
my $mem1 = rss_anon_kb($pid);
note "after 650 calls: $fd1 descriptors, RssAnon $mem1 kB";

($o, $e) = bg_quiet($session, workload(50));
my $fd2 = fd_count($pid);
my $mem2 = rss_anon_kb($pid);
note "after 1,200 calls: $fd2 descriptors, RssAnon $mem2 kB";

# In the last batch of 550 calls: 450 errors (the rolled back migrations
# succeed; "SELECT sum(n) FROM a_ft" fails on 'many').
my $n_errors = () = $e =~ /ERROR:/g;
is($n_errors, 450, "the last 550 calls raised 450 errors ($n_errors)");
unlike($e, qr/current transaction is aborted/,
	'no statement ran in an aborted transaction');
unlike($e, qr/too many open files|out of memory|could not (?:create|write)/i,
	'no resource errors');
my $n_ok = () = $o =~ /^3$/mg;
is($n_ok, 50, 'every rolled back migration succeeded');

is($fd1, $fd0, 'descriptors unchanged after 550 more calls');
is($fd2, $fd0, 'descriptors unchanged after 1,100 more calls');
# Between 650 and 1,200 calls the backend's private memory must stay flat:
# a leak of 1 kB per call would add 550 kB. (Before the connection cache
# forgot the staging servers' entries it grew ~0.55 kB per call.)
cmp_ok($mem2 - $mem1, '<', 512,
	"private memory did not grow over the last 550 calls (${\($mem2 - $mem1)} kB)"
);
cmp_ok($mem2 - $mem0, '<', 2048,
	"private memory grew less than 2 MB over 1,100 calls (${\($mem2 - $mem0)} kB)"
);
is(tmp_files(), 0, 'no snapshot copy left in pgsql_tmp');

$session->quit;
is($node->safe_psql('postgres', $baseline_sql),
	$objects_before, 'no table, server, user mapping or schema left behind');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_class WHERE relnamespace IN ('m'::regnamespace, 'r'::regnamespace)"),
	'0', 'the target schemas are empty');

$node->stop;
done_testing();
