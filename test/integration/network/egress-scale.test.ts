// More sandboxes than Docker's default address pools hold networks (about 30): each sandbox has no
// network of its own (no interface but loopback) and the engine's one shared egress service serves
// them all, each with its own rules and log. 40 real sandboxes on the local "internet" of
// ./support.ts (allowed.test = A); even ones allow allowed.test, odd ones deny it. No traffic leaves
// this machine.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveLimits } from '../../../src/core/options.js';
import { egressPaths } from '../../../src/engine/egressFiles.js';
import { serviceName } from '../../../src/engine/egressService.js';
import { TemplateBuilder } from '../../../src/engine/templates.js';
import { docker, engine, mapWithLimit } from '../../support/sandbox.js';
import { useLocalInternet, type LocalInternet } from './support.js';

const COUNT = 40;

describe(`${COUNT} sandboxes on one engine, one shared egress service`, () => {
  let net: LocalInternet & { stateDir: string };
  const names: string[] = [];
  const workspaces: string[] = [];
  const sh = (name: string, command: string) => engine().execCapture(name, ['sh', '-c', command]);

  before(async () => {
    net = await useLocalInternet('paddock-scale-');
    const image = await new TemplateBuilder(engine().docker).ensureAgentImage('shell');
    const limits = resolveLimits({ memory: '256m', cpus: 0.5 });
    for (let i = 0; i < COUNT; i++) {
      workspaces.push(mkdtempSync(join(tmpdir(), `paddock-scale-${i}-`)));
      names.push(`paddock-scale-${process.pid}-${i}`);
    }
    // A few at a time: each start waits mostly on the engine and the egress service's answer.
    await mapWithLimit(names, 4, async (name, i) => {
      const network = i % 2 === 0
        ? { policy: 'deny' as const, allow: ['allowed.test', net.a], deny: [], hostRegistries: false }
        : { policy: 'deny' as const, allow: [net.a], deny: ['allowed.test'], hostRegistries: false };
      await engine().create({ workspace: workspaces[i], agent: 'shell', image, limits, name, network });
      await engine().start(name);
    });
  });

  after(async () => {
    await mapWithLimit(names, 4, (name) => engine().remove(name).catch(() => {}));
    for (const workspace of workspaces) rmSync(workspace, { recursive: true, force: true });
    net?.stop();
  });

  it('made no Docker network and no proxy container per sandbox', () => {
    // One listing each for all 40 (a docker call per sandbox and question took 25 s under load).
    const egressFor = (kind: 'network' | 'container') => new Set(docker([kind, 'ls', '-a', '--filter', 'label=dev.paddock.egress-for', '--format', '{{.Label "dev.paddock.egress-for"}}'].filter((a) => kind === 'container' || a !== '-a')).stdout.split('\n'));
    const networks = egressFor('network');
    const proxies = egressFor('container');
    const modes = docker(['inspect', '-f', '{{.Name}} {{.HostConfig.NetworkMode}}', ...names]).stdout.trim().split('\n');
    for (const name of names) {
      assert.ok(!networks.has(name), `${name} has a network of its own`);
      assert.ok(modes.includes(`/${name} none`), `${name}: ${modes.find((m) => m.startsWith(`/${name} `))}`);
      assert.ok(!proxies.has(name), `${name} has a proxy container of its own`);
    }
    assert.equal(docker(['inspect', '-f', '{{.State.Running}}', serviceName(net.stateDir, net.network)]).stdout.trim(), 'true');
  });

  it('each sandbox reaches the outside through its own rules, and its log has only its own requests', async () => {
    const answers = await mapWithLimit(names, 8, (name) => sh(name, 'curl -s -m 10 -o /dev/null -w "%{http_code}" http://allowed.test/'));
    for (const [i, name] of names.entries()) assert.equal(answers[i].stdout, i % 2 === 0 ? '200' : '403', `${name}: ${answers[i].stderr}`);
    for (const [i, name] of names.entries()) {
      const entries = readFileSync(egressPaths(name, net.stateDir).log, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.method !== 'RULES');
      assert.equal(entries.length, 1, `${name} logged ${JSON.stringify(entries)}`);
      assert.equal(entries[0].sandbox, name);
      assert.equal(entries[0].decision, i % 2 === 0 ? 'allow' : 'deny');
      assert.equal(entries[0].rule, i % 2 === 0 ? 'allow allowed.test' : 'deny allowed.test');
    }
  });

  it('sandboxes cannot reach each other: only loopback, their own sockets, and another sandbox\'s listener is not there', async () => {
    const [first, second] = names;
    // The second sandbox serves on its loopback; it answers there, and nowhere else.
    await sh(second, 'nohup node -e "require(\'http\').createServer((q, s) => s.end(\'secret of the second\')).listen(8080, \'127.0.0.1\')" >/dev/null 2>&1 & sleep 1');
    assert.equal((await sh(second, 'curl -s -m 5 --noproxy "*" http://127.0.0.1:8080/')).stdout, 'secret of the second');
    const r = await sh(first, [
      'ls /sys/class/net | tr "\\n" " "; echo',
      'ls /run/paddock-net | tr "\\n" " "; echo',
      'curl -s -m 5 --noproxy "*" http://127.0.0.1:8080/ || echo direct-failed',
      // Through the proxy explicitly: NO_PROXY (which -x does not override) sends loopback direct otherwise.
      'curl -s -m 5 -x http://paddock-egress:3128 --noproxy "" -o /dev/null -w "%{http_code}\\n" http://127.0.0.1:8080/',
      `curl -s -m 5 --noproxy "*" http://${net.a}/ || echo outside-failed`,
    ].join('; '));
    const [interfaces, sockets, direct, proxied, outside] = r.stdout.split('\n');
    assert.equal(interfaces.trim(), 'lo', 'no interface but loopback');
    assert.equal(sockets.trim(), 'keys.sock paddock-netfwd.js proxy.sock relay.sock', 'only its own sockets');
    assert.equal(direct, 'direct-failed');
    assert.equal(proxied, '403', 'the proxy refuses loopback by name');
    assert.equal(outside, 'outside-failed', 'no route out but the proxy');
  });
});
