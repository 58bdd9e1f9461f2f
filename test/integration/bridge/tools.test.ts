// The bridge's tools through a real MCP SDK client over the real transport (Unix socket + token),
// against real containers: the masking corpus through every channel, and the bypass suite.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readAudit } from '../../../src/bridge/audit.js';
import { TOOL_NAMES } from '../../../src/bridge/tools.js';
import { CORPUS, KNOWN_SECRET } from '../../unit/bridge/corpus.js';
import { DEFAULT_BLOCKED_PATHS } from '../../../src/core/policy.js';
import { docker } from '../../support/sandbox.js';
import { callTool, connectBridge, rulesFor, SECRETS, startFixture, type Connected, type Fixture } from './support.js';

let fx: Fixture;
const allSecrets = () => [...CORPUS.map((e) => e.secret), SECRETS.dbPassword, SECRETS.apiToken, SECRETS.envFile, SECRETS.secretFile, KNOWN_SECRET];
const leaked = (text: string) => allSecrets().filter((s) => text.includes(s));

before(async () => { fx = await startFixture(); });
after(() => fx?.cleanup());

describe('bridge tools (moderate tier)', () => {
  let b: Connected;
  before(async () => { b = await connectBridge(fx, rulesFor(fx)); });
  after(async () => { await b?.close(); });

  it('offers every tool with a description and an input schema, and uses the documented parameter names', async () => {
    const { tools } = await b.client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), [...TOOL_NAMES].sort());
    for (const t of tools) assert.ok(t.description && t.description.length > 20 && t.inputSchema, t.name);
    const props = (name: string) => Object.keys((tools.find((t) => t.name === name)!.inputSchema as any).properties ?? {});
    assert.deepEqual(props('exec_command').sort(), ['command', 'container', 'timeout']);
    assert.ok(props('get_logs').includes('tail') && props('get_logs').includes('since'));
    assert.ok(props('read_file').includes('path') && props('search_logs').includes('pattern'));
  });

  it('lists only the containers the policy allows (never another sandbox, never an outsider)', async () => {
    const { text, isError } = await callTool(b.client, 'list_containers');
    assert.equal(isError, false);
    const names = (JSON.parse(text) as { name: string }[]).map((c) => c.name).sort();
    assert.deepEqual(names, [fx.api, fx.db].sort());
  });

  it('denies containers outside the policy, naming the rule and how to allow it', async () => {
    for (const target of [fx.outsider, fx.fakeSandbox, 'does-not-exist']) {
      const r = await callTool(b.client, 'get_logs', { container: target });
      assert.equal(r.isError, true, target);
      assert.match(r.text, /Denied by containers/);
      assert.match(r.text, /bridge\.containers/);
      assert.ok(!r.text.includes('outsider\n'), 'no log content of the outsider');
    }
  });

  it('reaches a compose service by its service name', async () => {
    const r = await callTool(b.client, 'get_logs', { container: 'db' });
    assert.equal(r.isError, false, r.text);
    assert.match(r.text, /ready to accept connections/);
  });

  it('get_logs masks every corpus format, env secrets and known secret values', async () => {
    const r = await callTool(b.client, 'get_logs', { container: fx.api, tail: 1000 });
    assert.equal(r.isError, false, r.text);
    assert.match(r.text, /api ready/);
    assert.deepEqual(leaked(r.text), []);
    assert.match(r.text, /postgres:\/\/app:\[MASKED\]@db/);
    const db = await callTool(b.client, 'get_logs', { container: 'db' });
    assert.ok(!db.text.includes(SECRETS.dbPassword));
  });

  it('get_logs honours tail and timestamps', async () => {
    const r = await callTool(b.client, 'get_logs', { container: fx.api, tail: 1, timestamps: true });
    assert.match(r.text.trim(), /^\d{4}-\d\d-\d\dT\S+ api ready$/);
    const bad = await callTool(b.client, 'get_logs', { container: fx.api, since: 'yesterday-ish' });
    assert.equal(bad.isError, true);
    assert.match(bad.text, /duration/);
  });

  it('search_logs finds lines with context, and searches the masked text (no oracle for secrets)', async () => {
    const r = await callTool(b.client, 'search_logs', { container: fx.api, pattern: 'api token', context: 1 });
    assert.equal(r.isError, false);
    assert.match(r.text, /api token is \[MASKED\]/);
    assert.deepEqual(leaked(r.text), []);
    const oracle = await callTool(b.client, 'search_logs', { container: fx.api, pattern: SECRETS.apiToken.slice(0, 10) });
    assert.match(oracle.text, /No line/);
    // Runs in linear time (RE2), so it is answered rather than refused (search-logs.test.ts times it).
    const costly = await callTool(b.client, 'search_logs', { container: fx.api, pattern: '(a+)+$' });
    assert.equal(costly.isError, false, costly.text);
  });

  it('inspect_container masks env values', async () => {
    const r = await callTool(b.client, 'inspect_container', { container: fx.api });
    assert.equal(r.isError, false);
    const view = JSON.parse(r.text);
    assert.ok(view.env.includes('DB_PASSWORD=[MASKED]'));
    assert.ok(view.env.includes('NODE_ENV=production'), 'ordinary values stay readable');
    assert.deepEqual(leaked(r.text), []);
  });

  it('get_stats reports usage', async () => {
    const r = await callTool(b.client, 'get_stats', { container: fx.api });
    const stats = JSON.parse(r.text);
    assert.ok(stats.memory.usageBytes > 0 && stats.pids >= 1, r.text);
  });

  it('exec_command runs whitelisted commands as an argv and masks the output', async () => {
    const r = await callTool(b.client, 'exec_command', { container: fx.api, command: 'cat corpus.txt' });
    assert.equal(r.isError, false, r.text);
    assert.match(r.text, /\[exit code 0\]/);
    assert.deepEqual(leaked(r.text), []);
    const env = await callTool(b.client, 'exec_command', { container: fx.api, command: ['env'] });
    assert.match(env.text, /NODE_ENV=production/);
    assert.deepEqual(leaked(env.text), []);
  });

  it('exec_command passes arguments literally (no shell expands them)', async () => {
    const r = await callTool(b.client, 'exec_command', { container: fx.api, command: ['echo', 'a;b', '|', '$HOME'] });
    assert.equal(r.isError, false, r.text);
    assert.match(r.text, /^a;b \| \$HOME\n/);
  });

  it('exec_command reports the exit code of a failing command', async () => {
    const r = await callTool(b.client, 'exec_command', { container: fx.api, command: 'ls /nonexistent' });
    assert.equal(r.isError, false);
    assert.match(r.text, /--- stderr ---/);
    assert.match(r.text, /\[exit code 2\]/);
  });

  it('read_file returns masked content; list_files lists without blocked entries', async () => {
    const cfg = await callTool(b.client, 'read_file', { container: fx.api, path: 'config.json' });
    assert.equal(cfg.isError, false, cfg.text);
    assert.match(cfg.text, /"feature": "on"/);
    assert.ok(!cfg.text.includes(SECRETS.dbPassword), cfg.text);
    const corpus = await callTool(b.client, 'read_file', { container: fx.api, path: '/app/corpus.txt' });
    assert.deepEqual(leaked(corpus.text), []);
    const list = await callTool(b.client, 'list_files', { container: fx.api, path: '/app' });
    assert.equal(list.isError, false, list.text);
    assert.match(list.text, /package\.json/);
    assert.match(list.text, /config\.json/);
    assert.ok(!/\.env\b/.test(list.text), `blocked entries are left out: ${list.text}`);
    assert.ok(!/link-to-env/.test(list.text), 'links to blocked paths are left out');
    assert.ok(!/ secrets$/m.test(list.text), 'blocked folders are left out');
  });

  it('get_allowed_commands and get_security_policy describe the rules', async () => {
    const allowed = JSON.parse((await callTool(b.client, 'get_allowed_commands', { container: fx.api })).text);
    assert.equal(allowed.tier, 'moderate');
    assert.ok(allowed.containers[fx.api].includes('npm test'));
    const policy = JSON.parse((await callTool(b.client, 'get_security_policy')).text);
    assert.equal(policy.tier, 'moderate');
    assert.ok(policy.blockedPaths.includes('**/.env'));
    assert.match(policy.prefixEntries, /exact entries/);
  });

  it('lifecycle tools stop and start a container', async () => {
    const stop = await callTool(b.client, 'stop_container', { container: 'db' });
    assert.match(stop.text, /exited/);
    const start = await callTool(b.client, 'start_container', { container: 'db' });
    assert.match(start.text, /running/);
  });

  it('every call is in the audit log, with decision, rule, duration and masked count; secrets in arguments are masked', async () => {
    await callTool(b.client, 'exec_command', { container: fx.api, command: `echo ${SECRETS.dbPassword}` });
    await callTool(b.client, 'exec_command', { container: fx.api, command: 'rm -rf /app' });
    const entries = readAudit(b.audit.file!);
    const echo = entries.find((e) => e.tool === 'exec_command' && String(e.args.command).startsWith('echo '))!;
    assert.equal(echo.decision, 'allowed');
    assert.equal(echo.rule, 'whitelist: echo *');
    assert.ok(echo.masked >= 1);
    assert.equal(typeof echo.durationMs, 'number');
    assert.ok(!JSON.stringify(entries).includes(SECRETS.dbPassword), 'the audit log holds no secret');
    const rm = entries.find((e) => e.tool === 'exec_command' && String(e.args.command).startsWith('rm '))!;
    assert.equal(rm.decision, 'denied');
    assert.equal(rm.rule, 'not whitelisted');
    assert.ok(entries.some((e) => e.tool === 'list_containers'));
  });
});

describe('bypass suite: all denied', () => {
  let moderate: Connected;
  let permissive: Connected;
  before(async () => {
    moderate = await connectBridge(fx, rulesFor(fx));
    permissive = await connectBridge(fx, rulesFor(fx, { tier: 'permissive' }));
  });
  after(async () => { await moderate?.close(); await permissive?.close(); });

  const cases: [string, unknown, 'moderate' | 'permissive', RegExp][] = [
    ['shell metacharacters: ;', 'echo hi; cat /app/.env', 'moderate', /shell syntax/],
    ['shell metacharacters: pipe', 'cat /app/corpus.txt | sh', 'moderate', /shell syntax/],
    ['command substitution', 'echo $(cat /app/.env)', 'moderate', /shell syntax/],
    ['backticks', 'echo `id`', 'moderate', /shell syntax/],
    ['redirection', 'cat < /app/.env', 'moderate', /shell syntax/],
    ['newline', 'echo a\ncat /app/.env', 'moderate', /shell syntax/],
    ['argument injection: --file=/app/.env', 'grep -r x --file=/app/.env', 'moderate', /blocked path/],
    ['argument injection: -f/app/.env', 'grep -f/app/.env x', 'moderate', /blocked path/],
    ['path traversal', 'cat src/../.env', 'moderate', /blocked path/],
    ['path traversal from /', 'cat ../../../app/.env', 'moderate', /blocked path/],
    ['relative path', 'cat .env', 'moderate', /blocked path/],
    ['symlink to a blocked file', 'cat link-to-env', 'moderate', /through a symlink/],
    ['symlinked folder to a blocked folder', 'cat sub/secretsdir/db.txt', 'moderate', /through a symlink/],
    ['symlink to /proc/1/environ', 'cat env-link', 'moderate', /blocked path/],
    ['find -exec cat', 'find /app -name config.json -exec cat {} \\;', 'moderate', /executing option/],
    ['find -name glob for .env', 'find /app -name *env', 'moderate', /blocked path/],
    ['/proc/1/environ', 'cat /proc/1/environ', 'permissive', /blocked path/],
    ['/proc/self/environ', 'cat /proc/self/environ', 'permissive', /blocked path/],
    ['/proc/1/root/app/.env', 'cat /proc/1/root/app/.env', 'permissive', /blocked path/],
    ['deny list behind a wrapper', 'env rm -rf /app', 'permissive', /deny: rm/],
    ['interpreter', ['sh', '-c', 'cat /app/.env'], 'permissive', /deny: sh|interpreter/],
    ['interpreter via busybox-style path', ['/usr/bin/perl', '-e', 'print 1'], 'permissive', /deny: perl|interpreter/],
    // wrapper options that take a value: the value was once read as the program, and what ran behind it was never checked
    ['deny list behind timeout -s KILL', 'timeout -s KILL 5 rm -f /tmp/canary', 'permissive', /deny: rm/],
    ['a shell behind stdbuf -o L', ['stdbuf', '-o', 'L', 'sh', '-c', 'touch /tmp/pwned'], 'permissive', /deny: sh|interpreter: sh/],
    ['grep -r behind timeout --signal KILL', 'timeout --signal KILL 5 grep -r PLAIN /app', 'permissive', /blocked path.*\/app\/\.env/s],
    ['a wrapper option the bridge cannot read', 'timeout --frobnicate KILL 5 ls', 'permissive', /unclear wrapper/],
    ['grep -r over a folder holding .env', 'grep -r PLAIN /app', 'permissive', /blocked path.*\/app\/\.env/s],
    ['grep -r with no folder (the working dir)', 'grep -rn PLAIN', 'permissive', /blocked path/],
    ['a whitelisted grep -r still cannot read below the folder', 'grep -ri plain .', 'moderate', /blocked path/],
    ['grep -R follows a symlink to a blocked folder', 'grep -R x /app/sub', 'permissive', /symlink below folder.*secretsdir/s],
    ['ripgrep (recursive by default)', 'rg PLAIN', 'permissive', /blocked path/],
    ['tar of the app folder to stdout', 'tar cf - /app', 'permissive', /blocked path/],
    ['tar from a list file', 'tar -c -T /app/config.json -f -', 'permissive', /file list/],
    ['cp -rL through a symlink out of the blocked pattern', 'cp -rL /app/sub /tmp/copy', 'permissive', /symlink below folder/],
    ['cp -r of the folder holding secrets/', 'cp -r /app /tmp/copy', 'permissive', /blocked path/],
    ['mv of a folder holding a blocked path', 'mv /app /tmp/app', 'permissive', /blocked path/],
    // red team #4: wrappers and the loader that hid a shell from the deny list; variables that make a program run another
    ['a shell behind prlimit', ['prlimit', '--nofile=64', 'sh', '-c', 'touch /tmp/pwned'], 'permissive', /deny: sh|interpreter: sh/],
    ['a shell run by the dynamic loader', ['/lib64/ld-linux-x86-64.so.2', '/bin/sh', '-c', 'touch /tmp/pwned'], 'permissive', /interpreter: ld-linux-x86-64\.so\.2/],
    ['env LD_PRELOAD', ['env', 'LD_PRELOAD=/tmp/pwned.so', 'ls'], 'permissive', /environment: LD_PRELOAD/],
    ['env GIT_EXTERNAL_DIFF', ['env', 'GIT_EXTERNAL_DIFF=touch /tmp/pwned', 'git', 'diff'], 'permissive', /environment: GIT_EXTERNAL_DIFF/],
    ['not whitelisted', 'npm run build', 'moderate', /not whitelisted/],
    ['whitelist prefix abuse', 'npm test; id', 'moderate', /shell syntax/],
  ];
  for (const [label, command, tier, expected] of cases) {
    it(label, async () => {
      const client = tier === 'moderate' ? moderate.client : permissive.client;
      const r = await callTool(client, 'exec_command', { container: fx.api, command });
      assert.equal(r.isError, true, `${label} was run: ${r.text}`);
      assert.match(r.text, expected);
      assert.match(r.text, /To allow it|refused|Denied by/);
      assert.deepEqual(leaked(r.text), []);
    });
  }

  it('commands that read whole folders still run where no blocked path lies below', async () => {
    const grep = await callTool(permissive.client, 'exec_command', { container: fx.api, command: 'grep -rn export /app/src' });
    assert.equal(grep.isError, false, grep.text);
    assert.match(grep.text, /\/app\/src\/index\.ts:1:export const x = 1;/);
    // -r does not follow the symlink to /app/secrets below /app/sub, so it may run there.
    const sub = await callTool(permissive.client, 'exec_command', { container: fx.api, command: 'grep -r x /app/sub' });
    assert.equal(sub.isError, false, sub.text);
    assert.match(sub.text, /\[exit code 1\]/);
    const tar = await callTool(permissive.client, 'exec_command', { container: fx.api, command: 'tar cvf /dev/null src' });
    assert.equal(tar.isError, false, tar.text);
    assert.match(tar.text, /src\/index\.ts/);
    assert.equal(docker(['exec', fx.api, 'test', '-e', '/tmp/copy']).code, 1, 'no denied copy happened');
    assert.equal(docker(['exec', fx.api, 'test', '-f', '/app/.env']).code, 0, 'the denied mv did not run');
    assert.equal(docker(['exec', fx.api, 'test', '-e', '/tmp/pwned']).code, 1, 'the shell behind stdbuf did not run');
  });

  it('read_file refuses blocked paths, traversal, symlinks and /proc', async () => {
    for (const path of ['/app/.env', '.env', 'src/../.env', 'link-to-env', 'sub/secretsdir/db.txt', '/proc/1/environ', 'env-link', '/app/secrets/db.txt', '/proc/self/environ']) {
      const r = await callTool(moderate.client, 'read_file', { container: fx.api, path });
      assert.equal(r.isError, true, `${path}: ${r.text}`);
      assert.match(r.text, /blocked path/, path);
      assert.deepEqual(leaked(r.text), [], path);
    }
  });

  it('list_files refuses blocked folders, also through symlinks', async () => {
    for (const path of ['/app/secrets', 'sub/secretsdir', '/run/secrets']) {
      const r = await callTool(moderate.client, 'list_files', { container: fx.api, path });
      assert.equal(r.isError, true, `${path}: ${r.text}`);
      assert.match(r.text, /blocked path/);
    }
  });

  it('the strict tier runs nothing, and permissions switch tools off (DockMCP: file tools ignored the policy)', async () => {
    const strict = await connectBridge(fx, rulesFor(fx, { tier: 'strict', permissions: { files: false, lifecycle: false, logs: false } }));
    try {
      const exec = await callTool(strict.client, 'exec_command', { container: fx.api, command: 'npm test' });
      assert.match(exec.text, /Denied by tier strict/);
      for (const [tool, args] of [['read_file', { path: 'package.json' }], ['list_files', { path: '/app' }], ['get_logs', {}], ['search_logs', { pattern: 'x' }], ['restart_container', {}]] as const) {
        const r = await callTool(strict.client, tool, { container: fx.api, ...args });
        assert.equal(r.isError, true, tool);
        assert.match(r.text, /Denied by permission/, tool);
        assert.match(r.text, /bridge\.permissions\./, tool);
      }
    } finally {
      await strict.close();
    }
  });
});

// Red team (report-bridge.md) findings 1 and 2, end to end: each of these ran a command or wrote a file
// in the target through a whitelisted prefix entry before the checker read options as the programs do.
describe('executing options as the programs read them (abbreviations, attached values, old-style tar, npm config)', () => {
  let b: Connected;
  before(async () => { b = await connectBridge(fx, rulesFor(fx, { exec: { [fx.api]: ['tar *', 'sort *', 'git grep *', 'git rebase *', 'npm run lint *'] } })); });
  after(async () => { await b?.close(); });

  const canary = (n: number) => `/tmp/rt-canary-${n}`;
  const cases: string[][] = [
    ['tar', '-cf', '/dev/null', '--checkpoint=1', `--checkpoint-act=exec=touch ${canary(1)}`, 'src'],
    ['tar', '-cf', '/tmp/rt-x.tar', `-Itouch ${canary(2)}; cat`, 'src'],
    ['tar', '-cf', '/tmp/rt-y.tar', `--use-compress-prog=touch ${canary(3)}; cat`, 'src'],
    ['tar', 'cIf', `touch ${canary(4)}; cat`, '/tmp/rt-z.tar', 'src'],
    ['sort', `-o${canary(5)}`, 'src/index.ts'],
    ['sort', `--outp=${canary(6)}`, 'src/index.ts'],
    ['git', 'grep', `--open-files=touch ${canary(7)} #`, 'x'],
    ['git', 'rebase', `-xtouch ${canary(8)}`, 'HEAD~1'],
    ['npm', 'run', 'lint', `--script-shell=/usr/bin/touch`],
    ['npm', 'run', 'lint', `--node-options=--import=data:text/javascript,1`],
  ];
  for (const command of cases) {
    it(`refuses ${JSON.stringify(command)}`, async () => {
      const r = await callTool(b.client, 'exec_command', { container: fx.api, command });
      assert.equal(r.isError, true, `ran: ${r.text}`);
      assert.match(r.text, /Denied by executing option/);
    });
  }

  it('nothing ran, and the ordinary forms still run', async () => {
    for (let n = 1; n <= 8; n++) assert.equal(docker(['exec', fx.api, 'test', '-e', canary(n)]).code, 1, `${canary(n)} was created`);
    const tar = await callTool(b.client, 'exec_command', { container: fx.api, command: 'tar -cvf /dev/null --checkpoint=1 src' });
    assert.equal(tar.isError, false, tar.text);
    assert.match(tar.text, /src\/index\.ts/);
    const old = await callTool(b.client, 'exec_command', { container: fx.api, command: 'tar cvf /dev/null src' });
    assert.equal(old.isError, false, old.text);
    const sort = await callTool(b.client, 'exec_command', { container: fx.api, command: 'sort -r -k1,1 -t, src/index.ts' });
    assert.equal(sort.isError, false, sort.text);
    assert.match(sort.text, /export const x = 1;/);
  });
});

// Red team #3: a blocked pattern that names a parent folder (/app/conf/credentials.json) no longer
// matched once the parent was moved, and `mv --target-d=DIR SRC` skipped mv's folder check.
describe('moving the parent of a blocked file with an abbreviated --target-directory', () => {
  const secret = 'rt3-cred-7f1c2e9a4b';
  let b: Connected;
  before(async () => {
    const made = docker(['exec', fx.api, 'sh', '-c', `mkdir -p /app/conf && printf '{"stripe_live":"${secret}"}' > /app/conf/credentials.json && chmod -R a+rwX /app/conf`]);
    assert.equal(made.code, 0, made.stderr);
    b = await connectBridge(fx, rulesFor(fx, { tier: 'permissive', blockedPaths: [...DEFAULT_BLOCKED_PATHS, '/app/conf/credentials.json'] }));
  });
  after(async () => {
    await b?.close();
    docker(['exec', fx.api, 'rm', '-rf', '/app/conf', '/app/stash']);
  });

  it('refuses the move in every spelling, and the file stays unread', async () => {
    const mkdir = await callTool(b.client, 'exec_command', { container: fx.api, command: 'mkdir -p /app/stash' });
    assert.equal(mkdir.isError, false, mkdir.text);
    for (const command of ['mv --target-d=/app/stash /app/conf', 'mv --target=/app/stash /app/conf', 'mv --target-directory /app/stash /app/conf', 'mv -t /app/stash /app/conf', 'mv /app/conf /app/stash/conf']) {
      const r = await callTool(b.client, 'exec_command', { container: fx.api, command });
      assert.equal(r.isError, true, `${command} ran: ${r.text}`);
      assert.match(r.text, /blocked path.*\/app\/conf\/credentials\.json/s, command);
    }
    assert.equal(docker(['exec', fx.api, 'test', '-f', '/app/conf/credentials.json']).code, 0, 'the folder was not moved');
    for (const command of ['cat /app/stash/conf/credentials.json', 'cat /app/conf/credentials.json']) {
      const r = await callTool(b.client, 'exec_command', { container: fx.api, command });
      assert.ok(!r.text.includes(secret), `${command}: ${r.text}`);
    }
  });
});
