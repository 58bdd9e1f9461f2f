// An agent that dies without a word (kill -9 of paddock-mcp inside the sandbox, or the sandbox
// stopping) leaves no session on the host's bridge: its waiting call is cancelled at once (it never
// runs), its session is ended once its connections stay closed, and a new agent is served. Real
// sandbox (created by the CLI), the bridge hosted for it as the CLI and VS Code do, a real SDK
// client driving paddock-mcp over `docker exec`, a real target container.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Admission, BRIDGE_LIMITS } from '../../../src/bridge/admission.js';
import { readAudit, readAuditLines } from '../../../src/bridge/audit.js';
import { hostSandboxBridge, type HostedBridge } from '../../../src/bridge/host.js';
import { SESSION_TIMEOUTS } from '../../../src/bridge/server.js';
import { cleanup, docker, engine, makeWorkspace, paddockOk } from '../../support/sandbox.js';
import { agentClient, BASE_IMAGE, dockerAsync, suffix } from '../bridge/support.js';

/** One call of the sandbox runs at a time and holds its slot to the end, so the next one waits (for as long as it takes). */
const LIMITS = { ...BRIDGE_LIMITS, runningPerSandbox: 1, slotHoldMs: 600_000, waitLimitMs: 600_000, callBudgetMs: 600_000 };

describe('bridge sessions of agents that die', () => {
  const target = `pbt-dead-${suffix}`;
  let ws: string;
  let sandbox: string;
  let hosted: HostedBridge | undefined;
  const admission = new Admission(LIMITS);
  const agents: Client[] = [];

  before(async () => {
    const r = docker(['run', '-d', '--name', target, BASE_IMAGE, 'sh', '-c', 'exec sleep 2147483647']);
    if (r.code !== 0) throw new Error(`docker run failed: ${r.stderr}`);
    ws = makeWorkspace({
      '.paddock/policy.yaml': ['tier: moderate', 'bridge:', `  containers: ["${target}"]`, '  exec:', `    ${target}: ["sleep *", "touch *"]`].join('\n'),
    }, 'paddock-dead-ws-');
    sandbox = (await paddockOk(['create', 'shell', ws, '--name', `pbt-dead-sbx-${randomBytes(3).toString('hex')}`])).stdout.trim();
    // The shipped session timeouts: what a user's bridge does.
    hosted = await hostSandboxBridge(engine(), sandbox, { admission });
  });
  after(async () => {
    for (const a of agents) await a.close().catch(() => {});
    await hosted?.close();
    docker(['rm', '-f', target]);
    if (ws) await cleanup(ws);
  });

  async function agent(): Promise<Client> {
    const client = await agentClient(sandbox);
    agents.push(client);
    return client;
  }
  const exec = (client: Client, command: string) =>
    client.callTool({ name: 'exec_command', arguments: { container: target, command, timeout: 600 } }, undefined, { timeout: 600_000 });
  const load = () => admission.snapshot().sandboxes[sandbox] ?? { running: 0, waiting: 0, long: 0 };

  async function until(what: string, ok: () => boolean, ms = 60_000): Promise<number> {
    const since = Date.now();
    for (const deadline = since + ms; !ok();) {
      assert.ok(Date.now() < deadline, `${what}: sessions ${hosted?.sessionCount}, admission ${JSON.stringify(admission.snapshot())}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return Date.now() - since;
  }
  const madeInTarget = async (name: string) => (await dockerAsync(['exec', target, 'test', '-e', `/tmp/${name}`])).code === 0;
  /** kill -9 of the agent's paddock-mcp inside the sandbox, by its pid there. */
  async function killShim(): Promise<void> {
    const pids = (await dockerAsync(['exec', sandbox, 'pgrep', '-f', '/run/paddock/paddock-mcp'])).stdout.trim().split('\n').filter(Boolean);
    assert.equal(pids.length, 1, `one paddock-mcp runs in the sandbox: ${pids}`);
    const killed = await dockerAsync(['exec', '-u', '0', sandbox, 'kill', '-9', pids[0]]);
    assert.equal(killed.code, 0, killed.stderr);
  }

  it('kill -9 of paddock-mcp: its waiting call is cancelled and never runs, its session ends, a new agent is served', async () => {
    const doomed = await agent();
    const running = exec(doomed, 'sleep 60').catch((err) => err);
    await until('the first call runs', () => load().running === 1);
    // Admitted is not yet started (the view is built first): wait for the engine to have started it,
    // or a busy machine kills the agent before there is anything to stop.
    // (runc: the host sees the target's processes.)
    await until('the sleep started in the target', () => spawnSync('pgrep', ['-f', '^sleep 60$']).status === 0);
    const queued = exec(doomed, 'touch /tmp/queued-by-the-dead-agent').catch((err) => err);
    await until('the second call waits', () => load().waiting === 1);
    assert.equal(hosted!.sessionCount, 1);

    await killShim();
    await Promise.all([running, queued]);
    await until('the dead agent\'s waiting call left the queue', () => load().waiting === 0);
    const ended = await until('the dead agent\'s session ended on the bridge', () => hosted!.sessionCount === 0, SESSION_TIMEOUTS.streamGoneMs + 60_000);
    process.stdout.write(`# session of the killed agent ended after ${ended} ms (timeout ${SESSION_TIMEOUTS.streamGoneMs} ms)\n`);

    // A new agent is served: the dead agent's running call was stopped in the target when its connection closed.
    const fresh = await agent();
    try {
      const answer = await exec(fresh, 'touch /tmp/made-by-the-new-agent');
      assert.ok(!answer.isError, JSON.stringify(answer.content));
      assert.equal(hosted!.sessionCount, 1);
      assert.equal(await madeInTarget('made-by-the-new-agent'), true);
      assert.equal(await madeInTarget('queued-by-the-dead-agent'), false, 'the dead agent\'s queued call never ran');
      const audit = hosted!.audit.file!;
      assert.deepEqual(readAudit(audit).filter((e) => JSON.stringify(e.args).includes('queued-by')).map((e) => e.decision), ['cancelled']);
      const stopped = readAudit(audit).find((e) => JSON.stringify(e.args).includes('sleep 60'));
      assert.deepEqual([stopped?.decision, stopped?.rule], ['cancelled', 'cancelled-running'], 'the running call was stopped');
      assert.match(stopped?.message ?? '', /^cancelled: client gone; stopped in pbt-dead-\S+: its processes were killed/);
      assert.equal(readAuditLines(audit).filter((e) => e.decision === 'started').length, 2, 'only the sleep and the new agent\'s call started');
    } finally {
      await fresh.close(); // so a failure here does not fail the next test too
    }
  });

  it('the sandbox stops under a connected agent: its session ends on the bridge', async () => {
    await until('earlier sessions are gone', () => hosted!.sessionCount === 0, SESSION_TIMEOUTS.streamGoneMs + 60_000);
    const client = await agent();
    await client.listTools();
    assert.equal(hosted!.sessionCount, 1);
    await paddockOk(['stop', sandbox]);
    await until('the stopped sandbox\'s session ended on the bridge', () => hosted!.sessionCount === 0, SESSION_TIMEOUTS.streamGoneMs + 60_000);
  });
});
