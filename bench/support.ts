// Shared by the bench scripts: the statistics they print, and the engine requests a command makes.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
 * The engine requests a command makes: it talks to the engine through a Unix socket here that
 * passes everything on to the real one and notes each request line (method and path, ids as ID).
 * `timed` receives each one with the milliseconds since the command started.
 */
export async function countRequests(engineSocket: string, cmd: string, args: string[], timed?: (ms: number, request: string) => void): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'paddock-bench-sock-'));
  const path = join(dir, 'docker.sock');
  const seen: string[] = [];
  const started = Date.now();
  const server = createServer((client) => {
    const upstream = createConnection(engineSocket);
    client.on('data', (d) => {
      for (const m of d.toString('latin1').matchAll(/^(GET|HEAD|POST|PUT|DELETE) (\S+) HTTP/gm)) {
        const request = `${m[1]} ${m[2].replace(/^\/v[\d.]+/, '').replace(/[0-9a-f]{64}/g, 'ID')}`;
        seen.push(request);
        timed?.(Date.now() - started, request);
      }
    });
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(path, r));
  try {
    await runCommand(cmd, args, { ...process.env, DOCKER_HOST: `unix://${path}`, DOCKER_CONTEXT: '' });
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return seen;
}
