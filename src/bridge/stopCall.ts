import { createHash } from 'node:crypto';
import type Docker from 'dockerode';
import { execCollect } from '../engine/docker.js';
import { CALL_LAUNCHER } from './callLauncher.js';

/**
 * Marks a command run without the physical view (straight in the target, as docker exec runs it):
 * its processes, and every one they start, inherit it, so STOP_MARKED can find them.
 */
export const CALL_MARK = 'PADDOCK_BRIDGE_CALL';

/**
 * The audit login uid the subreaper launcher gives a call's processes (CALL_LAUNCHER): the call's own
 * number, never unset (4294967295), so no other process in the target has it.
 */
export function callLoginUid(call: string): string {
  return String(0x80000000 + (parseInt(createHash('sha256').update(call).digest('hex').slice(0, 8), 16) & 0x7ffffffe));
}

/**
 * Stops the processes of one call in a target that has no physical view (a runtime such as gVisor,
 * whose namespaces no helper can join): run there as root with the target's own POSIX sh and grep (or
 * cat), it takes every process whose environment holds the call's mark (the launcher, CALL_LAUNCHER,
 * and what kept the mark) or whose login uid is the call's (callLoginUid: what a root command orphaned
 * after killing its subreaper launcher) and every descendant of one (by each process's PPid), stops them all, looks
 * again until no new one appears (a stopped process forks no more), then kills them; again until
 * three looks a moment apart find none. Under the launcher nothing the command starts leaves that
 * tree: the command is the init of a PID namespace the launcher's child made (its end kills the
 * rest), or the launcher is a subreaper that orphans are re-parented to. Prints how many it killed.
 * A process that names itself "...\nPPid: N" (names are not escaped in every runtime's status file)
 * only adds a line of its own: its real PPid line is still read, so it cannot hide from the walk.
 */
const STOP_MARKED = `mark="${CALL_MARK}=$1"; auid="$2"; n=0
# One grep for all processes where it reads NUL-separated text; else cat each (its own environ holds no mark).
if printf 'a\\0' | grep -qz a 2>/dev/null; then
  marked() { { grep -lsxzF -- "$mark" /proc/[0-9]*/environ; grep -lsxF -- "$auid" /proc/[0-9]*/loginuid; } | while read -r f; do f=\${f#/proc/}; echo "\${f%/*}"; done; }
else
  marked() { for d in /proc/[0-9]*; do l=; IFS= read -r l < "$d/loginuid" 2>/dev/null; case "$l" in "$auid") echo "\${d#/proc/}"; continue;; esac; case "$(cat "$d/environ" 2>/dev/null)" in *"$mark"*) echo "\${d#/proc/}";; esac; done; }
fi
# Every process as pid,ppid: every PPid line of its status file counts.
if command -v grep >/dev/null 2>&1; then
  parents() { grep -Hs '^PPid:' /proc/[0-9]*/status | while IFS= read -r l; do f=\${l%%/status:*}; echo "\${f#/proc/},\${l##*[!0-9]}"; done; }
else
  parents() { for d in /proc/[0-9]*; do while IFS= read -r l; do case $l in PPid:*) echo "\${d#/proc/},\${l##*[!0-9]}";; esac; done < "$d/status"; done 2>/dev/null; }
fi
# The marked processes and all their descendants, as " pid pid ... ".
tree() {
  t=" "; for p in $(marked); do t="$t$p "; done
  [ "$t" = " " ] && return
  edges=$(parents); grew=1
  while [ $grew = 1 ]; do
    grew=0
    for e in $edges; do
      case $t in *" \${e#*,} "*) case $t in *" \${e%,*} "*) ;; *) t="$t\${e%,*} "; grew=1;; esac;; esac
    done
  done
  echo "$t"
}
empty=0
for round in 1 2 3 4 5 6 7 8 9 10 11 12; do
  pids=$(tree)
  if [ -z "$pids" ]; then
    empty=$((empty + 1)); [ "$empty" -ge 3 ] && break
    sleep 0.05 2>/dev/null || sleep 1
    continue
  fi
  empty=0; stopped=" "
  while :; do
    new=""
    for p in $pids; do [ "$p" = 1 ] || [ "$p" = $$ ] && continue; case $stopped in *" $p "*) ;; *) new="$new $p"; stopped="$stopped$p ";; esac; done
    [ -z "$new" ] && break
    kill -STOP $new 2>/dev/null
    pids=$(tree)
  done
  kill -KILL $stopped 2>/dev/null
  set -- $stopped; n=$((n + $#))
done
echo "$n"`;

/**
 * Runs `attempt` (one stopper run) until the engine says the call's exec has ended: the call may
 * have been cancelled as its process was starting. False when it did not end within `timeoutMs`.
 */
export async function stopUntilEnded(attempt: () => Promise<unknown>, exec: Docker.Exec | undefined, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; ;) {
    await attempt();
    const running = exec ? await exec.inspect().then((e) => e.Running, () => false) : false;
    if (!running) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Stops call `call` run straight in `containerId` (STOP_MARKED, as root); throws when the target cannot run the stopper. */
export async function stopMarkedCall(docker: Docker, containerId: string, call: string, exec: Docker.Exec | undefined, timeoutMs = 30_000): Promise<boolean> {
  return stopUntilEnded(async () => {
    const { exitCode, stderr } = await execCollect(docker, containerId, { Cmd: ['sh', '-c', STOP_MARKED, 'sh', call, callLoginUid(call)], WorkingDir: '/', User: '0:0', Env: ROOT_ENV }, { timeoutMs: 20_000 });
    if (exitCode !== 0) throw new Error(`its stopper (sh with grep or cat in the target) failed: ${stderr.trim().split('\n')[0] || `exit code ${exitCode}`}`);
  }, exec, timeoutMs);
}

/** How a target runs calls without the view: CALL_LAUNCHER's mode, or 'mark' (the mark alone) and why. */
export interface CallLaunch { readonly mode: 'pidns' | 'subreaper' | 'mark'; readonly why: string; readonly arch?: string; readonly again?: boolean; /** The subreaper sets the call's login uid (callLoginUid). */ readonly loginUid?: boolean }
/**
 * The environment of what the bridge runs as root in a target (the launcher, its probe, the
 * stopper): programs only from the system's folders, never from a PATH entry the target's user may
 * write (a perl or grep planted there would run as root), and no perl options or library folders.
 */
const ROOT_ENV = ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'PERL5LIB=', 'PERL5OPT='];
/** Docker's PATH for a container that sets none. */
const DOCKER_DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Found once per container and user (the probe is one exec); a probe the engine failed is tried again next call. */
const launches = new Map<string, CallLaunch>();

async function launchOf(docker: Docker, containerId: string, user: string): Promise<CallLaunch> {
  const key = `${containerId}\0${user}`;
  const known = launches.get(key);
  if (known && !known.again) return known;
  let launch: CallLaunch;
  try {
    // The image's architecture: the system call numbers of the perl it has.
    const arch = (await docker.getImage((await docker.getContainer(containerId).inspect()).Image).inspect()).Architecture;
    const { exitCode, stdout, stderr } = await execCollect(docker, containerId,
      { Cmd: ['perl', '-e', CALL_LAUNCHER, 'probe', user, '1', arch, callLoginUid('probe'), '0', '--'], User: '0:0', WorkingDir: '/', Env: ROOT_ENV }, { timeoutMs: 20_000 });
    const mode = stdout.split('\n')[0];
    const reasons = stderr.trim().split('\n').filter(Boolean).join('; ').slice(0, 300);
    launch = exitCode === 0 && (mode === 'pidns' || mode === 'subreaper')
      ? { mode, why: '', arch, loginUid: mode === 'subreaper' }
      : exitCode === 0 && mode === 'subreaper-noauid'
        ? { mode: 'subreaper', why: `the call's login uid cannot be set there (${reasons})`, arch }
        : { mode: 'mark', why: exitCode === 0 ? `neither a PID namespace nor a subreaper works there (${reasons})` : `it has no perl to keep the command's processes together (${reasons || stdout.trim().slice(0, 200) || `exit code ${exitCode}`})` };
  } catch (err: any) {
    launch = { mode: 'mark', why: `its probe failed (${String(err?.message ?? err).split('\n')[0].slice(0, 200)})`, again: true };
  }
  if (launches.size > 1000) launches.clear();
  launches.set(key, launch);
  return launch;
}

/**
 * The exec of a call's command run straight in a target (no view): under CALL_LAUNCHER (as root, which
 * runs it as `target.user`) where the target has what it needs, else as before as the user; both
 * carry the call's mark (CALL_MARK) for STOP_MARKED.
 */
export async function unviewedExecOptions(docker: Docker, containerId: string, argv: readonly string[], target: { user: string; workdir: string; env: readonly string[] }, call: string): Promise<Docker.ExecCreateOptions> {
  const { mode, arch, loginUid } = await launchOf(docker, containerId, target.user);
  const mark = `${CALL_MARK}=${call}`;
  if (mode === 'mark') return { Cmd: [...argv], WorkingDir: target.workdir, ...(target.user ? { User: target.user } : {}), Env: [mark] };
  // The command gets the container's own PATH and perl variables back (the launcher's are ROOT_ENV).
  const restore = [target.env.find((e) => e.startsWith('PATH=')) ?? DOCKER_DEFAULT_PATH, ...target.env.filter((e) => /^PERL5(LIB|OPT)=/.test(e))];
  const homeSet = target.env.some((e) => e.startsWith('HOME='));
  return {
    Cmd: ['perl', '-e', CALL_LAUNCHER, mode, target.user, homeSet ? '1' : '0', arch ?? '', loginUid ? callLoginUid(call) : '', String(restore.length), ...restore, '--', ...argv],
    User: '0:0', WorkingDir: target.workdir, Env: [...ROOT_ENV, mark],
  };
}

/** Said after "its processes were killed" when only the mark found them in this target ('' otherwise). */
export function markOnlyNote(containerId: string, user: string): string {
  const launch = launches.get(`${containerId}\0${user}`);
  if (launch?.mode === 'subreaper' && launch.why) return ` (${launch.why}, so a root command that killed its launcher may have left one that cleared its environment running)`;
  return launch && launch.mode === 'mark' ? ` (found by their mark only: ${launch.why}, so one that cleared its environment may still run)` : '';
}
