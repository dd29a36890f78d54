#!/usr/bin/perl
# Copyright: part of sqlite_fdw_mig.
#
# Corrupt-file fuzz test.  Builds a few valid SQLite files from the SQL kept
# below, mutates copies of them (flipped bytes in the header, in page 1 with
# the schema, in the schema's SQL text, in b-tree pages and their headers, in
# overflow pages; a huge or zero page count, a wrong page size, truncation,
# a zeroed page, a page copied over another), and runs on each one, in a
# long-lived psql session per batch:
#
#   CREATE SERVER, IMPORT FOREIGN SCHEMA, a scan of every imported table
#   that converts every column, migrate_sqlite_plan() and migrate_sqlite();
#   every third case is also uploaded as a large object and planned with
#   migrate_sqlite_plan_lo().
#
# Every statement must succeed or fail with an ERROR whose SQLSTATE fits a
# damaged file (see %ALLOWED); the server must never crash, hang or trip an
# assertion.  The same session runs a whole batch, so leaked descriptors or
# memory show up in the per-batch numbers.
#
# Two ways to use it:
#   - as a program: it starts its own throwaway cluster (initdb in a scratch
#     directory, port 54350) and runs --cases N cases from --seed S:
#         perl test/fuzz/fuzz.pl --cases 3000 [--seed 1] [--dir /var/tmp/...]
#     run it as the postgres OS user (see test/fuzz/README);
#   - as a library: test/t/020_fuzz.pl requires this file and calls
#     SqliteFdwMigFuzz::run() against a PostgreSQL::Test::Cluster node.
#
# Case K (K = seed, seed+1, ...) is fully determined by K: the shape, the
# mutations and their offsets come from srand(K).  "--seed K --cases 1"
# replays exactly that case, and --keep leaves its file behind.

package SqliteFdwMigFuzz;

use strict;
use warnings;

use Fcntl qw(SEEK_SET);
use File::Path qw(make_path remove_tree);
use Getopt::Long qw(GetOptionsFromArray);
use IPC::Run ();
use POSIX ();
use Time::HiRes qw(time sleep);

# ------------------------------------------------------------------ shapes
#
# Each shape is SQL run by the sqlite3 command-line tool.  "tail" is run
# after "sql", when present: the pages it adds are the end of the file, and
# those of them that are not b-tree pages are the overflow pages of its long
# values.  All content is deterministic (no randomblob), so a case seed
# replays the same bytes.

my $ROWS = <<'EOSQL';
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
EOSQL

our $lo_count = 0;

our @SHAPES = (
	{
		name => 'rowid_fk',
		sql => <<'EOSQL' . sprintf($ROWS, 200) . <<'EOSQL2' . sprintf($ROWS, 600) . <<'EOSQL3',
PRAGMA page_size = 1024;
CREATE TABLE parent (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created DATETIME DEFAULT CURRENT_TIMESTAMP,
  score REAL CHECK (score >= 0),
  active BOOLEAN NOT NULL DEFAULT 1,
  code VARCHAR(12));
CREATE TABLE child (
  id INTEGER PRIMARY KEY,
  parent_id INTEGER NOT NULL REFERENCES parent (id) ON DELETE CASCADE,
  qty NUMERIC(10,2),
  due DATE,
  note TEXT DEFAULT 'none',
  total REAL GENERATED ALWAYS AS (qty * 2) VIRTUAL,
  data BLOB);
CREATE INDEX child_parent ON child (parent_id);
CREATE INDEX child_due ON child (due) WHERE due IS NOT NULL;
CREATE INDEX parent_lower ON parent (lower(name));
CREATE VIEW parent_totals AS
  SELECT p.id, p.name, count(c.id) AS n, sum(c.qty) AS total
  FROM parent p LEFT JOIN child c ON c.parent_id = p.id GROUP BY p.id, p.name;
CREATE TRIGGER child_ins AFTER INSERT ON child BEGIN SELECT 1; END;
EOSQL
INSERT INTO parent (id, name, created, score, active, code)
  SELECT i, 'name ' || i, printf('2024-01-%02d %02d:%02d:00', 1 + i % 28, i % 24, i % 60),
         i * 1.5, i % 2, printf('C%05d', i) FROM n;
EOSQL2
INSERT INTO child (id, parent_id, qty, due, note, data)
  SELECT i, 1 + i % 200, (i % 1000) / 4.0,
         CASE WHEN i % 3 = 0 THEN NULL ELSE printf('2024-%02d-%02d', 1 + i % 12, 1 + i % 28) END,
         'note ' || i, CAST(printf('%08d', i) AS BLOB) FROM n;
EOSQL3
	},
	{
		name => 'without_rowid',
		sql => <<'EOSQL' . sprintf($ROWS, 400) . <<'EOSQL2' . sprintf($ROWS, 300) . <<'EOSQL3',
PRAGMA page_size = 1024;
CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL, w TEXT, ts TIMESTAMP) WITHOUT ROWID;
CREATE INDEX kv_v ON kv (v);
CREATE TABLE pair (a INTEGER, b TEXT, c REAL, PRIMARY KEY (a, b)) WITHOUT ROWID;
CREATE VIEW kv_big AS SELECT k, v FROM kv WHERE v > 100;
EOSQL
INSERT INTO kv SELECT printf('key-%05d', i), i * 7, 'value ' || i,
                      printf('2023-%02d-%02dT%02d:00:00', 1 + i % 12, 1 + i % 28, i % 24) FROM n;
EOSQL2
INSERT INTO pair SELECT i % 50, 'b' || i, i / 3.0 FROM n;
EOSQL3
	},
	{
		name => 'overflow_1k',
		sql => <<'EOSQL',
PRAGMA page_size = 1024;
CREATE TABLE meta (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO meta VALUES (1, 'one'), (2, 'two');
CREATE TABLE big (id INTEGER PRIMARY KEY, label TEXT, body BLOB, txt TEXT);
EOSQL
		tail => sprintf($ROWS, 6) . <<'EOSQL',
INSERT INTO big
  SELECT i, 'big ' || i,
         CAST(replace(hex(zeroblob(10000)), '00', char(40 + i, 80 + i)) AS BLOB),
         replace(hex(zeroblob(3000)), '00', 'é' || i)
  FROM n;
EOSQL
	},
	{
		name => 'overflow_4k',
		sql => <<'EOSQL',
PRAGMA page_size = 4096;
CREATE TABLE doc (id INTEGER PRIMARY KEY, title VARCHAR(40) NOT NULL, body TEXT, raw BLOB);
CREATE INDEX doc_title ON doc (title);
INSERT INTO doc VALUES (1, 'small', 'short text', x'00ff');
EOSQL
		tail => sprintf($ROWS, 5) . <<'EOSQL',
INSERT INTO doc
  SELECT 1 + i, 'doc ' || i,
         replace(hex(zeroblob(4000)), '00', 'tëxt' || i),
         CAST(replace(hex(zeroblob(10000)), '00', char(50 + i, 100 + i)) AS BLOB)
  FROM n;
EOSQL
	},
	{
		name => 'autoinc_view',
		sql => <<'EOSQL' . sprintf($ROWS, 300) . <<'EOSQL2',
PRAGMA page_size = 512;
CREATE TABLE event (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL CHECK (kind IN ('a', 'b', 'c')),
  at INTEGER NOT NULL,
  amount NUMERIC,
  UNIQUE (kind, at));
CREATE VIEW event_b AS SELECT id, at, amount FROM event WHERE kind = 'b';
CREATE VIEW event_sum AS SELECT kind, count(*) AS n, max(at) AS last FROM event GROUP BY kind;
EOSQL
INSERT INTO event (kind, at, amount)
  SELECT char(97 + i % 3), 1700000000 + i * 61, CASE WHEN i % 5 = 0 THEN NULL ELSE i * 0.25 END FROM n;
DELETE FROM event WHERE id % 10 = 0;
EOSQL2
	},
	{
		name => 'utf16le',
		sql => <<'EOSQL' . sprintf($ROWS, 250) . <<'EOSQL2',
PRAGMA encoding = 'UTF-16le';
PRAGMA page_size = 1024;
CREATE TABLE word (id INTEGER PRIMARY KEY, w TEXT NOT NULL, lang CHAR(2), n SMALLINT);
CREATE INDEX word_w ON word (w);
CREATE VIEW word_de AS SELECT id, w FROM word WHERE lang = 'de';
EOSQL
INSERT INTO word
  SELECT i, CASE i % 4 WHEN 0 THEN 'Äpfel ' || i WHEN 1 THEN '日本語 ' || i
                       WHEN 2 THEN 'smile 😀 ' || i ELSE 'plain ' || i END,
         CASE i % 4 WHEN 0 THEN 'de' WHEN 1 THEN 'ja' ELSE 'en' END, i FROM n;
EOSQL2
	},
	{
		name => 'utf16be',
		sql => <<'EOSQL' . sprintf($ROWS, 120) . <<'EOSQL2',
PRAGMA encoding = 'UTF-16be';
PRAGMA page_size = 512;
CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT, at DATE DEFAULT '2024-01-01') ;
EOSQL
INSERT INTO note (id, body) SELECT i, 'Grüße ' || i || ' ' || replace(hex(zeroblob(20)), '00', 'ß') FROM n;
EOSQL2
	},
);

# ------------------------------------------------------------------ SQLSTATEs
#
# What a damaged file may legitimately cause.  Anything else is a finding.
our %ALLOWED = (
	'XX001' => 'data_corrupted (SQLITE_CORRUPT, SQLITE_NOTADB)',
	'58030' => 'io_error (SQLITE_IOERR, e.g. a short read)',
	'53200' => 'out_of_memory (SQLite heap limit)',
	'54000' => 'program_limit_exceeded (SQLITE_TOOBIG)',
	'55P03' => 'lock_not_available',
	'42P01' => 'undefined_table (a mutated schema lost a name)',
	'42703' => 'undefined_column (a mutated schema lost a name)',
);
# Only from migrate_sqlite(), which adds keys and NOT NULL after copying.
our %ALLOWED_IN_MIGRATE = (
	'23505' => 'unique_violation (a damaged b-tree repeats a key)',
	'23502' => 'not_null_violation (a damaged record reads as NULL)',
);
# plus every HVxxx (fdw_error family) and 22xxx (data exception)
sub allowed_state
{
	my ($state) = @_;
	return 1 if exists $ALLOWED{$state};
	return 1 if $state =~ /^HV[0-9A-Z]{3}$/;
	return 1 if $state =~ /^22[0-9A-Z]{3}$/;
	return 0;
}

# ------------------------------------------------------------------ files

sub page_size_of
{
	my ($bytes) = @_;
	my $ps = unpack('n', substr($bytes, 16, 2));
	return $ps == 1 ? 65536 : $ps;
}

sub slurp_raw
{
	my ($path) = @_;
	open(my $fh, '<:raw', $path) or die "open $path: $!";
	local $/;
	my $b = <$fh>;
	close $fh;
	return $b;
}

sub write_raw
{
	my ($path, $bytes) = @_;
	open(my $fh, '>:raw', $path) or die "create $path: $!";
	print $fh $bytes or die "write $path: $!";
	close $fh or die "close $path: $!";
	return;
}

sub run_sqlite3
{
	my ($sqlite3, $path, $sql) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ $sqlite3, '-bail', $path ], '<', \$sql, '>', \$out, '2>', \$err)
	  or die "sqlite3 $path failed: $err\n";
	die "sqlite3 $path: $err\n" if $err ne '';
	return;
}

# Build every seed file in $dir; return a list of hashes with the bytes and
# the page lists the mutations aim at.
sub build_seeds
{
	my ($dir, $sqlite3) = @_;
	my @seeds;
	foreach my $shape (@SHAPES)
	{
		my $path = "$dir/seed_$shape->{name}.db";
		unlink $path;
		run_sqlite3($sqlite3, $path, $shape->{sql});
		my $tail_from = undef;
		if ($shape->{tail})
		{
			my $ps = page_size_of(slurp_raw($path));
			$tail_from = int((-s $path) / $ps) + 1;    # first page the tail adds
			run_sqlite3($sqlite3, $path, $shape->{tail});
		}
		my $bytes = slurp_raw($path);
		my $ps = page_size_of($bytes);
		my $npages = int(length($bytes) / $ps);
		my (@btree, @overflow);
		foreach my $pg (1 .. $npages)
		{
			my $hdr = $pg == 1 ? 100 : ($pg - 1) * $ps;
			my $flag = ord(substr($bytes, $hdr, 1));
			if ($flag == 2 || $flag == 5 || $flag == 10 || $flag == 13)
			{
				push @btree, $pg;
			}
			elsif (defined $tail_from && $pg >= $tail_from)
			{
				push @overflow, $pg;
			}
		}
		# where the schema's SQL text is (UTF-8 or UTF-16 "CREATE ")
		my @sqltext;
		foreach my $pat ('CREATE ', join("\0", split //, 'CREATE ') . "\0",
			"\0" . join("\0", split //, 'CREATE '))
		{
			my $at = 0;
			while (($at = index($bytes, $pat, $at)) >= 0)
			{
				push @sqltext, $at;
				$at += length $pat;
			}
		}
		push @seeds,
		  {
			name => $shape->{name},
			path => $path,
			bytes => $bytes,
			page_size => $ps,
			npages => $npages,
			btree => \@btree,
			overflow => \@overflow,
			sqltext => \@sqltext,
		  };
	}
	return \@seeds;
}

# ------------------------------------------------------------------ mutations
#
# All randomness comes from Perl's rand(), seeded per case.

sub rint { my ($n) = @_; return int(rand($n)); }

# Damage one byte: a flipped bit, a random byte, or 0x00 / 0xff.
sub damage_byte
{
	my ($old) = @_;
	my $r = rand();
	return $old ^ (1 << rint(8)) if $r < 0.5;
	if ($r < 0.8)
	{
		my $new = rint(256);
		$new = ($old + 1) & 0xff if $new == $old;
		return $new;
	}
	return $old == 0 ? 0xff : ($r < 0.9 ? 0 : 0xff);
}

# Flip 1..$max bytes in [$from, $to) of $$b; returns the offsets.
sub flip_range
{
	my ($b, $from, $to, $max) = @_;
	$to = length($$b) if $to > length($$b);
	return () if $to <= $from;
	my @at;
	foreach (1 .. 1 + rint($max))
	{
		my $off = $from + rint($to - $from);
		substr($$b, $off, 1) = chr(damage_byte(ord(substr($$b, $off, 1))));
		push @at, $off;
	}
	return @at;
}

sub page_range
{
	my ($seed, $pg) = @_;
	my $ps = $seed->{page_size};
	return (($pg - 1) * $ps, $pg * $ps);
}

sub pick { my @l = @_; return $l[ rint(scalar @l) ]; }

# Whole pages in the (possibly already truncated) bytes.
sub cur_pages
{
	my ($b, $s) = @_;
	return int(length($$b) / $s->{page_size});
}

# SQL-ish replacement characters for the schema text
my @SQL_CHARS = split //, q{()'",;.09aZ_-+*/|= xX};

my %MUTATORS = (
	header => sub {
		my ($b, $s) = @_;
		my @at = flip_range($b, 0, 100, 4);
		return 'header bytes ' . join(',', @at);
	},
	page1 => sub {
		my ($b, $s) = @_;
		my @at = flip_range($b, 100, $s->{page_size}, 8);
		return 'page 1 (schema b-tree) bytes ' . join(',', @at);
	},
	schema_text => sub {
		my ($b, $s) = @_;
		my @where = @{ $s->{sqltext} };
		return 'schema text: none found' unless @where;
		my @at;
		foreach (1 .. 1 + rint(3))
		{
			my $off = pick(@where) + rint(300);
			next if $off >= length($$b);
			my $old = substr($$b, $off, 1);
			my $r = rand();
			my $c;
			# Half the time a letter for a letter, a digit for a digit: the
			# SQL still parses, with other names, types, sizes and values.
			if ($r < 0.5 && $old =~ /[A-Za-z]/) { $c = pick('A' .. 'Z', 'a' .. 'z'); }
			elsif ($r < 0.5 && $old =~ /[0-9]/) { $c = pick('0' .. '9'); }
			elsif ($r < 0.85) { $c = pick(@SQL_CHARS); }
			else { $c = chr(rint(256)); }
			substr($$b, $off, 1) = $c;
			push @at, $off;
		}
		return 'schema SQL text bytes ' . join(',', @at);
	},
	pages => sub {
		my ($b, $s) = @_;
		my $np = cur_pages($b, $s);
		return 'pages: fewer than two pages left' if $np < 2;
		my $pg = 2 + rint($np - 1);
		my @at = flip_range($b, page_range($s, $pg), 16);
		return "page $pg bytes " . join(',', @at);
	},
	btree_header => sub {
		my ($b, $s) = @_;
		my $pg = pick(@{ $s->{btree} });
		my ($from) = page_range($s, $pg);
		$from = 100 if $pg == 1;
		# page header (8 or 12 bytes) and the start of the cell pointer array
		my @at = flip_range($b, $from, $from + 12 + 2 * (1 + rint(16)), 3);
		return "b-tree page $pg header bytes " . join(',', @at);
	},
	overflow => sub {
		my ($b, $s) = @_;
		my @ov = @{ $s->{overflow} };
		return 'overflow: shape has none' unless @ov;
		my $pg = pick(@ov);
		my ($from, $to) = page_range($s, $pg);
		# the next-page pointer (first 4 bytes) half of the time
		$to = $from + 4 if rand() < 0.5;
		my @at = flip_range($b, $from, $to, 4);
		return "overflow page $pg bytes " . join(',', @at);
	},
	page_count => sub {
		my ($b, $s) = @_;
		my $n = pick(0xffffffff, 0x7fffffff, 0x40000000, 1 << 24, 0,
			1, $s->{npages} - 1, $s->{npages} + 1, rint(1 << 30));
		$n = 0 if $n < 0;
		substr($$b, 28, 4) = pack('N', $n);
		return sprintf('header page count = %u', $n);
	},
	truncate => sub {
		my ($b, $s) = @_;
		my $len = rand() < 0.1 ? rint(100) : rint(length $$b);
		$$b = substr($$b, 0, $len);
		return "truncated to $len bytes";
	},
	truncate_page => sub {
		my ($b, $s) = @_;
		my $np = cur_pages($b, $s);
		return 'truncate_page: no whole page left' if $np < 2;
		my $pages = 1 + rint($np - 1);
		$$b = substr($$b, 0, $pages * $s->{page_size});
		return "truncated to $pages pages";
	},
	page_size => sub {
		my ($b, $s) = @_;
		my $ps = pick(0, 1, 2, 3, 256, 512, 513, 1024, 2048, 4096, 8192, 16384, 32768,
			65535, rint(65536));
		substr($$b, 16, 2) = pack('n', $ps);
		return "header page size = $ps";
	},
	zero_page => sub {
		my ($b, $s) = @_;
		my $np = cur_pages($b, $s);
		return 'zero_page: no whole page left' if $np < 1;
		my $pg = 1 + rint($np);
		my ($from, $to) = page_range($s, $pg);
		$from = 100 if $pg == 1 && rand() < 0.5;    # keep the header sometimes
		substr($$b, $from, $to - $from) = "\0" x ($to - $from);
		return "page $pg zeroed" . ($from == 100 ? ' (after the header)' : '');
	},
	dup_page => sub {
		my ($b, $s) = @_;
		my $np = cur_pages($b, $s);
		return 'dup_page: fewer than two pages left' if $np < 2;
		my $src = 1 + rint($np);
		my $dst = 1 + rint($np);
		$dst = $dst % $np + 1 if $dst == $src;
		my ($sf, $st) = page_range($s, $src);
		my ($df, $dt) = page_range($s, $dst);
		substr($$b, $df, $dt - $df) = substr($$b, $sf, $st - $sf);
		return "page $src copied over page $dst";
	},
);

# name => weight
my @MUTATION_WEIGHTS = (
	header => 7, page1 => 12, schema_text => 14, pages => 12, btree_header => 10,
	overflow => 10, page_count => 7, truncate => 6, truncate_page => 5,
	page_size => 5, zero_page => 6, dup_page => 6,
);

sub pick_mutation
{
	my $total = 0;
	for (my $i = 1; $i < @MUTATION_WEIGHTS; $i += 2) { $total += $MUTATION_WEIGHTS[$i]; }
	my $r = rand($total);
	for (my $i = 0; $i < @MUTATION_WEIGHTS; $i += 2)
	{
		$r -= $MUTATION_WEIGHTS[ $i + 1 ];
		return $MUTATION_WEIGHTS[$i] if $r < 0;
	}
	return $MUTATION_WEIGHTS[-2];
}

# Case $k: (seed hash, mutated bytes, description).  Overflow-heavy shapes
# get the overflow mutation more often, so that it is not mostly a no-op.
sub make_case
{
	my ($seeds, $k) = @_;
	srand($k);
	my $s = $seeds->[ rint(scalar @$seeds) ];
	my $bytes = $s->{bytes};
	my (@desc, @kinds);
	my $n = rand() < 0.75 ? 1 : 2 + rint(2);
	foreach (1 .. $n)
	{
		my $m = pick_mutation();
		$m = 'overflow' if @{ $s->{overflow} } && rand() < 0.2;
		push @desc, $MUTATORS{$m}->(\$bytes, $s);
		push @kinds, $m;
	}
	return ($s, $bytes, join(' + ', @desc), $n == 1 ? $kinds[0] : 'several');
}

# ------------------------------------------------------------------ psql session

# One psql process, driven statement by statement.  After each statement
# it echoes the outcome to stdout and a marker to stderr, so that output,
# SQLSTATE and the verbose error text belong to that statement.
sub session_start
{
	my ($cfg) = @_;
	my $s = { in => '', out => '', err => '', n => 0, cfg => $cfg };
	$s->{timer} = IPC::Run::timeout($cfg->{statement_wait});
	my @cmd = (
		$cfg->{psql}, '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=0',
		'-h', $cfg->{host}, '-p', $cfg->{port}, '-d', $cfg->{dbname});
	$s->{h} = IPC::Run::start(\@cmd, '<', \$s->{in}, '>', \$s->{out}, '2>', \$s->{err},
		$s->{timer});
	my $r = session_run($s, '\set VERBOSITY verbose' . "\n"
		  . "SET statement_timeout = '$cfg->{statement_timeout}'");
	die "psql session did not start: $r->{dead}\n" if $r->{dead};
	$r = session_run($s, 'SELECT pg_backend_pid()');
	die "psql session: no backend pid\n" unless $r->{ok} && $r->{out} =~ /^(\d+)$/m;
	$s->{pid} = $1;
	return $s;
}

# Run one statement (no trailing semicolon needed).  Returns a hash:
# ok (1/0), state, out (query output), err (stderr text), secs, dead
# (set when psql exited: the connection was lost) or timeout.
sub session_run
{
	my ($s, $sql) = @_;
	my $n = ++$s->{n};
	my $t0 = time();
	$sql =~ s/;?\s*\z//;
	$s->{in} .= "$sql;\n"
	  . "\\if :ERROR\n\\echo '\@\@R' ERR :LAST_ERROR_SQLSTATE\n\\else\n\\echo '\@\@R' OK\n\\endif\n"
	  . "\\echo '\@\@END' $n\n\\warn '\@\@END' $n\n";
	my $r = {};
	$s->{timer}->start($s->{cfg}{statement_wait});
	my $done = sub {
		return $s->{out} =~ /^\@\@END $n$/m && $s->{err} =~ /^\@\@END $n$/m;
	};
	eval {
		while (!$done->())
		{
			if (!$s->{h}->pumpable)
			{
				$r->{dead} = 'psql exited';
				last;
			}
			$s->{h}->pump;
		}
		1;
	} or do {
		my $e = $@;
		if ($e =~ /timeout/i) { $r->{timeout} = 1; $r->{dead} = "no answer within $s->{cfg}{statement_wait} s"; }
		else { $r->{dead} = "psql: $e"; }
	};
	$r->{secs} = time() - $t0;
	if ($r->{dead})
	{
		$r->{ok} = 0;
		$r->{out} = $s->{out};
		$r->{err} = $s->{err};
		$s->{out} = $s->{err} = '';
		return $r;
	}
	$s->{out} =~ s/\A(.*?)^\@\@R (OK|ERR ?(\S*))\n\@\@END $n\n//ms
	  or die "psql session: cannot parse output:\n$s->{out}\n";
	$r->{out} = $1;
	$r->{ok} = $2 eq 'OK' ? 1 : 0;
	$r->{state} = $3 if !$r->{ok};
	$s->{err} =~ s/\A(.*?)^\@\@END $n\n//ms;
	$r->{err} = $1;
	chomp $r->{out};
	return $r;
}

sub session_finish
{
	my ($s) = @_;
	$s->{in} .= "\\q\n";
	my $ok = eval { $s->{timer}->start(60); $s->{h}->finish; 1 };
	return $ok ? $s->{h}->result : -1;
}

sub session_kill
{
	my ($s) = @_;
	eval { $s->{h}->kill_kill; 1 };
	return;
}

# Descriptors open on files under $dir (the SQLite files, and their
# -journal or -wal files) or on temporary files (the migration's private
# snapshot), and resident memory (kB) of a backend, when readable.
# PostgreSQL's own descriptors (relation files it keeps open in its cache)
# are not counted.
sub proc_stats
{
	my ($pid, $dir) = @_;
	my ($fds, $rss);
	if (opendir(my $dh, "/proc/$pid/fd"))
	{
		$fds = grep {
			my $t = readlink("/proc/$pid/fd/$_");
			defined $t && (index($t, "$dir/") == 0 || $t =~ m{/pgsql_tmp/})
		} grep { !/^\./ } readdir($dh);
		closedir $dh;
	}
	if (open(my $fh, '<', "/proc/$pid/status"))
	{
		while (<$fh>) { $rss = $1 if /^VmRSS:\s+(\d+)/; }
		close $fh;
	}
	return ($fds, $rss);
}

# ------------------------------------------------------------------ the run

# A statement's outcome: 'ok', 'allowed' or 'unexpected'; fills the stats.
sub record
{
	my ($st, $case, $what, $sql, $r) = @_;
	$st->{statements}++;
	my $kind = $what =~ /^scan/ ? 'scan' : $what;
	if ($r->{ok})
	{
		$st->{by_kind}{$kind}{ok}++;
		return 'ok';
	}
	if ($r->{dead})
	{
		$st->{by_kind}{$kind}{lost}++;
		return 'dead';
	}
	my $state = $r->{state} // '(none)';
	$st->{errors}++;
	$st->{by_state}{$state}++;
	$st->{by_kind}{$kind}{err}++;
	if (!exists $st->{example}{$state})
	{
		my ($line) = $r->{err} =~ /^(?:psql:[^\n]*?)?(ERROR:[^\n]*)/m;
		$st->{example}{$state} = "case $case->{k}, $what: " . ($line // '?');
	}
	# The statements that do not read the file must not fail at all.
	my $reads_file = $what =~ /^(import|scan|plan|migrate)/;
	return 'allowed' if $reads_file && allowed_state($state);
	# A damaged b-tree can hold one key twice (a page copied over another,
	# a cell pointer repeated) without SQLite noticing on reads; the
	# migration then fails to add the primary key or unique constraint.
	return 'allowed' if $what =~ /^migrate/ && exists $ALLOWED_IN_MIGRATE{$state};
	push @{ $st->{findings} },
	  {
		kind => 'unexpected SQLSTATE',
		case => $case->{k},
		shape => $case->{shape},
		mutation => $case->{mutation},
		statement => $sql,
		state => $state,
		message => $r->{err},
	  };
	return 'unexpected';
}

# Run the statements of one case.  Returns 0 if the session died.
sub run_case
{
	my ($cfg, $st, $sess, $case, $path) = @_;
	my $k = $case->{k};
	my $srv = "fz_$k";
	my $imp = "fz_${k}_i";
	my $mig = "fz_${k}_m";
	my $lit = "'$path'";
	my @steps = (
		[ 'setup', "CREATE SERVER $srv FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database $lit)" ],
		[ 'setup', "CREATE SCHEMA $imp" ],
		[ 'setup', "CREATE SCHEMA $mig" ],
		[ 'import', "IMPORT FOREIGN SCHEMA main FROM SERVER $srv INTO $imp" ],
		[ 'list', "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c "
			  . "JOIN pg_namespace n ON n.oid = c.relnamespace "
			  . "WHERE n.nspname = '$imp' AND c.relkind = 'f' ORDER BY 1" ],
		[ 'plan', "SELECT count(*) FROM migrate_sqlite_plan($lit, '$mig')" ],
		[ 'migrate', "SELECT count(*) FROM migrate_sqlite($lit, '$mig')" ],
		[ 'cleanup', "DROP SCHEMA $imp, $mig CASCADE" ],
		[ 'cleanup', "DROP SERVER $srv CASCADE" ],
	);
	# the seeds and every third case also through an upload, planned before
	# the migration fills the schema: the large-object VFS
	if ($k !~ /^\d+$/ || $k % 3 == 0)
	{
		my $oid = 6000000 + ++$SqliteFdwMigFuzz::lo_count;
		splice @steps, 5, 0,
		  [ 'setup', "SELECT lo_import($lit, $oid)" ],
		  [ 'plan_lo', "SELECT count(*) FROM migrate_sqlite_plan_lo($oid, '$mig')" ],
		  [ 'cleanup', "SELECT lo_unlink($oid)" ];
	}
	while (my $step = shift @steps)
	{
		my ($what, $sql) = @$step;
		my $r = session_run($sess, $sql);
		$case->{last} = $sql;
		my $o = record($st, $case, $what, $sql, $r);
		if ($o eq 'dead')
		{
			$case->{dead} = $r->{dead};
			$case->{timeout} = $r->{timeout};
			$case->{err} = $r->{err};
			return 0;
		}
		if ($what eq 'list' && $r->{ok})
		{
			my @tables = grep { length } split /\n/, $r->{out};
			$st->{tables_scanned} += @tables;
			unshift @steps,
			  map { [ 'scan', "SELECT count(*) FROM (SELECT t::text FROM $_ t) x" ] } @tables;
		}
		if ($what eq 'import')
		{
			$st->{imports_ok}++ if $r->{ok};
			$st->{by_mutation}{ $case->{kind} }{import_ok}++ if $r->{ok} && $case->{kind};
		}
		if ($what eq 'migrate' && $r->{ok})
		{
			$st->{migrations_ok}++;
			$st->{by_mutation}{ $case->{kind} }{migrate_ok}++ if $case->{kind};
		}
		# A migration refused for values its types cannot hold: migrate again
		# with the other on_mismatch modes, so that the quarantine and the
		# widening read the damaged file too.
		if ($what eq 'migrate' && !$r->{ok} && ($r->{state} // '') =~ /^22/)
		{
			my $mode = $k =~ /[02468]$/ ? 'quarantine' : 'widen';
			unshift @steps,
			  [ "migrate_$mode",
				"SELECT count(*) FROM migrate_sqlite($lit, '$mig', on_mismatch => '$mode')" ];
		}
		$st->{statement_secs}{$what} += $r->{secs};
	}
	return 1;
}

# Wait until the server accepts connections again (after a crash).
sub wait_for_server
{
	my ($cfg) = @_;
	foreach (1 .. 120)
	{
		my ($o, $e) = ('', '');
		IPC::Run::run([ $cfg->{psql}, '-X', '-A', '-t', '-h', $cfg->{host}, '-p', $cfg->{port},
				'-d', $cfg->{dbname}, '-c', 'SELECT 1' ], '>', \$o, '2>', \$e);
		return 1 if $o =~ /^1$/m;
		sleep 0.5;
	}
	return 0;
}

# cfg: psql, host, port, dbname, sqlite3, dir, cases, seed, batch, logfile,
#      datadir (to look for left temporary files), keep (keep every case
#      file), log (sub for progress lines)
# Returns the statistics hash; $st->{findings} lists every problem.
sub run
{
	my (%cfg) = @_;
	my $cfg = {
		psql => 'psql', sqlite3 => 'sqlite3', dbname => 'postgres', batch => 50,
		statement_timeout => '120s', statement_wait => 300, seed => 1, cases => 100,
		log => sub { print STDERR "@_\n" },
		%cfg,
	};
	my $log = $cfg->{log};
	my $dir = $cfg->{dir};
	make_path("$dir/cases");
	my $seeds = build_seeds($dir, $cfg->{sqlite3});
	$log->(sprintf('seed file %s: %d pages of %d bytes, %d b-tree, %d overflow, %d schema texts',
			$_->{name}, $_->{npages}, $_->{page_size}, scalar @{ $_->{btree} },
			scalar @{ $_->{overflow} }, scalar @{ $_->{sqltext} })) foreach @$seeds;

	my $st = { cases => 0, statements => 0, errors => 0, crashes => 0, findings => [],
		by_state => {}, by_kind => {}, batches => [], imports_ok => 0, migrations_ok => 0,
		tables_scanned => 0 };
	my $log_offset = defined $cfg->{logfile} && -e $cfg->{logfile} ? -s $cfg->{logfile} : 0;
	my $t0 = time();

	# The seed files themselves must migrate cleanly (else the fuzz starts from
	# a broken base and proves little).
	{
		my $sess = session_start($cfg);
		foreach my $s (@$seeds)
		{
			my $case = { k => "seed_$s->{name}", shape => $s->{name}, mutation => 'none' };
			my $errs = $st->{errors};
			run_case($cfg, $st, $sess, $case, $s->{path})
			  or die "the server died on the unmutated seed file $s->{name}\n";
			if ($st->{errors} != $errs)
			{
				push @{ $st->{findings} }, { kind => 'seed file does not migrate cleanly',
					case => $case->{k}, shape => $s->{name}, mutation => 'none',
					statement => '', state => '', message => '' };
			}
		}
		session_finish($sess);
		# not counted as cases
		$st->{$_} = 0 foreach qw(statements errors imports_ok migrations_ok tables_scanned);
		$st->{by_state} = {};
		$st->{by_kind} = {};
		$st->{example} = {};
		$st->{statement_secs} = {};
	}

	my $k = $cfg->{seed};
	my $end = $cfg->{seed} + $cfg->{cases};
	while ($k < $end)
	{
		my $sess = eval { session_start($cfg) };
		if (!$sess)
		{
			push @{ $st->{findings} }, { kind => 'cannot connect', case => $k, shape => '',
				mutation => '', statement => '', state => '', message => $@ };
			last;
		}
		my ($fds0, $rss0) = proc_stats($sess->{pid}, $dir);
		my $batch = { pid => $sess->{pid}, first => $k, fds0 => $fds0, rss0 => $rss0 };
		my $alive = 1;
		my $n = 0;
		while ($k < $end && $n < $cfg->{batch})
		{
			my ($s, $bytes, $desc, $kind) = make_case($seeds, $k);
			my $path = "$dir/cases/case_$k.db";
			write_raw($path, $bytes);
			my $case = { k => $k, shape => $s->{name}, mutation => $desc, kind => $kind };
			$st->{by_mutation}{$kind}{cases}++;
			$st->{cases}++;
			$st->{by_shape}{ $s->{name} }++;
			$n++;
			$k++;
			my $nfind = scalar @{ $st->{findings} };
			$alive = run_case($cfg, $st, $sess, $case, $path);
			if (!$alive)
			{
				$st->{crashes}++;
				push @{ $st->{findings} },
				  {
					kind => $case->{timeout} ? 'hang (no answer)' : 'connection lost (crash?)',
					case => $case->{k},
					shape => $case->{shape},
					mutation => $case->{mutation},
					statement => $case->{last},
					state => '',
					message => "$case->{dead}\n$case->{err}",
					pid => $sess->{pid},
				  };
				$log->("case $case->{k}: session lost during: $case->{last}");
				session_kill($sess);
				last;
			}
			# the file of a case with a finding stays, for a closer look
			unlink $path unless $cfg->{keep} || @{ $st->{findings} } > $nfind;
		}
		if ($alive)
		{
			my $r = session_run($sess, 'SELECT pg_backend_pid()');
			my ($fds1, $rss1) = proc_stats($sess->{pid}, $dir);
			@$batch{qw(last fds1 rss1)} = ($k - 1, $fds1, $rss1);
			if (!$r->{ok} || $r->{out} ne $sess->{pid})
			{
				push @{ $st->{findings} }, { kind => 'backend changed or gone after the batch',
					case => $k - 1, shape => '', mutation => '', statement => 'SELECT pg_backend_pid()',
					state => $r->{state} // '', message => $r->{err} // $r->{dead} // '' };
			}
			my $rc = session_finish($sess);
			push @{ $st->{findings} }, { kind => "psql exit status $rc at the end of the batch",
				case => $k - 1, shape => '', mutation => '', statement => '\q', state => '',
				message => '' } if $rc != 0;
			# The migration's snapshot is a temporary file: none may be left
			# between transactions.
			if (defined $cfg->{datadir} && opendir(my $dh, "$cfg->{datadir}/base/pgsql_tmp"))
			{
				my @left = grep { !/^\./ } readdir($dh);
				closedir $dh;
				push @{ $st->{findings} }, { kind => 'temporary file leak',
					case => "$batch->{first}..$batch->{last}", shape => '', mutation => '',
					statement => '', state => '',
					message => "left in base/pgsql_tmp after the batch: @left" } if @left;
			}
			# SQLite handles are closed when their server is dropped: the
			# descriptors must not grow with the number of cases.
			if (defined $fds0 && defined $fds1 && $fds1 > $fds0 + 2)
			{
				push @{ $st->{findings} }, { kind => 'descriptor leak',
					case => "$batch->{first}..$batch->{last}", shape => '', mutation => '',
					statement => '', state => '',
					message => "backend $sess->{pid}: $fds0 open descriptors before the batch, $fds1 after" };
			}
		}
		else
		{
			$batch->{last} = $k - 1;
			wait_for_server($cfg) or do {
				push @{ $st->{findings} }, { kind => 'server does not come back', case => $k - 1,
					shape => '', mutation => '', statement => '', state => '', message => '' };
				last;
			};
		}
		push @{ $st->{batches} }, $batch;
		$log->(sprintf('cases %d..%d: %d statements so far, %d findings, %.0f s, backend %d: SQLite fds %s -> %s, RSS %s -> %s kB',
				$batch->{first}, $batch->{last}, $st->{statements}, scalar @{ $st->{findings} },
				time() - $t0, $batch->{pid}, $batch->{fds0} // '?', $batch->{fds1} // '?',
				$batch->{rss0} // '?', $batch->{rss1} // '?'));
	}
	$st->{secs} = time() - $t0;

	# The server log: no crash, no PANIC, no failed assertion.
	($st->{log_findings}, $st->{log_crashes}) = scan_log($cfg->{logfile}, $log_offset)
	  if defined $cfg->{logfile};
	return $st;
}

# The crash lines in the server log from byte $offset on, each group of
# nearby lines once with three lines of context; and the number of crashes,
# PANICs and failed assertions.
sub scan_log
{
	my ($logfile, $offset) = @_;
	my $text = '';
	if (open(my $fh, '<:raw', $logfile))
	{
		seek($fh, $offset, SEEK_SET);
		local $/;
		$text = <$fh> // '';
		close $fh;
	}
	my @lines = split /\n/, $text;
	my $bad = qr/terminated by signal|server process .* was terminated|PANIC|TRAP:|all server processes terminated/;
	my (@groups, $from, $to);
	foreach my $i ((grep { $lines[$_] =~ $bad } 0 .. $#lines), undef)
	{
		if (defined $to && (!defined $i || $i - 3 > $to + 1))
		{
			push @groups, join("\n", @lines[ $from .. $to ]);
			undef $to;
		}
		last unless defined $i;
		$from = ($i > 3 ? $i - 3 : 0) unless defined $to;
		$to = $i + 3 < $#lines ? $i + 3 : $#lines;
	}
	my $crashes = grep { /terminated by signal|was terminated by exception|TRAP:|PANIC/ } @lines;
	return (\@groups, $crashes);
}

sub summary_line
{
	my ($st) = @_;
	my $states = join(', ', map { "$_: $st->{by_state}{$_}" } sort keys %{ $st->{by_state} });
	my $crashes = $st->{crashes} > ($st->{log_crashes} // 0) ? $st->{crashes} : $st->{log_crashes} // 0;
	my $unexpected = grep { $_->{kind} eq 'unexpected SQLSTATE' } @{ $st->{findings} };
	return sprintf('fuzz: %d cases, %d statements, %d errors by SQLSTATE {%s}, %d crashes, %d unexpected',
		$st->{cases}, $st->{statements}, $st->{errors}, $states, $crashes, $unexpected);
}

sub detail_lines
{
	my ($st) = @_;
	my @l;
	push @l, sprintf('fuzz: %.0f s; %d imports succeeded, %d tables scanned, %d migrations succeeded',
		$st->{secs} // 0, $st->{imports_ok}, $st->{tables_scanned}, $st->{migrations_ok});
	foreach my $kind (qw(setup import list scan plan migrate migrate_quarantine migrate_widen cleanup))
	{
		my $h = $st->{by_kind}{$kind} or next;
		push @l, sprintf('fuzz:   %-8s %5d ok, %5d errors%s, %.1f s', $kind, $h->{ok} // 0,
			$h->{err} // 0, $h->{lost} ? ", $h->{lost} lost" : '', $st->{statement_secs}{$kind} // 0);
	}
	push @l, "fuzz:   e.g. $_ $st->{example}{$_}" foreach sort keys %{ $st->{example} || {} };
	push @l, 'fuzz: cases by mutation (imports ok, migrations ok): '
	  . join(', ', map {
			my $h = $st->{by_mutation}{$_};
			"$_ $h->{cases} (" . ($h->{import_ok} // 0) . ', ' . ($h->{migrate_ok} // 0) . ')'
	  } sort keys %{ $st->{by_mutation} || {} });
	push @l, 'fuzz: cases by shape: '
	  . join(', ', map { "$_ $st->{by_shape}{$_}" } sort keys %{ $st->{by_shape} || {} });
	foreach my $f (@{ $st->{findings} })
	{
		push @l, "FINDING: $f->{kind}: case $f->{case}"
		  . ($f->{case} =~ /^\d+$/ ? " (replay: --seed $f->{case} --cases 1 --keep)" : '');
		push @l, "  shape: $f->{shape}; mutation: $f->{mutation}" if $f->{shape};
		push @l, "  statement: $f->{statement}" if $f->{statement};
		push @l, "  SQLSTATE: $f->{state}" if $f->{state};
		push @l, map { "  | $_" } split /\n/, $f->{message} if $f->{message};
	}
	foreach my $t (@{ $st->{log_findings} || [] })
	{
		push @l, 'FINDING: server log:';
		push @l, map { "  | $_" } split /\n/, $t;
	}
	return @l;
}

sub ok_overall
{
	my ($st) = @_;
	return !@{ $st->{findings} } && !@{ $st->{log_findings} || [] } && !$st->{crashes};
}

# ------------------------------------------------------------------ program

sub find_bindir
{
	foreach my $d ('/usr/lib/postgresql/15/bin')
	{
		return $d if -x "$d/initdb";
	}
	my $pg_config = `pg_config --bindir 2>/dev/null`;
	chomp $pg_config;
	return $pg_config if $pg_config && -x "$pg_config/initdb";
	die "cannot find PostgreSQL 15's initdb; use --bindir\n";
}

sub main
{
	my @argv = @_;
	my %o = (cases => 3000, seed => 1, port => 54350, batch => 50,
		dir => '/var/tmp/sqlite_fdw_mig-fuzz');
	GetOptionsFromArray(\@argv, \%o, 'cases=i', 'seed=i', 'port=i', 'dir=s', 'bindir=s',
		'batch=i', 'keep', 'sqlite3=s', 'help')
	  or die "usage: fuzz.pl [--cases N] [--seed S] [--dir D] [--port P] [--batch B] [--keep]\n";
	if ($o{help})
	{
		print "usage: fuzz.pl [--cases N] [--seed S] [--dir D] [--port P] [--batch B] [--keep]\n";
		return 0;
	}
	die "run this as the postgres OS user, not root (initdb refuses root); see test/fuzz/README\n"
	  if $> == 0;
	my $bindir = $o{bindir} // find_bindir();
	my $dir = $o{dir};
	die "refusing scratch directory '$dir'\n" unless $dir =~ m{^/(var/)?tmp/[^/]+};
	$| = 1;

	# A cluster left from an earlier, killed run in our own scratch directory.
	if (-f "$dir/data/postmaster.pid")
	{
		system("$bindir/pg_ctl", '-D', "$dir/data", '-s', '-m', 'immediate', 'stop');
	}
	remove_tree($dir);
	make_path($dir, { mode => 0700 });
	my $data = "$dir/data";
	my $logfile = "$dir/postgres.log";
	my ($out, $err) = ('', '');
	IPC::Run::run([ "$bindir/initdb", '-D', $data, '-A', 'trust', '-E', 'UTF8', '--locale=C',
			'-N' ], '>', \$out, '2>', \$err)
	  or die "initdb failed:\n$out$err";
	open(my $conf, '>>', "$data/postgresql.conf") or die "$data/postgresql.conf: $!";
	print $conf <<"EOCONF";
port = $o{port}
listen_addresses = ''
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 20
restart_after_crash = on
log_line_prefix = '%m [%p] '
EOCONF
	close $conf;
	IPC::Run::run([ "$bindir/pg_ctl", '-D', $data, '-l', $logfile, '-w', '-s', 'start' ],
		'>', \$out, '2>', \$err)
	  or die "pg_ctl start failed:\n$out$err\n" . (-e $logfile ? `tail -20 $logfile` : '');
	my $stopped = 0;
	my $stop = sub {
		return if $stopped++;
		system("$bindir/pg_ctl", '-D', $data, '-s', '-m', 'fast', 'stop');
	};
	local $SIG{INT} = sub { $stop->(); exit 130; };
	local $SIG{TERM} = sub { $stop->(); exit 143; };

	my $st = eval {
		my ($o2, $e2) = ('', '');
		IPC::Run::run([ "$bindir/psql", '-X', '-q', '-h', $dir, '-p', $o{port}, '-d', 'postgres',
				'-v', 'ON_ERROR_STOP=1', '-c', 'CREATE EXTENSION sqlite_fdw_mig' ],
			'>', \$o2, '2>', \$e2)
		  or die "CREATE EXTENSION failed: $e2\n";
		run(
			psql => "$bindir/psql", host => $dir, port => $o{port}, dbname => 'postgres',
			sqlite3 => $o{sqlite3} // 'sqlite3', dir => "$dir/work", cases => $o{cases},
			seed => $o{seed}, batch => $o{batch}, keep => $o{keep}, logfile => $logfile,
			datadir => $data,
			log => sub { print "@_\n" });
	};
	my $fail = $@;
	$stop->();
	die $fail unless $st;
	print "$_\n" foreach detail_lines($st);
	print "server log: $logfile\n";
	print summary_line($st), "\n";
	return ok_overall($st) ? 0 : 1;
}

exit(main(@ARGV)) unless caller;

1;
