// A command the bridge runs straight in the target, without the physical view (the target runs
// under gVisor, whose namespaces no helper joins, so only exactly whitelisted commands run), is
// stopped like one in the view when its client goes away, cancels it, or its timeout passes: the
// command and the processes it started (setsid, nohup, a double fork, and processes that clear their
// environment, rename themselves or are started as the call is cancelled) are killed and the audit
// says so. Before, the answer was "it could not be stopped ... and may still run", and then a process
// that cleared its environment (which carried the call's mark) outlived the stop. Real engine
// (runsc), the real MCP SDK client over the bridge's Unix socket.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Admission, BRIDGE_LIMITS } from '../../../src/bridge/admission.js';
import { dockerAsync, suffix } from '../bridge/support.js';
import { bridgeOnTarget, targetProbes, type TargetBridge } from './support.js';

const ESCAPES = {
  setsid: 'setsid sh -c \'touch /tmp/started-setsid; sleep 30; touch /tmp/ran-setsid\' &',
  nohup: 'nohup sh -c \'touch /tmp/started-nohup; sleep 30; touch /tmp/ran-nohup\' >/dev/null 2>&1 &',
  'double-fork': '(sh -c \'touch /tmp/started-double-fork; sleep 30; touch /tmp/ran-double-fork\' &) ;',
  // No environment at all: the call's mark is gone.
  'env-i': 'env -i /bin/sh -c \'touch /tmp/started-env-i; sleep 30; touch /tmp/ran-env-i\' &',
  // A session of its own, orphaned by a double fork, then no environment.
  detached: '(setsid env -i /bin/sh -c \'(/bin/sh -c "touch /tmp/started-detached; sleep 30; touch /tmp/ran-detached" &)\' &) ;',
  // No environment, its command line made the target's own process's, and its name a fake
  // "PPid: 1" line in its status file (prctl PR_SET_NAME), orphaned.
  renamed: '(env -i /usr/bin/perl -e \'$0 = "sleep 2147483647"; my $n = "\\nPPid:\\t1"; syscall(157, 15, $n) == 0 or die; exit if fork; open F, ">/tmp/started-renamed"; close F; sleep 30; open F, ">/tmp/ran-renamed"\' &) ;',
};
/** The exact commands the user whitelisted (argv), by the file each would make at its end. */
const COMMANDS: Record<string, string[]> = {
  'ran-control': ['sh', '-c', 'sleep 1; touch /tmp/ran-control'],
  'ran-main': ['sh', '-c', `${Object.values(ESCAPES).join(' ')} sleep 30; touch /tmp/ran-main`],
  'ran-cancelled': ['sh', '-c', 'sleep 30; touch /tmp/ran-cancelled'],
  'ran-timeout': ['sh', '-c', 'sleep 30; touch /tmp/ran-timeout'],
  'ran-session-ended': ['sh', '-c', 'sleep 30; touch /tmp/ran-session-ended'],
  // Starts a detached child without environment every 100 ms, so one starts as the call is cancelled.
  'ran-forker': ['sh', '-c', 'touch /tmp/started-forker; i=0; while [ $i -lt 2000 ]; do (env -i setsid /bin/sh -c \'sleep 30; touch /tmp/ran-forker\' &); i=$((i+1)); sleep 0.1; done; touch /tmp/ran-forker-loop'],
  'ran-next': ['sh', '-c', 'touch /tmp/ran-next'],
};
/** What docker exec itself answers for this command (its user, environment, output and exit code). */
// (PWD is left out: the bridge's masker hides its value "/".)
const SAME_AS_DOCKER = ['sh', '-c', 'id; pwd; env | grep -v -e ^PADDOCK_BRIDGE_CALL= -e ^PWD= | sort; echo to-stderr >&2; exit 3'];
/** Every call of this test runs at once (none waits or is answered busy). */
const LIMITS = { ...BRIDGE_LIMITS, runningPerSandbox: 16, runningTotal: 16, longPerSandbox: 16, waitLimitMs: 600_000, callBudgetMs: 600_000, execAtOnceMax: 16 };
const quoted = (argv: string[]) => argv.map((a) => `'${a.replace(/'/g, '\'"\'"\'')}'`).join(' ');

describe('running bridge calls without the physical view, whose client goes away', () => {
  const target = `pbt-stop-unviewed-${suffix}`;
  let bridge: TargetBridge;
  let probe: ReturnType<typeof targetProbes>;

  before(async () => {
    bridge = await bridgeOnTarget(target, 'stop-unviewed', [...Object.values(COMMANDS), SAME_AS_DOCKER].map(quoted), new Admission(LIMITS), ['--runtime', 'runsc']);
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
    // Its user, folder, environment, output and exit code are docker exec's own.
    const same = await client.callTool({ name: 'exec_command', arguments: { container: target, command: SAME_AS_DOCKER } });
    const direct = await dockerAsync(['exec', target, ...SAME_AS_DOCKER]);
    assert.equal(direct.code, 3);
    assert.equal((same.content as { text: string }[])[0].text, `${direct.stdout}--- stderr ---\n${direct.stderr}[exit code 3]`);
  });

  it('a closed connection, a cancel, an ended session and a timeout stop the command and everything it started (no environment, renamed, detached, started as it was cancelled); the audit says so', async () => {
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
      'ran-main': /^cancelled: client gone; stopped in pbt-stop-unviewed-\S+: its processes were killed$/,
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
    await probe.until('no process of the stopped calls is left in the target', async () => {
      const left = await probe.processes();
      return !left.some((p) => /sleep 30|touch \/tmp|perl/.test(p)) && left.filter((p) => p.startsWith('sleep 2147483647')).length === 1;
    }, 10_000);

    await new Promise((r) => setTimeout(r, Math.max(0, started + 33_000 - Date.now())));
    for (const file of ['ran-main', 'ran-cancelled', 'ran-session-ended', 'ran-timeout', ...Object.keys(ESCAPES).map((n) => `ran-${n}`)]) {
      assert.equal(await probe.inTarget(file), false, `/tmp/${file} never appears`);
    }
    const next = await exec(await connect(), 'ran-next');
    assert.ok(!next.isError, JSON.stringify(next.content));
    assert.ok((await probe.processes()).some((p) => p.startsWith('sleep 2147483647')), 'the target\'s own process runs on');
  });

  it('a command that starts a detached child without environment every 100 ms, cancelled while it does, leaves none', async () => {
    const started = Date.now();
    // Processes whose command line names the forker's file: the forker and its children (one grep, whose
    // own pattern does not match itself: many processes are slow to list one by one).
    const forkers = async () => Number((await dockerAsync(['exec', target, 'sh', '-c', 'grep -a -l "ran-[f]orker" /proc/[0-9]*/cmdline 2>/dev/null | wc -l'])).stdout.trim());
    const cancel = new AbortController();
    const call = exec(await connect(), 'ran-forker', cancel.signal).catch((err) => err);
    await probe.until('the forker has started children', async () => await forkers() >= 4);
    cancel.abort();
    await call;
    await probe.until('the call has its outcome in the audit', () => !!probe.outcomeOf('ran-forker'));
    const entry = probe.outcomeOf('ran-forker')!;
    assert.deepEqual([entry.decision, entry.rule], ['cancelled', 'cancelled-running']);
    assert.match(entry.message ?? '', /^cancelled: the client cancelled it; stopped in pbt-stop-unviewed-\S+: its processes were killed$/);
    await probe.until('none of its processes is left', async () => await forkers() === 0, 10_000);
    await new Promise((r) => setTimeout(r, Math.max(0, started + 33_000 - Date.now())));
    assert.equal(await forkers(), 0);
    assert.equal(await probe.inTarget('ran-forker'), false, '/tmp/ran-forker never appears');
    assert.equal(await probe.inTarget('ran-forker-loop'), false, 'the forker\'s loop never ends');
  });
});
