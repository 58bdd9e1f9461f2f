// The bridge never reaches Paddock's own containers — sandboxes, their egress proxies (which hold
// the API keys they inject), helpers — even when the policy allows every container ("*").
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { policySchema } from '../../../src/core/policy.js';
import { proxyContainerOf } from '../../../src/engine/egress.js';
import { cleanup, docker, engine, makeWorkspace, paddockOk } from '../../support/sandbox.js';
import { callTool, connectBridge, type Connected, type Fixture } from './support.js';

// Both egress shapes: a proxy container of the sandbox's own, or the engine's shared egress service.
for (const shape of ['shared', 'own'] as const) describe(`the bridge and Paddock's own containers (${shape} egress shape)`, () => {
  const target = `pbt-own-target-${process.pid}-${randomBytes(3).toString('hex')}`;
  let ws: string;
  let sandbox: string;
  let proxy: string;
  let bridge: Connected;

  before(async () => {
    assert.equal(docker(['run', '-d', '--name', target, 'debian:bookworm-slim', 'sleep', 'infinity']).code, 0);
    ws = makeWorkspace({ 'README.md': '# x\n' }, 'paddock-own-');
    // A sandbox whose proxy injects a key: the prize an agent would be after.
    sandbox = (await paddockOk(['create', 'shell', ws], { env: { ...process.env, PADDOCK_EGRESS_SHAPE: shape, ANTHROPIC_API_KEY: `sk-ant-api03-${randomBytes(24).toString('hex')}` } })).stdout.trim();
    proxy = await proxyContainerOf(engine().docker, sandbox);
    assert.equal(docker(['inspect', '--format', '{{.State.Running}}', proxy]).stdout.trim(), 'true', `the sandbox's egress proxy ${proxy} runs`);
    const policy = policySchema.parse({ tier: 'permissive', bridge: { containers: ['*'], permissions: { files: true, lifecycle: true } } });
    bridge = await connectBridge({ docker: engine().docker } as Fixture, { bridge: policy.bridge, tier: policy.tier, knownSecrets: [] });
  });
  after(async () => {
    await bridge?.close();
    docker(['rm', '-f', target]);
    if (ws) await cleanup(ws);
  });

  it('lists ordinary containers under "*", but no sandbox and no egress proxy', async () => {
    const list = (await callTool(bridge.client, 'list_containers')).text;
    assert.match(list, new RegExp(target));
    assert.ok(!list.includes(sandbox), 'a sandbox is never listed');
    assert.ok(!list.includes(proxy), 'an egress proxy is never listed');
    assert.ok(!/paddock-(egress|shell|claude|verify)/.test(list), list);
  });

  it('refuses every tool on a sandbox or a proxy, by name and by id', async () => {
    const proxyId = docker(['inspect', '--format', '{{.Id}}', proxy]).stdout.trim();
    for (const container of [proxy, proxyId, proxyId.slice(0, 12), sandbox, `/${proxy}`]) {
      for (const [tool, args] of [
        ['exec_command', { command: 'cat /proc/1/environ' }],
        ['read_file', { path: '/run/paddock-keys/keys.json' }],
        ['get_logs', {}],
        ['inspect_container', {}],
        ['stop_container', {}],
      ] as const) {
        const r = await callTool(bridge.client, tool, { container, ...args });
        assert.equal(r.isError, true, `${tool} on ${container} must be refused: ${r.text}`);
        assert.match(r.text, /not a container this bridge may reach/);
      }
    }
    assert.equal(docker(['inspect', '--format', '{{.State.Running}}', proxy]).stdout.trim(), 'true', 'the proxy still runs');
  });
});
