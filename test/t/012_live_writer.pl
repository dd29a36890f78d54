# Copyright: part of sqlite_fdw_mig.
#
# migrate_sqlite() while an application keeps writing to the SQLite file
# (issue "Reliability").  A sqlite3 process appends to "events", one
# autocommit insert at a time, with a 2 s busy timeout, during a migration
# that takes longer than that.
#
# Rollback-journal mode: the migration reads a private copy taken under a
# short shared lock (a server temporary file): the writer never fails, the
# report says how long the lock was held, the counts are those of one
# snapshot, nothing is written to the source, and the copy is gone
# afterwards, after an error (temp_file_limit) and after a crash.
#
# WAL mode: the writer, with no busy timeout at all, is never blocked; no
# copy is taken; the main file is never checkpointed by us.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MigTest;
use IPC::Run;
use File::Copy qw(copy);
use Time::HiRes qw(time usleep);

# A writer whose input pipe closes under it must not kill the test.
$SIG{PIPE} = 'IGNORE';

my $busy_ms = 2000;            # the rollback-journal writer's busy timeout
my $rows = 1_500_000;          # rows of "big": the migration takes seconds
my $seed_events = 10;          # rows of "events" before any writer runs
my $batch = 200;               # inserts per batch fed to a writer
my $max_wait = 120;            # generous bound for anything to end (seconds)

# ---------------------------------------------------------------- SQLite files
my $tmp = $PostgreSQL::Test::Utils::tmp_check;
my $rj = "$tmp/live_rj.db";
my $wal = "$tmp/live_wal.db";
unlink $rj, "$rj-journal", $wal, "$wal-wal", "$wal-shm";
system_or_bail('sqlite3', $rj, <<"EOSQL");
CREATE TABLE big (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, r REAL, t TEXT NOT NULL);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $rows)
INSERT INTO big SELECT x, (x * 7) % 1000, x / 8.0, 'row ' || x || ' ' || hex(randomblob(8)) FROM c;
CREATE TABLE events (id INTEGER PRIMARY KEY, payload TEXT);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $seed_events)
INSERT INTO events (payload) SELECT 'seed ' || x FROM c;
EOSQL
copy($rj, $wal) or BAIL_OUT("could not copy $rj: $!");
system_or_bail('sqlite3', $wal, 'PRAGMA journal_mode=WAL;');

is(header_modes($rj), '1/1', 'live_rj.db is in rollback-journal mode');
is(header_modes($wal), '2/2', 'live_wal.db is in WAL mode');
ok(!-e "$wal-wal", 'live_wal.db has no -wal file yet');

# ---------------------------------------------------------------- cluster
my $node = PostgreSQL::Test::Cluster->new('live_writer');
$node->init;
# restart_after_crash for (4); remove_temp_files_after_crash is on by default.
$node->append_conf('postgresql.conf', "log_temp_files = 0\nrestart_after_crash = on\n");
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION sqlite_fdw_mig;
CREATE SCHEMA rj;
CREATE SCHEMA wal;
CREATE SCHEMA limited;
CREATE SCHEMA crashed;
});
my $pgsql_tmp = $node->data_dir . '/base/pgsql_tmp';

# Files in the cluster's temporary directory (matching $re, if given).
sub temp_files
{
	my ($re) = @_;
	opendir(my $dh, $pgsql_tmp) or return ();
	my @f = grep { !/^\.\.?$/ && (!defined $re || /$re/) } readdir($dh);
	closedir($dh);
	return sort @f;
}

# What a migration into $schema may leave behind: tables in the schema,
# staging servers, foreign tables, history rows.
sub leftovers
{
	my ($schema) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = '$schema'::regnamespace)
		  || '/' || (SELECT count(*) FROM pg_foreign_server WHERE srvname LIKE 'sqlite_mig_%')
		  || '/' || (SELECT count(*) FROM pg_foreign_table)
		  || '/' || (SELECT count(*) FROM sqlite_migration_history)});
}

# The report of migrate_sqlite($db, $schema), one line per row.
sub report_query
{
	my ($db, $schema) = @_;
	return qq{SELECT source_table || '|' || coalesce(source_rows::text, '') || '|'
		|| coalesce(target_rows::text, '') || '|' || status || '|' || coalesce(detail, '')
		FROM migrate_sqlite('$db', '$schema')};
}

# ---------------------------------------------------------------- the writer
# A sqlite3 process fed batches of single-statement autocommit inserts into
# "events", each batch followed by ".print b<N>" once its rows are
# committed.  ".bail on": the first failing insert ("database is locked")
# ends it with a non-zero exit code.  The test keeps two batches queued, so
# the writer writes for as long as the test feeds it.
sub start_writer
{
	my ($db, $timeout_ms, $pragmas) = @_;
	my $w = { db => $db, fed => 0, out => '', err => '' };
	$w->{in} = ".timeout $timeout_ms\n.bail on\nPRAGMA synchronous = OFF;\n$pragmas\n";
	$w->{h} = IPC::Run::start([ 'sqlite3', $db ],
		'<', \$w->{in}, '>', \$w->{out}, '2>', \$w->{err});
	feed_writer($w);
	return $w;
}

# Queue more batches if needed, and move data through the pipes.
sub feed_writer
{
	my ($w) = @_;
	return 0 unless $w->{h}->pumpable;
	while (length($w->{in}) < 2 * $batch * 40)
	{
		$w->{fed}++;
		$w->{in} .= ("INSERT INTO events (payload) VALUES ('writer batch $w->{fed}');\n" x $batch)
		  . ".print b$w->{fed}\n";
	}
	$w->{h}->pump_nb;
	return $w->{h}->pumpable;
}

# Batches the writer has committed so far.
sub writer_batches
{
	my ($w) = @_;
	my @b = $w->{out} =~ /^b(\d+)$/mg;
	return @b ? $b[-1] : 0;
}

# Let it finish what it was fed, then quit.  Returns its exit code.
sub finish_writer
{
	my ($w) = @_;
	$w->{in} .= ".print end\n.quit\n";
	eval { $w->{h}->finish; };
	return $@ ? -1 : $w->{h}->result(0);
}

# ---------------------------------------------------------------- one live run
# Start a writer on $db, wait until it writes, run migrate_sqlite($db,
# $schema) in a background session while feeding it, then stop it.
# Returns what was seen.
sub live_run
{
	my ($mode, $db, $timeout_ms, $pragmas, $schema) = @_;
	my %r;

	my $w = start_writer($db, $timeout_ms, $pragmas);
	my $t0 = time();
	while (writer_batches($w) < 3 && time() - $t0 < $max_wait)
	{
		last unless feed_writer($w);
		usleep(5_000);
	}
	ok(writer_batches($w) >= 3, "$mode: the writer has started writing")
	  or diag("writer stderr: $w->{err}");

	# Rows committed before the migration starts: a lower bound for its
	# snapshot.
	$r{before} = $seed_events + writer_batches($w) * $batch;
	$r{main_stat_before} = [ (stat($db))[ 7, 9 ] ];
	$r{main_mtime_before} = (Time::HiRes::stat($db))[9];

	my $s = $node->background_psql('postgres', on_error_stop => 0);
	my ($pid) = bg_query($s, 'SELECT pg_backend_pid()');
	$r{pid} = $pid;

	bg_start($s, report_query($db, $schema), $mode);
	my $start = time();
	my $batches_at_start = writer_batches($w);
	my (@samples, %tmp_seen);
	my $writer_alive = 1;
	while (time() - $start < $max_wait)
	{
		$writer_alive = feed_writer($w) if $writer_alive;
		$s->{run}->pump_nb();
		last if $s->{stdout} =~ /done_$mode/;
		my $b = writer_batches($w);
		push @samples, [ time() - $start, $b ]
		  if !@samples || $samples[-1][1] != $b;
		for my $f (temp_files(qr/^pgsql_tmp$pid\.\d+$/))
		{
			my $size = -s "$pgsql_tmp/$f";
			$tmp_seen{$f} = $size if defined $size;
		}
		usleep(5_000);
	}
	$r{elapsed} = time() - $start;
	my $timer = IPC::Run::timer($max_wait);
	$timer->start;
	ok(pump_until($s->{run}, $timer, \$s->{stdout}, qr/done_$mode/),
		"$mode: the migration ends");
	$r{writer_alive} = $writer_alive && $w->{h}->pumpable;
	$r{batches_during} = writer_batches($w) - $batches_at_start;
	$r{samples} = \@samples;
	$r{tmp_seen} = \%tmp_seen;
	($r{report}) = $s->{stdout} =~ /^(.*?)\n?done_$mode/s;
	$r{report} //= '';
	$r{stderr} = $s->{stderr};
	$s->quit;

	# The main file after our session ended, while the writer still runs.
	$r{main_stat_after} = [ (stat($db))[ 7, 9 ] ];
	$r{main_mtime_after} = (Time::HiRes::stat($db))[9];
	$r{wal_size_after} = -s "$db-wal";

	$r{writer_rc} = finish_writer($w);
	$r{writer_err} = $w->{err};
	$r{writer_fed} = $w->{fed};
	$r{writer_ended} = $w->{out} =~ /^end$/m;
	$r{inserted} = $w->{fed} * $batch;

	# Report rows: table => [source_rows, target_rows, status, detail].
	my %rows;
	for my $line (split /\n/, $r{report})
	{
		my ($t, $src, $tgt, $status, $detail) = split /\|/, $line, 5;
		$rows{$t} = [ $src, $tgt, $status, $detail ];
	}
	$r{rows} = \%rows;
	return \%r;
}

# The checks both modes share.
sub check_common
{
	my ($mode, $db, $schema, $r) = @_;
	my %rows = %{ $r->{rows} };

	is($r->{writer_rc}, 0, "$mode: the writer never failed (exit code 0)")
	  or diag("writer stderr: $r->{writer_err}");
	ok($r->{writer_ended}, "$mode: the writer committed every batch it was fed");
	ok($r->{writer_alive},
		"$mode: the writer was still running when the migration ended (the runs overlapped)");
	unlike($r->{stderr}, qr/ERROR/, "$mode: the migration succeeded")
	  or diag($r->{stderr});
	cmp_ok($r->{elapsed}, '>', $busy_ms / 1000,
		sprintf("$mode: the migration took %.1f s, longer than the writer's %d ms busy timeout",
			$r->{elapsed}, $busy_ms));
	cmp_ok($r->{batches_during}, '>', 0,
		"$mode: the writer committed $r->{batches_during} batches during the migration");
	my @late = grep { $_->[0] > $busy_ms / 1000 } @{ $r->{samples} };
	ok(scalar(@late),
		"$mode: the writer committed rows more than ${busy_ms} ms after the migration started")
	  or diag('writer progress (s, batches): '
		  . join(' ', map { sprintf('%.2f:%d', @$_) } @{ $r->{samples} }));

	is(join(',', sort grep { $rows{$_}[2] eq 'migrated' } keys %rows), 'big,events',
		"$mode: big and events were migrated")
	  or diag($r->{report});
	for my $t (grep { $rows{$_}[2] eq 'migrated' } sort keys %rows)
	{
		is($rows{$t}[0], $rows{$t}[1], "$mode: $t: source_rows = target_rows ($rows{$t}[1])");
	}
	is($rows{big}[1], $rows, "$mode: big: every row");

	# One consistent snapshot: a prefix of the writer's inserts, taken
	# after the migration started and before the writer stopped.
	my $ev = $rows{events}[1] // -1;
	cmp_ok($ev, '>=', $r->{before},
		"$mode: events: the snapshot ($ev) holds every row committed before the migration started ($r->{before})");
	cmp_ok($ev, '<', $seed_events + $r->{inserted},
		"$mode: events: the writer kept inserting after the snapshot (final count "
		  . ($seed_events + $r->{inserted}) . ')');
	is($node->safe_psql('postgres',
			qq{SELECT count(*) || '/' || min(id) || '/' || max(id) FROM $schema.events}),
		"$ev/1/$ev", "$mode: events: the migrated rows are ids 1..$ev, no gap");
	is($node->safe_psql('postgres', qq{SELECT count(*) FROM $schema.big}), $rows,
		"$mode: $schema.big has every row");

	# Never written to: the file holds exactly what the writer inserted.
	is(`sqlite3 '$db' 'PRAGMA integrity_check'`, "ok\n", "$mode: integrity_check is ok");
	is(`sqlite3 '$db' 'SELECT count(*) || "/" || max(id) FROM events'`,
		($seed_events + $r->{inserted}) . '/' . ($seed_events + $r->{inserted}) . "\n",
		"$mode: the file holds the seed rows and every insert of the writer, nothing else");
	is(join(',', temp_files()), '', "$mode: no file left in base/pgsql_tmp");
	like(leftovers($schema), qr{^\d+/0/0/\d+$}, "$mode: no staging server or foreign table left");
}

# ------------------------------------------------ (1) rollback-journal mode
{
	my $r = live_run('rollback', $rj, $busy_ms, '', 'rj');
	check_common('rollback', $rj, 'rj', $r);
	my %rows = %{ $r->{rows} };

	my $snap = $rows{'live_rj.db'};
	ok(defined $snap && $snap->[2] eq 'snapshot taken', q{rollback: a 'snapshot taken' row})
	  or diag($r->{report});
	my ($bytes, $lock_ms) = ($snap->[3] // '') =~
	  /a private copy of (\d+) bytes was taken under a shared lock held for (\d+) ms/;
	ok(defined $lock_ms, "rollback: its detail says how long the lock was held")
	  or diag($snap->[3] // '');
	$lock_ms //= 1e9;
	cmp_ok($lock_ms, '<', $busy_ms, "rollback: the lock was held ${lock_ms} ms, less than the writer's busy timeout");
	like($r->{stderr},
		qr/NOTICE:  read a private snapshot of "\Q$rj\E" \($bytes bytes\); the file was locked for $lock_ms ms/,
		'rollback: the NOTICE names the file, the bytes and the lock time');
	cmp_ok($bytes // 0, '>=', $r->{main_stat_before}[0],
		'rollback: the snapshot is at least as big as the file when the migration started');

	# The copy was a server temporary file of that size while the migration ran.
	my %seen = %{ $r->{tmp_seen} };
	is(scalar(keys %seen), 1,
		"rollback: one temporary file base/pgsql_tmp/pgsql_tmp$r->{pid}.N existed during the migration")
	  or diag(explain(\%seen));
	is((values %seen)[0], $bytes, 'rollback: its size was the snapshot\'s');
	my $log = slurp_file($node->logfile);
	like($log, qr{temporary file: path "base/pgsql_tmp/pgsql_tmp$r->{pid}\.\d+", size $bytes},
		'rollback: the server logged the removal of the temporary copy');
	ok(!-e "$rj-journal", 'rollback: no journal left next to the file');
}

# ------------------------------------------------ (2) WAL mode
{
	# No busy timeout at all: any wait fails the writer.  Its own
	# connection never checkpoints (wal_autocheckpoint = 0), so only a
	# checkpoint by us could change the main file while it runs.
	my $r = live_run('wal', $wal, 0, 'PRAGMA wal_autocheckpoint = 0;', 'wal');
	check_common('wal', $wal, 'wal', $r);
	my %rows = %{ $r->{rows} };

	ok(!grep({ $_->[2] eq 'snapshot taken' } values %rows), q{wal: no 'snapshot taken' row})
	  or diag($r->{report});
	unlike($r->{stderr}, qr/private snapshot/, 'wal: no snapshot NOTICE');
	is(scalar(keys %{ $r->{tmp_seen} }), 0, 'wal: no temporary file during the migration');
	is_deeply($r->{main_stat_after}, $r->{main_stat_before},
		'wal: the main file kept its size and modification time (never checkpointed)');
	is($r->{main_mtime_after}, $r->{main_mtime_before},
		'wal: the main file\'s modification time is unchanged to the nanosecond');
	cmp_ok($r->{wal_size_after} // 0, '>', 0, 'wal: the writer wrote to the -wal file');
	is(header_modes($wal), '2/2', 'wal: the file is still in WAL mode');
}

# ------------------------------------------------ (3) temp_file_limit
{
	my $before = leftovers('limited');
	my ($ret, $out, $err) = $node->psql('postgres', qq{
		SET temp_file_limit = '1kB';
		SELECT * FROM migrate_sqlite('$rj', 'limited');});
	isnt($ret, 0, 'temp_file_limit = 1kB: the migration fails');
	like($err, qr/ERROR:  temporary file size exceeds temp_file_limit \(1kB\)/,
		'with PostgreSQL\'s temp_file_limit error')
	  or diag($err);
	is(leftovers('limited'), $before,
		'temp_file_limit: no table, staging server, foreign table or history row left');
	is(join(',', temp_files()), '', 'temp_file_limit: no file left in base/pgsql_tmp');
}

# ------------------------------------------------ log checks
{
	my $log = slurp_file($node->logfile);
	unlike($log, qr/terminated by signal/, 'no backend terminated by a signal');
	unlike($log, qr/all server processes terminated; reinitializing/, 'no crash recovery cycle');
	unlike($log, qr/PANIC/, 'no PANIC in the log');
}

# ------------------------------------------------ (4) a crash mid-migration
{
	my $s = $node->background_psql('postgres', on_error_stop => 0);
	my ($pid) = bg_query($s, 'SELECT pg_backend_pid()');
	bg_start($s, report_query($rj, 'crashed'), 'crash');
	my @f;
	my $t0 = time();
	while (time() - $t0 < $max_wait)
	{
		@f = temp_files(qr/^pgsql_tmp$pid\.\d+$/);
		last if @f;
		$s->{run}->pump_nb();
		last if $s->{stdout} =~ /done_crash/;
		usleep(5_000);
	}
	is(scalar(@f), 1, 'crash: the snapshot is a temporary file while the migration runs');
	is(kill('KILL', $pid), 1, 'crash: the migrating backend killed with SIGKILL');
	eval { $s->quit; };
	ok($node->poll_query_until('postgres', 'SELECT 1', '1'), 'crash: the server restarted');
	is(join(',', temp_files()), '', 'crash: no file left in base/pgsql_tmp after the restart');
	is($node->safe_psql('postgres', q{
		SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = 'crashed'::regnamespace)
		  || '/' || (SELECT count(*) FROM pg_foreign_server WHERE srvname LIKE 'sqlite_mig_%')}),
		'0/0', 'crash: no table or staging server left');
}

$node->stop;
done_testing();
