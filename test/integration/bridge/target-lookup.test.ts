// A call names its target container; the bridge finds it among the allowed ones. By its name that is
// one inspect of the name, which an exec_command then also takes for the target's user, folder and
// state: no listing of every container on the engine per call (the engine read every container for
// it: 9-12 ms of its CPU with 7 containers of Paddock's many mounts, and 174 KB for the bridge to
// parse, on every call under load; src/bridge/allowedContainers.ts). Other references (an id prefix,
// a compose service) and refusals are answered from the listing as before.
// Real engine, real containers, the bridge's service as the tools call it (tools.ts onTarget).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Docker from 'dockerode';
import { BridgeDenied, BridgeService } from '../../../src/bridge/service.js';
import { policySchema } from '../../../src/core/policy.js';
import { docker } from '../../support/sandbox.js';
import { BASE_IMAGE, suffix } from './support.js';

describe('target lookup', () => {
  const target = `pbt-lookup-${suffix}`;
  const own = `pbt-lookup-own-${suffix}`;
  let targetId = '';
  /** The engine requests the service's client made, in order ("GET /containers/json", ...). */
  const requests: string[] = [];

  before(() => {
    for (const args of [['--name', target, '-w', '/srv'], ['--name', own, '--label', 'dev.paddock.sandbox=1']]) {
      const r = docker(['run', '-d', ...args, BASE_IMAGE, 'sh', '-c', 'echo started; exec sleep 2147483647']);
      if (r.code !== 0) throw new Error(`docker run failed: ${r.stderr}`);
    }
    targetId = docker(['inspect', '-f', '{{.Id}}', target]).stdout.trim();
  });
  after(() => {
    docker(['rm', '-f', target, own, `paddock-bridge-view-${targetId.slice(0, 12)}`]);
  });

  const service = () => {
    const engine = new Docker();
    const dial = engine.modem.dial.bind(engine.modem);
    engine.modem.dial = ((options: { method?: string; path?: string }, callback: unknown) => {
      requests.push(`${options.method ?? 'GET'} ${String(options.path ?? '').replace(/\?.*$/, '')}`);
      return (dial as (o: unknown, c: unknown) => unknown)(options, callback);
    }) as typeof engine.modem.dial;
    // Both containers allowed by the globs: the Paddock-labelled one must still be refused.
    const policy = policySchema.parse({ tier: 'permissive', bridge: { containers: ['pbt-lookup-*'] } });
    return new BridgeService(engine, { bridge: policy.bridge, tier: policy.tier });
  };
  const during = async <T>(fn: () => Promise<T>): Promise<[T, string[]]> => {
    const from = requests.length;
    const result = await fn();
    return [result, requests.slice(from)];
  };

  it('finds a target by its name without listing every container, and an exec inspects it once', async () => {
    const s = service();
    const stats = { count: 0, rules: {} };
    // First call: makes the view's helper and learns the masker's secrets (which lists the allowed containers, every 5 s).
    assert.equal((await s.exec(await s.target(target), ['true'], 60, stats)).exitCode, 0);
    for (let i = 0; i < 3; i++) {
      const [c, lookup] = await during(() => s.target(target));
      assert.equal(c.id, targetId);
      assert.deepEqual(lookup, [`GET /containers/${target}/json`], 'one inspect of the name, no listing');
      const [result, run] = await during(() => s.exec(c, ['echo', `call ${i}`], 60, stats));
      assert.equal(result.exitCode, 0, result.text);
      assert.match(result.text, new RegExp(`^call ${i}\\n`));
      // Before the command's process is made (or the masker's listing, when it is due): no second inspect.
      const before = run.slice(0, run.findIndex((r) => r.endsWith('/exec') || r === 'GET /containers/json'));
      assert.deepEqual(before.filter((r) => r.startsWith('GET /containers/') && r.endsWith('/json')), [], `the target is not inspected again: ${run.join(', ')}`);
    }
    // get_logs: the same lookup (the masker's listing, every 5 s, may come after it).
    const [c, lookup] = await during(() => s.target(target));
    assert.deepEqual(lookup, [`GET /containers/${target}/json`]);
    assert.match(await s.logs(c, { tail: 5 }, stats), /started/);
  });

  it('still resolves an id prefix, and refuses a Paddock container named exactly or a name that is no container', async () => {
    const s = service();
    assert.equal((await s.target(targetId.slice(0, 12))).name, target);
    assert.equal((await s.target(`/${target}`)).id, targetId);
    for (const ref of [own, `pbt-lookup-none-${suffix}`, `${target}/../../containers/${own}`]) {
      await assert.rejects(s.target(ref), (err: unknown) => err instanceof BridgeDenied && /is not a container this bridge may reach \(allowed: pbt-lookup-/.test(err.message), ref);
    }
  });
});
