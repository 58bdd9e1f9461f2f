import { PERL_RESOLVE_USER } from './perlExecUser.js';

/**
 * The prologue that builds a command's physical view of a target container, in Perl because the
 * helper image (Paddock's base image, never the target's) has it and it can make raw syscalls.
 * Run as root in a helper container that shares the target's PID namespace, it:
 *  - joins the target's IPC, UTS, network and mount namespaces (after which it resolves nothing:
 *    every module it needs is loaded before, so nothing the target can write is ever loaded),
 *  - makes a private copy of the mount namespace and walks the target's tree (never following
 *    links): /dev/null goes over every blocked file and over every other hard link of one, an empty
 *    read-only tmpfs over every blocked folder,
 *  - starts a PID namespace of its own with a fresh /proc (the target's processes, their environ,
 *    root and cwd links are absent) masked and read-only where Docker's is,
 *  - drops every privilege for good (groups and ids of the target's user as its /etc/passwd says,
 *    no new privileges, root keeps only Docker's default capabilities, anyone else has none)
 *  - and only then runs the command (resolved in the target, like docker exec) or reads a file.
 * Exit code 125 with a "paddock-view:" line means the view could not be set up; nothing ran.
 * Mode exec-ready is exec that first writes VIEW_READY on stderr, its last act before it becomes
 * the command. argv: call mode user workdir maxBytes walkKey nPatterns patterns... nEnv env... -- argv...
 * `call` is unused here: it stays in this process's command line so VIEW_STOPPER can find it.
 */
/** The helper's tmpfs where the prologue keeps its walks of the target's tree. */
export const VIEW_WALKS = '/run/paddock-view';

/**
 * What the prologue in mode exec-ready writes on stderr once the view is built and it is about to
 * become the command: after it, an exit code of 125 is the command's own (./physicalView.ts
 * viewReadySignal). Only the first bytes of that stderr can be it: the command does not exist yet
 * when they are written, and the same bytes written by the command later are its output.
 */
export const VIEW_READY = '\0paddock-view-ready\n';

export const VIEW_PROLOGUE = String.raw`
use strict; use warnings; use POSIX (); use Time::HiRes ();
# argv: call mode user workdir maxBytes walkKey nPatterns patterns... nEnv env... -- argv...
my ($call, $mode, $user, $workdir, $max, $cacheKey, $np) = splice(@ARGV, 0, 7);
my @pat = map { qr/$_/s } splice(@ARGV, 0, $np);
my $ne = shift @ARGV; my @env = splice(@ARGV, 0, $ne);
shift @ARGV; my @cmd = @ARGV;
sub fail { print STDERR "paddock-view: $_[0]\n"; POSIX::_exit(125); }
my $arch = (POSIX::uname())[4];
my %nr = $arch eq 'x86_64' ? (setns => 308, unshare => 272, mount => 165, capset => 126, prctl => 157)
       : $arch eq 'aarch64' ? (setns => 268, unshare => 97, mount => 40, capset => 91, prctl => 167)
       : fail("unsupported architecture $arch");
sub sc { my $n = shift; my @a = @_; my $r = syscall($nr{$n}, @a); fail("$n(@{[join ',', map { defined $_ ? $_ : 'NULL' } @_]}): $!") if $r == -1; $r }
# Capabilities the command may keep (as root): what the target's own processes may have, and we hold.
my $capbnd = 0; my $capprm = 0;
{ open my $st, '<', '/proc/1/status' or fail("target: $!"); while (<$st>) { $capbnd = hex($1) if /^CapBnd:\s*([0-9a-f]+)/ } }
{ open my $st, '<', '/proc/self/status' or fail("self: $!"); while (<$st>) { $capprm = hex($1) if /^CapPrm:\s*([0-9a-f]+)/ } }
# The walk's result is kept in this helper (a tmpfs only its root reaches; the command never sees
# this mount namespace), folder by folder, and a folder is read again only when it changed: a name
# made, renamed, linked or removed changes its folder's ctime. A folder that changed in the 2 s
# before it was read is read again next time too (a change in the same clock tick as the look
# would leave its ctime as seen). Changed mounts mean a whole walk; nothing is kept where a mount is
# a filesystem that does not keep ctimes itself (FUSE, network). The file is opened here, before
# joining the target, and written after the walk; the newest complete one is read, the rest removed.
my $mountinfo = do { open my $mi, '<', '/proc/1/mountinfo' or fail("target mounts: $!"); local $/; <$mi> };
my $cacheDir = '${VIEW_WALKS}';
my ($cached, $cacheOut);
if ($cacheKey =~ /^[0-9a-f]{32}$/ && -d $cacheDir && opendir(my $cd, $cacheDir)) {
  my @mine = sort { $b->[1] <=> $a->[1] } map { [$_, (Time::HiRes::stat("$cacheDir/$_"))[9] // 0] } grep { /^$cacheKey\.\d+$/ } readdir $cd;
  for (@mine) {
    my $f = "$cacheDir/$_->[0]";
    if (!defined $cached && open my $fh, '<', $f) { local $/; my $t = <$fh> // ''; $cached = $t if substr($t, 0, 15) eq "paddock-view-3\0" && substr($t, -2) eq "\0E"; next if defined $cached }
    unlink $f;
  }
  open($cacheOut, '>', "$cacheDir/$cacheKey.$$") or undef $cacheOut;
}
my @ns;
for my $t (qw(ipc uts net mnt)) { open my $fh, '<', "/proc/1/ns/$t" or fail("open ns $t: $!"); push @ns, $fh; }
sc('setns', fileno($_), 0) for @ns;
sc('unshare', 0x00020000);                                   # CLONE_NEWNS
sc('mount', 'none', '/', 0, 0x4000 | 0x40000, 0);            # MS_REC|MS_PRIVATE
sub stamp { my @s = Time::HiRes::lstat($_[0]); return @s && -d _ && !-l _ ? ("$s[0]:$s[1]:$s[10]:$s[9]", $s[10]) : () }
# A folder as the walk keeps it: its stamp ('' when it changed in the 2 s before it was read: read
# again next time), whether it is inside a blocked folder, and its entries that matter, each
# [kind, path, inode or inside, links]: F blocked file, I file inside a blocked folder, L other file
# with more than one name, B blocked folder, S subfolder.
my $since = Time::HiRes::time() - 2;
sub scan {
  my ($dir, $inside) = @_;
  my ($st, $ctime) = stamp($dir);
  return undef unless defined $st;
  # Looked at before it is read: a change after the look shows as a newer ctime next time.
  my @entries;
  my $rec = { stamp => $ctime >= $since ? '' : $st, inside => $inside, entries => \@entries };
  opendir(my $dh, $dir) or return $rec;
  for my $name (readdir $dh) {
    next if $name eq '.' || $name eq '..';
    my $p = $dir eq '/' ? "/$name" : "$dir/$name";
    next if $p eq '/proc' || $p eq '/sys';
    my @s = lstat $p or next;
    next if -l _;
    my $isdir = -d _; my $isfile = -f _;
    my $hit = !$inside && grep { $p =~ $_ } @pat;
    if ($isdir) { push @entries, ['B', $p, '', ''] if $hit; push @entries, ['S', $p, $inside || $hit ? 1 : 0, '']; next }
    next unless $isfile;
    if ($hit) { push @entries, ['F', $p, "$s[0]:$s[1]", $s[3]] }
    elsif ($inside) { push @entries, ['I', $p, "$s[0]:$s[1]", $s[3]] }
    elsif ($s[3] > 1) { push @entries, ['L', $p, "$s[0]:$s[1]", $s[3]] }
  }
  closedir $dh;
  return $rec;
}
# The tree from /: folders with a kept record whose stamp is unchanged are not read again; the
# others (changed, new, or moved under a blocked folder) are. Records no longer reached are dropped.
my (%tree, %fresh);
sub reach {
  my %reached; my @stack = (['/', 0]);
  while (@stack) {
    my ($d, $in) = @{ pop @stack };
    next if $reached{$d};
    my $rec = $tree{$d};
    if (!$rec || $rec->{inside} != $in) { $rec = scan($d, $in) or next; $fresh{$d} = 1 }
    $reached{$d} = $rec;
    push @stack, map { [$_->[1], $_->[2]] } grep { $_->[0] eq 'S' } @{ $rec->{entries} };
  }
  %tree = %reached;
}
# The file: version, mounts, every folder's stamp, the blocked files and folders found (all a call
# needs when nothing changed), then ENTRIES: each folder's record (read only when something changed).
my ($cut, @head) = (defined $cached ? index($cached, "\0ENTRIES\0") : -1);
@head = split /\0/, substr($cached, 0, $cut), -1 if $cut > 0;
my $kept = @head > 2 && $head[1] eq $mountinfo;
my (%blocked, %names, @files, @dirs, $unchanged);
if ($kept) {
  my $i = 2; my $n = $head[$i++]; $unchanged = 1;
  for (1 .. $n) { my ($p, $st) = @head[$i, $i + 1]; $i += 2; my ($now) = stamp($p); if (!(defined $now && $st ne '' && $now eq $st)) { $unchanged = 0; last } }
  if ($unchanged) { my $nf = $head[$i++]; @files = @head[$i .. $i + $nf - 1]; $i += $nf; my $nd = $head[$i++]; @dirs = @head[$i .. $i + $nd - 1] }
}
if ($kept && !$unchanged) {
  my $c = [split /\0/, substr($cached, $cut + 9), -1]; my $i = 0;
  while ($i < $#$c && $c->[$i] eq 'D') {
    my ($path, $st, $in, $n) = @$c[$i + 1 .. $i + 4]; $i += 5;
    my @entries; push @entries, [@$c[$i + 4 * $_ .. $i + 4 * $_ + 3]] for 0 .. $n - 1; $i += 4 * $n;
    $tree{$path} = { stamp => $st, inside => $in, entries => \@entries };
  }
  for my $d (keys %tree) { my ($now) = stamp($d); delete $tree{$d} unless defined $now && $tree{$d}{stamp} ne '' && $now eq $tree{$d}{stamp} }
}
if (!$unchanged) {
  sub tally {
    (%blocked, %names, @files, @dirs) = ();
    for my $rec (values %tree) {
      for (@{ $rec->{entries} }) {
        my ($kind, $p, $ino) = @$_;
        if ($kind eq 'B') { push @dirs, $p }
        elsif ($kind eq 'F' || $kind eq 'I') { $blocked{$ino} = 1; push @files, $p if $kind eq 'F'; push @{ $names{$ino} }, [$kind, $p] }
        elsif ($kind eq 'L') { push @{ $names{$ino} }, [$kind, $p] }
      }
    }
  }
  reach(); tally();
  # A name read again that shares a blocked file's inode, while fewer of its names are known than it
  # has, may have other names in folders not read again (they had one name then): walk everything.
  if ($kept && grep { my $rec = $tree{$_}; grep { $_->[0] =~ /^[FIL]$/ && $_->[3] > 1 && $blocked{$_->[2]} && @{ $names{$_->[2]} } < $_->[3] } @{ $rec->{entries} } } keys %fresh) {
    %tree = (); reach(); tally();
  }
  push @files, map { $_->[1] } grep { $_->[0] eq 'L' } map { @{ $names{$_} } } keys %blocked;
  # Kept only where every mount is a filesystem that keeps ctimes itself (not FUSE or network ones).
  if ($cacheOut && !grep { my @f = split / /; my ($sep) = grep { $f[$_] eq '-' } 0 .. $#f;
      $f[4] !~ m{^/(proc|sys)(/|$)} && ($f[$sep + 1] // '') !~ /^(overlay|ext[234]|xfs|btrfs|zfs|f2fs|tmpfs|devpts|mqueue)$/ } split /\n/, $mountinfo) {
    my @kept = keys %tree;
    print $cacheOut join("\0", 'paddock-view-3', $mountinfo, scalar @kept, (map { ($_, $tree{$_}{stamp}) } @kept), scalar @files, @files, scalar @dirs, @dirs,
      'ENTRIES', (map { my $r = $tree{$_}; ('D', $_, $r->{stamp}, $r->{inside}, scalar @{ $r->{entries} }, map { @$_ } @{ $r->{entries} }) } @kept), 'E');
  }
}
close $cacheOut if $cacheOut;
# Every folder above a blocked path is bound onto itself first (with what is mounted below it), so
# it is a mount point the command cannot rename or remove (EBUSY): a pattern that names a parent
# (/app/config/credentials.json) would no longer match once the parent had moved, at the next call.
my %above; for my $p (@files, @dirs) { my $d = $p; while ($d =~ s{/[^/]+$}{} && $d ne '') { $above{$d} = 1 } }
for my $d (sort { length($a) <=> length($b) } keys %above) { sc('mount', $d, $d, 0, 0x1000 | 0x4000, 0) }   # MS_BIND|MS_REC, parents first
for my $d (@dirs) { sc('mount', 'tmpfs', $d, 'tmpfs', 1|2|4|8, 'size=4k,mode=0555') }
for my $f (@files) { sc('mount', '/dev/null', $f, 0, 0x1000, 0) }
# Resolve the user in the target's own files, as docker exec would.
${PERL_RESOLVE_USER}
# A PID namespace of its own: the target's processes (their /proc/PID/root, cwd, environ) are absent.
sc('unshare', 0x20000000);                                   # CLONE_NEWPID
my $child = fork // fail("fork: $!");
if ($child) { waitpid($child, 0); POSIX::_exit(($? & 127) ? 128 + ($? & 127) : $? >> 8) }
sc('mount', 'proc', '/proc', 'proc', 2|4|8, 0);
for my $p (qw(/proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /proc/latency_stats /proc/timer_stats)) { sc('mount', '/dev/null', $p, 0, 0x1000, 0) if -e $p }
for my $p (qw(/proc/acpi /proc/scsi)) { sc('mount', 'tmpfs', $p, 'tmpfs', 1|2|4|8, 'size=4k,mode=0555') if -d $p }
for my $p (qw(/proc/bus /proc/fs /proc/irq /proc/sys /proc/sysrq-trigger)) { next unless -e $p; sc('mount', $p, $p, 0, 0x1000, 0); sc('mount', $p, $p, 0, 0x1000|32|1|2|4|8, 0) }
# Drop every privilege for good: groups and ids, no new privileges, and no capability beyond
# docker's default set (root keeps those, as docker exec gives them; anyone else has none).
$) = join ' ', $gid, @groups; $( = $gid; fail("setgid: $!") if $( != $gid;
my $keep = 0; $keep |= 1 << $_ for 0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31; $keep &= $capbnd & $capprm;
for my $c (0 .. 63) { next if $keep & (1 << $c); my $r = syscall($nr{prctl}, 24, $c, 0, 0, 0); last if $r == -1 && $c > 40 }   # PR_CAPBSET_DROP
sc('prctl', 47, 4, 0, 0, 0);                                  # PR_CAP_AMBIENT_CLEAR_ALL
sc('prctl', 38, 1, 0, 0, 0);                                  # PR_SET_NO_NEW_PRIVS
POSIX::setuid($uid) or fail("setuid: $!"); fail("uid") if $< != $uid || $> != $uid;
if ($uid == 0) { my $hdr = pack('LL', 0x20080522, 0); my $data = pack('LLLLLL', $keep & 0xffffffff, $keep & 0xffffffff, 0, $keep >> 32, $keep >> 32, 0); sc('capset', $hdr, $data) }
%ENV = (); for (@env) { my ($k, $v) = split /=/, $_, 2; $ENV{$k} = $v } $ENV{HOME} //= $home // '/';
chdir $workdir or chdir '/';
if ($mode eq 'read') {
  open my $fh, '<', $cmd[0] or do { print STDERR "$cmd[0]: $!\n"; POSIX::_exit(1) };
  my @s = stat $fh; -f _ or -c _ && $s[6] == (stat '/dev/null')[6] or do { print STDERR "$cmd[0]: not a file\n"; POSIX::_exit(2) };
  read($fh, my $buf, $max) // do { print STDERR "$cmd[0]: $!\n"; POSIX::_exit(1) };
  my $out = "$s[7]\n$buf"; while (length $out) { my $n = syswrite(STDOUT, $out) // POSIX::_exit(1); substr($out, 0, $n) = '' } POSIX::_exit(0);
}
# Everything that can fail in the view has been done: say so (the bridge then times the command alone).
syswrite(STDERR, pack('H*', '${Buffer.from(VIEW_READY).toString('hex')}')) if $mode eq 'exec-ready';
exec { $cmd[0] } @cmd or do { print STDERR "$cmd[0]: $!\n"; POSIX::_exit(127) };
`;

/**
 * Stops one call's command in a view: run in the same helper container with the call's id, it finds
 * the prologue whose command line carries that id (in the helper's own cgroup, so a process of the
 * target that copies the command line is never taken for it), stops it so it forks no more, kills its
 * child with SIGKILL and then the prologue. That child is the init of the command's PID namespace, so
 * the kernel kills every process left in it: a command cannot outlive it by setsid, nohup, a double
 * fork or a PID namespace of its own (which is nested in this one). Prints how many prologues it stopped.
 */
export const VIEW_STOPPER = String.raw`
use strict; use warnings;
my $call = $ARGV[0];
sub slurp { open my $fh, '<', $_[0] or return undef; local $/; my $s = <$fh>; return $s }
sub pids { opendir my $dh, '/proc' or die "paddock-view: /proc: $!\n"; return grep { /^\d+$/ && $_ != $$ } readdir $dh }
my $mine = slurp('/proc/self/cgroup') // die "paddock-view: no /proc/self/cgroup\n";
my @calls = grep {
  my @a = split /\0/, (slurp("/proc/$_/cmdline") // '');
  @a > 3 && $a[0] eq 'perl' && $a[1] eq '-e' && $a[3] eq $call && (slurp("/proc/$_/cgroup") // '') eq $mine
} pids();
kill 'STOP', @calls;
# Listed once they are stopped, so a child forked just before is among them.
my %theirs = map { $_ => 1 } @calls;
my @children = grep { (slurp("/proc/$_/stat") // '') =~ /.*\)\s+\S\s+(\d+)/s && $theirs{$1} } pids();
kill 'KILL', @children;
kill 'KILL', @calls;
print scalar(@calls), "\n";
`;
