// The Docker-tool actions of the Sandboxes view, in a real VS Code (code-server 4.104) in a real
// Chromium, on the real engine: live CPU and memory under a sandbox; Follow Logs in a terminal; Inspect as JSON; Copy Name; Open in
// Browser on a published port; Restart; palette commands that name the sandbox and ask which one;
// a broken policy shown in the tree and status bar; Reset All's count and its safe default; and
// pruning the template images no sandbox uses. Screenshots of each step under test-results/e2e/.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanup, docker, engine, makeWorkspace, paddockOk } from '../support/sandbox.js';
import { ARTIFACTS, chooseFromContextMenu, openWorkbench, packageExtension, runCommand, sandboxesView, waitForTerminal, widenSideBar, type Workbench } from './support/workbench.js';

const SETTINGS = `{
  "permissions": { "deny": ["Read(./config/app.secret)"] }
}
`;

describe('VS Code: Docker-tool actions on a sandbox', { timeout: 1_500_000 }, () => {
  let ws: string;
  let out: string;
  let wb: Workbench;
  const tag = `e2eprune${process.pid}`;
  const second = `paddock-e2e-second-${process.pid}`;
  // A host port nobody else uses in this run (the sandbox publishes it to its port 8080).
  const hostPort = 20000 + (process.pid % 20000);

  before(async () => {
    for (const f of existsSync(ARTIFACTS) ? readdirSync(ARTIFACTS) : []) if (f.startsWith('docker-')) rmSync(join(ARTIFACTS, f));
    out = mkdtempSync(join(tmpdir(), 'paddock-e2e-vsix-'));
    ws = makeWorkspace({ '.paddock/policy.yaml': 'version: 1\n', '.claude/settings.json': SETTINGS, 'src/index.ts': 'export {};\n' }, 'paddock-e2e-docker-');
    // Two template images of a template of this test's own (made and removed here): the older is unused, the newer is kept as the newest.
    const context = mkdtempSync(join(tmpdir(), 'paddock-e2e-image-'));
    writeFileSync(join(context, 'Dockerfile'), 'FROM debian:bookworm-slim\n');
    for (const version of ['old', 'new']) {
      if (version === 'new') await new Promise((r) => setTimeout(r, 1100)); // image times are in whole seconds: the newer must be newer
      const build = docker(['build', '-q', '-t', `paddock-${tag}:${version}`, '--label', `dev.paddock.template=${tag}`, '--label', `e2e.version=${version}`, context]);
      assert.equal(build.code, 0, build.stderr);
    }
    rmSync(context, { recursive: true, force: true });
    wb = await openWorkbench(ws, packageExtension(out), { 'files.autoSave': 'off' });
    await wb.page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  });

  after(async () => {
    if (wb) await wb.close();
    if (ws) await cleanup(ws);
    docker(['rm', '-f', second]);
    docker(['rmi', `paddock-${tag}:old`, `paddock-${tag}:new`]);
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('acts on a sandbox as a Docker tool does, and says what it does', async () => {
    const { page } = wb;
    const toast = (text: string | RegExp) => page.locator('.notification-toast', { hasText: text }).first();
    try {
      // A sandbox with a published port (made by the CLI; the view follows the engine's events).
      await paddockOk(['create', 'shell', ws, '-p', `${hostPort}:8080`], { timeoutMs: 900_000 });
      const [sandbox] = await engine().list({ workspace: ws });
      assert.ok(sandbox, 'the CLI made the sandbox');

      // 2. Live CPU and memory under the running sandbox, while the view is visible.
      await page.locator('.activitybar a[aria-label^="Paddock"]').click({ force: true }); // the running-sandbox badge sits over the icon
      const view = sandboxesView(page);
      await widenSideBar(page);
      const row = view.locator('.monaco-list-row', { hasText: 'Shell' }).first();
      await row.waitFor({ timeout: 120_000 });
      await view.locator('.monaco-list-row', { hasText: /running/ }).first().waitFor({ timeout: 120_000 });
      await row.click();
      await page.keyboard.press('ArrowRight');
      const usage = view.locator('.monaco-list-row', { hasText: /CPU [\d.]+% · [\d.]+ [KMG]iB \/ 4 GiB/ }).first();
      await usage.waitFor({ timeout: 60_000 });
      await wb.screenshot('docker-02-live-cpu-memory');

      // 3. Follow Logs: the sandbox's log in a terminal of its own.
      await row.click({ button: 'right' });
      await chooseFromContextMenu(page, 'Follow Logs');
      await page.locator('.terminal-tabs-entry, .single-terminal-tab', { hasText: `Logs: ${sandbox.name}` }).first().waitFor({ timeout: 30_000 }).catch(() => {});
      await waitForTerminal(page, /paddock: ready/, 60_000);
      await wb.screenshot('docker-03-follow-logs');

      // 4. Inspect: the container's JSON in a read-only editor.
      await row.click({ button: 'right' });
      await chooseFromContextMenu(page, 'Inspect');
      await page.locator('.tab.active', { hasText: `${sandbox.name}.json` }).waitFor({ timeout: 30_000 });
      await page.locator('.view-line', { hasText: `"Id": "${sandbox.id}"` }).first().waitFor({ timeout: 30_000 });
      await wb.screenshot('docker-04-inspect-json');

      // 5. Copy Name: on the clipboard, and said in the status bar.
      await row.click({ button: 'right' });
      await chooseFromContextMenu(page, 'Copy Name');
      await page.locator('.statusbar', { hasText: `Copied the sandbox name: ${sandbox.name}` }).waitFor({ timeout: 10_000 });
      assert.equal(await page.evaluate('navigator.clipboard.readText()'), sandbox.name);
      await wb.screenshot('docker-05-copy-name');

      // 6. Open in Browser on the published port.
      await view.locator('.monaco-list-row', { hasText: 'Ports' }).first().click();
      await page.keyboard.press('ArrowRight');
      const portRow = view.locator('.monaco-list-row', { hasText: `:${hostPort} → 8080/tcp` }).first();
      await portRow.waitFor({ timeout: 30_000 });
      const popup = page.context().waitForEvent('page', { timeout: 30_000 });
      await portRow.click({ button: 'right' });
      await chooseFromContextMenu(page, 'Open in Browser');
      const opened = await popup;
      assert.match(opened.url(), new RegExp(`${hostPort}`), `the browser opened the published port (${opened.url()})`);
      await opened.close();
      await wb.screenshot('docker-06-open-in-browser');

      // 7. The palette says what it acts on; with one candidate it acts on it (Restart).
      const startedBefore = (await engine().get(sandbox.id)).startedAt;
      await runCommand(page, 'Paddock: Restart Sandbox...');
      await toast(`${sandbox.name} restarted`).waitFor({ timeout: 180_000 });
      assert.notEqual((await engine().get(sandbox.id)).startedAt, startedBefore, 'the sandbox started again');
      await wb.screenshot('docker-07-restart-from-palette');

      // With several it asks which one; with none it says so.
      // (A workspace has one sandbox per agent: the second is another agent's.)
      await paddockOk(['create', 'gemini', ws, '--name', second], { timeoutMs: 900_000 });
      await paddockOk(['start', second]);
      await view.locator('.monaco-list-row', { hasText: /running/ }).nth(1).waitFor({ timeout: 120_000 });
      await runCommand(page, 'Paddock: Stop Sandbox...');
      const pick = page.locator('.quick-input-widget');
      await pick.locator('.monaco-list-row', { hasText: second }).waitFor({ timeout: 30_000 });
      assert.equal(await pick.locator('.monaco-list-row', { hasText: sandbox.name }).count(), 1, 'both sandboxes offered');
      assert.match(await pick.locator('.quick-input-box input').getAttribute('placeholder') ?? '', /Sandbox to stop/);
      await wb.screenshot('docker-08-palette-asks-which');
      await page.keyboard.press('Escape');
      await runCommand(page, 'Paddock: Start Sandbox...');
      await toast(/no sandbox to start/).waitFor({ timeout: 30_000 });
      await wb.screenshot('docker-09-palette-none-to-start');

      // 8. A broken policy: the bridge's state shows in the tree and the status bar.
      const policyFile = join(ws, '.paddock/policy.yaml');
      const policy = readFileSync(policyFile, 'utf8');
      writeFileSync(policyFile, `${policy}bridge: [unclosed\n`);
      await page.locator('.statusbar-item', { hasText: 'policy broken' }).waitFor({ timeout: 60_000 });
      // (the tree follows the file a moment after the status bar)
      await view.locator('.monaco-list-row', { hasText: /Bridge containers[\s\S]*policy file broken/ }).first().waitFor({ timeout: 30_000 });
      await wb.screenshot('docker-10-broken-policy-visible');
      writeFileSync(policyFile, policy);
      await page.locator('.statusbar-item', { hasText: 'policy broken' }).waitFor({ state: 'detached', timeout: 60_000 });

      // 9. Reset All counts what it removes, names other folders' sandboxes, and Enter does not remove.
      const dialog = page.locator('.monaco-dialog-box');
      await runCommand(page, 'Paddock: Reset All');
      await dialog.waitFor({ timeout: 30_000 });
      const text = await dialog.innerText();
      const total = Number(/Remove all (\d+) Paddock sandboxes/.exec(text)?.[1]);
      const others = Number(/(\d+) of them belong to other folders/.exec(text)?.[1] ?? 0);
      assert.equal(total - others, 2, `this window's two sandboxes are counted apart from other folders': ${text}`);
      await wb.screenshot('docker-11-reset-all-confirm');
      const focused = String(await page.evaluate('document.activeElement?.innerText ?? ""'));
      assert.equal(focused.trim(), 'Show Them', 'the default (focused) button is not the destructive one');
      await page.keyboard.press('Enter');
      await dialog.waitFor({ state: 'detached', timeout: 10_000 });
      assert.equal((await engine().list({ workspace: ws })).length, 2, 'Enter removed nothing');

      // 10. Prune: only unused template images, counted before they go; the newest of a template stays.
      const images = () => docker(['images', '--format', '{{.Repository}}:{{.Tag}}', `paddock-${tag}`]).stdout.split('\n').filter(Boolean).sort();
      assert.deepEqual(images(), [`paddock-${tag}:new`, `paddock-${tag}:old`]);
      await runCommand(page, 'Paddock: Prune Unused Template Images...');
      const mine = pick.locator('.monaco-list-row', { hasText: `paddock-${tag}:old` });
      await mine.waitFor({ timeout: 60_000 });
      assert.equal(await pick.locator('.monaco-list-row', { hasText: `paddock-${tag}:new` }).count(), 0, 'the newest image of a template is not offered');
      await wb.screenshot('docker-12-prune-pick');
      // Only this test's image: the engine is shared, so everything else is unchecked.
      await pick.locator('.quick-input-header .monaco-checkbox').first().click(); // toggle all (off)
      await mine.locator('.monaco-checkbox, input[type=checkbox]').first().click();
      await page.keyboard.press('Enter');
      await dialog.waitFor({ timeout: 30_000 });
      assert.match(await dialog.innerText(), /Remove 1 unused template image/);
      await wb.screenshot('docker-13-prune-confirm');
      await dialog.locator('.monaco-button', { hasText: 'Remove Image' }).click();
      await toast(/removed 1 template image/).waitFor({ timeout: 60_000 });
      assert.deepEqual(images(), [`paddock-${tag}:new`], 'the unused image is gone, the newest stays');
      await wb.screenshot('docker-14-pruned');
    } catch (err) {
      await wb.screenshot('docker-failure').catch(() => {});
      throw new Error(`${(err as Error).message}\n--- code-server log ---\n${wb.log().slice(-4000)}`);
    }
  });
});
