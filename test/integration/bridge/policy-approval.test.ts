// Only the user changes the cage: a .paddock/policy.yaml that appears or changes on disk (the sandbox
// can write it where .paddock did not exist at create) does not widen the bridge until the user
// applies it (`paddock policy apply`, or a save in VS Code).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hostSandboxBridge, type HostedBridge } from '../../../src/bridge/host.js';
import { cleanup, docker, engine, makeWorkspace, paddock, paddockOk } from '../../support/sandbox.js';
import { agentClient, callTool } from './support.js';

describe('a policy the sandbox wrote takes no effect until the user applies it', () => {
  const target = `pbt-approval-target-${process.pid}-${randomBytes(3).toString('hex')}`;
  const permissive = ['version: 1', 'tier: permissive', 'bridge:', `  containers: ["${target}"]`, ''].join('\n');
  let ws: string;
  let sandbox: string;
  let hosted: HostedBridge | undefined;

  before(async () => {
    assert.equal(docker(['run', '-d', '--name', target, 'debian:bookworm-slim', 'sleep', 'infinity']).code, 0);
    ws = makeWorkspace({ 'README.md': '# no policy file at create\n' }, 'paddock-approval-');
    sandbox = (await paddockOk(['create', 'shell', ws, '--name', `pbt-approval-${randomBytes(3).toString('hex')}`])).stdout.trim();
  });
  after(async () => {
    await hosted?.close();
    docker(['rm', '-f', target]);
    if (ws) await cleanup(ws);
  });

  it('the agent writes a permissive policy: the bridge keeps the approved rules and says why', async () => {
    const script = `mkdir -p .paddock && printf '%s' '${permissive}' > .paddock/policy.yaml`;
    const inside = await engine().execCapture(sandbox, ['sh', '-c', script]);
    if (inside.exitCode !== 0) {
      // The cage refused to let the sandbox create it: another writer (a second agent, a tool) did.
      mkdirSync(join(ws, '.paddock'), { recursive: true });
      writeFileSync(join(ws, '.paddock', 'policy.yaml'), permissive);
    }
    hosted = await hostSandboxBridge(engine(), sandbox);
    assert.ok(hosted.notes.some((n) => /keeps the approved rules[\s\S]*paddock policy apply/.test(n)), hosted.notes.join('\n'));
    const client = await agentClient(sandbox);
    try {
      const list = await callTool(client, 'list_containers');
      assert.ok(!list.text.includes(target), `the written policy must not open ${target}: ${list.text}`);
      const exec = await callTool(client, 'exec_command', { container: target, command: 'id' });
      assert.equal(exec.isError, true);
    } finally {
      await client.close();
    }
  });

  it('nor does a recreate build a new cage from it: it refuses, says why and what to run', async () => {
    const r = await paddock(['create', 'shell', ws, '--recreate']);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /changed since it was last applied[\s\S]*a sandbox could have written it[\s\S]*paddock policy apply/);
    assert.equal(JSON.parse((await paddockOk(['ls', '--json', '-w', ws])).stdout)[0].name, sandbox, 'the sandbox is still there, unchanged');
  });

  it('paddock policy apply (a user action) makes it the rules in force', async () => {
    const applied = await paddockOk(['policy', 'apply', ws]);
    assert.match(applied.stdout, new RegExp(`${sandbox}: policy \\w+ -> \\w+`));
    await hosted?.close();
    hosted = await hostSandboxBridge(engine(), sandbox);
    assert.ok(!hosted.notes.some((n) => /approved rules/.test(n)), hosted.notes.join('\n'));
    const client = await agentClient(sandbox);
    try {
      assert.match((await callTool(client, 'list_containers')).text, new RegExp(target));
    } finally {
      await client.close();
    }
  });

  it('a broken policy file is refused by apply with its place, and nothing changes', async () => {
    writeFileSync(join(ws, '.paddock', 'policy.yaml'), 'bridge: [unclosed\n');
    const r = await paddockOk(['policy', 'apply', ws]).catch((e: Error) => e.message);
    assert.match(String(r), /exited 1[\s\S]*policy\.yaml:\d+:\d+/);
  });
});

describe('removing the sandboxes does not clear the way for a policy they wrote', () => {
  const permissive = ['version: 1', 'tier: permissive', 'bridge:', '  containers: ["*"]', ''].join('\n');
  let ws: string;

  before(() => { ws = makeWorkspace({ 'README.md': '# no policy file at create\n' }, 'paddock-approval-rm-'); });
  after(async () => { if (ws) await cleanup(ws); });

  it('the agent writes a policy, the user removes the sandbox: the next create refuses the file until it is applied', async () => {
    const sandbox = (await paddockOk(['create', 'shell', ws])).stdout.trim();
    const written = await engine().execCapture(sandbox, ['sh', '-c', `mkdir -p .paddock && printf '%s' '${permissive}' > .paddock/policy.yaml`]);
    assert.equal(written.exitCode, 0, 'there was no .paddock at create, so the sandbox could write it');
    await paddockOk(['rm', sandbox]);

    const refused = await paddock(['create', 'shell', ws]);
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, /changed since it was last approved for .*a sandbox removed since could have written it[\s\S]*paddock policy apply/);
    assert.equal(JSON.parse((await paddockOk(['ls', '--json', '-w', ws])).stdout).length, 0, 'nothing was created');

    assert.match((await paddockOk(['policy', 'apply', ws])).stdout, /No sandbox of .*: .*policy\.yaml approved/);
    const created = await paddockOk(['create', 'shell', ws]);
    assert.match(created.stdout.trim(), /^paddock-shell-/);
  });
});
