// A proxy's lookups take threads every sandbox of the shared egress service shares: one proxy has
// at most MAX_LOOKUPS in flight, the rest wait their turn. A real proxy on loopback, with a lookup
// that counts how many run at once.
import assert from 'node:assert/strict';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { compileEgressRules } from '../../../src/core/egress.js';
import { createEgressProxy, lookupsInTurn, MAX_LOOKUPS, type EgressProxy } from '../../../src/proxy/server.js';

describe('lookups in flight', () => {
  let proxy: EgressProxy;
  let port: number;
  let running = 0;
  let most = 0;
  before(async () => {
    proxy = createEgressProxy({
      sandbox: 'sb', rules: compileEgressRules({ policy: 'deny', allow: ['*.slow.test'], deny: [] }), log: () => {},
      // Slow names: each lookup takes 150 ms and then fails (nothing is connected to).
      lookup: async () => {
        running++;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 150));
        running--;
        throw Object.assign(new Error('slow'), { code: 'EAI_AGAIN' });
      },
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    port = (proxy.address() as AddressInfo).port;
  });
  after(() => { proxy?.close(); });

  const ask = (host: string): Promise<string> => new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let out = '';
    s.on('data', (d) => { out += d; }).on('error', () => {}).on('close', () => resolve(out));
    s.write(`GET http://${host}/ HTTP/1.1\r\nConnection: close\r\n\r\n`);
  });

  it(`a proxy runs at most ${MAX_LOOKUPS} at once, and answers every request`, async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => ask(`n${i}.slow.test`)));
    assert.ok(most <= MAX_LOOKUPS, `${most} lookups ran at once`);
    assert.equal(most, MAX_LOOKUPS);
    for (const a of answers) assert.match(a, /^HTTP\/1\.1 502 .*Cannot resolve n\d+\.slow\.test: EAI_AGAIN/s);
  });

  it('queues in order, passes results and errors through, and frees every slot', async () => {
    let inFlight = 0;
    let peak = 0;
    const order: string[] = [];
    const limited = lookupsInTurn(async (name: string) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 10));
      inFlight--;
      order.push(name);
      if (name.startsWith('bad')) throw new Error(name);
      return name.toUpperCase();
    }, 2);
    const results = await Promise.allSettled(['a', 'bad1', 'b', 'c', 'bad2', 'd'].map(limited));
    assert.equal(peak, 2);
    assert.deepEqual(results.map((r) => (r.status === 'fulfilled' ? r.value : `! ${(r.reason as Error).message}`)), ['A', '! bad1', 'B', 'C', '! bad2', 'D']);
    assert.deepEqual(order, ['a', 'bad1', 'b', 'c', 'bad2', 'd']);
    // Every slot was given back: two more run at once again.
    peak = 0;
    await Promise.all(['e', 'f'].map(limited));
    assert.equal(peak, 2);
  });
});
