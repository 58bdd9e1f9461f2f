// `paddock reset` removes every Paddock sandbox on the engine, and nothing else.
// (It removes other tests' sandboxes too: the integration tier runs files one at a time.)
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cleanup, docker, makeWorkspace, paddock, paddockOk } from '../../support/sandbox.js';

describe('reset', () => {
  const a = makeWorkspace({ 'keep-a.txt': 'a\n' });
  const b = makeWorkspace({ 'keep-b.txt': 'b\n' });
  const foreign = `paddock-test-not-a-sandbox-${process.pid}`;
  after(async () => {
    docker(['rm', '-f', foreign]);
    await cleanup(a);
    await cleanup(b);
  });

  it('asks first, and without a terminal removes nothing unless --yes', async () => {
    await paddockOk(['create', 'shell', a]);
    const r = await paddock(['reset']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Nothing removed[\s\S]*--yes/);
    assert.equal(JSON.parse((await paddockOk(['ls', '--json', '-w', a])).stdout).length, 1);
  });

  it('--yes removes all sandboxes, keeps other containers and every workspace file', async () => {
    await paddockOk(['create', 'shell', b]);
    assert.equal(docker(['create', '--name', foreign, 'debian:bookworm-slim', 'true']).code, 0);
    const r = await paddockOk(['reset', '--yes']);
    assert.match(r.stdout, /paddock-shell-/);
    assert.deepEqual(JSON.parse((await paddockOk(['ls', '--json'])).stdout), []);
    assert.equal(docker(['inspect', foreign]).code, 0, 'a container Paddock did not create survives');
    assert.ok(existsSync(join(a, 'keep-a.txt')) && existsSync(join(b, 'keep-b.txt')));
    assert.match((await paddockOk(['reset', '--yes'])).stdout, /No sandboxes to remove/);
  });
});
