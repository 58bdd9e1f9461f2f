// The sandbox lifecycle through the real CLI against the real Docker engine.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanup, docker, httpText, makeWorkspace, OWNER, paddock, paddockOk } from '../../support/sandbox.js';

describe('a sandbox, from create to rm', () => {
  let ws: string;
  let name: string;

  // The user's git identity, from a global config of the test's own (GIT_CONFIG_GLOBAL), so the
  // test needs none on the machine.
  const identity = { name: 'Paddock Test', email: `paddock-test-${process.pid}@example.invalid` };

  before(async () => {
    ws = makeWorkspace({ 'README.md': '# project\n', 'src/app.js': 'console.log(1)\n' });
    const gitconfig = join(mkdtempSync(join(tmpdir(), 'paddock-gitconfig-')), 'gitconfig');
    writeFileSync(gitconfig, `[user]\n\tname = ${identity.name}\n\temail = ${identity.email}\n`);
    const created = await paddockOk(['create', 'shell', ws, '-e', 'GREETING=hello world', '-p', '3000', '--memory', '1g', '--cpus', '1.5', '--pids', '300'], { env: { ...process.env, GIT_CONFIG_GLOBAL: gitconfig } });
    name = created.stdout.trim();
  });
  after(() => cleanup(ws));

  it('sees the workspace at the same absolute path, as its working directory', async () => {
    const r = await paddockOk(['exec', name, '--', 'pwd']);
    assert.equal(r.stdout.trim(), ws);
    const ls = await paddockOk(['exec', name, '--', 'cat', 'src/app.js']);
    assert.equal(ls.stdout, 'console.log(1)\n');
  });

  it('runs the agent as a non-root user whose files belong to the workspace owner on the host', async () => {
    const id = await paddockOk(['exec', name, '--', 'id', '-u']);
    assert.equal(id.stdout.trim(), String(OWNER.uid));
    await paddockOk(['exec', name, '--', 'sh', '-c', 'mkdir -p out && echo made inside > out/new.txt']);
    const file = join(ws, 'out', 'new.txt');
    assert.equal(readFileSync(file, 'utf8'), 'made inside\n');
    assert.equal(statSync(file).uid, OWNER.uid);
    assert.equal(statSync(file).gid, OWNER.gid);
  });

  it('sees a change made on the host at once (a bind mount, not a copy)', async () => {
    writeFileSync(join(ws, 'from-host.txt'), 'host wrote this\n');
    assert.equal((await paddockOk(['exec', name, '--', 'cat', 'from-host.txt'])).stdout, 'host wrote this\n');
  });

  it('carries the environment variables it was created with', async () => {
    assert.equal((await paddockOk(['exec', name, '--', 'printenv', 'GREETING'])).stdout, 'hello world\n');
  });

  it('has the host user\'s git identity', async () => {
    const expected = identity.email;
    // Outside any repository only the sandbox's own (system and global) config applies.
    assert.equal((await paddockOk(['exec', name, '--', 'sh', '-c', 'cd / && git config --get user.email'])).stdout.trim(), expected);
    // A repository made inside has no identity of its own: its commits are the user's.
    await paddockOk(['exec', name, '--', 'sh', '-c', 'mkdir inner && cd inner && git init -q && echo x > f && git add f && git commit -qm first']);
    const author = await paddockOk(['exec', name, '-w', `${ws}/inner`, '--', 'git', 'log', '-1', '--format=%ae']);
    assert.equal(author.stdout.trim(), expected);
  });

  it('holds nothing of the host but the workspace: no ~/.ssh, no cloud credentials, no Docker socket', async () => {
    const r = await paddock(['exec', name, '--', 'sh', '-c', 'ls -d ~/.ssh ~/.aws ~/.config/gcloud /var/run/docker.sock /run/docker.sock /root 2>&1; true']);
    for (const path of ['.ssh', '.aws', 'gcloud', 'docker.sock']) assert.match(r.stdout, new RegExp(`${path.replace('.', '\\.')}': No such file|${path}.*No such file`), path);
    // Every mount point: the workspace, Paddock's own read-only /run/paddock (bridge socket and token)
    // and /run/paddock-hide (the hide rules the init guards by), and Docker's usual system mounts. No
    // home folder, no engine socket.
    const mountinfo = (await paddockOk(['exec', name, '--', 'cat', '/proc/self/mountinfo'])).stdout;
    assert.doesNotMatch(mountinfo, /docker\.sock|containerd\.sock/);
    const targets = mountinfo.trim().split('\n').map((line) => line.split(' ')[4]);
    const expected = /^(\/|\/proc.*|\/dev.*|\/sys.*|\/etc\/(resolv\.conf|hostname|hosts)|\/usr\/sbin\/docker-init|\/run\/paddock|\/run\/paddock-hide)$/;
    for (const target of targets) assert.ok(target === ws || expected.test(target), `unexpected mount ${target}`);
    for (const own of ['/run/paddock', '/run/paddock-hide']) {
      const mount = mountinfo.split('\n').find((line) => line.split(' ')[4] === own);
      if (mount) assert.match(mount.split(' ')[5], /^ro\b/, `${own} is read-only`);
    }
  });

  it('applies limits, and publishes ports on 127.0.0.1 only', () => {
    const inspect = JSON.parse(docker(['inspect', name]).stdout)[0];
    assert.equal(inspect.HostConfig.Memory, 1024 ** 3);
    assert.equal(inspect.HostConfig.NanoCpus, 1.5e9);
    assert.equal(inspect.HostConfig.PidsLimit, 300);
    // Docker publishes nothing from the sandbox's internal network: its egress proxy publishes the port and forwards it in.
    const proxy = docker(['ps', '-q', '--filter', `label=dev.paddock.egress-for=${name}`]).stdout.trim();
    const bindings = JSON.parse(docker(['inspect', proxy]).stdout)[0].NetworkSettings.Ports['3000/tcp'];
    assert.ok(bindings.length >= 1);
    for (const b of bindings) assert.equal(b.HostIp, '127.0.0.1');
    assert.ok(Number(bindings[0].HostPort) > 0);
    assert.deepEqual(inspect.HostConfig.CapDrop, ['ALL']);
    assert.ok(inspect.HostConfig.SecurityOpt.includes('no-new-privileges:true'));
  });

  it('a server in the sandbox answers on the published port, on the host\'s loopback', async () => {
    const { ports } = JSON.parse((await paddockOk(['inspect', name, '--json'])).stdout);
    const published = ports.find((p: any) => p.containerPort === 3000);
    assert.ok(published?.hostPort > 0, JSON.stringify(ports));
    // A tiny HTTP server on the sandbox's port 3000, left running in the background.
    await paddockOk(['exec', name, '--', 'sh', '-c',
      'nohup node -e "require(\'http\').createServer((q, r) => r.end(\'from-sandbox\')).listen(3000)" >/dev/null 2>&1 &']);
    let body = '';
    for (let i = 0; i < 50 && body !== 'from-sandbox'; i++) {
      body = await httpText(`http://127.0.0.1:${published.hostPort}/`);
      if (body !== 'from-sandbox') await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(body, 'from-sandbox');
  });

  it('lists it with the documented JSON fields', async () => {
    const list = JSON.parse((await paddockOk(['ls', '--json'])).stdout) as any[];
    const mine = list.find((s) => s.name === name);
    assert.ok(mine, 'listed');
    for (const key of ['name', 'id', 'workspace', 'agent', 'status', 'runtime', 'image', 'created']) assert.ok(key in mine, key);
    assert.equal(mine.workspace, ws);
    assert.equal(mine.agent, 'shell');
    assert.equal(mine.status, 'running');
    assert.equal(mine.runtime, 'runc');
  });

  it('inspect shows mounts, env names, limits and ports, never env values', async () => {
    const d = JSON.parse((await paddockOk(['inspect', name, '--json'])).stdout);
    assert.deepEqual(d.envNames, ['GREETING']);
    assert.doesNotMatch(JSON.stringify(d), /hello world/);
    assert.equal(d.limits.memoryBytes, 1024 ** 3);
    assert.equal(d.ports[0].containerPort, 3000);
    assert.equal(d.ports[0].hostIp, '127.0.0.1');
    assert.ok(d.mounts.some((m: any) => m.target === ws && m.type === 'bind'));
    const text = await paddockOk(['inspect', ws]);
    assert.match(text.stdout, new RegExp(`Workspace: ${ws}`));
  });

  it('logs shows the output of the sandbox\'s main process', async () => {
    const r = await paddockOk(['logs', name]);
    assert.match(r.stdout, /paddock: ready/);
    assert.match((await paddockOk(['logs', name, '-n', '1'])).stdout, /^paddock: ready\n$/);
  });

  it('passes the exit code of exec through', async () => {
    assert.equal((await paddock(['exec', name, '--', 'sh', '-c', 'exit 7'])).code, 7);
    assert.equal((await paddock(['exec', name, '--', 'false'])).code, 1);
    const missing = await paddock(['exec', name, '--', 'no-such-command']);
    assert.ok(missing.code === 126 || missing.code === 127, `code ${missing.code}`);
  });

  it('pipes stdin to exec', async () => {
    const r = await paddockOk(['exec', name, '--', 'wc', '-c'], { input: 'twelve bytes' });
    assert.equal(r.stdout.trim(), '12');
  });

  it('keeps what was installed inside across stop and start', async () => {
    await paddockOk(['exec', name, '--', 'sh', '-c', 'printf "#!/bin/sh\\necho tool-ok\\n" > ~/.local/bin/mytool && chmod +x ~/.local/bin/mytool']);
    await paddockOk(['exec', name, '-u', 'root', '--', 'sh', '-c', 'echo system-wide > /opt/installed-by-root']);
    await paddockOk(['stop', name]);
    const stopped = JSON.parse((await paddockOk(['ls', '--json'])).stdout).find((s: any) => s.name === name);
    assert.equal(stopped.status, 'stopped');
    const refused = await paddock(['exec', name, '--', 'true']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /is stopped[\s\S]*paddock start/);
    await paddockOk(['start', name]);
    assert.equal((await paddockOk(['exec', name, '--', 'mytool'])).stdout, 'tool-ok\n');
    assert.equal((await paddockOk(['exec', name, '--', 'cat', '/opt/installed-by-root'])).stdout, 'system-wide\n');
  });

  it('a second run reuses the same sandbox and its state', async () => {
    const before = JSON.parse(docker(['inspect', name]).stdout)[0].Id;
    const r = await paddockOk(['run', 'shell', ws, '--', '-c', 'mytool; pwd']);
    assert.equal(r.stdout, `tool-ok\n${ws}\n`);
    assert.match(r.stderr, new RegExp(`Using sandbox ${name}`));
    assert.equal(JSON.parse(docker(['inspect', name]).stdout)[0].Id, before);
  });

  it('says an apply is needed when the environment changes, and applies it on request (state kept)', async () => {
    const changed = await paddock(['run', 'shell', ws, '-e', 'GREETING=bye', '--', '-c', 'true']);
    assert.equal(changed.code, 1);
    assert.match(changed.stderr, /created with other environment variables[\s\S]*--recreate/);
    assert.equal((await paddockOk(['exec', name, '--', 'printenv', 'GREETING'])).stdout, 'hello world\n', 'nothing changed');
    const r = await paddockOk(['run', 'shell', ws, '-e', 'GREETING=bye', '--recreate', '--', '-c', 'printenv GREETING']);
    assert.equal(r.stdout, 'bye\n');
    // --recreate is an apply: a new container with the new environment, and the state kept.
    assert.equal((await paddock(['exec', name, '--', 'sh', '-c', 'test -e ~/.local/bin/mytool'])).code, 0, 'an apply keeps what was installed');
  });

  it('rm removes the sandbox and leaves the workspace as it was', async () => {
    await paddockOk(['rm', name]);
    assert.equal(docker(['inspect', name]).code, 1);
    assert.ok(existsSync(join(ws, 'out', 'new.txt')));
    assert.ok(existsSync(join(ws, 'src', 'app.js')));
    assert.ok(existsSync(join(ws, 'inner', '.git')), 'the repository made inside stays');
  });
});

describe('a workspace that belongs to root', () => {
  let ws: string;
  before(() => {
    ws = makeWorkspace({ 'README.md': '# root project\n' });
    if (process.getuid?.() === 0) spawnSync('chown', ['-R', '0:0', ws]);
  });
  after(() => cleanup(ws));

  // (Run as another user, the workspace is that user's: the same check then covers the usual case.)
  it('the agent keeps /home/agent as its home, where Paddock writes the agents\' configs (Docker would give uid 0 root\'s /root)', async () => {
    const name = (await paddockOk(['create', 'shell', ws])).stdout.trim();
    assert.equal((await paddockOk(['exec', name, '--', 'sh', '-c', 'echo "$HOME"'])).stdout, '/home/agent\n');
    const r = await paddockOk(['run', 'shell', ws, '--', '-c', 'echo "$HOME"; grep -c paddock-mcp ~/.claude.json']);
    assert.equal(r.stdout, '/home/agent\n1\n', 'the bridge is registered in the home the agent uses');
  });
});
