// What the task listing says of a task's folder (src/engine/tasks.ts TaskProgressReader), with real
// git and no engine: a reader kept between listings (the editor's, which reads again only what
// changed) says what a fresh one says after each thing an agent does: edit, add, commit, amend,
// reset to the base, detach HEAD, switch to another branch, remove the folder's git. And the diff
// of untracked files, which never writes the task's index nor reads a planted one.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTask, TaskProgressReader, taskDiff, type TaskRecord } from '../../../src/engine/tasks.js';
import { taskTestState } from './taskRepo.js';

describe('task progress, read again or kept', () => {
  const test = taskTestState('paddock-task-progress-');
  const saved = { ...process.env };
  const ws = join(test.state, 'repo');
  let task: TaskRecord;
  const kept = new TaskProgressReader();
  const inTask = (script: string) => {
    const r = spawnSync('sh', ['-c', script], { cwd: task.path, env: { ...test.env, GIT_DIR: join(task.path, '.git'), GIT_WORK_TREE: task.path }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  };
  /** Both readers' answer, which must agree. */
  const progress = async () => {
    const fresh = await new TaskProgressReader(false).read(task);
    const again = await kept.read(task);
    assert.deepEqual(again, fresh, 'the kept reader says something else than a fresh one');
    return fresh;
  };

  before(async () => {
    Object.assign(process.env, test.env);
    mkdirSync(ws);
    writeFileSync(join(ws, 'README.md'), '# r\n');
    writeFileSync(join(ws, 'app.txt'), 'app\n');
    for (const args of [['init', '-q'], ['add', '-A'], ['commit', '-qm', 'initial']]) test.git(args, ws);
    task = (await createTask({ workspace: ws, name: 'p1' })).task;
  });
  after(async () => {
    for (const key of ['PADDOCK_TASKS_DIR', 'GIT_CONFIG_GLOBAL']) if (saved[key] === undefined) delete process.env[key]; else process.env[key] = saved[key];
    await test.removeAll(undefined);
  });

  it('follows what an agent does, step by step', async () => {
    assert.deepEqual(await progress(), { ahead: 0, changedFiles: 0, uncommitted: 0 });
    inTask('echo edited > app.txt && echo new > new.txt');
    assert.deepEqual(await progress(), { ahead: 0, changedFiles: 2, uncommitted: 2 });
    inTask('git add -A && git commit -qm one');
    assert.deepEqual(await progress(), { ahead: 1, changedFiles: 2, uncommitted: 0 });
    inTask('echo two > two.txt && git add two.txt && git commit -qm two');
    assert.deepEqual(await progress(), { ahead: 2, changedFiles: 3, uncommitted: 0 });
    // A file changed back in the folder still differs from HEAD: counted once.
    inTask('echo app > app.txt');
    assert.deepEqual(await progress(), { ahead: 2, changedFiles: 3, uncommitted: 1 });
    inTask('git checkout -q -- app.txt && git commit -q --amend -m "two, amended" && git rm -q two.txt && git commit -qm "drop two"');
    assert.deepEqual(await progress(), { ahead: 3, changedFiles: 2, uncommitted: 0 });
    // HEAD detached at the base: the branch is still 3 ahead; the folder is the base's.
    inTask(`git checkout -q --detach ${task.base}`);
    assert.deepEqual(await progress(), { ahead: 3, changedFiles: 0, uncommitted: 0 });
    inTask(`git checkout -q ${task.branch} && git reset -q --hard ${task.base}`);
    assert.deepEqual(await progress(), { ahead: 0, changedFiles: 0, uncommitted: 0 });
    inTask('git switch -q -c elsewhere && echo x > x.txt && git add x.txt && git commit -qm x');
    assert.deepEqual(await progress(), { ahead: 0, changedFiles: 1, uncommitted: 0 });
  });

  it('diffs untracked files through a copy of the index: the task\'s own is not written, and a planted link is not followed', async () => {
    inTask(`git checkout -q ${task.branch} && echo one > new-a.txt && mkdir -p deep/er && echo two > "deep/er/new b.txt" && echo x > x.log && echo "*.log" > .git/info/exclude`);
    const index = join(task.path, '.git', 'index');
    const before = readFileSync(index);
    const stat = await taskDiff(task, { stat: true });
    assert.match(stat, /new-a\.txt +\| 1 \+/);
    assert.match(stat, /deep\/er\/new b\.txt +\| 1 \+/);
    assert.doesNotMatch(stat, /x\.log/); // ignored, as git status ignores it
    assert.match(stat, /^ 2 files changed, 2 insertions\(\+\)$/m);
    assert.deepEqual(readFileSync(index), before, 'the task\'s index was written');
    assert.equal(spawnSync('git', ['status', '--porcelain', '--', 'new-a.txt'], { cwd: task.path, env: { ...test.env, GIT_DIR: join(task.path, '.git') }, encoding: 'utf8' }).stdout, '?? new-a.txt\n');
    // The sandbox can replace its index by a link to a file of the host's: it is not read as the index.
    const secret = join(test.state, 'host-secret');
    writeFileSync(secret, 'HOST-SECRET-VALUE\n');
    rmSync(index);
    symlinkSync(secret, index);
    const planted = await taskDiff(task);
    assert.doesNotMatch(planted, /HOST-SECRET-VALUE/);
    assert.match(planted, /\+one/);
    assert.equal(readFileSync(secret, 'utf8'), 'HOST-SECRET-VALUE\n');
  });

  it('says a task whose .git is gone has nothing to count', async () => {
    rmSync(join(task.path, '.git'), { recursive: true, force: true });
    assert.deepEqual(await progress(), {});
  });
});
