// A sandbox keeps the network its egress goes out through (PADDOCK_EGRESS_NETWORK at create,
// src/engine/egressNetwork.ts): a later start or apply from a process without the variable still
// goes out through it; an apply whose variable names another network changes it and says so. Real
// engine and egress service; the "outside" is an internal network of this test with a web server
// named allowed.test (nothing leaves the machine).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { serviceName } from '../../../src/engine/egressService.js';
import { cleanup, docker, makeWorkspace, paddock, paddockOk } from '../../support/sandbox.js';
import { startLocalInternet, type LocalInternet } from '../network/support.js';

describe('a sandbox keeps its egress network from create', () => {
  let net: LocalInternet;
  let stateDir: string;
  let ws: string;
  let name: string;
  const fetchSite = async () => (await paddock(['exec', name, '--', 'curl', '-s', '-m', '15', 'http://allowed.test/'])).stdout;

  before(async () => {
    net = await startLocalInternet();
    // The egress services of this test serve only its sandboxes (a folder of their own).
    stateDir = mkdtempSync(join(tmpdir(), 'paddock-egress-keep-'));
    process.env.PADDOCK_NETWORK_DIR = stateDir;
    delete process.env.PADDOCK_EGRESS_NETWORK;
    ws = makeWorkspace({ '.paddock/policy.yaml': ['version: 1', 'network:', '  policy: deny', `  allow: [allowed.test, "${net.a}"]`, '  hostRegistries: false', ''].join('\n') });
    name = (await paddockOk(['create', 'shell', ws], { env: { PADDOCK_EGRESS_NETWORK: net.network } })).stdout.trim();
  });

  after(async () => {
    if (ws) await cleanup(ws);
    if (stateDir) for (const upstream of [net?.network, 'bridge']) if (upstream) docker(['rm', '-f', serviceName(stateDir, upstream)]);
    net?.stop();
    delete process.env.PADDOCK_NETWORK_DIR;
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('goes out through the network it was created with', async () => {
    assert.match(await fetchSite(), /hello from a/);
  });

  it('a stop and a start from a process without PADDOCK_EGRESS_NETWORK keep it', async () => {
    await paddockOk(['stop', name]);
    await paddockOk(['start', name]);
    assert.match(await fetchSite(), /hello from a/, 'still the network of its create, not Docker\'s default bridge');
  });

  it('an apply without the variable keeps it and says so; one that names another network changes it and says so', async () => {
    const kept = await paddockOk(['apply', name], { timeoutMs: 600_000 });
    assert.match(kept.stderr, new RegExp(`still goes out through the network "${net.network}" it was created with`));
    assert.match(await fetchSite(), /hello from a/);

    // The user's act: the apply names Docker's default bridge (nothing is fetched after it: the bridge is not this test's).
    const moved = await paddockOk(['apply', name], { env: { PADDOCK_EGRESS_NETWORK: 'bridge' }, timeoutMs: 600_000 });
    assert.match(moved.stderr, new RegExp(`goes out through the network "bridge" now \\(PADDOCK_EGRESS_NETWORK of this apply\\), no longer "${net.network}"`));
    const served = JSON.parse(docker(['inspect', '-f', '{{json .Config.Labels}}', serviceName(stateDir, 'bridge')]).stdout || '{}');
    assert.equal(served['dev.paddock.egress-upstream'], 'bridge', 'the default bridge\'s service serves it now');
  });
});
