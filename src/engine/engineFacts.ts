import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type Docker from 'dockerode';
import { bridgeRoot } from './stateFolder.js';
import type { EngineRuntimes } from './runtime.js';

// What a create needs from `docker info` (its runtimes, the default one, the engine's OS), kept in
// the state folder for a local dockerd: `docker info` is the slowest request of a create (40-190 ms
// under load, the others 3-20 ms). The key is the daemon's identity as this machine sees it (its
// pid and start time in /proc, from dockerd's pid file) and daemon.json's stat, so a restarted or
// reloaded daemon (runtimes are added in daemon.json) is asked again. Any other engine (remote,
// Docker Desktop's VM, a socket elsewhere) is asked every time.

export interface EngineFacts {
  readonly runtimes: EngineRuntimes;
  readonly defaultRuntime: string;
  readonly operatingSystem: string;
}

/** Local dockerd sockets and the pid file each daemon writes at start. */
function pidFileOf(host: string, env: NodeJS.ProcessEnv): string | undefined {
  if (host === 'unix:///var/run/docker.sock' || host === 'unix:///run/docker.sock') return '/var/run/docker.pid';
  if (env.XDG_RUNTIME_DIR && host === `unix://${env.XDG_RUNTIME_DIR}/docker.sock`) return join(env.XDG_RUNTIME_DIR, 'docker.pid'); // rootless
  return undefined;
}

function statKey(path: string): string {
  try {
    const st = statSync(path);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return 'absent';
  }
}

/** The running local daemon's identity and configuration, or undefined when it cannot be told (then no cache). */
export function localDaemonKey(host: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const pidFile = pidFileOf(host, env);
  if (!pidFile) return undefined;
  try {
    const pid = readFileSync(pidFile, 'utf8').trim();
    if (!/^\d+$/.test(pid)) return undefined;
    // Field 22 of /proc/PID/stat is the process's start time: a reused pid is another daemon.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    const configs = ['/etc/docker/daemon.json', join(env.XDG_CONFIG_HOME || join(env.HOME ?? '', '.config'), 'docker', 'daemon.json')];
    return [host, pid, startTime, ...configs.map(statKey)].join('|');
  } catch {
    return undefined;
  }
}

function cacheFile(env: NodeJS.ProcessEnv): string {
  return join(dirname(bridgeRoot(env)), 'engine-facts.json');
}

/** The engine's facts: from the cache when the same local daemon wrote it, else from `docker info` (`fresh` always asks). */
export async function engineFacts(docker: Docker, host: string, options: { fresh?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<EngineFacts> {
  const env = options.env ?? process.env;
  const key = localDaemonKey(host, env);
  const file = cacheFile(env);
  if (key && !options.fresh) {
    try {
      const cached = JSON.parse(readFileSync(file, 'utf8')) as { key?: string; facts?: EngineFacts };
      if (cached.key === key && cached.facts && typeof cached.facts.defaultRuntime === 'string') return cached.facts;
    } catch { /* none yet, or unreadable: ask the engine */ }
  }
  const info = await docker.info();
  const facts: EngineFacts = { runtimes: (info.Runtimes ?? {}) as EngineRuntimes, defaultRuntime: info.DefaultRuntime ?? 'runc', operatingSystem: info.OperatingSystem ?? '' };
  if (key) {
    try {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      const part = `${file}.${process.pid}`;
      writeFileSync(part, JSON.stringify({ key, facts }), { mode: 0o600 });
      renameSync(part, file); // whole or not at all, for a process reading it meanwhile
    } catch { /* a cache that cannot be written costs the next create one docker info */ }
  }
  return facts;
}
