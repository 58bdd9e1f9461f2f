// A bridge call already running when its client goes away (the connection closes, the session
// ends) or cancels it (notifications/cancelled), or past its own timeout, is stopped in the
// target: the command and every process it started are killed, and the audit says so. Before, the
// command ran to its end for an agent that was gone. Real engine, a real target container, the
// real MCP SDK client over the bridge's Unix socket. From the attacker's side: the command tries to
// outlive its call by setsid, nohup, a double fork and a user + PID namespace of its own.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Admission } from '../../../src/bridge/admission.js';
import { suffix } from '../bridge/support.js';
import { bridgeOnTarget, targetProbes, type TargetBridge } from './support.js';

/** Ways a command tries to outlive its call; each first leaves a file saying it runs. */
const ESCAPES: Record<string, string> = {
  setsid: 'setsid sh -c \'touch /tmp/started-setsid; sleep 30; touch /tmp/ran-setsid\' &',
  nohup: 'nohup sh -c \'touch /tmp/started-nohup; sleep 30; touch /tmp/ran-nohup\' >/dev/null 2>&1 &',
  'double-fork': '(sh -c \'touch /tmp/started-double-fork; sleep 30; touch /tmp/ran-double-fork\' &) ;',
  userns: 'unshare -Urpf sh -c \'touch /tmp/started-userns; sleep 30; touch /tmp/ran-userns\' &',
};

describe('running bridge calls whose client goes away', () => {
  const target = `pbt-stop-${suffix}`;
  let bridge: TargetBridge;
  let probe: ReturnType<typeof targetProbes>;

  before(async () => {
    bridge = await bridgeOnTarget(target, 'stop', ['sh *'], new Admission());
    probe = targetProbes(target, bridge.audit);
  });
  after(() => bridge?.close());

  const connect = () => bridge.connect();
  const exec = (client: Client, script: string, signal?: AbortSignal, timeout = 600) =>
    client.callTool({ name: 'exec_command', arguments: { container: target, command: `sh -c "${script}"`, timeout } }, undefined, { timeout: 600_000, signal });

  it('control: a call whose client stays runs to its end', async () => {
    const result = await exec(await connect(), 'sleep 1; touch /tmp/ran-control');
    assert.ok(!result.isError, JSON.stringify(result.content));
    assert.equal(await probe.inTarget('ran-control'), true);
    assert.equal(probe.outcomeOf('ran-control')?.decision, 'allowed');
  });

  it('a closed connection, a cancel and an ended session stop the running command and all it started; the audit says so', async () => {
    const started = Date.now();
    // The calls start one after another, each once the one before runs: four long commands asked at
    // the same moment may rightly be answered busy on a loaded machine (bridge/load tests that).
    const sleeping = async () => (await probe.processes()).filter((p) => p.includes('sleep 30')).length;
    // Returns the call's promise in an array: an async function would wait for a promise it returns.
    const oneMore = async <T>(what: string, call: () => Promise<T>): Promise<[Promise<T>]> => {
      const before = await sleeping();
      const result = call();
      await probe.until(`${what} runs`, async () => (await sleeping()) > before);
      return [result];
    };
    // The client whose connection closes runs every escape beside its own sleep.
    const gone = await connect();
    const [goneCall] = await oneMore('the call whose connection closes', () => exec(gone, `${Object.values(ESCAPES).join(' ')} sleep 30; touch /tmp/ran-main`).catch((err) => err));
    const canceller = await connect();
    const cancel = new AbortController();
    const [cancelledCall] = await oneMore('the cancelled call', () => exec(canceller, 'sleep 30; touch /tmp/ran-cancelled', cancel.signal).catch((err) => err));
    // A call that outlives its own timeout: nobody reads it any more either.
    const timedOutClient = await connect();
    const [timedOut] = await oneMore('the call past its timeout', () => exec(timedOutClient, 'sleep 30; touch /tmp/ran-timeout', undefined, 5));
    const ending = await connect();
    const [endingCall] = await oneMore('the call whose session ends', () => exec(ending, 'sleep 30; touch /tmp/ran-session-ended').catch((err) => err));

    // Every escape really runs (its first file is there) before the clients go.
    for (const name of Object.keys(ESCAPES)) await probe.until(`the ${name} escape started`, () => probe.inTarget(`started-${name}`));
    await probe.until('the calls run', async () => (await probe.processes()).filter((p) => p.includes('sleep 30')).length >= 3 + Object.keys(ESCAPES).length);
    await new Promise((r) => setTimeout(r, Math.max(0, started + 1000 - Date.now())));

    await gone.close();
    cancel.abort();
    await (ending.transport as StreamableHTTPClientTransport).terminateSession();
    await Promise.all([goneCall, cancelledCall, endingCall]);

    await probe.until('each call has its outcome in the audit', () => ['ran-main', 'ran-cancelled', 'ran-session-ended'].every((f) => probe.outcomeOf(f)));
    const expected: Record<string, RegExp> = {
      'ran-main': /^cancelled: client gone; stopped in pbt-stop-\S+: its processes were killed/,
      'ran-cancelled': /^cancelled: the client cancelled it; stopped in pbt-stop-\S+: its processes were killed/,
      'ran-session-ended': /^cancelled: client gone; stopped in pbt-stop-\S+: its processes were killed/,
    };
    for (const [file, message] of Object.entries(expected)) {
      const entry = probe.outcomeOf(file)!;
      assert.deepEqual([entry.decision, entry.rule], ['cancelled', 'cancelled-running'], file);
      assert.match(entry.message ?? '', message, file);
    }
    const timeoutAnswer = await timedOut;
    assert.match((timeoutAnswer.content as { text: string }[])[0].text, /\[exit code none: stopped waiting after 5s, and stopped the command in pbt-stop-\S+ \(its processes were killed\)\]/);
    const left = (await probe.processes()).filter((p) => /sleep 30|touch \/tmp|unshare/.test(p));
    assert.deepEqual(left, [], 'no process of the stopped calls is left in the target');

    // Past the commands' own 30 s: nothing they would have done afterwards happened.
    await new Promise((r) => setTimeout(r, Math.max(0, started + 33_000 - Date.now())));
    for (const file of ['ran-main', 'ran-cancelled', 'ran-session-ended', 'ran-timeout', ...Object.keys(ESCAPES).map((n) => `ran-${n}`)]) {
      assert.equal(await probe.inTarget(file), false, `/tmp/${file} never appears`);
    }
    // The bridge still serves the clients that stayed, and the target keeps its own process.
    const next = await exec(await connect(), 'touch /tmp/ran-next');
    assert.ok(!next.isError, JSON.stringify(next.content));
    assert.ok((await probe.processes()).some((p) => p.startsWith('sleep 2147483647')), 'the target\'s own process runs on');
  });
});
