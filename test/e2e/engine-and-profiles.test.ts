// The editor follows Docker, not the other way round: with no engine the view says what to do
// and recovers on its own when the engine comes back; a sandbox made by the CLI appears without
// a refresh; terminal profiles attach to the same sandbox; paths in its output open host files;
// the status bar offers the actions; Reset All asks, then removes every sandbox on the engine.
// The engine "restarts" through a loopback socket proxy that the test controls
// (paddock.dockerHost points at it), so the shared engine is never stopped.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EngineProxy } from '../support/engine-proxy.js';
import { cleanup, engine, paddockOk } from '../support/sandbox.js';
import { ARTIFACTS, demoWorkspace, openWorkbench, packageExtension, runCommand, sandboxesView, settledBoxes, terminalText, waitForTerminal, widenSideBar, type Workbench } from './support/workbench.js';

describe('VS Code: engine loss and recovery, CLI-made sandboxes, terminal profiles, links, status bar, Reset All', { timeout: 900_000 }, () => {
  let ws: string;
  let dir: string;
  let proxy: EngineProxy;
  let wb: Workbench;

  before(async () => {
    for (const f of existsSync(ARTIFACTS) ? readdirSync(ARTIFACTS) : []) if (f.startsWith('engine-')) rmSync(join(ARTIFACTS, f));
    dir = mkdtempSync(join(tmpdir(), 'paddock-e2e-engine-'));
    proxy = new EngineProxy(join(dir, 'docker.sock'));
    ws = demoWorkspace();
    // The engine is "down" when the editor starts.
    wb = await openWorkbench(ws, packageExtension(dir), { 'paddock.dockerHost': proxy.host });
  });

  after(async () => {
    if (wb) await wb.close();
    await proxy.down().catch(() => {});
    await cleanup(ws);
    rmSync(dir, { recursive: true, force: true });
  });

  it('recovers from a lost engine, shows CLI-made sandboxes, attaches profiles to the same sandbox, and resets all after asking', async () => {
    const { page } = wb;
    const view = sandboxesView(page);
    const statusItem = page.locator('.statusbar-item', { hasText: 'Paddock' }).first();
    try {
      // 1. No engine: the view says what to do; the status bar says it too.
      await page.locator('.activitybar a[aria-label^="Paddock"]').click({ force: true }); // the running-sandbox badge sits over the icon
      await widenSideBar(page);
      await view.locator('.welcome-view-content', { hasText: 'No Docker engine answers' }).waitFor({ timeout: 60_000 });
      assert.match(await view.innerText(), /Retry/);
      assert.match(await statusItem.innerText(), /no Docker engine/);
      await wb.screenshot('engine-01-no-engine');

      // 2. The engine comes up: the view recovers by itself (no click on Retry).
      await proxy.up();
      await view.locator('.welcome-view-content', { hasText: 'No sandbox for this workspace yet' }).waitFor({ timeout: 60_000 });
      await wb.screenshot('engine-02-engine-back');

      // 3. A sandbox made with the CLI shows up, driven by Docker events (no refresh clicked).
      const name = (await paddockOk(['create', 'shell', ws])).stdout.trim();
      const row = view.locator('.monaco-list-row', { hasText: 'Shell' }).first();
      await view.locator('.monaco-list-row', { hasText: /running/ }).first().waitFor({ timeout: 60_000 });
      await page.locator('.statusbar-item', { hasText: 'Paddock: shell running' }).waitFor({ timeout: 30_000 });
      await wb.screenshot('engine-03-cli-sandbox-appears');

      // 4. The engine goes away and comes back: the sandbox is still there (Docker holds the state).
      await proxy.down();
      await view.locator('.welcome-view-content', { hasText: 'No Docker engine answers' }).waitFor({ timeout: 60_000 });
      await proxy.up();
      await row.waitFor({ timeout: 60_000 });
      assert.match(await row.innerText(), /running/);
      await wb.screenshot('engine-04-sandbox-after-engine-restart');

      // 5. The terminal profile "Shell (sandboxed)" in the terminal's + menu attaches to that same sandbox.
      await runCommand(page, 'Terminal: Create New Terminal');
      // The panel's "Launch Profile..." dropdown; right after the panel opens a click can land
      // before the menu is wired, so open it until the entry shows.
      // The menu can also close again before its entry is used (a notification taking focus): then too.
      const profileEntry = page.locator('.context-view .monaco-menu').getByRole('menuitem', { name: 'Shell (sandboxed)', exact: true });
      for (let attempt = 1; ; attempt++) {
        await page.locator('[aria-label^="Launch Profile"]').first().click();
        const chosen = await profileEntry.waitFor({ timeout: 5_000 })
          .then(() => profileEntry.hover({ timeout: 5_000 }))
          .then(() => profileEntry.press('Enter', { timeout: 5_000 }))
          .then(() => true, () => false);
        if (chosen) break;
        if (attempt === 5) throw new Error('The terminal\'s Launch Profile menu never offered "Shell (sandboxed)" long enough to choose it.');
        await page.keyboard.press('Escape');
      }
      // Two terminals now (the host bash and ours): pick ours in the tabs list.
      await page.locator('.monaco-list-row', { hasText: 'Shell (sandboxed)' }).first().click();
      await waitForTerminal(page, /agent@paddock-shell:.*\$$/m, 120_000);
      await page.locator('.terminal-wrapper.active .xterm').first().click();
      await page.keyboard.type('echo "sandbox=$PADDOCK_SANDBOX"; echo "$PWD/src/greet.js"\n');
      await waitForTerminal(page, new RegExp(`^sandbox=${name}$`, 'm'));
      await waitForTerminal(page, /^\/tmp\/paddock-e2e-demo-[^/]+\/src\/greet\.js$/m);
      await wb.screenshot('engine-05-profile-terminal-same-sandbox');

      // 6. The host path in the output is a link to the host file (paths match inside and out).
      const text = await terminalText(page);
      const lineIndex = text.split('\n').findIndex((l) => /^\/tmp\/paddock-e2e-demo-[^/]+\/src\/greet\.js$/.test(l));
      const rowEl = page.locator('.terminal-wrapper.active .xterm-rows > div').nth(lineIndex);
      const [box] = await settledBoxes(page, rowEl);
      // The terminal finds its links after the hover, on its own time: a click before that opens nothing, and is made again.
      const tab = page.locator('.tabs-container .tab', { hasText: 'greet.js' });
      for (let attempt = 1; ; attempt++) {
        await rowEl.hover({ position: { x: 40, y: box.height / 2 }, force: true });
        await rowEl.click({ position: { x: 40, y: box.height / 2 }, modifiers: ['ControlOrMeta'], force: true });
        if (await tab.waitFor({ timeout: 10_000 }).then(() => true, () => false)) break;
        if (attempt === 3) throw new Error('A Ctrl+click on the host path in the terminal opened no editor in three tries.');
      }
      // The editor shows the host file's content (rendered a moment after the tab appears).
      await page.locator('.editor-instance .view-lines', { hasText: 'module.exports' }).first().waitFor({ timeout: 30_000 });
      await wb.screenshot('engine-06-link-opens-host-file');

      // 7. The status bar item offers the actions for this workspace's sandbox.
      await statusItem.click();
      const actions = page.locator('.quick-input-widget');
      await actions.locator('.monaco-list-row', { hasText: 'Open Terminal: shell' }).waitFor({ timeout: 30_000 });
      assert.match(await actions.innerText(), /Stop shell/);
      await wb.screenshot('engine-07-status-bar-actions');
      await page.keyboard.press('Escape');

      // 8. Reset All asks first (a modal): Cancel keeps everything; Remove All removes every
      // sandbox on the engine and leaves the workspace's files alone.
      const files = readdirSync(ws).sort();
      const dialog = page.locator('.monaco-dialog-box');
      await runCommand(page, 'Paddock: Reset All');
      await dialog.waitFor({ timeout: 30_000 });
      assert.match(await dialog.innerText(), /Remove (the one Paddock sandbox|all \d+ Paddock sandboxes) on this engine\?/);
      await wb.screenshot('engine-08-reset-all-confirm');
      await dialog.locator('.monaco-button', { hasText: 'Cancel' }).click();
      await dialog.waitFor({ state: 'detached', timeout: 10_000 });
      assert.ok((await engine().list({ workspace: ws })).length > 0, 'Cancel removed nothing');
      await runCommand(page, 'Paddock: Reset All');
      await dialog.waitFor({ timeout: 30_000 });
      await dialog.locator('.monaco-button', { hasText: 'Remove All' }).click();
      await view.locator('.welcome-view-content', { hasText: 'No sandbox for this workspace yet' }).waitFor({ timeout: 120_000 });
      assert.deepEqual(await engine().list(), [], 'no sandbox left on the engine');
      assert.deepEqual(readdirSync(ws).sort(), files, 'the workspace is untouched');
      await wb.screenshot('engine-09-reset-all-done');
    } catch (err) {
      await wb.screenshot('engine-failure').catch(() => {});
      throw new Error(`${(err as Error).message}\n--- code-server log ---\n${wb.log().slice(-4000)}`);
    }
  });
});
