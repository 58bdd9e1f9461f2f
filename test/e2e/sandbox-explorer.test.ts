// A new user's first run, in a real VS Code (code-server 4.104) in a real Chromium: open the
// demo workspace, run the agent from the palette, see the sandbox in the tree, work in its
// terminal, stop it from the context menu, remove it. A screenshot of each step is saved under
// test-results/e2e/ (look at them: they show what each step claims).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { docker, engine, OWNER } from '../support/sandbox.js';
import { chooseFromMenuOf, demoWorkspace, runCommand, terminalText, waitForTerminal } from './support/workbench.js';
import { openPaddockView, useWorkbench } from './support/session.js';

describe('VS Code: sandbox explorer, palette commands and agent terminal', { timeout: 900_000 }, () => {
  // A stand-in for a compose project of the workspace: one container with compose's labels (made and removed here).
  const shop = `e2eshop${process.pid}`;
  const session = useWorkbench({
    screenshots: 'explorer',
    workspace: () => {
      const ws = demoWorkspace('version: 1\n');
      // The demo's .env is committed, as in many real projects: hidden, but `git show` would read it.
      const git = (...args: string[]) => spawnSync('git', ['-C', ws, '-c', 'safe.directory=*', '-c', 'user.name=e2e', '-c', 'user.email=e2e@example.invalid', ...args]);
      git('init', '-q');
      git('add', '-A');
      git('commit', '-qm', 'demo with its .env');
      spawnSync('chown', ['-R', `${OWNER.uid}:${OWNER.gid}`, ws]);
      const run = docker(['run', '-d', '--name', `${shop}-api-1`, '--network', 'none', '--label', `com.docker.compose.project=${shop}`, '--label', 'com.docker.compose.service=api',
        '--label', `com.docker.compose.project.working_dir=${ws}`, 'debian:bookworm-slim', 'sleep', '900']);
      assert.equal(run.code, 0, run.stderr);
      return ws;
    },
  });

  after(() => {
    docker(['rm', '-f', `${shop}-api-1`]);
  });

  it('walks through run, tree, terminal, stop and remove', async () => {
    const { wb, ws } = session;
    const { page } = wb;
    try {
      // 1. The Paddock view: no sandbox yet for this workspace, with buttons to run an agent.
      const view = await openPaddockView(page);
      await view.locator('.welcome-view-content', { hasText: 'No sandbox for this workspace yet' }).waitFor({ timeout: 60_000 });
      await wb.screenshot('explorer-01-welcome-no-sandbox');

      // "Paddock: Get Started" opens Paddock's walkthrough on its first call (a fresh profile
      // used to show code-server's own), with the steps already done ticked: the engine answers
      // and the workspace has a policy file; no agent has run yet.
      await runCommand(page, 'Paddock: Get Started');
      const walkthrough = page.locator('.gettingStartedContainer');
      await walkthrough.locator('.getting-started-step', { hasText: 'Have a Docker engine' }).first().waitFor({ timeout: 60_000 });
      for (const step of ['Run an agent', 'Decide what it cannot see', 'Verify the isolation']) {
        assert.ok(await walkthrough.locator('.getting-started-step', { hasText: step }).count(), `walkthrough step "${step}" missing`);
      }
      const tick = (step: string) => walkthrough.locator(`[data-done-step-id="paddock.paddock#paddock.gettingStarted#${step}"]`).first();
      for (const step of ['engine', 'policy']) await tick(step).and(page.locator('[aria-checked="true"]')).waitFor({ timeout: 30_000 });
      for (const step of ['run', 'verify']) assert.equal(await tick(step).getAttribute('aria-checked'), 'false', `step ${step} is ticked before it was done`);
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
      await view.locator('.monaco-list-row', { hasText: /^\s*\.env($|exposed through git)/ }).waitFor();
      await view.locator('.monaco-list-row', { hasText: 'No published ports' }).waitFor({ state: 'attached' }).catch(() => {});
      assert.ok(await view.locator('.monaco-list-row', { hasText: 'Network' }).count());
      assert.ok(await view.locator('.monaco-list-row', { hasText: 'Bridge containers' }).count());
      await page.mouse.move(900, 300);
      await wb.screenshot('explorer-02-sandbox-in-tree');
      const row = (text: string | RegExp) => view.locator('.monaco-list-row', { hasText: text }).first();
      const expand = async (text: string | RegExp) => {
        const r = row(text);
        if ((await r.getAttribute('aria-expanded')) !== 'true') await r.locator('.monaco-tl-twistie').click();
      };

      // 2b. The committed .env is "exposed through git" (the drift analysis says so), not a lock.
      await row(/\.env\s*exposed through git/).waitFor({ timeout: 60_000 });
      assert.match(await row('Hidden paths').innerText(), /1 · 1 exposed through git/);
      await wb.screenshot('explorer-02b-hidden-but-in-git');

      // 2c. Network shows the proxy's rules; a rule only the file has is marked, until applied.
      await expand(/^\s*Network/);
      await row(/api\.anthropic\.com\s*allowed\s*$/).waitFor({ timeout: 30_000 });
      writeFileSync(join(ws, '.paddock', 'policy.yaml'), 'version: 1\nnetwork:\n  deny: ["e2e-denied.example.com"]\n');
      await row(/e2e-denied\.example\.com\s*in the file, not in force — apply/).waitFor({ timeout: 30_000 });
      assert.match(await row(/^\s*Network/).innerText(), /deny by default · 1 differs from the file/);
      await page.mouse.move(900, 300);
      await wb.screenshot('explorer-02c-network-file-not-in-force');
      // Applying it (the question a change on disk raises) puts it in force; the tree follows the rules file.
      const ask = page.locator('.notification-toast', { hasText: /policy/i }).filter({ has: page.locator('.monaco-button', { hasText: /^Apply$/ }) });
      await ask.locator('.monaco-button', { hasText: /^Apply$/ }).click({ timeout: 30_000 });
      await row(/e2e-denied\.example\.com\s*denied\s*$/).waitFor({ timeout: 30_000 });
      assert.doesNotMatch(await row(/^\s*Network/).innerText(), /differ/);
      await wb.screenshot('explorer-02d-network-applied');

      // 2e. Bridge containers: none reached; it says how to add some and offers the workspace's compose project.
      // (Network, expanded, pushes it below the view's visible rows, which are the only ones on the page.)
      const network = row(/^\s*Network/);
      if ((await network.getAttribute('aria-expanded')) === 'true') await network.locator('.monaco-tl-twistie').click();
      await expand('Bridge containers');
      await row('No reachable containers').waitFor();
      const offer = row(`Add compose project "${shop}"`);
      await offer.waitFor({ timeout: 30_000 });
      await wb.screenshot('explorer-02e-bridge-empty-offers-compose');
      await offer.click();
      await row(`${shop}-api-1`).waitFor({ timeout: 30_000 });
      assert.match(await row('Bridge containers').innerText(), /Bridge containers\s*1/);
      await wb.screenshot('explorer-02f-bridge-reaches-compose-project');

      // 2g. Enter / double click on a hidden path reveals it in the explorer (a single click only selects).
      await expand('Hidden paths');
      await row(/^\s*\.env/).dblclick();
      const explorerRow = page.locator('.explorer-folders-view .monaco-list-row.selected', { hasText: '.env' });
      await explorerRow.waitFor({ timeout: 30_000 });
      await wb.screenshot('explorer-02g-hidden-path-revealed');
      // Back to the Paddock view (its icon's label now carries the running count).
      await page.locator('.activitybar a[aria-label^="Paddock"]').click({ force: true });
      await view.waitFor();

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
      await chooseFromMenuOf(page, sandboxRow, 'Verify Isolation');
      const verified = page.locator('.notification-toast', { hasText: /passed all \d+ isolation checks/ });
      await verified.waitFor({ timeout: 120_000 });
      assert.match(await verified.innerText(), new RegExp(sandbox.name));
      // For the screenshot: the progress toast gone, the result toast settled.
      await page.locator('.notification-toast', { hasText: 'verifying' }).waitFor({ state: 'detached', timeout: 30_000 });
      await page.waitForTimeout(500);
      await wb.screenshot('explorer-05-verify-isolation');
      await page.keyboard.press('Escape');

      // 5b. A secret that appears while the sandbox runs: its guard freezes it at once, and the window
      // resumes it (a new container that hides the file, state kept) and says so; the row counts it.
      writeFileSync(join(ws, 'late.pem'), '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n');
      const resumed = page.locator('.notifications-toasts .notification-toast', { hasText: 'late.pem appeared in the workspace' });
      await resumed.first().waitFor({ timeout: 120_000 });
      assert.match(await resumed.first().innerText(), /then applied: a new container hides it, with the sandbox's state kept/);
      await view.locator('.monaco-list-row', { hasText: /running .*· 2 hidden/ }).first().waitFor({ timeout: 120_000 });
      const [now] = await engine().list({ workspace: ws });
      assert.equal((await engine().execCapture(now.id, ['cat', join(ws, 'late.pem')])).stdout, '', 'late.pem is hidden in the new container');
      await page.mouse.move(900, 300);
      await wb.screenshot('explorer-05b-new-secret-resumed');
      // The agent's session ended with the old container: a new terminal, as a user would open one.
      await chooseFromMenuOf(page, sandboxRow, 'Open Terminal');
      await waitForTerminal(page, /agent@paddock-shell:.*\$$/m, 120_000);

      // 6. Stop from the tree's context menu; the tree follows (Docker events, no polling).
      await chooseFromMenuOf(page, sandboxRow, 'Stop');
      // The shell is attached in a terminal: Stop asks first (network-view.test.ts covers Cancel).
      await page.locator('.monaco-dialog-box .monaco-button', { hasText: /^Stop$/ }).click({ timeout: 10_000 });
      await view.locator('.monaco-list-row', { hasText: /stopped/ }).first().waitFor({ timeout: 60_000 });
      assert.equal((await engine().list({ workspace: ws }))[0].status, 'stopped');
      await waitForTerminal(page, /The sandbox was stopped/);
      await wb.screenshot('explorer-06-stopped-from-context-menu');

      // Start it again from the menu. A single click only selects the row: no agent starts.
      await chooseFromMenuOf(page, sandboxRow, 'Start');
      await view.locator('.monaco-list-row', { hasText: /running/ }).first().waitFor({ timeout: 60_000 });
      await sandboxRow.click();
      await page.waitForTimeout(3000);
      assert.match(await terminalText(page), /The sandbox was stopped/, 'a click on the row opened a terminal');
      assert.match(await sandboxRow.getAttribute('class') ?? '', /selected/);
      await wb.screenshot('explorer-06a-click-only-selects');
      // "Open Terminal" opens a fresh terminal (the ended one is not reused).
      await chooseFromMenuOf(page, sandboxRow, 'Open Terminal');
      let fresh = '';
      for (let i = 0; i < 300; i++) {
        fresh = await terminalText(page);
        if (!/sandbox was stopped/.test(fresh) && /agent@paddock-shell:.*\$$/m.test(fresh)) break;
        await page.waitForTimeout(200);
      }
      assert.doesNotMatch(fresh, /sandbox was stopped/, 'the ended terminal was shown instead of a new one');
      assert.match(fresh, /agent@paddock-shell:.*\$$/m);
      await wb.screenshot('explorer-06b-restarted-fresh-terminal');

      // 7. Remove (with confirmation): the tree is empty again and the container is gone.
      await chooseFromMenuOf(page, sandboxRow, 'Remove');
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
