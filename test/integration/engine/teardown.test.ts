// Removing a sandbox removes everything it owns: its container, its egress proxy and network, its
// network folder (proxy log, injected keys) and its bridge folder (token, shim). `paddock rm` and
// `paddock reset` share the function that does it (removeSandboxAndState); this file drives it on
// sandboxes of its own only (reset itself would remove other tests' sandboxes too), and
// test/unit/engine/teardown.test.ts checks that reset goes through it.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { egressNames } from '../../../src/engine/egress.js';
import { egressPaths } from '../../../src/engine/egressFiles.js';
import { bridgePaths } from '../../../src/engine/stateFolder.js';
import { removeSandboxAndState } from '../../../src/engine/teardown.js';
import { cleanup, docker, engine, makeWorkspace, paddockOk } from '../../support/sandbox.js';

/** Every file and folder below `dir`, relative to it. */
function filesBelow(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String).sort() : [];
}

describe('removing a sandbox leaves nothing of it behind', () => {
  // A state folder of this test's own: what is left in it after a removal is what a removal leaves.
  const state = mkdtempSync(join(tmpdir(), 'pdk-state-'));
  const bridgeRoot = join(state, 'b');
  const networkRoot = join(state, 'n');
  const saved = { bridge: process.env.PADDOCK_BRIDGE_DIR, network: process.env.PADDOCK_NETWORK_DIR };
  const workspaces: string[] = [];

  /** A sandbox with every piece of state a sandbox can own: an injected key, a running proxy and network, a bridge folder. */
  const makeSandbox = async (start: boolean): Promise<{ id: string; name: string }> => {
    const ws = makeWorkspace();
    workspaces.push(ws);
    // Only written to the proxy's key file: nothing here sends a request.
    const created = await paddockOk(['create', 'shell', ws], { env: { ANTHROPIC_API_KEY: `sk-ant-api03-teardown-test-${process.pid}` } });
    const name = created.stdout.trim();
    if (start) await paddockOk(['start', name]);
    const { id } = await engine().get(name);
    assert.ok(existsSync(bridgePaths(name, bridgeRoot).token), 'the sandbox has its bridge token');
    assert.ok(existsSync(egressPaths(name, networkRoot).keys), 'its proxy has the injected key');
    // Its own network, or (the shared egress shape) its socket folder, which the engine's egress service serves.
    assert.ok(docker(['network', 'inspect', egressNames(name).network]).code === 0 || existsSync(egressPaths(name, networkRoot).socketsDir), 'it has its own network or socket folder');
    return { id, name };
  };

  const assertGone = (name: string) => {
    assert.notEqual(docker(['inspect', '--type', 'container', name]).code, 0, 'the sandbox container is gone');
    assert.notEqual(docker(['inspect', '--type', 'container', egressNames(name).proxy]).code, 0, 'its proxy is gone');
    assert.notEqual(docker(['network', 'inspect', egressNames(name).network]).code, 0, 'its network is gone');
    // The workspace's last approved policy stays by design (src/engine/approvedPolicy.ts): a policy
    // file the removed sandbox wrote does not become the next sandbox's cage by itself.
    assert.deepEqual(filesBelow(bridgeRoot).filter((f) => !/^approvals(\/[0-9a-f]+\.json)?$/.test(f)), [], 'no bridge file (token, shim, socket, audit log) is left');
    // The shared egress service's own program and registration folder stay (src/proxy/serviceLayout.ts).
    const serviceFiles = new Set(['paddock-egress.js', 'serve']);
    assert.deepEqual(filesBelow(networkRoot).filter((f) => !serviceFiles.has(f)), [], 'no network file (proxy log, keys, proxy code) is left');
  };

  before(() => {
    process.env.PADDOCK_BRIDGE_DIR = bridgeRoot;
    process.env.PADDOCK_NETWORK_DIR = networkRoot;
  });
  after(async () => {
    for (const ws of workspaces) await cleanup(ws);
    if (saved.bridge === undefined) delete process.env.PADDOCK_BRIDGE_DIR;
    else process.env.PADDOCK_BRIDGE_DIR = saved.bridge;
    if (saved.network === undefined) delete process.env.PADDOCK_NETWORK_DIR;
    else process.env.PADDOCK_NETWORK_DIR = saved.network;
    rmSync(state, { recursive: true, force: true });
  });

  it('paddock rm: the container, its proxy, its network, its bridge and network folders with the keys', async () => {
    const { name } = await makeSandbox(false);
    await paddockOk(['rm', name]);
    assertGone(name);
  });

  it('the removal reset runs for each sandbox, on running sandboxes, one after the other', async () => {
    const sandboxes = [await makeSandbox(true), await makeSandbox(true)];
    for (const s of sandboxes) await removeSandboxAndState(engine().docker, s);
    for (const s of sandboxes) assertGone(s.name);
  });

  it('a sandbox whose container was already removed outside Paddock still loses its state', async () => {
    const sandbox = await makeSandbox(false);
    assert.equal(docker(['rm', '-f', sandbox.name]).code, 0);
    await removeSandboxAndState(engine().docker, sandbox);
    assertGone(sandbox.name);
  });
});
