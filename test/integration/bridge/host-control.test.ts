// A project container that holds the host (its engine's socket mounted, as Traefik or Portainer
// have): a command the bridge runs there could start `docker run -v /:/h …` on the host. The bridge
// runs only exactly whitelisted commands in it, in every tier; an ordinary container beside it is
// unchanged. The "socket" here is an empty file at the socket's path: nothing in the test can reach
// the real engine.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { policySchema } from '../../../src/core/policy.js';
import { docker, engine } from '../../support/sandbox.js';
import { BASE_IMAGE, callTool, connectBridge, suffix, type Connected, type Fixture } from './support.js';

const holder = `pbt-hostctl-holder-${suffix}`;
const plain = `pbt-hostctl-plain-${suffix}`;
let stand: string;
const bridges: Connected[] = [];

async function bridgeWith(tier: 'moderate' | 'permissive', exec: Record<string, string[]>): Promise<Connected> {
  const policy = policySchema.parse({ tier, bridge: { containers: [`pbt-hostctl-*${suffix}`], exec } });
  const bridge = await connectBridge({ docker: engine().docker } as Fixture, { bridge: policy.bridge, tier: policy.tier, knownSecrets: [] });
  bridges.push(bridge);
  return bridge;
}

before(() => {
  stand = mkdtempSync(join(tmpdir(), 'pbt-hostctl-'));
  writeFileSync(join(stand, 'docker.sock'), '');
  for (const [name, extra] of [[holder, ['-v', `${join(stand, 'docker.sock')}:/var/run/docker.sock`]], [plain, []]] as const) {
    const run = docker(['run', '-d', '--name', name, ...extra, BASE_IMAGE, 'sleep', 'infinity']);
    assert.equal(run.code, 0, run.stderr);
  }
});

after(async () => {
  for (const bridge of bridges) await bridge.close();
  docker(['rm', '-f', holder, plain]);
  if (stand) rmSync(stand, { recursive: true, force: true });
});

describe('the bridge in a container that holds the host', () => {
  it('refuses a prefix-whitelisted command there, and anything in the permissive tier, saying why and what to do', async () => {
    const moderate = await bridgeWith('moderate', { 'pbt-hostctl-*': ['ls *'] });
    const refused = await callTool(moderate.client, 'exec_command', { container: holder, command: 'ls /' });
    assert.ok(refused.isError, refused.text);
    assert.match(refused.text, /could act on the host \(the engine's socket is mounted \(.*docker\.sock\)\), so only commands whitelisted exactly/);
    assert.match(refused.text, /Whitelist the exact command under bridge\.exec\."pbt-hostctl-holder-/);
    const permissive = await bridgeWith('permissive', {});
    const also = await callTool(permissive.client, 'exec_command', { container: holder, command: 'ls /' });
    assert.ok(also.isError, also.text);
    assert.match(also.text, /could act on the host/);
  });

  it('runs an exactly whitelisted command there, and prefix entries in an ordinary container as before', async () => {
    const bridge = await bridgeWith('moderate', { 'pbt-hostctl-*': ['ls *', 'ls /var/run/docker.sock'] });
    const exact = await callTool(bridge.client, 'exec_command', { container: holder, command: 'ls /var/run/docker.sock' });
    assert.ok(!exact.isError, exact.text);
    assert.match(exact.text, /\/var\/run\/docker\.sock/);
    const ordinary = await callTool(bridge.client, 'exec_command', { container: plain, command: 'ls /' });
    assert.ok(!ordinary.isError, ordinary.text);
    assert.match(ordinary.text, /\betc\b/);
  });
});
