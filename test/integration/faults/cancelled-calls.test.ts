// A bridge call waiting in the admission queue whose client cancels it (notifications/cancelled) or
// goes away (closes its connection) never runs later: real engine, real target container, the real
// MCP SDK client over the bridge's Unix socket. Without this, the call ran once a slot freed, for
// an agent that had given up on it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Admission, BRIDGE_LIMITS } from '../../../src/bridge/admission.js';
import { readAudit, readAuditLines, type AuditLog } from '../../../src/bridge/audit.js';
import { dockerAsync, suffix } from '../bridge/support.js';
import { bridgeOnTarget, type TargetBridge } from './support.js';

/** One call of the sandbox runs at a time and holds its slot to the end, so a second call waits (for as long as it takes). */
const LIMITS = { ...BRIDGE_LIMITS, runningPerSandbox: 1, slotHoldMs: 600_000, waitLimitMs: 600_000, callBudgetMs: 600_000 };

describe('cancelled bridge calls waiting for a slot', () => {
  const target = `pbt-cancel-${suffix}`;
  const admission = new Admission(LIMITS);
  let bridge: TargetBridge;
  let audit: AuditLog;

  before(async () => {
    bridge = await bridgeOnTarget(target, 'cancel', ['sleep *', 'touch *'], admission);
    audit = bridge.audit;
  });
  after(() => bridge?.close());

  const connect = () => bridge.connect();

  const exec = (client: Client, command: string, signal?: AbortSignal) =>
    client.callTool({ name: 'exec_command', arguments: { container: target, command, timeout: 600 } }, undefined, { timeout: 600_000, signal });

  async function until(what: string, ok: () => boolean): Promise<void> {
    for (const deadline = Date.now() + 60_000; !ok();) {
      assert.ok(Date.now() < deadline, `${what}: ${JSON.stringify(admission.snapshot())}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  const waiting = () => admission.snapshot().sandboxes.cancel?.waiting ?? 0;
  /** Whether a command made the file in the target (asked of the engine, not of the bridge). */
  const madeInTarget = async (name: string) => (await dockerAsync(['exec', target, 'test', '-e', `/tmp/${name}`])).code === 0;

  it('a call the client cancels, and one whose client closes, leave the queue and never run; the next call runs', async () => {
    const agent = await connect();
    const leaving = await connect();
    // Holds the sandbox's one slot for a while.
    const holder = exec(agent, 'sleep 6');
    await until('the first call runs', () => admission.snapshot().sandboxes.cancel?.running === 1);

    const cancel = new AbortController();
    const cancelled = exec(agent, 'touch /tmp/ran-after-cancel', cancel.signal);
    const closed = exec(leaving, 'touch /tmp/ran-after-close');
    await until('both calls wait', () => waiting() === 2);

    cancel.abort();
    await assert.rejects(cancelled, /abort/i);
    await until('the cancelled call left the queue', () => waiting() === 1);
    await leaving.close();
    await closed.catch(() => {});
    await until('the call of the client that went away left the queue', () => waiting() === 0);

    // The slot frees; a call made now runs; the two withdrawn ones never do.
    const next = await exec(agent, 'touch /tmp/ran-next');
    assert.ok(!next.isError, JSON.stringify(next.content));
    const held = await holder;
    assert.ok(!held.isError, JSON.stringify(held.content));
    assert.equal(await madeInTarget('ran-next'), true, 'the call after them ran');
    assert.equal(await madeInTarget('ran-after-cancel'), false, 'the cancelled call did not run');
    assert.equal(await madeInTarget('ran-after-close'), false, 'the call of the client that went away did not run');

    // The audit says so: one "cancelled" line each, no "started" line (nothing ran).
    const entries = readAudit(audit.file!);
    for (const file of ['ran-after-cancel', 'ran-after-close']) {
      const mine = entries.filter((e) => JSON.stringify(e.args).includes(file));
      assert.deepEqual(mine.map((e) => [e.decision, e.rule]), [['cancelled', 'cancelled-waiting']], file);
    }
    assert.equal(readAuditLines(audit.file!).filter((e) => e.decision === 'started').length, 2, 'only the sleep and the next call started');
    assert.deepEqual(admission.snapshot(), { running: 0, waiting: 0, sandboxes: {} }, 'nothing held');
  });
});
