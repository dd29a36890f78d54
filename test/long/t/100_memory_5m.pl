
# Copyright: part of sqlite_fdw_mig.
#
# Long tier (test/long.sh memory): memory does not grow with rows.  One
# SQLite table of 500,000 rows and one of 5,000,000 rows (integer key, text,
# ISO date/time text, REAL, a 50-byte blob) are each migrated by
# migrate_sqlite() in a fresh backend, while this script samples the
# backend's /proc/PID/status (RssAnon, VmHWM) every 0.1 s.  The peak private
# memory (RssAnon) of the 5M migration must stay within $BOUND_MB of the
# 500k one: ten times the rows may not cost more memory.  Both sizes run
# twice: with the defaults (bound 80 MB: the primary key's index build may
# sort in up to maintenance_work_mem = 64MB), and with maintenance_work_mem =
# 8MB (bound 16 MB: mostly the extension's own memory remains).
#
# The large file is then uploaded as a large object and migrated by
# migrate_sqlite_lo() (read through the extension's VFS, page by page): its
# peak RssAnon must stay within the same bound of the path-based run's, and
# far below the file's size.
#
# Not in test/t: test/run_tests.sh does not run it (it takes minutes and
# about 2 GB of disk).  SQLITE_FDW_MIG_MEM_ROWS="small,large" changes the two
# sizes (for a quick trial).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time sleep);

if (!-r '/proc/self/status')
{
	plan skip_all => '/proc/<pid>/status is not available';
}

# The bound, in MB, on (peak RssAnon of the large run) - (peak RssAnon of
# the small run) with the defaults: the 5M primary key's index build sorts
# in up to maintenance_work_mem (64MB) where the 500k one needs less, plus
# 16 MB for everything else.  With maintenance_work_mem 8MB the bound is
# $LOW_BOUND_MB below.
my $BOUND_MB = 80;
# Seconds between two samples.
my $INTERVAL = 0.1;
my ($small, $large) = split /,/,
  ($ENV{SQLITE_FDW_MIG_MEM_ROWS} // '500000,5000000');

my $dir = $PostgreSQL::Test::Utils::tmp_check;

my $node = PostgreSQL::Test::Cluster->new('memory');
$node->init;
# The backend's own bounded buffers are left at their defaults
# (work_mem 4MB, maintenance_work_mem 64MB); shared_buffers is shared
# memory, not RssAnon.
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION sqlite_fdw_mig');

# Build a SQLite file with one table "big" of $n rows.
sub build_db
{
	my ($n) = @_;
	my $db = "$dir/mem_$n.db";
	unlink $db;
	my $t0 = time;
	my $sql = <<"EOSQL";
PRAGMA journal_mode = off;
PRAGMA synchronous = off;
CREATE TABLE big (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  created DATETIME,
  score REAL,
  payload BLOB);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $n)
INSERT INTO big
SELECT i,
       'customer number ' || i || ' of the memory test',
       datetime(1700000000 + i * 7, 'unixepoch'),
       i / 7.0,
       randomblob(50)
FROM c;
EOSQL
	my ($out, $err);
	IPC::Run::run([ 'sqlite3', '-bail', $db ], '<', \$sql, '>', \$out,
		'2>', \$err)
	  or BAIL_OUT("sqlite3 failed building $db: $err");
	diag(sprintf("built %s: %d rows, %.0f MB, %.1f s",
			$db, $n, (-s $db) / 1048576, time - $t0));
	return $db;
}

# Values in kB of the lines "RssAnon:" and "VmHWM:" of /proc/$pid/status,
# or () once the process is gone.
sub proc_mem
{
	my ($pid) = @_;
	open(my $fh, '<', "/proc/$pid/status") or return ();
	my %v;
	while (<$fh>)
	{
		$v{$1} = $2 if /^(RssAnon|VmHWM|VmRSS):\s+(\d+)\s+kB/;
	}
	close $fh;
	return () unless defined $v{RssAnon};
	return ($v{RssAnon}, $v{VmHWM}, $v{VmRSS});
}

# Migrate $db into schema $schema in a fresh backend and sample its memory.
# Returns (baseline RssAnon, peak RssAnon, peak VmHWM, seconds, samples).
sub migrate_and_sample
{
	my ($db, $schema, $n, $settings, $lo) = @_;
	my $app = "memtest_$schema";
	# the file itself, or the large object holding it
	my $call = defined $lo ? "migrate_sqlite_lo($lo, '$schema')"
	  : "migrate_sqlite('$db', '$schema')";
	$node->safe_psql('postgres', "CREATE SCHEMA $schema");

	# The backend first loads the extension and waits 2 s, so its baseline
	# can be read; then it migrates.
	my $sql = qq{SET application_name = '$app';
$settings
LOAD 'sqlite_fdw_mig';
SELECT pg_sleep(2);
SELECT source_table, target_table, source_rows, target_rows, status
  FROM $call;
};
	# psql reads a file (stdin from /dev/null), so it ends after the last
	# statement.
	my $file = "$dir/mem_$schema.sql";
	open(my $fh, '>', $file) or die "write $file: $!";
	print $fh $sql;
	close $fh;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[
			'psql', '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-f', $file,
			'-d', $node->connstr('postgres')
		],
		'<', '/dev/null', '>', \$out, '2>', \$err);

	# Find the backend.
	my $pid;
	for (1 .. 100)
	{
		$h->pump_nb;
		$pid = $node->safe_psql('postgres',
			"SELECT pid FROM pg_stat_activity WHERE application_name = '$app'"
		);
		last if $pid ne '';
		sleep 0.1;
	}
	BAIL_OUT("backend of $app not found") if $pid eq '';
	sleep 1;
	my ($base) = proc_mem($pid);

	my ($peak_anon, $peak_hwm, $samples) = (0, 0, 0);
	my $t0 = time;
	my $deadline = $t0 + 3600;
	while ($h->pumpable && time < $deadline)
	{
		my ($anon, $hwm) = proc_mem($pid);
		if (defined $anon)
		{
			$samples++;
			$peak_anon = $anon if $anon > $peak_anon;
			$peak_hwm = $hwm if $hwm > $peak_hwm;
		}
		$h->pump_nb;
		sleep $INTERVAL;
	}
	my $finished = $h->finish;
	my $secs = time - $t0;
	ok($finished, "$n rows: psql and migrate_sqlite succeed")
	  or diag("stderr: $err");
	like($out, qr/^big\|\Q$schema\E\.big\|$n\|$n\|migrated$/m,
		"$n rows: the report shows $n source and target rows");
	is($node->safe_psql('postgres', "SELECT count(*) FROM $schema.big"),
		$n, "$n rows: the target table holds $n rows");
	is( $node->safe_psql(
			'postgres', "SELECT count(*) FROM $schema.big
			 WHERE created IS NULL OR payload IS NULL OR length(payload) <> 50"),
		'0',
		"$n rows: every date/time and blob arrived");
	diag(sprintf(
			"%d rows%s: %.1f s, %d samples; RssAnon baseline %d kB, peak %d kB "
			  . "(+%d kB); VmHWM peak %d kB",
			$n, $settings ? " ($settings)" : '', $secs, $samples, $base, $peak_anon, $peak_anon - $base,
			$peak_hwm));
	# Free the disk before the next size.
	$node->safe_psql('postgres', "DROP SCHEMA $schema CASCADE");
	return ($base, $peak_anon, $peak_hwm, $secs, $samples);
}

# Two configurations: the defaults, where the primary key's index build may
# sort in up to maintenance_work_mem (64MB) of private memory; and
# maintenance_work_mem = 8MB, which leaves mostly the extension's own
# memory.
my $LOW = "SET maintenance_work_mem = '8MB';";
my $LOW_BOUND_MB = 16;

my $db_small = build_db($small);
my @s = migrate_and_sample($db_small, 'm_small', $small, '');
my @s8 = migrate_and_sample($db_small, 'm_small8', $small, $LOW);
unlink $db_small;
my $db_large = build_db($large);
my @l = migrate_and_sample($db_large, 'm_large', $large, '');
my @l8 = migrate_and_sample($db_large, 'm_large8', $large, $LOW);
my $file_mb = (-s $db_large) / 1048576;
my $lo = $node->safe_psql('postgres', "SELECT lo_import('$db_large')");
my @lo = migrate_and_sample($db_large, 'm_large_lo', $large, '', $lo);
$node->safe_psql('postgres', "SELECT lo_unlink($lo)");
unlink $db_large;
diag(sprintf(
		"large object of %.0f MB: peak RssAnon %d kB (%.1f MB), path-based %d kB (%.1f MB)",
		$file_mb, $lo[1], $lo[1] / 1024, $l[1], $l[1] / 1024));
cmp_ok($lo[1] - $l[1], '<', $LOW_BOUND_MB * 1024,
	"migrate_sqlite_lo: peak RssAnon within $LOW_BOUND_MB MB of the path-based migration's");
cmp_ok($lo[1] / 1024, '<', $file_mb / 4,
	"migrate_sqlite_lo: peak RssAnon below a quarter of the file's size");

ok($s[4] >= 3 && $l[4] >= 3 && $s8[4] >= 3 && $l8[4] >= 3 && $lo[4] >= 3,
	'memory was sampled during every migration');
for my $c ([ 'defaults', \@s, \@l, $BOUND_MB ],
	[ 'maintenance_work_mem 8MB', \@s8, \@l8, $LOW_BOUND_MB ])
{
	my ($what, $sm, $lg, $bound) = @$c;
	my $growth_kb = $lg->[1] - $sm->[1];
	diag(sprintf(
			"%s: peak RssAnon: %d rows %d kB (%.1f MB), %d rows %d kB (%.1f MB); "
			  . "growth %+d kB (%+.1f MB), bound %d MB",
			$what, $small, $sm->[1], $sm->[1] / 1024, $large, $lg->[1],
			$lg->[1] / 1024, $growth_kb, $growth_kb / 1024, $bound));
	diag(sprintf(
			"%s: peak VmHWM: %d rows %d kB (%.1f MB), %d rows %d kB (%.1f MB) "
			  . "(includes shared buffers the backend touched)",
			$what, $small, $sm->[2], $sm->[2] / 1024, $large, $lg->[2],
			$lg->[2] / 1024));
	cmp_ok($growth_kb, '<', $bound * 1024,
		"$what: peak RssAnon for $large rows is within $bound MB of the peak for $small rows"
	);
}

$node->stop;
done_testing();
