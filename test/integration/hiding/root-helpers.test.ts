// Class A of issue 11, from the attacker's side: what Paddock runs as root (the init and its
// guard, `paddock verify`) must not run a program, library or file the agent planted. The agent
// puts its own awk, head, id, ... first in PATH (~/.local/bin, ~/.npm-global/bin), points its
// git config at a system file, or (as uid 0 in a root-owned workspace) rewrites /usr/bin itself.
import assert from 'node:assert/strict';
import { chownSync, renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanup, docker, isRunning, makeWorkspace, paddock, paddockOk, stopsWithin } from '../../support/sandbox.js';

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
