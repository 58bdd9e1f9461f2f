// Applying changes that need a new container keeps the sandbox's state (src/engine/apply.ts), on
// the real engine: a package installed with apt and a file in the agent's home survive an env
// change, a hide-rule change, a runtime change (runc -> runsc) and a squash; disk does not grow
// with each apply. Nothing here reaches a network: the package is a .deb built in the sandbox.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadPolicy } from '../../../src/core/policy.js';
import { STATE_LABELS, stateImages } from '../../../src/engine/apply.js';
import { approvePolicy } from '../../../src/engine/approvedPolicy.js';
import { prepareSandbox } from '../../../src/engine/sandboxes.js';
import { bridgePaths, readToken } from '../../../src/engine/stateFolder.js';
import { cleanup, docker, engine, makeWorkspace, paddockOk } from '../../support/sandbox.js';

const PACKAGE = 'paddock-apply-test';
const BLOB_MB = 24;

describe('apply: a new container that keeps the sandbox\'s state', () => {
  const e = engine();
  let ws: string;
  let name: string;
  let templateSize: number;

  /** What the user does: edit the policy, approve it (paddock policy apply / a save in VS Code), apply. */
  async function applyPolicy(policy: string, extra: { runtime?: string } = {}) {
    writeFileSync(join(ws, '.paddock', 'policy.yaml'), policy);
    approvePolicy(name, loadPolicy(ws), 'cli');
    const prepared = await prepareSandbox(e, { agent: 'shell', workspace: ws, recreate: true, ...extra });
    assert.equal(prepared.applied, true);
    assert.equal(prepared.sandbox.name, name);
    return prepared;
  }
  const root = (script: string) => e.execCapture(name, ['sh', '-c', script], { user: 'root' });
  const agent = (script: string) => e.execCapture(name, ['sh', '-c', script]);

  async function assertStateKept(): Promise<void> {
    const installed = await agent(`${PACKAGE}; dpkg-query -W -f='\${Status}' ${PACKAGE}; wc -c < /usr/local/share/${PACKAGE}/blob`);
    assert.equal(installed.exitCode, 0, installed.stderr);
    assert.match(installed.stdout, new RegExp(`^${PACKAGE}: ok\ninstall ok installed${BLOB_MB * 1024 * 1024}\n$`));
    assert.equal((await agent('cat ~/.config/agent/sign-in')).stdout, 'signed-in-token-123\n');
    assert.equal((await agent('find ~/.config/agent/sign-in -maxdepth 0 -printf %u')).stdout, 'agent'); // find: gVisor answers stat's statx with EINVAL
  }

  before(async () => {
    ws = makeWorkspace({ '.paddock/policy.yaml': 'version: 1\nenv:\n  OLD_SETTING: "1"\n', 'config/creds.txt': 'api-secret-42\n', 'README.md': '# app\n' });
    const prepared = await prepareSandbox(e, { agent: 'shell', workspace: ws });
    name = prepared.sandbox.name;
    templateSize = (await e.docker.getImage(prepared.sandbox.image).inspect()).Size;
    // apt installs a package (built here: no network), the agent signs in (a file in its home), a daemon leaves a pid file in /run.
    const built = await root([
      `mkdir -p /tmp/pkg/DEBIAN /tmp/pkg/usr/bin /tmp/pkg/usr/local/share/${PACKAGE}`,
      `printf 'Package: ${PACKAGE}\\nVersion: 1.0\\nArchitecture: all\\nMaintainer: Paddock <test@example.invalid>\\nDescription: apply test\\n' > /tmp/pkg/DEBIAN/control`,
      `printf '#!/bin/sh\\necho ${PACKAGE}: ok\\n' > /tmp/pkg/usr/bin/${PACKAGE} && chmod 755 /tmp/pkg/usr/bin/${PACKAGE}`,
      `head -c ${BLOB_MB}M /dev/urandom > /tmp/pkg/usr/local/share/${PACKAGE}/blob`,
      `dpkg-deb -Znone --build /tmp/pkg /tmp/${PACKAGE}.deb >/dev/null`,
      `apt-get install -y -q /tmp/${PACKAGE}.deb >/dev/null 2>&1 || dpkg -i /tmp/${PACKAGE}.deb`,
      `rm -rf /tmp/pkg /tmp/${PACKAGE}.deb`,
      'mkdir -p /run/olddaemon && echo 4242 > /run/olddaemon/daemon.pid',
    ].join(' && '));
    assert.equal(built.exitCode, 0, built.stderr);
    assert.equal((await agent('mkdir -p ~/.config/agent && echo signed-in-token-123 > ~/.config/agent/sign-in')).exitCode, 0);
    // The attacker's side: the agent leaves links in the world-writable /run/lock that point at system files.
    assert.equal((await agent('ln -s /etc/passwd /run/lock/evil && mkdir /run/lock/dir && ln -s /etc /run/lock/dir/etc')).exitCode, 0);
    await assertStateKept();
  });
  after(() => cleanup(ws));

  it('an env change: the new variable is there, the removed one is gone, the state and the bridge token stay, /run is clean', async () => {
    const token = readToken(bridgePaths(name));
    assert.ok(token);
    assert.equal((await agent('printenv OLD_SETTING')).stdout, '1\n');
    await applyPolicy('version: 1\nenv:\n  NEW_SETTING: "2"\n');
    await assertStateKept();
    assert.equal((await agent('printenv NEW_SETTING')).stdout, '2\n');
    // Gone from the agent's processes and from the init's (docker commit would have carried it in the image).
    assert.notEqual((await agent('printenv OLD_SETTING')).exitCode, 0);
    assert.doesNotMatch((await root('tr "\\0" "\\n" < /proc/1/environ')).stdout, /OLD_SETTING/);
    assert.equal((await root('test -e /run/olddaemon && echo stale || echo clean')).stdout, 'clean\n');
    // Removing what was left in /run removed the agent's links, never what they point at.
    assert.equal((await root('ls -A /run/lock; test -s /etc/passwd && test -d /etc/apt && echo system-intact')).stdout, 'system-intact\n');
    assert.equal(readToken(bridgePaths(name)), token, 'the agent\'s MCP configuration keeps its token');
  });

  it('a hide-rule change: the newly hidden file reads empty, the state stays', async () => {
    assert.equal((await agent('cat config/creds.txt')).stdout, 'api-secret-42\n');
    await applyPolicy('version: 1\nenv:\n  NEW_SETTING: "2"\nhide:\n  - "config/creds.txt"\n');
    await assertStateKept();
    const read = await agent('cat config/creds.txt; echo "[end]"');
    assert.equal(read.stdout, '[end]\n', 'the file is covered by /dev/null');
    // The attacker's side: a copy through another name does not exist, and the mount cannot be lifted.
    assert.notEqual((await agent('umount config/creds.txt')).exitCode, 0);
  });

  it('a runtime change (runc -> runsc): the state stays; a later apply keeps the runtime', async () => {
    const runtimes = await e.runtimes();
    assert.ok(runtimes.names.includes('runsc'), 'this test needs gVisor registered as "runsc" in the engine (docker info)');
    const prepared = await applyPolicy('version: 1\nenv:\n  NEW_SETTING: "2"\nhide:\n  - "config/creds.txt"\n', { runtime: 'runsc' });
    assert.equal(prepared.sandbox.runtime, 'runsc');
    await assertStateKept();
    assert.match((await agent('dmesg 2>/dev/null | head -1; true')).stdout + (await root('cat /proc/version')).stdout, /gVisor|Linux version 4\.4\.0/);
    const again = await applyPolicy('version: 1\nenv:\n  NEW_SETTING: "3"\nhide:\n  - "config/creds.txt"\n');
    assert.equal(again.sandbox.runtime, 'runsc', 'an apply that names no runtime keeps the one chosen');
    assert.equal((await agent('printenv NEW_SETTING')).stdout, '3\n');
  });

  it('after five applies, the images hold one copy of the installed state, in one tagged image', async () => {
    await applyPolicy('version: 1\nenv:\n  NEW_SETTING: "5"\nhide:\n  - "config/creds.txt"\n');
    await assertStateKept();
    const images = await stateImages(e.docker, name);
    const tagged = images.filter((i) => i.RepoTags?.some((t) => t !== '<none>:<none>'));
    assert.equal(tagged.length, 1, `one state image, not ${tagged.length}`);
    const inUse = JSON.parse(docker(['inspect', name]).stdout)[0].Image;
    assert.equal(tagged[0].Id, inUse);
    const grown = (await e.docker.getImage(inUse).inspect()).Size - templateSize;
    const installed = BLOB_MB * 1024 * 1024;
    assert.ok(grown >= installed, `the state is in the image (${grown} bytes)`);
    assert.ok(grown < installed * 1.5, `five applies did not copy it again: ${Math.round(grown / 1e6)} MB over the template for ${BLOB_MB} MB installed`);
    assert.equal(docker(['images', '-q', '--filter', 'dangling=true', '--filter', `label=${STATE_LABELS.of}=${name}`]).stdout.trim(), '', 'no dangling state image is left');
  });

  it('squashes the layers past the limit, and the state stays', async () => {
    process.env.PADDOCK_APPLY_MAX_LAYERS = '3';
    try {
      await applyPolicy('version: 1\nenv:\n  NEW_SETTING: "6"\nhide:\n  - "config/creds.txt"\n');
    } finally {
      delete process.env.PADDOCK_APPLY_MAX_LAYERS;
    }
    await assertStateKept();
    const image = await e.docker.getImage(JSON.parse(docker(['inspect', name]).stdout)[0].Image).inspect();
    assert.equal(image.RootFS.Layers?.length, 1);
    assert.equal((await agent('printenv NEW_SETTING')).stdout, '6\n');
    assert.equal((await agent('cat config/creds.txt; echo "[end]"')).stdout, '[end]\n');
    assert.equal((await stateImages(e.docker, name)).length, 1);
  });

  it('rm removes the state images with the sandbox', async () => {
    await e.remove(name);
    assert.equal((await stateImages(e.docker, name)).length, 0);
  });
});

describe('apply with a new template: the agent\'s home is carried over, the old system is not', () => {
  const e = engine();
  let ws: string;
  const newTemplate = `paddock-apply-test-template:${process.pid}`;
  after(async () => {
    if (ws) await cleanup(ws);
    docker(['rmi', newTemplate]);
  });

  it('keeps ~ and says that installed packages stay behind', async () => {
    ws = makeWorkspace({ 'README.md': '# app\n' });
    const first = await prepareSandbox(e, { agent: 'shell', workspace: ws });
    const name = first.sandbox.name;
    // Another template: the same image with one more label (another id), as a rebuilt template would be.
    const built = spawnSync('docker', ['build', '-q', '-t', newTemplate, '-'], { input: `FROM ${first.sandbox.image}\nLABEL dev.paddock.apply-test=${process.pid}\n`, encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    assert.equal((await e.execCapture(name, ['sh', '-c', 'mkdir -p ~/.config/agent && echo kept > ~/.config/agent/sign-in'])).exitCode, 0);
    assert.equal((await e.execCapture(name, ['sh', '-c', 'echo old > /usr/local/bin/old-system-file'], { user: 'root' })).exitCode, 0);
    const applied = await prepareSandbox(e, { agent: 'shell', workspace: ws, template: newTemplate, recreate: true });
    assert.equal(applied.applied, true);
    assert.equal(applied.sandbox.image, newTemplate);
    assert.equal((await e.execCapture(name, ['cat', '/home/agent/.config/agent/sign-in'])).stdout, 'kept\n');
    assert.equal((await e.execCapture(name, ['sh', '-c', 'find ~/.config/agent/sign-in -maxdepth 0 -printf %u'])).stdout, 'agent');
    assert.notEqual((await e.execCapture(name, ['test', '-e', '/usr/local/bin/old-system-file'])).exitCode, 0);
    assert.ok(applied.notes.some((n) => /template .* changed.*home .* carried over/.test(n)), applied.notes.join('\n'));
    assert.equal((await stateImages(e.docker, name)).length, 0, 'the saved state is removed once the home is copied');
  });
});

describe('paddock apply (the CLI)', () => {
  let ws: string;
  after(async () => { if (ws) await cleanup(ws); });

  it('applies a hide rule to a sandbox by agent and workspace, keeps the state, and create --recreate does the same', async () => {
    ws = makeWorkspace({ 'notes/token.txt': 'tok-77\n' });
    const name = (await paddockOk(['create', 'shell', ws])).stdout.trim();
    await paddockOk(['exec', name, '--', 'sh', '-c', 'mkdir -p ~/.cache/tool && echo warm > ~/.cache/tool/index']);
    assert.equal((await paddockOk(['exec', name, '--', 'cat', 'notes/token.txt'])).stdout, 'tok-77\n');
    mkdirSync(join(ws, '.paddock'), { recursive: true });
    writeFileSync(join(ws, '.paddock', 'policy.yaml'), 'version: 1\nhide:\n  - "notes/**"\n');
    await paddockOk(['policy', 'apply', ws]);
    const applied = await paddockOk(['apply', 'shell', ws]);
    assert.equal(applied.stdout.trim(), name);
    assert.match(applied.stderr, /Applied changes to .* \(its state is kept\)/);
    assert.equal((await paddockOk(['exec', name, '-w', '/home/agent', '--', 'cat', '.cache/tool/index'])).stdout, 'warm\n');
    assert.equal((await paddockOk(['exec', name, '--', 'sh', '-c', 'ls notes | wc -l'])).stdout.trim(), '0', 'the folder is an empty tmpfs');
    await paddockOk(['create', 'shell', ws, '--recreate', '-e', 'MODE=fast']);
    assert.equal((await paddockOk(['exec', name, '--', 'printenv', 'MODE'])).stdout, 'fast\n');
    assert.equal((await paddockOk(['exec', name, '-w', '/home/agent', '--', 'cat', '.cache/tool/index'])).stdout, 'warm\n');
  });
});
