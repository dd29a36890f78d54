
# Copyright: part of sqlite_fdw_mig.
#
# Bad "database" files: missing, a directory, empty, not SQLite, truncated,
# overwritten with garbage, a damaged header.  IMPORT FOREIGN SCHEMA and a
# scan must either work or raise an ERROR with a sensible SQLSTATE; the
# server must never crash.  Also the path and privilege checks of the
# "database" option.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Copy qw(copy);
use Fcntl qw(SEEK_SET);

my $dir = $PostgreSQL::Test::Utils::tmp_check;

# ---------------------------------------------------------------- files
my $good = "$dir/good.db";
unlink $good;
# A few thousand rows and an index: many pages, several b-trees.
system_or_bail('sqlite3', $good, <<'EOSQL');
PRAGMA page_size = 4096;
CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT NOT NULL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
INSERT INTO t SELECT i, printf('row %05d %s', i, hex(randomblob(40))) FROM n;
CREATE INDEX t_payload ON t (payload);
CREATE TABLE small (k INTEGER PRIMARY KEY, v TEXT);
INSERT INTO small VALUES (1, 'a'), (2, 'b');
CREATE VIEW t_view AS SELECT id, payload FROM t WHERE id % 2 = 0;
EOSQL
my $good_size = -s $good;
cmp_ok($good_size, '>', 100 * 4096, "good SQLite file has many pages ($good_size bytes)");

# Read the page size from the header (offset 16, big-endian; 1 means 65536).
sub page_size_of
{
	my ($path) = @_;
	open(my $fh, '<:raw', $path) or die "open $path: $!";
	my $hdr;
	read($fh, $hdr, 100) == 100 or die "short header in $path";
	close $fh;
	my $ps = unpack('n', substr($hdr, 16, 2));
	return $ps == 1 ? 65536 : $ps;
}
my $page_size = page_size_of($good);
is($page_size, 4096, 'page size read from the header');

# Overwrite bytes of $path at $offset with $bytes.
sub overwrite
{
	my ($path, $offset, $bytes) = @_;
	open(my $fh, '+<:raw', $path) or die "open $path: $!";
	seek($fh, $offset, SEEK_SET) or die "seek $path: $!";
	print $fh $bytes or die "write $path: $!";
	close $fh or die "close $path: $!";
	return;
}

srand(20240601);    # reproducible garbage
sub random_bytes
{
	my ($n) = @_;
	return join('', map { chr(int(rand(256))) } 1 .. $n);
}

# missing
my $missing = "$dir/no_such_file.db";
unlink $missing;

# a directory
my $adir = "$dir/a_directory.db";
mkdir $adir unless -d $adir;

# empty
my $empty = "$dir/empty.db";
open(my $efh, '>', $empty) or die "create $empty: $!";
close $efh;

# a text file
my $text = "$dir/hello.db";
unlink $text;
append_to_file($text, "hello world\n" x 400);

# truncated to half its size
my $truncated = "$dir/truncated.db";
copy($good, $truncated) or die "copy: $!";
truncate($truncated, int($good_size / 2)) or die "truncate: $!";

# garbage over pages 2..9 (page 1, with the schema, is intact)
my $garbage = "$dir/garbage.db";
copy($good, $garbage) or die "copy: $!";
overwrite($garbage, $page_size, random_bytes(8 * $page_size));

# garbage over every page after the first
my $garbage_all = "$dir/garbage_all.db";
copy($good, $garbage_all) or die "copy: $!";
overwrite($garbage_all, $page_size, random_bytes($good_size - $page_size));

# header page count (offset 28) far larger than the file
my $hdr_big = "$dir/header_big.db";
copy($good, $hdr_big) or die "copy: $!";
overwrite($hdr_big, 28, pack('N', 0x7ffffff0));

# header page count smaller than the file (2 pages)
my $hdr_small = "$dir/header_small.db";
copy($good, $hdr_small) or die "copy: $!";
overwrite($hdr_small, 28, pack('N', 2));

# header page size invalid (3 is not a power of two)
my $hdr_pgsz = "$dir/header_pagesize.db";
copy($good, $hdr_pgsz) or die "copy: $!";
overwrite($hdr_pgsz, 16, pack('n', 3));

# the sqlite_schema page (page 1 after the header) overwritten
my $schema_garbage = "$dir/schema_garbage.db";
copy($good, $schema_garbage) or die "copy: $!";
overwrite($schema_garbage, 100, random_bytes($page_size - 100));

# ---------------------------------------------------------------- cluster
my $node = PostgreSQL::Test::Cluster->new('badfiles');
$node->init;
$node->start;

$node->safe_psql('postgres', qq{
CREATE EXTENSION sqlite_fdw_mig;
CREATE SERVER good FOREIGN DATA WRAPPER sqlite_fdw_mig
  OPTIONS (database '$good', busy_timeout '5000');
CREATE FOREIGN TABLE good_t (id bigint, payload text) SERVER good OPTIONS (table 't');
});
is($node->safe_psql('postgres', 'SELECT count(*) FROM good_t'),
	'5000', 'good file: 5000 rows');

# Run $sql (one statement) with verbose errors; return (rc, sqlstate, stderr).
# sqlstate is undef when the statement succeeded.
sub run_verbose
{
	my ($sql, %params) = @_;
	my ($stdout, $stderr) = ('', '');
	my $rc = $node->psql(
		'postgres', "\\set VERBOSITY verbose\n$sql",
		stdout => \$stdout,
		stderr => \$stderr,
		on_error_stop => 1,
		%params);
	my ($state) = $stderr =~ /ERROR:\s+([0-9A-Z]{5}):/;
	return ($rc, $state, $stderr, $stdout);
}

my $sensible = qr/^(XX001|58P01|42809|HV00N|HV[0-9A-Z]{3}|58030)$/;

my @cases = (
	# name, path, exact SQLSTATE expected (undef: any sensible one or success)
	[ 'missing file',                  $missing,        '58P01' ],
	[ 'directory',                     $adir,           '42809' ],
	[ 'empty file',                    $empty,          'HV00N' ],
	[ 'text file',                     $text,           'XX001' ],
	[ 'truncated to half',             $truncated,      undef ],
	[ 'garbage over pages 2..9',       $garbage,        undef ],
	[ 'garbage over all pages but 1',  $garbage_all,    undef ],
	[ 'header page count too big',     $hdr_big,        undef ],
	[ 'header page count too small',   $hdr_small,      undef ],
	[ 'header page size invalid',      $hdr_pgsz,       undef ],
	[ 'garbage over the schema page',  $schema_garbage, undef ],
);

my $log_offset = -s $node->logfile;
my $i = 0;
foreach my $case (@cases)
{
	my ($name, $path, $expect) = @$case;
	$i++;
	my $srv = "bad$i";
	$node->safe_psql('postgres', qq{
CREATE SERVER $srv FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database '$path');
CREATE FOREIGN TABLE ${srv}_t (id bigint, payload text) SERVER $srv OPTIONS (table 't');
CREATE SCHEMA imp_$srv;
});

	# IMPORT FOREIGN SCHEMA, in its own connection
	my ($rc, $state, $err) =
	  run_verbose("IMPORT FOREIGN SCHEMA main FROM SERVER $srv INTO imp_$srv;");
	if (defined $expect)
	{
		isnt($rc, 0, "$name: IMPORT FOREIGN SCHEMA fails");
		is($state, $expect, "$name: IMPORT FOREIGN SCHEMA SQLSTATE $expect");
	}
	elsif ($rc == 0)
	{
		pass("$name: IMPORT FOREIGN SCHEMA succeeded");
	}
	else
	{
		like($state // 'none', $sensible,
			"$name: IMPORT FOREIGN SCHEMA SQLSTATE is sensible");
	}
	unlike($err, qr/server closed the connection|connection to server was lost/,
		"$name: IMPORT did not lose the connection");
	note "$name: IMPORT: rc=$rc\n$err";

	# scan, in its own connection
	($rc, $state, $err) = run_verbose("SELECT * FROM ${srv}_t;");
	if (defined $expect)
	{
		isnt($rc, 0, "$name: SELECT fails");
		is($state, $expect, "$name: SELECT SQLSTATE $expect");
	}
	elsif ($rc == 0)
	{
		pass("$name: SELECT succeeded");
	}
	else
	{
		like($state // 'none', $sensible, "$name: SELECT SQLSTATE is sensible");
	}
	unlike($err, qr/server closed the connection|connection to server was lost/,
		"$name: SELECT did not lose the connection");
	note "$name: SELECT: rc=$rc\n$err";

	# All in one session: the failures leave the session usable, the good
	# server still works in it, and a second attempt fails the same way.
	my $stdout;
	($rc, $state, $err, $stdout) = run_verbose(
		qq{CREATE SCHEMA imp2_$srv;
IMPORT FOREIGN SCHEMA main FROM SERVER $srv INTO imp2_$srv;
SELECT * FROM ${srv}_t WHERE id < 0;
SELECT count(*) FROM ${srv}_t;
SELECT 'after:' || count(*) FROM good_t;
SELECT 'alive';
}, on_error_stop => 0);
	like($stdout, qr/after:5000\nalive$/,
		"$name: same session still works after the errors");
	unlike($err, qr/server closed the connection|connection to server was lost/,
		"$name: session kept its connection");

	is($node->safe_psql('postgres', 'SELECT 1'), '1', "$name: server is up");

	my $log = slurp_file($node->logfile, $log_offset);
	unlike($log, qr/terminated by signal|server process .* was terminated|PANIC/,
		"$name: no crash in the server log");
	$log_offset = -s $node->logfile;
}

# ---------------------------------------------------------------- path check
{
	my ($rc, $state, $err) = run_verbose(
		"CREATE SERVER rel FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database 'relative.db');"
	);
	isnt($rc, 0, 'relative path is refused');
	is($state, '22023', 'relative path: SQLSTATE 22023');
	like($err, qr/absolute/, 'relative path: message says absolute');

	($rc, $state, $err) = run_verbose(
		"ALTER SERVER good OPTIONS (SET database 'relative.db');");
	is($state, '22023', 'relative path refused by ALTER SERVER too');
	is($node->safe_psql('postgres', 'SELECT count(*) FROM good_t'),
		'5000', 'good server unchanged');
}

# ---------------------------------------------------------------- privileges
$node->safe_psql('postgres', q{
CREATE ROLE plain LOGIN;
GRANT USAGE ON FOREIGN DATA WRAPPER sqlite_fdw_mig TO plain;
CREATE ROLE reader LOGIN;
GRANT pg_read_server_files TO reader;
CREATE SCHEMA reader_schema AUTHORIZATION reader;
});

{
	my $plain = $node->connstr('postgres') . ' user=plain';
	my $reader = $node->connstr('postgres') . ' user=reader';

	is($node->safe_psql('postgres', 'SELECT current_user', connstr => $plain),
		'plain', 'connected as plain');

	my ($rc, $state, $err) = run_verbose(
		"CREATE SERVER by_plain FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database '$good');",
		connstr => $plain);
	isnt($rc, 0, 'role without pg_read_server_files cannot CREATE SERVER with database');
	is($state, '42501', 'non-privileged CREATE SERVER: SQLSTATE 42501');
	note $err;

	# The same role can create a server only if it does not name a file...
	# which the validator refuses as "database" is required: still no file.
	($rc, $state, $err) = run_verbose(
		"CREATE SERVER by_plain2 FOREIGN DATA WRAPPER sqlite_fdw_mig;",
		connstr => $plain);
	isnt($rc, 0, 'server without database is refused');

	($rc, $state, $err) = run_verbose(
		"CREATE SERVER by_reader FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database '$good');",
		connstr => $reader);
	is($rc, 0, 'member of pg_read_server_files can CREATE SERVER')
	  or diag $err;

	($rc, $state, $err) = run_verbose(
		"IMPORT FOREIGN SCHEMA main FROM SERVER by_reader INTO reader_schema;",
		connstr => $reader);
	is($rc, 0, 'member of pg_read_server_files can IMPORT FOREIGN SCHEMA')
	  or diag $err;
	is( $node->safe_psql(
			'postgres', 'SELECT count(*) FROM reader_schema.t',
			connstr => $reader),
		'5000',
		'member of pg_read_server_files reads the imported table');

	# plain cannot repoint the server it does not own, nor read the tables
	($rc, $state, $err) = run_verbose(
		"ALTER SERVER by_reader OPTIONS (SET database '$text');",
		connstr => $plain);
	isnt($rc, 0, 'plain cannot ALTER the server of another role');
	($rc, $state, $err) = run_verbose('SELECT count(*) FROM reader_schema.t;',
		connstr => $plain);
	is($state, '42501', 'plain cannot read the foreign table without grants');
}

is($node->safe_psql('postgres', 'SELECT 1'), '1', 'server still up at the end');
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal/, 'no "terminated by signal" in the log');
unlike($log, qr/server process .* was terminated/, 'no "server process ... was terminated" in the log');
unlike($log, qr/all server processes terminated; reinitializing/, 'no crash recovery');

$node->stop;
done_testing();
