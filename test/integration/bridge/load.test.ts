// The bridge under a burst of calls (real engine, real target container, real MCP clients over the
// bridge's Unix socket): past its bound the agent gets "Busy, retry" at once instead of a queue that
// grows without end; every admitted call runs and succeeds; the audit holds one entry per call (the
// admitted ones written ahead, the refused ones as refused-busy); several sessions of one sandbox
// share its bound, and one sandbox's flood does not refuse another sandbox's calls.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { Admission, BRIDGE_LIMITS, LANE_EXEC } from '../../../src/bridge/admission.js';
import { AuditLog, readAudit, readAuditLines } from '../../../src/bridge/audit.js';
import { BridgeHttpServer } from '../../../src/bridge/server.js';
import { BridgeService } from '../../../src/bridge/service.js';
import { createBridgeServer } from '../../../src/bridge/tools.js';
import { policySchema } from '../../../src/core/policy.js';
import { docker, engine } from '../../support/sandbox.js';
import { BASE_IMAGE, clientFor, suffix } from './support.js';

/** Long enough that no admitted call can end while the burst is still being answered. */
const SLEEP = 'sleep 5';
/**
 * The shipped limits, with slots held for the whole call and no limit on a wait in line: a burst that
 * takes a loaded machine seconds to deliver then meets exactly the running and waiting bounds
 * (handing the slot of a long call on, and answering busy a call that waited too long, are unit-tested).
 */
const LIMITS = { ...BRIDGE_LIMITS, slotHoldMs: 600_000, waitLimitMs: 600_000, callBudgetMs: 600_000 };
const ADMITTED_AT_MOST = BRIDGE_LIMITS.runningPerSandbox + BRIDGE_LIMITS.waitingPerSandbox;
const BURST = ADMITTED_AT_MOST + 12;

interface Hosted {
  readonly socket: string;
  readonly token: string;
  readonly auditFile: string;
  close(): Promise<void>;
}

describe('bridge under a burst of calls', () => {
  const target = `pbt-load-${suffix}`;
  const dirs: string[] = [];
  const servers: BridgeHttpServer[] = [];
  const clients: Client[] = [];

  before(() => {
    const r = docker(['run', '-d', '--name', target, BASE_IMAGE, 'sh', '-c', 'echo load target ready; exec sleep 2147483647']);
    if (r.code !== 0) throw new Error(`docker run failed: ${r.stderr}`);
  });
  after(async () => {
    for (const c of clients) await c.close().catch(() => {});
    for (const s of servers) await s.close();
    docker(['rm', '-f', target]);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** A sandbox's bridge as host.ts builds it, on its own socket, token and audit, with the given admission. */
  async function host(sandbox: string, admission: Admission): Promise<Hosted> {
    const dir = mkdtempSync(join(tmpdir(), 'pbt-load-'));
    dirs.push(dir);
    const policy = policySchema.parse({ tier: 'moderate', bridge: { containers: [target], exec: { [target]: [SLEEP, 'echo *'] } } });
    const service = new BridgeService(engine().docker, { bridge: policy.bridge, tier: policy.tier });
    const audit = new AuditLog(join(dir, 'audit.jsonl'));
    const token = randomBytes(24).toString('base64url');
    const server = new BridgeHttpServer(token, () => createBridgeServer(service, audit, sandbox, admission));
    servers.push(server);
    const socket = join(dir, 'bridge.sock');
    await server.listen({ kind: 'unix', path: socket });
    return { socket, token, auditFile: audit.file!, close: () => server.close() };
  }

  async function connect(bridge: Hosted): Promise<Client> {
    const client = await clientFor(bridge.socket, bridge.token);
    clients.push(client);
    return client;
  }

  /** A call whose answer may take minutes on a loaded machine (the SDK's own timeout is 60 s). */
  async function patientCall(client: Client, tool: string, args: Record<string, unknown>): Promise<{ text: string; isError: boolean }> {
    const result = await client.callTool({ name: tool, arguments: args }, undefined, { timeout: 600_000 });
    return { text: (result.content as { text?: string }[]).map((c) => c.text ?? '').join('\n'), isError: !!result.isError };
  }

  /** Sends every call at once; returns each answer with its place in the order answers arrived. */
  async function burst(sessions: Client[], count: number, args: Record<string, unknown>): Promise<{ text: string; isError: boolean; order: number }[]> {
    let arrived = 0;
    return Promise.all(Array.from({ length: count }, (_, i) => patientCall(sessions[i % sessions.length], 'exec_command', args)
      .then((r) => ({ ...r, order: arrived++ }))));
  }

  it('past the bound, busy answers come back before any admitted call ends; the admitted all succeed; the audit has one entry per call', async () => {
    const bridge = await host('flood', new Admission(LIMITS));
    // Three sessions of one sandbox (an agent may open many): they share the sandbox's bound.
    const sessions = await Promise.all([1, 2, 3].map(() => connect(bridge)));
    const answers = await burst(sessions, BURST, { container: target, command: SLEEP, timeout: 600 });
    const busy = answers.filter((a) => a.isError && /^Busy: /.test(a.text));
    const admitted = answers.filter((a) => !busy.includes(a));

    assert.ok(busy.length >= BURST - ADMITTED_AT_MOST, `at most ${ADMITTED_AT_MOST} admitted of ${BURST}: ${busy.length} busy`);
    assert.ok(admitted.length >= BRIDGE_LIMITS.runningPerSandbox, `the first ${BRIDGE_LIMITS.runningPerSandbox} are admitted (they run or wait): ${admitted.length} admitted`);
    for (const a of busy) assert.match(a.text, /not run\. Retry in \d+ s; calls made one after another are never refused/);
    for (const a of admitted) {
      assert.equal(a.isError, false, a.text);
      assert.match(a.text, /\[exit code 0\]/);
    }
    // Without waiting for the queue: every busy answer arrived before the first admitted call ended.
    const firstDone = Math.min(...admitted.map((a) => a.order));
    assert.ok(busy.every((a) => a.order < firstDone), `busy answers at ${busy.map((a) => a.order)}, first admitted one at ${firstDone}`);

    const entries = readAudit(bridge.auditFile);
    assert.equal(entries.length, BURST, 'one audit entry per call');
    assert.equal(entries.filter((e) => e.decision === 'busy' && e.rule === 'refused-busy').length, busy.length);
    assert.equal(entries.filter((e) => e.decision === 'allowed').length, admitted.length);
    // Write-ahead: each admitted call has its start line before its outcome; a refused one has none (nothing ran).
    const lines = readAuditLines(bridge.auditFile);
    const startedAt = new Map(lines.map((e, i) => [e, i] as const).filter(([e]) => e.decision === 'started').map(([e, i]) => [e.call!, i]));
    assert.equal(startedAt.size, admitted.length);
    lines.forEach((e, i) => {
      if (e.decision === 'allowed') assert.ok(startedAt.get(e.call!)! < i, 'started line first');
      if (e.decision === 'busy') assert.equal(e.call, undefined);
    });

    // Drained: the next call runs.
    const next = await patientCall(sessions[0], 'exec_command', { container: target, command: 'echo after the burst' });
    assert.equal(next.isError, false, next.text);
    assert.match(next.text, /after the burst/);
  });

  it('an agent\'s paddock-mcp ends its session on the bridge when the agent goes, so sessions do not pile up on the host', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbt-load-shim-'));
    dirs.push(dir);
    const policy = policySchema.parse({ tier: 'moderate', bridge: { containers: [target], exec: { [target]: ['echo *'] } } });
    const token = randomBytes(24).toString('base64url');
    const server = new BridgeHttpServer(token, () => createBridgeServer(new BridgeService(engine().docker, { bridge: policy.bridge, tier: policy.tier }), new AuditLog(join(dir, 'audit.jsonl')), 'shim', new Admission(LIMITS)));
    servers.push(server);
    const socket = join(dir, 'bridge.sock');
    await server.listen({ kind: 'unix', path: socket });
    for (let run = 0; run < 3; run++) {
      const agent = new Client({ name: 'agent', version: '1' });
      await agent.connect(new StdioClientTransport({
        command: process.execPath, args: ['--import', 'tsx', 'src/bridge/shim.ts'], stderr: 'pipe',
        env: { ...process.env as Record<string, string>, PADDOCK_BRIDGE_URL: `unix:${socket}`, PADDOCK_BRIDGE_TOKEN: token },
      }));
      const answer = await patientCall(agent, 'list_containers', {});
      assert.match(answer.text, new RegExp(target));
      assert.equal(server.sessionCount, 1, 'one session while the agent runs');
      await agent.close();
      for (const until = Date.now() + 30_000; server.sessionCount > 0;) {
        assert.ok(Date.now() < until, `the session of agent ${run + 1} stayed on the bridge`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });

  it('one sandbox flooding the bridge does not refuse another sandbox\'s calls', async () => {
    const shared = new Admission(LIMITS);
    const flood = await host('flooding', shared);
    const quiet = await host('quiet', shared);
    const floodSession = await connect(flood);
    const quietSession = await connect(quiet);
    const flooding = burst([floodSession], BURST, { container: target, command: SLEEP, timeout: 600 });
    // While the flood holds its running and waiting limits, the quiet sandbox's call is admitted and runs.
    for (const until = Date.now() + 30_000; shared.snapshot().sandboxes.flooding?.waiting !== BRIDGE_LIMITS.waitingPerSandbox;) {
      assert.ok(Date.now() < until, `the flood never filled its queue: ${JSON.stringify(shared.snapshot())}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const [logs, echo] = await Promise.all([
      patientCall(quietSession, 'get_logs', { container: target }),
      patientCall(quietSession, 'exec_command', { container: target, command: 'echo quiet one' }),
    ]);
    assert.equal(logs.isError, false, logs.text);
    assert.match(logs.text, /load target ready/);
    assert.equal(echo.isError, false, echo.text);
    assert.match(echo.text, /quiet one/);
    const floodAnswers = await flooding;
    assert.ok(floodAnswers.some((a) => /^Busy: /.test(a.text)), 'the flood itself was bounded');
    assert.equal(readAudit(quiet.auditFile).filter((e) => e.decision === 'busy').length, 0);
  });

  it('with the shipped limits, a flood of quick commands is partly refused at once, the rest all run, the engine never gets more than the exec bound at once, and another sandbox calling one at a time is never refused', async () => {
    const shared = new Admission(BRIDGE_LIMITS);
    const flood = await host('quick-flood', shared);
    const other = await host('one-at-a-time', shared);
    const floodSessions = await Promise.all([1, 2].map(() => connect(flood)));
    const otherSession = await connect(other);
    // How many execs the bridge runs at once, looked at every few ms while the flood lasts.
    let peakExecs = 0;
    const watch = setInterval(() => { peakExecs = Math.max(peakExecs, shared.laneSnapshot().lanes[LANE_EXEC].running); }, 2);
    const FLOOD = 60;
    let floodDone = false;
    const flooding = Promise.all(Array.from({ length: FLOOD }, (_, i) => patientCall(floodSessions[i % 2], 'exec_command', { container: target, command: `echo flood ${i}` }).then((r) => ({ ...r, i }))))
      .finally(() => { floodDone = true; });
    const otherAnswers: { text: string; isError: boolean }[] = [];
    for (let i = 0; i < 3 || !floodDone; i++) otherAnswers.push(await patientCall(otherSession, 'exec_command', { container: target, command: `echo other ${i}` }));
    const answers = await flooding;
    clearInterval(watch);

    const busy = answers.filter((a) => a.isError && /^Busy: /.test(a.text));
    const admitted = answers.filter((a) => !busy.includes(a));
    assert.ok(busy.length > 0, 'past capacity some calls are refused');
    assert.ok(admitted.length > 0, 'and some run');
    for (const a of busy) assert.match(a.text, /so this call was not run\. Retry in \d+ s/);
    for (const a of admitted) {
      assert.equal(a.isError, false, a.text);
      assert.match(a.text, new RegExp(`^flood ${a.i}\\n\\[exit code 0\\]`));
    }
    assert.ok(peakExecs >= 1 && peakExecs <= BRIDGE_LIMITS.execAtOnceMax, `at most ${BRIDGE_LIMITS.execAtOnceMax} execs at once, saw ${peakExecs}`);
    // The other sandbox, calling one at a time through the flood, was never refused and got every answer.
    otherAnswers.forEach((a, i) => {
      assert.equal(a.isError, false, a.text);
      assert.match(a.text, new RegExp(`^other ${i}\\n`));
    });

    // One audit entry per call: the admitted ones ran (allowed, each with its start line written
    // first), the refused ones are one refused-busy line each and never ran.
    const entries = readAudit(flood.auditFile);
    assert.equal(entries.length, FLOOD);
    assert.equal(entries.filter((e) => e.decision === 'busy' && e.rule === 'refused-busy').length, busy.length);
    assert.equal(entries.filter((e) => e.decision === 'allowed').length, admitted.length);
    assert.equal(readAuditLines(flood.auditFile).filter((e) => e.decision === 'started').length, admitted.length);
    const otherEntries = readAudit(other.auditFile);
    assert.equal(otherEntries.length, otherAnswers.length);
    assert.ok(otherEntries.every((e) => e.decision === 'allowed'));
    assert.deepEqual(shared.snapshot(), { running: 0, waiting: 0, sandboxes: {} }, 'nothing held after the flood');
  });
});
