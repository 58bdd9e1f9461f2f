// The physical view's helper container (src/bridge/physicalView.ts) is used as known, without asking
// the engine about it on every call (an inspect took 7-171 ms a call under load); a helper found gone
// when a call uses it (removed by hand) is made again and the call runs once, as if nothing happened.
// Real engine, real target container, the bridge's service as the tools call it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Docker from 'dockerode';
import { BridgeService } from '../../../src/bridge/service.js';
import { policySchema } from '../../../src/core/policy.js';
import { docker } from '../../support/sandbox.js';
import { BASE_IMAGE, suffix } from './support.js';

describe('view helper reuse', () => {
  const target = `pbt-view-helper-${suffix}`;
  let helperName = '';
  /** Inspects of the helper container by the service's engine client. */
  let helperInspects = 0;

  before(() => {
    const r = docker(['run', '-d', '--name', target, BASE_IMAGE, 'sh', '-c', 'mkdir -p /srv && echo hello > /srv/file.txt && exec sleep 2147483647']);
    if (r.code !== 0) throw new Error(`docker run failed: ${r.stderr}`);
    helperName = `paddock-bridge-view-${docker(['inspect', '-f', '{{.Id}}', target]).stdout.trim().slice(0, 12)}`;
  });
  after(() => {
    docker(['rm', '-f', target, helperName]);
  });

  it('uses the helper it made without inspecting it on every call, and makes it again once when it is gone', async () => {
    const engine = new Docker();
    const getContainer = engine.getContainer.bind(engine);
    engine.getContainer = (id: string) => {
      const container = getContainer(id);
      const inspect = container.inspect.bind(container);
      container.inspect = ((...args: unknown[]) => {
        if (id === helperName || docker(['inspect', '-f', '{{.Name}}', id]).stdout.trim() === `/${helperName}`) helperInspects++;
        return (inspect as (...a: unknown[]) => Promise<unknown>)(...args);
      }) as typeof container.inspect;
      return container;
    };
    const policy = policySchema.parse({ tier: 'permissive', bridge: { containers: [target] } });
    const service = new BridgeService(engine, { bridge: policy.bridge, tier: policy.tier });
    const c = await service.target(target);
    const stats = { count: 0, rules: {} };
    const made = () => docker(['exec', target, 'ls', '/tmp']).stdout.split('\n').filter((f) => f.startsWith('made-')).sort();

    // The first call makes the helper (the view is in use: its ready line is taken off stderr).
    const first = await service.exec(c, ['cat', '/srv/file.txt'], 60, stats);
    assert.equal(first.exitCode, 0, first.text);
    assert.match(first.text, /^hello\n/);
    assert.equal(docker(['inspect', '-f', '{{.State.Running}}', helperName]).stdout.trim(), 'true', 'the view helper runs');

    helperInspects = 0;
    for (let i = 0; i < 3; i++) assert.equal((await service.exec(c, ['mkdir', `/tmp/made-${i}`], 60, stats)).exitCode, 0);
    assert.match(await service.listFiles(c, '/srv', stats), /file\.txt/);
    assert.match(await service.readFile(c, '/srv/file.txt', 1000, stats), /^hello/);
    assert.equal(helperInspects, 0, 'the helper is not inspected once it is known');
    assert.deepEqual(made(), ['made-0', 'made-1', 'made-2']);

    // Removed by hand: the next call makes it again and runs once (a second mkdir would exit 1).
    const oldId = docker(['inspect', '-f', '{{.Id}}', helperName]).stdout.trim();
    assert.equal(docker(['rm', '-f', helperName]).code, 0);
    const again = await service.exec(c, ['mkdir', '-v', '/tmp/made-again'], 60, stats);
    assert.equal(again.exitCode, 0, again.text);
    assert.match(again.text, /created directory '\/tmp\/made-again'/);
    assert.deepEqual(made(), ['made-0', 'made-1', 'made-2', 'made-again']);
    const newId = docker(['inspect', '-f', '{{.Id}}', helperName]).stdout.trim();
    assert.ok(newId && newId !== oldId, 'a new helper was made');

    // The same for a read and a listing.
    assert.equal(docker(['rm', '-f', helperName]).code, 0);
    assert.match(await service.readFile(c, '/srv/file.txt', 1000, stats), /^hello/);
    assert.equal(docker(['rm', '-f', helperName]).code, 0);
    assert.match(await service.listFiles(c, '/srv', stats), /file\.txt/);
  });
});
