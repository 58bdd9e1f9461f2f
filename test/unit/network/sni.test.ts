// Reading the server name of real ClientHellos (made by Node's TLS client), whole, in pieces, and as
// an attacker re-frames them: split over records at every offset, over segments at every byte,
// oversize, garbage, and hellos built to be read two ways.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { MAX_CLIENT_HELLO, MAX_HELLO_BYTES, readClientHelloSni } from '../../../src/proxy/sni.js';
import { clientHello, craftedHello, handshakeOf, record, reframed, sniExtension } from './tls-hello.js';

const kind = (data: Buffer) => readClientHelloSni(data).kind;

describe('ClientHello server name', () => {
  let hello: Buffer;
  before(async () => { hello = await clientHello('blocked.test'); });

  it('reads the name of a real ClientHello, and needs the whole record first', async () => {
    const allowed = await clientHello('allowed.test');
    assert.deepEqual(readClientHelloSni(allowed), { kind: 'tls', serverName: 'allowed.test' });
    for (const cut of [1, 4, 5, 40, allowed.length - 1]) assert.equal(kind(allowed.subarray(0, cut)), 'need-more', String(cut));
  });

  it('has no name when the client sends none, and tells what is not TLS', async () => {
    assert.deepEqual(readClientHelloSni(await clientHello('')), { kind: 'tls' });
    assert.equal(kind(Buffer.from('GET / HTTP/1.1\r\n')), 'not-tls');
    assert.equal(kind(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n')), 'not-tls');
  });

  it('reads the name of a hello split over two records at every offset of its message', () => {
    const length = handshakeOf(hello).length;
    for (let cut = 1; cut < length; cut++) {
      assert.deepEqual(readClientHelloSni(reframed(hello, [cut])), { kind: 'tls', serverName: 'blocked.test' }, `cut at ${cut}`);
    }
  });

  it('reads it over many records (down to one byte each), and over TCP segments cut at every byte', () => {
    const length = handshakeOf(hello).length;
    for (const size of [1, 2, 3, 7, 64, 200]) {
      const cuts = Array.from({ length: Math.ceil(length / size) - 1 }, (_, i) => (i + 1) * size);
      assert.deepEqual(readClientHelloSni(reframed(hello, cuts)), { kind: 'tls', serverName: 'blocked.test' }, `records of ${size}`);
    }
    // Every prefix of a framed hello is "need more", never a verdict on part of it.
    const framed = reframed(hello, [3, 50, 51, 300]);
    for (let end = 1; end < framed.length; end++) assert.equal(kind(framed.subarray(0, end)), 'need-more', `first ${end} bytes`);
    // and its "atLeast" never asks for more than the whole
    for (let end = 1; end < framed.length; end++) {
      const r = readClientHelloSni(framed.subarray(0, end));
      assert.ok(r.kind === 'need-more' && r.atLeast > end && r.atLeast <= framed.length, `first ${end} bytes`);
    }
  });

  it('refuses what is not one whole ClientHello in handshake records', () => {
    const message = handshakeOf(hello);
    const malformed: [string, Buffer][] = [
      ['an alert record in the middle', Buffer.concat([record(message.subarray(0, 10)), record(Buffer.from([2, 40]), 0x15), record(message.subarray(10))])],
      ['application data in the middle', Buffer.concat([record(message.subarray(0, 10)), record(Buffer.from('GET /'), 0x17), record(message.subarray(10))])],
      ['an empty handshake record', Buffer.concat([record(message.subarray(0, 10)), record(Buffer.alloc(0)), record(message.subarray(10))])],
      ['a record that is not TLS 1.x', Buffer.concat([record(message.subarray(0, 10)), Buffer.from([0x16, 0x02, 0x00, 0x00, 0x05]), message.subarray(10, 15)])],
      ['a handshake that is not a ClientHello', record(Buffer.concat([Buffer.from([0x02]), message.subarray(1)]))],
      ['a second handshake message after it', record(Buffer.concat([message, Buffer.from([0x01, 0, 0, 0])]))],
      ['a record longer than TLS allows', Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff]), Buffer.alloc(65535)])],
      ['a hello that claims a length past the bound', record(Buffer.concat([Buffer.from([0x01, 0x01, 0x00, 0x00]), Buffer.alloc(100)]))],
      ['lengths that run past the end', Buffer.from([0x16, 0x03, 0x01, 0x00, 0x08, 0x01, 0x00, 0x00, 0x04, 0x03, 0x03, 0x00, 0x00])],
      ['two server_name extensions', craftedHello([sniExtension('allowed.test'), sniExtension('blocked.test')])],
      ['two host names in one', craftedHello([sniExtension('allowed.test', 'blocked.test')])],
      ['bytes after the extensions', craftedHello([sniExtension('allowed.test')], Buffer.from([0, 0]))],
    ];
    for (const [what, bytes] of malformed) assert.equal(kind(bytes), 'malformed', what);
    // Crafted, but well-formed: read as the server reads it.
    assert.deepEqual(readClientHelloSni(craftedHello([sniExtension('blocked.test')])), { kind: 'tls', serverName: 'blocked.test' });
    assert.deepEqual(readClientHelloSni(craftedHello([sniExtension([7, 'other'], 'blocked.test')])), { kind: 'tls', serverName: 'blocked.test' });
  });

  it('is bounded: more than the limit without a whole hello is refused, not waited for', () => {
    // A hello announced at just under the message limit, sent in 1-byte records: refused once the bytes held pass the bound.
    const big = Buffer.concat([Buffer.from([0x01, 0x00, (MAX_CLIENT_HELLO - 4) >> 8, (MAX_CLIENT_HELLO - 4) & 0xff]), Buffer.alloc(MAX_CLIENT_HELLO - 4)]);
    const tiny = Buffer.concat(Array.from({ length: big.length }, (_, i) => record(big.subarray(i, i + 1))));
    const r = readClientHelloSni(tiny);
    assert.equal(r.kind, 'malformed');
    assert.match((r as { reason: string }).reason, new RegExp(`first ${MAX_HELLO_BYTES} bytes`));
  });

  it('never throws, and never passes garbage or a mutated hello as another name unnoticed', () => {
    for (let i = 0; i < 3000; i++) {
      const bytes = Buffer.from(hello);
      for (let m = 0; m < 1 + (i % 4); m++) bytes[5 + Math.floor(Math.random() * (bytes.length - 5))] = randomBytes(1)[0];
      const r = readClientHelloSni(i % 3 === 0 ? Buffer.concat([Buffer.from([0x16, 0x03]), randomBytes(i % 500)]) : bytes);
      assert.ok(['need-more', 'malformed', 'tls'].includes(r.kind), r.kind);
      // A mutation inside the name is read as the bytes say: the proxy compares that name, whatever it is.
      if (r.kind === 'tls' && r.serverName !== undefined && i % 3 !== 0) assert.equal(r.serverName.length, 'blocked.test'.length);
    }
  });
});
