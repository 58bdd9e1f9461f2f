// The key injector against loopback servers standing in for a provider: plain requests and the
// WebSocket upgrade Codex opens first (the integration and template tiers run it in containers).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { InjectedKey } from '../../../src/core/credentials.js';
import { createKeyInjector } from '../../../src/proxy/inject.js';
import type { EgressLogEntry } from '../../../src/proxy/log.js';
import { rawExchange } from './raw-socket.js';

const KEY = 'sk-proj-real-key-0123456789abcdef';
const port = (s: Server) => (s.address() as AddressInfo).port;

describe('key injector: WebSocket upgrades and refusals', () => {
  let provider: Server;
  let injector: Server;
  const seen: { url?: string; auth?: string; upgrade?: string }[] = [];
  const log: EgressLogEntry[] = [];
  const upgraded: Socket[] = [];

  before(async () => {
    provider = createServer((q, s) => { seen.push({ url: q.url, auth: q.headers.authorization }); s.end(`plain ${q.headers.authorization === `Bearer ${KEY}` ? 'real' : 'wrong'}\n`); });
    // A minimal WebSocket handshake, then an echo of raw bytes: enough to see that both ways pass.
    provider.on('upgrade', (q, socket: Socket) => {
      upgraded.push(socket);
      seen.push({ url: q.url, auth: q.headers.authorization, upgrade: String(q.headers.upgrade) });
      const accept = createHash('sha1').update(`${q.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      socket.on('data', (c) => socket.write(Buffer.concat([Buffer.from('echo:'), c])));
    });
    await new Promise<void>((r) => provider.listen(0, '127.0.0.1', r));
    const keys: Record<string, InjectedKey> = { openai: { provider: 'openai', source: 'OPENAI_API_KEY', upstream: `http://127.0.0.1:${port(provider)}/v1`, header: 'authorization', value: `Bearer ${KEY}` } };
    injector = createKeyInjector({ sandbox: 'sbx', keys: () => keys, log: (e) => log.push(e) });
    await new Promise<void>((r) => injector.listen(0, '127.0.0.1', r));
  });
  after(() => {
    // Upgraded sockets are no longer the servers' to close.
    for (const s of upgraded) s.destroy();
    injector?.close();
    provider?.close();
  });

  it('a WebSocket upgrade reaches the provider with the real key (not the sandbox\'s), and bytes pass both ways', async () => {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: port(injector), path: '/openai/responses', headers: {
        Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', Authorization: 'Bearer placeholder',
      } });
      req.on('upgrade', (res, s) => { assert.equal(res.statusCode, 101); resolve(s); });
      req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
      req.on('error', reject);
      req.end();
    });
    const echoed = await new Promise<string>((resolve) => {
      socket.once('data', (c) => resolve(c.toString()));
      socket.write('hello');
    });
    socket.destroy();
    assert.equal(echoed, 'echo:hello');
    assert.deepEqual(seen.at(-1), { url: '/v1/responses', auth: `Bearer ${KEY}`, upgrade: 'websocket' });
    assert.ok(log.some((e) => e.rule === 'key injection: openai (OPENAI_API_KEY)' && e.status === 101));
  });

  it('an upgrade for an unknown provider or a bad path is refused before anything is sent upstream', async () => {
    const before = seen.length;
    for (const path of ['/evil/x', '/openai/../x']) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: port(injector), path, headers: { Connection: 'Upgrade', Upgrade: 'websocket' } });
        req.on('upgrade', () => reject(new Error('upgraded')));
        req.on('response', (res) => { res.resume(); resolve(res.statusCode ?? 0); });
        req.on('error', reject);
        req.end();
      });
      assert.ok(status === 404 || status === 400, `${path}: ${status}`);
    }
    assert.equal(seen.length, before);
  });
});

describe('key injector: request framing and upstream connections', () => {
  const KEY_A = 'sk-proj-sandbox-a-0123456789abcdef';
  const KEY_B = 'sk-proj-sandbox-b-0123456789abcdef';
  let provider: Server;
  let injA: Server;
  let injB: Server;
  /** Every request the provider read: its caller (by key), path, body, and the connection's client port. */
  const seen: { caller: string; url?: string; body: string; via: number }[] = [];
  /** Bytes the provider writes on the connection some time after it answered, as a late answer would come. */
  let straggler: string | undefined;
  const logA: EgressLogEntry[] = [];

  before(async () => {
    provider = createServer((q, s) => {
      let body = '';
      q.on('data', (c) => (body += c)).on('end', () => {
        const caller = q.headers.authorization === `Bearer ${KEY_A}` ? 'A' : q.headers.authorization === `Bearer ${KEY_B}` ? 'B' : 'nobody';
        seen.push({ caller, url: q.url, body, via: q.socket.remotePort! });
        s.end(`answer for ${caller} to ${q.method} ${q.url}\n`);
        const late = straggler;
        if (late) setTimeout(() => q.socket.write(late), 50);
      });
    });
    await new Promise<void>((r) => provider.listen(0, '127.0.0.1', r));
    const keys = (key: string): Record<string, InjectedKey> => ({ openai: { provider: 'openai', source: 'OPENAI_API_KEY', upstream: `http://127.0.0.1:${port(provider)}/v1`, header: 'authorization', value: `Bearer ${key}` } });
    // Two sandboxes' injectors in one process, as the shared egress service runs them.
    injA = createKeyInjector({ sandbox: 'a', keys: () => keys(KEY_A), log: (e) => logA.push(e) });
    injB = createKeyInjector({ sandbox: 'b', keys: () => keys(KEY_B), log: () => {} });
    for (const s of [injA, injB]) await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  });
  after(() => {
    for (const s of [injA, injB, provider]) { s?.close(); s?.closeAllConnections?.(); }
  });

  const raw = (to: Server, text: string) => rawExchange(port(to), text);
  const ask = (to: Server, path: string) => new Promise<string>((resolve, reject) => {
    request({ host: '127.0.0.1', port: port(to), path, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c)).on('end', () => resolve(body));
    }).on('error', reject).end();
  });

  it('sends a GET\'s or DELETE\'s body framed: the provider never reads it as a second request without the key', async () => {
    const smuggled = 'GET /v1/smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
    const chunked = `${Buffer.byteLength(smuggled).toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`;
    for (const [name, text] of [
      ['GET, chunked', `GET /openai/models HTTP/1.1\r\nHost: paddock-egress:3130\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunked}`],
      ['DELETE, Transfer-Encoding named in Connection', `DELETE /openai/models HTTP/1.1\r\nHost: paddock-egress:3130\r\nTransfer-Encoding: chunked\r\nConnection: transfer-encoding, close\r\n\r\n${chunked}`],
      ['GET, Content-Length named in Connection', `GET /openai/models HTTP/1.1\r\nHost: paddock-egress:3130\r\nConnection: content-length, close\r\nContent-Length: ${Buffer.byteLength(smuggled)}\r\n\r\n${smuggled}`],
    ]) {
      seen.length = 0;
      const out = await raw(injA, text);
      await new Promise((r) => setTimeout(r, 100));
      assert.match(out, /^HTTP\/1\.1 200 OK[\s\S]*answer for A to \w+ \/v1\/models/, name);
      assert.deepEqual(seen.map((s) => [s.caller, s.url, s.body]), [['A', '/v1/models', smuggled]], name);
    }
    const refused = await raw(injA, 'POST /openai/models HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n0\r\n\r\n');
    assert.match(refused, /^HTTP\/1\.1 400 Bad Request[\s\S]*Transfer-Encoding "gzip, chunked" is not forwarded/);
    assert.deepEqual([logA.at(-1)!.decision, logA.at(-1)!.rule], ['deny', 'unframed request body']);
  });

  it('refuses "/..#" (the parser would remove the ".."): the key never goes above the base path', async () => {
    seen.length = 0;
    for (const path of ['/openai/..#', '/openai/.%2e#', '/openai/models#x']) {
      const out = await raw(injA, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assert.match(out, /^HTTP\/1\.1 400 Bad Request[\s\S]*no "#"/, path);
    }
    assert.deepEqual(seen, []);
  });

  it('gives each sandbox its own connections to the provider: one never gets another\'s answer', async () => {
    seen.length = 0;
    assert.equal(await ask(injA, '/openai/models'), 'answer for A to GET /v1/models\n');
    assert.equal(await ask(injB, '/openai/models'), 'answer for B to GET /v1/models\n');
    assert.equal(await ask(injA, '/openai/models'), 'answer for A to GET /v1/models\n');
    const [a1, b, a2] = seen;
    assert.deepEqual(seen.map((s) => s.caller), ['A', 'B', 'A']);
    assert.notEqual(b.via, a1.via, 'B\'s request went out on A\'s connection');
    // Kept alive within one sandbox.
    assert.equal(a2.via, a1.via);
  });

  it('drops a pooled connection that receives bytes while idle instead of reading them as the next answer', async () => {
    seen.length = 0;
    straggler = 'HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nstale answer\n';
    try {
      assert.equal(await ask(injA, '/openai/first'), 'answer for A to GET /v1/first\n');
      await new Promise((r) => setTimeout(r, 150));
      straggler = undefined;
      assert.equal(await ask(injA, '/openai/second'), 'answer for A to GET /v1/second\n');
      assert.notEqual(seen[1].via, seen[0].via, 'the connection that got stray bytes was used again');
    } finally {
      straggler = undefined;
    }
  });
});
