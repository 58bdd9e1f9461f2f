import { test } from 'node:test';
import assert from 'node:assert/strict';
import { updateInPlace } from '../../src/vscode/treeUpdate.js';
import type { TreeNode } from '../../src/vscode/treeModel.js';

const tree = (uptime: string, status = 'running'): TreeNode[] => [{
  id: 'workspace/w', kind: 'workspace', label: 'w', children: [
    { id: 'sandbox/1', kind: 'sandbox', label: 'Claude', description: `running ${uptime}`, contextValue: `${status}Sandbox`, children: [{ id: 'sandbox/1/ports', kind: 'group', label: 'Ports' }] },
    { id: 'task/w/alpha', kind: 'group', label: 'alpha', description: '1 ahead', contextValue: 'paddockTask' },
  ],
}];

test('the same tree changes nothing and keeps every row object', () => {
  const current = tree('5m');
  const rows = current[0].children!;
  assert.deepEqual(updateInPlace(current, tree('5m')), []);
  assert.equal(current[0].children, rows);
});

test('a changed uptime and menu update that row in place and name only it', () => {
  const current = tree('5m');
  const sandbox = current[0].children![0];
  const changed = updateInPlace(current, tree('6m', 'stopped'));
  assert.deepEqual(changed, [sandbox]);
  assert.equal(sandbox.description, 'running 6m');
  assert.equal(sandbox.contextValue, 'stoppedSandbox');
});

test('a field the new row lacks is removed from the kept row', () => {
  const current = tree('5m');
  const next = tree('5m');
  delete (next[0].children![1] as { description?: string }).description;
  assert.deepEqual(updateInPlace(current, next)?.map((n) => n.id), ['task/w/alpha']);
  assert.equal('description' in current[0].children![1], false);
});

test('rows that come, go or move ask for a whole refresh', () => {
  const added = tree('5m');
  (added[0].children as TreeNode[]).push({ id: 'task/w/beta', kind: 'group', label: 'beta' });
  assert.equal(updateInPlace(tree('5m'), added), undefined);
  const moved = tree('5m');
  (moved[0].children as TreeNode[]).reverse();
  assert.equal(updateInPlace(tree('5m'), moved), undefined);
  assert.equal(updateInPlace(tree('5m'), []), undefined);
});
