
# Copyright: part of sqlite_fdw_mig.
#
# The operating system's side (issue "Reliability"): what the server's OS
# user may do with the SQLite file, its directory and the files SQLite keeps
# beside it.  For each case the foreign data wrapper (IMPORT FOREIGN SCHEMA
# and a scan), migrate_sqlite_plan() and migrate_sqlite() either read the
# data, with every row committed in a "-wal" file, or fail with a clear
# ERROR, a fitting SQLSTATE and a hint; the server never crashes.
#
# - an unreadable file (mode 000), a directory without search permission,
#   a directory with search but without read permission (works);
# - a WAL-mode file with no "-wal"/"-shm" in a directory the server cannot
#   write; with the application's "-wal"/"-shm" present (and a read-only
#   "-shm"), with the application connected or after it crashed; a "-wal"
#   or "-shm" the server cannot read;
# - a hot journal left by a writer killed in the middle of a transaction:
#   refused (never read as if committed), until the owner rolls it back;
# - the application's "-wal" growing while a migration holds its snapshot:
#   after the migration the application can checkpoint and truncate it.
#
# After every case the "-wal", "-shm" and "-journal" files beside the source
# are the ones that were there before.  The one exception: a WAL-mode file
# owned by the server's OS user, read with no "-wal"/"-shm" present: SQLite
# creates both (a read-only connection cannot remove them), which is harmless
# because they belong to the file's owner; the next writer uses them and
# removes them when it closes.  The test runs as the server's OS user, so
# that is the case here.  (A file owned by another user is refused instead,
# before anything is created: see connection.c, check_wal_files.)

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MigTest;
use IPC::Run;
use File::Path qw(rmtree);
use File::Copy qw(copy);
use Time::HiRes qw(time usleep);

# A writer whose input pipe closes under it must not kill the test.
$SIG{PIPE} = 'IGNORE';

my $max_wait = 60;    # generous bound for anything to happen (seconds)
my $base = "$PostgreSQL::Test::Utils::tmp_check/os";
rmtree($base);
mkdir $base or BAIL_OUT("mkdir $base: $!");

# A SQLite file with 100 rows in "t", in rollback-journal or WAL mode.
sub make_db
{
	my ($path, $mode) = @_;
	unlink $path, map { "$path-$_" } qw(wal shm journal);
	my $sql =
	    "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL);\n"
	  . "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100)\n"
	  . "INSERT INTO t SELECT x, 'row ' || x FROM c;\n";
	$sql .= "PRAGMA journal_mode = WAL;\n" if $mode eq 'wal';
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'sqlite3', $path ], '<', \$sql, '>', \$out, '2>', \$err)
	  or BAIL_OUT("sqlite3 $path: $err");
	return $path;
}

# A directory of its own for each case (permissions are per directory).
sub case_dir
{
	my ($name) = @_;
	my $d = "$base/$name";
	mkdir $d or BAIL_OUT("mkdir $d: $!");
	return $d;
}

# The "-wal", "-shm" and "-journal" files beside $path (call it while the
# directory is searchable).
sub sidecars
{
	my ($path) = @_;
	return join(',', grep { -e "$path-$_" } qw(journal wal shm));
}


# ---------------------------------------------------------------- cluster
my $node = PostgreSQL::Test::Cluster->new('os_side');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION sqlite_fdw_mig;');

# Run $sql with verbose errors in its own session; return (rc, sqlstate,
# stderr, stdout).  sqlstate is undef when the statement succeeded.
sub run_verbose
{
	my ($sql) = @_;
	my ($stdout, $stderr) = ('', '');
	my $rc = $node->psql(
		'postgres', "\\set VERBOSITY verbose\n$sql",
		stdout => \$stdout,
		stderr => \$stderr,
		on_error_stop => 1);
	my ($state) = $stderr =~ /ERROR:\s+([0-9A-Z]{5}):/;
	return ($rc, $state, $stderr, $stdout);
}

# Read $path through the four ways in: IMPORT FOREIGN SCHEMA, a scan of a
# foreign table, migrate_sqlite_plan() and migrate_sqlite(), each in its own
# session.  Returns { way => [rc, sqlstate, stderr, stdout] }; the stdout of
# "scan" and "migrate" is the row count read.
my $nserver = 0;

sub try_all
{
	my ($path) = @_;
	my $n = ++$nserver;
	my %r;
	$node->safe_psql('postgres', qq{
CREATE SERVER s$n FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database '$path');
CREATE FOREIGN TABLE ft$n (id bigint, v text) SERVER s$n OPTIONS (table 't');
CREATE SCHEMA imp$n;
CREATE SCHEMA mig$n;
});
	$r{import} = [ run_verbose("IMPORT FOREIGN SCHEMA main FROM SERVER s$n INTO imp$n;") ];
	$r{scan} = [ run_verbose("SELECT count(*) FROM ft$n;") ];
	$r{plan} = [ run_verbose("SELECT count(*) > 0 FROM migrate_sqlite_plan('$path', 'mig$n');") ];
	$r{migrate} = [
		run_verbose(
			"SELECT count(*) FROM migrate_sqlite('$path', 'mig$n') WHERE status <> 'migrated';\n"
			  . "SELECT count(*) FROM mig$n.t;")
	];
	$r{migrate}[3] = (split /\n/, $r{migrate}[3])[-1] // '' if $r{migrate}[0] == 0;
	return \%r;
}

# Every way failed with $state, the message naming $path, the detail or hint
# matching $text.
sub all_fail
{
	my ($case, $r, $state, $msg, $text) = @_;
	for my $way (qw(import scan plan migrate))
	{
		my ($rc, $st, $err) = @{ $r->{$way} };
		isnt($rc, 0, "$case: $way fails");
		is($st, $state, "$case: $way: SQLSTATE $state") or diag($err);
		like($err, $msg, "$case: $way: the message names the file");
		like($err, $text, "$case: $way: the detail or hint says what to do");
		unlike($err, qr/server closed the connection|connection to server was lost/,
			"$case: $way: the session survived");
	}
	note "$case:\n$r->{scan}[2]";
	return;
}

# Every way worked and read $rows rows.
sub all_work
{
	my ($case, $r, $rows) = @_;
	for my $way (qw(import scan plan migrate))
	{
		is($r->{$way}[0], 0, "$case: $way works") or diag($r->{$way}[2]);
	}
	is($r->{scan}[3], $rows, "$case: the scan reads $rows rows");
	is($r->{migrate}[3], $rows, "$case: the migration copies $rows rows");
	return;
}

# An application: a sqlite3 process on $db that stays connected and
# commits what it is fed.  $w->{out} collects its output.
sub start_app
{
	my ($db, $pragmas) = @_;
	my $w = { out => '', err => '' };
	$w->{in} = ".bail on\n$pragmas\n.print ready\n";
	$w->{h} = IPC::Run::start([ 'sqlite3', $db ],
		'<', \$w->{in}, '>', \$w->{out}, '2>', \$w->{err});
	app_wait($w, 'ready');
	return $w;
}

# Feed $sql to the application and wait until it has run it.
my $app_marker = 0;

sub app_run
{
	my ($w, $sql) = @_;
	my $m = 'done' . ++$app_marker;
	$w->{in} .= "$sql\n.print $m\n";
	app_wait($w, $m);
	return;
}

sub app_wait
{
	my ($w, $m) = @_;
	my $deadline = time() + $max_wait;
	$w->{h}->pump_nb while $w->{out} !~ /^$m$/m && time() < $deadline && usleep(2_000) >= 0;
	like($w->{out}, qr/^$m$/m, "application: $m") or diag($w->{err});
	return;
}

sub stop_app
{
	my ($w) = @_;
	$w->{in} .= ".quit\n";
	eval { $w->{h}->finish; };
	return;
}

my $pattern_wal_rows = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5)\n"
  . "INSERT INTO t (v) SELECT 'wal ' || x FROM c;";

# ------------------------------------------------ (1) unreadable file
{
	my $d = case_dir('mode000');
	my $db = make_db("$d/app.db", 'rollback');
	chmod 0000, $db;
	my $r = try_all($db);
	chmod 0644, $db;
	all_fail('file mode 000', $r, '42501',
		qr/could not open SQLite database "\Q$db\E": Permission denied/,
		qr/HINT:  The server's OS user "\w+" needs read permission on the file and search \(x\) permission on every directory in its path\./);
	is(sidecars($db), '', 'file mode 000: nothing created beside the file');
}

# ------------------------------------------------ (2) directory without x
{
	my $d = case_dir('nosearch');
	my $db = make_db("$d/app.db", 'rollback');
	chmod 0644, $d;
	my $r = try_all($db);
	chmod 0755, $d;
	all_fail('directory without x', $r, '42501',
		qr/could not open SQLite database "\Q$db\E": Permission denied/,
		qr/HINT:  The server's OS user "\w+" needs read permission on the file and search \(x\) permission/);
	is(sidecars($db), '', 'directory without x: nothing created beside the file');
}

# ------------------------------------------------ (3) directory with x only
{
	my $d = case_dir('searchonly');
	my $db = make_db("$d/app.db", 'rollback');
	chmod 0311, $d;
	ok(!opendir(my $dh, $d), 'directory 0311: it cannot be listed');
	my $r = try_all($db);
	chmod 0755, $d;
	all_work('directory with x but not r', $r, 100);
	is(sidecars($db), '', 'directory with x only: nothing created beside the file');
}

# ------------------------------------------------ (4) WAL, no -wal/-shm, directory read-only
{
	my $d = case_dir('wal_rodir');
	my $db = make_db("$d/app.db", 'wal');
	is(header_modes($db), '2/2', 'wal_rodir: the file is in WAL mode');
	is(sidecars($db), '', 'wal_rodir: no -wal or -shm before');
	chmod 0555, $d;
	my $r = try_all($db);
	chmod 0755, $d;
	all_fail('WAL file, no -wal, directory 555', $r, '42501',
		qr/could not open SQLite database "\Q$db\E"/,
		qr/DETAIL:  The file is in WAL mode and "\Q$db\E-wal" does not exist\. SQLite must create it to read the file, and the server's OS user "\w+" cannot write to the directory "\Q$d\E"\.\nHINT:  Read the file while the application has it open .*VACUUM INTO/);
	is(sidecars($db), '', 'wal_rodir: nothing created beside the file');
}

# ------------------------------------------------ (5) WAL, the application connected, directory read-only
{
	my $d = case_dir('wal_app');
	my $db = make_db("$d/app.db", 'wal');
	# Its rows stay in the -wal: it never checkpoints.
	my $w = start_app($db, 'PRAGMA wal_autocheckpoint = 0;');
	app_run($w, $pattern_wal_rows);
	cmp_ok(-s "$db-wal", '>', 0, 'wal_app: the application committed 5 rows into its -wal');
	my $before = sidecars($db);
	is($before, 'wal,shm', 'wal_app: -wal and -shm exist');

	chmod 0555, $d;
	my $r = try_all($db);
	all_work('WAL file, application connected, directory 555', $r, 105);

	# -wal or -shm the server cannot read
	for my $sfx ('wal', 'shm')
	{
		chmod 0000, "$db-$sfx";
		my $r0 = try_all($db);
		chmod 0644, "$db-$sfx";
		all_fail("WAL file, application connected, -$sfx 000", $r0, '42501',
			qr/could not open SQLite database "\Q$db\E"/,
			qr/DETAIL:  The file is in WAL mode, and its "\Q$db-$sfx\E" cannot be read: Permission denied\.\nHINT:  Give the server's OS user "\w+" read permission on "\Q$db-$sfx\E"\./);
	}

	# and with a -shm the server cannot write
	chmod 0444, "$db-shm";
	$r = try_all($db);
	all_work('WAL file, application connected, -shm 444, directory 555', $r, 105);
	chmod 0644, "$db-shm";
	chmod 0755, $d;
	is(sidecars($db), $before, 'wal_app: the same -wal and -shm afterwards');

	# the application still writes and checkpoints
	app_run($w, "INSERT INTO t (v) VALUES ('after');\n.print rows:\nSELECT count(*) FROM t;\nPRAGMA wal_checkpoint(TRUNCATE);");
	like($w->{out}, qr/rows:\n106\n0\|0\|0\n/, 'wal_app: the application writes and checkpoints afterwards');
	stop_app($w);
	is(sidecars($db), '', 'wal_app: the application removed -wal and -shm when it closed');
}

# ------------------------------------------------ (6) WAL, stale -wal/-shm of a crashed application
{
	my $d = case_dir('wal_crashed');
	my $src = make_db("$d/src.db", 'wal');
	my $db = "$d/app.db";
	# Copy the three files while the application is connected with 5 rows
	# in its -wal: what a crash (or a power loss) leaves.
	my $w = start_app($src, 'PRAGMA wal_autocheckpoint = 0;');
	app_run($w, $pattern_wal_rows);
	for my $sfx ('', '-wal', '-shm')
	{
		copy("$src$sfx", "$db$sfx") or BAIL_OUT("copy $src$sfx: $!");
	}
	stop_app($w);
	is(sidecars($db), 'wal,shm', 'wal_crashed: -wal and -shm left by the crash');
	my %mtime = map { $_ => (Time::HiRes::stat("$db$_"))[9] } ('', '-wal');

	chmod 0444, "$db-shm";
	chmod 0555, $d;
	my $r = try_all($db);
	all_work('WAL file, crashed application, -shm 444, directory 555', $r, 105);
	chmod 0644, "$db-shm";
	$r = try_all($db);
	all_work('WAL file, crashed application, directory 555', $r, 105);
	chmod 0755, $d;
	is(sidecars($db), 'wal,shm', 'wal_crashed: the same -wal and -shm afterwards');
	is_deeply({ map { $_ => (Time::HiRes::stat("$db$_"))[9] } ('', '-wal') },
		\%mtime, 'wal_crashed: the file and its -wal were not written');

	# a -wal without its -shm: SQLite must create the -shm
	unlink "$db-shm" or die "unlink: $!";
	chmod 0555, $d;
	$r = try_all($db);
	chmod 0755, $d;
	all_fail('WAL file, crashed application, -wal but no -shm, directory 555', $r, '42501',
		qr/could not open SQLite database "\Q$db\E"/,
		qr/DETAIL:  The file is in WAL mode and "\Q$db\E-shm" does not exist\. SQLite must create it/);
	is(sidecars($db), 'wal', 'wal_crashed: still no -shm');
	is(`sqlite3 '$db' 'SELECT count(*) FROM t'`, "105\n",
		'wal_crashed: the application opens it again with its 105 rows');
}

# ------------------------------------------------ (7) WAL, no -wal/-shm, owned by the server's OS user
{
	my $d = case_dir('wal_own');
	my $db = make_db("$d/app.db", 'wal');
	is((stat($db))[4], $<, 'wal_own: the file belongs to the server\'s OS user');
	my $r = try_all($db);
	all_work('WAL file owned by the server\'s OS user, no -wal', $r, 100);
	# SQLite created them and a read-only connection cannot remove them:
	# they belong to the file's owner, who uses them and removes them.
	is(sidecars($db), 'wal,shm', 'wal_own: SQLite left -wal and -shm');
	is((stat("$db-shm"))[4], (stat($db))[4], 'wal_own: they belong to the file\'s owner');
	is(-s "$db-wal", 0, 'wal_own: the -wal is empty');
	is(`sqlite3 '$db' "INSERT INTO t (v) VALUES ('w'); SELECT count(*) FROM t"`, "101\n",
		'wal_own: the owner writes to the file');
	is(sidecars($db), '', 'wal_own: and its connection removed -wal and -shm');
}

# ------------------------------------------------ (8) a hot journal
{
	my $d = case_dir('hot');
	my $db = "$d/app.db";
	my $sql =
	    "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL);\n"
	  . "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000)\n"
	  . "INSERT INTO t SELECT x, printf('row %d %s', x, hex(randomblob(60))) FROM c;\n";
	IPC::Run::run([ 'sqlite3', $db ], '<', \$sql) or BAIL_OUT('sqlite3 hot');
	my $sum = `sqlite3 '$db' 'SELECT count(*) || "/" || sum(length(v)) FROM t'`;
	like($sum, qr{^2000/\d+\n$}, 'hot: 2000 committed rows');

	# A writer with a tiny cache changes every row and doubles the table in
	# one transaction: its changes spill into the file before the commit.
	# Killed there, it leaves a hot journal and a half-written file.
	my ($in, $out) = (".bail on\nPRAGMA cache_size = 5;\nBEGIN;\n"
		  . "UPDATE t SET v = 'uncommitted ' || id;\n"
		  . "INSERT INTO t SELECT id + 100000, v FROM t;\n.print spilled\n", '');
	my $h = IPC::Run::start([ 'sqlite3', $db ], '<', \$in, '>', \$out, '2>', \$out);
	my $deadline = time() + $max_wait;
	$h->pump_nb while $out !~ /spilled/ && time() < $deadline && usleep(2_000) >= 0;
	like($out, qr/spilled/, 'hot: the writer is in the middle of its transaction');
	$h->signal('KILL');
	eval { $h->finish; };
	is(sidecars($db), 'journal', 'hot: the killed writer left app.db-journal');
	open(my $jfh, '<:raw', "$db-journal") or die "open journal: $!";
	read($jfh, my $magic, 8);
	close($jfh);
	is(unpack('H16', $magic), 'd9d505f920a163d7', 'hot: the journal has a valid header (it is hot)');
	my $size = -s $db;
	my $mtime = (Time::HiRes::stat($db))[9];

	my $r = try_all($db);
	all_fail('hot journal', $r, '55000',
		qr/could not (open|read) SQLite database "\Q$db\E"/,
		qr/DETAIL:  A writer stopped in the middle of a transaction and left the hot journal "\Q$db\E-journal"\..*\nHINT:  Have the file's owner open it once, for example with: sqlite3 "\Q$db\E" "PRAGMA quick_check"/s);
	is(sidecars($db), 'journal', 'hot: the journal is still there');
	is((-s $db) . '/' . (Time::HiRes::stat($db))[9], "$size/$mtime",
		'hot: the file was not touched');

	# The owner rolls it back by opening the file once.
	is(`sqlite3 '$db' 'PRAGMA quick_check'`, "ok\n", 'hot: quick_check as the owner');
	is(sidecars($db), '', 'hot: the journal was rolled back');
	$r = try_all($db);
	all_work('hot journal rolled back', $r, 2000);
	is($node->safe_psql('postgres',
			"SELECT count(*) || '/' || sum(length(v)) FROM mig$nserver.t WHERE v NOT LIKE 'uncommitted%'"),
		$sum =~ s/\n//r, 'hot: the migration holds the committed rows, none of the writer\'s');
}

# ------------------------------------------------ (9) the -wal grows while a snapshot is held
{
	my $d = case_dir('wal_grow');
	my $db = make_db("$d/app.db", 'wal');
	my $w = start_app($db, 'PRAGMA wal_autocheckpoint = 0;');
	app_run($w, $pattern_wal_rows);

	# A migration in a transaction that stays open: its snapshot is held.
	my $s = $node->background_psql('postgres', on_error_stop => 0);
	my ($out, $err) = bg_query($s, q{BEGIN;
CREATE SCHEMA grow;
SELECT count(*) FROM migrate_sqlite('} . $db . q{', 'grow') WHERE status = 'migrated';
SELECT count(*) FROM grow.t;});
	unlike($err, qr/ERROR/, 'wal_grow: the migration ran') or diag($err);
	like($out, qr/^1\n105$/m, 'wal_grow: it read the 105 rows committed before it started');

	# The application keeps writing; its -wal grows, and while the
	# snapshot is held a checkpoint cannot finish (busy 1).
	my $wal0 = -s "$db-wal";
	for my $i (1 .. 20)
	{
		app_run($w, "INSERT INTO t (v) SELECT 'grow $i ' || hex(randomblob(200)) FROM t LIMIT 50;");
	}
	my $wal1 = -s "$db-wal";
	cmp_ok($wal1, '>', $wal0, "wal_grow: the application's -wal grew from $wal0 to $wal1 bytes");
	app_run($w, ".print held:\nPRAGMA wal_checkpoint(TRUNCATE);");
	like($w->{out}, qr/^held:\n1\|\d+\|\d+$/m,
		'wal_grow: while the migration\'s transaction is open, a checkpoint reports busy');
	cmp_ok(-s "$db-wal", '>=', $wal1, 'wal_grow: and the -wal is not truncated');

	($out, $err) = bg_query($s, 'COMMIT;');
	unlike($err, qr/ERROR/, 'wal_grow: the migration committed');
	$s->quit;

	# Now the application can checkpoint everything and truncate its -wal.
	app_run($w, "PRAGMA wal_checkpoint(TRUNCATE);\nSELECT count(*) FROM t;");
	like($w->{out}, qr/^0\|0\|0\n1105$/m,
		'wal_grow: after the migration the application checkpoints (busy 0) with 1105 rows');
	is(-s "$db-wal", 0, 'wal_grow: the -wal was truncated');
	is($node->safe_psql('postgres', 'SELECT count(*) FROM grow.t'), '105',
		'wal_grow: the migration holds its snapshot\'s 105 rows');
	stop_app($w);
	is(sidecars($db), '', 'wal_grow: the application removed -wal and -shm when it closed');
	is(`sqlite3 '$db' 'PRAGMA integrity_check'`, "ok\n", 'wal_grow: integrity_check is ok');
}

# ------------------------------------------------ log
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server is up');
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal/, 'no "terminated by signal" in the log');
unlike($log, qr/server process .* was terminated|PANIC/, 'no crash in the log');

$node->stop;
done_testing();
