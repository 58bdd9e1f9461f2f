// A task's sandbox mounts the repository's object store read-only. The repository's
// .git/objects/info/alternates is in that store, which the workspace's own sandbox writes: what it
// names must never become a mount of a task's sandbox (a line naming the home folder put all of it
// in the next task's sandbox).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SandboxEngine } from '../../../src/engine/engine.js';
import type { SandboxRequest } from '../../../src/engine/sandboxes.js';
import { repositoryOf, taskRequest } from '../../../src/engine/tasks.js';

describe('a repository whose object store names other folders (objects/info/alternates)', () => {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'paddock-borrowed-')));
  const saved = { tasks: process.env.PADDOCK_TASKS_DIR, global: process.env.GIT_CONFIG_GLOBAL };
  const ws = join(root, 'ws');
  const home = join(root, 'home');
  const engine = { docker: { listContainers: async () => [] } } as unknown as SandboxEngine;
  const request = { agent: 'shell', workspace: ws } as unknown as SandboxRequest;

  before(() => {
    process.env.PADDOCK_TASKS_DIR = join(root, 'tasks');
    process.env.GIT_CONFIG_GLOBAL = '/dev/null';
    mkdirSync(ws);
    mkdirSync(join(home, '.ssh'), { recursive: true });
    writeFileSync(join(home, '.ssh', 'id_rsa'), 'the user\'s key\n');
    writeFileSync(join(ws, 'README.md'), 'hi\n');
    const git = (args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: ws });
    git(['init', '-q', '-b', 'main']);
    git(['add', '-A']);
    git(['commit', '-qm', 'initial']);
  });
  after(() => {
    for (const [key, value] of [['PADDOCK_TASKS_DIR', saved.tasks], ['GIT_CONFIG_GLOBAL', saved.global]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    rmSync(root, { recursive: true, force: true });
  });

  it('a task of a repository without one mounts only its own object store', async () => {
    const { request: made } = await taskRequest(engine, request, { task: 'plain' });
    assert.deepEqual(made.task?.mounts.map((m) => m.Source), [join(ws, '.git', 'objects')]);
  });

  it('refuses a task (new or continued) when the file names a folder, and mounts nothing it names', async () => {
    // What the workspace's sandbox can write: its .git/objects is writable (commits).
    appendFileSync(join(ws, '.git', 'objects', 'info', 'alternates'), `${home}\n`);
    assert.deepEqual((await repositoryOf(ws)).objectDirs, [join(ws, '.git', 'objects')]);
    for (const task of ['fresh', 'plain']) {
      await assert.rejects(taskRequest(engine, request, { task }), (err: Error) => {
        assert.match(err.message, /borrows objects from .*home.*alternates/);
        return true;
      });
    }
    assert.equal(existsSync(join(root, 'tasks')) && existsSync(join(process.env.PADDOCK_TASKS_DIR!, 'fresh')), false);
  });
});
