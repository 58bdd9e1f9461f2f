// An apply with a new template carries the agent's home into a container whose init has not made
// the agent user yet (src/engine/apply.ts copyHome, templates/base/paddock-init): that home is the
// agent's, links and all, and the init, as root, must not write or make anything through it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { prepareSandbox } from '../../../src/engine/sandboxes.js';
import { cleanup, docker, engine, makeWorkspace } from '../../support/sandbox.js';

describe('apply with a new template: links in the carried home', () => {
  const e = engine();
  let ws: string;
  const newTemplate = `paddock-apply-home-links:${process.pid}`;
  const ownHome = `paddock-apply-own-home:${process.pid}`;
  let ws2: string;
  let shellImage: string;
  after(async () => {
    if (ws) await cleanup(ws);
    if (ws2) await cleanup(ws2);
    docker(['rmi', newTemplate, ownHome]);
  });

  it('the new container\'s init writes no system file through the agent\'s links', async () => {
    ws = makeWorkspace({ 'README.md': '# app\n' });
    const first = await prepareSandbox(e, { agent: 'shell', workspace: ws });
    const name = first.sandbox.name;
    shellImage = first.sandbox.image;
    const built = spawnSync('docker', ['build', '-q', '-t', newTemplate, '-'], { input: `FROM ${first.sandbox.image}\nLABEL dev.paddock.apply-home-links=${process.pid}\n`, encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    // The agent's links: its npm config to a root-owned system file, its ~/.local to /etc.
    const planted = await e.execCapture(name, ['sh', '-c', 'rm -f ~/.npmrc && ln -s /etc/profile ~/.npmrc && mv ~/.local ~/.local.old && ln -s /etc ~/.local && readlink ~/.npmrc ~/.local']);
    assert.equal(planted.exitCode, 0, planted.stderr);
    const profileBefore = (await e.execCapture(name, ['cat', '/etc/profile'])).stdout;
    const applied = await prepareSandbox(e, { agent: 'shell', workspace: ws, template: newTemplate, recreate: true });
    assert.equal(applied.applied, true);
    assert.equal((await e.execCapture(name, ['cat', '/etc/profile'])).stdout, profileBefore, 'root wrote /etc/profile through ~/.npmrc');
    assert.notEqual((await e.execCapture(name, ['test', '-e', '/etc/bin'])).exitCode, 0, 'root made /etc/bin through ~/.local');
    const owner = await e.execCapture(name, ['sh', '-c', 'find /etc/profile -maxdepth 0 -printf %u']);
    assert.equal(owner.stdout, 'root');
  });

  it('an image\'s own /home/agent still gets the npm prefix, written as the agent', async () => {
    ws2 = makeWorkspace({ 'README.md': '# app\n' });
    const built = spawnSync('docker', ['build', '-q', '-t', ownHome, '-'], { input: `FROM ${shellImage}\nRUN mkdir -p /home/agent/.config && echo image > /home/agent/.config/from-image\n`, encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    const made = await prepareSandbox(e, { agent: 'shell', workspace: ws2, template: ownHome });
    const home = await e.execCapture(made.sandbox.name, ['sh', '-c', 'cat ~/.npmrc ~/.config/from-image; find ~/.npmrc ~/.config/from-image -printf "%u\\n"']);
    assert.equal(home.stdout, 'prefix=/home/agent/.npm-global\nimage\nagent\nagent\n', home.stderr);
  });
});
