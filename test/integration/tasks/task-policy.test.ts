// A task's sandbox is governed by its workspace's policy (issue 15): `paddock policy apply WORKSPACE`
// approves the edited policy for the task's sandbox too, and its network rules are in force in the
// task's running proxy at once. The host exists nowhere (*.test): no traffic is sent.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { engine, makeWorkspace, OWNER, paddockOk } from '../../support/sandbox.js';
import { loadViews } from '../../../src/vscode/loadViews.js';
import { taskTestState } from './taskRepo.js';

describe('policy apply reaches the task sandboxes of the workspace', () => {
  const { env, ...test } = taskTestState('paddock-task-policy-');
  const ok = (args: string[]) => paddockOk(args, { env });
  let ws: string;
  let task: string;

  before(async () => {
    ws = makeWorkspace({ 'README.md': '# project\n', '.paddock/policy.yaml': 'version: 1\nnetwork:\n  policy: deny\n  hostRegistries: false\n' });
    for (const args of [['init', '-q'], ['add', '-A'], ['commit', '-qm', 'initial']]) test.git(args, ws);
    if (process.getuid?.() === 0) spawnSync('chown', ['-R', `${OWNER.uid}:${OWNER.gid}`, ws]);
    task = (await ok(['create', 'shell', ws, '--task', 'docs'])).stdout.trim();
  });
  after(() => test.removeAll(ws));

  it('the edited policy is approved for the task\'s sandbox and its network rule is in force there', async () => {
    mkdirSync(join(ws, '.paddock'), { recursive: true });
    writeFileSync(join(ws, '.paddock', 'policy.yaml'), 'version: 1\nnetwork:\n  policy: deny\n  allow: [docs.example.test]\n  hostRegistries: false\n');
    const applied = await ok(['policy', 'apply', ws]);
    assert.match(applied.stdout, new RegExp(`^${task}: policy \\w+ -> \\w+$`, 'm'), applied.stdout);
    const rules = JSON.parse((await ok(['network', 'rules', task, '--json'])).stdout);
    assert.deepEqual(rules.rules.filter((r: any) => r.rule === 'docs.example.test').map((r: any) => r.list), ['allow']);
  });

  it('the Sandboxes view judges the task\'s sandbox by the workspace\'s policy, never by the copy in the task\'s folder', async () => {
    process.env.PADDOCK_TASKS_DIR = test.tasksDir; // where the view finds the task's record
    try {
      const view = async () => (await loadViews(engine())).find((v) => v.details.name === task)!;
      const folder = (await view()).details.workspace;
      assert.notEqual(folder, ws, 'the task works in a folder of its own');
      // The task's agent writes its copy of the policy: the view does not call for an apply.
      writeFileSync(join(folder, '.paddock', 'policy.yaml'), 'version: 1\nhide:\n  - README.md\n');
      assert.equal((await view()).containerPolicyChanged, undefined, 'the task folder\'s copy was taken for the policy');
      // The user adds a hide rule in the workspace: the view says an apply is due.
      writeFileSync(join(ws, '.paddock', 'policy.yaml'), 'version: 1\nnetwork:\n  policy: deny\n  allow: [docs.example.test]\n  hostRegistries: false\nhide:\n  - README.md\n');
      assert.equal((await view()).containerPolicyChanged, true, 'the workspace\'s hide rule did not count');
    } finally {
      delete process.env.PADDOCK_TASKS_DIR;
    }
  });
});
