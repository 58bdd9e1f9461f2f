// The bridge as an agent meets it: a real sandbox (created by the CLI), the bridge hosted for it,
// paddock-mcp inside, a real SDK client over stdio through `docker exec`; plus the transport's
// token checks on the Unix socket and the loopback TCP listener.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { AuditLog, readAudit } from '../../../src/bridge/audit.js';
import { hostSandboxBridge, type HostedBridge } from '../../../src/bridge/host.js';
import { BridgeHttpServer } from '../../../src/bridge/server.js';
import { BridgeService } from '../../../src/bridge/service.js';
import { bridgePaths } from '../../../src/engine/stateFolder.js';
import { createBridgeServer } from '../../../src/bridge/tools.js';
import { cleanup, docker, engine, makeWorkspace, paddock, paddockOk } from '../../support/sandbox.js';
import { KNOWN_SECRET } from '../../unit/bridge/corpus.js';
import { agentClient, assertProjectVisibleAndMasked, callTool, clientFor, dockerAsync, INIT_REQUEST, PROJECT, rulesFor, SECRETS, startFixture, type Fixture } from './support.js';

let fx: Fixture;

before(async () => { fx = await startFixture(); });
after(() => fx?.cleanup());

describe('transport: token and listener', () => {
  let dir: string;
  const servers: BridgeHttpServer[] = [];
  const serve = async (token: string, where: 'unix' | 'tcp') => {
    const service = new BridgeService(fx.docker, rulesFor(fx));
    const server = new BridgeHttpServer(token, () => createBridgeServer(service, new AuditLog(), 'test'));
    servers.push(server);
    const url = await server.listen(where === 'unix' ? { kind: 'unix', path: join(dir, `${servers.length}.sock`) } : { kind: 'tcp', host: '127.0.0.1', port: 0 });
    return { server, url };
  };
  before(() => { dir = mkdtempSync(join(tmpdir(), 'pbt-transport-')); });
  after(async () => { for (const s of servers) await s.close(); rmSync(dir, { recursive: true, force: true }); });

  it('the Unix socket is mode 0600 and refuses missing and foreign tokens', async () => {
    const a = await serve('token-of-sandbox-a-0123456789', 'unix');
    await serve('token-of-sandbox-b-0123456789', 'unix');
    const socket = a.url.slice(5);
    assert.equal(statSync(socket).mode & 0o777, 0o600);
    await assert.rejects(clientFor(socket, undefined), /401|Unauthorized/);
    await assert.rejects(clientFor(socket, 'token-of-sandbox-b-0123456789'), /401|Unauthorized/);
    await assert.rejects(clientFor(socket, 'token-of-sandbox-a-012345678'), /401|Unauthorized/, 'a prefix of the token is not the token');
    const ok = await clientFor(socket, 'token-of-sandbox-a-0123456789');
    assert.ok((await ok.listTools()).tools.length > 5);
    await ok.close();
  });

  it('a raw request without a token gets 401 and no data', async () => {
    const a = await serve('another-token-0123456789abcdef', 'unix');
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ socketPath: a.url.slice(5), path: '/mcp', method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' } }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'get_logs', arguments: { container: fx.api } } }));
    });
    assert.equal(status, 401);
    assert.ok(!body.includes('api ready'));
  });

  it('the TCP listener (Docker Desktop) binds loopback only, with the same token rule', async () => {
    const t = await serve('tcp-token-0123456789abcdefgh', 'tcp');
    assert.match(t.url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const address = (t.server as any).http.address();
    assert.equal(address.address, '127.0.0.1');
    const connect = async (token?: string) => {
      const client = new Client({ name: 't', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(t.url), { requestInit: { headers: token ? { Authorization: `Bearer ${token}` } : {} } }));
      return client;
    };
    await assert.rejects(connect(), /401|Unauthorized/);
    await assert.rejects(connect('wrong-token-0123456789abcdefgh'), /401|Unauthorized/);
    const ok = await connect('tcp-token-0123456789abcdefgh');
    const r = await callTool(ok, 'list_containers');
    assert.match(r.text, new RegExp(fx.api));
    await ok.close();
    await assert.rejects(new BridgeHttpServer('x'.repeat(20), () => { throw new Error(); }).listen({ kind: 'tcp', host: '0.0.0.0' as '127.0.0.1', port: 0 }), /all interfaces/);
  });

  it('the CLI refuses to listen on anything but loopback or a socket', async () => {
    const r = await paddock(['bridge', '--listen', 'tcp:0.0.0.0:7777', '--policy', '/dev/null']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /never listens on other interfaces/);
  });
});

describe('in a sandbox: paddock-mcp, agent configs, audit', () => {
  let ws: string;
  let sandbox: string;
  let hosted: HostedBridge | undefined;
  const inside = (argv: string[], env: Record<string, string> = {}) => engine().execCapture(sandbox, argv, { env });

  before(async () => {
    ws = makeWorkspace({
      '.env': `PLAIN=${KNOWN_SECRET}\n`,
      '.paddock/policy.yaml': [
        'tier: moderate',
        'bridge:',
        `  containers: ["${PROJECT}"]`,
        '  exec:',
        '    api: ["npm test", "echo *"]',
      ].join('\n'),
    }, 'paddock-bridge-ws-');
    const created = await paddockOk(['create', 'shell', ws, '--name', `pbt-sbx-${randomBytes(3).toString('hex')}`]);
    sandbox = created.stdout.trim();
    hosted = await hostSandboxBridge(engine(), sandbox);
  });
  after(async () => {
    await hosted?.close();
    if (ws) await cleanup(ws);
  });

  it('the sandbox has the bridge folder read-only, the socket, and no Docker socket', async () => {
    const ls = await inside(['ls', '-la', '/run/paddock']);
    assert.match(ls.stdout, /^srw-------\s.*bridge\.sock$/m);
    assert.match(ls.stdout, /paddock-mcp$/m);
    assert.notEqual((await inside(['touch', '/run/paddock/x'])).exitCode, 0, 'the folder is read-only');
    assert.notEqual((await inside(['rm', '-f', '/run/paddock/bridge.sock'])).exitCode, 0);
    for (const path of ['/var/run/docker.sock', '/run/docker.sock']) assert.notEqual((await inside(['test', '-e', path])).exitCode, 0, path);
    assert.equal(hosted!.transport, 'unix');
  });

  it('registers the bridge in the agents\' own configs in the sandbox home, not the workspace', async () => {
    const claude = JSON.parse((await inside(['cat', '/home/agent/.claude.json'])).stdout);
    assert.equal(claude.mcpServers.paddock.command, '/run/paddock/paddock-mcp');
    const gemini = JSON.parse((await inside(['cat', '/home/agent/.gemini/settings.json'])).stdout);
    assert.equal(gemini.mcpServers.paddock.command, '/run/paddock/paddock-mcp');
    assert.match((await inside(['cat', '/home/agent/.codex/config.toml'])).stdout, /^\[mcp_servers\.paddock\]\ncommand = "\/run\/paddock\/paddock-mcp"/m);
    for (const f of ['.claude.json', '.gemini', '.codex', '.mcp.json']) assert.ok(!existsSync(join(ws, f)), `${f} not written to the workspace`);
  });

  it('an agent\'s MCP client reaches the bridge through paddock-mcp (stdio), with masking', async () => {
    const client = await agentClient(sandbox);
    try {
      await assertProjectVisibleAndMasked(client, fx, [KNOWN_SECRET, SECRETS.dbPassword, SECRETS.apiToken]);
      const exec = await callTool(client, 'exec_command', { container: 'api', command: 'echo hello from api' });
      assert.match(exec.text, /hello from api\n\[exit code 0\]/);
      const denied = await callTool(client, 'exec_command', { container: 'api', command: 'echo /app/.env' });
      assert.equal(denied.isError, true);
      assert.match(denied.text, /blocked path/);

      // The host side restarts (an editor reload): the same agent session keeps working.
      await hosted!.close();
      hosted = await hostSandboxBridge(engine(), sandbox);
      const again = await callTool(client, 'list_containers');
      assert.match(again.text, new RegExp(fx.api));
    } finally {
      await client.close();
    }
  });

  it('a wrong token from inside the sandbox is refused', async () => {
    // Asynchronously: the bridge answering it lives in this process.
    const r = await dockerAsync(['exec', '-i', '-u', 'agent', '-e', 'PADDOCK_BRIDGE_TOKEN=stolen-or-guessed-token-000000', sandbox, 'sh', '-c', `printf '%s\\n' '${INIT_REQUEST}' | /run/paddock/paddock-mcp`]);
    assert.match(r.stdout, /"error"/, r.stderr);
    assert.match(r.stdout, /401|Unauthorized/);
  });

  it('paddock bridge log shows the calls with decision and rule', async () => {
    const entries = readAudit(bridgePaths(sandbox).audit);
    assert.ok(entries.some((e) => e.tool === 'exec_command' && e.decision === 'denied' && e.rule.startsWith('blocked path')));
    const r = await paddockOk(['bridge', 'log', sandbox, '--json']);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(lines.some((e) => e.tool === 'get_logs' && e.decision === 'allowed' && e.masked > 0));
    const text = await paddockOk(['bridge', 'log', sandbox]);
    assert.match(text.stdout, /denied\s+exec_command .*\[blocked path: \*\*\/\.env\]/);
  });

  it('without a bridge host, paddock-mcp says how to start one', async () => {
    await hosted!.close();
    hosted = undefined;
    const r = docker(['exec', '-i', '-u', 'agent', sandbox, 'sh', '-c', `printf '%s\\n' '${INIT_REQUEST}' | /run/paddock/paddock-mcp`]);
    assert.match(r.stdout, /bridge is not running.*paddock bridge serve/);
  });

  it('paddock run hosts the bridge for the session, and stops it afterwards', async () => {
    const r = await paddockOk(['run', 'shell', ws, '--', '-c', 'test -S /run/paddock/bridge.sock && cat /run/paddock/endpoint']);
    assert.match(r.stdout, /^unix:\/run\/paddock\/bridge\.sock$/m);
    assert.ok(!existsSync(bridgePaths(sandbox).socket), 'the socket is gone after the session');
  });

  it('removing the sandbox removes its bridge folder', async () => {
    const paths = bridgePaths(sandbox);
    assert.ok(existsSync(paths.dir));
    await paddockOk(['rm', sandbox]);
    assert.ok(!existsSync(paths.dir));
  });
});
