// Bad input gets a clear message, a non-zero exit, and changes nothing.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { cleanup, docker, makeWorkspace, paddock, paddockOk } from '../../support/sandbox.js';

/** The sandboxes of one workspace (other tests may create sandboxes of their own meanwhile). */
async function sandboxNames(workspace: string): Promise<string[]> {
  return (JSON.parse((await paddockOk(['ls', '--json', '-w', workspace])).stdout) as { name: string }[]).map((s) => s.name).sort();
}

describe('errors say what is wrong and what to do, and change nothing', () => {
  let ws: string;
  before(() => { ws = makeWorkspace({ 'a.txt': 'a\n' }); });
  after(() => cleanup(ws));

  it('no Docker engine: says how to start one', async () => {
    const r = await paddock(['ls'], { env: { DOCKER_HOST: 'unix:///tmp/paddock-no-such-engine.sock' } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /No Docker engine answers at unix:\/\/\/tmp\/paddock-no-such-engine\.sock \(DOCKER_HOST\)/);
    assert.match(r.stderr, /Check DOCKER_HOST, or start that engine/);
    const run = await paddock(['run', 'shell', ws], { env: { DOCKER_HOST: 'unix:///tmp/paddock-no-such-engine.sock' } });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /No Docker engine answers/);
    // exec asks the engine only when its first call fails (it skips the ping docker exec skips too).
    const exec = await paddock(['exec', 'some-sandbox', '--', 'true'], { env: { DOCKER_HOST: 'unix:///tmp/paddock-no-such-engine.sock' } });
    assert.equal(exec.code, 1);
    assert.match(exec.stderr, /No Docker engine answers at unix:\/\/\/tmp\/paddock-no-such-engine\.sock/);
    // Given with -H, the message names -H (it said "(setting)" and "Check setting").
    const host = await paddock(['-H', 'unix:///tmp/paddock-no-such-engine.sock', 'ls']);
    assert.equal(host.code, 1);
    assert.match(host.stderr, /No Docker engine answers at unix:\/\/\/tmp\/paddock-no-such-engine\.sock \(--host or the paddock\.dockerHost setting\): ENOENT\.\n\s*→ Check that address, or start that engine\./);
  });

  it('unknown agent: lists the agents', async () => {
    const r = await paddock(['run', 'copilot', ws]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Unknown agent "copilot"[\s\S]*claude, gemini, codex, shell/);
    assert.deepEqual(await sandboxNames(ws), []);
  });

  it('missing workspace: refuses, and does not create the folder', async () => {
    const missing = join(tmpdir(), `paddock-missing-${process.pid}`);
    const r = await paddock(['run', 'shell', missing]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`workspace ${missing} does not exist`));
    assert.throws(() => readdirSync(missing));
    const file = await paddock(['create', 'shell', join(ws, 'a.txt')]);
    assert.match(file.stderr, /is not a folder/);
  });

  it('a name already taken: refuses and leaves the other container alone', async () => {
    const other = `paddock-test-taken-${process.pid}`;
    assert.equal(docker(['create', '--name', other, 'debian:bookworm-slim', 'true']).code, 0);
    try {
      const r = await paddock(['create', 'shell', ws, '--name', other]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`name "${other}" is already taken[\\s\\S]*another --name`));
      assert.equal(docker(['inspect', '-f', '{{.Config.Cmd}}', other]).stdout.trim(), '[true]');
    } finally {
      docker(['rm', '-f', other]);
    }
  });

  it('a second create for the same workspace and agent says to use run', async () => {
    const first = await paddockOk(['create', 'shell', ws]);
    const again = await paddock(['create', 'shell', ws]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, new RegExp(`already has a shell sandbox \\(${first.stdout.trim()}\\)[\\s\\S]*paddock run shell`));
    await paddockOk(['rm', first.stdout.trim()]);
  });

  it('a container that is not a sandbox is not Paddock\'s to touch', async () => {
    const other = `paddock-test-foreign-${process.pid}`;
    docker(['create', '--name', other, 'debian:bookworm-slim', 'true']);
    try {
      const r = await paddock(['rm', other]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /not a Paddock sandbox/);
      assert.equal(docker(['inspect', other]).code, 0);
    } finally {
      docker(['rm', '-f', other]);
    }
  });

  it('an unknown sandbox name', async () => {
    const r = await paddock(['exec', 'no-such-sandbox', '--', 'true']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /No sandbox named "no-such-sandbox"[\s\S]*paddock ls/);
  });

  it('an unknown runtime: lists the runtimes the engine has', async () => {
    const r = await paddock(['create', 'shell', ws, '--runtime', 'no-such-runtime']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no runtime "no-such-runtime"[\s\S]*Available runtimes: .*runc/);
    assert.deepEqual((JSON.parse((await paddockOk(['ls', '--json', '-w', ws])).stdout) as unknown[]).length, 0);
  });

  it('bad limits and ports are refused before anything is created', async () => {
    for (const args of [['--memory', 'lots'], ['-p', '0.0.0.0:80:80'], ['--cpus', '0'], ['-e', '1X=y']]) {
      const r = await paddock(['create', 'shell', ws, ...args]);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, /→ /, `a hint for ${args.join(' ')}`);
    }
    assert.equal((JSON.parse((await paddockOk(['ls', '--json', '-w', ws])).stdout) as unknown[]).length, 0);
  });

  it('a failing template build names the failing step and shows the end of its log', async () => {
    const custom = makeWorkspace({ '.paddock/Dockerfile': 'ARG PADDOCK_AGENT_IMAGE\nFROM ${PADDOCK_AGENT_IMAGE}\nRUN echo preparing things && echo "broken-step-output" && exit 3\n' });
    try {
      const r = await paddock(['run', 'shell', custom, '--', '-c', 'true']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /failed to build at step "RUN echo preparing things/);
      assert.match(r.stderr, /broken-step-output/);
      assert.match(r.stderr, /returned a non-zero code: 3/);
      assert.equal((JSON.parse((await paddockOk(['ls', '--json', '-w', custom])).stdout) as unknown[]).length, 0);
    } finally {
      await cleanup(custom);
    }
  });

  it('a workspace template (.paddock/Dockerfile) extends the agent image', async () => {
    const custom = makeWorkspace({ '.paddock/Dockerfile': 'ARG PADDOCK_AGENT_IMAGE\nFROM ${PADDOCK_AGENT_IMAGE}\nRUN echo from-custom-template > /etc/custom-marker\n' });
    try {
      const r = await paddockOk(['run', 'shell', custom, '--', '-c', 'cat /etc/custom-marker']);
      assert.equal(r.stdout, 'from-custom-template\n');
    } finally {
      await cleanup(custom);
    }
  });

  it('a broken policy file names the line and changes nothing', async () => {
    const broken = makeWorkspace({ '.paddock/policy.yaml': 'version: 1\ntier: everything\n' });
    try {
      const r = await paddock(['run', 'shell', broken, '--', '-c', 'true']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /policy\.yaml:2:7/);
      assert.equal((JSON.parse((await paddockOk(['ls', '--json', '-w', broken])).stdout) as unknown[]).length, 0);
    } finally {
      await cleanup(broken);
    }
  });
});

describe('remote engines and contexts', () => {
  it('follows DOCKER_HOST and the current Docker context to another socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'paddock-ctx-'));
    const socket = join(dir, 'engine.sock');
    symlinkSync('/var/run/docker.sock', socket);
    try {
      const viaHost = await paddockOk(['info', '--json'], { env: { DOCKER_HOST: `unix://${socket}` } });
      assert.equal(JSON.parse(viaHost.stdout).engine.source, 'DOCKER_HOST');
      const id = createHash('sha256').update('paddock-test').digest('hex');
      mkdirSync(join(dir, 'contexts', 'meta', id), { recursive: true });
      writeFileSync(join(dir, 'contexts', 'meta', id, 'meta.json'), JSON.stringify({ Name: 'paddock-test', Endpoints: { docker: { Host: `unix://${socket}` } } }));
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ currentContext: 'paddock-test' }));
      const viaContext = await paddockOk(['info', '--json'], { env: { DOCKER_CONFIG: dir, DOCKER_HOST: '' } });
      const info = JSON.parse(viaContext.stdout);
      assert.equal(info.engine.source, 'context paddock-test');
      assert.equal(info.engine.host, `unix://${socket}`);
      assert.ok(info.runtimes.names.includes('runc'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
