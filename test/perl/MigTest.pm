
# Copyright: part of sqlite_fdw_mig.
#
# Helpers shared by the TAP scripts in test/t: running statements in a
# PostgreSQL::Test::BackgroundPsql session and reading back what they printed.

package MigTest;

use strict;
use warnings;

use Exporter 'import';
use IPC::Run;
use PostgreSQL::Test::Utils;

our @EXPORT = qw(bg_query bg_quiet bg_start header_modes);

# Run $sql in the background session; return its output and its stderr alone
# (trailing white space removed).
sub bg_query
{
	my ($session, $sql) = @_;
	$session->{stderr} = '';
	my ($out) = $session->query($sql);
	my $err = $session->{stderr};
	$err =~ s/\s+$//;
	return ($out, $err);
}

# Like bg_query, for a long batch of statements: waits for a marker instead
# of logging every statement and its output to the TAP log.
my $quiet_cnt = 0;

sub bg_quiet
{
	my ($session, $sql) = @_;
	my $marker = 'quiet_batch_done_' . ++$quiet_cnt;
	$session->{stdout} = '';
	$session->{stderr} = '';
	$session->{stdin} .= "$sql\n\\echo '$marker'\n\\warn '$marker'\n";
	my $timer = IPC::Run::timer($PostgreSQL::Test::Utils::timeout_default * 4);
	$timer->start;
	$session->{run}->pump
	  until ($session->{stdout} =~ /^$marker$/m
		  && $session->{stderr} =~ /^$marker$/m)
	  || $timer->is_expired
	  || !$session->{run}->pumpable;
	die "batch did not finish" unless $session->{stderr} =~ /^$marker$/m;
	my ($o, $e) = ($session->{stdout}, $session->{stderr});
	$o =~ s/^$marker\n//m;
	$e =~ s/^$marker\n//m;
	$session->{stdout} = '';
	$session->{stderr} = '';
	return ($o, $e);
}

# Start $sql in the background session without waiting for it;
# "done_<tag>" is echoed to its stdout when it ends.
sub bg_start
{
	my ($session, $sql, $tag) = @_;
	$session->{stderr} = '';
	$session->{stdout} = '';
	$session->query_until(qr/started_$tag/,
		"\\echo started_$tag\n$sql;\n\\echo done_$tag\n");
}

# Bytes 18 and 19 of a SQLite header: 1/1 rollback journal, 2/2 WAL.
sub header_modes
{
	my ($path) = @_;
	open(my $fh, '<:raw', $path) or die "could not open $path: $!";
	read($fh, my $h, 20) == 20 or die "short header in $path";
	close($fh);
	return join('/', unpack('C C', substr($h, 18, 2)));
}

1;
