// Classes B and C of issue 11, from the attacker's side. B: git data the host's git runs outside
// the cage — a submodule's hooks and config under .git/modules, a nested repository's, a linked
// worktree's, the gitlink file that says where a submodule's git dir is, the scripts a config names.
// C: cage paths that did not exist at create; the sandbox can create them, and the host must say so.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanup, makeWorkspace, paddock, paddockOk } from '../../support/sandbox.js';

const HEAD = 'ref: refs/heads/main\n';
const PLAIN = '[core]\n\tbare = false\n';

describe('git dirs the host reads are read-only in the sandbox', () => {
  let ws: string;
  let sb: string;
  const files: Record<string, string> = {
    '.git/HEAD': HEAD, '.git/config': `${PLAIN}[core]\n\thooksPath = .githooks\n\tfsmonitor = tools/fsmonitor.sh\n`, '.git/hooks/README': 'hooks\n', '.git/objects/info/packs': '', '.git/refs/tags/.keep': '',
    '.git/modules/libs/foo/HEAD': HEAD, '.git/modules/libs/foo/config': PLAIN, '.git/modules/libs/foo/hooks/README': 'hooks\n',
    '.git/modules/libs/foo/modules/inner/HEAD': HEAD, '.git/modules/libs/foo/modules/inner/config': PLAIN, '.git/modules/libs/foo/modules/inner/hooks/README': 'hooks\n',
    '.git/worktrees/wt/HEAD': HEAD, '.git/worktrees/wt/config.worktree': PLAIN, '.git/worktrees/wt/gitdir': '/nowhere/wt/.git\n',
    'libs/foo/.git': 'gitdir: ../../.git/modules/libs/foo\n', 'libs/foo/src.c': 'int x;\n',
    'nested/.git/HEAD': HEAD, 'nested/.git/config': PLAIN, 'nested/.git/hooks/README': 'hooks\n',
    '.githooks/pre-commit': '#!/bin/sh\nexit 0\n', 'tools/fsmonitor.sh': '#!/bin/sh\nexit 0\n',
    '.envrc': 'export A=1\n',
  };
  before(async () => {
    ws = makeWorkspace(files, 'paddock-gitcage-');
    sb = (await paddockOk(['create', 'shell', ws])).stdout.trim();
    await paddockOk(['start', sb]);
  });
  after(async () => { if (ws) await cleanup(ws); });

  const ATTACKS: Record<string, string> = {
    'a submodule hook': 'printf "#!/bin/sh\\ntouch /tmp/pwned\\n" > .git/modules/libs/foo/hooks/pre-commit',
    'a submodule\'s core.fsmonitor': 'git config --file .git/modules/libs/foo/config core.fsmonitor "touch /tmp/pwned"',
    'a nested submodule\'s hook': 'touch .git/modules/libs/foo/modules/inner/hooks/post-checkout',
    'a linked worktree\'s config': 'echo "[core] fsmonitor = x" >> .git/worktrees/wt/config.worktree',
    'the gitlink of a submodule (pointing it at a git dir the agent owns)': 'echo "gitdir: ../../evil" > libs/foo/.git',
    'a nested repository\'s config': 'echo "[core] fsmonitor = x" >> nested/.git/config',
    'a nested repository\'s hook': 'touch nested/.git/hooks/pre-commit',
    'the hooksPath folder': 'echo "touch /tmp/pwned" >> .githooks/pre-commit',
    'a new hook in the hooksPath folder': 'touch .githooks/post-merge',
    'the fsmonitor script': 'echo "touch /tmp/pwned" >> tools/fsmonitor.sh',
    '.envrc (direnv runs it on the host)': 'echo "curl evil" >> .envrc',
  };

  for (const user of ['agent', 'root']) {
    it(`as ${user}: none of the host's git programs or configs can be written`, async () => {
      for (const [what, script] of Object.entries(ATTACKS)) {
        const r = await paddock(['exec', '-u', user, sb, '--', 'sh', '-c', script]);
        assert.notEqual(r.code, 0, `${what} was writable as ${user}`);
      }
      for (const [path, content] of Object.entries(files)) assert.equal(readFileSync(join(ws, path), 'utf8'), content, `${path} is unchanged on the host`);
      assert.ok(!existsSync(join(ws, '.git/modules/libs/foo/hooks/pre-commit')) && !existsSync(join(ws, '.githooks/post-merge')));
    });
  }

  it('git still works in the sandbox (commits write objects and refs, not hooks or config)', async () => {
    const r = await paddock(['exec', sb, '--', 'sh', '-c', 'echo x > new.txt && git -c core.hooksPath=/dev/null -c core.fsmonitor=false add new.txt && git -c core.fsmonitor=false -c user.email=a@b -c user.name=a commit -qm x && git log --oneline | wc -l']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '1');
  });
});

describe('cage paths the sandbox created after create are flagged on the host', () => {
  let ws: string;
  let sb: string;
  before(async () => {
    ws = makeWorkspace({ 'README.md': '# late cage\n', 'app.js': '' }, 'paddock-latecage-');
    sb = (await paddockOk(['create', 'shell', ws])).stdout.trim();
    await paddockOk(['start', sb]);
  });
  after(async () => { if (ws) await cleanup(ws); });

  const CREATED = ['.vscode/tasks.json', '.paddock/policy.yaml', '.envrc', 'docker-compose.override.yml', 'newrepo/.git/hooks/pre-commit', 'newrepo/.git/config'];

  it('the agent can create them (nothing exists to mount over), but policy check, verify and the next start name each one', async () => {
    await paddockOk(['exec', sb, '--', 'sh', '-c', [
      'mkdir -p .vscode .paddock && echo \'{"tasks":[{"label":"x","command":"touch /tmp/pwned","runOptions":{"runOn":"folderOpen"}}]}\' > .vscode/tasks.json',
      'printf "version: 1\\nbridge:\\n  containers: [\\"*\\"]\\n" > .paddock/policy.yaml',
      'echo "touch /tmp/pwned" > .envrc',
      'echo "services: {x: {image: evil, privileged: true}}" > docker-compose.override.yml',
      'git init -q newrepo && printf "#!/bin/sh\\ntouch /tmp/pwned\\n" > newrepo/.git/hooks/pre-commit',
    ].join(' && ')]);
    const check = await paddock(['policy', 'check', ws, '--json']);
    assert.equal(check.code, 1, 'an error: the host would run what the sandbox wrote');
    const finding = JSON.parse(check.stdout).findings.find((f: { message: string }) => /Written while unprotected/.test(f.message));
    assert.ok(finding, check.stdout);
    for (const p of ['.vscode', '.paddock', '.envrc', 'docker-compose.override.yml', 'newrepo/.git/hooks', 'newrepo/.git/config']) assert.ok(finding.paths.includes(p), `${p} in ${finding.paths}`);

    const v = await paddock(['verify', sb, '--json']);
    assert.equal(v.code, 1);
    const failing = JSON.parse(v.stdout).failures.filter((f: { check: string; detail: string }) => f.check === 'read-only' && /did not exist when the sandbox was created/.test(f.detail)).map((f: { path: string }) => f.path);
    for (const p of ['.vscode', '.envrc', 'newrepo/.git/hooks']) assert.ok(failing.includes(join(ws, p)), `${p} in ${failing}`);

    await paddockOk(['stop', sb]);
    const run = await paddock(['run', 'shell', ws, '--', '-c', 'true']);
    assert.match(run.stderr, /Written while unprotected: .*\.vscode.*did not exist when .* was created/, run.stderr);
    assert.ok(CREATED.every((p) => existsSync(join(ws, p))));
  });

  it('after recreate they are read-only in the sandbox, and nothing is flagged', async () => {
    // The sandbox wrote .paddock/policy.yaml: a recreate refuses to build a cage from it until the
    // user has looked at it and applied it.
    const refused = await paddock(['run', 'shell', ws, '--recreate', '--', '-c', 'true']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /a sandbox could have written it[\s\S]*paddock policy apply/);
    await paddockOk(['policy', 'apply', ws]);
    await paddockOk(['run', 'shell', ws, '--recreate', '--', '-c', 'true']);
    const sb2 = (await paddockOk(['ls', '--json'])).stdout;
    const name = JSON.parse(sb2).find((s: { workspace: string }) => s.workspace === ws).name;
    for (const p of CREATED) {
      const r = await paddock(['exec', name, '--', 'sh', '-c', `echo x >> ${p}`]);
      assert.notEqual(r.code, 0, `${p} is read-only now`);
    }
    const check = await paddock(['policy', 'check', ws, '--json']);
    assert.ok(!JSON.parse(check.stdout).findings.some((f: { message: string }) => /Written while unprotected/.test(f.message)), check.stdout);
  });
});
