// Red team, egress F3: in the engine's shared egress service every sandbox's key injector once used
// Node's global keep-alive pool, so sandbox B's request to the model provider could go out on the
// connection sandbox A had just used, and A's smuggled, unanswered request then took B's answer.
// Each injector now keeps its own pool (src/proxy/inject.ts). Two real sandboxes behind one service,
// a local provider that says which connection each request came on: a connection carries one
// sandbox's requests only. No traffic leaves this machine.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { cleanup, docker, makeWorkspace, paddock, paddockOk } from '../../support/sandbox.js';
import { useLocalInternet, type LocalInternet } from './support.js';

const KEY = `sk-ant-api03-${randomBytes(24).toString('base64url')}`;

// Answers with the remote port of the connection the request came on (the egress service's end of it).
const PROVIDER = `
require('http').createServer((q, s) => {
  q.resume(); q.on('end', () => s.end(JSON.stringify({ port: q.socket.remotePort }) + '\\n'));
}).listen(80, () => console.log('provider ready'));
`;

describe('key injection: each sandbox has its own connections to the provider', () => {
  let net: LocalInternet;
  const provider = `paddock-keypools-${randomBytes(3).toString('hex')}`;
  const hostEnv = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: 'http://api.provider.test' };
  const workspaces: string[] = [];
  const sandboxes: string[] = [];

  before(async () => {
    net = await useLocalInternet('paddock-keypools-');
    const run = docker(['run', '-d', '--name', provider, '--network', net.network, '--network-alias', 'api.provider.test', net.image, 'node', '-e', PROVIDER]);
    assert.equal(run.code, 0, run.stderr);
    for (let i = 0; i < 100 && !docker(['logs', provider]).stdout.includes('provider ready'); i++) await new Promise((r) => setTimeout(r, 100));
    for (const name of ['a', 'b']) {
      const ws = makeWorkspace({ [`${name}.txt`]: `${name}\n` });
      workspaces.push(ws);
      sandboxes.push((await paddockOk(['create', 'shell', ws], { env: hostEnv })).stdout.trim());
    }
  });

  after(async () => {
    for (const ws of workspaces) await cleanup(ws);
    docker(['rm', '-f', provider]);
    net?.stop();
  });

  it('requests from two sandboxes, one after the other, never share a connection; each sandbox reuses its own', async () => {
    const ports = new Map<string, number[]>(sandboxes.map((sb) => [sb, []]));
    for (let round = 0; round < 3; round++) {
      for (const sb of sandboxes) {
        const r = await paddock(['exec', sb, '--', 'sh', '-c', 'curl -s --max-time 10 -H "x-api-key: $ANTHROPIC_AUTH_TOKEN" "$ANTHROPIC_BASE_URL/v1/messages"']);
        assert.equal(r.code, 0, r.stderr);
        ports.get(sb)!.push(JSON.parse(r.stdout).port);
      }
    }
    const [a, b] = sandboxes.map((sb) => ports.get(sb)!);
    // Keep-alive is in use (else the check below would hold for any pool): a sandbox's second and third requests reuse a connection.
    assert.ok(new Set(a).size < a.length && new Set(b).size < b.length, `connections are kept alive: a ${a}, b ${b}`);
    assert.deepEqual(a.filter((p) => b.includes(p)), [], `a connection carried both sandboxes' requests: a ${a}, b ${b}`);
  });
});
