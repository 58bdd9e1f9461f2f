// Questions about unknown hosts: the proxy's book (one question per host, rate limited, the flood
// offer), the host's strict reading of the proxy's file, and the proxy in-process against a loopback
// origin (refuse at once with a 403 that says the user was asked; hold until an answer).
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { compileEgressRules, decide, normalizeHost } from '../../../src/core/egress.js';
import { liveRulesFrom, parseLiveRules, withSessionRule } from '../../../src/core/liveRules.js';
import { askable, askSettingsOf, parseQuestionsFile, QuestionBook, QuestionsFileError } from '../../../src/core/networkQuestions.js';
import { parsePolicy } from '../../../src/core/policy.js';
import type { EgressLogEntry } from '../../../src/proxy/log.js';
import { createEgressProxy, type EgressProxy } from '../../../src/proxy/server.js';

const clock = (start = Date.parse('2026-01-01T00:00:00Z')) => {
  let t = start;
  return { now: () => t, advance: (ms: number) => { t += ms; } };
};

describe('question book', () => {
  it('asks once per host: further requests to it count on the same question', () => {
    const book = new QuestionBook('sb');
    assert.equal(book.ask('docs.test', 443, 'CONNECT'), 'asked');
    assert.equal(book.ask('docs.test', 80, 'GET'), 'pending');
    assert.equal(book.ask('docs.test', 443, 'CONNECT'), 'pending');
    const snap = book.snapshot();
    assert.equal(snap.questions.length, 1);
    assert.deepEqual({ host: snap.questions[0].host, port: snap.questions[0].port, requests: snap.questions[0].requests }, { host: 'docs.test', port: 443, requests: 3 });
  });

  it('a flood of 500 hosts gives a few questions and one count of the rest (the "deny all others" offer)', () => {
    const c = clock();
    const book = new QuestionBook('sb', undefined, c.now);
    const outcomes = Array.from({ length: 500 }, (_, i) => book.ask(`h${i}.flood.test`, 443, 'CONNECT'));
    assert.equal(outcomes.filter((o) => o === 'asked').length, 3);
    assert.equal(outcomes.filter((o) => o === 'limited').length, 497);
    const snap = book.snapshot();
    assert.equal(snap.questions.length, 3);
    assert.equal(snap.flood?.hosts, 497);
    assert.deepEqual(snap.flood?.examples, ['h3.flood.test', 'h4.flood.test', 'h5.flood.test', 'h6.flood.test', 'h7.flood.test']);
    // The same 500 again count nothing new.
    for (let i = 0; i < 500; i++) book.ask(`h${i}.flood.test`, 443, 'CONNECT');
    assert.equal(book.snapshot().flood?.hosts, 497);
    assert.equal(book.snapshot().questions.length, 3);
  });

  it('a book that sat full for a while gives only its burst: the refill clock starts at the first question', () => {
    const c = clock();
    const book = new QuestionBook('sb', { burst: 3, refillMs: 20_000, maxOpen: 5 }, c.now);
    c.advance(15_000);
    const first = Array.from({ length: 100 }, (_, i) => book.ask(`a${i}.test`, 443, 'CONNECT'));
    c.advance(10_000);
    const later = Array.from({ length: 100 }, (_, i) => book.ask(`b${i}.test`, 443, 'CONNECT'));
    assert.equal([...first, ...later].filter((o) => o === 'asked').length, 3);
    c.advance(10_000);
    assert.equal(book.ask('c.test', 443, 'CONNECT'), 'asked', 'one more after a full period since the burst');
  });

  it('refills one question per period, and never more than maxOpen wait at once, however long the flood lasts', () => {
    const c = clock();
    const book = new QuestionBook('sb', { burst: 3, refillMs: 20_000, maxOpen: 5 }, c.now);
    let asked = 0;
    for (let minute = 0; minute < 60; minute++) {
      for (let i = 0; i < 50; i++) if (book.ask(`m${minute}-${i}.test`, 443, 'CONNECT') === 'asked') asked++;
      c.advance(60_000);
    }
    assert.equal(asked, 5);
    assert.equal(book.snapshot().questions.length, 5);
  });

  it('an answer (a rule naming the host) drops its question and frees room for the next', () => {
    const c = clock();
    const book = new QuestionBook('sb', { burst: 1, refillMs: 1000, maxOpen: 1 }, c.now);
    assert.equal(book.ask('a.test', 443, 'CONNECT'), 'asked');
    c.advance(5000);
    assert.equal(book.ask('b.test', 443, 'CONNECT'), 'limited');
    const rules = compileEgressRules({ policy: 'deny', allow: ['a.test'], deny: [] });
    assert.equal(book.answered((host, port) => decide(rules, normalizeHost(host), port).rule !== 'policy deny'), true);
    assert.equal(book.snapshot().questions.length, 0);
    assert.equal(book.ask('b.test', 443, 'CONNECT'), 'asked');
    assert.equal(book.snapshot().flood, undefined, 'a host asked about later leaves the flood count');
  });

  it('"deny all others" and mode off end every question: nothing more is asked', () => {
    const book = new QuestionBook('sb');
    book.ask('a.test', 443, 'CONNECT');
    assert.equal(book.configure(askSettingsOf({}), true), true);
    assert.equal(book.ask('b.test', 443, 'CONNECT'), 'quiet');
    assert.deepEqual(book.snapshot().questions, []);
    assert.equal(book.snapshot().quiet, true);
    const off = new QuestionBook('sb');
    off.configure(askSettingsOf({ ask: 'off' }), false);
    assert.equal(off.ask('a.test', 443, 'CONNECT'), 'quiet');
  });

  it('never asks about special addresses (loopback, private, link-local, metadata): only names and public addresses', () => {
    for (const host of ['127.0.0.1', '10.1.2.3', '169.254.169.254', '192.168.1.1', '[::1]', '[fd00::1]', '0x7f000001']) assert.equal(askable(normalizeHost(host)), false, host);
    for (const host of ['docs.test', '203.0.113.7']) assert.equal(askable(normalizeHost(host)), true, host);
  });
});

describe('questions file (read by the host)', () => {
  const good = () => new QuestionBook('sb').snapshot();
  it('reads what the proxy writes', () => {
    const book = new QuestionBook('sb');
    book.ask('docs.test', 443, 'CONNECT');
    const parsed = parseQuestionsFile(JSON.stringify(book.snapshot()));
    assert.equal(parsed.questions[0].host, 'docs.test');
  });
  it('refuses a file whose hosts are not what the proxy would write (unnormalised, special, or not hosts)', () => {
    for (const host of ['DOCS.test', '127.0.0.1', 'a.test\nAllow', 'x"; rm -rf /', '*.test', '']) {
      const file = { ...good(), questions: [{ host, port: 443, method: 'CONNECT', askedAt: good().writtenAt, lastAt: good().writtenAt, requests: 1 }] };
      assert.throws(() => parseQuestionsFile(JSON.stringify(file)), QuestionsFileError, host);
    }
    assert.throws(() => parseQuestionsFile(JSON.stringify({ ...good(), mode: 'allow-everything' })), QuestionsFileError);
    assert.throws(() => parseQuestionsFile('x'.repeat(300 * 1024)), /larger than/);
  });
});

describe('ask settings in the policy and the live rules', () => {
  it('network.ask and askHoldSeconds reach the rules file, and a session rule keeps "deny all others"', () => {
    const { policy } = parsePolicy('version: 1\nnetwork:\n  ask: hold\n  askHoldSeconds: 12\n');
    const rules = liveRulesFrom(policy!.network, [], 'create');
    assert.deepEqual(rules.base.ask, { mode: 'hold', holdSeconds: 12 });
    const quiet = { ...rules, session: { ...rules.session, quiet: true } };
    const next = withSessionRule(parseLiveRules(JSON.stringify(quiet)), 'allow', 'a.test', 'network allow');
    assert.equal(next.session.quiet, true);
    assert.equal(parsePolicy('version: 1\nnetwork:\n  ask: maybe\n').policy, undefined);
    assert.throws(() => parseLiveRules(JSON.stringify({ ...rules, base: { ...rules.base, ask: { mode: 'yes', holdSeconds: 1 } } })), /base\.ask/);
  });
});

describe('egress proxy with questions (loopback)', () => {
  let origin: Server;
  let originPort: number;
  let proxy: EgressProxy;
  let proxyPort: number;
  const log: EgressLogEntry[] = [];
  const book = new QuestionBook('unit', { burst: 10, refillMs: 60_000, maxOpen: 10 });
  let writes = 0;
  const rulesWith = (allow: string[]) => compileEgressRules({ policy: 'deny', allow: [`127.0.0.1:${originPort}`, ...allow], deny: ['blocked.test'] });

  before(async () => {
    origin = createServer((_req, res) => res.end('origin'));
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    originPort = (origin.address() as AddressInfo).port;
    proxy = createEgressProxy({
      sandbox: 'unit', rules: rulesWith([]), log: (e) => log.push(e),
      lookup: async () => [{ address: '127.0.0.1', family: 4 }],
      questions: { book, changed: () => { writes++; } },
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    proxyPort = (proxy.address() as AddressInfo).port;
  });
  after(() => { proxy.close(); origin.close(); proxy.closeAllConnections?.(); origin.closeAllConnections?.(); });

  const get = (host: string) => new Promise<{ status: number; headers: Record<string, any>; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: proxyPort, path: `http://${host}:${originPort}/`, setHost: false, headers: { Host: `${host}:${originPort}` } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c)).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });

  it('refuses an unknown host at once with a 403 that says the user was asked, and raises one question', async () => {
    const r = await get('docs.test');
    assert.equal(r.status, 403);
    assert.equal(r.headers['x-paddock-question'], 'asked');
    assert.match(r.body, /Paddock asked the user whether to allow it/);
    assert.equal(log.at(-1)!.rule, 'policy deny (the user was asked)');
    await get('docs.test');
    assert.deepEqual(book.snapshot().questions.map((q) => [q.host, q.requests]), [['docs.test', 2]]);
    assert.ok(writes >= 1);
  });

  it('a denied host and a special address raise no question', async () => {
    assert.equal((await get('blocked.test')).headers['x-paddock-question'], undefined);
    assert.equal((await get('10.0.0.1')).headers['x-paddock-question'], undefined);
    assert.deepEqual(book.snapshot().questions.map((q) => q.host), ['docs.test']);
  });

  it('hold mode: the request waits and passes when the user allows the host meanwhile', async () => {
    book.configure({ mode: 'hold', holdSeconds: 5 }, false);
    const t0 = Date.now();
    const pending = get('held.test');
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(book.isOpen('held.test'));
    proxy.setRules(rulesWith(['held.test']), 'answered');
    const r = await pending;
    assert.equal(r.status, 200);
    assert.equal(r.body, 'origin');
    assert.ok(Date.now() - t0 < 2000);
  });

  it('hold mode: no answer in time refuses, saying so; a deny meanwhile refuses at once', async () => {
    book.configure({ mode: 'hold', holdSeconds: 1 }, false);
    const r = await get('slow.test');
    assert.equal(r.status, 403);
    assert.match(r.body, /held the request 1 s: no answer came/);
    book.configure({ mode: 'hold', holdSeconds: 5 }, false);
    const t0 = Date.now();
    const pending = get('nope.test');
    await new Promise((res) => setTimeout(res, 200));
    proxy.setRules(compileEgressRules({ policy: 'deny', allow: [`127.0.0.1:${originPort}`], deny: ['blocked.test', 'nope.test'] }), 'answered');
    const denied = await pending;
    assert.equal(denied.status, 403);
    assert.equal(denied.headers['x-paddock-rule'], 'deny nope.test');
    assert.ok(Date.now() - t0 < 2000);
  });
});
