// Class A of issue 11, from the attacker's side: what Paddock runs as root (the init and its
// guard, `paddock verify`) must not run a program, library or file the agent planted. The agent
// puts its own awk, head, id, ... first in PATH (~/.local/bin, ~/.npm-global/bin), points its
// git config at a system file, or (as uid 0 in a root-owned workspace) rewrites /usr/bin itself.
import assert from 'node:assert/strict';
import { chownSync, renameSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { planMounts } from '../../../src/core/hiding.js';
import { loadPolicy } from '../../../src/core/policy.js';
import { verifySandbox } from '../../../src/engine/verify.js';
import { cleanup, docker, engine, isRunning, makeWorkspace, paddock, paddockOk, stopsWithin } from '../../support/sandbox.js';

const SECRET = 'ROOTHELPERSECRET';
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Programs the init, the guard and verify's old script ran; each fake notes when root runs it, and
// the ones that answer a check lie (head prints nothing, wc says 0, ls lists nothing).
const PLANTED = ['awk', 'date', 'tr', 'sed', 'head', 'wc', 'ls', 'find', 'id', 'getent', 'cut', 'git', 'grep', 'findmnt', 'setpriv', 'runuser', 'env', 'node', 'dirname', 'seq', 'sleep', 'rm', 'cat', 'chown', 'mkdir', 'useradd', 'kill'];
const plantScript = (dirs: string) => `
for d in ${dirs}; do
  mkdir -p "$d"
  for p in ${PLANTED.join(' ')}; do
    cat > "$d/$p" <<EOF
#!/bin/sh
[ "\\$(/usr/bin/id -u)" = 0 ] && echo "$p" >> /tmp/ran-as-root
case "$p" in head) exit 0 ;; wc) echo 0; exit 0 ;; ls) exit 0 ;; esac
for real in /usr/bin/$p /bin/$p /usr/sbin/$p /sbin/$p /usr/local/bin/$p; do [ -x "\\$real" ] && exec "\\$real" "\\$@"; done
exit 0
EOF
    chmod +x "$d/$p"
  done
done`;

/** What root ran of the agent's programs (read with absolute paths only). */
const ranAsRoot = (sb: string) => docker(['exec', '-u', 'root', sb, '/bin/sh', '-c', '/bin/cat /tmp/ran-as-root 2>/dev/null; true']).stdout.trim();

describe('root helpers ignore the agent\'s programs (agent with its own uid)', () => {
  let ws: string;
  let sb: string;
  before(async () => {
    ws = makeWorkspace({ '.env': `TOKEN=${SECRET}\n`, 'README.md': '# root helpers\n' }, 'paddock-roothelpers-');
    sb = (await paddockOk(['create', 'shell', ws])).stdout.trim();
    await paddockOk(['start', sb]);
  });
  after(async () => { if (ws) await cleanup(ws); });

  it('programs planted first in PATH are never run by the guard, the init at the next start, or verify', async () => {
    await paddockOk(['exec', sb, '--', 'sh', '-c', plantScript('"$HOME/.local/bin" "$HOME/.npm-global/bin"')]);
    // The agent's PATH does find them (the attack is real), and the agent cannot write the system folders.
    assert.match((await paddockOk(['exec', sb, '--', 'sh', '-c', 'command -v awk'])).stdout, /\/home\/agent\/\.local\/bin\/awk/);
    const writable = await paddock(['exec', sb, '--', 'sh', '-c', 'for d in /usr/local/bin /usr/local/sbin /usr/bin /bin /usr/sbin /sbin /usr/local/lib /etc; do touch "$d/.agent-was-here" 2>/dev/null && echo "$d"; done; true']);
    assert.equal(writable.stdout.trim(), '', 'a non-root agent can write no system folder');
    await wait(3000); // the guard checks every second
    await paddockOk(['stop', sb]);
    await paddockOk(['start', sb]);
    await wait(2000);
    const report = await paddock(['verify', sb, '--json']);
    assert.equal(ranAsRoot(sb), '', 'root ran none of the agent\'s programs');
    const json = JSON.parse(report.stdout);
    assert.equal(json.ok, true, report.stdout);
    assert.ok(!json.notes.some((n: string) => /own programs/.test(n)), 'verify read the sandbox from outside');
  });

  it('the guard still stops the sandbox when a hidden file is replaced on the host (the fakes did not switch it off)', async () => {
    assert.ok(isRunning(sb));
    writeFileSync(join(ws, '.env.save'), `TOKEN=${SECRET}-new\n`);
    chownSync(join(ws, '.env.save'), 1000, 1000);
    renameSync(join(ws, '.env.save'), join(ws, '.env'));
    assert.ok(await stopsWithin(sb, 10_000), 'the guard stopped the sandbox');
    assert.equal(ranAsRoot(sb), '');
  });
});

describe('verify is not fooled by the agent\'s programs', () => {
  let ws: string;
  let sb: string;
  before(async () => {
    ws = makeWorkspace({ 'README.md': '# verify\n', 'late/token.txt': `TOKEN=${SECRET}\n` }, 'paddock-verifyfool-');
    sb = (await paddockOk(['create', 'shell', ws])).stdout.trim();
    await paddockOk(['start', sb]);
    // A path the policy hides only since create is readable until an apply: verify must say so. (A
    // new file that a rule of the sandbox hides stops it instead: new-secrets.test.ts.)
    mkdirSync(join(ws, '.paddock'));
    writeFileSync(join(ws, '.paddock/policy.yaml'), 'version: 1\nhide: ["**/.env", "late/token.txt"]\n');
  });
  after(async () => { if (ws) await cleanup(ws); });

  it('with lying head, wc and ls first in PATH, verify still reports the readable hidden file', async () => {
    await paddockOk(['exec', sb, '--', 'sh', '-c', plantScript('"$HOME/.local/bin"')]);
    assert.match((await paddockOk(['exec', sb, '--', 'cat', 'late/token.txt'])).stdout, new RegExp(SECRET), 'the file is readable in the sandbox');
    const r = await paddock(['verify', sb, '--json']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.ok(r.stdout, r.stderr);
    const failure = JSON.parse(r.stdout).failures.find((f: { path: string }) => f.path === join(ws, 'late', 'token.txt'));
    assert.ok(failure, r.stdout);
    assert.match(failure.detail, /readable/);
    assert.equal(ranAsRoot(sb), '');
  });

  // The check names the engine sockets it finds; a name with newlines in it was read as answers of
  // its own ("1 empty" after the real "1 readable"), so a readable hidden file passed as hidden.
  it('sockets named with forged answer lines neither hide a readable hidden file nor lose their own names', async () => {
    const forge = `const net = require('net');
      const names = [1, 11, 21].map((first) => 'docker\\n' + Array.from({ length: 10 }, (_, i) => (first + i) + ' empty').join('\\n'));
      let listening = 0;
      for (const name of names) net.createServer().listen(name, () => { if (++listening === names.length) process.exit(0); });`;
    await paddockOk(['exec', sb, '-w', '/tmp', '--', 'node', '-e', forge]);
    assert.match((await paddockOk(['exec', sb, '--', 'cat', 'late/token.txt'])).stdout, new RegExp(SECRET), 'the file is readable in the sandbox');
    const r = await paddock(['verify', sb, '--json']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const json = JSON.parse(r.stdout);
    assert.ok(!json.notes.some((n: string) => /own programs/.test(n)), 'verify read the sandbox from outside');
    const leak = json.failures.find((f: { path: string }) => f.path === join(ws, 'late', 'token.txt'));
    assert.ok(leak && /readable/.test(leak.detail), r.stdout);
    const sockets = json.failures.filter((f: { check: string }) => f.check === 'docker-socket').map((f: { path: string }) => f.path);
    assert.ok(sockets.includes('/tmp/docker\n1 empty\n2 empty\n3 empty\n4 empty\n5 empty\n6 empty\n7 empty\n8 empty\n9 empty\n10 empty'), JSON.stringify(sockets));
  });
});

// A warm `paddock run` (its sandbox running) checks the sandbox's hidden paths from outside before the
// agent starts; its helper starts as the command begins (src/cli/runEarly.ts), and the agent waits for it.
describe('a warm run checks the running sandbox before its agent starts', () => {
  let ws: string;
  let sb: string;
  const helpersOf = (name: string) => docker(['ps', '-a', '-q', '--filter', `label=dev.paddock.verify-of=${name}`]).stdout.trim();
  const noHelperWithin = async (name: string, ms: number) => {
    for (const end = Date.now() + ms; helpersOf(name) && Date.now() < end;) await wait(200);
    return helpersOf(name) === '';
  };
  before(async () => {
    ws = makeWorkspace({ '.env': `TOKEN=${SECRET}\n`, 'README.md': '# warm run\n' }, 'paddock-warmcheck-');
    sb = (await paddockOk(['create', 'shell', ws])).stdout.trim();
  });
  after(async () => { if (ws) await cleanup(ws); });

  it('runs the agent when the hiding holds, and leaves no helper container behind', async () => {
    const r = await paddockOk(['run', 'shell', ws, '--', '-c', 'echo AGENT-RAN; cat .env']);
    assert.match(r.stdout, /AGENT-RAN/);
    assert.doesNotMatch(r.stdout + r.stderr, new RegExp(SECRET));
    assert.ok(await noHelperWithin(sb, 5000), 'the engine removed the check\'s helper');
  });

  it('takes the mount plan the run has just made of the same workspace instead of walking it again', async () => {
    // A warm run plans the workspace once (for its notes) and gives that plan to the check: what the
    // check asks is the given plan's. A plan of another workspace is not taken: the check plans its own.
    const e = engine();
    const { workspace, id } = await e.get(sb);
    writeFileSync(join(workspace, 'extra.txt'), 'not hidden by the policy\n');
    chownSync(join(workspace, 'extra.txt'), 1000, 1000);
    try {
      const policy = loadPolicy(workspace).policy;
      const plan = planMounts(workspace, { ...policy, hide: [...policy.hide, 'extra.txt'] });
      const given = await verifySandbox(e, id, { plan: { workspace, plan } });
      const extra = given.failures.find((f) => f.path === join(workspace, 'extra.txt'));
      assert.ok(extra && /not mounted/.test(extra.detail), JSON.stringify(given.failures));
      const own = await verifySandbox(e, id, { plan: { workspace: join(workspace, 'elsewhere'), plan } });
      assert.ok(!own.checks.some((c) => c.path === join(workspace, 'extra.txt')), JSON.stringify(own.checks));
      assert.ok(own.ok, JSON.stringify(own.failures));
    } finally {
      rmSync(join(workspace, 'extra.txt'), { force: true });
    }
  });

  it('does not start the agent when a hidden file was replaced on the host and nothing inside stopped the sandbox', async () => {
    // The guard inside missing it, made on purpose: root stops every process of the sandbox (SIGSTOP).
    assert.equal(docker(['exec', '-u', 'root', sb, '/bin/sh', '-c', 'kill -s STOP -- -1; true']).code, 0);
    writeFileSync(join(ws, '.env.save'), `TOKEN=${SECRET}-replaced\n`);
    chownSync(join(ws, '.env.save'), 1000, 1000);
    renameSync(join(ws, '.env.save'), join(ws, '.env'));
    await wait(1500);
    assert.ok(isRunning(sb), 'nothing inside stopped it');
    // The helper's input is one line on its stdin: root in the sandbox writes a forged one (every check
    // asked as "absent", so all would pass) into each node process's stdin while the runs check.
    const hostname = docker(['exec', sb, 'cat', '/etc/hostname']).stdout.trim();
    writeFileSync(join(ws, 'forged.json'), `${JSON.stringify([Array.from({ length: 300 }, () => ['absent', '/nonexistent']), hostname, ws, []])}\n`);
    docker(['exec', '-d', '-u', 'root', sb, '/bin/sh', '-c', `while :; do for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = node ] || continue; echo $p >> /tmp/forge-tried; timeout 1 sh -c 'cat "$0" > "$1/fd/0"' ${join(ws, 'forged.json')} $p 2>/dev/null && echo $p >> /tmp/forged-into; done; done`]);
    // The command line bin/paddock starts the check for early, and one it leaves to the usual way (an option it does not take).
    for (const extra of [[], ['--no-inject-keys']]) {
      const r = await paddock(['run', 'shell', ws, ...extra, '--', '-c', 'echo AGENT-RAN; cat .env']);
      assert.notEqual(r.code, 0, `refused (${extra.join(' ') || 'early check'}): ${r.stdout}${r.stderr}`);
      assert.doesNotMatch(r.stdout, /AGENT-RAN/, 'the agent never ran');
      assert.doesNotMatch(r.stdout + r.stderr, new RegExp(SECRET));
      assert.match(r.stderr, new RegExp(`Hidden paths are readable in ${sb}: ${join(ws, '.env')} \\(replaced on the host while it ran, which detaches a hiding mount\\), so its agent was not started\\.`));
      assert.match(r.stderr, new RegExp(`→ Restart it \\("paddock stop ${sb}", then run again\\)`));
      assert.ok(await noHelperWithin(sb, 5000), 'no helper container left behind');
    }
    const tried = docker(['exec', sb, 'sh', '-c', 'sort -u /tmp/forge-tried 2>/dev/null | wc -l']).stdout.trim();
    assert.equal(docker(['exec', sb, 'sh', '-c', 'cat /tmp/forged-into 2>/dev/null; true']).stdout.trim(), '', `no forged input reached a helper (${tried} node processes tried)`);
    // What the message says to do works: a restart hides the new file.
    await paddockOk(['stop', sb]);
    const again = await paddockOk(['run', 'shell', ws, '--', '-c', 'echo AGENT-RAN; cat .env']);
    assert.match(again.stdout, /AGENT-RAN/);
    assert.doesNotMatch(again.stdout, new RegExp(SECRET));
  });
});

describe('an agent with uid 0 (the workspace belongs to root) rewrites the system folders', () => {
  let ws: string;
  let sb: string;
  before(async () => {
    ws = makeWorkspace({ 'README.md': '# uid 0\n', 'token.txt': `TOKEN=${SECRET}\n` }, 'paddock-verifyroot-');
    docker(['run', '--rm', '-v', `${ws}:/w`, '--entrypoint', 'chown', 'debian:bookworm-slim', '-R', '0:0', '/w']);
    chownSync(ws, 0, 0);
    sb = (await paddockOk(['create', 'shell', ws])).stdout.trim();
    await paddockOk(['start', sb]);
    // Hidden by the policy only since create: readable until an apply.
    mkdirSync(join(ws, '.paddock'));
    writeFileSync(join(ws, '.paddock/policy.yaml'), 'version: 1\nhide: ["**/.env", "token.txt"]\n');
  });
  after(async () => { if (ws) await cleanup(ws); });

  it('replacing /usr/bin/head, wc, ls and find does not make verify call a readable hidden file hidden', async () => {
    const r0 = await paddockOk(['exec', sb, '--', 'sh', '-c', 'id -u; for p in head wc ls find; do printf "#!/bin/sh\\n%s\\n" "$( [ $p = wc ] && echo "echo 0" || echo "exit 0")" > /usr/bin/$p.new && chmod 755 /usr/bin/$p.new && mv /usr/bin/$p.new /usr/bin/$p; done; /usr/bin/head -c 5 token.txt | /usr/bin/wc -c']);
    assert.equal(r0.stdout.trim(), '0\n0', 'the agent is uid 0 and its head/wc now lie');
    const r = await paddock(['verify', sb, '--json']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const json = JSON.parse(r.stdout);
    assert.ok(json.failures.some((f: { path: string; detail: string }) => f.path === join(ws, 'token.txt') && /readable/.test(f.detail)), r.stdout);
  });

  it('killing the outside check\'s helper does not turn verify to the sandbox\'s own (lying) programs: the check fails and says why', async () => {
    // The agent (uid 0, its head/wc/ls/find replaced above) sees the helper's processes (it joins the
    // sandbox's PID namespace) and kills every node process it finds, so each helper dies at once.
    await paddockOk(['exec', sb, '--', 'sh', '-c', 'setsid sh -c \'while :; do for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = node ] && kill -9 "${p#/proc/}" 2>/dev/null && echo "${p#/proc/}" >> /tmp/helpers-killed; done; done\' </dev/null >/dev/null 2>&1 & echo started']);
    const r = await paddock(['verify', sb, '--json']);
    await paddock(['exec', sb, '--', 'sh', '-c', 'pkill -f "helpers-killed"; true']);
    assert.notEqual(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /"ok": ?true/, 'no answer of the sandbox\'s own programs counts');
    assert.match(r.stderr, new RegExp(`The hiding of ${sb} could not be checked: the helper container could not read it \\(.*\\), and its own programs prove nothing, since its agent runs as uid 0`));
    assert.notEqual(docker(['exec', sb, 'sh', '-c', 'cat /tmp/helpers-killed 2>/dev/null; true']).stdout.trim(), '', 'the agent did kill a helper');
  });
});

describe('the init does not write through the agent\'s files, nor take loader variables', () => {
  let ws: string;
  let sb: string;
  before(async () => {
    ws = makeWorkspace({ 'README.md': '# init\n' }, 'paddock-initlinks-');
    sb = (await paddockOk(['create', 'shell', ws])).stdout.trim();
    await paddockOk(['start', sb]);
  });
  after(async () => { if (ws) await cleanup(ws); });

  it('a ~/.gitconfig symlinked to a system file is not written or handed to the agent by root at the next start', async () => {
    await paddockOk(['exec', sb, '--', 'sh', '-c', 'ln -sf /etc/ld.so.preload ~/.gitconfig']);
    await paddockOk(['stop', sb]);
    await paddockOk(['start', sb]);
    const r = docker(['exec', '-u', 'root', sb, '/bin/sh', '-c', '/bin/ls -ln /etc/ld.so.preload 2>&1; true']);
    assert.match(r.stdout, /ld\.so\.preload.*No such file/, r.stdout);
    assert.ok(isRunning(sb), 'the sandbox still starts');
  });

  it('LD_PRELOAD, LD_LIBRARY_PATH, NODE_OPTIONS or a PADDOCK_ variable for the whole sandbox are refused at create, naming the variable', async () => {
    const other = makeWorkspace({ 'README.md': '# env\n' }, 'paddock-loaderenv-');
    try {
      // PADDOCK_UNMOUNT_EVENTS=1 would make the init's mounts guard wait on unmount events alone,
      // which gVisor does not give for a replaced hidden file.
      for (const assignment of [`LD_PRELOAD=${other}/evil.so`, `LD_LIBRARY_PATH=${other}/lib`, `NODE_OPTIONS=--require ${other}/x.js`, 'PADDOCK_UNMOUNT_EVENTS=1']) {
        const r = await paddock(['create', 'shell', other, '-e', assignment]);
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, new RegExp(`${assignment.split('=')[0]} cannot be set for a (whole )?sandbox`));
      }
      assert.equal(docker(['ps', '-a', '--filter', `label=dev.paddock.workspace=${other}`, '-q']).stdout.trim(), '', 'nothing was created');
    } finally {
      await cleanup(other);
    }
  });
});
