// The two engine pieces the editor is built on: the sandbox event stream (with reconnection
// after the engine goes away) and TTY sessions with a handle (write, resize, exit code, kill).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SandboxEngine } from '../../../src/engine/engine.js';
import { watchSandboxEvents, type EngineConnection, type SandboxEvent } from '../../../src/engine/events.js';
import { openTerminalSession } from '../../../src/engine/session.js';
import { EngineProxy } from '../../support/engine-proxy.js';
import { cleanup, docker, engine, makeWorkspace, paddockOk } from '../../support/sandbox.js';

/** Waits until check() is truthy (polling a condition the test itself produces, not a timing assertion). */
async function until<T>(check: () => T | undefined | false, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('sandbox events', () => {
  const wsA = makeWorkspace({ 'a.txt': 'a\n' });
  const wsB = makeWorkspace({ 'b.txt': 'b\n' });
  const dir = mkdtempSync(join(tmpdir(), 'paddock-proxy-'));
  const proxy = new EngineProxy(join(dir, 'docker.sock'));
  after(async () => {
    await cleanup(wsA);
    await cleanup(wsB);
    await proxy.down().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports create/start/stop/destroy of sandboxes, not of other containers, and recovers after the engine comes back', async () => {
    await proxy.up();
    const viaProxy = SandboxEngine.connect({ host: proxy.host });
    const events: SandboxEvent[] = [];
    const states: EngineConnection[] = [];
    const watch = watchSandboxEvents(viaProxy, { onEvent: (e) => events.push(e), onConnection: (s) => states.push(s), retryMs: 100, maxRetryMs: 200 });
    try {
      await until(() => states.includes('connected'), 'first connection');
      // A container that is not a sandbox must not show up.
      const other = `paddock-test-other-${process.pid}`;
      assert.equal(docker(['create', '--name', other, 'debian:bookworm-slim', 'true']).code, 0);
      docker(['rm', '-f', other]);
      const name = (await paddockOk(['create', 'shell', wsA])).stdout.trim();
      await until(() => events.find((e) => e.name === name && e.action === 'start'), 'start event');
      assert.ok(events.some((e) => e.name === name && e.action === 'create' && e.workspace === wsA && e.agent === 'shell'));
      assert.ok(!events.some((e) => e.name === other), 'a non-sandbox container leaked into the stream');

      // The engine goes away (as when dockerd restarts) and comes back.
      await proxy.down();
      await until(() => states.at(-1) === 'disconnected' && states, 'disconnected');
      await proxy.up();
      await until(() => states.at(-1) === 'connected' && states, 'reconnected');
      assert.deepEqual(states, ['connected', 'disconnected', 'connected']);

      // Events flow again after the reconnect.
      const nameB = (await paddockOk(['create', 'shell', wsB])).stdout.trim();
      await until(() => events.find((e) => e.name === nameB && e.action === 'start'), 'start event after reconnect');
      await paddockOk(['rm', nameB]);
      await until(() => events.find((e) => e.name === nameB && e.action === 'destroy'), 'destroy event');
    } finally {
      watch.close();
    }
  });
});

describe('terminal sessions', () => {
  let ws: string;
  let name: string;
  before(async () => {
    ws = makeWorkspace({ 'hello.txt': 'hi\n' });
    name = (await paddockOk(['create', 'shell', ws])).stdout.trim();
  });
  after(() => cleanup(ws));

  it('runs a TTY as the agent user in the workspace, follows resizes, and returns the exit code', async () => {
    let output = '';
    const session = await openTerminalSession(engine(), name, ['bash', '--norc', '-i'], { size: { rows: 30, cols: 100 }, onData: (t) => (output += t), env: { PS1: 'READY$ ' } });
    await until(() => output.includes('READY$'), 'prompt');
    session.write('echo "$(id -un) $(pwd) $(stty size) [$TERM]"\r');
    await until(() => output.includes(`agent ${ws} 30 100 [xterm-256color]`), `identity line, got ${JSON.stringify(output)}`);
    await session.resize(40, 120);
    session.write('stty size\r');
    await until(() => output.includes('40 120'), 'resized');
    session.write('printf "\\033[31mred\\033[0m\\n"\r');
    await until(() => output.includes('\u001b[31mred\u001b[0m'), 'colour codes pass through');
    session.write('exit 7\r');
    assert.equal(await session.exit, 7);
  });

  it('kill hangs up a process that ignores its input', async () => {
    let output = '';
    const session = await openTerminalSession(engine(), name, ['sleep', '600'], { onData: (t) => (output += t) });
    await session.kill();
    const code = await session.exit;
    assert.notEqual(code, 0);
    const left = await engine().execCapture(name, ['sh', '-c', 'ps -eo args | grep -c "^sleep 600" || true']);
    assert.equal(left.stdout.trim(), '0', 'the process still runs after kill');
  });

  it('kill of a root session uses nothing the agent can write: a planted cat and pid files are ignored', async () => {
    // The agent plants a `cat` first in its PATH that would name the sandbox's init as the pid.
    await engine().execCapture(name, ['sh', '-c', 'mkdir -p ~/.local/bin && printf "#!/bin/sh\\necho 1\\n" > ~/.local/bin/cat && chmod +x ~/.local/bin/cat']);
    assert.notEqual((await engine().execCapture(name, ['touch', '/run/.paddock-terminal-planted'])).exitCode, 0, 'the agent cannot write where root sessions keep their pid');
    const session = await openTerminalSession(engine(), name, ['sleep', '601'], { user: 'root', onData: () => {} });
    await session.kill();
    assert.notEqual(await session.exit, 0);
    assert.equal((await engine().execCapture(name, ['sh', '-c', 'ps -eo args | grep -c "^sleep 601" || true'])).stdout.trim(), '0');
    assert.equal((await docker(['inspect', '--format', '{{.State.Running}}', name])).stdout.trim(), 'true', 'the sandbox (its init) still runs');
    await engine().execCapture(name, ['sh', '-c', 'rm -f ~/.local/bin/cat']);
  });

  it('refuses a stopped sandbox with what to do', async () => {
    await paddockOk(['stop', name]);
    await assert.rejects(openTerminalSession(engine(), name, ['bash'], { onData: () => {} }), /is stopped[\s\S]*/);
    await paddockOk(['start', name]);
  });
});
