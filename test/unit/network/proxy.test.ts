// The egress proxy in-process, against loopback servers only: names are given to the proxy through
// its lookup, as Docker's resolver gives them in a container. Raw sockets play the attacker.
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { compileEgressRules } from '../../../src/core/egress.js';
import type { EgressLogEntry } from '../../../src/proxy/log.js';
import { createEgressProxy, httpRequestStart } from '../../../src/proxy/server.js';
import { rawExchange } from './raw-socket.js';

const HOSTS: Record<string, string> = { 'allowed.test': '127.0.0.1', 'blocked.test': '127.0.0.1', 'rebind.test': '127.0.0.1', 'other.test': '127.0.0.1' };

describe('egress proxy (loopback)', () => {
  let origin: Server;
  let proxy: Server;
  let originPort: number;
  // A TCP server that records what reaches it (TLS bytes included).
  let recorder: TcpServer;
  let recorderPort: number;
  const received: Buffer[] = [];
  let proxyPort: number;
  const log: EgressLogEntry[] = [];
  /** Every request the origin read, as "METHOD URL host=HOST body=BODY". */
  const originSaw: string[] = [];

  before(async () => {
    origin = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c)).on('end', () => {
        originSaw.push(`${req.method} ${req.url} host=${req.headers.host} body=${body}`);
        res.end(`origin saw ${req.method} ${req.url} host=${req.headers.host} body=${body}`);
      });
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    originPort = (origin.address() as AddressInfo).port;
    recorder = createTcpServer((s) => { s.on('data', (c) => received.push(c)); s.on('error', () => {}); });
    await new Promise<void>((r) => recorder.listen(0, '127.0.0.1', r));
    recorderPort = (recorder.address() as AddressInfo).port;
    const rules = compileEgressRules({ policy: 'deny', allow: ['allowed.test', 'rebind.test', `127.0.0.1:${originPort}`, `127.0.0.1:${recorderPort}`], deny: ['blocked.test'] });
    // rebind.test is allowed by name, but only 127.0.0.1 *on the origin's port* is allowed by address.
    proxy = createEgressProxy({
      sandbox: 'unit', rules, log: (e) => log.push(e),
      lookup: async (name) => {
        if (!(name in HOSTS)) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
        return [{ address: HOSTS[name], family: 4 }];
      },
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    proxyPort = (proxy.address() as AddressInfo).port;
  });
  after(() => { proxy.close(); origin.close(); recorder.close(); proxy.closeAllConnections?.(); origin.closeAllConnections?.(); });

  /** Sends raw bytes to the proxy, returns everything it answers until it closes (or 2 s of silence). */
  const raw = (text: string) => rawExchange(proxyPort, text);

  const viaProxy = (url: string, headers: Record<string, string> = {}) => new Promise<{ status: number; headers: Record<string, any>; body: string }>((resolve, reject) => {
    // As proxy clients do: the Host header names the target, not the proxy.
    const req = request({ host: '127.0.0.1', port: proxyPort, path: url, setHost: false, headers: { Host: new URL(url).host, ...headers } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c)).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });

  it('forwards an allowed absolute-URI request to the checked address, keeping the Host header', async () => {
    const r = await viaProxy(`http://allowed.test:${originPort}/path?q=1`);
    assert.equal(r.status, 200);
    assert.equal(r.body, `origin saw GET /path?q=1 host=allowed.test:${originPort} body=`);
    const last = log.at(-1)!;
    assert.equal(last.decision, 'allow');
    assert.equal(last.rule, 'allow allowed.test');
    assert.equal(last.address, '127.0.0.1');
    assert.ok(last.bytesReceived > 0);
  });

  it('tunnels CONNECT to an allowed host', async () => {
    const out = await raw(`CONNECT allowed.test:${originPort} HTTP/1.1\r\nHost: allowed.test:${originPort}\r\n\r\nGET /tunnel HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n`);
    assert.match(out, /^HTTP\/1\.1 200 Connection Established\r\n\r\nHTTP\/1\.1 200 OK/);
    assert.match(out, /origin saw GET \/tunnel host=allowed\.test/);
    // The plain HTTP request in the tunnel is a line, and the tunnel another when it ends, with what it carried.
    const [request, tunnel] = log.slice(-2);
    assert.deepEqual([request.method, request.host, request.decision], ['GET', 'allowed.test', 'allow']);
    assert.ok(request.bytesReceived > 0);
    assert.deepEqual([tunnel.method, tunnel.host, tunnel.decision], ['CONNECT', 'allowed.test', 'allow']);
    assert.ok(tunnel.bytesSent > 0 && tunnel.bytesReceived > 0);
  });

  it('refuses a denied host with 403, the rule in a header and an explanation, for HTTP and CONNECT', async () => {
    const r = await viaProxy(`http://blocked.test:${originPort}/`);
    assert.equal(r.status, 403);
    assert.equal(r.headers['x-paddock-rule'], 'deny blocked.test');
    assert.match(r.body, /blocked\.test:\d+ is not allowed \(rule: deny blocked\.test\)/);
    const out = await raw(`CONNECT BLOCKED.test.:${originPort} HTTP/1.1\r\n\r\n`);
    assert.match(out, /^HTTP\/1\.1 403 Forbidden\r\n[\s\S]*X-Paddock-Rule: deny blocked\.test\r\n/);
    assert.doesNotMatch(out, /origin saw/);
    assert.deepEqual(log.slice(-2).map((e) => [e.method, e.host, e.decision, e.rule]), [['GET', 'blocked.test', 'deny', 'deny blocked.test'], ['CONNECT', 'blocked.test', 'deny', 'deny blocked.test']]);
  });

  it('refuses a name that resolves to an address no address rule allows (DNS rebinding)', async () => {
    // rebind.test is allowed by name; 127.0.0.1 is allowed only on the origin's port.
    const r = await viaProxy('http://rebind.test:9/');
    assert.equal(r.status, 403);
    assert.match(r.headers['x-paddock-rule'], /^loopback 127\.0\.0\.0\/8 address \(rebind\.test resolved to 127\.0\.0\.1\)$/);
  });

  it('refuses a Host header that names another host than the target, for HTTP and CONNECT', async () => {
    const r = await viaProxy(`http://allowed.test:${originPort}/`, { Host: `blocked.test:${originPort}` });
    assert.equal(r.status, 400);
    assert.equal(r.headers['x-paddock-rule'], 'host header mismatch');
    const out = await raw(`CONNECT allowed.test:${originPort} HTTP/1.1\r\nHost: blocked.test:${originPort}\r\n\r\n`);
    assert.match(out, /^HTTP\/1\.1 400 Bad Request[\s\S]*host header mismatch/);
    const twice = await raw(`GET http://allowed.test:${originPort}/ HTTP/1.1\r\nHost: allowed.test:${originPort}\r\nHost: blocked.test\r\n\r\n`);
    assert.doesNotMatch(twice, /origin saw/);
  });

  it('refuses userinfo tricks in CONNECT and URLs, and requests that are not proxy requests', async () => {
    const userinfo = await raw(`CONNECT blocked.test@allowed.test:${originPort} HTTP/1.1\r\n\r\n`);
    assert.match(userinfo, /^HTTP\/1\.1 400 Bad Request[\s\S]*contains "@"/);
    const inUrl = await raw(`GET http://blocked.test@allowed.test:${originPort}/ HTTP/1.1\r\nHost: allowed.test:${originPort}\r\nConnection: close\r\n\r\n`);
    assert.match(inUrl, /^HTTP\/1\.1 400[\s\S]*Credentials in the URL/);
    const origin = await raw('GET / HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n');
    assert.match(origin, /^HTTP\/1\.1 400[\s\S]*send absolute URLs/);
  });

  it('decides IP literals in other spellings as the address they are', async () => {
    // 2130706433 is 127.0.0.1: allowed by the address rule on the origin's port only.
    const ok = await viaProxy(`http://2130706433:${originPort}/`);
    assert.equal(ok.status, 200);
    assert.equal(log.at(-1)!.host, '127.0.0.1');
    const other = await raw(`CONNECT 0x7f.1:9 HTTP/1.1\r\n\r\n`);
    assert.match(other, /^HTTP\/1\.1 403[\s\S]*X-Paddock-Rule: policy deny/);
    const mapped = await raw(`CONNECT [::ffff:127.0.0.1]:9 HTTP/1.1\r\n\r\n`);
    assert.match(mapped, /^HTTP\/1\.1 403[\s\S]*X-Paddock-Rule: policy deny/);
    assert.equal(log.at(-1)!.host, '127.0.0.1');
  });

  /** Opens a CONNECT tunnel to allowed.test (the recorder) and starts TLS in it with `servername`. */
  const tlsThroughTunnel = (servername: string) => new Promise<string>((resolve) => {
    const socket = connect(proxyPort, '127.0.0.1');
    socket.once('data', (answer) => {
      const tls = tlsConnect({ socket, servername, rejectUnauthorized: false });
      tls.on('error', () => {});
      tls.on('close', () => resolve(answer.toString().split('\r\n')[0]));
      setTimeout(() => tls.destroy(), 500);
    });
    socket.write(`CONNECT allowed.test:${recorderPort} HTTP/1.1\r\nHost: allowed.test:${recorderPort}\r\n\r\n`);
  });

  it('passes TLS whose server name is the host of the tunnel; cuts a tunnel whose TLS names another host', async () => {
    // A tunnel is logged when it closes: wait for its line.
    const next = async (run: () => Promise<string>) => {
      const count = log.length;
      const answer = await run();
      for (let i = 0; i < 100 && log.length === count; i++) await new Promise((r) => setTimeout(r, 10));
      return { answer, entry: log.at(-1)! };
    };
    received.length = 0;
    let r = await next(() => tlsThroughTunnel('allowed.test'));
    assert.equal(r.answer, 'HTTP/1.1 200 Connection Established');
    assert.ok(Buffer.concat(received).includes(Buffer.from('allowed.test')), 'the ClientHello reached the server');
    assert.equal(r.entry.decision, 'allow');
    received.length = 0;
    r = await next(() => tlsThroughTunnel('BLOCKED.test'));
    assert.equal(r.answer, 'HTTP/1.1 200 Connection Established');
    assert.equal(Buffer.concat(received).length, 0, 'no byte of the ClientHello reached the server');
    assert.deepEqual([r.entry.decision, r.entry.rule], ['deny', 'tls server name mismatch (BLOCKED.test)']);
    // The same name in another spelling is the same host.
    r = await next(() => tlsThroughTunnel('Allowed.Test.'));
    assert.equal(r.entry.decision, 'allow');
  });

  it('plain HTTP in a CONNECT tunnel may ask the tunnel\'s host only, request by request (a shared front routes by Host)', async () => {
    // The origin plays a shared front that serves whichever host a request names.
    const tunnelled = (requests: string) => raw(`CONNECT allowed.test:${originPort} HTTP/1.1\r\nHost: allowed.test:${originPort}\r\n\r\n${requests}`);
    const own = await tunnelled(`GET /a HTTP/1.1\r\nHost: allowed.test:${originPort}\r\nConnection: close\r\n\r\n`);
    assert.match(own, /origin saw GET \/a host=allowed\.test/);
    // A second request on the same connection, for a denied host the front also serves.
    const second = await tunnelled(`GET /a HTTP/1.1\r\nHost: allowed.test:${originPort}\r\n\r\nGET /b HTTP/1.1\r\nHost: blocked.test:${originPort}\r\n\r\n`);
    assert.match(second, /origin saw GET \/a host=allowed\.test/);
    assert.doesNotMatch(second, /host=blocked\.test/);
    assert.match(second, /HTTP\/1\.1 400[\s\S]*host header mismatch/);
    assert.ok(log.slice(-3).some((e) => e.rule === 'host header mismatch' && e.decision === 'deny'), JSON.stringify(log.slice(-3)));
    // The first request already names another host, by Host or by an absolute URL.
    const first = await tunnelled(`GET / HTTP/1.1\r\nHost: blocked.test:${originPort}\r\n\r\n`);
    assert.doesNotMatch(first, /origin saw/);
    const absolute = await tunnelled(`GET http://blocked.test:${originPort}/ HTTP/1.1\r\nHost: allowed.test:${originPort}\r\n\r\n`);
    assert.doesNotMatch(absolute, /origin saw/);
    assert.match(absolute, /tunnel host mismatch/);
    // The request sent a byte at a time, once the tunnel is open, is still read whole before
    // anything passes (a request line ending in "\r" with its "\n" still to come once passed raw).
    const slow = await new Promise<string>((resolve) => {
      const socket = connect(proxyPort, '127.0.0.1');
      let out = '';
      const rest = `GET /c HTTP/1.1\r\nHost: blocked.test:${originPort}\r\n\r\n`;
      let i = 0;
      const tick = () => { if (i < rest.length) { socket.write(rest[i++]); setTimeout(tick, 3); } else setTimeout(() => socket.destroy(), 300); };
      socket.once('data', tick);
      socket.on('data', (c) => (out += c)).on('close', () => resolve(out)).on('error', () => {});
      socket.write(`CONNECT allowed.test:${originPort} HTTP/1.1\r\n\r\n`);
    });
    assert.match(slow, /^HTTP\/1\.1 200 Connection Established/);
    assert.doesNotMatch(slow, /origin saw/);
  });

  it('a kept-alive tunnel carrying plain HTTP is cut when its host is denied, between requests too', async () => {
    const rules = compileEgressRules({ policy: 'deny', allow: ['allowed.test', `127.0.0.1:${originPort}`], deny: [] });
    const entries: EgressLogEntry[] = [];
    const own = createEgressProxy({ sandbox: 'unit', rules, log: (e) => entries.push(e), lookup: async () => [{ address: '127.0.0.1', family: 4 }] });
    await new Promise<void>((r) => own.listen(0, '127.0.0.1', r));
    try {
      const socket = connect((own.address() as AddressInfo).port, '127.0.0.1');
      let out = '';
      const closed = new Promise<void>((r) => socket.on('close', () => r()));
      socket.on('data', (c) => (out += c)).on('error', () => {});
      socket.write(`CONNECT allowed.test:${originPort} HTTP/1.1\r\n\r\nGET /first HTTP/1.1\r\nHost: allowed.test:${originPort}\r\n\r\n`);
      for (let i = 0; i < 100 && !out.includes('origin saw GET /first'); i++) await new Promise((r) => setTimeout(r, 20));
      assert.match(out, /origin saw GET \/first/);
      assert.equal(own.setRules(compileEgressRules({ policy: 'deny', allow: [], deny: [] }), 'unit'), 1, 'the idle tunnel is an open connection');
      await closed;
    } finally {
      own.close();
    }
  });

  it('other protocols in a tunnel pass as before', async () => {
    received.length = 0;
    const out = await raw(`CONNECT allowed.test:${recorderPort} HTTP/1.1\r\n\r\nSSH-2.0-OpenSSH_9.2\r\n`);
    assert.match(out, /^HTTP\/1\.1 200 Connection Established/);
    assert.equal(Buffer.concat(received).toString(), 'SSH-2.0-OpenSSH_9.2\r\n');
  });

  it('reads a tunnel\'s first bytes as HTTP whenever a server would: empty lines first, loose whitespace, any method', () => {
    const kind = (text: string) => httpRequestStart(Buffer.from(text, 'latin1'));
    for (const text of ['GET / HTTP/1.1\r\n', '\r\nGET / HTTP/1.1\r\n', '\nGET / HTTP/1.1\r\n', '\r\n\n\r\nPOST /x HTTP/1.0\r\n', 'GET  /secret HTTP/1.1\r\n', 'GET /a  HTTP/1.1\r\n',
      'GET\t/a HTTP/1.1\r\n', 'get /a HTTP/1.1\r\n', 'FOO-BAR /a HTTP/1.1\r\n', 'GET /a\r\n', 'PRI * HTTP/2.0\r\n']) assert.equal(kind(text), 'http', JSON.stringify(text));
    // Not whole yet: only empty lines, or a method and the start of a target.
    for (const text of ['', '\r\n', '\r\n\r', '\nGE', 'GET  /sec', 'get /x HT', 'M-SEARCH', 'SSH-2.0-OpenSSH', 'get', 'g', 'ping', '1x', '*']) assert.equal(kind(text), 'need-more', JSON.stringify(text));
    // Looks like HTTP, but no request line: refused rather than passed raw.
    for (const text of ['GET / HTTP/1.1 extra\r\n', ' GET / HTTP/1.1\r\n', '\r\n/ HTTP/1.1\r\n', 'GET / H TTP/1.1 HTTP/1.1\r\n']) assert.equal(kind(text), 'unreadable', JSON.stringify(text));
    for (const text of ['ping\r\n', 'A\x00\x00\x00', '\x16\x03\x01', 'SSH-2.0-OpenSSH_9.2\r\n', '*1\r\n$4\r\nPING\r\n', 'SET key value\r\n', '\x00\x00\x00\x08\x04\xd2\x16\x2f']) assert.equal(kind(text), 'other', JSON.stringify(text));
  });

  it('decides every request in a tunnel that starts with empty lines or loose whitespace; none reaches another host', async () => {
    const tunnel = `CONNECT allowed.test:${originPort} HTTP/1.1\r\nHost: allowed.test:${originPort}\r\n\r\n`;
    for (const [name, request] of [
      ['CRLF first', '\r\nPOST /exfil HTTP/1.1\r\nHost: blocked.test\r\nContent-Length: 11\r\nConnection: close\r\n\r\nsecret=1234'],
      ['bare LF first', '\nGET /lf HTTP/1.1\r\nHost: blocked.test\r\nConnection: close\r\n\r\n'],
      ['two spaces', 'GET  /secret HTTP/1.1\r\nHost: blocked.test\r\nConnection: close\r\n\r\n'],
    ]) {
      originSaw.length = 0;
      const before = log.length;
      const out = await raw(tunnel + request);
      assert.deepEqual(originSaw, [], name);
      assert.match(out, /^HTTP\/1\.1 200 Connection Established\r\n\r\nHTTP\/1\.1 400 Bad Request[\s\S]*X-Paddock-Rule: host header mismatch/, name);
      // The request has its own line in the log, as a denial naming the rule.
      assert.ok(log.slice(before).some((e) => e.decision === 'deny' && e.rule === 'host header mismatch' && e.method !== 'CONNECT'), `${name}: ${JSON.stringify(log.slice(before))}`);
    }
    // The same shapes for the tunnel's own host are served, one decided line each.
    originSaw.length = 0;
    const own = await raw(`${tunnel}\r\n\r\nGET  /own HTTP/1.1\r\nHost: allowed.test:${originPort}\r\nConnection: close\r\n\r\n`);
    assert.match(own, /origin saw GET \/own host=allowed\.test/);
    assert.deepEqual(originSaw, [`GET /own host=allowed.test:${originPort} body=`]);
  });

  it('a method in small letters sent alone, the rest of its request later, is read as HTTP too: nothing passes raw', async () => {
    received.length = 0;
    const out = await new Promise<string>((resolve) => {
      const socket = connect(proxyPort, '127.0.0.1');
      let text = '';
      socket.once('data', () => {
        socket.write('get');
        setTimeout(() => socket.write(` /exfil?k=secret HTTP/1.1\r\nHost: blocked.test\r\n\r\n`), 100);
        setTimeout(() => socket.destroy(), 600);
      });
      socket.on('data', (c) => (text += c)).on('close', () => resolve(text)).on('error', () => {});
      socket.write(`CONNECT allowed.test:${recorderPort} HTTP/1.1\r\n\r\n`);
    });
    assert.match(out, /^HTTP\/1\.1 200 Connection Established\r\n\r\nHTTP\/1\.1 400 Bad Request/);
    assert.equal(Buffer.concat(received).toString(), '', 'nothing reached the server');
  });

  it('refuses a tunnel whose first line looks like HTTP but is no request line, and a request Node cannot read, with a 400 and a log line', async () => {
    received.length = 0;
    const before = log.length;
    const odd = await raw(`CONNECT allowed.test:${recorderPort} HTTP/1.1\r\n\r\nGET / HTTP/1.1 x\r\nHost: blocked.test\r\n\r\n`);
    assert.match(odd, /^HTTP\/1\.1 200 Connection Established\r\n\r\nHTTP\/1\.1 400 Bad Request[\s\S]*X-Paddock-Rule: unreadable http request line/);
    assert.equal(Buffer.concat(received).length, 0, 'nothing reached the server');
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(log.slice(before).some((e) => e.method === 'CONNECT' && e.decision === 'deny' && e.rule === 'unreadable http request line'), JSON.stringify(log.slice(before)));
    // A tab after the method: classified HTTP, which Node's parser refuses (it is never piped raw).
    const tab = await raw(`CONNECT allowed.test:${recorderPort} HTTP/1.1\r\n\r\nGET\t/ HTTP/1.1\r\nHost: blocked.test\r\n\r\n`);
    assert.match(tab, /HTTP\/1\.1 400 Bad Request[\s\S]*X-Paddock-Rule: unreadable http request/);
    assert.equal(Buffer.concat(received).length, 0, 'nothing reached the server');
    assert.ok(log.slice(before).some((e) => e.method === '?' && e.decision === 'deny' && e.rule === 'unreadable http request'), JSON.stringify(log.slice(before)));
  });

  it('keeps a request body framed upstream whatever the method: a body never reads as a second request', async () => {
    const smuggled = `POST /smuggled HTTP/1.1\r\nHost: blocked.test\r\nContent-Length: 11\r\n\r\nsecret=5678`;
    const chunked = `${Buffer.byteLength(smuggled).toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`;
    const host = `allowed.test:${originPort}`;
    for (const [name, text] of [
      ['GET, chunked', `GET http://${host}/ HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunked}`],
      ['DELETE, chunked', `DELETE http://${host}/ HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunked}`],
      ['GET, Content-Length named in Connection', `GET http://${host}/ HTTP/1.1\r\nHost: ${host}\r\nConnection: content-length, close\r\nContent-Length: ${Buffer.byteLength(smuggled)}\r\n\r\n${smuggled}`],
      ['OPTIONS, Transfer-Encoding and Host named in Connection', `OPTIONS http://${host}/ HTTP/1.1\r\nHost: ${host}\r\nConnection: transfer-encoding, host, close\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}`],
      ['GET in a tunnel, chunked', `CONNECT ${host} HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunked}`],
    ]) {
      originSaw.length = 0;
      const out = await raw(text);
      await new Promise((r) => setTimeout(r, 50));
      // One request reached the origin, carrying the whole body as its body.
      assert.equal(originSaw.length, 1, `${name}: ${JSON.stringify(originSaw)}`);
      assert.match(originSaw[0], /^\w+ \/ host=allowed\.test:\d+ body=POST \/smuggled/, name);
      assert.match(out, /HTTP\/1\.1 200 OK/, name);
    }
  });

  it('refuses a body in a transfer coding it cannot keep (400, logged), and sends nothing', async () => {
    originSaw.length = 0;
    const host = `allowed.test:${originPort}`;
    const out = await raw(`POST http://${host}/ HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n`);
    assert.match(out, /^HTTP\/1\.1 400 Bad Request[\s\S]*X-Paddock-Rule: unframed request body/);
    assert.deepEqual(originSaw, []);
    assert.deepEqual([log.at(-1)!.decision, log.at(-1)!.rule], ['deny', 'unframed request body']);
  });

  it('answers 502 and logs an error when an allowed name does not resolve', async () => {
    const rules = compileEgressRules({ policy: 'allow', allow: [], deny: [] });
    const entries: EgressLogEntry[] = [];
    const open = createEgressProxy({ sandbox: 'unit', rules, log: (e) => entries.push(e), lookup: async () => { throw Object.assign(new Error('x'), { code: 'ENOTFOUND' }); } });
    await new Promise<void>((r) => open.listen(0, '127.0.0.1', r));
    try {
      const port = (open.address() as AddressInfo).port;
      const status = await new Promise<number>((resolve) => request({ host: '127.0.0.1', port, path: 'http://nowhere.test/', setHost: false, headers: { Host: 'nowhere.test' } }, (res) => { res.resume(); resolve(res.statusCode!); }).end());
      assert.equal(status, 502);
      assert.equal(entries[0].decision, 'error');
      assert.match(entries[0].error!, /ENOTFOUND/);
    } finally {
      open.close();
    }
  });
});
