// A provider that echoes the injected key back in every place an answer has room for: headers, the
// status text, gzip / deflate / br bodies; and one that answers in zstd. From a real sandbox through
// its real egress proxy container: no byte the sandbox receives holds the key, raw or decoded. The
// provider is a container on the test's own --internal network; no traffic leaves this machine.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { cleanup, docker, makeWorkspace, paddock, paddockOk } from '../../support/sandbox.js';
import { useLocalInternet, type LocalInternet } from './support.js';

const KEY = `sk-ant-api03-${randomBytes(24).toString('base64url')}`;
const FORMS = [KEY, encodeURIComponent(KEY), Buffer.from(KEY).toString('base64')];

const ECHO_PROVIDER = `
const http = require('http'), zlib = require('zlib');
http.createServer((q, s) => {
  const key = q.headers['x-api-key'] || '';
  const echo = Buffer.from('{"you_sent":"' + key + '","b64":"' + Buffer.from(key).toString('base64') + '"}\\n');
  s.setHeader('X-Echo', key);
  s.setHeader('Set-Cookie', 'session=' + encodeURIComponent(key));
  s.statusMessage = 'OK ' + key;
  const send = (coding, body) => { s.setHeader('Content-Encoding', coding); s.end(body); };
  if (q.url.endsWith('/gzip')) return send('gzip', zlib.gzipSync(echo));
  if (q.url.endsWith('/deflate')) return send('deflate', zlib.deflateSync(echo));
  if (q.url.endsWith('/br')) return send('br', zlib.brotliCompressSync(echo));
  if (q.url.endsWith('/zstd')) return send('zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]));
  s.end(echo);
}).listen(80, () => console.log('provider ready'));
`;

function readings(bytes: Buffer): string[] {
  const out = [bytes.toString('latin1')];
  const body = bytes.subarray(bytes.indexOf('\r\n\r\n') + 4);
  for (const decode of [gunzipSync, inflateSync, brotliDecompressSync]) {
    try { out.push(decode(body).toString('latin1')); } catch { /* not that encoding */ }
  }
  return out;
}

describe('an upstream that echoes the injected key, through the real proxy', () => {
  let net: LocalInternet;
  let ws: string;
  let sb: string;
  const provider = `paddock-keyecho-${randomBytes(3).toString('hex')}`;

  before(async () => {
    net = await useLocalInternet('paddock-keyecho-');
    const run = docker(['run', '-d', '--name', provider, '--network', net.network, '--network-alias', 'api.provider.test', net.image, 'node', '-e', ECHO_PROVIDER]);
    assert.equal(run.code, 0, run.stderr);
    for (let i = 0; i < 100 && !docker(['logs', provider]).stdout.includes('provider ready'); i++) await new Promise((r) => setTimeout(r, 100));
    ws = makeWorkspace();
    sb = (await paddockOk(['create', 'shell', ws], { env: { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: 'http://api.provider.test' } })).stdout.trim();
  });
  after(async () => {
    if (ws) await cleanup(ws);
    docker(['rm', '-f', provider]);
    net?.stop();
  });

  /** The whole answer as the sandbox receives it (status line, headers, body bytes undecoded by curl). */
  const answer = async (path: string) => {
    const r = await paddock(['exec', sb, '--', 'sh', '-c', `curl -s -i --raw --max-time 10 -H 'Accept-Encoding: gzip, deflate, br, zstd' "$ANTHROPIC_BASE_URL${path}" | base64 -w0`]);
    assert.equal(r.code, 0, r.stderr);
    return Buffer.from(r.stdout.trim(), 'base64');
  };

  it('no form of the key reaches the sandbox, in headers, status text or any body encoding', async () => {
    for (const path of ['/plain', '/gzip', '/deflate', '/br']) {
      const bytes = await answer(path);
      const text = bytes.toString('latin1');
      assert.match(text, /^HTTP\/1\.1 200 OK \[PADDOCK-MASKED-KEY\]\r\n/, path);
      for (const reading of readings(bytes)) assert.deepEqual(FORMS.filter((f) => reading.includes(f)), [], `${path}: ${reading.slice(0, 300)}`);
      assert.match(text, /\r\nX-Echo: \[PADDOCK-MASKED-KEY\]\r\n/i, path);
      assert.match(text, /\{"you_sent":"\[PADDOCK-MASKED-KEY\]","b64":"\[PADDOCK-MASKED-KEY\]"\}/, `${path}: the body arrives decoded and masked`);
      assert.doesNotMatch(text, /\r\ncontent-encoding:/i, path);
    }
  });

  it('an answer in zstd is refused with the reason, not passed on', async () => {
    const bytes = await answer('/zstd');
    const text = bytes.toString('latin1');
    assert.match(text, /^HTTP\/1\.1 502/);
    assert.match(text, /answered in the "zstd" encoding, which Paddock cannot decode/);
    for (const reading of readings(bytes)) assert.deepEqual(FORMS.filter((f) => reading.includes(f)), []);
  });
});
