// The egress proxy in-process against a loopback recorder, with the client as the attacker: a
// ClientHello naming a denied host, split over records and segments inside a CONNECT tunnel to an
// allowed host, must not reach the server; what cannot be read whole in time or size is refused.
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { compileEgressRules } from '../../../src/core/egress.js';
import type { EgressLogEntry } from '../../../src/proxy/log.js';
import { createEgressProxy } from '../../../src/proxy/server.js';
import { MAX_HELLO_BYTES } from '../../../src/proxy/sni.js';
import { clientHello, handshakeOf, record, reframed } from './tls-hello.js';

// Long enough for a hello sent byte by byte on a loaded machine (a 400 ms bound failed there), short
// enough for the test of a hello that is never whole.
const HELLO_TIMEOUT_MS = 1500;

describe('egress proxy: ClientHellos split, slow, oversize or broken', () => {
  let recorder: Server;
  let recorderPort: number;
  let proxy: ReturnType<typeof createEgressProxy>;
  let proxyPort: number;
  const received: Buffer[] = [];
  const log: EgressLogEntry[] = [];
  let blocked: Buffer;
  let allowed: Buffer;

  before(async () => {
    recorder = createServer((s) => { s.on('data', (c) => received.push(c)); s.on('error', () => {}); });
    await new Promise<void>((r) => recorder.listen(0, '127.0.0.1', r));
    recorderPort = (recorder.address() as AddressInfo).port;
    const rules = compileEgressRules({ policy: 'deny', allow: ['allowed.test', `127.0.0.1:${recorderPort}`], deny: ['blocked.test'] });
    proxy = createEgressProxy({ sandbox: 'unit', rules, log: (e) => log.push(e), helloTimeoutMs: HELLO_TIMEOUT_MS, lookup: async () => [{ address: '127.0.0.1', family: 4 }] });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    proxyPort = (proxy.address() as AddressInfo).port;
    [blocked, allowed] = await Promise.all([clientHello('blocked.test'), clientHello('allowed.test')]);
  });
  after(() => { proxy.close(); recorder.close(); proxy.closeAllConnections?.(); });

  /** Opens CONNECT allowed.test, sends `pieces` one write each (a pause between them), and waits for the tunnel's log line. */
  async function tunnel(pieces: readonly Buffer[], pauseMs = 0, holdOpenMs = 300) {
    received.length = 0;
    const count = log.length;
    const socket: Socket = connect(proxyPort, '127.0.0.1');
    socket.setNoDelay(true);
    socket.on('error', () => {});
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    await new Promise<void>((r) => socket.once('data', () => r()).write(`CONNECT allowed.test:${recorderPort} HTTP/1.1\r\nHost: allowed.test:${recorderPort}\r\n\r\n`));
    for (const piece of pieces) {
      if (socket.destroyed) break;
      socket.write(piece);
      // A pause lets each write go out as its own segment.
      await new Promise((r) => (pauseMs ? setTimeout(r, pauseMs) : setImmediate(r)));
    }
    await Promise.race([closed, new Promise((r) => setTimeout(r, holdOpenMs))]);
    const stillOpen = !socket.destroyed && !socket.readableEnded;
    socket.destroy();
    for (let i = 0; i < 200 && log.length === count; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50));
    return { entry: log.at(-1)!, reached: Buffer.concat(received), stillOpen };
  }
  const bytesOf = (b: Buffer) => Array.from(b, (x) => Buffer.from([x]));

  it('refuses a hello naming a denied host split over two records, at several offsets, sent byte by byte', async () => {
    const length = handshakeOf(blocked).length;
    for (const cut of [1, 4, 40, 43, length - 1]) {
      const r = await tunnel(bytesOf(reframed(blocked, [cut])));
      assert.equal(r.reached.length, 0, `cut ${cut}: no byte reached the server`);
      assert.deepEqual([r.entry.decision, r.entry.rule], ['deny', 'tls server name mismatch (blocked.test)'], `cut ${cut}`);
    }
  });

  it('passes a split hello that names the tunnel\'s own host, byte for byte', async () => {
    const framed = reframed(allowed, [10, 11, 200]);
    const r = await tunnel([framed.subarray(0, 3), framed.subarray(3, 30), framed.subarray(30)], 20);
    assert.equal(r.entry.decision, 'allow');
    assert.ok(r.reached.equals(framed), 'the server got exactly what the client sent');
  });

  it('refuses a hello that is not whole in time, and logs why', async () => {
    const framed = reframed(blocked, [100]);
    const started = Date.now();
    const r = await tunnel([framed.subarray(0, 120)], 0, HELLO_TIMEOUT_MS + 1000);
    assert.ok(Date.now() - started < HELLO_TIMEOUT_MS + 1000, 'closed by the proxy, not by the test');
    assert.equal(r.reached.length, 0);
    assert.deepEqual([r.entry.decision, r.entry.rule], ['deny', `unreadable tls client hello (not whole after ${HELLO_TIMEOUT_MS / 1000} s)`]);
  });

  it('refuses garbage after a TLS start, a record of another type inside the hello, and an oversize stream of tiny records', async () => {
    let r = await tunnel([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x00])]);
    assert.deepEqual([r.entry.decision, r.entry.rule], ['deny', 'unreadable tls client hello (an empty handshake record)']);
    const message = handshakeOf(blocked);
    r = await tunnel([record(message.subarray(0, 20)), record(Buffer.from('GET / HTTP/1.1\r\n'), 0x17), record(message.subarray(20))]);
    assert.equal(r.reached.length, 0);
    assert.match(r.entry.rule, /^unreadable tls client hello \(a record of type 23/);
    // A hello announced at 32 KiB whose records carry one byte each: refused once the bound is passed.
    const big = Buffer.concat([Buffer.from([0x01, 0x00, 0x7f, 0xfc]), Buffer.alloc(0x7ffc)]);
    const tiny = Buffer.concat(Array.from({ length: Math.ceil(MAX_HELLO_BYTES / 6) + 10 }, (_, i) => record(big.subarray(i, i + 1))));
    const started = performance.now();
    r = await tunnel(Array.from({ length: Math.ceil(tiny.length / 4096) }, (_, i) => tiny.subarray(i * 4096, (i + 1) * 4096)));
    assert.equal(r.reached.length, 0);
    assert.match(r.entry.rule, /^unreadable tls client hello \(no whole ClientHello in the first \d+ bytes\)/);
    assert.ok(performance.now() - started < 3000, 'refused without a parse per segment');
  });

  it('still passes a protocol that is not TLS, as before', async () => {
    const r = await tunnel([Buffer.from('SSH-2.0-OpenSSH_9.2\r\n')]);
    assert.equal(r.entry.decision, 'allow');
    assert.equal(r.reached.toString(), 'SSH-2.0-OpenSSH_9.2\r\n');
  });
});
