// Several processes asking for the same sandbox at once (two terminals, the editor and the CLI)
// end with exactly one working sandbox: the later ones wait and reuse it. Before, two creates made
// two egress networks of one name and every later command failed with "network … is ambiguous".
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { cleanup, docker, makeWorkspace, paddock, paddockOk } from '../../support/sandbox.js';

for (const shape of ['shared', 'own'] as const) describe(`concurrent creates of one sandbox (${shape} egress shape)`, () => {
  const ws = makeWorkspace({ 'README.md': '# race\n' }, 'paddock-race-');
  const env = { PADDOCK_EGRESS_SHAPE: shape };
  after(() => cleanup(ws));

  it(`four processes at once: one sandbox, reused or named by the others, and ${shape === 'own' ? 'one network, one proxy' : 'one registration with the service'}`, async () => {
    const results = await Promise.all([
      paddock(['create', 'shell', ws], { env }), paddock(['create', 'shell', ws], { env }), paddock(['create', 'shell', ws], { env }),
      paddock(['run', 'shell', ws, '--', '-c', 'echo from-run'], { env }),
    ]);
    // A create that waited reuses the sandbox; one that starts after another made it says the
    // workspace already has it, naming it (the "or a clear message for the others"). The run
    // may be the one that made it (then every create says so).
    assert.equal(results[3].code, 0, results[3].stderr);
    assert.match(results[3].stdout, /from-run/);
    const listed = JSON.parse((await paddockOk(['ls', '--json', '-w', ws])).stdout);
    assert.equal(listed.length, 1);
    const name: string = listed[0].name;
    const creates = results.slice(0, 3);
    for (const r of creates) {
      if (r.code === 0) assert.equal(r.stdout.trim(), name, 'a create that succeeded names the one sandbox');
      else assert.ok(r.stderr.includes(`already has a shell sandbox (${name})`), r.stderr);
    }
    const egressFor = (kind: 'network' | 'ps') => docker(kind === 'network' ? ['network', 'ls', '-q', '--filter', `label=dev.paddock.egress-for=${name}`] : ['ps', '-aq', '--filter', `label=dev.paddock.egress-for=${name}`]).stdout.trim().split('\n').filter(Boolean).length;
    // The own shape: one network and one proxy of its own; the shared shape: none (the engine's service serves it).
    assert.equal(egressFor('network'), shape === 'own' ? 1 : 0, 'egress networks');
    assert.equal(egressFor('ps'), shape === 'own' ? 1 : 0, 'egress proxies');
    assert.equal(docker(['inspect', '-f', '{{.HostConfig.NetworkMode}}', name]).stdout.trim() === 'none', shape === 'shared', 'no network interface in the shared shape');
    assert.equal((await paddockOk(['exec', name, '--', 'echo', 'ok'])).stdout, 'ok\n');
    // Its egress works, whichever process made it: the proxy answers (400 for a request without a target).
    assert.equal((await paddockOk(['exec', name, '--', 'curl', '-s', '-m', '10', '-o', '/dev/null', '-w', '%{http_code}', 'http://paddock-egress:3128/'])).stdout, '400');
    // Every later process said why: it waited, or the sandbox was already there.
    assert.ok(results.some((r) => /Waiting for another Paddock process|already has a shell sandbox/.test(r.stderr + r.stdout)), 'a later process says it waits');
  });
});
