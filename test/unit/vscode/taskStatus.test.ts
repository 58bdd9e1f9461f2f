// Task sandboxes in the editor (issue 15): the status bar counts them with their workspace, and Open
// Policy on a task opens the workspace's policy, which governs it, not the copy in its folder.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { policyFolderOf } from '../../../src/vscode/taskModel.js';
import { workspaceSummary, type SandboxView } from '../../../src/vscode/treeModel.js';

const view = (name: string, workspace: string, agent: string, status = 'running'): SandboxView => ({ details: { name, workspace, agent, status } }) as unknown as SandboxView;
const TASKS = '/home/me/.local/share/paddock/tasks/api-1a2b3c4d';

describe('status bar with tasks', () => {
  const sandboxes = [
    view('main', '/w/api', 'claude'),
    view('t-alpha', `${TASKS}/alpha`, 'shell'),
    view('t-beta', `${TASKS}/beta`, 'shell', 'stopped'),
    view('other', '/w/web', 'shell'),
  ];
  const folderTasks = { tasks: [{ name: 'alpha', sandbox: 't-alpha' }, { name: 'beta', sandbox: 't-beta' }, { name: 'gamma' }] };

  it('counts the task sandboxes of the folder with its own, and says how many are tasks', () => {
    assert.deepEqual(workspaceSummary('/w/api', sandboxes, folderTasks), { text: '2/3 running (2 tasks)', running: 2, total: 3 });
  });
  it('one task sandbox alone is named by its task', () => {
    assert.deepEqual(workspaceSummary('/w/api', sandboxes.slice(1, 2), folderTasks), { text: 'task alpha: shell running', running: 1, total: 1 });
  });
  it('without tasks (not read yet, or none) it is as before; another folder\'s tasks do not count', () => {
    assert.deepEqual(workspaceSummary('/w/api', sandboxes), { text: 'claude running', running: 1, total: 1 });
    assert.deepEqual(workspaceSummary('/w/web', sandboxes, undefined), { text: 'shell running', running: 1, total: 1 });
  });
});

describe('Open Policy on a task', () => {
  const taskSourceOf = (folder: string) => (folder.startsWith(`${TASKS}/`) ? '/w/api' : undefined);

  it('the task row opens its workspace\'s policy', () => {
    assert.equal(policyFolderOf({ task: { source: '/w/api' }, sandbox: { workspace: `${TASKS}/alpha` } }, taskSourceOf), '/w/api');
  });
  it('the task\'s sandbox row too; a plain sandbox row opens its own workspace\'s; no row: the caller asks', () => {
    assert.equal(policyFolderOf({ sandbox: { workspace: `${TASKS}/alpha` } }, taskSourceOf), '/w/api');
    assert.equal(policyFolderOf({ sandbox: { workspace: '/w/web' } }, taskSourceOf), '/w/web');
    assert.equal(policyFolderOf(undefined, taskSourceOf), undefined);
  });
});
