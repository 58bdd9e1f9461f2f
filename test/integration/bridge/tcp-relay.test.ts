// The bridge's TCP transport, the one Docker Desktop gets (a host Unix socket cannot be mounted into
// Desktop's VM). Forced here with PADDOCK_BRIDGE_TRANSPORT=tcp on a Linux engine: the bridge listens
// on one host address, the sandbox (alone on its internal network) reaches it only through its egress
// proxy's relay, which dials host.docker.internal. What differs on Desktop is only the address the
// listener binds (loopback, which Desktop forwards host.docker.internal to).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { hostSandboxBridge, type HostedBridge } from '../../../src/bridge/host.js';
import { bridgePaths } from '../../../src/engine/stateFolder.js';
import { BRIDGE_RELAY_PORT } from '../../../src/proxy/addresses.js';
import { egressPaths } from '../../../src/engine/egressFiles.js';
import { cleanup, docker, engine, makeWorkspace, paddockOk } from '../../support/sandbox.js';
import { agentClient, assertProjectVisibleAndMasked, callTool, dockerAsync, INIT_REQUEST, PROJECT, SECRETS, startFixture, type Fixture } from './support.js';

let fx: Fixture;
const previous = process.env.PADDOCK_BRIDGE_TRANSPORT;
before(async () => {
  process.env.PADDOCK_BRIDGE_TRANSPORT = 'tcp';
  fx = await startFixture();
});
after(() => {
  if (previous === undefined) delete process.env.PADDOCK_BRIDGE_TRANSPORT;
  else process.env.PADDOCK_BRIDGE_TRANSPORT = previous;
  fx?.cleanup();
});



/** An HTTP POST from inside the sandbox with node's fetch: prints "STATUS body" or "ERR code". */
const FETCH = `
const [url, token, proxy] = process.argv.slice(1);
const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
if (token) headers.authorization = 'Bearer ' + token;
fetch(url, { method: 'POST', headers, body: ${JSON.stringify(INIT_REQUEST)}, signal: AbortSignal.timeout(5000) })
  .then(async (r) => console.log(r.status, (await r.text()).slice(0, 200)))
  .catch((e) => console.log('ERR', e.cause?.code ?? e.name));
`;

describe('bridge over TCP (the Docker Desktop transport), through the egress proxy relay', () => {
  let ws: string;
  let sandbox: string;
  let hosted: HostedBridge | undefined;
  const agent = (args: string[]) => dockerAsync(['exec', '-i', '-u', 'agent', sandbox, ...args]);

  before(async () => {
    ws = makeWorkspace({
      '.env': `PLAIN=${SECRETS.envFile}\n`,
      '.paddock/policy.yaml': ['tier: moderate', 'bridge:', `  containers: ["${PROJECT}"]`, '  exec:', '    api: ["echo *"]'].join('\n'),
    }, 'paddock-bridge-tcp-');
    sandbox = (await paddockOk(['create', 'shell', ws, '--name', `pbt-tcp-${randomBytes(3).toString('hex')}`])).stdout.trim();
    await paddockOk(['start', sandbox]);
    hosted = await hostSandboxBridge(engine(), sandbox);
  });
  after(async () => {
    await hosted?.close();
    if (ws) await cleanup(ws);
  });

  it('listens on one host address (not all interfaces) and points the sandbox at its proxy relay', () => {
    assert.equal(hosted!.transport, 'tcp');
    const url = new URL(hosted!.url);
    assert.notEqual(url.hostname, '0.0.0.0');
    assert.match(url.hostname, /^\d+\.\d+\.\d+\.\d+$/);
    assert.equal(readFileSync(bridgePaths(sandbox).endpoint, 'utf8').trim(), `http://paddock-egress:${BRIDGE_RELAY_PORT}/mcp`);
    assert.equal(readFileSync(egressPaths(sandbox).bridgeTarget, 'utf8').trim(), `host.docker.internal:${url.port}`);
    assert.deepEqual(hosted!.notes, []);
  });

  it('an agent\'s MCP client reaches the bridge through paddock-mcp and the relay, masked, and keeps its session across a bridge restart', async () => {
    const client = await agentClient(sandbox);
    try {
      await assertProjectVisibleAndMasked(client, fx, [SECRETS.envFile, SECRETS.dbPassword, SECRETS.apiToken]);
      const exec = await callTool(client, 'exec_command', { container: 'api', command: 'echo hello over tcp' });
      assert.match(exec.text, /hello over tcp\n\[exit code 0\]/);

      // A new port after the restart: the relay reads its target again at every connection.
      const oldPort = new URL(hosted!.url).port;
      await hosted!.close();
      hosted = await hostSandboxBridge(engine(), sandbox);
      assert.notEqual(new URL(hosted.url).port, oldPort);
      const again = await callTool(client, 'list_containers');
      assert.match(again.text, new RegExp(fx.api));
    } finally {
      await client.close();
    }
  });

  it('from inside: the relay refuses a missing or foreign token, and the listener itself is out of reach', async () => {
    const relay = `http://paddock-egress:${BRIDGE_RELAY_PORT}/mcp`;
    const token = readFileSync(bridgePaths(sandbox).token, 'utf8').trim();
    const none = await agent(['node', '-e', FETCH, relay, '']);
    assert.match(none.stdout, /^401 .*Unauthorized/m, none.stderr);
    const foreign = await agent(['node', '-e', FETCH, relay, randomBytes(32).toString('base64url')]);
    assert.match(foreign.stdout, /^401 /m, foreign.stderr);
    const right = await agent(['node', '-e', FETCH, relay, token]);
    assert.match(right.stdout, /^200 .*paddock/m, right.stderr);

    // Straight to the host listener: the sandbox's internal network has no route there.
    const direct = new URL(hosted!.url);
    const straight = await agent(['node', '-e', FETCH, `http://${direct.host}/mcp`, token]);
    assert.match(straight.stdout, /^ERR /m, 'no direct route to the host listener');
    // Nor through the egress proxy: host.docker.internal is not on the sandbox's allow list.
    const viaProxy = await agent(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5', '-x', 'http://paddock-egress:3128', `http://host.docker.internal:${direct.port}/mcp`]);
    assert.equal(viaProxy.stdout.trim(), '403');
  });

  it('when the bridge stops, the relay points nowhere and paddock-mcp says how to start one', async () => {
    await hosted!.close();
    hosted = undefined;
    assert.equal(readFileSync(egressPaths(sandbox).bridgeTarget, 'utf8').trim(), '');
    const r = docker(['exec', '-i', '-u', 'agent', sandbox, 'sh', '-c', `printf '%s\\n' '${INIT_REQUEST}' | /run/paddock/paddock-mcp`]);
    assert.match(r.stdout, /bridge is not running.*paddock bridge serve/);
  });

  it('paddock run hosts the bridge over TCP for the session, and an agent inside connects', async () => {
    const script = `cat /run/paddock/endpoint; printf '%s\\n' '${INIT_REQUEST}' | /run/paddock/paddock-mcp`;
    const r = await paddockOk(['run', 'shell', ws, '--', '-c', script], { env: { ...process.env, PADDOCK_BRIDGE_TRANSPORT: 'tcp' } });
    assert.match(r.stdout, new RegExp(`^http://paddock-egress:${BRIDGE_RELAY_PORT}/mcp$`, 'm'));
    assert.match(r.stdout, /"serverInfo":\{"name":"paddock-bridge"/);
    assert.equal(readFileSync(egressPaths(sandbox).bridgeTarget, 'utf8').trim(), '', 'the relay is cleared after the session');
  });
});
