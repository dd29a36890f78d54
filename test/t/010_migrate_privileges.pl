# Copyright: part of sqlite_fdw_mig.
#
# Who may run migrate_sqlite() and migrate_sqlite_plan(): reading a server
# file needs pg_read_server_files (42501 otherwise, even with EXECUTE);
# a member of it with CREATE on the target schema and nothing else can
# migrate; without CREATE on the schema it gets 42501.  Two migrations of
# the same file into two schemas run at the same time from two sessions,
# both inside open transactions, and both succeed.  The plan function
# leaves nothing behind.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# ---------------------------------------------------------------- SQLite file
my $db = "$PostgreSQL::Test::Utils::tmp_check/priv.db";
unlink $db;
system_or_bail('sqlite3', $db, <<'EOSQL');
CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE);
INSERT INTO items (name) VALUES ('one'), ('two'), ('three');
CREATE TABLE tags (id INTEGER PRIMARY KEY, item_id INTEGER REFERENCES items (id), tag TEXT);
CREATE INDEX tags_tag ON tags (tag);
INSERT INTO tags VALUES (1, 1, 'a'), (2, 2, 'b');
EOSQL
ok(-s $db, 'SQLite file created');

# ---------------------------------------------------------------- cluster
my $node = PostgreSQL::Test::Cluster->new('migrate_privileges');
$node->init;
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION sqlite_fdw_mig;
REVOKE CREATE ON DATABASE postgres FROM PUBLIC;
CREATE ROLE nobody LOGIN;
CREATE ROLE executor LOGIN;
GRANT EXECUTE ON FUNCTION migrate_sqlite(text, name, text, text, text[], jsonb, text, boolean, name),
  migrate_sqlite_plan(text, name, text, text, text[], jsonb, text, boolean, name) TO executor;
CREATE ROLE reader LOGIN IN ROLE pg_read_server_files;
CREATE SCHEMA s1;
CREATE SCHEMA s2;
CREATE SCHEMA s3;
CREATE SCHEMA s4;
GRANT CREATE, USAGE ON SCHEMA s1, s2, s4 TO reader, nobody, executor;
GRANT USAGE ON SCHEMA s3 TO reader;
});

# Run $sql as $role; return (exit code, stdout, stderr) with SQLSTATEs shown.
sub as_role
{
	my ($role, $sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\n$sql",
		extra_params => [ '-U', $role ]);
	return ($ret, $out, $err);
}

# The objects a migration may leave behind.
my $leftovers_sql = q{SELECT (SELECT count(*) FROM pg_foreign_server) || '/' ||
  (SELECT count(*) FROM pg_class) || '/' ||
  (SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'pg_temp%')};

# ------------------------------------------------ no pg_read_server_files
for my $role ('nobody', 'executor')
{
	for my $fn ('migrate_sqlite', 'migrate_sqlite_plan')
	{
		my ($ret, $out, $err) = as_role($role, "SELECT * FROM $fn('$db', 's1');");
		isnt($ret, 0, "$role: $fn fails");
		like($err, qr/ERROR:  42501:/, "$role: $fn fails with 42501");
	}
}
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM pg_class WHERE relnamespace = 's1'::regnamespace}),
	'0', 'nothing created by the refused calls');

# ------------------------------------------------ member of pg_read_server_files
{
	my $before = $node->safe_psql('postgres', $leftovers_sql);
	my ($ret, $out, $err) = as_role('reader',
		"SELECT count(*) FROM migrate_sqlite_plan('$db', 's1');");
	is($ret, 0, 'reader: migrate_sqlite_plan works') or diag($err);
	cmp_ok($out, '>', 0, 'reader: the plan has statements');
	is($node->safe_psql('postgres', $leftovers_sql), $before,
		'migrate_sqlite_plan leaves no server, relation or schema behind');

	($ret, $out, $err) = as_role('reader', "SELECT * FROM migrate_sqlite('$db', 's3');");
	isnt($ret, 0, 'reader without CREATE on the schema fails');
	like($err, qr/ERROR:  42501:/, 'reader without CREATE on the schema: 42501');
	is($node->safe_psql('postgres', $leftovers_sql), $before,
		'the refused migration left nothing behind');

	($ret, $out, $err) = as_role('reader',
		"SELECT source_table, target_rows, status FROM migrate_sqlite('$db', 's4') WHERE source_rows IS NOT NULL ORDER BY 1;");
	is($ret, 0, 'reader with CREATE on the schema can migrate') or diag($err);
	is($out, "items|3|migrated\ntags|2|migrated", 'reader: the report');
	is($node->safe_psql('postgres', q{
		SELECT string_agg(c.relname || ':' || pg_get_userbyid(c.relowner), ',' ORDER BY c.relname)
		  FROM pg_class c WHERE c.relnamespace = 's4'::regnamespace AND c.relkind = 'r'}),
		'items:reader,tags:reader', 'the tables belong to the caller');
	is($node->safe_psql('postgres', q{
		SELECT count(*) FROM pg_constraint WHERE connamespace = 's4'::regnamespace AND contype = 'f'}),
		'1', 'the foreign key was created');
	is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_foreign_server}),
		'0', 'no staging server left');
	($ret, $out, $err) = as_role('reader',
		"INSERT INTO s4.items (name) VALUES ('four') RETURNING id;");
	is($out, '4', 'identity continues after the migration');
}

# ------------------------------------------------ two sessions at once
{
	my $a = $node->background_psql('postgres', on_error_stop => 0,
		extra_params => [ '-U', 'reader' ]);
	my $b = $node->background_psql('postgres', on_error_stop => 0,
		extra_params => [ '-U', 'reader' ]);

	# the copies' NOTICEs show timings: keep warnings and errors only
	$a->query('SET client_min_messages = warning');
	$b->query('SET client_min_messages = warning');
	$a->{stderr} = '';
	$b->{stderr} = '';
	$a->query('BEGIN');
	$b->query('BEGIN');
	my ($out_a) = $a->query(
		"SELECT string_agg(source_table || ':' || target_rows, ',' ORDER BY 1) FROM migrate_sqlite('$db', 's1')");
	my ($out_b) = $b->query(
		"SELECT string_agg(source_table || ':' || target_rows, ',' ORDER BY 1) FROM migrate_sqlite('$db', 's2')");
	is($out_a, 'items:3,tags:2', 'session A migrated into s1 inside its transaction');
	is($out_b, 'items:3,tags:2', 'session B migrated into s2 while A is still open');
	is($a->{stderr}, '', 'session A: no error');
	is($b->{stderr}, '', 'session B: no error');
	is($node->safe_psql('postgres',
			q{SELECT count(*) FROM pg_class WHERE relnamespace IN ('s1'::regnamespace, 's2'::regnamespace)}),
		'0', 'nothing visible before the commits');
	$a->{stderr} = '';
	$b->{stderr} = '';
	$a->query('COMMIT');
	$b->query('COMMIT');
	is($a->{stderr}, '', 'session A: commit');
	is($b->{stderr}, '', 'session B: commit');
	$a->quit;
	$b->quit;

	is($node->safe_psql('postgres', q{
		SELECT (SELECT count(*) FROM s1.items) || ',' || (SELECT count(*) FROM s1.tags) || ',' ||
		       (SELECT count(*) FROM s2.items) || ',' || (SELECT count(*) FROM s2.tags)}),
		'3,2,3,2', 'both migrations committed their rows');
	is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_foreign_server}),
		'0', 'no staging server left after the concurrent runs');
	is($node->safe_psql('postgres',
			q{SELECT string_agg(target_schema, ',' ORDER BY target_schema) FROM sqlite_migration_history}),
		's1,s2,s4', 'the history has every run');
}

$node->stop;
done_testing();
