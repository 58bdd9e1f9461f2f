// Live network rules: the host's rules file (parse, merge, provenance), the proxy's watcher on a
// real file, and a real proxy (loopback only) that changes rules while a tunnel and a request are open.
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compileEgressRules } from '../../../src/core/egress.js';
import { compileLiveRules, liveRulesFrom, LiveRulesError, mergeLiveRules, parseLiveRules, rulesChange, rulesInForce, withBase, withSessionRule } from '../../../src/core/liveRules.js';
import { watchLiveRules } from '../../../src/proxy/liveRules.js';
import type { EgressLogEntry } from '../../../src/proxy/log.js';
import { createEgressProxy, type EgressProxy } from '../../../src/proxy/server.js';

const base = liveRulesFrom({ policy: 'deny', allow: ['api.example.com', 'blocked.test'], deny: ['blocked.test', '*.evil.test'] }, ['registry.npmjs.org'], 'create');

describe('live rules file', () => {
  it('round-trips what the host writes, and merges every part (deny lists joined, allow lists joined)', () => {
    const withSession = withSessionRule(withSessionRule(base, 'allow', 'docs.test', 'network allow'), 'deny', 'tracker.test', 'network deny');
    const parsed = parseLiveRules(JSON.stringify(withSession));
    assert.deepEqual(parsed, withSession);
    assert.deepEqual(mergeLiveRules(parsed), {
      policy: 'deny',
      allow: ['api.example.com', 'blocked.test', 'registry.npmjs.org', 'docs.test'],
      deny: ['blocked.test', '*.evil.test', 'tracker.test'],
    });
  });

  it('says where each rule came from, deny first, and marks allow rules a deny rule overrides', () => {
    const rules = rulesInForce(withSessionRule(base, 'allow', 'x.evil.test', 'network allow'));
    assert.deepEqual(rules.map((r) => `${r.list} ${r.rule} ${r.from}`), [
      'deny blocked.test policy', 'deny *.evil.test policy',
      'allow x.evil.test session', 'allow api.example.com policy', 'allow blocked.test policy', 'allow registry.npmjs.org host registries',
    ]);
    assert.equal(rules.find((r) => r.rule === 'x.evil.test')?.overriddenBy, '*.evil.test (policy)');
    assert.equal(rules.find((r) => r.list === 'allow' && r.rule === 'blocked.test')?.overriddenBy, 'blocked.test (policy)');
    assert.equal(rules.find((r) => r.rule === 'api.example.com')?.overriddenBy, undefined);
  });

  it('a session allow takes the same rule out of the session deny list, and the reverse; a new base keeps the session', () => {
    const denied = withSessionRule(base, 'deny', 'docs.test', 'network deny');
    const allowed = withSessionRule(denied, 'allow', 'docs.test', 'network allow');
    assert.deepEqual(allowed.session, { allow: ['docs.test'], deny: [] });
    const rebased = withBase(allowed, { policy: 'allow', allow: [], deny: ['x.test'] }, [], 'policy apply');
    assert.deepEqual(rebased.session, allowed.session);
    assert.deepEqual(rebased.base, { policy: 'allow', allow: [], deny: ['x.test'], registries: [] });
    assert.equal(rebased.source, 'policy apply');
  });

  it('refuses files it cannot trust whole, saying why: not JSON, wrong shapes, bad rules, too large', () => {
    const good = JSON.parse(JSON.stringify(base));
    const bad: [string, RegExp][] = [
      ['{"version":1,', /not JSON/],
      ['[]', /not a JSON object/],
      [JSON.stringify({ ...good, version: 2 }), /unknown version 2/],
      [JSON.stringify({ ...good, base: { ...good.base, policy: 'open' } }), /base\.policy/],
      [JSON.stringify({ ...good, base: { ...good.base, allow: 'everything' } }), /base\.allow/],
      [JSON.stringify({ ...good, session: { allow: [1], deny: [] } }), /session\.allow/],
      [JSON.stringify({ ...good, changedAt: 'yesterday' }), /changedAt/],
      [JSON.stringify({ ...good, base: { ...good.base, allow: Array(10_001).fill('a.test') } }), /more than 10000 rules|larger than/],
      [' '.repeat(1024 * 1024 + 1), /larger than/],
    ];
    for (const [text, reason] of bad) assert.throws(() => parseLiveRules(text), (err: Error) => err instanceof LiveRulesError && reason.test(err.message), text.slice(0, 80));
    // Parses, but a rule does not compile: the whole file is refused (a bad deny must not become no deny).
    const badRule = parseLiveRules(JSON.stringify({ ...good, session: { allow: [], deny: ['evil.test/path'] } }));
    assert.throws(() => compileLiveRules(badRule), /bad rules: network\.deny\[2\]: "evil\.test\/path" is not a host name/);
  });

  it('describes a change as rules added and removed, for the egress log', () => {
    const next = withBase(base, { policy: 'deny', allow: ['api.example.com', 'docs.test'], deny: ['*.evil.test'] }, ['registry.npmjs.org'], 'editor');
    const change = rulesChange(mergeLiveRules(base), next);
    assert.deepEqual(change.added, { allow: ['docs.test'], deny: [] });
    assert.deepEqual(change.removed, { allow: ['blocked.test'], deny: ['blocked.test'] });
    assert.equal(change.source, 'editor');
  });
});

describe('live rules watcher (a real file)', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'paddock-live-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reports each new version within a second, and refuses a broken one once, keeping nothing of it', async () => {
    const file = join(dir, 'rules.json');
    const seen: string[] = [];
    const refused: string[] = [];
    const write = (text: string) => { writeFileSync(`${file}.tmp`, text); renameSync(`${file}.tmp`, file); };
    write(JSON.stringify(base));
    const watcher = watchLiveRules(file, { onRules: (r) => seen.push(r.source), onRefused: (reason) => refused.push(reason) }, 200);
    try {
      watcher.check();
      assert.deepEqual(seen, ['create']);
      const until = async (cond: () => boolean) => { const t = Date.now(); while (!cond() && Date.now() - t < 1000) await new Promise((r) => setTimeout(r, 10)); return Date.now() - t; };
      write(JSON.stringify(withSessionRule(base, 'allow', 'docs.test', 'network allow')));
      const ms = await until(() => seen.length === 2);
      assert.deepEqual(seen, ['create', 'network allow'], `not seen within 1 s (${ms} ms)`);
      write('{"version": 1, "base":');
      await until(() => refused.length > 0);
      await new Promise((r) => setTimeout(r, 500)); // several polls of the same broken file
      assert.equal(refused.length, 1);
      assert.match(refused[0], /not JSON/);
      assert.equal(seen.length, 2);
    } finally {
      watcher.close();
    }
  });
});

describe('proxy with live rules (loopback)', () => {
  let origin: Server;
  let slow: TcpServer;
  let proxy: EgressProxy;
  let originPort: number;
  let slowPort: number;
  let proxyPort: number;
  const log: EgressLogEntry[] = [];
  const rulesWith = (allow: string[], deny: string[] = []) => compileEgressRules({ policy: 'deny', allow, deny });

  before(async () => {
    origin = createServer((req, res) => {
      if (req.url === '/slow') { res.write('start\n'); return; } // a long download, never ends
      res.end('hello\n');
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    originPort = (origin.address() as AddressInfo).port;
    slow = createTcpServer((s) => { s.on('data', (c) => s.write(c)); s.on('error', () => {}); }); // echoes: a tunnel's far end
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    slowPort = (slow.address() as AddressInfo).port;
    proxy = createEgressProxy({
      sandbox: 'unit', rules: rulesWith([]), log: (e) => log.push(e),
      lookup: async (name) => {
        if (name !== 'docs.test' && name !== 'echo.test') throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
        return [{ address: '127.0.0.1', family: 4 }];
      },
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    proxyPort = (proxy.address() as AddressInfo).port;
  });
  after(() => { proxy.close(); proxy.closeAllConnections(); origin.close(); origin.closeAllConnections(); slow.close(); });

  const get = (path: string) => new Promise<{ status: number; socket: Socket; body: Promise<string> }>((resolve) => {
    const socket = connect(proxyPort, '127.0.0.1');
    socket.on('error', () => {});
    let text = '';
    const body = new Promise<string>((done) => socket.on('close', () => done(text)));
    socket.on('data', (c) => {
      text += c;
      const m = /^HTTP\/1\.1 (\d+)/.exec(text);
      if (m) resolve({ status: Number(m[1]), socket, body });
    });
    socket.write(`GET http://docs.test:${originPort}${path} HTTP/1.1\r\nHost: docs.test:${originPort}\r\n\r\n`);
  });

  it('a host allowed live passes on the next request; denied live, its open tunnel and open download are cut', async () => {
    assert.equal((await get('/')).status, 403);
    // Names never reach loopback alone: the address rule stands for the test's "internet".
    proxy.setRules(rulesWith(['docs.test', 'echo.test', `127.0.0.1`]), 'test allow');
    const ok = await get('/');
    assert.equal(ok.status, 200);
    ok.socket.destroy();

    const tunnel = connect(proxyPort, '127.0.0.1');
    tunnel.on('error', () => {});
    let tunnelText = '';
    const tunnelClosed = new Promise<void>((r) => tunnel.on('close', () => r()));
    tunnel.on('data', (c) => (tunnelText += c));
    tunnel.write(`CONNECT echo.test:${slowPort} HTTP/1.1\r\nHost: echo.test:${slowPort}\r\n\r\n`);
    while (!tunnelText.includes('200 Connection Established')) await new Promise((r) => setTimeout(r, 10));
    // Not TLS, not HTTP: passes as plain bytes once its line is whole (a lone word could still be a method), and the far end echoes.
    tunnel.write('ping\n');
    while (!tunnelText.endsWith('ping\n')) await new Promise((r) => setTimeout(r, 10));
    const download = await get('/slow');
    assert.equal(download.status, 200);

    // Denying docs.test cuts the download only; the tunnel to echo.test is still allowed and stays.
    assert.equal(proxy.setRules(rulesWith(['echo.test', '127.0.0.1'], ['docs.test']), 'test deny'), 1);
    await download.body;
    tunnel.write('pong');
    while (!tunnelText.endsWith('pong')) await new Promise((r) => setTimeout(r, 10));
    // Taking the address rule away cuts the tunnel: it is re-decided on the address it was connected to.
    assert.equal(proxy.setRules(rulesWith(['echo.test']), 'test address'), 1);
    await tunnelClosed;
    while (!log.some((e) => e.method === 'CONNECT')) await new Promise((r) => setTimeout(r, 10));
    const cut = log.filter((e) => /open connection cut/.test(e.rule));
    assert.deepEqual(cut.map((e) => [e.method, e.host, e.decision]), [['GET', 'docs.test', 'deny'], ['CONNECT', 'echo.test', 'deny']]);
    assert.match(cut[0].rule, /^deny docs\.test \(open connection cut: test deny\)$/);
    assert.match(cut[1].rule, /loopback 127\.0\.0\.0\/8 address/);
    assert.equal((await get('/')).status, 403);
  });
});
