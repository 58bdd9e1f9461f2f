// The sandbox writes a task's folder, and can make any file git opens there a FIFO: git's open then
// waits for a writer for ever. Paddock's git in a task's folder is stopped after a while, so
// `paddock tasks`, `merge` and `discard` (and the editor's view) answer instead of hanging.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SandboxEngine } from '../../../src/engine/engine.js';
import { createTask, discardCheck, TaskProgressReader, type TaskRecord } from '../../../src/engine/tasks.js';

describe('a FIFO the sandbox made in a task\'s git dir', () => {
  const root = mkdtempSync(join(tmpdir(), 'paddock-fifo-'));
  const saved = { tasks: process.env.PADDOCK_TASKS_DIR, timeout: process.env.PADDOCK_TASK_GIT_TIMEOUT_MS, global: process.env.GIT_CONFIG_GLOBAL };
  const ws = join(root, 'ws');
  const engine = { docker: { listContainers: async () => [] } } as unknown as SandboxEngine;
  let task: TaskRecord;

  before(async () => {
    process.env.PADDOCK_TASKS_DIR = join(root, 'tasks');
    process.env.PADDOCK_TASK_GIT_TIMEOUT_MS = '1500';
    process.env.GIT_CONFIG_GLOBAL = '/dev/null';
    mkdirSync(ws);
    writeFileSync(join(ws, 'README.md'), 'hi\n');
    const git = (args: string[], cwd = ws) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd });
    git(['init', '-q', '-b', 'main']);
    git(['add', '-A']);
    git(['commit', '-qm', 'initial']);
    ({ task } = await createTask({ workspace: ws, name: 't' }));
    rmSync(join(task.path, '.git', 'index'));
    execFileSync('mkfifo', [join(task.path, '.git', 'index')]);
  });
  after(() => {
    for (const [key, value] of [['PADDOCK_TASKS_DIR', saved.tasks], ['PADDOCK_TASK_GIT_TIMEOUT_MS', saved.timeout], ['GIT_CONFIG_GLOBAL', saved.global]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    rmSync(root, { recursive: true, force: true });
  });

  const within = async <T>(ms: number, work: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([work, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms); })]);
    } finally {
      clearTimeout(timer);
    }
  };

  it('reading the task\'s progress (paddock tasks, the editor\'s view) ends, with what could not be read left unknown', async () => {
    const progress = await within(15_000, new TaskProgressReader(false).read(task));
    assert.equal(progress.uncommitted, undefined);
    assert.equal(progress.changedFiles, undefined);
  });

  it('discard\'s check ends, so the task can be discarded', async () => {
    const check = await within(15_000, discardCheck(engine, task));
    assert.deepEqual(check.sandboxes, []);
  });
});
