import { PaddockError } from './errors.js';

/** Resource limits as Docker understands them. */
export interface Limits {
  readonly nanoCpus: number;
  readonly memoryBytes: number;
  readonly pids: number;
}

/** Defaults that keep a runaway agent from taking the machine, and leave room to work. */
export const DEFAULT_LIMITS = { cpus: 2, memory: '4g', pids: 1024 } as const;

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

export function parseMemory(value: string | number): number {
  if (typeof value === 'number') return value;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?\s*$/i.exec(value);
  if (!m) throw new PaddockError(`Invalid memory limit "${value}".`, 'Use a number with a unit, e.g. 512m or 4g.');
  const bytes = Math.round(Number(m[1]) * UNITS[m[2].toLowerCase()]);
  if (bytes < 6 * 1024 ** 2) throw new PaddockError(`Memory limit "${value}" is below Docker's minimum of 6m.`, 'Use at least 6m (agents want 1g or more).');
  return bytes;
}

export function parseCpus(value: string | number): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new PaddockError(`Invalid CPU limit "${value}".`, 'Use a positive number, e.g. 2 or 0.5.');
  return Math.round(n * 1e9);
}

export function parsePids(value: string | number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 16) throw new PaddockError(`Invalid pids limit "${value}".`, 'Use a whole number of at least 16.');
  return n;
}

export function resolveLimits(input: { cpus?: string | number; memory?: string | number; pids?: string | number }): Limits {
  return {
    nanoCpus: parseCpus(input.cpus ?? DEFAULT_LIMITS.cpus),
    memoryBytes: parseMemory(input.memory ?? DEFAULT_LIMITS.memory),
    pids: parsePids(input.pids ?? DEFAULT_LIMITS.pids),
  };
}

/** A port the sandbox publishes, always on the host's loopback. */
export interface PortMapping {
  readonly containerPort: number;
  /** 0 lets Docker choose a free host port. */
  readonly hostPort: number;
  readonly protocol: 'tcp' | 'udp';
}

function portNumber(text: string, spec: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) throw new PaddockError(`Invalid port "${spec}".`, 'Use PORT, HOSTPORT:PORT or PORT/udp with ports from 1 to 65535.');
  return n;
}

/** `3000`, `8080:3000`, `127.0.0.1:8080:3000`, `3000/udp`. Any other host address is refused: ports stay on loopback. */
export function parsePort(spec: string | number): PortMapping {
  const text = String(spec).trim();
  const [main, proto = 'tcp'] = text.split('/');
  if (proto !== 'tcp' && proto !== 'udp') throw new PaddockError(`Invalid protocol in port "${text}".`, 'Use tcp or udp.');
  const parts = main.split(':');
  if (parts.length === 3) {
    if (parts[0] !== '127.0.0.1' && parts[0] !== 'localhost') {
      throw new PaddockError(`Port "${text}" would listen on ${parts[0]}.`, 'Paddock publishes ports on 127.0.0.1 only; drop the address.');
    }
    parts.shift();
  }
  if (parts.length === 1) return { containerPort: portNumber(parts[0], text), hostPort: 0, protocol: proto };
  if (parts.length === 2) return { containerPort: portNumber(parts[1], text), hostPort: portNumber(parts[0], text), protocol: proto };
  throw new PaddockError(`Invalid port "${text}".`, 'Use PORT, HOSTPORT:PORT or PORT/udp.');
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses `K=V` items and the lines of env files (comments, blank lines, `export K=V`, quoted values). */
export function parseEnvAssignments(items: readonly string[], source = 'command line'): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of items) {
    const line = raw.replace(/^\s*export\s+/, '').trimStart();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const name = (eq < 0 ? line : line.slice(0, eq)).trim();
    if (!ENV_NAME.test(name)) throw new PaddockError(`Invalid environment variable "${raw}" in ${source}.`, 'Use NAME=value with a name of letters, digits and _.');
    if (eq < 0) {
      // `-e NAME` passes the host's value through, as docker run does.
      const v = process.env[name];
      if (v !== undefined) env[name] = v;
      continue;
    }
    let value = line.slice(eq + 1);
    const q = value.trim();
    if ((q.startsWith('"') && q.endsWith('"') && q.length >= 2) || (q.startsWith("'") && q.endsWith("'") && q.length >= 2)) value = q.slice(1, -1);
    env[name] = value;
  }
  return env;
}

export function parseEnvFile(text: string, path: string): Record<string, string> {
  return parseEnvAssignments(text.split(/\r?\n/), path);
}
