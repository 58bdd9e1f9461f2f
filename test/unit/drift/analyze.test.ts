import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { analyzeWorkspace, analyzeWorkspaceAsync, secretVisible, type Finding } from '../../../src/core/drift/index.js';
import { addClaudeDeny, addHidePattern, addIgnoreLine } from '../../../src/core/drift/fixes.js';
import { planMounts } from '../../../src/core/hiding.js';
import { defaultPolicy, parsePolicy, policyHash } from '../../../src/core/policy.js';
import { formatCheck } from '../../../src/cli/policy.js';
import { placeFindings } from '../../../src/vscode/drift/placement.js';
import { removeTrees, tree } from '../hiding/support.js';

after(removeTrees);
const k = (...parts: string[]) => parts.join('');
const AWS_SECRET = k('aws_secret_access_key = ', 'q8Rz3Lm0Vx7Tn2Bw5Kc9Jd4Hf6Gs1Py8Ua3Ei0Oo', '\n');
const of = (findings: readonly Finding[], rule: Finding['rule']) => findings.filter((f) => f.rule === rule);
const text = (file: string, f: Finding) => readFileSync(file, 'utf8').slice(f.range.start, f.range.end);

describe('denied in an agent config but visible in the sandbox (error)', () => {
  it('Claude deny rule the policy lacks: error at the rule, with a fix that hides it', () => {
    const ws = tree({ files: { '.claude/settings.json': '{\n  "permissions": {\n    "deny": ["Read(./.env)", "Read(./config/prod.json)"]\n  }\n}\n', 'config/prod.json': '{}', '.env': 'A=1' } });
    const a = analyzeWorkspace(ws, { scanContent: false });
    const [f] = of(a.findings, 'denied-but-visible');
    assert.equal(of(a.findings, 'denied-but-visible').length, 1, '.env is hidden by the defaults, so only prod.json is reported');
    assert.equal(f.severity, 'error');
    assert.equal(f.file, join(ws, '.claude/settings.json'));
    assert.equal(text(f.file, f), '"Read(./config/prod.json)"');
    assert.deepEqual([f.range.line, f.range.col], [3, 30]);
    assert.deepEqual(f.paths, ['config/prod.json']);
    assert.deepEqual(f.fixes[0], { kind: 'add-hide', title: 'Hide "config/prod.json" in Paddock policy (creates .paddock/policy.yaml with the defaults and this rule)', file: join(ws, '.paddock/policy.yaml'), pattern: 'config/prod.json' });
    assert.ok(secretVisible(a.findings));
    // With a policy file the fix adds to it, and says so.
    mkdirSync(join(ws, '.paddock'));
    writeFileSync(join(ws, '.paddock/policy.yaml'), 'version: 1\n');
    const [withFile] = of(analyzeWorkspace(ws, { scanContent: false }).findings, 'denied-but-visible');
    assert.equal(withFile.fixes[0].title, 'Hide "config/prod.json" in the sandbox (add it to the policy)');
  });

  it('.aiexclude, .geminiignore, compose /dev/null and devcontainer tmpfs rules count too', () => {
    const ws = tree({ files: {
      '.aiexclude': 'local.settings.json\n', 'local.settings.json': '{}',
      '.geminiignore': 'creds/\n', 'creds/a.txt': 'x',
      'docker-compose.yml': 'services:\n  app:\n    volumes:\n      - ./:/srv\n      - /dev/null:/srv/app.cfg\n', 'app.cfg': 'x',
      '.devcontainer/devcontainer.json': '{"workspaceFolder": "/w", "mounts": ["target=/w/private,type=tmpfs"]}', 'private/p.txt': 'x',
    } });
    const found = of(analyzeWorkspace(ws, { scanContent: false }).findings, 'denied-but-visible').map((f) => [f.file.slice(ws.length + 1), f.paths.join(',')]);
    assert.deepEqual(found.sort(), [['.aiexclude', 'local.settings.json'], ['.devcontainer/devcontainer.json', 'private/p.txt'], ['.geminiignore', 'creds/a.txt'], ['docker-compose.yml', 'app.cfg']]);
  });

  it('applying the fix (add to hide) makes the finding go away', () => {
    const ws = tree({ files: { '.claude/settings.json': '{"permissions": {"deny": ["Read(./db.sqlite)"]}}', 'db.sqlite': 'x' } });
    const [f] = of(analyzeWorkspace(ws, { scanContent: false }).findings, 'denied-but-visible');
    const fix = f.fixes[0];
    assert.equal(fix.kind, 'add-hide');
    if (fix.kind !== 'add-hide') return;
    const newText = addHidePattern(undefined, fix.pattern);
    const policyFile = join(ws, '.paddock', 'policy.yaml');
    mkdirSync(join(ws, '.paddock'), { recursive: true });
    writeFileSync(policyFile, newText);
    assert.ok(parsePolicy(newText).policy, 'the written policy is valid');
    const after = analyzeWorkspace(ws, { scanContent: false });
    assert.deepEqual(of(after.findings, 'denied-but-visible'), []);
    assert.ok(after.scan.plan.hidden.some((h) => h.relative === 'db.sqlite'));
  });
});

describe('hidden in the sandbox but not denied in agent configs (info)', () => {
  it('one finding per hide rule in each existing agent config, with fixes in that config\'s syntax', () => {
    const ws = tree({ files: { '.env': 'A=1', 'api/.env': 'B=2', 'k.pem': 'x', '.claude/settings.json': '{"permissions": {"deny": ["Read(./k.pem)"]}}', '.geminiignore': '*.pem\n' } });
    const a = analyzeWorkspace(ws, { scanContent: false });
    const infos = of(a.findings, 'hidden-not-denied');
    assert.ok(infos.every((f) => f.severity === 'info'));
    const claude = infos.filter((f) => f.file.endsWith('settings.json'));
    assert.deepEqual(claude.map((f) => f.paths), [['.env', 'api/.env']]);
    assert.deepEqual(claude[0].fixes.map((x) => (x.kind === 'add-claude-deny' ? x.rule : '')), ['Read(./**/.env)', 'Read(./.env)', 'Read(./api/.env)']);
    const gemini = infos.filter((f) => f.file.endsWith('.geminiignore'));
    assert.deepEqual(gemini[0].fixes.map((x) => (x.kind === 'add-ignore-line' ? x.line : '')), ['.env', '/.env', '/api/.env']);
    assert.equal(secretVisible(a.findings), false, 'information only');
  });

  it('the Claude fix applied to settings.json removes the finding and keeps the file\'s comments', () => {
    const settings = '{\n  // team rules\n  "permissions": {\n    "deny": ["Bash(rm:*)"]\n  }\n}\n';
    const ws = tree({ files: { '.env': 'A=1', '.claude/settings.json': settings } });
    const [f] = of(analyzeWorkspace(ws, { scanContent: false }).findings, 'hidden-not-denied');
    const fix = f.fixes[0];
    if (fix.kind !== 'add-claude-deny') return assert.fail('expected a Claude fix');
    const updated = addClaudeDeny(settings, fix.rule);
    assert.match(updated, /\/\/ team rules/);
    assert.match(updated, /"Bash\(rm:\*\)",\s*"Read\(\.\/\*\*\/\.env\)"/);
    writeFileSync(fix.file, updated);
    assert.deepEqual(of(analyzeWorkspace(ws, { scanContent: false }).findings, 'hidden-not-denied'), []);
  });

  it('says nothing when the workspace has no agent configs', () => {
    const ws = tree({ files: { '.env': 'A=1' } });
    assert.deepEqual(of(analyzeWorkspace(ws, { scanContent: false }).findings, 'hidden-not-denied'), []);
  });
});

describe('changed since the sandbox was created (apply)', () => {
  it('a secret file that appeared after creation is "not hidden until applied" (error, an apply fix that keeps the state)', () => {
    const ws = tree({ files: { '.env': 'A=1' } });
    const created = planMounts(ws, defaultPolicy());
    writeFileSync(join(ws, '.env.local'), 'B=2');
    const a = analyzeWorkspace(ws, { scanContent: false, sandboxes: [{ name: 'sb1', policyHash: policyHash(defaultPolicy()), mountedTargets: created.mounts.map((m) => m.target) }] });
    const [f] = of(a.findings, 'recreate-needed');
    assert.equal(f.severity, 'error');
    assert.deepEqual(f.paths, ['.env.local']);
    assert.match(f.message, /Not hidden until applied/);
    assert.deepEqual(f.fixes, [{ kind: 'recreate-sandbox', title: 'Apply to sandbox sb1 (state kept)', sandbox: 'sb1' }]);
    assert.ok(secretVisible(a.findings));
  });

  it('a changed policy alone is a warning pointing at the policy file', () => {
    const ws = tree({ files: { '.paddock/policy.yaml': 'version: 1\nports: [3000]\n' } });
    const a = analyzeWorkspace(ws, { scanContent: false, sandboxes: [{ name: 'sb1', policyHash: 'old', mountedTargets: [] }] });
    const [f] = of(a.findings, 'recreate-needed');
    assert.equal(f.severity, 'warning');
    assert.equal(f.file, join(ws, '.paddock/policy.yaml'));
    assert.equal(secretVisible(a.findings), false);
  });

  it('nothing when the sandbox matches', () => {
    const ws = tree({ files: { '.env': 'A=1' } });
    const plan = planMounts(ws, defaultPolicy());
    const a = analyzeWorkspace(ws, { scanContent: false, sandboxes: [{ name: 'sb1', policyHash: policyHash(defaultPolicy()), mountedTargets: plan.mounts.map((m) => m.target) }] });
    assert.deepEqual(of(a.findings, 'recreate-needed'), []);
  });
});

describe('secrets listed nowhere (error)', () => {
  it('a visible file with a credential: error at the credential, fixes hide it (and deny it for Claude)', () => {
    const ws = tree({ files: { 'config/settings.ini': `[aws]\nregion = eu-west-1\n${AWS_SECRET}`, '.claude/settings.json': '{}', 'README.md': 'hello' } });
    const a = analyzeWorkspace(ws);
    const [f] = of(a.findings, 'secret-not-hidden');
    assert.equal(f.file, join(ws, 'config/settings.ini'));
    assert.deepEqual([f.range.line, f.range.col], [3, 1]);
    assert.match(text(f.file, f), /^aws_secret_access_key = /);
    assert.deepEqual(f.fixes.map((x) => x.kind), ['add-hide', 'add-claude-deny']);
    assert.equal(a.secrets.length, 1);
    assert.ok(secretVisible(a.findings));
  });

  it('a credential in a hidden file, in node_modules, or in a lock file is not reported', () => {
    const ws = tree({ files: { '.env': AWS_SECRET, 'node_modules/x/fixture.txt': AWS_SECRET, 'package-lock.json': AWS_SECRET } });
    assert.deepEqual(of(analyzeWorkspace(ws).findings, 'secret-not-hidden'), []);
  });

  it('a token in .git/config (remote URL) is reported', () => {
    const ws = tree({ files: { '.git/config': '[remote "origin"]\n\turl = https://bot:' + k('ghp_', 'q8Rz3Lm0Vx7Tn2Bw5Kc9Jd4Hf6Gs1Py8Ua3E') + '@github.com/o/r.git\n' } });
    const [f] = of(analyzeWorkspace(ws).findings, 'secret-not-hidden');
    assert.equal(f?.paths[0], '.git/config');
  });
});

describe('other findings', () => {
  it('an invalid policy is an error at its place (the rest uses the defaults)', () => {
    const ws = tree({ files: { '.paddock/policy.yaml': 'version: 1\nhide: [1, 2]\ntier: lax\n', '.env': 'x' } });
    const a = analyzeWorkspace(ws, { scanContent: false });
    const invalid = of(a.findings, 'policy-invalid');
    assert.ok(invalid.length >= 1);
    assert.ok(invalid.every((f) => f.file.endsWith('policy.yaml') && f.range.line >= 2));
    assert.ok(a.scan.plan.hidden.some((h) => h.relative === '.env'), 'defaults still hide .env');
  });

  it('Gemini told to ignore .geminiignore: warning in .gemini/settings.json', () => {
    const ws = tree({ files: { '.geminiignore': '.env\n', '.gemini/settings.json': '{"context": {"fileFiltering": {"respectGeminiIgnore": false}}}' } });
    const [f] = of(analyzeWorkspace(ws, { scanContent: false }).findings, 'gemini-ignore-disabled');
    assert.equal(f.severity, 'warning');
    assert.equal(text(f.file, f), 'false');
  });

  it('absent cage folders are one information finding', () => {
    const ws = tree({ dirs: ['.claude', '.vscode'] });
    const [f] = of(analyzeWorkspace(ws, { scanContent: false }).findings, 'cage-absent');
    assert.deepEqual(f.paths, ['.paddock', '.gemini', '.codex', '.devcontainer', '.idea']);
  });

  it('absent cage folders: no place when the defaults name them (no policy file, or one without readOnly), else on the policy\'s own rule', () => {
    const none = tree({ dirs: ['src'] });
    const [a] = of(analyzeWorkspace(none, { scanContent: false }).findings, 'cage-absent');
    assert.equal(a.unplaced, true, 'the defaults are written nowhere the user edits');
    const placed = placeFindings(none, [a], () => true);
    assert.deepEqual(placed, [], 'the editor shows it nowhere (not on line 1 of a policy file)');
    assert.doesNotMatch(formatCheck(analyzeWorkspace(none, { scanContent: false }), []), /policy\.yaml:1:1/);
    const bare = tree({ files: { '.paddock/policy.yaml': 'version: 1\n' } });
    assert.equal(of(analyzeWorkspace(bare, { scanContent: false }).findings, 'cage-absent')[0].unplaced, true);
    const policy = 'version: 1\nreadOnly:\n  - .paddock\n  - .claude\n';
    const own = tree({ files: { '.paddock/policy.yaml': policy } });
    const [f] = of(analyzeWorkspace(own, { scanContent: false }).findings, 'cage-absent');
    assert.equal(f.unplaced, undefined);
    assert.deepEqual([f.range.line, f.range.col, text(f.file, f)], [4, 5, '.claude']);
    assert.match(formatCheck(analyzeWorkspace(own, { scanContent: false }), []), /^info {4}\.paddock\/policy\.yaml:4:5 {2}Read-only paths that do not exist/m);
  });

  it('a consistent workspace has no errors', () => {
    const ws = tree({ files: { '.env': 'A=1', '.claude/settings.json': '{"permissions": {"deny": ["Read(./**/.env)"]}}', 'src/index.ts': 'export {}\n' } });
    const a = analyzeWorkspace(ws);
    assert.deepEqual(a.findings.filter((f) => f.severity !== 'info'), []);
    assert.equal(secretVisible(a.findings), false);
  });
});

describe('fix text edits', () => {
  it('addHidePattern keeps comments, appends once, and starts a new file from the defaults', () => {
    const policy = '# my policy\nversion: 1\nhide:\n  - "**/.env" # env files\n';
    const updated = addHidePattern(policy, 'db.sqlite');
    assert.match(updated, /# my policy/);
    assert.match(updated, /# env files/);
    assert.deepEqual(parsePolicy(updated).policy?.hide, ['**/.env', 'db.sqlite']);
    assert.equal(addHidePattern(updated, 'db.sqlite'), updated);
    const fresh = parsePolicy(addHidePattern(undefined, 'x.db')).policy!;
    assert.deepEqual(fresh.hide, [...defaultPolicy().hide, 'x.db']);
  });

  it('addClaudeDeny creates permissions.deny when missing and never duplicates', () => {
    const once = addClaudeDeny('{\n  "model": "opus"\n}\n', 'Read(./.env)');
    assert.deepEqual(JSON.parse(once), { model: 'opus', permissions: { deny: ['Read(./.env)'] } });
    assert.equal(addClaudeDeny(once, 'Read(./.env)'), once);
    assert.deepEqual(JSON.parse(addClaudeDeny(undefined, 'Read(./k)')), { permissions: { deny: ['Read(./k)'] } });
  });

  it('addIgnoreLine appends on its own line, once', () => {
    assert.equal(addIgnoreLine('a', 'b'), 'a\nb\n');
    assert.equal(addIgnoreLine('a\nb\n', 'b'), 'a\nb\n');
    assert.equal(addIgnoreLine(undefined, '.env'), '.env\n');
  });
});

describe('analyzeWorkspaceAsync', () => {
  it('finds the same as the synchronous analysis (it only yields to the event loop between files)', async () => {
    const big = `${'x = 1\n'.repeat(20000)}${AWS_SECRET}`;
    const ws = tree({ files: { 'a/conf.ini': AWS_SECRET, 'b/big.txt': big, 'c/plain.txt': 'nothing\n', '.env': AWS_SECRET } });
    const sync = analyzeWorkspace(ws);
    const asyncResult = await analyzeWorkspaceAsync(ws);
    assert.deepEqual(asyncResult.secrets.map((s) => s.relative).sort(), ['a/conf.ini', 'b/big.txt']);
    assert.deepEqual(asyncResult.findings.map((f) => `${f.rule} ${f.file} ${f.range.start}`).sort(), sync.findings.map((f) => `${f.rule} ${f.file} ${f.range.start}`).sort());
  });
});

describe('hidden, but git still has it (error)', () => {
  const git = (cwd: string, ...args: string[]) => {
    const r = spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', '-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  };

  it('a tracked .env and a key deleted from the tree but still in history are reported; an untracked one is not', () => {
    const ws = tree({ files: { '.env': 'A=1', 'old.pem': 'k', 'api/.env': 'B=2', 'src/a.ts': '' } });
    git(ws, 'init', '-q');
    git(ws, 'add', '.env', 'old.pem', 'src/a.ts');
    git(ws, 'commit', '-qm', 'first');
    git(ws, 'rm', '-q', '--cached', 'old.pem');
    git(ws, 'commit', '-qm', 'untrack the key');
    const found = of(analyzeWorkspace(ws, { scanContent: false }).findings, 'hidden-in-git');
    assert.deepEqual(found.map((f) => f.paths).flat().sort(), ['.env', 'old.pem']);
    assert.ok(found.every((f) => f.severity === 'error' && f.fixes[0].kind === 'add-hide'));
    assert.ok(secretVisible(found));
  });

  it('no repository, no finding; and the check can be turned off', () => {
    const ws = tree({ files: { '.env': 'A=1' } });
    assert.deepEqual(of(analyzeWorkspace(ws, { scanContent: false }).findings, 'hidden-in-git'), []);
    git(ws, 'init', '-q');
    git(ws, 'add', '.env');
    git(ws, 'commit', '-qm', 'x');
    assert.deepEqual(of(analyzeWorkspace(ws, { scanContent: false, git: false }).findings, 'hidden-in-git'), []);
  });
});
