// Which task a folder is (a request for a task's folder is made the task's: its labels, the
// workspace's policy), read from the records outside the folders, which no sandbox can write.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { repoTasksDir, taskAt } from '../../../src/engine/tasks.js';

describe('taskAt', () => {
  const root = mkdtempSync(join(tmpdir(), 'paddock-taskat-'));
  const repoDir = repoTasksDir('/home/me/app', root);
  const record = { name: 'fix', source: '/home/me/app', path: join(repoDir, 'fix'), branch: 'paddock/fix', base: 'a'.repeat(40), baseRef: 'main', created: '2026-12-01T00:00:00Z' };
  mkdirSync(join(repoDir, 'fix', 'src'), { recursive: true });
  writeFileSync(join(repoDir, 'fix.json'), JSON.stringify(record));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('finds the task of its own folder', () => {
    assert.deepEqual(taskAt(join(repoDir, 'fix'), root), record);
    assert.deepEqual(taskAt(`${join(repoDir, 'fix')}/`, root), record);
  });

  it('is no task for a folder inside a task, the tasks folder itself, or a folder elsewhere', () => {
    assert.equal(taskAt(join(repoDir, 'fix', 'src'), root), undefined);
    assert.equal(taskAt(repoDir, root), undefined);
    assert.equal(taskAt(root, root), undefined);
    assert.equal(taskAt('/home/me/app', root), undefined);
    assert.equal(taskAt(join(repoDir, 'other'), root), undefined);
  });

  it('a record naming another folder does not make this one its task', () => {
    writeFileSync(join(repoDir, 'moved.json'), JSON.stringify({ ...record, name: 'moved', path: '/elsewhere' }));
    mkdirSync(join(repoDir, 'moved'));
    assert.equal(taskAt(join(repoDir, 'moved'), root), undefined);
    // A broken record is no task either.
    writeFileSync(join(repoDir, 'broken.json'), '{');
    mkdirSync(join(repoDir, 'broken'));
    assert.equal(taskAt(join(repoDir, 'broken'), root), undefined);
    symlinkSync(join(repoDir, 'fix'), join(root, 'link'));
    assert.equal(taskAt(join(root, 'link'), root), undefined);
  });
});
