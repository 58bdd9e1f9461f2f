// A command the bridge runs straight in the target, without the physical view (the target runs
// under gVisor, whose namespaces no helper joins, so only exactly whitelisted commands run), is
// stopped like one in the view when its client goes away, cancels it, or its timeout passes: the
// command and the processes it started (setsid, nohup, a double fork) are killed and the audit says
// so. Before, the answer was "it could not be stopped ... and may still run". Real engine (runsc),
// the real MCP SDK client over the bridge's Unix socket.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Admission } from '../../../src/bridge/admission.js';
import { suffix } from '../bridge/support.js';
import { bridgeOnTarget, targetProbes, type TargetBridge } from './support.js';

const ESCAPES = {
  setsid: 'setsid sh -c \'touch /tmp/started-setsid; sleep 30; touch /tmp/ran-setsid\' &',
  nohup: 'nohup sh -c \'touch /tmp/started-nohup; sleep 30; touch /tmp/ran-nohup\' >/dev/null 2>&1 &',
  'double-fork': '(sh -c \'touch /tmp/started-double-fork; sleep 30; touch /tmp/ran-double-fork\' &) ;',
};
/** The exact commands the user whitelisted (argv), by the file each would make at its end. */
const COMMANDS: Record<string, string[]> = {
  'ran-control': ['sh', '-c', 'sleep 1; touch /tmp/ran-control'],
  'ran-main': ['sh', '-c', `${Object.values(ESCAPES).join(' ')} sleep 30; touch /tmp/ran-main`],
  'ran-cancelled': ['sh', '-c', 'sleep 30; touch /tmp/ran-cancelled'],
  'ran-timeout': ['sh', '-c', 'sleep 30; touch /tmp/ran-timeout'],
  'ran-session-ended': ['sh', '-c', 'sleep 30; touch /tmp/ran-session-ended'],
  'ran-next': ['sh', '-c', 'touch /tmp/ran-next'],
};
const quoted = (argv: string[]) => argv.map((a) => `'${a.replace(/'/g, '\'"\'"\'')}'`).join(' ');

describe('running bridge calls without the physical view, whose client goes away', () => {
  const target = `pbt-stop-unviewed-${suffix}`;
  let bridge: TargetBridge;
  let probe: ReturnType<typeof targetProbes>;

  before(async () => {
    bridge = await bridgeOnTarget(target, 'stop-unviewed', Object.values(COMMANDS).map(quoted), new Admission(), ['--runtime', 'runsc']);
    probe = targetProbes(target, bridge.audit);
  });
  after(() => bridge?.close());

  const connect = () => bridge.connect();
  const exec = (client: Client, file: string, signal?: AbortSignal, timeout = 600) =>
    client.callTool({ name: 'exec_command', arguments: { container: target, command: COMMANDS[file], timeout } }, undefined, { timeout: 600_000, signal });

  it('control: there is no view in this target (a command not whitelisted exactly is refused), and an exact one whose client stays runs to its end', async () => {
    const client = await connect();
    const loose = await client.callTool({ name: 'exec_command', arguments: { container: target, command: ['sh', '-c', 'touch /tmp/loose'] } });
    assert.ok(loose.isError);
    const result = await exec(client, 'ran-control');
    assert.ok(!result.isError, JSON.stringify(result.content));
    assert.equal(await probe.inTarget('ran-control'), true);
    assert.equal(probe.outcomeOf('ran-control')?.decision, 'allowed');
  });

  it('a closed connection, a cancel, an ended session and a timeout stop the command and what it started; the audit says so', async () => {
    const started = Date.now();
    const gone = await connect();
    const goneCall = exec(gone, 'ran-main').catch((err) => err);
    const canceller = await connect();
    const cancel = new AbortController();
    const cancelledCall = exec(canceller, 'ran-cancelled', cancel.signal).catch((err) => err);
    const timedOut = exec(await connect(), 'ran-timeout', undefined, 5);
    const ending = await connect();
    const endingCall = exec(ending, 'ran-session-ended').catch((err) => err);

    for (const name of Object.keys(ESCAPES)) await probe.until(`the ${name} escape started`, () => probe.inTarget(`started-${name}`));
    await probe.until('the calls run', async () => (await probe.processes()).filter((p) => p.includes('sleep 30')).length >= 3 + Object.keys(ESCAPES).length);

    await gone.close();
    cancel.abort();
    await (ending.transport as StreamableHTTPClientTransport).terminateSession();
    await Promise.all([goneCall, cancelledCall, endingCall]);

    await probe.until('each call has its outcome in the audit', () => ['ran-main', 'ran-cancelled', 'ran-session-ended'].every((f) => probe.outcomeOf(f)));
    const expected: Record<string, RegExp> = {
      'ran-main': /^cancelled: client gone; stopped in pbt-stop-unviewed-\S+: its processes were killed/,
      'ran-cancelled': /^cancelled: the client cancelled it; stopped in pbt-stop-unviewed-\S+: its processes were killed/,
      'ran-session-ended': /^cancelled: client gone; stopped in pbt-stop-unviewed-\S+: its processes were killed/,
    };
    for (const [file, message] of Object.entries(expected)) {
      const entry = probe.outcomeOf(file)!;
      assert.deepEqual([entry.decision, entry.rule], ['cancelled', 'cancelled-running'], file);
      assert.match(entry.message ?? '', message, file);
    }
    const timeoutAnswer = await timedOut;
    assert.match((timeoutAnswer.content as { text: string }[])[0].text, /\[exit code none: stopped waiting after 5s, and stopped the command in pbt-stop-unviewed-\S+ \(its processes were killed\)\]/);
    await probe.until('no process of the stopped calls is left in the target', async () => !(await probe.processes()).some((p) => /sleep 30|touch \/tmp/.test(p)), 10_000);

    await new Promise((r) => setTimeout(r, Math.max(0, started + 33_000 - Date.now())));
    for (const file of ['ran-main', 'ran-cancelled', 'ran-session-ended', 'ran-timeout', ...Object.keys(ESCAPES).map((n) => `ran-${n}`)]) {
      assert.equal(await probe.inTarget(file), false, `/tmp/${file} never appears`);
    }
    const next = await exec(await connect(), 'ran-next');
    assert.ok(!next.isError, JSON.stringify(next.content));
    assert.ok((await probe.processes()).some((p) => p.startsWith('sleep 2147483647')), 'the target\'s own process runs on');
  });
});
