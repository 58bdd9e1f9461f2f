// Ten tasks of one project in a real VS Code (code-server 4.104) in a real Chromium (issue 15's scale
// section): the ten tasks and their running shell sandboxes are made with the CLI before the window
// opens (as ten agents started from terminals would be), each agent commits its own change; the
// Sandboxes view lists all ten under their workspace with branch, commits ahead and changed files;
// expanding task rows, an agent's new commit and the view's Refresh are followed while the editor
// keeps answering. The times are printed (the machine is shared and loaded: never asserted).
// Screenshots under test-results/e2e/tasks-ten-*.png.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Locator } from 'playwright-core';
import { engine, paddock, paddockOk } from '../support/sandbox.js';
import { openPaddockView, useWorkbench } from './support/session.js';
import { demoWorkspace } from './support/workbench.js';

const names = Array.from({ length: 10 }, (_, i) => `t${String(i + 1).padStart(2, '0')}`);

/** Task i adds i % 3 + 1 files (in two commits when i is odd) and leaves an untracked draft when i is a multiple of 4. */
function planOf(i: number): { files: string[]; commits: number; draft: boolean } {
  return { files: Array.from({ length: (i % 3) + 1 }, (_, k) => `work/${names[i]}-${k}.txt`), commits: (i % 2) + 1, draft: i % 4 === 0 };
}

/** What a task row says: "paddock/t01 · 1 ahead · 2 changed (1 uncommitted) · Shell running". */
function rowText(i: number, extraCommits = 0): RegExp {
  const plan = planOf(i);
  const changed = `${plan.files.length + (plan.draft ? 1 : 0)} changed${plan.draft ? ' \\(1 uncommitted\\)' : ''}`;
  return new RegExp(`^\\s*${names[i]}\\s*paddock/${names[i]} · ${plan.commits + extraCommits} ahead · ${changed} · Shell running`);
}

describe('VS Code: ten tasks of one project', { timeout: 1_800_000 }, () => {
  const state = mkdtempSync(join(tmpdir(), 'paddock-e2e-ten-tasks-'));
  const saved = { tasks: process.env.PADDOCK_TASKS_DIR, gitconfig: process.env.GIT_CONFIG_GLOBAL };
  const sandboxOf: Record<string, string> = {};
  let source = '';

  const session = useWorkbench({
    screenshots: 'tasks-ten',
    workspace: async () => {
      // code-server inherits this environment: the editor and the test's CLI see the same tasks and git identity.
      process.env.PADDOCK_TASKS_DIR = join(state, 'tasks');
      process.env.GIT_CONFIG_GLOBAL = join(state, 'gitconfig');
      writeFileSync(process.env.GIT_CONFIG_GLOBAL, '[user]\n\tname = Paddock E2E\n\temail = e2e@example.invalid\n[safe]\n\tdirectory = *\n[init]\n\tdefaultBranch = main\n');
      const ws = demoWorkspace();
      source = ws;
      for (const args of [['init', '-q'], ['add', '-A'], ['commit', '-qm', 'demo']]) {
        const r = spawnSync('git', ['-C', ws, ...args], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
      }
      const times: string[] = [];
      for (const [i, name] of names.entries()) {
        const started = Date.now();
        sandboxOf[name] = (await paddockOk(['create', 'shell', ws, '--task', name])).stdout.trim();
        times.push(`${name} ${((Date.now() - started) / 1000).toFixed(1)} s`);
        const plan = planOf(i);
        const script = [
          'set -e', 'mkdir -p work',
          ...plan.files.map((f, k) => `echo "${name} ${k}" > ${f}`),
          `git add ${plan.files[0]}`, `git commit -qm "${name}: first"`,
          ...(plan.commits > 1 ? ['git add -A work', `git commit -q --allow-empty -m "${name}: second"`] : ['git add -A work', 'git commit -q --amend --no-edit']),
          ...(plan.draft ? ['echo draft > draft.txt'] : []),
        ].join('\n');
        const r = await paddock(['exec', sandboxOf[name], '--', 'sh', '-c', script]);
        assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      }
      console.log(`created ten tasks with the CLI before the window opened: ${times.join(', ')}`);
      return ws;
    },
  });

  after(async () => {
    const e = engine();
    if (source) for (const c of await e.docker.listContainers({ all: true, filters: { label: [`dev.paddock.task-source=${source}`] } })) await e.remove(c.Id).catch(() => {});
    rmSync(state, { recursive: true, force: true });
    for (const [key, value] of [['PADDOCK_TASKS_DIR', saved.tasks], ['GIT_CONFIG_GLOBAL', saved.gitconfig]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  it('lists all ten under their workspace, follows expanding, a new commit and Refresh, and keeps answering', async () => {
    const { wb, ws } = session;
    const { page } = wb;
    try {
      const opened = Date.now();
      const view = await openPaddockView(page, 720);
      const row = (text: string | RegExp) => view.locator('.monaco-list-row', { hasText: text }).first();
      const taskRow = (i: number) => row(new RegExp(`^\\s*${names[i]}\\s*paddock/`));

      // 1. All ten, one level under the workspace's row, each with its branch, commits ahead, changed files and running sandbox.
      for (const i of names.keys()) await row(rowText(i)).waitFor({ timeout: 300_000 });
      console.log(`from the click on the Paddock icon (the extension starting on this window) to all ten task rows drawn: ${Date.now() - opened} ms`);
      const workspaceLevel = Number(await view.locator('.monaco-list-row[aria-level="1"]').first().getAttribute('aria-level'));
      for (const i of names.keys()) assert.equal(Number(await taskRow(i).getAttribute('aria-level')), workspaceLevel + 1, `${names[i]} is not under the workspace`);
      const listed = JSON.parse((await paddockOk(['tasks', ws, '--json'])).stdout) as { name: string }[];
      assert.deepEqual(listed.map((t) => t.name), names);
      await page.mouse.move(900, 300);
      await wb.screenshot('tasks-ten-01-all-ten');

      // 2. Expanding a task shows its sandbox and worktree at once.
      for (const i of [0, 5, 9]) {
        const started = Date.now();
        await taskRow(i).locator('.monaco-tl-twistie').click();
        await row(/^\s*Worktree/).waitFor({ timeout: 60_000 });
        await view.locator('.monaco-list-row', { hasText: /^\s*Worktree/ }).nth([0, 5, 9].indexOf(i)).waitFor({ timeout: 60_000 });
        console.log(`expanding ${names[i]} to its rows drawn: ${Date.now() - started} ms`);
      }
      await wb.screenshot('tasks-ten-02-expanded');

      // 3. An agent commits again: its row follows (the task folder's watcher), the others stay as they were.
      const t02 = 1;
      let started = Date.now();
      const commit = await paddock(['exec', sandboxOf[names[t02]], '--', 'sh', '-c', 'echo more > work/more.txt && git add work/more.txt && git commit -qm more']);
      assert.equal(commit.code, 0, commit.stderr);
      const committed = Date.now();
      const planT02 = planOf(t02);
      const afterCommit = new RegExp(`^\\s*${names[t02]}\\s*paddock/${names[t02]} · ${planT02.commits + 1} ahead · ${planT02.files.length + 1} changed · Shell running`);
      await row(afterCommit).waitFor({ timeout: 120_000 });
      console.log(`a commit in ${names[t02]} (exec took ${committed - started} ms) to its row redrawn: ${Date.now() - committed} ms`);
      for (const i of names.keys()) if (i !== t02) await row(rowText(i)).waitFor({ timeout: 10_000 });

      // 4. Refresh (the view's title button): the tree is drawn again, and the editor answers meanwhile.
      const stopped = 6;
      const stop = await paddock(['stop', sandboxOf[names[stopped]]]);
      assert.equal(stop.code, 0, stop.stderr);
      started = Date.now();
      await view.locator('.pane-header').hover();
      await view.locator('.pane-header .action-label[aria-label="Refresh Sandboxes"]').click();
      const refreshClicked = Date.now();
      // While the tree reads, the palette opens and lists the extension's commands.
      await page.keyboard.press('F1');
      const input = page.locator('.quick-input-widget .quick-input-box input');
      await input.waitFor({ timeout: 30_000 });
      await input.fill('>Paddock: Refresh');
      await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Refresh Sandboxes' }).first().waitFor({ timeout: 30_000 });
      const paletteAnswered = Date.now();
      await page.keyboard.press('Escape');
      const stoppedRow = new RegExp(`^\\s*${names[stopped]}\\s*paddock/${names[stopped]} · .* · Shell stopped`);
      await row(stoppedRow).waitFor({ timeout: 120_000 });
      const drawn = Date.now();
      for (const i of names.keys()) if (i !== t02 && i !== stopped) await row(rowText(i)).waitFor({ timeout: 10_000 });
      console.log(`Refresh: palette answered after ${paletteAnswered - refreshClicked} ms; stopped ${names[stopped]} drawn ${drawn - refreshClicked} ms after the click (${drawn - started} ms after the stop returned)`);
      await page.mouse.move(900, 300);
      await wb.screenshot('tasks-ten-03-after-refresh');
      const rows: Locator = view.locator('.monaco-list-row');
      assert.ok((await rows.count()) >= 11, `the view shows ${await rows.count()} rows`);
    } catch (err) {
      await wb.screenshot('tasks-ten-failure').catch(() => {});
      throw new Error(`${(err as Error).message}\n--- code-server log ---\n${wb.log().slice(-4000)}`);
    }
  });
});
