// Several processes asking for the same sandbox at once (two terminals, the editor and the CLI)
// end with exactly one working sandbox: the later ones wait and reuse it. Before, two creates made
// two egress networks of one name and every later command failed with "network … is ambiguous".
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { cleanup, docker, makeWorkspace, paddock, paddockOk } from '../../support/sandbox.js';

describe('concurrent creates of one sandbox', () => {
  const ws = makeWorkspace({ 'README.md': '# race\n' }, 'paddock-race-');
  after(() => cleanup(ws));

  it('four processes at once: all succeed with the same sandbox, one network, one proxy', async () => {
    const results = await Promise.all([
      paddock(['create', 'shell', ws]), paddock(['create', 'shell', ws]), paddock(['create', 'shell', ws]),
      paddock(['run', 'shell', ws, '--', '-c', 'echo from-run']),
    ]);
    for (const r of results) assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const names = new Set(results.slice(0, 3).map((r) => r.stdout.trim()));
    assert.equal(names.size, 1, [...names].join(', '));
    assert.match(results[3].stdout, /from-run/);
    const [name] = names;
    const listed = JSON.parse((await paddockOk(['ls', '--json', '-w', ws])).stdout);
    assert.equal(listed.length, 1);
    assert.equal(docker(['network', 'ls', '-q', '--filter', `label=dev.paddock.egress-for=${name}`]).stdout.trim().split('\n').filter(Boolean).length, 1, 'one egress network');
    assert.equal(docker(['ps', '-aq', '--filter', `label=dev.paddock.egress-for=${name}`]).stdout.trim().split('\n').filter(Boolean).length, 1, 'one egress proxy');
    assert.equal((await paddockOk(['exec', name, '--', 'echo', 'ok'])).stdout, 'ok\n');
    // A waiting process said why it waited, and nothing failed.
    assert.ok(results.some((r) => /Waiting for another Paddock process/.test(r.stderr + r.stdout)), 'a later process says it waits');
  });
});
