// Questions about unknown hosts on the real engine and proxy: a sandbox's request to a host no rule
// names raises one question; the user's answers write rules; the sandbox cannot answer for itself.
// The "internet" is the test's own --internal network (allowed.test = A; other.test, rebind.test = B);
// hosts that exist nowhere (*.flood.test, unknown-*.test) are never resolved by the proxy.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadPolicy } from '../../../src/core/policy.js';
import { SandboxEngine } from '../../../src/engine/engine.js';
import { liveRulesFile } from '../../../src/engine/liveRules.js';
import { answerQuestion, questionsFile } from '../../../src/engine/networkQuestions.js';
import { CLI, cleanup, makeWorkspace, paddock, paddockOk } from '../../support/sandbox.js';
import { commentedDenyPolicy, useLocalInternet, type LocalInternet } from './support.js';


describe('questions about unknown hosts', () => {
  let net: LocalInternet & { stateDir: string };
  let ws: string;
  let sb: string;
  let engine: SandboxEngine;
  const sh = (command: string) => paddock(['exec', sb, '--', 'sh', '-c', command]);
  const fetchOnce = async (host: string) => {
    const r = await sh(`curl -s -m 30 -D - http://${host}/`);
    return { status: /^HTTP\/1\.1 (\d+)/m.exec(r.stdout)?.[1], text: r.stdout };
  };
  const pending = async () => {
    const list = JSON.parse((await paddockOk(['network', 'pending', sb, '--json'])).stdout) as any[];
    assert.equal(list.length, 1);
    return list[0];
  };
  /** The proxy writes its book at most every 100 ms: wait for what a test expects of it. */
  const pendingWhen = async (ok: (p: any) => boolean) => {
    const t0 = Date.now();
    for (;;) {
      const p = await pending();
      if (ok(p) || Date.now() - t0 > 5000) return p;
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const restart = async () => { await paddockOk(['stop', sb]); await paddockOk(['start', sb]); };

  before(async () => {
    net = await useLocalInternet('paddock-questions-');
    ws = makeWorkspace({ '.paddock/policy.yaml': commentedDenyPolicy(net.a, net.b) });
    sb = (await paddockOk(['create', 'shell', ws])).stdout.trim();
    engine = SandboxEngine.connect({});
  });

  after(async () => {
    if (ws) await cleanup(ws);
    net?.stop();
  });

  it('an unknown host raises exactly one question; the agent gets a 403 saying the user was asked; a denied host and a special address raise none', async () => {
    const first = await fetchOnce('other.test');
    assert.equal(first.status, '403');
    assert.match(first.text, /X-Paddock-Question: asked/i);
    assert.match(first.text, /Paddock asked the user whether to allow it/);
    assert.equal((await fetchOnce('other.test')).status, '403');
    assert.equal((await fetchOnce('blocked.test')).status, '403');
    assert.equal((await fetchOnce('127.0.0.2')).status, '403');
    const p = await pendingWhen((x) => x.questions[0]?.requests === 2);
    assert.deepEqual(p.questions.map((q: any) => [q.host, q.port, q.method, q.requests]), [['other.test', 80, 'GET', 2]]);
    assert.equal(p.mode, 'refuse');
    const text = (await paddockOk(['network', 'pending'])).stdout;
    assert.match(text, new RegExp(`${sb}.*\\n {2}other\\.test +port 80 \\(GET, 2 requests\\)`));
  });

  it('Allow once ("paddock network allow" without --save) answers it: the next request passes within a second, and the grant is gone after a stop', async () => {
    const t0 = Date.now();
    const outcome = await answerQuestion(engine, sb, 'once', 'other.test');
    assert.ok(outcome.inForceAfterMs !== undefined && outcome.inForceAfterMs < 1000, JSON.stringify(outcome));
    assert.equal((await fetchOnce('other.test')).status, '200');
    console.log(`# allow once: answer to rule in force ${outcome.inForceAfterMs} ms; to a passing request ${Date.now() - t0} ms (an exec included)`);
    assert.deepEqual((await pendingWhen((x) => !x.questions.length)).questions, []);
    assert.ok(!readFileSync(join(ws, '.paddock', 'policy.yaml'), 'utf8').includes('other.test'), 'Allow once wrote the policy');
    await restart();
    assert.equal((await fetchOnce('other.test')).status, '403');
    assert.deepEqual((await pendingWhen((x) => x.questions.length === 1)).questions.map((q: any) => q.host), ['other.test'], 'asked again in the new run');
    // The CLI answers the same way.
    await paddockOk(['network', 'allow', sb, 'other.test']);
    assert.deepEqual((await pendingWhen((x) => !x.questions.length)).questions, []);
  });

  it('Deny writes a deny rule into the policy (comments kept) and the question is gone', async () => {
    assert.equal((await fetchOnce('unknown-deny.test')).status, '403');
    await pendingWhen((x) => x.questions.some((q: any) => q.host === 'unknown-deny.test'));
    const outcome = await answerQuestion(engine, sb, 'deny', 'unknown-deny.test');
    assert.equal(outcome.savedForThisRunOnly, undefined);
    const text = readFileSync(join(ws, '.paddock', 'policy.yaml'), 'utf8');
    assert.match(text, /^# Team policy: keep this comment\.$/m);
    assert.match(text, /# never/);
    assert.deepEqual(loadPolicy(ws).policy.network.deny, ['blocked.test', 'unknown-deny.test']);
    assert.deepEqual((await pendingWhen((x) => !x.questions.length)).questions, []);
    const r = await fetchOnce('unknown-deny.test');
    assert.match(r.text, /X-Paddock-Rule: deny unknown-deny\.test/i);
    assert.doesNotMatch(r.text, /X-Paddock-Question/i);
  });

  it('a flood of 500 hosts gives 3 questions (one more per 20 s it lasts) and one "deny all others" offer; taking it ends the questions for this run', async () => {
    await restart();
    const script = `
      const net = require("net");
      let left = 500, done = 0;
      const one = (i) => new Promise((res) => {
        const s = net.connect(3128, "paddock-egress");
        s.on("data", () => s.destroy()); s.on("close", res); s.on("error", res);
        s.write("CONNECT h" + i + ".flood.test:443 HTTP/1.1\\r\\nHost: h" + i + ".flood.test:443\\r\\n\\r\\n");
      });
      (async () => { for (let i = 0; i < 500; i += 50) await Promise.all(Array.from({ length: 50 }, (_, k) => one(i + k))); console.log("sent"); })();`;
    const t0 = Date.now();
    const r = await paddockOk(['exec', sb, '--', 'node', '-e', script]);
    assert.match(r.stdout, /sent/);
    const p = await pendingWhen((x) => x.flood?.hosts + x.questions.length === 500);
    console.log(`# flood: 500 CONNECTs to unknown hosts in ${Date.now() - t0} ms (exec included): ${p.questions.length} questions, ${p.flood?.hosts} refused without one`);
    // The bucket: 3 at once, then one per 20 s (a loaded machine can stretch the flood past that), never more than 5 open.
    const allowed = Math.min(5, 3 + Math.floor((Date.now() - t0) / 20_000));
    assert.ok(p.questions.length >= 1 && p.questions.length <= allowed, `${p.questions.length} questions, ${allowed} allowed: ${JSON.stringify(p.questions)}`);
    assert.equal(p.flood.hosts + p.questions.length, 500);
    assert.match((await paddockOk(['network', 'pending', sb])).stdout, /and \d+ more hosts refused without a question/);
    const before = JSON.parse(readFileSync(liveRulesFile(sb), 'utf8'));
    await paddockOk(['network', 'pending', sb, '--deny-others']);
    const q = await pendingWhen((x) => x.quiet);
    assert.deepEqual([q.quiet, q.questions, q.flood], [true, [], undefined]);
    const after = JSON.parse(readFileSync(liveRulesFile(sb), 'utf8'));
    assert.deepEqual(after.session.allow, before.session.allow, 'deny all others allowed nothing');
    const later = await fetchOnce('later.flood.test');
    assert.equal(later.status, '403');
    assert.doesNotMatch(later.text, /X-Paddock-Question/i);
    assert.match((await paddockOk(['network', 'pending', sb])).stdout, /No questions/);
  });

  it('the sandbox cannot answer its own question: what it writes anywhere it can reach changes no rule and no question', async () => {
    await restart(); // a new run: "deny all others" of the flood is gone
    assert.equal((await fetchOnce('unknown-self.test')).status, '403');
    const before = await pendingWhen((x) => x.questions.some((q: any) => q.host === 'unknown-self.test'));
    const rulesBefore = readFileSync(liveRulesFile(sb), 'utf8');
    const questionsBefore = readFileSync(questionsFile(sb), 'utf8');
    const forged = JSON.stringify({ ...before, version: 1, questions: [], quiet: true });
    const rules = JSON.stringify({ version: 1, base: { policy: 'allow', allow: [], deny: [], registries: [] }, session: { allow: ['unknown-self.test'], deny: [] }, changedAt: new Date().toISOString(), source: 'sandbox' });
    // Every writable place, and the places where the host keeps these files for the proxy.
    const attempt = await sh([
      'set +e; for d in "$PWD" "$HOME" /tmp /var/tmp /run/paddock /var/log/paddock-egress /run/paddock-keys "$PWD/.paddock"; do',
      `  mkdir -p "$d" 2>/dev/null; printf '%s' '${forged}' > "$d/questions.json" 2>/dev/null && echo "wrote $d/questions.json";`,
      `  printf '%s' '${rules}' > "$d/rules.json" 2>/dev/null && echo "wrote $d/rules.json"; done;`,
      'find / -xdev \\( -name questions.json -o -name rules.json -o -name egress.jsonl \\) -not -path "/proc/*" 2>/dev/null | grep -v -e "^$PWD" -e "^$HOME" -e "^/tmp" -e "^/var/tmp" -e "^/var/log/paddock-egress" -e "^/run/paddock-keys" || true',
    ].join('\n'));
    assert.doesNotMatch(attempt.stdout, /wrote .*\/run\/paddock\/|wrote .*\.paddock\//, attempt.stdout);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(readFileSync(liveRulesFile(sb), 'utf8'), rulesBefore);
    const questionsNow = JSON.parse(readFileSync(questionsFile(sb), 'utf8'));
    assert.deepEqual(questionsNow.questions.map((q: any) => q.host), JSON.parse(questionsBefore).questions.map((q: any) => q.host));
    assert.equal(questionsNow.quiet, false);
    assert.equal((await fetchOnce('unknown-self.test')).status, '403');
    // Asking again and again is no answer either.
    for (let i = 0; i < 5; i++) await fetchOnce('unknown-self.test');
    assert.equal((await fetchOnce('unknown-self.test')).status, '403');
  });
  it('a policy file changed on disk without approval takes no answer: Always allow is refused, Deny holds for this run and says why', async () => {
    assert.equal((await fetchOnce('unknown-unapproved.test')).status, '403');
    await pendingWhen((x) => x.questions.some((q: any) => q.host === 'unknown-unapproved.test'));
    const file = join(ws, '.paddock', 'policy.yaml');
    const approved = readFileSync(file, 'utf8');
    const sneaky = approved.replace('policy: deny', 'policy: allow');
    writeFileSync(file, sneaky);
    try {
      await assert.rejects(answerQuestion(engine, sb, 'always', 'unknown-unapproved.test'), /changed on disk since you approved it/);
      assert.equal(readFileSync(file, 'utf8'), sneaky);
      const denied = await answerQuestion(engine, sb, 'deny', 'unknown-unapproved.test');
      assert.match(denied.savedForThisRunOnly ?? '', /changed on disk since you approved it/);
      assert.equal(readFileSync(file, 'utf8'), sneaky, 'the unapproved file was written');
      const rules = JSON.parse((await paddockOk(['network', 'rules', sb, '--json'])).stdout);
      assert.deepEqual(rules.rules.find((x: any) => x.rule === 'unknown-unapproved.test'), { list: 'deny', rule: 'unknown-unapproved.test', from: 'session' });
      assert.equal(rules.policy, 'deny');
      assert.deepEqual((await pendingWhen((x) => !x.questions.some((q: any) => q.host === 'unknown-unapproved.test'))).questions.map((q: any) => q.host).filter((h: string) => h === 'unknown-unapproved.test'), []);
    } finally {
      writeFileSync(file, approved);
    }
  });

  it('hold mode (network.ask: hold): the request waits, and passes when the user allows the host meanwhile', async () => {
    const file = join(ws, '.paddock', 'policy.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('  hostRegistries: false\n', '  hostRegistries: false\n  ask: hold   # wait for the answer\n  askHoldSeconds: 20\n'));
    await paddockOk(['policy', 'apply', ws]);
    await restart();
    const child = spawn(CLI, ['exec', sb, '--', 'curl', '-s', '-m', '30', '-o', '/dev/null', '-w', '%{http_code}', 'http://rebind.test/'], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (c) => (stdout += c));
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    const p = await pendingWhen((x) => x.questions.some((q: any) => q.host === 'rebind.test'));
    assert.equal(p.mode, 'hold');
    assert.equal(p.holdSeconds, 20);
    assert.equal(child.exitCode, null, 'the request was not held');
    const t0 = Date.now();
    const answered = await answerQuestion(engine, sb, 'once', 'rebind.test');
    await exited;
    assert.equal(stdout, '200');
    console.log(`# hold: answer in force after ${answered.inForceAfterMs} ms; the held request's exec ended ${Date.now() - t0} ms after the answer`);
  });

});
