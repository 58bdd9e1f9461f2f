// Red team report "Host code execution via symlinks in .git": the agent must be able to write a
// repository's .git (commits, refs, reflogs), and the host's git follows a symlink there when it
// writes. .git/logs/HEAD -> ~/.bashrc gets a reflog line with text the agent chose (a commit subject,
// a branch name) at the user's next checkout or cherry-pick; .git/COMMIT_EDITMSG -> ~/.gitconfig gets
// the agent's whole commit message at the user's commit --amend. The sandbox's guard (templates/base/
// paddock-init, block_links) removes any symlink in a caged git dir the moment it appears and stops
// the sandbox, saying so; `paddock verify` reports one as a FAIL (README: the cage).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chownSync, lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { OWNER, RUNTIMES, docker, engine, isRunning, makeWorkspace, paddock, paddockOk, startedPerSuite, stopsWithin } from '../../support/sandbox.js';

const home = mkdtempSync(join(tmpdir(), 'paddock-githome-'));
/** The user's files outside the workspace that the agent aims at (stand-ins for ~/.bashrc, ~/.gitconfig). */
const outside = mkdtempSync(join(tmpdir(), 'paddock-victim-'));
for (const dir of [home, outside]) chownSync(dir, OWNER.uid, OWNER.gid);
after(() => { rmSync(home, { recursive: true, force: true }); rmSync(outside, { recursive: true, force: true }); });

const ORIGINAL = '# the user\'s own file\nalias ll="ls -l"\n';
function victim(name: string): string {
  const path = join(outside, name);
  writeFileSync(path, ORIGINAL);
  chownSync(path, OWNER.uid, OWNER.gid);
  return path;
}

/** git on the host as the workspace's owner would run it. */
function hostGit(ws: string, ...args: string[]) {
  return spawnSync('git', ['-C', ws, '-c', 'user.name=Alice', '-c', 'user.email=alice@example.com', ...args], {
    encoding: 'utf8', uid: process.getuid?.() === 0 ? OWNER.uid : undefined, gid: process.getuid?.() === 0 ? OWNER.gid : undefined,
    env: { PATH: process.env.PATH, HOME: home, GIT_CONFIG_NOSYSTEM: '1' }, timeout: 10_000,
  });
}
function hostGitOk(ws: string, ...args: string[]) {
  const r = hostGit(ws, ...args);
  assert.equal(r.status, 0, `git ${args.join(' ')}: ${r.stderr}`);
}

function repository(prefix: string): string {
  const ws = makeWorkspace({ 'README.md': '# links\n' }, prefix);
  for (const args of [['init', '-q', '-b', 'main'], ['add', '.'], ['commit', '-qm', 'first']]) hostGitOk(ws, ...args);
  return ws;
}

/** The user's everyday git after the agent's turn: a checkout back and forth, a commit, an amend (reflog and COMMIT_EDITMSG writes). */
function usersGit(ws: string, branch: string) {
  hostGitOk(ws, 'checkout', '-q', '-b', `${branch};id>/tmp/paddock-pwned;#`);
  hostGitOk(ws, 'checkout', '-q', 'main');
  hostGitOk(ws, 'commit', '-q', '--allow-empty', '-m', 'host commit');
  hostGitOk(ws, 'commit', '-q', '--amend', '--no-edit', '--allow-empty');
}

const isLink = (path: string) => lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink() ?? false;

describe('a symlink the sandbox puts in a caged git dir', () => {
  it('control: outside any sandbox, the host\'s git writes through such symlinks into the user\'s files', () => {
    const ws = repository('paddock-gitlinks-control-');
    try {
      const bashrc = victim('control-bashrc');
      const gitconfig = victim('control-gitconfig');
      rmSync(join(ws, '.git/logs/HEAD'));
      symlinkSync(bashrc, join(ws, '.git/logs/HEAD'));
      rmSync(join(ws, '.git/COMMIT_EDITMSG'));
      symlinkSync(gitconfig, join(ws, '.git/COMMIT_EDITMSG'));
      usersGit(ws, 'review');
      assert.match(readFileSync(bashrc, 'utf8'), /checkout: moving from main to review;id>\/tmp\/paddock-pwned;#/, 'the reflog line went into the file');
      assert.match(readFileSync(gitconfig, 'utf8'), /^host commit/, 'the commit message went into the file');
    } finally {
      rmSync(ws, { recursive: true, force: true });
    }
  });

  for (const runtime of RUNTIMES) {
    describe(`under ${runtime}`, () => {
      let ws: string;
      let sb: string;
      startedPerSuite(() => repository(`paddock-gitlinks-${runtime}-`), runtime, (made) => ({ ws, sb } = made));

      /** The agent's command; the sandbox must stop under it, saying which path it removed. */
      async function blocked(command: string, path: string, target: string) {
        const r = await paddock(['exec', sb, '--', 'sh', '-c', `cd ${ws} && ${command}; sleep 5; echo survived`]);
        assert.notEqual(r.code, 0, `the agent's command was stopped: ${r.stdout}`);
        assert.doesNotMatch(r.stdout, /survived/);
        assert.ok(await stopsWithin(sb, 5000), 'the sandbox stopped');
        const why = await engine().stopReason(sb);
        assert.match(why?.text ?? '', new RegExp(`^blocked: symlink .*${path.replace(/[.]/g, '\\.')} \\(to ${target.replace(/[.]/g, '\\.')}\\).* written in the sandbox would make git on the host write through it into another file`));
        assert.ok(why?.paths.includes(join(ws, path)), `the stop names ${path}: ${JSON.stringify(why?.paths)}`);
        assert.ok(!isLink(join(ws, path)), 'the symlink is gone');
      }

      it('.git/logs/HEAD -> a file outside the workspace: removed and the sandbox stops; the host\'s checkouts and commits do not write into that file', async () => {
        const bashrc = victim(`${runtime}-bashrc`);
        await blocked(`rm -f .git/logs/HEAD && ln -s ${bashrc} .git/logs/HEAD`, '.git/logs/HEAD', bashrc);
        const ls = await paddockOk(['ls']);
        assert.match(ls.stdout.split('\n').find((l) => l.includes(sb)) ?? '', /\(blocked: symlink in \.git\)/);
        usersGit(ws, 'review1');
        assert.equal(readFileSync(bashrc, 'utf8'), ORIGINAL, 'the user\'s file is unchanged');
      });

      it('.git/COMMIT_EDITMSG -> a file outside the workspace, after the agent\'s commit: the host\'s commit --amend does not write into it', async () => {
        await paddockOk(['start', sb]);
        const gitconfig = victim(`${runtime}-gitconfig`);
        await blocked(`echo more >> README.md && git -c user.name=agent -c user.email=agent@x commit -qam 'Refactor helpers

id > /tmp/paddock-pwned2' && rm -f .git/COMMIT_EDITMSG && ln -s ${gitconfig} .git/COMMIT_EDITMSG`, '.git/COMMIT_EDITMSG', gitconfig);
        usersGit(ws, 'review2');
        assert.equal(readFileSync(gitconfig, 'utf8'), ORIGINAL, 'the user\'s file is unchanged');
      });

      it('in folders made in the same moment (a new branch\'s reflog folder), and renamed into place', async () => {
        await paddockOk(['start', sb]);
        const profile = victim(`${runtime}-profile`);
        await blocked(`mkdir -p .git/logs/refs/heads/agent/deep && ln -s ${profile} .git/logs/refs/heads/agent/deep/fix`, '.git/logs/refs/heads/agent/deep/fix', profile);
        await paddockOk(['start', sb]);
        await blocked(`ln -s ${profile} l.tmp && mv l.tmp .git/ORIG_HEAD`, '.git/ORIG_HEAD', profile);
        assert.equal(readFileSync(profile, 'utf8'), ORIGINAL);
      });

      it('one already there at start (made while no guard ran) is removed at the guard\'s first look', async () => {
        const bashrc = victim(`${runtime}-bashrc-start`);
        symlinkSync(bashrc, join(ws, '.git/FETCH_HEAD'));
        await paddock(['start', sb]);
        assert.ok(await stopsWithin(sb, 15_000), 'the sandbox stopped itself');
        assert.ok(!isLink(join(ws, '.git/FETCH_HEAD')), 'the symlink is gone');
        assert.match((await engine().stopReason(sb))?.text ?? '', /^blocked: symlink .*\.git\/FETCH_HEAD \(to /);
      });

      it('git in the sandbox works normally: commits, branches, checkouts, a rebase and gc do not stop it', async () => {
        await paddockOk(['start', sb]);
        const r = await paddock(['exec', sb, '--', 'sh', '-c', [
          `cd ${ws}`, 'export GIT_AUTHOR_NAME=a GIT_AUTHOR_EMAIL=a@b GIT_COMMITTER_NAME=a GIT_COMMITTER_EMAIL=a@b',
          'for i in 1 2 3; do echo $i > f$i.txt && git add f$i.txt && git commit -qm "c$i"; done',
          'git checkout -q -b agent/feature && echo x > g.txt && git add g.txt && git commit -qm g',
          'git checkout -q main && git rebase -q agent/feature && git tag v1 && git gc -q && git log --oneline | wc -l',
        ].join(' && ')]);
        assert.equal(r.code, 0, r.stderr);
        assert.ok(Number(r.stdout.trim()) >= 5, r.stdout);
        assert.ok(!(await stopsWithin(sb, 1500)), 'ordinary git does not stop the sandbox');
      });

      // A sandbox whose guard is not running (made by an older Paddock, whose init had none): verify says so.
      // Registered under runc only (a skipped case fails the run): verify looks on the host, whatever the
      // runtime, and stopping the guard by its process tree from a docker exec hung under gVisor (the
      // container ended with 129, the exec never did).
      if (runtime === 'runc') it('paddock verify reports a symlink under a caged git dir as a FAIL', async () => {
        assert.ok(isRunning(sb));
        const before = await paddockOk(['verify', sb, '--json']);
        assert.ok((JSON.parse(before.stdout).checks as { check: string; ok: boolean }[]).some((c) => c.check === 'git-symlink' && c.ok), 'the git dir is checked');
        // The guard's processes, by pid: its inotifywait (the one with the fan-out folders' regex), and
        // the guard's shell two above it (stopped first, so that it cannot fall back to its look every
        // second) with all its children (xargs, and the loop that reads the watch: it would take xargs'
        // last words about the killed watch for a lost event and look, as it should).
        const killed = docker(['exec', '-u', '0', sb, 'sh', '-c', `ppid() { awk '/^PPid/ {print $2}' "/proc/$1/status" 2>/dev/null; }
          for c in /proc/[0-9]*/comm; do
            p=\${c#/proc/}; p=\${p%/comm}
            [ "$(cat $c 2>/dev/null)" = inotifywait ] && tr '\\0' ' ' < /proc/$p/cmdline | grep -q '0-9a-f' || continue
            g=$(ppid "$(ppid $p)")
            kill -STOP $g || continue
            for s in /proc/[0-9]*; do [ "$(ppid \${s#/proc/})" != "$g" ] || kill -9 \${s#/proc/}; done
            kill -9 $p $g 2>/dev/null; echo killed
          done`]);
        assert.match(killed.stdout, /killed/, killed.stderr);
        const target = victim(`${runtime}-verify`);
        symlinkSync(target, join(ws, '.git/MERGE_MSG'));
        try {
          await new Promise((resolve) => setTimeout(resolve, 2000));
          assert.ok(isRunning(sb), `no guard stopped it: ${(await engine().stopReason(sb))?.text} ${docker(['logs', '--tail', '5', sb]).stderr}`);
          const r = await paddock(['verify', sb]);
          assert.notEqual(r.code, 0, r.stdout);
          assert.match(r.stdout, new RegExp(`FAIL  git symlink +${join(ws, '.git/MERGE_MSG').replace(/[.]/g, '\\.')}  a symlink in a git dir`));
        } finally {
          rmSync(join(ws, '.git/MERGE_MSG'), { force: true });
          await paddockOk(['stop', sb]);
        }
      });
    });
  }
});
