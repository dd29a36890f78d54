
# Copyright: part of sqlite_fdw_mig.
#
# Corrupt-file fuzz test, the short run: a few hundred mutated SQLite files
# (flipped bytes in the header, the schema page and its SQL text, b-tree
# pages and their headers, overflow pages; a huge or zero page count, a
# wrong page size, truncation, a zeroed or duplicated page), each one
# imported, scanned, planned and migrated in long-lived sessions.  Every
# statement must succeed or fail with a SQLSTATE that fits a damaged file;
# the server must never crash, trip an assertion or hang, and the SQLite
# descriptors must not pile up in a session.
#
# The cases and the checks live in test/fuzz/fuzz.pl, which also runs the
# long fuzz (thousands of cases) on a cluster of its own: see
# test/fuzz/README.  SQLITE_FDW_MIG_FUZZ_CASES and SQLITE_FDW_MIG_FUZZ_SEED
# change the number of cases and the first case here.

use strict;
use warnings;

use FindBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

require "$FindBin::Bin/../fuzz/fuzz.pl";

my $cases = $ENV{SQLITE_FDW_MIG_FUZZ_CASES} // 300;
my $seed = $ENV{SQLITE_FDW_MIG_FUZZ_SEED} // 1;

my $node = PostgreSQL::Test::Cluster->new('fuzz');
$node->init;
# Keep going after a crash, so that one run reports every crashing case.
$node->append_conf('postgresql.conf', "restart_after_crash = on\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION sqlite_fdw_mig');

my $dir = "$PostgreSQL::Test::Utils::tmp_check/fuzz";
my $st = SqliteFdwMigFuzz::run(
	psql => 'psql',
	sqlite3 => 'sqlite3',
	host => $node->host,
	port => $node->port,
	dbname => 'postgres',
	dir => $dir,
	cases => $cases,
	seed => $seed,
	batch => 50,
	logfile => $node->logfile,
	datadir => $node->data_dir,
	log => sub { note @_ });

my @details = SqliteFdwMigFuzz::detail_lines($st);
my $summary = SqliteFdwMigFuzz::summary_line($st);
note $_ foreach @details;
diag $summary;

is($st->{cases}, $cases, "ran $cases cases from seed $seed");
cmp_ok($st->{statements}, '>=', 9 * $cases, 'every case ran its statements');
# The fuzz must reach past the open: some damaged files import and migrate.
cmp_ok($st->{imports_ok}, '>', $cases / 10, "IMPORT succeeded on some damaged files ($st->{imports_ok})");
cmp_ok($st->{migrations_ok}, '>', $cases / 20,
	"migrate_sqlite succeeded on some damaged files ($st->{migrations_ok})");

my @findings = @{ $st->{findings} };
my @unexpected = grep { $_->{kind} eq 'unexpected SQLSTATE' } @findings;
my @lost = grep { $_->{kind} =~ /connection lost|hang|does not come back|backend changed/ } @findings;
my @leaks = grep { $_->{kind} =~ /leak/ } @findings;
my @seedbad = grep { $_->{kind} eq 'seed file does not migrate cleanly' } @findings;

is(scalar @seedbad, 0, 'the unmutated seed files import, scan and migrate without error');
is($st->{crashes}, 0, 'no session lost its backend');
is(scalar @lost, 0, 'no crash, hang or lost backend');
is(scalar @unexpected, 0, 'no unexpected SQLSTATE');
is(scalar @leaks, 0, 'no SQLite descriptor or temporary file piles up in a long session');
is(scalar @findings, 0, 'no finding at all')
  or diag join("\n", grep { /^(FINDING|  )/ } @details);

my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal/, 'no "terminated by signal" in the server log');
unlike($log, qr/server process .* was terminated/, 'no "server process ... was terminated" in the server log');
unlike($log, qr/^TRAP:|\bTRAP: /m, 'no failed assertion (TRAP:) in the server log');
unlike($log, qr/\bPANIC:/, 'no PANIC in the server log');
unlike($log, qr/all server processes terminated; reinitializing/, 'no crash recovery');
is(scalar @{ $st->{log_findings} || [] }, 0, 'no crash lines in the log during the fuzz')
  or diag join("\n", @{ $st->{log_findings} });

is($node->safe_psql('postgres', 'SELECT 1'), '1', 'server alive at the end');

$node->stop;
done_testing();
