// `paddock exec` finds its sandbox with the engine connection alone (src/engine/sandboxClient.ts):
// the ways of naming one, and the failures, through the real CLI and engine.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI, cleanup, docker, makeWorkspace, paddock, paddockOk } from '../../support/sandbox.js';

describe('paddock exec: finding the sandbox', () => {
  let ws: string;
  let name: string;
  let empty: string;
  const stranger = `paddock-exec-stranger-${process.pid}`;

  before(async () => {
    ws = makeWorkspace({ 'marker.txt': 'this workspace\n' });
    empty = makeWorkspace();
    name = (await paddockOk(['create', 'shell', ws])).stdout.trim();
  });
  after(async () => {
    docker(['rm', '-f', stranger]);
    await cleanup(ws);
    await cleanup(empty);
  });

  it('by name, by id and by its workspace folder, in the workspace as the agent user', async () => {
    const id = (await paddockOk(['inspect', name, '--json'])).stdout;
    const shortId = (JSON.parse(id) as { id: string }).id.slice(0, 12);
    for (const ref of [name, shortId, ws]) {
      const r = await paddockOk(['exec', ref, '--', 'sh', '-c', 'pwd; whoami; cat marker.txt']);
      assert.equal(r.stdout, `${ws}\nagent\nthis workspace\n`, ref);
    }
  });

  it('a command that prints gVisor\'s words for a lost command is not taken for lost while its sandbox runs', async () => {
    // The agent can print what runsc writes when a sandbox stops under a command; the exec goes on.
    const spoof = 'echo "waiting on PID 5 in sandbox \\"abc123\\": urpc method \\"containerManager.WaitPID\\" failed: EOF"; sleep 3; echo after; exit 4';
    const r = await paddock(['exec', name, '--', 'sh', '-c', spoof]);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stdout, /^after$/m);
  });

  it('passes the exit code through and runs options as given', async () => {
    assert.equal((await paddock(['exec', name, '--', 'sh', '-c', 'exit 3'])).code, 3);
    const r = await paddockOk(['exec', name, '-u', 'root', '-w', '/', '-e', 'GREETING=hi there', '--', 'sh', '-c', 'echo "$(whoami) $(pwd) $GREETING"']);
    assert.equal(r.stdout, 'root / hi there\n');
    // -e NAME alone passes the host's value, or leaves it unset (never the name as its value).
    const passed = await paddockOk(['exec', name, '-e', 'PADDOCK_FROM_HOST', '-e', 'PADDOCK_NOT_ON_HOST', '--', 'sh', '-c', 'echo "${PADDOCK_FROM_HOST}|${PADDOCK_NOT_ON_HOST-unset}"'], { env: { PADDOCK_FROM_HOST: 'host value' } });
    assert.equal(passed.stdout, 'host value|unset\n');
    const bad = await paddock(['exec', name, '-e', 'NOT A NAME=1', '--', 'true']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Invalid environment variable "NOT A NAME=1"/);
  });

  // The command reads what paddock exec is given: a pipe's and a file's bytes, and from /dev/null nothing at once (not attached, as docker exec without -i).
  it('hands its input to the command: a pipe, a file, and /dev/null as an empty input', async () => {
    assert.equal((await paddockOk(['exec', name, '--', 'sh', '-c', 'wc -c; echo done'], { input: 'through a pipe\n' })).stdout, '15\ndone\n');
    const file = join(empty, 'input.txt');
    writeFileSync(file, 'from a file\n');
    const run = (input: number) => spawnSync(process.execPath, [CLI, 'exec', name, '--', 'sh', '-c', 'cat; echo "end $?"'], { stdio: [input, 'pipe', 'pipe'], encoding: 'utf8', timeout: 120_000 });
    for (const [path, expected] of [[file, 'from a file\nend 0\n'], ['/dev/null', 'end 0\n']]) {
      const fd = openSync(path, 'r');
      try {
        const r = run(fd);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, expected, path);
      } finally {
        closeSync(fd);
      }
    }
  });

  it('refuses a folder without a sandbox, and a container Paddock did not create', async () => {
    const none = await paddock(['exec', empty, '--', 'true']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /No sandbox named .*\n.*paddock ls/);
    assert.equal(docker(['create', '--name', stranger, 'debian:bookworm-slim', 'true']).code, 0);
    const refused = await paddock(['exec', stranger, '--', 'true']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /is a container, but not a Paddock sandbox/);
  });

  // The fast path (src/cli/execFast.ts) runs the command itself: its check of what the name found must gate the command.
  it('never runs the command in a running container Paddock did not create, nor in a stopped sandbox', async () => {
    docker(['rm', '-f', stranger]);
    assert.equal(docker(['run', '-d', '--name', stranger, 'debian:bookworm-slim', 'sleep', 'infinity']).code, 0);
    const refused = await paddock(['exec', stranger, '--', 'touch', '/tmp/ran']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /is a container, but not a Paddock sandbox/);
    assert.equal(docker(['exec', stranger, 'test', '-e', '/tmp/ran']).code, 1, 'the command ran in the stranger');

    await paddockOk(['stop', name]);
    const stopped = await paddock(['exec', name, '--', 'touch', 'ran-while-stopped']);
    assert.notEqual(stopped.code, 0);
    assert.match(stopped.stderr, /is stopped[\s\S]*paddock start/);
    await paddockOk(['start', name]);
    assert.equal(existsSync(join(ws, 'ran-while-stopped')), false, 'the command ran once the sandbox was started');
  });

  it('without an engine, says which one does not answer and how to start one', async () => {
    const r = await paddock(['--host', `unix:///tmp/paddock-no-engine-${process.pid}.sock`, 'exec', name, '--', 'true']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /No Docker engine answers at unix:\/\/\/tmp\/paddock-no-engine-\d+\.sock/);
    assert.match(r.stderr, /or start that engine/);
  });
});
