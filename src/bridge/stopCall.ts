import type Docker from 'dockerode';
import { execCollect } from '../engine/docker.js';

/**
 * Marks a command run without the physical view (straight in the target, as docker exec runs it):
 * its processes, and every one they start, inherit it, so STOP_MARKED can find them.
 */
export const CALL_MARK = 'PADDOCK_BRIDGE_CALL';

/**
 * Stops the processes of one call in a target that has no physical view (a runtime such as gVisor,
 * whose namespaces no helper can join): run there with the target's own POSIX sh and grep (or cat), as the
 * command's user (who may read its processes' environment), it finds every process whose environment
 * holds the call's mark, stops them all (so they fork no more), then kills them; again until none is
 * left. Prints how many it killed. Unlike the view's PID namespace, this misses a process that
 * clears its environment: only commands the user whitelisted exactly run in such a target.
 */
const STOP_MARKED = `mark="${CALL_MARK}=$1"; n=0
# One grep for all processes where it reads NUL-separated text; else cat each (its own environ holds no mark).
if printf 'a\\0' | grep -qz a 2>/dev/null; then
  marked() { grep -lsxzF -- "$mark" /proc/[0-9]*/environ | while read -r f; do f=\${f#/proc/}; echo "\${f%/environ}"; done; }
else
  marked() { for d in /proc/[0-9]*; do case "$(cat "$d/environ" 2>/dev/null)" in *"$mark"*) echo "\${d#/proc/}";; esac; done; }
fi
# Done after three empty looks in a row, a moment apart: a process in the middle of an exec may not
# show its environment to one look (nohup, then the shell it runs).
empty=0
for round in 1 2 3 4 5 6 7 8 9 10 11 12; do
  pids=$(marked)
  if [ -z "$pids" ]; then
    empty=$((empty + 1)); [ "$empty" -ge 3 ] && break
    sleep 0.05 2>/dev/null || sleep 1
    continue
  fi
  empty=0
  kill -STOP $pids 2>/dev/null; kill -KILL $pids 2>/dev/null
  set -- $pids; n=$((n + $#))
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

/** Stops call `call` run straight in `containerId` as `user` (STOP_MARKED); throws when the target cannot run the stopper. */
export async function stopMarkedCall(docker: Docker, containerId: string, user: string, call: string, exec: Docker.Exec | undefined, timeoutMs = 30_000): Promise<boolean> {
  return stopUntilEnded(async () => {
    const { exitCode, stderr } = await execCollect(docker, containerId, { Cmd: ['sh', '-c', STOP_MARKED, 'sh', call], WorkingDir: '/', ...(user ? { User: user } : {}) }, { timeoutMs: 20_000 });
    if (exitCode !== 0) throw new Error(`its stopper (sh with grep or cat in the target) failed: ${stderr.trim().split('\n')[0] || `exit code ${exitCode}`}`);
  }, exec, timeoutMs);
}
