// Network rules that change while the sandbox runs: the real engine, a real sandbox and its real
// proxy container; the "internet" is two web containers on the test's own --internal network
// (allowed.test = A; blocked.test, other.test = B). No traffic leaves this machine.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadPolicy } from '../../../src/core/policy.js';
import { approvePolicy, readApprovedPolicy } from '../../../src/engine/approvedPolicy.js';
import { liveRulesFile, pushApprovedNetwork, waitUntilInForce } from '../../../src/engine/liveRules.js';
import { egressPaths } from '../../../src/engine/egressFiles.js';
import { proxyContainerOf } from '../../../src/engine/egress.js';
import { CLI, cleanup, docker, engine, makeWorkspace, paddock, paddockOk } from '../../support/sandbox.js';
import { commentedDenyPolicy, useLocalInternet, type LocalInternet } from './support.js';


describe('network rules applied live', () => {
  let net: LocalInternet & { stateDir: string };
  let ws: string;
  let sb: string;
  const sh = (command: string) => paddock(['exec', sb, '--', 'sh', '-c', command]);
  const status = async (host: string) => (await sh(`curl -s -m 5 -o /dev/null -w "%{http_code}" http://${host}/`)).stdout;
  const startedAt = (name: string) => JSON.parse(docker(['inspect', name]).stdout)[0].State.StartedAt as string;
  // Its own proxy container, or the engine's shared egress service that serves it.
  const proxyName = () => proxyContainerOf(engine().docker, sb);

  before(async () => {
    net = await useLocalInternet('paddock-livestate-');
    ws = makeWorkspace({ '.paddock/policy.yaml': commentedDenyPolicy(net.a, net.b) });
    sb = (await paddockOk(['create', 'shell', ws])).stdout.trim();
  });

  after(async () => {
    if (ws) await cleanup(ws);
    net?.stop();
  });

  it('allows a host live: the next request passes within a second, with no restart of the sandbox or its proxy', async () => {
    assert.equal(await status('other.test'), '403');
    const before = { sandbox: startedAt(sb), proxy: startedAt(await proxyName()) };
    const t0 = Date.now();
    const r = await paddockOk(['network', 'allow', sb, 'other.test']);
    const confirmed = Number(/In force in the running sandbox after (\d+) ms/.exec(r.stdout)?.[1]);
    assert.ok(confirmed >= 0 && confirmed < 1000, r.stdout);
    assert.match(r.stdout, /Allowed other\.test for .* until it stops \(not saved/);
    // The very next request, with no wait.
    assert.equal(await status('other.test'), '200');
    const total = Date.now() - t0;
    console.log(`# live allow: in force ${confirmed} ms after the rules file was written; CLI start to a passing request ${total} ms (includes two CLI processes and an exec)`);
    assert.deepEqual({ sandbox: startedAt(sb), proxy: startedAt(await proxyName()) }, before);
    // The log says what changed and from where.
    const log = (await paddockOk(['network', 'log', sb, '--decision', 'rules'])).stdout;
    assert.match(log, /RULES {2}from network allow \(this run\): \+allow other\.test/);
    const rules = JSON.parse((await paddockOk(['network', 'rules', sb, '--json'])).stdout);
    assert.deepEqual(rules.rules.filter((x: any) => x.rule === 'other.test'), [{ list: 'allow', rule: 'other.test', from: 'session' }]);
    assert.deepEqual(rules.rules.find((x: any) => x.rule === 'blocked.test'), { list: 'deny', rule: 'blocked.test', from: 'policy' });
  });

  it('denies a host live: an open CONNECT tunnel to it is cut', async () => {
    // A tunnel that stays open: a chunked upload that sends a chunk every 100 ms through CONNECT other.test:80.
    const script = `
      const s = require("net").connect(3128, "paddock-egress");
      let text = "";
      s.on("data", (c) => {
        text += c;
        if (text.includes(" 200 ") && !s.started) {
          s.started = true;
          console.log("open");
          s.write("POST / HTTP/1.1\\r\\nHost: other.test\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n");
          setInterval(() => s.write("1\\r\\nx\\r\\n"), 100);
        }
      });
      s.on("close", () => { console.log("closed"); process.exit(3); });
      s.on("error", () => {});
      s.write("CONNECT other.test:80 HTTP/1.1\\r\\nHost: other.test:80\\r\\n\\r\\n");
      setTimeout(() => { console.log("still open after 60 s"); process.exit(0); }, 60000);`;
    const child = spawn(CLI, ['exec', sb, '--', 'node', '-e', script], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (c) => (stdout += c));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    for (let i = 0; i < 200 && !stdout.includes('open'); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(stdout, /^open$/m, 'the tunnel did not open');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(child.exitCode, null, `the tunnel ended early: ${stdout}`);
    const t0 = Date.now();
    const r = await paddockOk(['network', 'deny', sb, 'other.test']);
    assert.match(r.stdout, /Denied other\.test for .* until it stops/);
    const code = await Promise.race([exited, new Promise<'timeout'>((res) => setTimeout(() => res('timeout'), 5000))]);
    assert.notEqual(code, 'timeout', 'the tunnel stayed open after the deny');
    assert.equal(code, 3);
    assert.match(stdout, /^closed$/m);
    console.log(`# live deny: the open tunnel was cut ${Date.now() - t0} ms after the CLI started`);
    const entries = JSON.parse((await paddockOk(['network', 'log', sb, '--json'])).stdout) as any[];
    const cut = entries.find((e) => e.method === 'CONNECT' && e.host === 'other.test' && /open connection cut/.test(e.rule));
    assert.ok(cut, JSON.stringify(entries.slice(-4)));
    assert.equal(cut.decision, 'deny');
    assert.ok(cut.bytesSent > 0);
    assert.equal(await status('other.test'), '403');
  });

  it('a rule given without --save disappears when the sandbox stops and starts again', async () => {
    await paddockOk(['network', 'allow', sb, 'allowed.test']);
    assert.equal(await status('allowed.test'), '200');
    await paddockOk(['stop', sb]);
    await paddockOk(['start', sb]);
    assert.equal(await status('allowed.test'), '403');
    const rules = JSON.parse((await paddockOk(['network', 'rules', sb, '--json'])).stdout);
    assert.deepEqual(rules.rules.filter((x: any) => x.from === 'session'), []);
    // A stopped sandbox takes no rule for one run only.
    await paddockOk(['stop', sb]);
    const refused = await paddock(['network', 'allow', sb, 'allowed.test']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /not running, and a rule without --save lasts only while it runs/);
    await paddockOk(['start', sb]);
  });

  it('--save writes the rule into the policy with its comments, approves it, and it outlasts a restart', async () => {
    const file = join(ws, '.paddock', 'policy.yaml');
    const r = await paddockOk(['network', 'allow', sb, 'allowed.test', '--save']);
    assert.match(r.stdout, /Wrote .*policy\.yaml: network\.allow has allowed\.test; approved for /);
    assert.match(r.stdout, /In force in the running sandbox after \d+ ms/);
    const text = readFileSync(file, 'utf8');
    assert.match(text, /^# Team policy: keep this comment\.$/m);
    assert.match(text, /# The local internet's addresses/);
    assert.match(text, /deny: \[blocked\.test\] {3}# never/);
    assert.deepEqual(loadPolicy(ws).policy.network.allow, [net.a, net.b, 'allowed.test']);
    assert.equal(readApprovedPolicy(sb)?.hash, loadPolicy(ws).hash);
    assert.equal(await status('allowed.test'), '200');
    await paddockOk(['stop', sb]);
    await paddockOk(['start', sb]);
    assert.equal(await status('allowed.test'), '200');
    const rules = JSON.parse((await paddockOk(['network', 'rules', sb, '--json'])).stdout);
    assert.deepEqual(rules.rules.find((x: any) => x.rule === 'allowed.test'), { list: 'allow', rule: 'allowed.test', from: 'policy' });
  });

  it('an edited policy applied with "paddock policy apply", or saved in the editor, is in force without a restart (save-to-enforced time)', async () => {
    const file = join(ws, '.paddock', 'policy.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('deny: [blocked.test]', 'deny: [blocked.test, allowed.test]'));
    const t0 = Date.now();
    const applied = await paddockOk(['policy', 'apply', ws]);
    assert.match(applied.stdout, /Network rules are in force now/);
    const rulesFile = JSON.parse(readFileSync(liveRulesFile(sb), 'utf8'));
    const ms = await waitUntilInForce(sb, rulesFile.changedAt, t0);
    assert.ok(ms !== undefined && ms < 3000);
    assert.equal(await status('allowed.test'), '403');
    console.log(`# policy apply: edit saved to rules in force in ${ms} ms (CLI process start included)`);
    // What a save in VS Code does, in its own process: approve, push, and the proxy has it.
    writeFileSync(file, readFileSync(file, 'utf8').replace('deny: [blocked.test, allowed.test]', 'deny: [blocked.test]'));
    const t1 = Date.now();
    const loaded = loadPolicy(ws);
    approvePolicy(sb, loaded, 'editor');
    const pushed = await pushApprovedNetwork(sb, loaded.policy.network, 'editor');
    const editorMs = await waitUntilInForce(sb, pushed.rules!.changedAt, t1);
    assert.ok(editorMs !== undefined && editorMs < 1000, `not in force within 1 s: ${editorMs}`);
    assert.equal(await status('allowed.test'), '200');
    console.log(`# editor save: policy loaded, approved and pushed to rules in force in ${editorMs} ms`);
  });

  it('a policy file changed on disk without approval is not saved into, and nothing changes', async () => {
    const file = join(ws, '.paddock', 'policy.yaml');
    const sneaky = readFileSync(file, 'utf8').replace('policy: deny', 'policy: allow');
    writeFileSync(file, sneaky);
    const r = await paddock(['network', 'allow', sb, 'docs.test', '--save']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /changed on disk since you approved it/);
    assert.equal(readFileSync(file, 'utf8'), sneaky);
    assert.equal(await status('other.test'), '403');
  });

  it('a rules file the proxy cannot parse is refused with a log line, and the rules in force stay', async () => {
    assert.equal(await status('other.test'), '403');
    writeFileSync(liveRulesFile(sb), '{"version": 1, "base": {"policy": "allow"');
    const log = egressPaths(sb).log;
    const t0 = Date.now();
    while (!/rules file refused/.test(readFileSync(log, 'utf8')) && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 50));
    const text = (await paddockOk(['network', 'log', sb, '--tail', '3'])).stdout;
    assert.match(text, /RULES {2}refused: not JSON .*; the rules in force stay/);
    assert.equal(await status('other.test'), '403');
    assert.equal(await status('blocked.test'), '403');
  });

  it('refuses a host that is not one, saying why, and changes nothing', async () => {
    const r = await paddock(['network', 'allow', sb, 'user@evil.test']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /"user@evil\.test" cannot be an allow rule: .*contains "@"/);
    const star = await paddock(['network', 'allow', sb, '*']);
    assert.match(star.stderr, /to allow every host, set network\.policy to allow/);
  });
});
