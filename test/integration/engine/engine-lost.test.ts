// Commands that lose the Docker engine mid-way (an exec, an attached run, the editor's terminal)
// or cannot reach it (ls) say what happened and what to do, not a raw "connect ENOENT
// /var/run/docker.sock". The engine "goes away" by cutting a proxy of its socket: the shared
// engine is never restarted (what a real restart adds is listed in the README, "When things go wrong").
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { describeEngineError } from '../../../src/core/errors.js';
import { SandboxEngine } from '../../../src/engine/engine.js';
import { openTerminalSession } from '../../../src/engine/session.js';
import { EngineProxy } from '../../support/engine-proxy.js';
import { CLI, cleanup, isRunning, makeWorkspace, paddock, paddockOk } from '../../support/sandbox.js';

/** Waits until the output shows the command is running (a condition the test produces). */
async function until(check: () => boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + 30_000; !check();) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The CLI as a user runs it, with its output readable while it runs. */
function paddockStreaming(args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let finished = false;
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const ended = new Promise<{ code: number; stderr: string }>((resolve) => child.on('close', (code) => { finished = true; resolve({ code: code ?? -1, stderr }); }));
  return { ended, stdout: () => stdout, stderr: () => stderr, done: () => finished };
}

// How the cut shows depends on where the client was: reading (ECONNRESET), or connecting for the exec's
// inspect while the listener closes (connect ECONNRESET with a backlog reset, connect ENOENT after).
const STOPPED_ANSWERING = /The Docker engine at unix:\/\/\S+docker\.sock stopped answering \(((read|connect|write) (ECONNRESET|ENOENT|EPIPE)( \S+)?|socket hang up)\)\.\n {2}→ Start the engine .*then run "paddock ls"/;

describe('losing the engine', () => {
  const ws = makeWorkspace({ 'a.txt': 'a\n' });
  const dir = mkdtempSync(join(tmpdir(), 'paddock-lost-'));
  const proxy = new EngineProxy(join(dir, 'docker.sock'));
  let name: string;
  before(async () => {
    name = (await paddockOk(['create', 'shell', ws])).stdout.trim();
  });
  after(async () => {
    await proxy.down().catch(() => {});
    await cleanup(ws);
    rmSync(dir, { recursive: true, force: true });
  });

  const commands: Record<string, () => string[]> = {
    exec: () => ['exec', name, '--', 'sh', '-c', 'echo started; sleep 30'],
    'attached run': () => ['run', 'shell', ws, '--', '-c', 'echo started; sleep 30'],
  };
  for (const [label, args] of Object.entries(commands)) {
    it(`${label} cut off mid-way says the engine stopped answering and what to do`, async () => {
      await proxy.up();
      const running = paddockStreaming(['--host', proxy.host, ...args()]);
      await until(() => running.stdout().includes('started') || running.done(), 'the command to start');
      assert.ok(!running.done(), `ended before the cut: ${running.stderr()}`);
      await proxy.down();
      const ended = await running.ended;
      assert.equal(ended.code, 1);
      assert.match(ended.stderr, STOPPED_ANSWERING);
      assert.ok(!/^paddock: (read|connect) E/m.test(ended.stderr), ended.stderr);
      assert.ok(isRunning(name), 'the engine itself never stopped: only the connection was cut');
    });
  }

  it('ls with no engine says none answers and how to start one', async () => {
    const r = await paddock(['--host', proxy.host, 'ls']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /No Docker engine answers at unix:\/\/\S+docker\.sock .*ENOENT/);
    assert.match(r.stderr, /→ .*start that engine/);
  });

  it('the editor\'s terminal session cut off mid-way ends with the same words', async () => {
    await proxy.up();
    const viaProxy = SandboxEngine.connect({ host: proxy.host });
    let output = '';
    const session = await openTerminalSession(viaProxy, name, ['sh', '-c', 'echo started; sleep 30'], { onData: (t) => (output += t) });
    await until(() => output.includes('started'), 'the session to start');
    await proxy.down();
    const err = await session.exit.then((code) => new Error(`resolved with ${code}`), (e: unknown) => e);
    assert.match(describeEngineError(err, viaProxy.endpoint.host), STOPPED_ANSWERING);
  });
});
