// What the task listing says of a task's folder (src/engine/tasks.ts TaskProgressReader), with real
// git and no engine: a reader kept between listings (the editor's, which reads again only what
// changed) says what a fresh one says after each thing an agent does: edit, add, commit, amend,
// reset to the base, detach HEAD, switch to another branch, remove the folder's git.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTask, TaskProgressReader, type TaskRecord } from '../../../src/engine/tasks.js';
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
    rmSync(join(task.path, '.git'), { recursive: true, force: true });
    assert.deepEqual(await progress(), {});
  });
});
