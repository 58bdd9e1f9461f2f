// Sandboxes' egress proxies never reach each other, whatever the rules say: after an engine
// restart containers get new addresses, and a rule that allowed an address by IP could come to
// name another sandbox's proxy. Two real sandboxes with real proxies; A is given an explicit allow
// rule for B's proxy address, in every spelling, and is still refused.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { egressPaths, networkRoot } from '../../../src/engine/egressFiles.js';
import { proxyContainerOf } from '../../../src/engine/egress.js';
import { serviceName } from '../../../src/engine/egressService.js';
import { cleanup, docker, engine, makeWorkspace, paddock, paddockOk } from '../../support/sandbox.js';
import { ipv4Forms, startLocalInternet, type LocalInternet } from './support.js';

describe('egress proxies are apart', () => {
  const wsA = makeWorkspace({ 'a.txt': 'a\n' });
  const wsB = makeWorkspace({ 'b.txt': 'b\n' });
  // A sandbox that goes out through another network, so that a second egress service shares the
  // state folder: it must serve only its own network's sandboxes (it once took A's sockets over).
  const wsC = makeWorkspace({ 'c.txt': 'c\n' });
  let other: LocalInternet;
  let a: string;
  let b: string;
  let proxyB: string;
  // Its own proxy container, or the engine's shared egress service that serves it.
  const proxyOf = (sandbox: string) => proxyContainerOf(engine().docker, sandbox);
  const addressOf = (container: string) => JSON.parse(docker(['inspect', container]).stdout)[0].NetworkSettings.Networks.bridge.IPAddress as string;
  const status = async (url: string) => (await paddock(['exec', a, '--', 'sh', '-c', `curl -s -m 5 -o /dev/null -w "%{http_code}" ${url}`])).stdout;

  before(async () => {
    other = await startLocalInternet();
    await paddockOk(['create', 'shell', wsC], { env: { ...process.env, PADDOCK_EGRESS_NETWORK: other.network } });
    a = (await paddockOk(['create', 'shell', wsA])).stdout.trim();
    b = (await paddockOk(['create', 'shell', wsB])).stdout.trim();
    proxyB = addressOf(await proxyOf(b));
  });
  after(async () => {
    await cleanup(wsA);
    await cleanup(wsB);
    await cleanup(wsC);
    docker(['rm', '-f', serviceName(networkRoot(), other.network)]);
    other.stop();
  });

  it('an allow rule naming the other sandbox\'s proxy address is refused, in every spelling', async () => {
    assert.match(proxyB, /^\d+\.\d+\.\d+\.\d+$/, 'B\'s proxy is on the default bridge');
    const allowed = await paddockOk(['network', 'allow', a, proxyB]);
    assert.match(allowed.stdout, /In force/);
    const { decimal, hex } = ipv4Forms(proxyB);
    for (const host of [proxyB, decimal, hex, `[::ffff:${proxyB}]`]) {
      assert.equal(await status(`http://${host}:3128/`), '403', `${host} reached B's proxy`);
    }
    // HTTPS (CONNECT) the same.
    const tunnel = await paddock(['exec', a, '--', 'sh', '-c', `curl -s -m 5 -o /dev/null -w "%{http_code}" https://${proxyB}:3128/`]);
    assert.notEqual(tunnel.stdout, '200');
    const refused = readFileSync(egressPaths(a).log, 'utf8').split('\n').filter((l) => l.includes(`"host":"${proxyB}"`) && l.includes('"decision":"deny"'));
    assert.ok(refused.length > 0 && refused.every((l) => l.includes('own network')), refused.join('\n'));
    const log = await paddock(['network', 'log', a, '--decision', 'deny']);
    assert.match(log.stdout, /own network/);
    // network check says what the proxy does, though a rule allows the address.
    const check = await paddock(['network', 'check', a, `${proxyB}:3128`]);
    assert.match(check.stdout, new RegExp(`^DENY ${proxyB.replace(/\./g, '\\.')}:3128 \\(rule: the proxy's own network`));
  });

  it('a sandbox goes out only through its own network\'s service, not through another network\'s', async () => {
    await paddockOk(['network', 'allow', a, other.a]);
    assert.notEqual(await status(`http://${other.a}/`), '200', 'A reached a host of the other service\'s network');
    const otherService = docker(['logs', serviceName(networkRoot(), other.network)]);
    assert.doesNotMatch(otherService.stdout + otherService.stderr, new RegExp(`${a}: serving`), 'the other network\'s service served A');
  });
});
