// Why a sandbox is stopped when no Paddock guard stopped it: the user (paddock stop, VS Code's
// Stop), the kernel's out-of-memory killer at its memory limit, or something outside Paddock (an
// engine or machine restart, a `docker stop`). Sandboxes have no restart policy: after an engine
// or machine restart they stay stopped and say so, and `paddock start` brings them back through
// Paddock (keys re-read, one-run network rules cleared, hide rules expanded again, proxy first)
// rather than the engine restarting them with none of that (README, "When things go wrong").
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { LABELS } from '../core/naming.js';
import { isNotFound } from './docker.js';
import { bridgePaths } from './stateFolder.js';

const userStopFile = (sandboxName: string) => join(bridgePaths(sandboxName).dir, 'stopped-by-user');

/** Before Paddock stops a sandbox for the user: remembers which run of it the user ended. */
export async function recordUserStop(docker: Docker, sandbox: { readonly id: string; readonly name: string; readonly startedAt?: string }): Promise<void> {
  try {
    // A running sandbox's details have the start already (SandboxDetails.startedAt); else the engine is asked.
    const startedAt = sandbox.startedAt ?? (await docker.getContainer(sandbox.id).inspect()).State.StartedAt;
    if (!existsSync(bridgePaths(sandbox.name).dir)) return;
    writeFileSync(userStopFile(sandbox.name), startedAt, { mode: 0o600 });
  } catch {
    // without the mark, the stop reads as one from outside Paddock: worded so that it is still true
  }
}

/**
 * Whether the kernel killed a process of a running container at its memory limit since it started:
 * the engine sets State.OOMKilled only when the whole container ends, but says "oom" as an event.
 */
async function oomSince(docker: Docker, id: string, startedAt: string): Promise<boolean> {
  const since = Math.floor(Date.parse(startedAt) / 1000);
  const until = (Date.now() / 1000).toFixed(3); // a whole second ahead would make the engine wait for it
  const stream = (await docker.getEvents({ since, until, filters: { container: [id], event: ['oom'] } } as any)) as unknown as NodeJS.ReadableStream;
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return /"oom"/.test(text);
}

function gigabytes(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${+(bytes / 1024 ** 3).toFixed(1)} GiB` : `${Math.round(bytes / 1024 ** 2)} MiB`;
}

/**
 * A sandbox removed by something other than Paddock (`docker rm -f` under a running command): the
 * engine kills it, then removes it with its writable layer, which is the sandbox's state.
 */
export const REMOVED_CAUSE = 'removed outside Paddock (by "docker rm -f" or another tool), and its state with it';
export const REMOVED_OUTSIDE = `${REMOVED_CAUSE}; "paddock run" or "paddock create" makes a new sandbox`;

const removalFile = (sandboxName: string) => join(bridgePaths(sandboxName).dir, 'removed-by-paddock');

/**
 * Before Paddock removes a sandbox's container (paddock rm, an apply that replaces it): which
 * container it removes, so that a command that ends with it does not call the removal one from outside.
 */
export function recordRemoval(sandbox: { readonly id: string; readonly name: string }): void {
  try {
    if (existsSync(bridgePaths(sandbox.name).dir)) writeFileSync(removalFile(sandbox.name), sandbox.id, { mode: 0o600 });
  } catch {
    // without the mark a removal outside Paddock is not told from Paddock's: said as nothing, below
  }
}

/**
 * Whether a sandbox's container that is being removed, or is gone, was removed from outside Paddock:
 * its state folder is still there (Paddock's rm removes it) and Paddock marked no removal of it (of
 * this container, when its id is known).
 */
function removedOutside(sandboxName: string, id: string | undefined): boolean {
  if (!existsSync(bridgePaths(sandboxName).dir)) return false;
  const mark = existsSync(removalFile(sandboxName)) ? readFileSync(removalFile(sandboxName), 'utf8') : undefined;
  return mark === undefined || (id !== undefined && mark !== id);
}

/**
 * Why a stopped sandbox stopped, or undefined for a running one, one the user stopped, or one
 * never started. A running sandbox a process of which the kernel killed at the limit says that.
 * One removed from outside Paddock says so, while the engine removes it or (given its name, and its
 * id when known) once it is gone; one Paddock removed says nothing.
 */
export async function stopCause(docker: Docker, idOrName: string, removed?: { readonly name: string; readonly id?: string }): Promise<string | undefined> {
  let info: Docker.ContainerInspectInfo;
  try {
    info = await docker.getContainer(idOrName).inspect();
  } catch (err) {
    if (isNotFound(err) && removed) return removedOutside(removed.name, removed.id) ? REMOVED_OUTSIDE : undefined;
    throw err;
  }
  const sandbox = { name: info.Name.replace(/^\//, '') };
  if (info.State.Status === 'removing') return removedOutside(sandbox.name, info.Id) ? REMOVED_OUTSIDE : undefined;
  const state = info.State;
  const memory = info.HostConfig?.Memory ? gigabytes(info.HostConfig.Memory) : 'its limit';
  const raise = `raise it with "docker update --memory 8g --memory-swap 8g ${sandbox.name}" (the sandbox is kept), or --memory at the next create`;
  if (state.OOMKilled || (state.Running && await oomSince(docker, info.Id, state.StartedAt))) {
    return state.Running
      ? `a process in it was killed by the kernel at the memory limit (${memory}): ${raise}`
      : `out of memory: the kernel ended it at its memory limit (${memory}); ${raise}`;
  }
  if (state.Running || state.Paused || !state.StartedAt || state.StartedAt.startsWith('0001-')) return undefined;
  const mark = existsSync(userStopFile(sandbox.name)) ? readFileSync(userStopFile(sandbox.name), 'utf8') : undefined;
  if (mark === state.StartedAt) return undefined;
  return `stopped outside Paddock (exit code ${state.ExitCode}): an engine or machine restart, or "docker stop", ended it; its state is kept${startAdvice(sandbox.name)}`;
}

/** The end of stopCause's words for a stop outside Paddock that says how to start it again. */
const startAdvice = (sandboxName: string) => ` and "paddock start ${sandboxName}" brings it back`;

/**
 * A stop cause without its advice to start the sandbox: where a start is under way (its notes), or
 * where the message gives that action as its own fix line (a refused exec), it is not said twice.
 */
export const withoutStartAdvice = (cause: string, sandboxName: string) => cause.replace(startAdvice(sandboxName), '');

/** A few words for `paddock ls`'s STATUS column. */
export function shortCause(text: string): string {
  if (text.startsWith('protection lifted')) return 'protection lifted';
  if (text.startsWith('blocked: symlink ')) return 'blocked: symlink in .git';
  if (text.startsWith('blocked:')) return 'blocked: git redirection';
  if (text.startsWith('out of memory')) return 'out of memory';
  if (text.startsWith('a process in it was killed')) return 'a process hit the memory limit';
  if (text.startsWith('stopped outside Paddock')) return 'engine restart or docker stop';
  if (text.startsWith('removed outside Paddock')) return 'removed outside Paddock';
  return text.split(/[:;(]/)[0].trim();
}

/**
 * The containers of Paddock's sandboxes that the engine saw a process of killed at the memory limit,
 * from one events request (the engine keeps its last events only; so does oomSince).
 */
async function sandboxesWithOomEvents(docker: Docker): Promise<Set<string>> {
  const until = (Date.now() / 1000).toFixed(3);
  const stream = (await docker.getEvents({ since: 0, until, filters: { type: ['container'], event: ['oom'], label: [`${LABELS.sandbox}=1`] } } as any)) as unknown as NodeJS.ReadableStream;
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  const ids = new Set<string>();
  for (const line of text.split('\n')) {
    try {
      const event = JSON.parse(line) as { id?: string; Actor?: { ID?: string } };
      const id = event.Actor?.ID ?? event.id;
      if (id) ids.add(id);
    } catch {
      // a partial or empty line
    }
  }
  return ids;
}

/**
 * The list as `paddock ls` shows it: a stop or memory kill Paddock knows the cause of says it after
 * the status. Running sandboxes cost one events request together, not an inspect and an events
 * request each: only those with a memory kill on record are looked at closely (stopCause).
 */
export async function withStopCauses<T extends { readonly id: string; readonly status: string }>(
  engine: { stopReason(id: string): Promise<{ text: string } | undefined>; readonly docker: Docker }, list: readonly T[],
): Promise<T[]> {
  const oomKilled = list.some((s) => s.status === 'running') ? await sandboxesWithOomEvents(engine.docker).catch(() => undefined) : undefined;
  return Promise.all(list.map(async (s) => {
    const why = s.status === 'running'
      ? (oomKilled && !oomKilled.has(s.id) ? undefined : await stopCause(engine.docker, s.id).catch(() => undefined))
      : s.status === 'created' ? undefined : (await engine.stopReason(s.id).catch(() => undefined))?.text;
    return why ? { ...s, status: `${s.status} (${shortCause(why)})` } : s;
  }));
}
