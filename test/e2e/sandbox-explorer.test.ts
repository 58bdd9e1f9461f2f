// A new user's first run, in a real VS Code (code-server 4.104) in a real Chromium: open the
// demo workspace, run the agent from the palette, see the sandbox in the tree, work in its
// terminal, stop it from the context menu, remove it. A screenshot of each step is saved under
// test-results/e2e/ (look at them: they show what each step claims).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanup, engine } from '../support/sandbox.js';
import { ARTIFACTS, chooseFromContextMenu, demoWorkspace, openWorkbench, packageExtension, runCommand, sandboxesView, terminalText, waitForTerminal, widenSideBar, type Workbench } from './support/workbench.js';

describe('VS Code: sandbox explorer, palette commands and agent terminal', { timeout: 900_000 }, () => {
  let ws: string;
  let out: string;
  let wb: Workbench;

  before(async () => {
    // Screenshots of an earlier run must not pass for this run's.
    for (const f of existsSync(ARTIFACTS) ? readdirSync(ARTIFACTS) : []) if (f.startsWith('explorer-')) rmSync(join(ARTIFACTS, f));
    out = mkdtempSync(join(tmpdir(), 'paddock-e2e-vsix-'));
    ws = demoWorkspace();
    wb = await openWorkbench(ws, packageExtension(out));
  });

  after(async () => {
    if (wb) await wb.close();
    await cleanup(ws);
    rmSync(out, { recursive: true, force: true });
  });

  it('walks through run, tree, terminal, stop and remove', async () => {
    const { page } = wb;
    try {
      // 1. The Paddock view: no sandbox yet for this workspace, with buttons to run an agent.
      await page.locator('.activitybar a[aria-label^="Paddock"]').click();
      const view = sandboxesView(page);
      await view.locator('.welcome-view-content', { hasText: 'No sandbox for this workspace yet' }).waitFor({ timeout: 60_000 });
      await widenSideBar(page);
      await wb.screenshot('explorer-01-welcome-no-sandbox');

      // The getting-started walkthrough is listed and shows its steps.
      // (Through Help's walkthrough list: opening it by id, as the welcome view's link and
      // "Paddock: Get Started" do, shows code-server's own web walkthrough instead; see README.)
      await runCommand(page, 'Welcome: Open Walkthrough...');
      await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Get started with Paddock' }).first().click();
      const walkthrough = page.locator('.gettingStartedContainer');
      await walkthrough.locator('.getting-started-step', { hasText: 'Have a Docker engine' }).first().waitFor({ timeout: 60_000 });
      for (const step of ['Run an agent', 'Decide what it cannot see', 'Verify the isolation']) {
        assert.ok(await walkthrough.locator('.getting-started-step', { hasText: step }).count(), `walkthrough step "${step}" missing`);
      }
      await wb.screenshot('explorer-01b-walkthrough');
      await runCommand(page, 'View: Close All Editors');

      // 2. Run the shell agent from the command palette (the agents themselves need an API login).
      await runCommand(page, 'Paddock: Open Shell in Sandbox');
      const sandboxRow = view.locator('.monaco-list-row', { hasText: 'Shell' }).first();
      await sandboxRow.waitFor({ timeout: 600_000 });
      await view.locator('.monaco-list-row', { hasText: /running/ }).first().waitFor({ timeout: 120_000 });
      const [sandbox] = await engine().list({ workspace: ws });
      assert.ok(sandbox, 'no sandbox was created for the workspace');
      assert.equal(sandbox.status, 'running');
      const rowText = await sandboxRow.innerText();
      assert.match(rowText, /running/);
      assert.match(rowText, /1 hidden/, `the demo's .env should be counted as hidden: ${rowText}`);
      // Its children: the hidden .env, no ports, the network policy, no bridge containers.
      await sandboxRow.locator('.monaco-tl-twistie').click();
      await view.locator('.monaco-list-row', { hasText: 'Hidden paths' }).locator('.monaco-tl-twistie').click();
      await view.locator('.monaco-list-row', { hasText: /^\s*\.env\s*$/ }).waitFor();
      await view.locator('.monaco-list-row', { hasText: 'No published ports' }).waitFor({ state: 'attached' }).catch(() => {});
      assert.ok(await view.locator('.monaco-list-row', { hasText: 'Network' }).count());
      assert.ok(await view.locator('.monaco-list-row', { hasText: 'Bridge containers' }).count());
      await page.mouse.move(900, 300);
      await wb.screenshot('explorer-02-sandbox-in-tree');

      // 3. The terminal is a TTY in the sandbox, at the host path.
      await waitForTerminal(page, /agent@paddock-shell:.*\$$/m, 120_000);
      await page.locator('.terminal-wrapper.active .xterm').first().click();
      await page.keyboard.type('pwd\n');
      // pwd's output is the host path on a line of its own (the prompt shows it too, after "agent@...:").
      await waitForTerminal(page, new RegExp(`^${ws.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
      await wb.screenshot('explorer-03-terminal-pwd-host-path');

      // 4. Home secrets are not there.
      await page.keyboard.type('ls ~/.ssh; echo "ls exit $?"\n');
      const afterLs = await waitForTerminal(page, /ls exit \d+/);
      assert.match(afterLs, /No such file or directory/);
      assert.match(afterLs, /ls exit 2/);
      await wb.screenshot('explorer-04-terminal-no-ssh');

      // 5. Verify Isolation from the context menu: checked from inside the running sandbox.
      await sandboxRow.click({ button: 'right' });
      await chooseFromContextMenu(page, 'Verify Isolation');
      const verified = page.locator('.notification-toast', { hasText: /passed all \d+ isolation checks/ });
      await verified.waitFor({ timeout: 120_000 });
      assert.match(await verified.innerText(), new RegExp(sandbox.name));
      // For the screenshot: the progress toast gone, the result toast settled.
      await page.locator('.notification-toast', { hasText: 'verifying' }).waitFor({ state: 'detached', timeout: 30_000 });
      await page.waitForTimeout(500);
      await wb.screenshot('explorer-05-verify-isolation');
      await page.keyboard.press('Escape');

      // 6. Stop from the tree's context menu; the tree follows (Docker events, no polling).
      await sandboxRow.click({ button: 'right' });
      await chooseFromContextMenu(page, 'Stop');
      await view.locator('.monaco-list-row', { hasText: /stopped/ }).first().waitFor({ timeout: 60_000 });
      assert.equal((await engine().list({ workspace: ws }))[0].status, 'stopped');
      await waitForTerminal(page, /exited with code/);
      await wb.screenshot('explorer-06-stopped-from-context-menu');

      // Start it again from the menu; clicking it opens a fresh terminal (the ended one is not reused).
      await sandboxRow.click({ button: 'right' });
      await chooseFromContextMenu(page, 'Start');
      await view.locator('.monaco-list-row', { hasText: /running/ }).first().waitFor({ timeout: 60_000 });
      await sandboxRow.click();
      let fresh = '';
      for (let i = 0; i < 300; i++) {
        fresh = await terminalText(page);
        if (!/exited with code/.test(fresh) && /agent@paddock-shell:.*\$$/m.test(fresh)) break;
        await page.waitForTimeout(200);
      }
      assert.doesNotMatch(fresh, /exited with code/, 'the ended terminal was shown instead of a new one');
      assert.match(fresh, /agent@paddock-shell:.*\$$/m);
      await wb.screenshot('explorer-06b-restarted-fresh-terminal');

      // 7. Remove (with confirmation): the tree is empty again and the container is gone.
      await sandboxRow.click({ button: 'right' });
      await chooseFromContextMenu(page, 'Remove');
      const dialog = page.locator('.monaco-dialog-box');
      await dialog.waitFor();
      assert.match(await dialog.innerText(), /workspace .* is not touched/);
      await wb.screenshot('explorer-07-remove-confirmation');
      await dialog.locator('.monaco-button', { hasText: /^Remove$/ }).click();
      await view.locator('.welcome-view-content', { hasText: 'No sandbox for this workspace yet' }).waitFor({ timeout: 60_000 });
      assert.deepEqual(await engine().list({ workspace: ws }), []);
      await wb.screenshot('explorer-08-removed');
    } catch (err) {
      await wb.screenshot('explorer-failure').catch(() => {});
      throw new Error(`${(err as Error).message}\n--- code-server log ---\n${wb.log().slice(-4000)}`);
    }
  });
});
