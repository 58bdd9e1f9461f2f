// --carry-changes copies the workspace's uncommitted changes into a new task's folder, on the host.
// The workspace is the sandbox's (its agent wrote the files and the index), and so may be the base
// (a branch an agent made): a change whose path goes through a symbolic link, on either side, must
// be neither read from outside the workspace nor written outside the task's folder.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { createTask, linkFreePath } from '../../../src/engine/tasks.js';

describe('carrying changes into a new task', () => {
  const root = mkdtempSync(join(tmpdir(), 'paddock-carry-'));
  const before = process.env.PADDOCK_TASKS_DIR;
  let dir: string;
  let ws: string;
  let outside: string;
  const git = (args: string[], input?: string) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: ws, encoding: 'utf8', input, env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' } });
  let n = 0;

  beforeEach(() => {
    dir = join(root, `case${n++}`);
    ws = join(dir, 'ws');
    outside = join(dir, 'outside');
    mkdirSync(join(ws, 'dir'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(ws, 'README.md'), 'hi\n');
    writeFileSync(join(ws, 'dir', 'x'), 'x\n');
    git(['init', '-q', '-b', 'main']);
    git(['add', '-A']);
    git(['commit', '-qm', 'initial']);
    process.env.PADDOCK_TASKS_DIR = join(dir, 'tasks');
  });
  afterEach(() => {
    if (before === undefined) delete process.env.PADDOCK_TASKS_DIR;
    else process.env.PADDOCK_TASKS_DIR = before;
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  /** A branch "agent" (one an agent made) whose dir/ is a symbolic link to a folder outside; main checked out again. */
  const baseWithLinkedDir = () => {
    git(['checkout', '-q', '-b', 'agent']);
    git(['rm', '-rq', 'dir']);
    symlinkSync(outside, join(ws, 'dir'));
    git(['add', 'dir']);
    git(['commit', '-qm', 'dir is a link']);
    git(['checkout', '-q', '-f', 'main']);
  };

  it('writes nothing through a folder the base checks out as a symbolic link', async () => {
    writeFileSync(join(outside, 'authorized_keys'), 'the user\'s key\n');
    baseWithLinkedDir();
    writeFileSync(join(ws, 'dir', 'authorized_keys'), 'the agent\'s key\n');
    writeFileSync(join(ws, 'README.md'), 'changed\n');
    const created = await createTask({ workspace: ws, name: 't', base: 'agent', carryChanges: true });
    assert.equal(readFileSync(join(outside, 'authorized_keys'), 'utf8'), 'the user\'s key\n');
    assert.deepEqual(created.throughLinks, ['dir/authorized_keys']);
    assert.deepEqual(created.carried, ['README.md']);
    assert.equal(readFileSync(join(created.task.path, 'README.md'), 'utf8'), 'changed\n');
  });

  it('deletes nothing through a folder the base checks out as a symbolic link', async () => {
    writeFileSync(join(outside, 'x'), 'a file of the user\'s\n');
    baseWithLinkedDir();
    rmSync(join(ws, 'dir', 'x'));
    const created = await createTask({ workspace: ws, name: 't', base: 'agent', carryChanges: true });
    assert.equal(readFileSync(join(outside, 'x'), 'utf8'), 'a file of the user\'s\n');
    assert.deepEqual(created.throughLinks, ['dir/x']);
  });

  it('reads nothing through a folder of the workspace that is a symbolic link (an index naming a file there)', async () => {
    writeFileSync(join(outside, 'hosts.yml'), 'oauth_token: secret\n');
    const blob = git(['hash-object', '-w', '--stdin'], 'x\n').trim();
    git(['update-index', '--add', '--cacheinfo', `100644,${blob},link/hosts.yml`]);
    symlinkSync(outside, join(ws, 'link'));
    writeFileSync(join(ws, '.gitignore'), '/link\n');
    const created = await createTask({ workspace: ws, name: 't', carryChanges: true });
    assert.equal(existsSync(join(created.task.path, 'link', 'hosts.yml')), false);
    assert.deepEqual(created.throughLinks, ['link/hosts.yml']);
    assert.deepEqual(created.carried, ['.gitignore']);
  });

  it('still carries a symbolic link itself, and files in real folders', async () => {
    symlinkSync('README.md', join(ws, 'readme-link'));
    mkdirSync(join(ws, 'new', 'deep'), { recursive: true });
    writeFileSync(join(ws, 'new', 'deep', 'f'), 'f\n');
    const created = await createTask({ workspace: ws, name: 't', carryChanges: true });
    assert.deepEqual([...created.carried].sort(), ['new/deep/f', 'readme-link']);
    assert.deepEqual(created.throughLinks, []);
  });

  it('linkFreePath: a link or a file on the way is not link-free; a missing folder is', () => {
    symlinkSync(outside, join(ws, 'l'));
    assert.equal(linkFreePath(ws, 'l/f'), false);
    assert.equal(linkFreePath(ws, 'README.md/f'), false);
    assert.equal(linkFreePath(ws, 'l'), true);
    assert.equal(linkFreePath(ws, 'dir/x'), true);
    assert.equal(linkFreePath(ws, 'missing/deeper/f'), true);
  });
});
