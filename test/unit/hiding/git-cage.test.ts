// The cage covers every git dir the host's git reads (issue 11, class B), and the pins above
// protected paths (class D): pure plan checks over real trees.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { planMounts, gitConfigPaths } from '../../../src/core/hiding.js';
import { DEFAULT_HIDE, DEFAULT_READ_ONLY } from '../../../src/core/policy-defaults.js';
import { removeTrees, tree } from './support.js';

const defaults = { hide: [...DEFAULT_HIDE], readOnly: [...DEFAULT_READ_ONLY] };
const repo = (config = '[core]\n\tbare = false\n') => ({ HEAD: 'ref: refs/heads/main\n', config, 'hooks/pre-commit.sample': '#!/bin/sh\n' });
const under = (prefix: string, files: Record<string, string>) => Object.fromEntries(Object.entries(files).map(([k, v]) => [`${prefix}/${k}`, v]));

describe('the git cage', () => {
  after(removeTrees);

  it('cages hooks and config of the repository, nested repositories, submodules (nested too), linked worktrees and gitlink files', () => {
    const ws = tree({
      files: {
        ...under('.git', repo()),
        '.git/config.worktree': '[core]\n',
        ...under('.git/modules/libs/foo', repo()),
        ...under('.git/modules/libs/foo/modules/inner', repo()),
        '.git/worktrees/w1/HEAD': 'ref: refs/heads/w1\n', '.git/worktrees/w1/config.worktree': '[core]\n', '.git/worktrees/w1/gitdir': '/elsewhere/w1/.git\n',
        '.git/worktrees/w1/commondir': '../..\n',
        ...under('nested/.git', repo()),
        'libs/foo/.git': 'gitdir: ../../.git/modules/libs/foo\n',
        'sep/.git': 'gitdir: ../gitdata\n', ...under('gitdata', repo()),
        '.envrc': 'export A=1\n',
      },
    });
    const ro = planMounts(ws, defaults).readOnly.map((c) => c.relative);
    for (const p of [
      '.git/hooks', '.git/config', '.git/config.worktree',
      '.git/modules/libs/foo/hooks', '.git/modules/libs/foo/config',
      '.git/modules/libs/foo/modules/inner/hooks', '.git/modules/libs/foo/modules/inner/config',
      '.git/worktrees/w1/config.worktree', '.git/worktrees/w1/commondir',
      'nested/.git/hooks', 'nested/.git/config',
      'libs/foo/.git', 'sep/.git', 'gitdata/hooks', 'gitdata/config', '.envrc',
    ]) assert.ok(ro.includes(p), `${p} is read-only: ${ro.join(', ')}`);
    // git's other data stays writable (the agent commits).
    assert.ok(!ro.some((p) => /(^|\/)(objects|refs|HEAD|index)$/.test(p)), ro.join(', '));
  });

  it('cages what a git config makes the host run from the workspace: hooksPath, fsmonitor, filters, includes, the user\'s own hooksPath', () => {
    const config = [
      '[core]', '\thooksPath = .githooks', '\tfsmonitor = "scripts/fsmon.sh"',
      '[filter "lfsish"]', '\tclean = tools/clean --stdin', '\tsmudge = cat',
      '[include]', '\tpath = ../team.gitconfig',
      '[alias]', '\tst = !sh scripts/status.sh',
      '[diff "img"]', '\ttextconv = true',
    ].join('\n');
    const ws = tree({
      files: {
        ...under('.git', repo(config)),
        '.githooks/pre-commit': '#!/bin/sh\n', 'scripts/fsmon.sh': '#!/bin/sh\n', 'scripts/status.sh': '#!/bin/sh\n', 'tools/clean': '#!/bin/sh\n', 'team.gitconfig': '[core]\n',
        ...under('sub/.git', repo('[core]\n\tfsmonitor = ./mon.sh\n')), 'sub/mon.sh': '#!/bin/sh\n', 'mon.sh': 'not this one\n',
        'src/app.js': '',
      },
    });
    const ro = planMounts(ws, defaults).readOnly.map((c) => c.relative);
    for (const p of ['.githooks', 'scripts/fsmon.sh', 'tools/clean', 'team.gitconfig', 'scripts/status.sh', 'sub/mon.sh']) assert.ok(ro.includes(p), `${p}: ${ro.join(', ')}`);
    assert.ok(!ro.includes('mon.sh') && !ro.includes('src/app.js') && !ro.includes(''), ro.join(', '));
  });

  it('reads program keys from git config text (sections, subsections, quotes, comments)', () => {
    const refs = gitConfigPaths('[core]\n  fsmonitor = true\n\thooksPath = "my hooks" ; comment\n[merge "x"] driver = ./m.sh %O %A\n[user]\n\tname = x/y\n');
    assert.deepEqual(refs.map((r) => `${r.key}=${r.value}`), ['core.hookspath=my hooks', 'merge.x.driver=./m.sh', 'merge.x.driver=%O', 'merge.x.driver=%A']);
  });

  it('pins every folder between the workspace and a protected path (a mount point cannot be renamed), and only those', () => {
    const ws = tree({ files: { 'config/secret.pem': 'k', 'deep/a/b/.env': 'T=1', ...under('.git', repo()), 'free/file.txt': 'x' } });
    const plan = planMounts(ws, defaults);
    const pins = plan.mounts.filter((m) => m.purpose === 'pin');
    assert.deepEqual(pins.map((m) => m.relative).sort(), ['.git', 'config', 'deep', 'deep/a', 'deep/a/b']);
    for (const pin of pins) {
      assert.equal(pin.readOnly, false, 'a pin changes nothing about writing');
      assert.equal(pin.target, join(ws, pin.relative));
    }
  });
});
