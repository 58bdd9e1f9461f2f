// An apply keeps the options a sandbox was created with on the command line (src/engine/createOptions.ts),
// on the real engine through the CLI: -e, --cpus, --memory and -p survive an apply of a new hide
// rule; the policy wins where it changes the same thing later; an option given to apply wins; the
// user is told what was kept and what changed.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanup, makeWorkspace, paddockOk } from '../../support/sandbox.js';

describe('paddock apply keeps the options given at create', () => {
  let ws: string;
  let name: string;
  const inspect = async () => JSON.parse((await paddockOk(['inspect', name, '--json'])).stdout);
  const printenv = async (variable: string) => (await paddockOk(['exec', name, '--', 'sh', '-c', `printenv ${variable} || echo "(unset)"`])).stdout.trim();
  const writePolicy = async (text: string) => {
    writeFileSync(join(ws, '.paddock', 'policy.yaml'), text);
    await paddockOk(['policy', 'apply', ws]);
  };

  before(async () => {
    ws = makeWorkspace({ 'notes/token.txt': 'tok-77\n', 'README.md': '# app\n' });
    mkdirSync(join(ws, '.paddock'));
    writeFileSync(join(ws, '.paddock', 'policy.yaml'), 'version: 1\nenv:\n  SHARED: "from-policy"\n');
    name = (await paddockOk(['create', 'shell', ws, '-e', 'FOO=1', '-e', 'SHARED=from-cli', '--cpus', '1', '--memory', '768m', '-p', '3000'])).stdout.trim();
    await paddockOk(['exec', name, '--', 'sh', '-c', 'echo warm > ~/state-marker']);
  });
  after(async () => { if (ws) await cleanup(ws); });

  it('a hide-rule apply keeps -e, --cpus, --memory and -p, says so, and hides the new path', async () => {
    const before = await inspect();
    assert.equal(before.limits.cpus, 1);
    await writePolicy('version: 1\nenv:\n  SHARED: "from-policy"\nhide:\n  - "notes/**"\n');
    const applied = await paddockOk(['apply', name]);
    assert.match(applied.stderr, /Kept the options .* was created with: -e FOO, -e SHARED, --cpus 1, --memory 768m, -p 3000/);
    assert.match(applied.stderr, /environment, limits, ports and runtime unchanged/);
    const now = await inspect();
    assert.equal(now.limits.cpus, 1);
    assert.equal(now.limits.memoryBytes, 768 * 1024 ** 2);
    assert.deepEqual(now.ports.map((p: any) => `${p.containerPort}/${p.protocol}`), ['3000/tcp']);
    assert.equal(now.ports[0].hostPort, before.ports[0].hostPort, 'the host port stays where it was');
    assert.equal(await printenv('FOO'), '1');
    assert.equal(await printenv('SHARED'), 'from-cli', 'the command line won at create, and the policy did not change SHARED since');
    assert.equal((await paddockOk(['exec', name, '--', 'sh', '-c', 'ls notes | wc -l'])).stdout.trim(), '0');
    assert.equal((await paddockOk(['exec', name, '--', 'cat', '/home/agent/state-marker'])).stdout, 'warm\n');
  });

  it('the policy wins where it changes the same thing after create; the apply names what changed', async () => {
    await writePolicy('version: 1\nenv:\n  SHARED: "policy-v2"\nresources:\n  memory: 1g\nhide:\n  - "notes/**"\n');
    const applied = await paddockOk(['apply', name]);
    assert.match(applied.stderr, /The policy changed env SHARED, resources\.memory since .* at create/);
    assert.match(applied.stderr, /Changed in .*: env SHARED changed; memory 768 MiB -> 1024 MiB\./);
    assert.doesNotMatch(applied.stderr, /policy-v2|from-cli/, 'values are never printed');
    assert.equal(await printenv('SHARED'), 'policy-v2');
    assert.equal(await printenv('FOO'), '1');
    const now = await inspect();
    assert.equal(now.limits.memoryBytes, 1024 ** 3);
    assert.equal(now.limits.cpus, 1, '--cpus stays: the policy sets no CPUs');
  });

  it('an option given to apply wins and is kept for the next apply', async () => {
    const applied = await paddockOk(['apply', name, '--cpus', '0.5', '-e', 'BAR=2']);
    assert.match(applied.stderr, /Changed in .*: env BAR added; CPUs 1 -> 0\.5\./);
    const again = await paddockOk(['apply', name]);
    assert.match(again.stderr, /Kept the options .*: -e FOO, -e BAR, --cpus 0\.5, -p 3000/);
    assert.equal((await inspect()).limits.cpus, 0.5);
    assert.equal(await printenv('BAR'), '2');
    assert.equal((await paddockOk(['exec', name, '--', 'cat', '/home/agent/state-marker'])).stdout, 'warm\n');
  });
});
