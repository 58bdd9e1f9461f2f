// Hiding against a real sandbox: every hidden path reads empty from every angle an agent could
// try, the cage is read-only, and `paddock verify` notices when any of that breaks.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanup, docker, isRunning, makeWorkspace, OWNER, paddock, paddockOk, stopsWithin } from '../../support/sandbox.js';

// Every secret's content carries this marker: no output of the sandbox may ever contain it.
const LEAK = 'LEAKMARK';
const SECRETS: Record<string, string> = {
  '.env': `API_TOKEN=${LEAK}-root-env\n`,
  'api/.env.local': `DB=${LEAK}-api-env\n`,
  'secrets/db/password.txt': `${LEAK}-secrets-folder\n`,
  'my project/.env': `${LEAK}-path-with-spaces\n`,
  'données/clé.pem': `${LEAK}-non-ascii\n`,
  'vendor/lib/.env': `${LEAK}-nested-repo\n`,
  'custom/token.txt': `${LEAK}-policy-rule\n`,
};
const POLICY = `version: 1
# test policy: the defaults plus one path of our own
hide: ["**/.env", "**/.env.*", "!**/.env.example", "**/*.pem", "**/secrets/**", "custom/token.txt"]
`;

function git(cwd: string, args: string[]): void {
  const r = spawnSync('git', ['-c', 'init.defaultBranch=main', '-c', 'safe.directory=*', ...args], { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

function chownAll(ws: string): void {
  spawnSync('chown', ['-R', '-h', `${OWNER.uid}:${OWNER.gid}`, ws]);
}

async function sh(name: string, script: string, user?: string) {
  return paddock(['exec', ...(user ? ['-u', user] : []), name, '--', 'sh', '-c', script]);
}

describe('hidden paths in a real sandbox', () => {
  let ws: string;
  let name: string;

  before(async () => {
    ws = makeWorkspace({
      ...SECRETS,
      '.env.example': 'API_TOKEN=put-yours-here\n',
      'src/app.js': 'console.log(1)\n',
      '.paddock/policy.yaml': POLICY,
      '.claude/settings.json': '{"permissions": {"deny": ["Read(./.env)"]}}\n',
      'docker-compose.yml': 'services:\n  app:\n    image: node\n',
      'vendor/lib/index.js': 'module.exports = 1\n',
    });
    git(ws, ['init', '-q']);
    git(join(ws, 'vendor/lib'), ['init', '-q']);
    symlinkSync('.env', join(ws, 'link-to-env'));
    mkdirSync(join(ws, 'docs'));
    symlinkSync('../secrets', join(ws, 'docs/keys'));
    mkdirSync(join(ws, 'notes'));
    linkSync(join(ws, '.env'), join(ws, 'notes/copy.txt'));
    chownAll(ws);
    name = (await paddockOk(['create', 'shell', ws])).stdout.trim();
  });
  after(() => cleanup(ws));

  it('each hidden path reads empty, for the agent and for root', async () => {
    for (const user of ['agent', 'root']) {
      for (const path of Object.keys(SECRETS).filter((p) => !p.startsWith('secrets/'))) {
        const r = await paddock(['exec', '-u', user, name, '--', 'cat', join(ws, path)]);
        assert.equal(r.code, 0, `${path}: ${r.stderr}`);
        assert.equal(r.stdout, '', `${path} as ${user}`);
      }
      const listing = await sh(name, `ls -A ${ws}/secrets`, user);
      assert.equal(listing.stdout, '', 'a hidden folder is empty');
    }
  });

  it('does not over-hide: .env.example and the code stay readable', async () => {
    assert.equal((await paddockOk(['exec', name, '--', 'cat', '.env.example'])).stdout, 'API_TOKEN=put-yours-here\n');
    assert.equal((await paddockOk(['exec', name, '--', 'cat', 'src/app.js'])).stdout, 'console.log(1)\n');
  });

  it('reading through a symlink, a hard link or /proc/self/root gives nothing', async () => {
    const r = await sh(name, `cat link-to-env notes/copy.txt /proc/self/root${ws}/.env /proc/1/root${ws}/.env 2>/dev/null; ls -A docs/keys/; cat docs/keys/db/password.txt 2>&1`);
    assert.doesNotMatch(r.stdout, new RegExp(LEAK));
    assert.match(r.stdout, /No such file/);
  });

  it('find / -name .env -exec cat {} +, grep -r, cp and tar of the workspace leak nothing', async () => {
    const attempts = [
      'find / -name .env -exec cat {} + 2>/dev/null',
      'find / -name "*.pem" -exec cat {} + 2>/dev/null',
      `grep -r ${LEAK} / --exclude-dir=proc --exclude-dir=sys 2>/dev/null`,
      `cp -r ${ws} /tmp/copy && cat /tmp/copy/.env /tmp/copy/api/.env.local; ls -A /tmp/copy/secrets`,
      `tar -C ${ws} -cf - . 2>/dev/null | tar -xOf - 2>/dev/null`,
    ];
    for (const attempt of attempts) {
      for (const user of ['agent', 'root']) {
        const r = await sh(name, attempt, user);
        assert.doesNotMatch(r.stdout + r.stderr, new RegExp(LEAK), `${attempt} as ${user}`);
      }
    }
  });

  it('cannot remove, move, unmount or overwrite a hiding mount; writes never reach the host', async () => {
    const r = await sh(name, `rm -f .env; mv .env moved; rm -rf secrets; umount ${ws}/.env; umount ${ws}/secrets; echo overwritten > .env; touch secrets/new; cat .env`, 'root');
    assert.match(r.stderr, /busy|Read-only|not permitted|denied/i);
    assert.equal(readFileSync(join(ws, '.env'), 'utf8'), SECRETS['.env'], 'the host file is untouched');
    assert.equal(readFileSync(join(ws, 'secrets/db/password.txt'), 'utf8'), SECRETS['secrets/db/password.txt']);
    const again = await paddockOk(['exec', name, '--', 'cat', '.env']);
    assert.equal(again.stdout, '');
  });

  it('the agent cannot edit its own cage: policy, agent configs, git hooks and config, compose files', async () => {
    for (const user of ['agent', 'root']) {
      for (const attempt of ['touch .paddock/x', 'echo "hide: []" > .paddock/policy.yaml', 'touch .claude/settings.local.json', 'touch .git/hooks/pre-commit',
        'git config core.hooksPath /tmp/hooks', 'echo "  evil: {}" >> docker-compose.yml', 'touch vendor/lib/.git/hooks/post-checkout', 'rm -rf .claude', 'mv .paddock .paddock-old']) {
        const r = await sh(name, attempt, user);
        assert.notEqual(r.code, 0, `${attempt} as ${user} should fail`);
      }
    }
    assert.equal(readFileSync(join(ws, '.paddock/policy.yaml'), 'utf8'), POLICY);
    assert.doesNotMatch(readFileSync(join(ws, '.git/config'), 'utf8'), /hooksPath/);
    // The rest of the workspace stays writable.
    await paddockOk(['exec', name, '--', 'sh', '-c', 'echo ok > src/new.txt']);
    assert.equal(readFileSync(join(ws, 'src/new.txt'), 'utf8'), 'ok\n');
  });

  it('paddock verify passes on a good sandbox and lists every hidden path', async () => {
    const r = await paddock(['verify', name, '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.ok, true);
    const checked = new Set(report.checks.map((c: any) => c.path));
    for (const path of [...Object.keys(SECRETS).filter((p) => !p.startsWith('secrets/')), 'secrets', 'notes/copy.txt', 'link-to-env', 'docs/keys', '.claude', '.paddock', '.git/hooks', 'vendor/lib/.git/hooks', 'docker-compose.yml']) {
      assert.ok(checked.has(join(ws, path)), `verify checks ${path}`);
    }
    assert.ok(report.checks.some((c: any) => c.check === 'docker-socket' && c.path === '/var/run/docker.sock' && c.ok));
    const human = await paddockOk(['verify', name]);
    assert.match(human.stdout, /Verified: \d+ checks passed/);
  });

  it('a secret file created after the sandbox stops it at once; start refuses with the fix; policy check says so; an apply hides it', async () => {
    mkdirSync(join(ws, 'late'));
    writeFileSync(join(ws, 'late/.env'), `${LEAK}-late\n`);
    chownAll(ws);
    // The sandbox's own guard (no Paddock process serves it): frozen and stopped (test/integration/hiding/new-secrets.test.ts has the attacker's side).
    assert.ok(await stopsWithin(name, 15_000), 'stopped itself');
    assert.match(docker(['logs', name]).stderr, new RegExp(`paddock: new secret: ${join(ws, 'late/.env')} \\(hide "\\*\\*/\\.env"\\)`));
    const start = await paddock(['start', name]);
    assert.notEqual(start.code, 0, 'a start does not run with it readable');
    assert.equal(start.stderr.split(join(ws, 'late/.env')).length - 1, 2, `the secret is named by the guard's stop note and the refusal, no third time: ${start.stderr}`);
    assert.match(start.stderr, new RegExp(`did not start: ${join(ws, 'late/.env')} \\(hide .*\\) appeared after it was made, and no mount hides it\\.\\s+→ Run "paddock apply ${name}"`));
    const check = await paddock(['policy', 'check', ws]);
    assert.equal(check.code, 1);
    assert.match(check.stdout, /recreate-needed/);
    name = (await paddockOk(['apply', name])).stdout.trim();
    assert.equal((await paddockOk(['exec', name, '--', 'cat', 'late/.env'])).stdout, '');
    assert.equal((await paddock(['verify', name])).code, 0);
  });

  it('a file replaced on the host by rename (an editor\'s save) stops the sandbox from inside, with no Paddock process serving it; a start hides it again', async () => {
    writeFileSync(join(ws, 'editor-save-tmp'), `API_TOKEN=${LEAK}-saved-by-editor\n`);
    renameSync(join(ws, 'editor-save-tmp'), join(ws, '.env'));
    chownAll(ws);
    assert.ok(await stopsWithin(name, 10_000), 'the sandbox stopped itself');
    assert.match(docker(['logs', name]).stderr, new RegExp(`paddock: protection lifted: ${join(ws, '.env')} \\(hidden\\) replaced or removed on the host`));
    await paddockOk(['start', name]);
    assert.equal((await paddockOk(['exec', name, '--', 'cat', '.env'])).stdout, '');
    assert.equal((await paddock(['verify', name])).code, 0);
  });
});

describe('an image with no awk, where the guards inside cannot run', () => {
  let ws: string;
  before(() => {
    ws = makeWorkspace({ '.env': `API_TOKEN=${LEAK}-unguarded\n`, '.paddock/Dockerfile': 'ARG PADDOCK_AGENT_IMAGE\nFROM ${PADDOCK_AGENT_IMAGE}\nRUN rm -f /usr/bin/awk /usr/bin/mawk /etc/alternatives/awk\n' });
    chownAll(ws);
  });
  after(async () => {
    if (ws) await cleanup(ws);
  });

  it('does not start (fail closed), says why once and how to fix it, and runs nothing', async () => {
    const created = await paddock(['create', 'shell', ws]);
    assert.notEqual(created.code, 0, created.stdout);
    assert.match(created.stderr, /did not start: its image has no awk, so the guards inside it \(hidden paths replaced on the host, secrets that appear, git redirection\) cannot run/);
    assert.match(created.stderr, /Add awk to the image/);
    assert.equal(created.stderr.match(/no awk/g)?.length, 1, created.stderr);
    const name = (await paddockOk(['ls', '--json', '-w', ws])).stdout;
    const sandbox = JSON.parse(name)[0];
    assert.ok(sandbox && !isRunning(sandbox.name), 'kept, stopped, for the user to fix or remove');
    const listed = (await paddockOk(['ls', '-w', ws])).stdout.split('\n').find((l) => l.startsWith(`${sandbox.name} `)) ?? '';
    assert.match(listed, /stopped \(no awk in this image\)/, 'ls says why, not an engine restart');
    const started = await paddock(['start', sandbox.name]);
    assert.notEqual(started.code, 0);
    assert.ok(!isRunning(sandbox.name));
  });
});

describe('paddock verify reports a broken sandbox by path', () => {
  let ws: string;
  const made: string[] = [];
  before(() => {
    ws = makeWorkspace({ '.env': `TOKEN=${LEAK}\n`, 'src/a.js': '1\n', '.claude/settings.json': '{}\n' });
  });
  after(async () => {
    for (const c of made) docker(['rm', '-f', c]);
    await cleanup(ws);
  });

  it('a container labelled as a sandbox but created by hand (no hiding, engine socket mounted)', async () => {
    const good = (await paddockOk(['create', 'shell', ws])).stdout.trim();
    const image = docker(['inspect', '-f', '{{.Config.Image}}', good]).stdout.trim();
    await paddockOk(['rm', good]);
    const tampered = `paddock-tamper-${process.pid}`;
    made.push(tampered);
    const run = docker(['run', '-d', '--name', tampered, '--label', 'dev.paddock.sandbox=1', '--label', `dev.paddock.workspace=${ws}`, '--label', 'dev.paddock.agent=shell',
      '-v', `${ws}:${ws}`, '-v', '/var/run/docker.sock:/var/run/docker.sock', '-e', 'DOCKER_HOST=unix:///var/run/docker.sock', image, 'sleep', '600']);
    assert.equal(run.code, 0, run.stderr);
    const r = await paddock(['verify', tampered, '--json']);
    assert.equal(r.code, 1);
    const failures = JSON.parse(r.stdout).failures.map((f: any) => `${f.check} ${f.path}`);
    assert.ok(failures.includes(`hidden-file ${join(ws, '.env')}`), failures.join('\n'));
    assert.ok(failures.includes('docker-socket /var/run/docker.sock'), failures.join('\n'));
    assert.ok(failures.includes('docker-env DOCKER_HOST'), failures.join('\n'));
    assert.ok(failures.includes(`read-only ${join(ws, '.claude')}`), failures.join('\n'));
    const human = await paddock(['verify', tampered]);
    assert.match(human.stdout, new RegExp(`FAIL\\s+hidden file\\s+${join(ws, '.env')}`));
    assert.match(human.stderr, /Verification of .* failed/);
    docker(['rm', '-f', tampered]);
  });

  it('a sandbox made with --template from an image with credentials baked into root\'s home', async () => {
    const base = docker(['images', '--format', '{{.Repository}}:{{.Tag}}', 'paddock-shell']).stdout.split('\n')[0].trim();
    assert.ok(base, 'the shell template image exists (built by an earlier test)');
    const ctx = join(tmpdir(), `paddock-template-${process.pid}`);
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${base}\nRUN mkdir -p /root/.aws && echo "[default]" > /root/.aws/credentials && mkdir -p /home/agent/.ssh && echo key > /home/agent/.ssh/id_ed25519\n`);
    const tag = `paddock-test-leaky:${process.pid}`;
    const built = docker(['build', '-q', '-t', tag, ctx]);
    rmSync(ctx, { recursive: true, force: true });
    assert.equal(built.code, 0, built.stderr);
    try {
      const sb = (await paddockOk(['create', 'shell', ws, '--template', tag])).stdout.trim();
      const r = await paddock(['verify', sb, '--json']);
      assert.equal(r.code, 1);
      const failures = JSON.parse(r.stdout).failures.map((f: any) => `${f.check} ${f.path}`);
      assert.deepEqual(failures.sort(), ['home-secret /home/agent/.ssh', 'home-secret /root/.aws/credentials']);
      await paddockOk(['rm', sb]);
    } finally {
      docker(['rmi', '-f', tag]);
    }
  });
});

describe('a secret committed to git', () => {
  let ws: string;
  before(() => {
    ws = makeWorkspace({ '.env': `TOKEN=${LEAK}-committed\n`, 'src/a.js': '1\n' });
    git(ws, ['init', '-q']);
    git(ws, ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'add', '.']);
    git(ws, ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '-qm', 'oops']);
    chownAll(ws);
  });
  after(() => cleanup(ws));

  it('is readable with git show despite the hiding mount, and policy check says so', async () => {
    const name = (await paddockOk(['create', 'shell', ws])).stdout.trim();
    assert.equal((await paddockOk(['exec', name, '--', 'cat', '.env'])).stdout, '');
    const shown = await paddock(['exec', name, '--', 'git', 'show', 'HEAD:.env']);
    assert.match(shown.stdout, new RegExp(LEAK), 'the history still has it: this is what the finding is about');
    const check = await paddock(['policy', 'check', ws, '--no-engine', '--json']);
    assert.equal(check.code, 1);
    const finding = JSON.parse(check.stdout).findings.find((f: any) => f.rule === 'hidden-in-git');
    assert.deepEqual(finding.paths, ['.env']);
    await paddockOk(['rm', name]);
  });

  it('hiding .git, as the finding suggests, closes that way', async () => {
    mkdirSync(join(ws, '.paddock'));
    writeFileSync(join(ws, '.paddock/policy.yaml'), 'version: 1\nhide: ["**/.env", "**/.git"]\n');
    chownAll(ws);
    // Edited outside the editor after a sandbox of this workspace existed: the user applies it.
    await paddockOk(['policy', 'apply', ws]);
    const name = (await paddockOk(['create', 'shell', ws])).stdout.trim();
    const shown = await paddock(['exec', name, '--', 'sh', '-c', 'git show HEAD:.env 2>&1; grep -r LEAKMARK .git 2>&1; true']);
    assert.doesNotMatch(shown.stdout, new RegExp(LEAK));
    assert.equal((await paddock(['verify', name])).code, 0);
  });
});
