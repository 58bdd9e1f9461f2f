// Bridge load benchmark (printed, never asserted): a real bridge, in a process of its own as
// `paddock bridge` or the editor hosts it, answers real MCP clients (@modelcontextprotocol/sdk over
// the Unix socket) that call exec_command, get_logs and list_containers on a real target container
// at a fixed rate (open loop: calls go out on schedule whether or not earlier ones came back).
// Prints per run: calls/s answered, p50/p95/p99 per tool of the admitted calls, busy answers and
// how fast they came, how long admitted calls waited in line for a slot (the part the bounds decide),
// their own run from the audit (durationMs) and how many execs ran at once, an admitted exec's
// stages (the engine's start and its view's build apart), the exec limit the bridge had adapted to
// and how long it stood at each value, the bridge's garbage collections and event-loop delay, the
// clients' own event-loop delay, audit lines against calls, the bridge's memory before and after,
// and how long calls took to reach the admission, split at the client's fetch, the bridge's HTTP
// request event and the request body's end.
//
// Run: npm run bench:bridge-load
//   BENCH_CALLS=3000       calls per run
//   BENCH_RATES=50,200     calls per second offered
//   BENCH_CLIENTS=1,5,10   MCP clients (sessions) sharing the rate
//   BENCH_LANE_WHOLE_CALL=1  an exec holds the exec lane to its end (not only until it started)
//   BENCH_ADMISSION=path   the admission from another module (a copy of an older
//                          src/bridge/admission.ts), to compare before/after in the same session
//   BENCH_UNBOUNDED=1      the bridge without the queue bounds and budget (how it behaved before
//                          them; the exec lane still adapts)
import { AsyncLocalStorage } from 'node:async_hooks';
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import diagnosticsChannel from 'node:diagnostics_channel';
import { Server as HttpServer, type ClientRequest, type IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import Docker from 'dockerode';
import { Admission, BRIDGE_LIMITS, CallWithdrawn, WaitedTooLong, type Slot, type Ticket } from '../src/bridge/admission.js';
import { AuditLog, mergeAuditEntries, readAudit, readAuditLines, type AuditEntry } from '../src/bridge/audit.js';
import { BridgeHttpServer } from '../src/bridge/server.js';
import { BridgeService } from '../src/bridge/service.js';
import { createBridgeServer } from '../src/bridge/tools.js';
import { unixFetch } from '../src/bridge/unix-fetch.js';
import { policySchema } from '../src/core/policy.js';

const IMAGE = 'debian:bookworm-slim';
const TOOLS = ['exec_command', 'get_logs', 'list_containers'] as const;
type Tool = typeof TOOLS[number];

interface HostReady { readonly socket: string; readonly token: string; readonly auditFile: string }
interface Memory {
  readonly rss: number; readonly heapUsed: number; readonly cpuMs: number; readonly loopDelayP99Ms: number; readonly loopDelayMaxMs: number;
  readonly waitsMs: number[]; readonly execs: ExecMoments[]; readonly execLimit?: number;
  /** Garbage collections in the bridge since the last look: how many, their total and longest pause. */
  readonly gc: { count: number; totalMs: number; maxMs: number };
  /** Share of the run's time the exec limit (ExecConcurrency) stood at 1, 2, 3, 4 at once. */
  readonly execLimitShare: Record<number, number>;
  /**
   * Per exec_command call (its number): when the bridge's HTTP server accepted the connection it
   * came on if it was the connection's first request (else 0), got its request, and its whole body (Date.now()).
   */
  readonly received: Record<number, [number, number, number]>;
  /** Connections the bridge opened to the engine since the last look, and the most open at once. */
  readonly engine: { opened: number; peakOpen: number };
}

/**
 * Stamps every POST the bridge's HTTP server gets: when its request came ('request') and when its
 * body was read ('end'), by the exec_command's number its command carries.
 */
function stampRequests(received: Map<number, [number, number, number]>): void {
  const emit = HttpServer.prototype.emit;
  const accepted = new WeakMap<object, number>();
  HttpServer.prototype.emit = function (this: HttpServer, event: string, ...args: unknown[]) {
    if (event === 'connection') accepted.set(args[0] as object, Date.now());
    if (event === 'request') {
      const req = args[0] as IncomingMessage;
      const connectedAt = accepted.get(req.socket) ?? 0;
      accepted.set(req.socket, 0);
      if (req.method === 'POST') {
        const at = Date.now();
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const i = /"command":"echo call (\d+)"/.exec(Buffer.concat(chunks).toString('utf8'))?.[1];
          if (i !== undefined) received.set(Number(i), [connectedAt, at, Date.now()]);
        });
      }
    }
    return (emit as (this: HttpServer, event: string, ...args: unknown[]) => boolean).call(this, event, ...args);
  } as typeof emit;
}

/**
 * One admitted exec_command's moments (performance.now()), for where its time went: `engineStarted`
 * the engine's start of its process, `started` when the command itself started (in a physical view
 * the prologue's VIEW_READY: the view is built).
 */
interface ExecMoments { arrived: number; granted?: number; created?: number; engineStarted?: number; started?: number; streamEnded?: number; inspected?: number; released?: number }
/** The exec_command call whose handler runs now (the engine calls below read it to stamp their moments). */
const execCall = new AsyncLocalStorage<ExecMoments>();

/**
 * Stamps the engine's exec calls with the call they belong to: the last `exec` created and started
 * before the command started is the command's (earlier ones are the bridge's checks), and the exec's
 * `inspect` is asked once its output stream ended (src/engine/docker.ts runExec).
 */
function stampEngineCalls(docker: Docker): void {
  const Container = Object.getPrototypeOf(docker.getContainer('-')) as Docker.Container;
  const Exec = Object.getPrototypeOf(docker.getExec('-')) as Docker.Exec;
  const containerExec = Container.exec;
  Container.exec = function (this: unknown, ...args: unknown[]) {
    const m = execCall.getStore();
    if (m && m.started === undefined) m.created = performance.now();
    return containerExec.apply(this, args as never);
  } as typeof containerExec;
  const start = Exec.start;
  Exec.start = async function (this: unknown, ...args: unknown[]) {
    const m = execCall.getStore();
    try {
      return await start.apply(this, args as never);
    } finally {
      if (m && m.started === undefined) m.engineStarted = performance.now();
    }
  } as typeof start;
  const inspect = Exec.inspect;
  Exec.inspect = async function (this: unknown, ...args: unknown[]) {
    const m = execCall.getStore();
    if (m && m.started !== undefined) m.streamEnded = performance.now();
    try {
      return await inspect.apply(this, args as never);
    } finally {
      if (m && m.started !== undefined) m.inspected = performance.now();
    }
  } as typeof inspect;
}

/**
 * The shipped admission, timing how long each admitted call waits in line for its slot: the part of
 * an admitted call's time the bridge's bounds decide (the rest is the engine running it); and each
 * admitted exec_command's stages (see ExecMoments).
 */
class TimedAdmission {
  waitsMs: number[] = [];
  execs: ExecMoments[] = [];

  /** `inner`: the shipped Admission, or one from BENCH_ADMISSION's module (its errors are mapped to the shipped classes tools.ts knows). */
  constructor(private readonly inner: Admission, private readonly base?: typeof import('../src/bridge/admission.js')) {}

  laneSnapshot(): ReturnType<Admission['laneSnapshot']> {
    return this.inner.laneSnapshot();
  }

  enter(sandbox: string, cancelled?: AbortSignal, lane?: Parameters<Admission['enter']>[2]): Ticket {
    const arrived = performance.now();
    const ticket = this.inner.enter(sandbox, cancelled, lane);
    if (!ticket.admitted) return ticket;
    // The tools' call() awaits nothing before enter: the rest of this call's handler runs in this context.
    const moments: ExecMoments = { arrived };
    if (lane === 'exec') execCall.enterWith(moments);
    const slot = ticket.slot.then((s) => {
      moments.granted = performance.now();
      this.waitsMs.push(moments.granted - arrived);
      if (lane === 'exec') this.execs.push(moments);
      const stamped: Slot = {
        started: () => { moments.started ??= performance.now(); s.started(); },
        release: () => { moments.released ??= performance.now(); s.release(); },
      };
      // An exec holding its lane to its end, not only until the engine started it (to compare).
      return process.env.BENCH_LANE_WHOLE_CALL === '1' ? { started: () => { moments.started ??= performance.now(); }, release: stamped.release } : stamped;
    }, (err: unknown) => {
      if (this.base && err instanceof this.base.WaitedTooLong) throw new WaitedTooLong(err.reason, err.retryAfterMs);
      if (this.base && err instanceof this.base.CallWithdrawn) throw new CallWithdrawn();
      throw err;
    });
    slot.catch(() => {});
    return { admitted: true, slot };
  }
}

// ---- the bridge process --------------------------------------------------------------------------

async function host(target: string, dir: string): Promise<void> {
  const docker = new Docker();
  stampEngineCalls(docker);
  const policy = policySchema.parse({ tier: 'moderate', bridge: { containers: [target], exec: { [target]: ['echo *'] } } });
  const service = new BridgeService(docker, { bridge: policy.bridge, tier: policy.tier });
  const audit = new AuditLog(join(dir, 'audit.jsonl'));
  const unbounded = process.env.BENCH_UNBOUNDED === '1';
  // BENCH_ADMISSION: another admission module (a copy of an older src/bridge/admission.ts) to compare in the same run.
  const base = process.env.BENCH_ADMISSION ? await import(resolve(process.env.BENCH_ADMISSION)) as typeof import('../src/bridge/admission.js') : undefined;
  // BENCH_LIMITS: JSON of limits to change, e.g. '{"callBudgetMs":700}', to try a setting before shipping it.
  const limits = { ...(base?.BRIDGE_LIMITS ?? BRIDGE_LIMITS), ...(process.env.BENCH_LIMITS ? JSON.parse(process.env.BENCH_LIMITS) : {}) };
  const admission = new TimedAdmission(new (base?.Admission ?? Admission)(unbounded ? { ...limits, runningPerSandbox: 1e9, runningTotal: 1e9, waitingPerSandbox: 1e9, waitingTotal: 1e9, longPerSandbox: 1e9, callBudgetMs: 1e9, waitLimitMs: 1e9, execAtOnceMax: 1e9 } : limits), base);
  // The bridge's only outgoing connections are to the engine.
  let engine = { opened: 0, peakOpen: 0 };
  let engineOpen = 0;
  diagnosticsChannel.subscribe('net.client.socket', (message) => {
    engine.opened++;
    engine.peakOpen = Math.max(engine.peakOpen, ++engineOpen);
    (message as { socket: import('node:net').Socket }).socket.once('close', () => { engineOpen--; });
  });
  const token = randomBytes(24).toString('base64url');
  const received = new Map<number, [number, number, number]>();
  stampRequests(received);
  const server = new BridgeHttpServer(token, () => createBridgeServer(service, audit, 'bench', admission as unknown as Admission));
  const socket = join(dir, 'bridge.sock');
  await server.listen({ kind: 'unix', path: socket });
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let gc = { count: 0, totalMs: 0, maxMs: 0 };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) { gc.count++; gc.totalMs += e.duration; gc.maxMs = Math.max(gc.maxMs, e.duration); }
  }).observe({ entryTypes: ['gc'] });
  let limitMs: Record<number, number> = {};
  let sampled = performance.now();
  setInterval(() => {
    const now = performance.now();
    const limit = admission.laneSnapshot().execLimit;
    limitMs[limit] = (limitMs[limit] ?? 0) + (now - sampled);
    sampled = now;
  }, 20).unref();
  process.on('message', (m: string) => {
    if (m === 'memory') {
      global.gc?.();
      const { rss, heapUsed } = process.memoryUsage();
      const cpu = process.cpuUsage();
      const totalMs = Object.values(limitMs).reduce((a, b) => a + b, 0) || 1;
      const execLimitShare = Object.fromEntries(Object.entries(limitMs).map(([k, v]) => [k, v / totalMs]));
      process.send!({ memory: { rss, heapUsed, cpuMs: (cpu.user + cpu.system) / 1000, loopDelayP99Ms: loop.percentile(99) / 1e6, loopDelayMaxMs: loop.max / 1e6, waitsMs: admission.waitsMs, execs: admission.execs, execLimit: admission.laneSnapshot().execLimit, gc, execLimitShare, received: Object.fromEntries(received), engine } satisfies Memory });
      received.clear();
      engine = { opened: 0, peakOpen: engineOpen };
      loop.reset();
      gc = { count: 0, totalMs: 0, maxMs: 0 };
      limitMs = {};
      admission.waitsMs = [];
      admission.execs = [];
    } else if (m === 'stop') {
      void server.close().then(() => process.exit(0));
    }
  });
  process.send!({ ready: { socket, token, auditFile: audit.file! } satisfies HostReady });
}

// ---- the clients ---------------------------------------------------------------------------------

function ask<T>(child: ChildProcess, message: string, key: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: any) => {
      if (m && key in m) { child.off('message', on); resolve(m[key]); }
    };
    child.on('message', on);
    if (message) child.send(message);
  });
}

/** When the client's transport made each exec_command's HTTP request (Date.now()), by the call's number. */
const fetchedAt = new Map<number, number>();

/** The clients' POSTs: from the request's start (node's http.client.request.start) to its last byte handed to the socket (ms). */
let clientWrites: number[] = [];
diagnosticsChannel.subscribe('http.client.request.start', (message) => {
  const req = (message as { request: ClientRequest }).request;
  if (req.method !== 'POST') return;
  const at = performance.now();
  req.once('finish', () => clientWrites.push(performance.now() - at));
});

async function connect(ready: HostReady): Promise<Client> {
  const client = new Client({ name: 'bench-load', version: '1' });
  const fetch = unixFetch(ready.socket);
  await client.connect(new StreamableHTTPClientTransport(new URL('http://paddock-bridge/mcp'), {
    requestInit: { headers: { Authorization: `Bearer ${ready.token}` } },
    fetch: (url, init) => {
      const i = typeof init?.body === 'string' ? /"command":"echo call (\d+)"/.exec(init.body)?.[1] : undefined;
      if (i !== undefined) fetchedAt.set(Number(i), Date.now());
      return fetch(url, init);
    },
  }), { timeout: 600_000 });
  return client;
}

/** Ends the session on the bridge too (DELETE), as a client that is done should, then closes. */
async function disconnect(client: Client): Promise<void> {
  await (client.transport as StreamableHTTPClientTransport | undefined)?.terminateSession().catch(() => {});
  await client.close().catch(() => {});
}

function argsFor(tool: Tool, target: string, i: number): Record<string, unknown> {
  if (tool === 'exec_command') return { container: target, command: `echo call ${i}` };
  if (tool === 'get_logs') return { container: target, tail: 50 };
  return {};
}

interface Outcome { readonly tool: Tool; readonly ms: number; readonly kind: 'ok' | 'busy' | 'error'; readonly text?: string; readonly sentAt: number; readonly i: number }

/**
 * How long calls took to reach the bridge's admission at all: from the client's send to the time of
 * a refused-busy exec_command's audit line (written when admission looked at it; its command names
 * the call). Admission bounds only what comes after. Split at the client transport's fetch, the
 * bridge's HTTP request event and its body's end: on 2026-12-02 nearly all of it was between the
 * fetch and the request event (the request written, waiting in the socket's queues to be accepted
 * and read by a bridge short of CPU), and under 40 ms (p95) from the request event to the refusal.
 */
function intakeOf(outcomes: readonly Outcome[], entries: readonly AuditEntry[], received: Memory['received']): string {
  const sent = new Map(outcomes.filter((o) => o.tool === 'exec_command').map((o) => [o.i, o.sentAt]));
  const fresh: number[] = [];
  const parts: [string, number[]][] = [['send', []], ['client\'s HTTP request', []], ['server\'s request event', []], ['body read', []]];
  const xs = entries.filter((e) => e.tool === 'exec_command' && e.decision === 'busy').flatMap((e) => {
    const i = Number(/^echo call (\d+)$/.exec(String(e.args?.command ?? ''))?.[1]);
    const at = sent.get(i);
    if (at === undefined) return [];
    const [connectedAt, requestAt, bodyAt] = received[i] ?? [];
    if (connectedAt) fresh.push(requestAt! - connectedAt);
    const moments = [at, fetchedAt.get(i), requestAt, bodyAt];
    if (moments.every((m) => m !== undefined)) moments.forEach((m, k) => parts[k][1].push((moments[k + 1] ?? Date.parse(e.time)) - m!));
    return [Date.parse(e.time) - at];
  }).sort((a, b) => a - b);
  const p = (ys: number[]) => { ys.sort((a, b) => a - b); return `${ms(percentile(ys, 50))}/${ms(percentile(ys, 95))}`; };
  return `    from the client's send to the bridge's admission (refused-busy exec_commands, ${xs.length}): p50 ${ms(percentile(xs, 50))}, p95 ${ms(percentile(xs, 95))}, p99 ${ms(percentile(xs, 99))}, max ${ms(xs.at(-1) ?? NaN)}`
    + `\n      from each moment to the next (p50/p95): ${parts.map(([label, ys]) => `${label} ${p(ys)}`).join(', ')}, then the refusal`
    + `\n      ${fresh.length} of them came on a new connection (accepted to its request p50/p95 ${p(fresh)}); the clients' POSTs written ${p(clientWrites)} after their start`;
}

/** The engine daemon's CPU time so far (ms), when it runs on this machine (Linux /proc), else undefined. */
function engineCpuMs(): number | undefined {
  try {
    const pid = execFileSync('pidof', ['dockerd'], { encoding: 'utf8' }).trim().split(/\s+/)[0];
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * (1000 / 100);
  } catch {
    return undefined;
  }
}

const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN);
const ms = (x: number) => (Number.isNaN(x) ? '-' : x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(0)} ms`);
const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;

/**
 * Where admitted calls' time went, from the audit lines a run wrote: each outcome line's `durationMs`
 * is the call's own run (from leaving the line to its outcome: view, engine, masking, audit), the
 * rest of what the client saw is the wait in line and the MCP round trip. Also how many
 * `exec_command`s ran at once (over the time any ran), the concurrency the engine saw.
 */
function stagesOf(entries: readonly AuditEntry[]): string {
  const own = TOOLS.map((tool) => {
    const xs = entries.filter((e) => e.tool === tool && e.decision === 'allowed').map((e) => e.durationMs).sort((a, b) => a - b);
    return `${tool} ${ms(percentile(xs, 50))}/${ms(percentile(xs, 95))}/${ms(percentile(xs, 99))}`;
  }).join('  ');
  const edges = entries.filter((e) => e.tool === 'exec_command' && e.decision === 'allowed')
    .flatMap((e) => { const at = Date.parse(e.time); return [[at, 1], [at + e.durationMs, -1]] as const; })
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0, peak = 0, busyMs = 0, weighted = 0;
  for (let i = 0; i < edges.length; i++) {
    now += edges[i][1];
    peak = Math.max(peak, now);
    const span = (edges[i + 1]?.[0] ?? edges[i][0]) - edges[i][0];
    if (now > 0) { busyMs += span; weighted += span * now; }
  }
  return `    admitted calls' own run (audit durationMs) p50/p95/p99: ${own}\n`
    + `    exec_command running at once: mean ${busyMs ? (weighted / busyMs).toFixed(1) : '-'} while any ran, peak ${peak}`;
}

/** Where admitted exec_commands' time went inside the bridge, stage by stage (ExecMoments), and in the slowest 5 %. */
function execStagesOf(execs: readonly ExecMoments[]): string {
  const done = execs.filter((m): m is Required<ExecMoments> => m.released !== undefined && m.created !== undefined && m.engineStarted !== undefined && m.started !== undefined && m.streamEnded !== undefined && m.inspected !== undefined);
  if (!done.length) return '    exec_command stages: none complete';
  const stages: [string, (m: Required<ExecMoments>) => number][] = [
    ['wait in line', (m) => m.granted - m.arrived],
    ['checks, view helper, masker', (m) => m.created - m.granted],
    ['engine create+start', (m) => m.engineStarted - m.created],
    ['view built (the prologue)', (m) => m.started - m.engineStarted],
    ['command to stream end', (m) => m.streamEnded - m.started],
    ['exec inspect', (m) => m.inspected - m.streamEnded],
    ['masking, audit', (m) => m.released - m.inspected],
  ];
  const whole = (m: Required<ExecMoments>) => m.released - m.arrived;
  const slowest = [...done].sort((a, b) => whole(b) - whole(a)).slice(0, Math.max(1, Math.ceil(done.length / 20)));
  const mean = (xs: readonly Required<ExecMoments>[], f: (m: Required<ExecMoments>) => number) => xs.reduce((t, m) => t + f(m), 0) / xs.length;
  return `    exec_command stages (${done.length} admitted, p50/p95/p99; mean in the slowest ${slowest.length} at ${ms(whole(slowest.at(-1)!))} or more):\n`
    + stages.map(([label, f]) => {
      const xs = done.map(f).sort((a, b) => a - b);
      return `      ${label.padEnd(32)} ${ms(percentile(xs, 50))}/${ms(percentile(xs, 95))}/${ms(percentile(xs, 99))}; slowest ${ms(mean(slowest, f))}`;
    }).join('\n');
}

async function run(ready: HostReady, target: string, rate: number, clientCount: number, calls: number): Promise<{ line: string; outcomes: Outcome[] }> {
  const clients = await Promise.all(Array.from({ length: clientCount }, () => connect(ready)));
  // The clients' own process: a late answer may be the bench's client waiting for the CPU.
  const clientLoop = monitorEventLoopDelay({ resolution: 10 });
  clientLoop.enable();
  const outcomes: Outcome[] = [];
  clientWrites = [];
  const pending: Promise<void>[] = [];
  const start = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(calls, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
      for (; sent < due; sent++) {
        const i = sent;
        const tool = TOOLS[i % TOOLS.length];
        const client = clients[i % clients.length];
        const t = performance.now();
        const sentAt = Date.now();
        pending.push(client.callTool({ name: tool, arguments: argsFor(tool, target, i) }, undefined, { timeout: 600_000 }).then((r) => {
          const text = (r.content as { text?: string }[]).map((c) => c.text ?? '').join('');
          outcomes.push({ tool, ms: performance.now() - t, kind: !r.isError ? 'ok' : /^Busy:/.test(text) ? 'busy' : 'error', text, sentAt, i });
        }, (err) => { outcomes.push({ tool, ms: performance.now() - t, kind: 'error', text: String(err?.message ?? err), sentAt, i }); }));
      }
      if (sent >= calls) resolve();
      else setTimeout(tick, Math.max(1, Math.floor(1000 / rate / 2)));
    };
    tick();
  });
  const sending = (performance.now() - start) / 1000;
  await Promise.all(pending);
  const elapsed = (performance.now() - start) / 1000;
  clientLoop.disable();
  await Promise.all(clients.map(disconnect));
  const ok = outcomes.filter((o) => o.kind === 'ok');
  const busy = outcomes.filter((o) => o.kind === 'busy');
  const errors = outcomes.filter((o) => o.kind === 'error');
  const perTool = TOOLS.map((tool) => {
    const xs = ok.filter((o) => o.tool === tool).map((o) => o.ms).sort((a, b) => a - b);
    return `${tool} ${ms(percentile(xs, 50))}/${ms(percentile(xs, 95))}/${ms(percentile(xs, 99))}`;
  }).join('  ');
  const busyMs = busy.map((o) => o.ms).sort((a, b) => a - b);
  const line = `${String(rate).padStart(3)}/s offered, ${String(clientCount).padStart(2)} clients: sent in ${sending.toFixed(1)} s, done in ${elapsed.toFixed(1)} s; `
    + `answered ${(ok.length / elapsed).toFixed(1)} calls/s (${ok.length} ok, ${busy.length} busy, ${errors.length} errors)\n`
    + `    admitted p50/p95/p99: ${perTool}\n`
    + `    busy answers: ${busy.length ? `p50 ${ms(percentile(busyMs, 50))}, p99 ${ms(percentile(busyMs, 99))}` : 'none'}`
   
    + `; clients' event loop delay p99 ${ms(clientLoop.percentile(99) / 1e6)}, max ${ms(clientLoop.max / 1e6)}`
    + (errors.length ? `\n    first error: ${errors[0].text?.split('\n')[0]}` : '');
  return { line, outcomes };
}

async function main(): Promise<void> {
  if (process.argv[2] === '--host') return host(process.argv[3], process.argv[4]);
  // A client's calls in flight each listen on its transport's one abort signal: hundreds at 200/s.
  setMaxListeners(10_000);
  const calls = Number(process.env.BENCH_CALLS ?? 3000);
  const rates = (process.env.BENCH_RATES ?? '50,200').split(',').map(Number);
  const clientCounts = (process.env.BENCH_CLIENTS ?? '1,5,10').split(',').map(Number);
  const docker = new Docker();
  const target = `paddock-bench-load-${randomBytes(3).toString('hex')}`;
  const container = await docker.createContainer({
    name: target, Image: IMAGE, WorkingDir: '/srv',
    Cmd: ['sh', '-c', 'i=0; while [ $i -lt 200 ]; do echo "line $i: GET /api/items/$i 200 3ms"; i=$((i+1)); done; exec sleep 2147483647'],
  });
  await container.start();
  const dir = mkdtempSync(join(tmpdir(), 'paddock-bench-load-'));
  const child = fork(process.argv[1], ['--host', target, dir], { execArgv: ['--import', 'tsx', '--expose-gc', ...(process.env.BENCH_PROFILE ? [`--cpu-prof`, `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [])], env: process.env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const ready = await ask<HostReady>(child, '', 'ready');
    const limits = process.env.BENCH_UNBOUNDED === '1' ? 'none (BENCH_UNBOUNDED=1)'
      : `${BRIDGE_LIMITS.runningPerSandbox} running / ${BRIDGE_LIMITS.waitingPerSandbox} waiting per sandbox, ${BRIDGE_LIMITS.runningTotal} / ${BRIDGE_LIMITS.waitingTotal} in total, execs 1-${BRIDGE_LIMITS.execAtOnceMax} at once, budget ${BRIDGE_LIMITS.callBudgetMs} ms`;
    console.log(`bridge load: ${calls} calls per run (${TOOLS.join(', ')} in turn) on ${target}; limits: ${limits}; admission: ${process.env.BENCH_ADMISSION || 'src/bridge/admission.ts'}${process.env.BENCH_LANE_WHOLE_CALL === '1' ? ', execs hold the lane to their end' : ''}`);
    // Warm-up: the first exec builds the target's physical view (a helper container).
    const warm = await connect(ready);
    for (const tool of TOOLS) await warm.callTool({ name: tool, arguments: argsFor(tool, target, 0) });
    await disconnect(warm);
    const before = await ask<Memory>(child, 'memory', 'memory');
    console.log(`bridge memory before: rss ${mib(before.rss)}, heap ${mib(before.heapUsed)}`);
    let total = TOOLS.length;
    for (const rate of rates) {
      for (const clientCount of clientCounts) {
        const previous = await ask<Memory>(child, 'memory', 'memory');
        const auditBefore = readAuditLines(ready.auditFile).length;
        const engineBefore = engineCpuMs();
        const { line, outcomes } = await run(ready, target, rate, clientCount, calls);
        const engineAfter = engineCpuMs();
        total += outcomes.length;
        const runEntries = mergeAuditEntries(readAuditLines(ready.auditFile).slice(auditBefore));
        const memory = await ask<Memory>(child, 'memory', 'memory');
        const stages = `${stagesOf(runEntries)}\n${intakeOf(outcomes, runEntries, memory.received)}`;
        const cpuPerCall = (memory.cpuMs - previous.cpuMs) / outcomes.length;
        const waits = memory.waitsMs.sort((x, y) => x - y);
        console.log(`${line}\n${stages}\n    admitted calls' wait in line for a slot (all tools): p50 ${ms(percentile(waits, 50))}, p95 ${ms(percentile(waits, 95))}, p99 ${ms(percentile(waits, 99))}, max ${ms(waits.at(-1) ?? NaN)}`
          + `\n${execStagesOf(memory.execs)}`
          + (memory.execLimit ? `\n    execs allowed at once at the end: ${memory.execLimit}; share of the run at each limit: ${Object.entries(memory.execLimitShare).map(([k, v]) => `${k}: ${(100 * v).toFixed(0)} %`).join(', ')}` : '')
          + `\n    bridge: ${cpuPerCall.toFixed(1)} ms CPU per call, event loop delay p99 ${ms(memory.loopDelayP99Ms)} (max ${ms(memory.loopDelayMaxMs)}), GC ${memory.gc.count} pauses, ${ms(memory.gc.totalMs)} in all, longest ${ms(memory.gc.maxMs)}; memory after: rss ${mib(memory.rss)}, heap ${mib(memory.heapUsed)}`
          + `\n    engine connections: ${memory.engine.opened} opened, at most ${memory.engine.peakOpen} open at once`
          + (engineBefore !== undefined && engineAfter !== undefined ? `; dockerd CPU ${((engineAfter - engineBefore) / outcomes.length).toFixed(1)} ms per call (all of its work in the run, others' too)` : ''));
      }
    }
    const after = await ask<Memory>(child, 'memory', 'memory');
    const entries = readAudit(ready.auditFile);
    const started = readAuditLines(ready.auditFile).filter((e) => e.decision === 'started').length;
    console.log(`bridge memory after all runs: rss ${mib(after.rss)} (before ${mib(before.rss)}), heap ${mib(after.heapUsed)} (before ${mib(before.heapUsed)})`);
    console.log(`audit: ${entries.length} entries for ${total} calls (${entries.filter((e) => e.decision === 'busy').length} refused-busy, ${entries.filter((e) => e.decision === 'started').length} without an outcome; ${started} start lines written ahead)`);
  } finally {
    child.send('stop');
    await new Promise((r) => child.once('exit', r));
    await container.remove({ force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
