// An upstream that echoes the injected key anywhere in its answer: headers, the status text, and
// bodies in every encoding (gzip, deflate with and without zlib wrapping, br, stacked, streamed).
// What reaches the sandbox must never hold the key in any form; encodings that cannot be decoded
// to mask are refused. Loopback servers only.
import assert from 'node:assert/strict';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { brotliCompressSync, constants, createGzip, deflateRawSync, deflateSync, gunzipSync, brotliDecompressSync, gzipSync, inflateSync } from 'node:zlib';
import type { InjectedKey } from '../../../src/core/credentials.js';
import { createKeyInjector, KEY_MASK } from '../../../src/proxy/inject.js';
import type { EgressLogEntry } from '../../../src/proxy/log.js';

const KEY = 'sk-ant-api03-Echo_me-0123456789abcdefABCDEF';
const FORMS = [KEY, encodeURIComponent(KEY), Buffer.from(KEY).toString('base64'), Buffer.from(KEY).toString('base64url')];
const port = (s: Server) => (s.address() as AddressInfo).port;
const echo = `{"you_sent":"${KEY}","again":"${encodeURIComponent(KEY)}","b64":"${Buffer.from(KEY).toString('base64')}"}\n`;

/** Every way the answer's bytes could be read by a curious agent: raw, and through each decoder. */
function readings(bytes: Buffer): string[] {
  const out = [bytes.toString('latin1')];
  for (const decode of [gunzipSync, inflateSync, brotliDecompressSync]) {
    try { out.push(decode(bytes).toString('latin1')); } catch { /* not that encoding */ }
  }
  return out;
}
const leaks = (text: string) => FORMS.filter((f) => text.includes(f));

describe('key injector: an upstream that echoes the key', () => {
  let provider: Server;
  let injector: Server;
  const log: EgressLogEntry[] = [];

  before(async () => {
    provider = createServer((q, s) => {
      const path = q.url ?? '';
      s.setHeader('X-Echo', `Bearer ${KEY}`);
      s.setHeader('Set-Cookie', [`session=${KEY}; Path=/`, `b64=${Buffer.from(KEY).toString('base64')}`]);
      s.setHeader(`X-Key-${KEY}`, 'a header named after the key');
      s.setHeader('Content-Type', 'application/json');
      const send = (encoding: string, body: Buffer) => { s.setHeader('Content-Encoding', encoding); s.end(body); };
      if (path.endsWith('/gzip')) return send('gzip', gzipSync(echo));
      if (path.endsWith('/x-gzip')) return send('x-gzip', gzipSync(echo));
      if (path.endsWith('/deflate')) return send('deflate', deflateSync(echo));
      if (path.endsWith('/deflate-raw')) return send('deflate', deflateRawSync(echo));
      if (path.endsWith('/br')) return send('br', brotliCompressSync(echo));
      if (path.endsWith('/stacked')) return send('gzip, br', brotliCompressSync(gzipSync(echo)));
      if (path.endsWith('/zstd')) return send('zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]));
      if (path.endsWith('/unknown')) return send('x-paddock-test', Buffer.from(echo));
      if (path.endsWith('/status')) { s.statusMessage = `OK ${KEY}`; s.end('fine\n'); return; }
      if (path.endsWith('/stream')) {
        // A gzip stream flushed per event, the key cut across two events.
        s.setHeader('Content-Encoding', 'gzip');
        const gz = createGzip({ flush: constants.Z_SYNC_FLUSH });
        gz.pipe(s);
        const half = KEY.length / 2;
        gz.write(`data: ${KEY.slice(0, half)}`);
        setTimeout(() => { gz.write(`${KEY.slice(half)}\n\n`); gz.end('data: done\n\n'); }, 50);
        return;
      }
      s.end(echo);
    });
    provider.on('upgrade', (_q, socket) => {
      // Refuses the upgrade with the key in a header and in a gzip body.
      const body = gzipSync(`no websocket for ${KEY}\n`);
      socket.write(`HTTP/1.1 403 Forbidden ${KEY}\r\nX-Echo: ${KEY}\r\nContent-Encoding: gzip\r\nContent-Length: ${body.length}\r\n\r\n`);
      socket.end(body);
    });
    await new Promise<void>((r) => provider.listen(0, '127.0.0.1', r));
    const keys: Record<string, InjectedKey> = { anthropic: { provider: 'anthropic', source: 'ANTHROPIC_API_KEY', upstream: `http://127.0.0.1:${port(provider)}`, header: 'x-api-key', value: KEY } };
    injector = createKeyInjector({ sandbox: 'sbx', keys: () => keys, log: (e) => log.push(e) });
    await new Promise<void>((r) => injector.listen(0, '127.0.0.1', r));
  });
  after(() => { injector?.close(); provider?.close(); });

  const get = (path: string, headers: Record<string, string> = {}) => new Promise<{ status: number; statusMessage: string; headers: IncomingHttpHeaders; raw: string[]; body: Buffer }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: port(injector), path: `/anthropic${path}`, headers: { 'Accept-Encoding': 'gzip, br', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c)).on('end', () => resolve({ status: res.statusCode!, statusMessage: res.statusMessage ?? '', headers: res.headers, raw: res.rawHeaders, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });

  for (const path of ['/plain', '/gzip', '/x-gzip', '/deflate', '/deflate-raw', '/br', '/stacked']) {
    it(`masks the key in the headers and in a ${path.slice(1)} body, and sends it decoded`, async () => {
      const r = await get(path);
      assert.equal(r.status, 200);
      assert.deepEqual(leaks(r.raw.join('\n')), [], 'headers');
      for (const text of readings(r.body)) assert.deepEqual(leaks(text), [], 'body');
      assert.equal(r.headers['content-encoding'], undefined);
      assert.equal(r.body.toString(), `{"you_sent":"${KEY_MASK}","again":"${KEY_MASK}","b64":"${KEY_MASK}"}\n`);
      assert.equal(r.headers['x-echo'], `Bearer ${KEY_MASK}`);
      assert.deepEqual(r.headers['set-cookie'], [`session=${KEY_MASK}; Path=/`, `b64=${KEY_MASK}`]);
      assert.ok(!Object.values(r.headers).includes('a header named after the key'), 'a header named after the key is dropped');
    });
  }

  it('masks the status text', async () => {
    const r = await get('/status');
    assert.equal(r.statusMessage, `OK ${KEY_MASK}`);
  });

  it('masks a key cut across the events of a compressed stream, and streams it', async () => {
    const r = await get('/stream');
    assert.equal(r.body.toString(), `data: ${KEY_MASK}\n\ndata: done\n\n`);
  });

  it('refuses encodings it cannot decode (zstd, unknown), saying why, and logs it', async () => {
    for (const [path, coding] of [['/zstd', 'zstd'], ['/unknown', 'x-paddock-test']]) {
      const r = await get(path);
      assert.equal(r.status, 502, path);
      assert.match(r.body.toString(), new RegExp(`answered in the "${coding}" encoding, which Paddock cannot decode`));
      for (const text of readings(r.body)) assert.deepEqual(leaks(text), []);
      assert.deepEqual(leaks(r.raw.join('\n')), []);
      assert.equal(log.at(-1)!.error, `unsupported encoding ${coding}`);
    }
  });

  it('masks a refused WebSocket upgrade\'s status, headers and compressed body', async () => {
    const answer = await new Promise<Buffer>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: port(injector), path: '/anthropic/ws', headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' } });
      req.on('socket', (socket) => {
        const chunks: Buffer[] = [];
        socket.on('data', (c: Buffer) => chunks.push(c));
        socket.on('close', () => resolve(Buffer.concat(chunks)));
      });
      req.on('error', () => {});
      setTimeout(() => reject(new Error('no answer')), 3000);
      req.end();
    });
    for (const text of readings(answer)) assert.deepEqual(leaks(text), [], text);
    assert.match(answer.toString(), /^HTTP\/1\.1 403 Forbidden \[PADDOCK-MASKED-KEY\]\r\n/);
    assert.match(answer.toString(), /no websocket for \[PADDOCK-MASKED-KEY\]/);
  });
});
