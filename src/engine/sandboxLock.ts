import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { PaddockError } from '../core/errors.js';
import { shortHash } from '../core/naming.js';
import { bridgeRoot } from './stateFolder.js';

/**
 * One process at a time finds-or-creates the sandbox of a (workspace, agent): two terminals, the
 * editor and the CLI asking at once end with one sandbox, the later ones reusing it. Docker has no
 * lock of its own here (its network-name check races: two creates made two networks of one name,
 * and every later command failed with "ambiguous"). A lock file under the host state folder, taken
 * with O_EXCL; a lock whose process is gone (same host) is taken over.
 */

interface Holder {
  readonly pid: number;
  readonly host: string;
  readonly at: string;
}

const POLL_MS = 150;

export function lockFile(workspace: string, agent: string, root = bridgeRoot()): string {
  return join(dirname(root), 'locks', `${shortHash(`${workspace}\0${agent}`, 16)}.lock`);
}

function alive(holder: Holder): boolean {
  if (holder.host !== hostname()) return true; // another machine's process: cannot tell, wait for it
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (err: any) {
    return err?.code === 'EPERM';
  }
}

function readHolder(file: string): Holder | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Holder;
  } catch {
    return undefined; // being written, or torn: treat as held for one more poll
  }
}

function tryTake(file: string): boolean {
  try {
    const fd = openSync(file, 'wx', 0o600);
    try {
      writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname(), at: new Date().toISOString() } satisfies Holder));
    } finally {
      closeSync(fd);
    }
    return true;
  } catch (err: any) {
    if (err?.code === 'EEXIST') return false;
    throw err;
  }
}

/**
 * Runs `work` holding the (workspace, agent) lock. While another process holds it, waits (saying so
 * once through `onWait`) up to `timeoutMs`, then refuses with who holds it.
 */
export async function withSandboxLock<T>(workspace: string, agent: string, work: () => Promise<T>, options: { onWait?: (line: string) => void; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<T> {
  const file = lockFile(workspace, agent);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const deadline = Date.now() + (options.timeoutMs ?? 15 * 60_000);
  let said = false;
  let unreadable = 0;
  while (!tryTake(file)) {
    const holder = readHolder(file);
    if (holder ? !alive(holder) : ++unreadable > 20) {
      // Its process is gone (a crash, a kill): take it over, unless someone else just did.
      const now = readHolder(file);
      if (!holder || (now && now.pid === holder.pid && now.at === holder.at)) rmSync(file, { force: true });
      unreadable = 0;
      continue;
    }
    if (!said) {
      options.onWait?.(`Waiting for another Paddock process${holder ? ` (pid ${holder.pid})` : ''} that is creating or starting the ${agent} sandbox of ${workspace}`);
      said = true;
    }
    if (Date.now() > deadline || options.signal?.aborted) {
      throw new PaddockError(`The ${agent} sandbox of ${workspace} is already being created or started by another Paddock process${holder ? ` (pid ${holder.pid} on ${holder.host}, since ${holder.at})` : ''}.`,
        'Wait for it to finish, then run the command again.');
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  try {
    return await work();
  } finally {
    rmSync(file, { force: true });
  }
}
