// A task's sandbox is governed by its workspace's policy (issue 15): `paddock policy apply WORKSPACE`
// approves the edited policy for the task's sandbox too, and its network rules are in force in the
// task's running proxy at once. The host exists nowhere (*.test): no traffic is sent.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanup, engine, makeWorkspace, OWNER, paddockOk } from '../../support/sandbox.js';

describe('policy apply reaches the task sandboxes of the workspace', () => {
  const state = mkdtempSync(join(tmpdir(), 'paddock-task-policy-'));
  const gitconfig = join(state, 'gitconfig');
  writeFileSync(gitconfig, '[user]\n\tname = Paddock Test\n\temail = paddock-test@example.invalid\n[safe]\n\tdirectory = *\n[init]\n\tdefaultBranch = main\n');
  const env = { ...process.env, GIT_CONFIG_GLOBAL: gitconfig, PADDOCK_TASKS_DIR: join(state, 'tasks') };
  const ok = (args: string[]) => paddockOk(args, { env });
  let ws: string;
  let task: string;

  before(async () => {
    ws = makeWorkspace({ 'README.md': '# project\n', '.paddock/policy.yaml': 'version: 1\nnetwork:\n  policy: deny\n  hostRegistries: false\n' });
    for (const args of [['init', '-q'], ['add', '-A'], ['commit', '-qm', 'initial']]) {
      const r = spawnSync('git', args, { cwd: ws, env, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }
    if (process.getuid?.() === 0) spawnSync('chown', ['-R', `${OWNER.uid}:${OWNER.gid}`, ws]);
    task = (await ok(['create', 'shell', ws, '--task', 'docs'])).stdout.trim();
  });
  after(async () => {
    const e = engine();
    for (const c of await e.docker.listContainers({ all: true, filters: { label: [`dev.paddock.task-source=${ws}`] } })) await e.remove(c.Id).catch(() => {});
    if (ws) await cleanup(ws);
    rmSync(state, { recursive: true, force: true });
  });

  it('the edited policy is approved for the task\'s sandbox and its network rule is in force there', async () => {
    mkdirSync(join(ws, '.paddock'), { recursive: true });
    writeFileSync(join(ws, '.paddock', 'policy.yaml'), 'version: 1\nnetwork:\n  policy: deny\n  allow: [docs.example.test]\n  hostRegistries: false\n');
    const applied = await ok(['policy', 'apply', ws]);
    assert.match(applied.stdout, new RegExp(`^${task}: policy \\w+ -> \\w+$`, 'm'), applied.stdout);
    const rules = JSON.parse((await ok(['network', 'rules', task, '--json'])).stdout);
    assert.deepEqual(rules.rules.filter((r: any) => r.rule === 'docs.example.test').map((r: any) => r.list), ['allow']);
  });
});
