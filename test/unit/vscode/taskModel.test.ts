// What the editor shows of parallel tasks (pure; the e2e tier checks it on screen): the tree's task
// rows, the review's entries, the new task's name check, and the git output they come from.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SandboxDetails } from '../../../src/engine/types.js';
import type { TaskState } from '../../../src/engine/tasks.js';
import { parseChanges } from '../../../src/engine/taskReview.js';
import { decodeReviewQuery, encodeReviewQuery, reviewEntries, reviewTitle, taskDescription, taskNode, TASK_CONTEXT, withTasks, type TaskSnapshot } from '../../../src/vscode/taskModel.js';
import { taskNameProblem } from '../../../src/vscode/taskName.js';
import { buildTree, type SandboxView } from '../../../src/vscode/treeModel.js';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const SOURCE = '/home/me/app';
const ROOT = '/home/me/.local/share/paddock/tasks/app-1234abcd';

function task(name: string, over: Partial<TaskState> = {}): TaskState {
  return {
    name, source: SOURCE, path: `${ROOT}/${name}`, branch: `paddock/${name}`, base: 'a1b2c3d4e5f6a7b8c9d0', baseRef: 'main', created: '2026-12-01T11:00:00Z',
    agent: 'shell', sandbox: `paddock-shell-${name}-99`, status: 'running', ahead: 2, changedFiles: 3, uncommitted: 1, ...over,
  };
}

function view(name: string, workspace: string, agent = 'shell'): SandboxView {
  const details: SandboxDetails = {
    name, id: `id-${name}`, workspace, agent, status: 'running', runtime: 'runc', image: 'paddock-shell:8d194076240f', created: '2026-12-01T11:00:00Z',
    startedAt: '2026-12-01T11:30:00Z', ports: [], mounts: [{ type: 'bind', source: workspace, target: workspace, readOnly: false }],
    envNames: [], injectedKeys: [], limits: { cpus: 2, memoryBytes: 4 * 1024 ** 3, pids: 1024 }, user: { uid: 1000, gid: 1000 },
  };
  return { details, network: { policy: 'deny', allow: [], deny: [] }, enforced: { policy: 'deny', rules: [] }, bridgeContainers: [] };
}

describe('task rows in the Sandboxes tree', () => {
  it('describes a task by branch, commits ahead, changed files (uncommitted ones counted) and its sandbox', () => {
    assert.equal(taskDescription(task('fix')), 'paddock/fix · 2 ahead · 3 changed (1 uncommitted) · Shell running');
    assert.equal(taskDescription(task('fix', { uncommitted: 0, agent: 'claude', status: 'stopped' })), 'paddock/fix · 2 ahead · 3 changed · Claude Code stopped');
    assert.equal(taskDescription(task('fix', { sandbox: undefined, agent: undefined, status: 'none' })), 'paddock/fix · 2 ahead · 3 changed (1 uncommitted) · no sandbox');
    // The folder is gone: git could not count anything.
    assert.equal(taskDescription(task('fix', { ahead: undefined, changedFiles: undefined, uncommitted: undefined })), 'paddock/fix · folder missing · Shell running');
  });

  it('a task row carries the task for its commands, its sandbox as a child, and its folder', () => {
    const node = taskNode(task('fix'), view('paddock-shell-fix-99', `${ROOT}/fix`), NOW);
    assert.equal(node.contextValue, TASK_CONTEXT);
    assert.equal(node.task.name, 'fix');
    assert.equal(node.sandbox?.name, 'paddock-shell-fix-99');
    assert.equal(node.icon?.id, 'git-branch');
    assert.deepEqual(node.children!.map((c) => c.label), ['Shell', 'Worktree']);
    assert.equal(node.children![0].contextValue, 'runningSandbox');
    assert.equal(node.children![1].description, `${ROOT}/fix`);
    assert.match(node.tooltip!, /^Branch: paddock\/fix, from main \(a1b2c3d4e5f6\)$/m);
    const bare = taskNode(task('old', { sandbox: undefined, status: 'none' }), undefined, NOW);
    assert.equal(bare.sandbox, undefined);
    assert.deepEqual(bare.children!.map((c) => `${c.label}${c.description ? ` (${c.description})` : ''}`), ['No sandbox (Open Terminal starts one)', `Worktree (${ROOT}/old)`]);
  });

  it('puts each folder\'s tasks under it, after its own sandboxes, and makes the folder\'s row when it has only tasks', () => {
    const folders = [{ name: 'app', path: SOURCE }, { name: 'lib', path: '/home/me/lib' }];
    const own = view('paddock-claude-app-1', SOURCE, 'claude');
    const sandboxes = [own, view('paddock-shell-fix-99', `${ROOT}/fix`), view('paddock-shell-docs-99', `${ROOT}/docs`)];
    const snapshot: TaskSnapshot = new Map([
      [SOURCE, { source: SOURCE, tasks: [task('docs'), task('fix')] }],
      ['/home/me/lib', { source: '/home/me/lib', tasks: [task('solo', { source: '/home/me/lib', path: '/t/solo', sandbox: undefined, status: 'none' })] }],
    ]);
    const roots = withTasks(buildTree(folders, sandboxes, NOW), folders, snapshot, sandboxes, NOW);
    assert.deepEqual(roots.map((r) => r.label), ['app', 'lib']);
    assert.deepEqual(roots[0].children!.map((c) => c.label), ['Claude Code', 'docs', 'fix']);
    assert.equal(roots[0].children![2].children![0].sandbox?.name, 'paddock-shell-fix-99');
    assert.equal(roots[1].kind, 'workspace');
    assert.equal(roots[1].contextValue, 'openWorkspace');
    assert.deepEqual(roots[1].children!.map((c) => c.label), ['solo']);
  });

  it('with "Show All", a task\'s sandbox is not listed again as a workspace of its own', () => {
    const folders = [{ name: 'app', path: SOURCE }];
    const sandboxes = [view('paddock-shell-fix-99', `${ROOT}/fix`), view('paddock-shell-else-1', '/srv/else')];
    const snapshot: TaskSnapshot = new Map([[SOURCE, { source: SOURCE, tasks: [task('fix')] }]]);
    const all = buildTree(folders, sandboxes, NOW, true);
    assert.deepEqual(all.map((r) => r.label), ['fix', 'else']); // without tasks: the task folder looks like a workspace
    const roots = withTasks(all, folders, snapshot, sandboxes, NOW);
    assert.deepEqual(roots.map((r) => r.label), ['app', 'else']);
  });

  it('leaves the tree as it is when there are no tasks', () => {
    const folders = [{ name: 'app', path: SOURCE }];
    const roots = buildTree(folders, [view('paddock-shell-app-1', SOURCE)], NOW);
    assert.deepEqual(withTasks(roots, folders, undefined, [], NOW), roots);
    assert.deepEqual(withTasks(roots, folders, new Map([[SOURCE, { source: SOURCE, tasks: [] }]]), [], NOW), roots);
  });
});

describe('a new task\'s name', () => {
  it('follows the CLI\'s rule and is not a task of the repository yet', () => {
    assert.equal(taskNameProblem('fix-login', ['other']), undefined);
    assert.equal(taskNameProblem('v1.2_fix', []), undefined);
    assert.match(taskNameProblem('', [])!, /Name the task/);
    for (const bad of ['-x', 'a b', 'a/b', 'a..b', 'x.lock', 'x.', '.x', 'é', 'a'.repeat(41), 'x;rm -rf ~']) {
      assert.match(taskNameProblem(bad, []) ?? '', /is not a valid task name\. Use up to 40 letters/, bad);
    }
    assert.match(taskNameProblem('fix', ['fix'])!, /has a task "fix" already/);
  });
});

describe('the review of a task', () => {
  it('reads git\'s name-status and untracked lists (NUL-separated: any file name) into one sorted list', () => {
    const nameStatus = 'M\0src/app.ts\0A\0new file.txt\0D\0gone.md\0T\0link\0';
    const untracked = 'notes/\nodd.txt\0new file.txt\0';
    assert.deepEqual(parseChanges(nameStatus, untracked), [
      { path: 'gone.md', kind: 'deleted' }, { path: 'link', kind: 'modified' }, { path: 'new file.txt', kind: 'added' },
      { path: 'notes/\nodd.txt', kind: 'added' }, { path: 'src/app.ts', kind: 'modified' },
    ]);
    assert.deepEqual(parseChanges('', ''), []);
  });

  it('pairs the base with the task\'s file; a link the agent made is shown, never followed; a deleted file has no right side', () => {
    const types: Record<string, 'file' | 'link' | 'other' | 'missing'> = { [`${ROOT}/fix/a.ts`]: 'file', [`${ROOT}/fix/key`]: 'link', [`${ROOT}/fix/fifo`]: 'other', [`${ROOT}/fix/gone.md`]: 'file' };
    const entries = reviewEntries(`${ROOT}/fix`, [
      { path: 'a.ts', kind: 'modified' }, { path: 'key', kind: 'added' }, { path: 'fifo', kind: 'added' }, { path: 'gone.md', kind: 'deleted' },
    ], (f) => types[f] ?? 'missing');
    assert.deepEqual(entries.map((e) => [e.path, e.base, e.right]), [['a.ts', true, 'file'], ['key', false, 'link'], ['fifo', false, undefined], ['gone.md', true, undefined]]);
    assert.equal(entries[0].file, `${ROOT}/fix/a.ts`);
  });

  it('a review document names its task and side, and anything else is not one', () => {
    const q = { source: SOURCE, task: 'fix', side: 'base' as const };
    assert.deepEqual(decodeReviewQuery(encodeReviewQuery(q)), q);
    assert.equal(decodeReviewQuery('not json'), undefined);
    assert.equal(decodeReviewQuery(JSON.stringify({ source: SOURCE, task: 'fix', side: 'head' })), undefined);
    assert.equal(decodeReviewQuery(JSON.stringify({ source: 1, task: 'fix', side: 'base' })), undefined);
  });

  it('titles the diff with the task, its base and the number of files', () => {
    assert.equal(reviewTitle(task('fix'), 3), 'Task fix ↔ main (a1b2c3d4): 3 files');
    assert.equal(reviewTitle(task('fix'), 1), 'Task fix ↔ main (a1b2c3d4): 1 file');
  });
});
