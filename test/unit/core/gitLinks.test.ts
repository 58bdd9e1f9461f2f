import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cagedGitDirs, symlinksInGitDirs } from '../../../src/core/gitLinks.js';
import { shortCause } from '../../../src/engine/stopCause.js';

const root = mkdtempSync(join(tmpdir(), 'paddock-gitlinks-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A git dir's shape: HEAD, config, hooks, and the folders git writes. */
function gitDir(dir: string) {
  for (const d of ['hooks', 'logs/refs/heads', 'refs/heads', 'objects/ab', 'objects/pack', 'info']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'HEAD'), 'ref: refs/heads/main\n');
  writeFileSync(join(dir, 'config'), '[core]\n');
}

describe('symlinks in caged git dirs', () => {
  const git = join(root, 'ws/.git');
  const sub = join(git, 'modules/lib');
  gitDir(git);
  gitDir(sub);

  it('finds the caged git dirs from the cage\'s config and hooks paths that hold a HEAD', () => {
    assert.deepEqual(cagedGitDirs([`${git}/config`, `${git}/hooks`, `${sub}/config`, join(root, 'ws/.vscode'), join(root, 'ws/nogit/config')]), [git, sub]);
  });

  it('reports none in git\'s own files, and every symlink git would write through', () => {
    assert.deepEqual(symlinksInGitDirs([git, sub]), []);
    symlinkSync('/home/alice/.bashrc', join(git, 'logs/HEAD'));
    symlinkSync('../../x', join(git, 'COMMIT_EDITMSG'));
    symlinkSync('/tmp', join(sub, 'logs/refs/heads/main'));
    symlinkSync('/tmp', join(git, 'objects/cd')); // a fan-out folder that is a symlink
    assert.deepEqual(symlinksInGitDirs([git, sub]), [join(git, 'COMMIT_EDITMSG'), join(git, 'logs/HEAD'), join(sub, 'logs/refs/heads/main'), join(git, 'objects/cd')].sort());
  });

  it('leaves out the files of the objects\' fan-out folders (git never writes through a name there), as the init\'s watch does', () => {
    symlinkSync('/tmp/o', join(git, 'objects/ab/0123'));
    assert.ok(!symlinksInGitDirs([git, sub]).includes(join(git, 'objects/ab/0123')));
    // ...but only a git dir's own: a branch folder named objects/ab is searched.
    mkdirSync(join(git, 'logs/refs/heads/objects/ab'), { recursive: true });
    symlinkSync('/home/alice/.profile', join(git, 'logs/refs/heads/objects/ab/x'));
    assert.ok(symlinksInGitDirs([git, sub]).includes(join(git, 'logs/refs/heads/objects/ab/x')));
  });

  it('paddock ls says a symlink block apart from a commondir one', () => {
    assert.equal(shortCause('blocked: symlink /w/.git/logs/HEAD (to /home/a/.bashrc) written in the sandbox would make git on the host write through it'), 'blocked: symlink in .git');
    assert.equal(shortCause('blocked: /w/.git/commondir written in the sandbox would make git on the host read another config'), 'blocked: git redirection');
  });
});
