// Parallel tasks in a real VS Code (code-server 4.104) in a real Chromium: two tasks started from the
// palette (name checked as typed, base picked), both listed in the Sandboxes view with their own
// terminals side by side; their shell agents commit (driven through `paddock exec`, as the agents
// would); Review Changes opens the multi-file diff against the base; one task is merged into the
// workspace's branch, the other, unmerged, is discarded only after a second confirmation. The status
// bar counts the task sandboxes; Open Policy on a task opens the workspace's policy.
// Screenshots of each step under test-results/e2e/tasks-*.png.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { cleanup, engine, OWNER, paddock, paddockOk } from '../support/sandbox.js';
import { ARTIFACTS, chooseFromContextMenu, demoWorkspace, openWorkbench, packageExtension, runCommand, sandboxesView, waitForTerminal, widenSideBar, type Workbench } from './support/workbench.js';

// The shell's prompt; a task's folder is a long path, so the prompt may wrap.
const PROMPT = /agent@paddock-shell:[^$]*\$$/m;

describe('VS Code: parallel tasks', { timeout: 1_200_000 }, () => {
  const state = mkdtempSync(join(tmpdir(), 'paddock-e2e-tasks-'));
  const saved = { tasks: process.env.PADDOCK_TASKS_DIR, gitconfig: process.env.GIT_CONFIG_GLOBAL };
  let ws: string;
  let out: string;
  let wb: Workbench;

  const git = (...args: string[]) => {
    const r = spawnSync('git', ['-C', ws, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const tasks = async () => JSON.parse((await paddockOk(['tasks', ws, '--json'])).stdout) as { name: string; sandbox?: string; path: string; ahead?: number }[];

  before(async () => {
    for (const f of existsSync(ARTIFACTS) ? readdirSync(ARTIFACTS) : []) if (f.startsWith('tasks-')) rmSync(join(ARTIFACTS, f));
    // The editor (code-server inherits this environment) and the test's CLI see the same tasks and
    // the same git identity (a merge commit needs one; as root, the workspace belongs to uid 1000).
    process.env.PADDOCK_TASKS_DIR = join(state, 'tasks');
    process.env.GIT_CONFIG_GLOBAL = join(state, 'gitconfig');
    writeFileSync(process.env.GIT_CONFIG_GLOBAL, '[user]\n\tname = Paddock E2E\n\temail = e2e@example.invalid\n[safe]\n\tdirectory = *\n[init]\n\tdefaultBranch = main\n');
    out = mkdtempSync(join(tmpdir(), 'paddock-e2e-vsix-'));
    ws = demoWorkspace();
    git('init', '-q');
    git('add', '-A');
    git('commit', '-qm', 'demo');
    git('branch', 'release');
    spawnSync('chown', ['-R', `${OWNER.uid}:${OWNER.gid}`, ws]);
    wb = await openWorkbench(ws, packageExtension(out));
    // The 2-core machine runs other suites at the same time: every step may wait longer than playwright's 30 s.
    wb.page.setDefaultTimeout(120_000);
  });

  after(async () => {
    if (wb) await wb.close();
    const e = engine();
    for (const c of await e.docker.listContainers({ all: true, filters: { label: [`dev.paddock.task-source=${ws}`] } })) await e.remove(c.Id).catch(() => {});
    if (ws) await cleanup(ws);
    rmSync(out, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
    for (const [key, value] of [['PADDOCK_TASKS_DIR', saved.tasks], ['GIT_CONFIG_GLOBAL', saved.gitconfig]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  /** Starts a shell task from the palette: the name (checked as typed), then the base. */
  async function startTask(page: Page, name: string, base: string, shot?: string): Promise<void> {
    await runCommand(page, 'Paddock: Open Shell on a New Task...');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor();
    if (shot) {
      // A name the CLI refuses is refused as typed, with the CLI's reason.
      await input.fill('fix login');
      await page.locator('.quick-input-widget .quick-input-message', { hasText: 'is not a valid task name' }).waitFor({ timeout: 10_000 });
      await wb.screenshot(`${shot}-name-refused`);
    }
    await input.fill(name);
    // The check runs as typed: the refusal goes once the name is good.
    const message = page.locator('.quick-input-widget .quick-input-message');
    for (let i = 0; /not a valid/.test(await message.innerText().catch(() => '')); i++) {
      assert.ok(i < 100, `"${name}" stays refused: ${await message.innerText()}`);
      await page.waitForTimeout(100);
    }
    await input.press('Enter');
    // The base: the current HEAD first, then the other branches.
    const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: base }).first();
    await row.waitFor({ timeout: 30_000 });
    if (shot) await wb.screenshot(`${shot}-base`);
    await row.click();
  }

  /**
   * Runs an action from a task row's context menu. The command gets that row: it never asks which
   * task (it did while the tree refreshed itself as a whole at each CPU/memory sample, every 3 s).
   */
  async function onTask(page: Page, row: Locator, task: string, action: string): Promise<void> {
    await row.click({ button: 'right' });
    // The menu stays open longer than one CPU/memory sample (3 s), as a user reading it would: the
    // tree must not drop the row meanwhile (a whole-tree refresh lost it when the extension host was slow).
    await page.locator('.context-view .monaco-menu').waitFor();
    await page.waitForTimeout(4_000);
    await chooseFromContextMenu(page, action);
    const picker = page.locator('.quick-input-widget .monaco-list-row', { hasText: `${task} paddock/${task}` }).first();
    assert.equal(await picker.waitFor({ timeout: 5_000 }).then(() => true, () => false), false, `${action} on the row of ${task} asked which task: the command got no row`);
  }

  /** Waits for the new task's shell prompt; an error the editor shows instead fails the test at once, with its text. */
  async function waitForPrompt(page: Page, timeoutMs: number): Promise<void> {
    const error = page.locator('.notification-toast', { hasText: 'Paddock:' }).filter({ has: page.locator('.codicon-error') });
    await Promise.race([
      waitForTerminal(page, PROMPT, timeoutMs),
      error.first().waitFor({ timeout: timeoutMs }).then(async () => { throw new Error(`the editor showed an error: ${await error.first().innerText()}`); }),
    ]);
  }

  it('starts two tasks, reviews, merges one and discards the other', async () => {
    const { page } = wb;
    const view = sandboxesView(page);
    const row = (text: string | RegExp) => view.locator('.monaco-list-row', { hasText: text }).first();
    try {
      await page.locator('.activitybar a[aria-label^="Paddock"]').click({ force: true }); // the running-sandbox badge sits over the icon
      await view.locator('.welcome-view-content', { hasText: 'No sandbox for this workspace yet' }).waitFor({ timeout: 60_000 });
      await widenSideBar(page, 640);

      // 1. Two tasks from the palette: alpha from the current HEAD, beta from the branch "release".
      await startTask(page, 'alpha', 'main (current HEAD)', 'tasks-01');
      await waitForPrompt(page, 600_000);
      await startTask(page, 'beta', 'release');
      await row(/^\s*beta/).waitFor({ timeout: 300_000 });
      await waitForPrompt(page, 300_000);
      const listed = await tasks();
      assert.deepEqual(listed.map((t) => t.name).sort(), ['alpha', 'beta']);
      const byName = Object.fromEntries(listed.map((t) => [t.name, t]));
      for (const t of listed) assert.ok(t.sandbox && t.path.startsWith(join(state, 'tasks')), JSON.stringify(t));

      // Both are in the tree under the workspace, each with its branch and a running sandbox.
      await row(/alpha\s*paddock\/alpha · 0 ahead · 0 changed · Shell running/).waitFor({ timeout: 60_000 });
      await row(/beta\s*paddock\/beta · 0 ahead · 0 changed · Shell running/).waitFor({ timeout: 60_000 });
      // Two terminals side by side, one per task.
      const tabs = page.locator('.terminal-tabs-entry, .single-terminal-tab');
      await page.locator('.terminal-tabs-entry', { hasText: 'alpha' }).first().waitFor({ timeout: 30_000 }).catch(() => {});
      const terminalNames = await tabs.allInnerTexts();
      assert.ok(terminalNames.some((t) => / · alpha$/.test(t.trim())) && terminalNames.some((t) => / · beta$/.test(t.trim())), `terminals: ${terminalNames.join(' | ')}`);
      await page.mouse.move(900, 300);
      await wb.screenshot('tasks-02-two-tasks-in-tree');

      // The status bar counts the task sandboxes as the workspace's; Open Policy on a task opens the
      // workspace's policy, which governs it (here none: the defaults), not the task folder's copy.
      await page.locator('.statusbar-item', { hasText: 'Paddock: 2/2 running (2 tasks)' }).first().waitFor({ timeout: 60_000 });
      await onTask(page, row(/^\s*alpha/), 'alpha', 'Open Policy');
      const noPolicy = page.locator('.notification-toast', { hasText: 'has no .paddock/policy.yaml' }).first();
      await noPolicy.waitFor({ timeout: 30_000 });
      const said = await noPolicy.innerText();
      assert.ok(said.includes(`${ws} has no`) && !said.includes(byName.alpha.path), said);
      await wb.screenshot('tasks-02b-open-policy-of-task');
      await noPolicy.hover();
      await noPolicy.locator('.codicon-notifications-clear').first().click().catch(() => page.keyboard.press('Escape'));

      // The terminal is at the task's folder, on its branch.
      await page.locator('.terminal-wrapper.active .xterm').first().click();
      await page.keyboard.type(`test "$(pwd)" = '${byName.beta.path}' && echo AT-"TASK"-$(git branch --show-current)\n`);
      await waitForTerminal(page, /^AT-TASK-paddock\/beta$/m);

      // 2. The agents work (as the agents would, through the sandbox's shell): alpha edits and adds,
      // beta adds a file; both commit.
      const work = async (task: string, script: string) => {
        const r = await paddock(['exec', byName[task].sandbox!, '--', 'sh', '-c', script]);
        assert.equal(r.code, 0, r.stderr);
      };
      await work('alpha', 'printf "# Paddock demo workspace, reviewed\\n" > README.md && printf "export const alpha = 1;\\n" > src/alpha.js && git add -A && git commit -qm "alpha: readme and module"');
      await work('beta', 'printf "beta notes\\n" > NOTES.md && git add NOTES.md && git commit -qm "beta: notes"');
      await row(/alpha\s*paddock\/alpha · 1 ahead · 2 changed · Shell running/).waitFor({ timeout: 60_000 });
      await row(/beta\s*paddock\/beta · 1 ahead · 1 changed · Shell running/).waitFor({ timeout: 60_000 });
      await page.mouse.move(900, 300);
      await wb.screenshot('tasks-03-agents-committed');

      // 3. Review Changes: the multi-file diff of alpha against its base.
      await onTask(page, row(/^\s*alpha/), 'alpha', 'Review Changes');
      const diff = page.locator('.multiDiffEditor');
      await diff.waitFor({ timeout: 60_000 });
      await page.locator('.tab.active', { hasText: 'Task alpha' }).waitFor({ timeout: 30_000 });
      for (const file of ['README.md', 'alpha.js']) await diff.getByText(file, { exact: false }).first().waitFor({ timeout: 30_000 });
      await diff.locator('.view-line', { hasText: 'reviewed' }).first().waitFor({ timeout: 30_000 });
      await diff.locator('.view-line', { hasText: 'export const alpha = 1;' }).first().waitFor({ timeout: 30_000 });
      // The base side is the commit the task started from (the original first line).
      await diff.locator('.view-line', { hasText: '# Paddock demo workspace' }).filter({ hasNotText: 'reviewed' }).first().waitFor({ timeout: 30_000 });
      await wb.screenshot('tasks-04-review-changes');

      // 4. Merge alpha into the workspace's branch.
      await onTask(page, row(/^\s*alpha/), 'alpha', 'Merge...');
      const dialog = page.locator('.monaco-dialog-box');
      await dialog.waitFor();
      assert.match(await dialog.innerText(), /Merge task alpha \(1 commit\) into the branch checked out in/);
      await wb.screenshot('tasks-05-merge-confirmation');
      await dialog.locator('.monaco-button', { hasText: /^Merge$/ }).click();
      await page.locator('.notification-toast', { hasText: /Merged task alpha into main: 1 commit\(s\)/ }).waitFor({ timeout: 60_000 });
      assert.equal(readFileSync(join(ws, 'src', 'alpha.js'), 'utf8'), 'export const alpha = 1;\n');
      assert.match(git('log', '--format=%s', '-2'), /^Merge task alpha \(paddock\/alpha\)|alpha: readme and module/);
      assert.equal(git('status', '--porcelain', '--untracked-files=no'), '');
      await wb.screenshot('tasks-06-merged');

      // 5. Discard beta: its commit is on no branch of the workspace, so the first answer refuses,
      // and losing it takes a second confirmation.
      await onTask(page, row(/^\s*beta/), 'beta', 'Discard...');
      await dialog.waitFor();
      assert.match(await dialog.innerText(), /Task beta has 1 commit\(s\) that no branch, tag or remote of .* has/);
      await wb.screenshot('tasks-07-discard-refuses-unmerged');
      await dialog.locator('.monaco-button', { hasText: /^Discard Anyway\.\.\.$/ }).click();
      await page.locator('.monaco-dialog-box', { hasText: 'Discard task beta and lose' }).waitFor();
      await wb.screenshot('tasks-08-discard-second-confirmation');
      await page.locator('.monaco-dialog-box .monaco-button', { hasText: /^Discard and Lose Work$/ }).click();
      await row(/^\s*beta/).waitFor({ state: 'detached', timeout: 60_000 });
      assert.deepEqual((await tasks()).map((t) => t.name), ['alpha']);
      assert.equal(existsSync(byName.beta.path), false);
      assert.equal(git('branch', '--list', 'paddock/beta'), '');
      assert.deepEqual((await engine().docker.listContainers({ all: true, filters: { label: [`dev.paddock.task=beta`, `dev.paddock.task-source=${ws}`] } })).length, 0);
      // Its terminal went with it; alpha's stays.
      assert.ok(!(await tabs.allInnerTexts()).some((t) => / · beta$/.test(t.trim())));
      await page.mouse.move(900, 300);
      await wb.screenshot('tasks-09-beta-discarded');

      // 6. alpha is merged: one confirmation removes it.
      await onTask(page, row(/^\s*alpha/), 'alpha', 'Discard...');
      await dialog.waitFor();
      assert.match(await dialog.innerText(), /Discard task alpha\?/);
      await dialog.locator('.monaco-button', { hasText: /^Discard$/ }).click();
      await view.locator('.welcome-view-content', { hasText: 'No sandbox for this workspace yet' }).waitFor({ timeout: 60_000 });
      assert.deepEqual(await tasks(), []);
      await wb.screenshot('tasks-10-all-discarded');
    } catch (err) {
      await wb.screenshot('tasks-failure').catch(() => {});
      throw new Error(`${(err as Error).message}\n--- code-server log ---\n${wb.log().slice(-4000)}`);
    }
  });
});
