import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { compileGlobs, countByRule, decidingRule, planMounts, RuleSet, scanWorkspace, uncoveredSince } from '../../../src/core/hiding.js';
import { defaultPolicy } from '../../../src/core/policy.js';
import { removeTrees, tree } from './support.js';

after(removeTrees);
const defaults = defaultPolicy();
const hiddenOf = (ws: string, input = defaults) => planMounts(ws, input).hidden.map((h) => `${h.relative}${h.kind === 'dir' ? '/' : ''}`);

describe('hide globs', () => {
  it('"**" matches at any depth, including the root and inside dot-folders', () => {
    const ws = tree({ files: { '.env': 'A=1', 'a/b/c/.env': 'A=1', '.config/deep/.env': 'A=1', 'src/app.ts': '' } });
    assert.deepEqual(hiddenOf(ws), ['.config/deep/.env', '.env', 'a/b/c/.env']);
  });

  it('"!" re-includes: .env.example stays visible while .env.local is hidden', () => {
    const ws = tree({ files: { '.env.local': 'x', '.env.example': 'x', 'api/.env.production': 'x', 'api/.env.sample': 'x' } });
    assert.deepEqual(hiddenOf(ws), ['.env.local', 'api/.env.production']);
    const scan = scanWorkspace(ws, defaults);
    assert.ok(scan.visibleFiles.includes('.env.example'));
  });

  it('the last matching rule wins, like .gitignore', () => {
    const rules = compileGlobs(['**/*.json', '!config/*.json', 'config/prod.json']);
    assert.equal(decidingRule(rules, 'config/dev.json')?.negated, true);
    assert.equal(decidingRule(rules, 'config/prod.json')?.pattern, 'config/prod.json');
    assert.equal(decidingRule(rules, 'a/b.json')?.pattern, '**/*.json');
    assert.equal(decidingRule(rules, 'a/b.txt'), undefined);
  });

  it('"./x", "/x" and "x/" are workspace-relative; a folder pattern names everything in it', () => {
    const ws = tree({ files: { 'keys/a.txt': 'k', 'creds/b.txt': 'c', 'top.txt': 't', 'sub/top.txt': 't' } });
    assert.deepEqual(hiddenOf(ws, { hide: ['./keys', '/creds/', 'top.txt'], readOnly: [] } as any), ['creds/', 'keys/', 'top.txt']);
  });

  it('a hidden folder is one empty read-only tmpfs; a hidden file is /dev/null bound read-only', () => {
    const ws = tree({ files: { 'secrets/db/password.txt': 'x', 'secrets/api.txt': 'y', '.env': 'z' } });
    const plan = planMounts(ws, defaults);
    assert.deepEqual(plan.mounts.filter((m) => m.purpose === 'hide'), [
      { type: 'bind', source: '/dev/null', target: join(ws, '.env'), readOnly: true, purpose: 'hide', relative: '.env' },
      { type: 'tmpfs', target: join(ws, 'secrets'), readOnly: true, purpose: 'hide', relative: 'secrets' },
    ]);
  });

  it('a "!" exception inside a hidden folder hides the rest of it file by file', () => {
    const ws = tree({ files: { 'secrets/README.md': 'how to get keys', 'secrets/prod.key': 'k', 'secrets/deep/x.txt': 'x' } });
    const plan = planMounts(ws, { hide: ['**/secrets/**', '!**/secrets/README.md'], readOnly: [] } as any);
    assert.deepEqual(plan.hidden.map((h) => h.relative), ['secrets/deep', 'secrets/prod.key']);
  });

  it('handles paths with spaces and non-ASCII names', () => {
    const ws = tree({ files: { 'my project/.env': 'a', 'données/clé.pem': 'b', '日本/secrets/x': 'c' } });
    assert.deepEqual(hiddenOf(ws), ['données/clé.pem', 'my project/.env', '日本/secrets/']);
    const plan = planMounts(ws, defaults);
    assert.ok(plan.mounts.some((m) => m.target === join(ws, 'my project/.env')));
  });

  it('case sensitivity follows the option (macOS and Windows hosts match without case)', () => {
    const ws = tree({ files: { 'SECRETS/a': 'x', 'Server.PEM': 'y' } });
    assert.deepEqual(planMounts(ws, defaults, { caseInsensitive: false }).hidden.map((h) => h.relative), []);
    assert.deepEqual(planMounts(ws, defaults, { caseInsensitive: true }).hidden.map((h) => h.relative), ['SECRETS', 'Server.PEM']);
  });
});

describe('symlinks and hard links', () => {
  it('a visible symlink to a hidden file or folder is listed as an alias (verify reads through it)', () => {
    const ws = tree({ files: { '.env': 'A=1', 'secrets/k': 'k' }, symlinks: { 'env-link': '.env', 'docs/keys': '../secrets' } });
    const plan = planMounts(ws, defaults);
    assert.deepEqual(plan.aliases.map((a) => [a.relative, a.target, a.kind]), [['docs/keys', 'secrets', 'dir'], ['env-link', '.env', 'file']]);
    // No mount on a symlink path: the target's mount already covers it.
    assert.ok(!plan.mounts.some((m) => m.relative === 'env-link'));
  });

  it('a hidden name that is a symlink hides its target inside the workspace', () => {
    const ws = tree({ files: { 'config/real-credentials.txt': 'token=abc' }, symlinks: { '.env': 'config/real-credentials.txt' } });
    const plan = planMounts(ws, defaults);
    const target = plan.hidden.find((h) => h.relative === 'config/real-credentials.txt');
    assert.equal(target?.reason, 'symlink-target');
    assert.equal(target?.via, '.env');
    assert.ok(!scanWorkspace(ws, defaults).visibleFiles.includes('config/real-credentials.txt'));
  });

  it('a hidden symlink to outside the workspace needs no mount (the target is not in the sandbox)', () => {
    const outside = tree({ files: { 'creds': 'x' } });
    const ws = tree({ symlinks: { '.env': join(outside, 'creds') } });
    assert.deepEqual(planMounts(ws, defaults).mounts.filter((m) => m.purpose === 'hide'), []);
  });

  it('symlinked folders are not followed (no cycles, no mount through a symlink)', () => {
    const ws = tree({ files: { 'real/.env': 'x' }, symlinks: { 'loop': '.', 'alias': 'real' } });
    const plan = planMounts(ws, defaults);
    assert.deepEqual(plan.hidden.map((h) => h.relative), ['real/.env']);
  });

  it('a hard link to a hidden file is hidden too (same inode, same bytes)', () => {
    const ws = tree({ files: { '.env': 'SECRET=1', 'secrets/key': 'k' }, hardlinks: { 'notes/copy.txt': '.env', 'docs/key-copy': 'secrets/key' } });
    const plan = planMounts(ws, defaults);
    const copy = plan.hidden.find((h) => h.relative === 'notes/copy.txt');
    assert.equal(copy?.reason, 'hard-link');
    assert.equal(copy?.via, '.env');
    assert.equal(plan.hidden.find((h) => h.relative === 'docs/key-copy')?.reason, 'hard-link');
  });
});

describe('the cage (read-only paths)', () => {
  it('existing cage folders are bound read-only; absent ones are reported, not created', () => {
    const ws = tree({ files: { '.claude/settings.json': '{}', '.paddock/policy.yaml': 'version: 1\n', 'docker-compose.yml': 'services: {}\n', 'deploy/compose.prod.yaml': '' }, dirs: ['.git/hooks', '.git/objects/ab'] });
    const plan = planMounts(ws, defaults);
    assert.deepEqual(plan.readOnly.map((c) => c.relative), ['.claude', '.git/hooks', '.paddock', 'deploy/compose.prod.yaml', 'docker-compose.yml']);
    assert.ok(plan.mounts.filter((m) => m.purpose === 'read-only').every((m) => m.type === 'bind' && m.readOnly && m.source === join(ws, m.relative)));
    assert.deepEqual(plan.absentCage, ['.gemini', '.codex', '.vscode', '.devcontainer', '.idea']);
  });

  it('nested git repositories: their hooks are read-only and their files are hidden like any other', () => {
    const ws = tree({ files: { 'vendor/lib/.env': 'x', 'vendor/lib/.git/config': '[core]\n', 'vendor/lib/.git/hooks/pre-commit': '#!/bin/sh\n', '.git/config': '[core]\n' }, dirs: ['.git/hooks'] });
    const plan = planMounts(ws, defaults);
    assert.deepEqual(plan.readOnly.map((c) => c.relative), ['.git/config', '.git/hooks', 'vendor/lib/.git/config', 'vendor/lib/.git/hooks']);
    assert.deepEqual(plan.hidden.map((h) => h.relative), ['vendor/lib/.env']);
  });

  it('a hide rule can hide a repository\'s history (.git) as one folder', () => {
    const ws = tree({ files: { '.git/config': '[core]\n', '.git/objects/ab/cd': 'x', 'sub/.git/HEAD': 'ref' }, dirs: ['.git/hooks'] });
    const plan = planMounts(ws, { hide: ['**/.git'], readOnly: ['**/.git/hooks'] } as any);
    assert.deepEqual(plan.hidden.map((h) => [h.relative, h.kind]), [['.git', 'dir'], ['sub/.git', 'dir']]);
    assert.deepEqual(plan.readOnly, [], 'hiding wins over read-only');
  });

  it('git\'s own data is not walked: a *.key inside .git/objects is not a mount', () => {
    const ws = tree({ files: { '.git/objects/x.key': 'k', '.git/refs/heads/main': 'abc' } });
    assert.deepEqual(planMounts(ws, defaults).hidden, []);
  });
});

describe('drift of the hidden set', () => {
  it('the fingerprint changes when a secret file appears; uncoveredSince names it', () => {
    const ws = tree({ files: { '.env': 'a' } });
    const before = planMounts(ws, defaults);
    writeFileSync(join(ws, '.env.production'), 'b');
    const now = planMounts(ws, defaults);
    assert.notEqual(before.fingerprint, now.fingerprint);
    const uncovered = uncoveredSince(now, before.mounts.map((m) => m.target));
    assert.deepEqual(uncovered.map((u) => u.relative), ['.env.production']);
  });

  it('counts the paths each rule hides (for previews)', () => {
    const ws = tree({ files: { '.env': 'a', 'x/.env': 'b', 'k.pem': 'c' } });
    const counts = countByRule(planMounts(ws, defaults), defaults.hide);
    assert.equal(counts.get('**/.env'), 2);
    assert.equal(counts.get('**/*.pem'), 1);
    assert.equal(counts.get('**/secrets/**'), 0);
  });

  it('a large tree (20,000 files in 2,000 folders) is scanned and only its secrets are hidden', () => {
    const files: Record<string, string> = {};
    for (let d = 0; d < 2000; d++) for (let f = 0; f < 10; f++) files[`pkg${d % 50}/mod${d}/file${f}.ts`] = '';
    files['pkg7/mod1234/.env'] = 'S=1';
    const ws = tree({ files });
    const scan = scanWorkspace(ws, defaults);
    assert.equal(scan.counts.files, 20001);
    assert.deepEqual(scan.plan.hidden.map((h) => h.relative), ['pkg7/mod1234/.env']);
  });
});

describe('the fast rule set agrees with the plain glob list', () => {
  it('gives the same deciding rule for every path, with negations, folders, anchors and braces', () => {
    const patterns = ['**/.env', '**/.env.*', '!**/.env.example', '**/secrets/**', '!**/secrets/README.md', 'src/**/*.key', '/build/', 'config/*.{json,yaml}',
      '!config/public.json', '**/.aws/credentials', '**/id_rsa*', 'docs', '**/deep/**/x.txt'];
    const paths = ['.env', 'a/.env', 'a/b/.env.example', '.env.local', 'secrets', 'secrets/README.md', 'x/secrets/y/z', 'src/a/b.key', 'b.key', 'build', 'build/out.js',
      'a/build/x', 'config/a.json', 'config/public.json', 'config/sub/a.json', 'config/a.yaml', 'home/.aws/credentials', '.aws/credentials', 'keys/id_rsa.pub',
      'docs', 'docs/a.md', 'a/docs', 'deep/x.txt', 'a/deep/b/c/x.txt', 'deep/y.txt', 'src/app.ts', 'README.md'];
    const set = new RuleSet(patterns, { caseInsensitive: false });
    const rules = compileGlobs(patterns, { caseInsensitive: false });
    for (const p of paths) assert.equal(set.decide(p), decidingRule(rules, p)?.index ?? -1, p);
  });
});
