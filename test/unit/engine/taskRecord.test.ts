// A task's record lies outside the workspace only by default: a sandbox whose workspace holds the
// tasks folder (the home folder as a workspace, PADDOCK_TASKS_DIR or XDG_DATA_HOME inside a project)
// can rewrite it. Only a record that says what its own file name and place say is a task: never one
// whose folder is elsewhere (discard removed that folder), whose repository is another (merge merged
// into it), or whose base is an option (the host's git diff took "--output=FILE").
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { SandboxEngine } from '../../../src/engine/engine.js';
import { discardTask, findTask, readRecord, repoTasksDir, type TaskRecord } from '../../../src/engine/tasks.js';

describe('task records', () => {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'paddock-records-')));
  const source = join(root, 'app');
  const otherRepo = join(root, 'other');
  mkdirSync(source);
  mkdirSync(otherRepo);
  const tasks = join(root, 'tasks');
  const dir = repoTasksDir(source, tasks);
  mkdirSync(dir, { recursive: true });
  const good: TaskRecord = { name: 'fix', source, path: join(dir, 'fix'), branch: 'paddock/fix', base: 'a'.repeat(40), baseRef: 'main', created: '2026-12-03T00:00:00Z' };
  const write = (name: string, record: unknown) => {
    const file = join(dir, `${name}.json`);
    writeFileSync(file, typeof record === 'string' ? record : JSON.stringify(record));
    return file;
  };
  after(() => rmSync(root, { recursive: true, force: true }));

  it('reads a record Paddock wrote', () => {
    assert.deepEqual(readRecord(write('fix', good)), good);
    assert.deepEqual(readRecord(write('sha256', { ...good, name: 'sha256', path: join(dir, 'sha256'), base: 'b'.repeat(64) }))?.base, 'b'.repeat(64));
  });

  it('is no task when it names a folder other than its own (discard would remove that one)', () => {
    assert.equal(readRecord(write('fix', { ...good, path: join(root, 'victim') })), undefined);
    assert.equal(readRecord(write('fix', { ...good, path: join(dir, 'fix', '..', '..') })), undefined);
    assert.equal(readRecord(write('fix', { ...good, name: 'other' })), undefined);
  });

  it('is no task when it names another repository than the one its folder is of (merge would merge into it)', () => {
    assert.equal(readRecord(write('fix', { ...good, source: otherRepo })), undefined);
    assert.equal(readRecord(write('fix', { ...good, source: `${source}/` })), undefined);
    assert.equal(readRecord(write('fix', { ...good, source: 'app' })), undefined);
  });

  it('is no task when its repository is named through a symbolic link', () => {
    const link = join(root, 'link-to-other');
    symlinkSync(otherRepo, link);
    const linkDir = repoTasksDir(link, tasks);
    mkdirSync(linkDir, { recursive: true });
    const file = join(linkDir, 'fix.json');
    writeFileSync(file, JSON.stringify({ ...good, source: link, path: join(linkDir, 'fix') }));
    assert.equal(readRecord(file), undefined);
  });

  it('is no task when its base is not a commit id, or its branch an option (both reach git\'s command line)', () => {
    assert.equal(readRecord(write('fix', { ...good, base: '--output=/tmp/x' })), undefined);
    assert.equal(readRecord(write('fix', { ...good, base: 'main' })), undefined);
    assert.equal(readRecord(write('fix', { ...good, branch: '--delete' })), undefined);
    assert.equal(readRecord(write('fix', { ...good, created: 5 })), undefined);
    assert.equal(readRecord(write('fix', 'null')), undefined);
  });

  it('findTask refuses a rewritten record as no task of the repository', () => {
    process.env.PADDOCK_TASKS_DIR_SAVED = process.env.PADDOCK_TASKS_DIR ?? '';
    process.env.PADDOCK_TASKS_DIR = tasks;
    try {
      write('fix', { ...good, path: join(root, 'victim') });
      assert.throws(() => findTask(source, 'fix'), /has no task "fix"/);
      write('fix', good);
      assert.equal(findTask(source, 'fix').path, join(dir, 'fix'));
    } finally {
      if (process.env.PADDOCK_TASKS_DIR_SAVED) process.env.PADDOCK_TASKS_DIR = process.env.PADDOCK_TASKS_DIR_SAVED;
      else delete process.env.PADDOCK_TASKS_DIR;
      delete process.env.PADDOCK_TASKS_DIR_SAVED;
    }
  });
});

describe('discarding a task whose repository\'s tasks folder was made a symbolic link', () => {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'paddock-records-link-')));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('reads no record through the link, and removes nothing through it', async () => {
    const source = join(root, 'app');
    mkdirSync(source);
    execFileSync('git', ['init', '-q'], { cwd: source });
    const tasks = join(root, 'tasks');
    const dir = repoTasksDir(source, tasks);
    mkdirSync(tasks);
    // What a sandbox whose workspace holds the tasks folder can do: the repository's tasks folder
    // becomes a link to a folder of the user's, with a record written beside its target.
    const code = join(root, 'code');
    mkdirSync(join(code, 'api'), { recursive: true });
    writeFileSync(join(code, 'api', 'main.go'), 'package main\n');
    symlinkSync(code, dir);
    writeFileSync(join(code, 'api.json'), JSON.stringify({ name: 'api', source, path: join(dir, 'api'), branch: 'paddock/api', base: 'a'.repeat(40), baseRef: 'main', created: '2026-12-03T00:00:00Z' }));
    const saved = process.env.PADDOCK_TASKS_DIR;
    process.env.PADDOCK_TASKS_DIR = tasks;
    try {
      assert.throws(() => findTask(source, 'api'), /has no task "api"/);
      const task = { name: 'api', source, path: join(dir, 'api'), branch: 'paddock/api', base: 'a'.repeat(40), baseRef: 'main', created: '2026-12-03T00:00:00Z' };
      const engine = { docker: { listContainers: async () => [] } } as unknown as SandboxEngine;
      await assert.rejects(discardTask(engine, task), /symbolic link.*nothing was removed/);
      assert.equal(existsSync(join(code, 'api', 'main.go')), true);
    } finally {
      if (saved === undefined) delete process.env.PADDOCK_TASKS_DIR;
      else process.env.PADDOCK_TASKS_DIR = saved;
    }
  });
});
