// Shared by the bench scripts: the statistics they print, and the engine requests a command makes.
import { spawn } from 'node:child_process';
import { RequestRelay } from '../test/support/engine-requests.js';

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Wall time of fn in milliseconds. */
export async function time(fn: () => unknown): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** Runs a command to its end (asynchronously: countRequests' relay shares this process). */
export function runCommand(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${stderr}`))));
  });
}

/**
 * The engine requests a command makes (method and path, API version cut, ids as ID), through a
 * relay socket in front of the engine (test/support/engine-requests.ts). `timed` receives each one
 * with the milliseconds since the command started.
 */
export async function countRequests(engineSocket: string, cmd: string, args: string[], timed?: (ms: number, request: string) => void): Promise<string[]> {
  const short = (request: string) => request.replace(/^(\S+) \/v[\d.]+/, '$1 ').replace(/[0-9a-f]{64}/g, 'ID');
  const relay = new RequestRelay(engineSocket, timed && ((ms, request) => timed(ms, short(request))));
  await relay.up();
  try {
    await runCommand(cmd, args, { ...process.env, DOCKER_HOST: relay.host, DOCKER_CONTEXT: '' });
  } finally {
    await relay.down();
  }
  return relay.requests.map(short);
}
