// Reading the server name of real ClientHellos (made by Node's TLS client), whole and in pieces.
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { describe, it } from 'node:test';
import { readClientHelloSni } from '../../../src/proxy/sni.js';

/** The first bytes a TLS client sends for `servername` (undefined: no SNI). */
async function clientHello(servername?: string): Promise<Buffer> {
  let resolveHello: (b: Buffer) => void;
  const hello = new Promise<Buffer>((r) => { resolveHello = r; });
  const server = createServer((s) => s.once('data', (c) => { resolveHello(c); s.destroy(); }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const tls = connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', servername, rejectUnauthorized: false });
  tls.on('error', () => {});
  const bytes = await hello;
  tls.destroy();
  server.close();
  return bytes;
}

describe('ClientHello server name', () => {
  it('reads the name of a real ClientHello, and needs the whole record first', async () => {
    const hello = await clientHello('allowed.test');
    assert.deepEqual(readClientHelloSni(hello), { kind: 'tls', serverName: 'allowed.test' });
    for (const cut of [1, 4, 5, 40, hello.length - 1]) assert.deepEqual(readClientHelloSni(hello.subarray(0, cut)), { kind: 'need-more' }, String(cut));
  });
  it('has no name when the client sends none, and tells what is not TLS', async () => {
    assert.deepEqual(readClientHelloSni(await clientHello('')), { kind: 'tls' });
    assert.deepEqual(readClientHelloSni(Buffer.from('GET / HTTP/1.1\r\n')), { kind: 'not-tls' });
    assert.deepEqual(readClientHelloSni(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n')), { kind: 'not-tls' });
  });
  it('does not crash on a malformed hello that claims more than it has', () => {
    const bogus = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x08, 0x01, 0x00, 0x00, 0xff, 0x03, 0x03, 0x00, 0x00]);
    assert.deepEqual(readClientHelloSni(bogus), { kind: 'tls' });
  });
});
