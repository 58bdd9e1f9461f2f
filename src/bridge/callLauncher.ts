import { PERL_RESOLVE_USER } from './perlExecUser.js';

/**
 * The launcher of a bridge command run straight in a target without the physical view (a runtime
 * such as gVisor, whose namespaces no helper joins). In Perl, which every Debian-based image has
 * (perl-base), run by docker exec as root in the target with the call's mark in its environment, it
 * keeps every process the command starts where the stopper finds it, even one that clears its
 * environment, calls setsid and forks twice:
 *  - pidns: the launcher's child is made in a user namespace (every id mapped to itself, by the
 *    launcher outside it, so ids, groups and file access are as before) and a PID namespace, and
 *    the command, which it becomes, is that namespace's init: when it ends or is killed, the kernel kills every
 *    process left in it. Nothing in it can leave it or signal the launcher.
 *  - subreaper: where no user namespace can be made, the launcher is a child subreaper
 *    (PR_SET_CHILD_SUBREAPER): an orphaned descendant is re-parented to it, never out of its tree.
 *    A root command can kill the launcher (the same uid), and its orphans then go to the target's
 *    init; so the launcher first sets its audit login uid to the call's own number (callLoginUid):
 *    set once, inherited by every process the command starts, changed by none (that needs
 *    CAP_AUDIT_CONTROL, which docker exec never gives), and the stopper finds by it what left the
 *    tree. Why not a uid the command lacks and no CAP_KILL for root: root keeps CAP_SETUID (apt,
 *    su, daemons need it), so it could take the launcher's uid and kill it anyway. Where the login
 *    uid cannot be set (a kernel without audit, an engine started with one set), the probe says
 *    so (subreaper-noauid) and the launcher runs without it.
 * Where neither works (or the target has no perl), the command runs as before, found by its mark only.
 * The command then runs as docker exec would have run it: the target's user (ids and groups as its
 * /etc/passwd and /etc/group say), HOME from /etc/passwd when the container sets none, the
 * container's environment, the same capabilities (Docker's default set for root, none for others),
 * and its exit code (128 + N for signal N).
 * argv: mode user homeSet arch auid nRestore NAME=VALUE... -- argv...   (mode probe prints the mode that works;
 * arch is the image's, amd64 or arm64: perl's system call numbers are its binary's; auid the call's login uid, or '')
 * A launcher that cannot do what its mode says exits 125 with a "paddock-view:" line: nothing ran.
 */
export const CALL_LAUNCHER = String.raw`
use strict; use warnings; $| = 1;   # no other module: under gVisor one can cost 100 ms of start-up
my ($mode, $user, $homeSet, $arch, $auid, $nr) = splice(@ARGV, 0, 6); my @restore = splice(@ARGV, 0, $nr); shift @ARGV; my @cmd = @ARGV;
sub fail { print STDERR "paddock-view: $_[0]\n"; exit 125 }
my %nr = $arch eq 'amd64' ? (clone => 56, capset => 126, prctl => 157, setresuid => 117)
       : $arch eq 'arm64' ? (clone => 220, capset => 91, prctl => 167, setresuid => 147) : ();
# The container's own values of what was set only for this launcher.
delete @ENV{qw(PERL5LIB PERL5OPT)}; for (@restore) { my ($k, $v) = split /=/, $_, 2; $ENV{$k} = $v }
# The user as docker exec resolves it in the target's own files.
${PERL_RESOLVE_USER}
$ENV{HOME} = $home // '/' unless $homeSet;
# Root keeps what this docker exec gave it (Docker's default set, as the target allows), nobody more.
my $keep = 0;
{ open my $st, '<', '/proc/self/status' or fail("/proc/self/status: $!"); while (<$st>) { $keep = hex($1) if /^CapEff:\s*([0-9a-f]+)/ } }
sub status { my $s = shift; ($s & 127) ? 128 + ($s & 127) : $s >> 8 }
# Becomes the user and runs the command (in the namespaces made, whose capabilities are dropped first).
sub run {
  my ($inNs) = @_;
  if ($inNs) {
    for my $c (0 .. 63) { next if $keep & (1 << $c); my $r = syscall($nr{prctl}, 24, $c, 0, 0, 0); last if $r == -1 && $c > 40 }   # PR_CAPBSET_DROP
  }
  $) = join ' ', $gid, @groups; $( = $gid; fail("setgid: $!") if $( != $gid;
  syscall($nr{setresuid}, $uid + 0, $uid + 0, $uid + 0) == 0 or fail("setresuid: $!"); fail("uid") if $< != $uid || $> != $uid;
  if ($inNs && $uid == 0) { my $hdr = pack('LL', 0x20080522, 0); my $data = pack('LLLLLL', $keep & 0xffffffff, $keep & 0xffffffff, 0, $keep >> 32, $keep >> 32, 0); syscall($nr{capset}, $hdr, $data) == 0 or fail("capset: $!") }
  exec { $cmd[0] } @cmd or do { print STDERR "$cmd[0]: $!\n"; exit($! == 2 ? 127 : 126) };
}
sub pidns {
  # One clone (a fork costs up to 200 ms under gVisor): the child is at once the init of a new PID
  # namespace, in a new user namespace whose ids this process (outside it) maps before it goes on.
  pipe(my $mappedR, my $mappedW) or fail("pipe: $!");
  my $child = syscall($nr{clone}, 0x10000000 | 0x20000000 | 17, 0, 0, 0, 0);   # CLONE_NEWUSER|CLONE_NEWPID|SIGCHLD
  return "clone: $!" if $child == -1;
  if (!$child) { close $mappedW; (sysread($mappedR, my $go, 2) // 0) == 2 or exit 125; run(1) }
  close $mappedR;
  my $map = sub { my ($f) = @_; open my $fh, '>', "/proc/$child/$f" or return "$f: $!"; (syswrite($fh, "0 0 4294967295\n") && close $fh) ? '' : "$f: $!" };
  my $why = $map->('uid_map') || $map->('gid_map');
  if ($why) { kill 'KILL', $child; waitpid($child, 0); return $why }
  syswrite $mappedW, 'go'; close $mappedW;
  waitpid($child, 0); exit(status($?));
}
sub subreaper {
  my ($loginuid) = @_;
  syscall($nr{prctl}, 36, 1, 0, 0, 0) == 0 or return "PR_SET_CHILD_SUBREAPER: $!";
  # Before the fork: the command and all it starts inherit it (see above).
  if ($loginuid ne '') { my $l; (open($l, '>', '/proc/self/loginuid') && syswrite($l, $loginuid) && close($l)) or return "loginuid: $!" }
  my $child = fork // fail("fork: $!");
  run(0) unless $child;
  while ((my $w = waitpid(-1, 0)) > 0) { exit(status($?)) if $w == $child }
  exit(125);
}
if ($mode eq 'probe') {
  # The first mode whose launch of a command that only exits works here, as this user.
  @cmd = ($^X, '-e', 'exit 7');
  for my $m (qw(pidns subreaper subreaper-noauid)) {
    if (!%nr) { print STDERR "no system call numbers for $arch\n"; last }
    my $p = fork // fail("fork: $!");
    if (!$p) { my $why = $m eq 'pidns' ? pidns() : subreaper($m eq 'subreaper' ? $auid : ''); print STDERR "$m: $why\n"; exit(125) }
    waitpid($p, 0);
    if (status($?) == 7) { print "$m\n"; exit(0) }
  }
  print "mark\n"; exit(0);
}
fail("no system call numbers for $arch") if !%nr;
my $why = $mode eq 'pidns' ? pidns() : $mode eq 'subreaper' ? subreaper($auid) : "mode $mode unknown";
fail("the call's $mode could not be set up ($why)");
`;
