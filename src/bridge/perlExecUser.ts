/**
 * Perl that resolves `$user` (a container's User: name or id, optionally :group) in the target's own
 * /etc/passwd and /etc/group, as docker exec does: sets $uid, $gid, $home (undef when not listed) and
 * @groups (the primary group and every group that lists the user). Needs a `fail` sub. Shared by the
 * view's prologue and the launcher of commands run without the view.
 */
export const PERL_RESOLVE_USER = String.raw`
my ($uname, $gname) = split /:/, ($user eq '' ? 'root' : $user), 2;
my ($uid, $gid, $home);
sub lookup { my ($file, $key) = @_; open my $fh, '<', $file or return; while (<$fh>) { chomp; my @f = split /:/; return @f if $f[0] eq $key || ($key =~ /^\d+$/ && $f[2] eq $key) } return }
if (my @pw = lookup('/etc/passwd', $uname)) { ($uid, $gid, $home) = ($pw[2], $pw[3], $pw[5]) }
elsif ($uname =~ /^\d+$/) { ($uid, $gid) = ($uname, 0) } else { fail("user $uname is not in the target's /etc/passwd") }
if (defined $gname) { if (my @gr = lookup('/etc/group', $gname)) { $gid = $gr[2] } elsif ($gname =~ /^\d+$/) { $gid = $gname } else { fail("group $gname unknown") } }
my @groups = ($gid);
if (open my $gf, '<', '/etc/group') { while (<$gf>) { chomp; my @f = split /:/; push @groups, $f[2] if grep { $_ eq $uname } split /,/, ($f[3] // '') } }
`;
