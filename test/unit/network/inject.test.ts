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
