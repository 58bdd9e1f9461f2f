// Shared helpers for the integration, template and e2e tiers: real CLI, real engine, temp workspaces.
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { get } from 'node:http';
import { dirname, join } from 'node:path';
import { after, before } from 'node:test';
import { SandboxEngine } from '../../src/engine/engine.js';

export const REPO = join(__dirname, '..', '..');
export const CLI = join(REPO, 'bin', 'paddock');

/**
 * The uid/gid that owns test workspaces: a non-root user, as on a developer's machine. As root
 * (CI) the tests hand their workspaces to uid 1000; otherwise they belong to the current user.
 */
const asRoot = process.getuid?.() === 0;
export const OWNER = asRoot ? { uid: 1000, gid: 1000 } : { uid: process.getuid!(), gid: process.getgid!() };

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built CLI (dist/, built by `npm run build`) as a user would. */
export function paddock(args: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? REPO,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`paddock ${args.join(' ')} timed out\n${stderr}`)); }, options.timeoutMs ?? 600_000);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code: code ?? -1, stdout, stderr }); });
    child.stdin.end(options.input ?? '');
  });
}

/** Runs the CLI and fails with its output when it exits non-zero. */
export async function paddockOk(args: readonly string[], options?: Parameters<typeof paddock>[1]): Promise<CliResult> {
  const result = await paddock(args, options);
  if (result.code !== 0) throw new Error(`paddock ${args.join(' ')} exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result;
}

/** A fresh workspace folder owned by OWNER, with the given files (path → content). */
export function makeWorkspace(files: Record<string, string> = {}, prefix = 'paddock-ws-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  for (const [path, content] of Object.entries(files)) {
    const full = join(dir, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
  if (asRoot) {
    spawnSync('chown', ['-R', `${OWNER.uid}:${OWNER.gid}`, dir]);
    chownSync(dir, OWNER.uid, OWNER.gid);
  }
  return dir;
}

export function engine(): SandboxEngine {
  return SandboxEngine.connect();
}

/** Removes the sandboxes of a workspace (only those: other tests may be running), then the folder. */
export async function cleanup(workspace: string): Promise<void> {
  const e = engine();
  for (const s of await e.list({ workspace })) await e.remove(s.id).catch(() => {});
  rmSync(workspace, { recursive: true, force: true });
}

/** `docker` CLI, for checks that should not go through Paddock's own code. */
export function docker(args: readonly string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync('docker', args, { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The body of GET url on the host, or '' when nothing answers yet (refused, closed, or no answer
 * within timeoutMs). node:http, not fetch: a fetch on a connection that the proxy closes before a
 * server listens behind it was seen, in CI, to stay pending with nothing keeping node alive.
 */
export function httpText(url: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => { request.destroy(); resolve(''); }, timeoutMs);
    const done = (text: string) => { clearTimeout(timer); resolve(text); };
    const request = get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => done(body));
      res.on('error', () => done(''));
    });
    request.on('error', () => done(''));
  });
}

/** The runtimes the guard tests run under: runc, and gVisor where the engine has it (scripts/ensure-engine.sh registers it on fresh machines). */
export const RUNTIMES = ['runc', ...('runsc' in JSON.parse(docker(['info', '--format', '{{json .Runtimes}}']).stdout || '{}') ? ['runsc'] : [])];

/**
 * In a suite: before its tests, a shell sandbox of the workspace `make` returns, made under
 * `runtime` and started (`ready` gets both); after them, the workspace's sandboxes and the folder removed.
 */
export function startedPerSuite(make: () => string, runtime: string, ready: (made: { ws: string; sb: string }) => void): void {
  let ws = '';
  before(async () => {
    ws = make();
    const sb = (await paddockOk(['create', 'shell', ws, '--runtime', runtime])).stdout.trim();
    await paddockOk(['start', sb]);
    ready({ ws, sb });
  });
  after(async () => { if (ws) await cleanup(ws); });
}

/** Whether a container is running now (docker inspect). */
export function isRunning(name: string): boolean {
  return docker(['inspect', '-f', '{{.State.Running}}', name]).stdout.trim() === 'true';
}

/** Waits up to timeoutMs for a container to stop; true when it did. */
export async function stopsWithin(name: string, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; isRunning(name) && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 100));
  return !isRunning(name);
}

/**
 * fn on every item, at most `limit` at a time; the results in the items' order. For tests that make
 * or probe many sandboxes: one at a time leaves the engine idle while each waits on its own start.
 */
export async function mapWithLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await fn(items[i], i);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Waits until what `read` returns matches `pattern` (a process's output so far); the error quotes its end. */
export function textWithin(read: () => string, pattern: RegExp, what: string, timeoutMs = 60_000): Promise<RegExpExecArray> {
  const end = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const look = () => {
      const m = pattern.exec(read());
      if (m) resolve(m);
      else if (Date.now() > end) reject(new Error(`no ${what} within ${timeoutMs} ms:\n${JSON.stringify(read().slice(-3000))}`));
      else setTimeout(look, 200);
    };
    look();
  });
}

/**
 * `paddock run shell WORKSPACE` in a real terminal (script(1) gives it a pseudo-terminal of ROWS x
 * COLS): what it drew so far (stdout and stderr), a way to type a line, and its exit code.
 */
export function runInTerminal(workspace: string, rows: number, cols: number) {
  const session = spawn('script', ['-qfec', `stty rows ${rows} cols ${cols}; exec ${process.execPath} ${CLI} run shell ${workspace}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let screen = '';
  session.stdout.on('data', (c) => { screen += c; });
  session.stderr.on('data', (c) => { screen += c; });
  return {
    session,
    screen: () => screen,
    type: (line: string) => session.stdin.write(`${line}\r`),
    exited: new Promise<number | null>((r) => session.on('exit', r)),
  };
}
