// Long work shows a cancellable notification and streams its log to the Paddock output channel:
// a template build (forced by a base image the engine has never built from) is cancelled from the
// notification, and nothing is left half-made: no sandbox, no terminal, no template image, no
// build container.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { docker, engine } from '../support/sandbox.js';
import { demoWorkspace, runCommand } from './support/workbench.js';
import { useWorkbench } from './support/session.js';

describe('VS Code: cancelling a template build from its progress notification', { timeout: 900_000 }, () => {
  const baseTag = `paddock-e2e-base:cancel-${process.pid}`;
  let dir: string;
  const session = useWorkbench({
    screenshots: 'cancel',
    workspace: () => {
      // A base image no template was built from (templates are keyed by the base image's id), so
      // the first run must build the base template: a label-only derivative of the local Debian image.
      dir = mkdtempSync(join(tmpdir(), 'paddock-e2e-cancel-'));
      writeFileSync(join(dir, 'Dockerfile'), `FROM debian:bookworm-slim\nLABEL dev.paddock.e2e-cancel=${process.pid}-${Date.now()}\n`);
      const built = docker(['build', '-q', '-t', baseTag, dir]);
      assert.equal(built.code, 0, built.stderr);
      return demoWorkspace();
    },
    settings: () => ({ 'paddock.baseImage': baseTag }),
  });

  after(() => {
    // -f: a cancelled build may still hold the image for a moment.
    docker(['rmi', '-f', baseTag]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('stops the build, creates nothing, and keeps the log', async () => {
    const { wb, ws } = session;
    const { page } = wb;
    try {
      await page.locator('.activitybar a[aria-label^="Paddock"]').click({ force: true }); // the running-sandbox badge sits over the icon
      await runCommand(page, 'Paddock: Open Shell in Sandbox');
      const toast = page.locator('.notification-toast', { hasText: 'Paddock: preparing the Shell sandbox' });
      await toast.waitFor({ timeout: 60_000 });
      // The notification follows the build's steps.
      await toast.locator('.notification-list-item-message', { hasText: /Building template base|Step \d+\/\d+/ }).waitFor({ timeout: 120_000 });
      await wb.screenshot('cancel-01-build-in-progress');
      await toast.hover();
      await toast.getByRole('button', { name: 'Cancel' }).click();
      await toast.waitFor({ state: 'detached', timeout: 60_000 });

      // Nothing half-made: no sandbox for the workspace, no terminal.
      assert.deepEqual(await engine().list({ workspace: ws }), []);
      assert.equal(await page.locator('.terminal-wrapper.active').count(), 0, 'a terminal opened for a cancelled run');

      // The log of the build is in the Paddock output channel.
      await runCommand(page, 'Output: Show Output Channels...');
      await page.locator('.quick-input-widget .monaco-list-row', { hasText: /^Paddock$/ }).first().click();
      const output = page.locator('.part.panel .monaco-editor .view-lines').first();
      // Monaco renders spaces as non-breaking spaces.
      const read = async () => (await output.innerText()).replace(/\u00a0/g, ' ');
      for (let i = 0; i < 150 && !/Cancelled/.test(await read()); i++) await page.waitForTimeout(200);
      assert.match(await read(), /Cancelled/);
      // The view renders only the lines on screen, so the whole log is read from the file VS Code keeps.
      const text = wb.outputChannel('Paddock');
      // The template image it was building does not exist, and its build step's container is gone.
      const tag = /Building template base → (paddock-base:[0-9a-f]+)/.exec(text)?.[1];
      assert.ok(tag, `no build in the log:\n${text}`);
      assert.notEqual(docker(['image', 'inspect', tag]).code, 0, `${tag} was built despite the cancel`);
      const step = /Running in ([0-9a-f]{12})/.exec(text)?.[1];
      if (step) {
        for (let i = 0; i < 150 && docker(['container', 'inspect', step]).code === 0; i++) await page.waitForTimeout(200);
        assert.notEqual(docker(['container', 'inspect', step]).code, 0, `the build container ${step} is still there`);
      }
      await wb.screenshot('cancel-02-cancelled-log');
    } catch (err) {
      await wb.screenshot('cancel-failure').catch(() => {});
      throw new Error(`${(err as Error).message}\n--- code-server log ---\n${wb.log().slice(-3000)}`);
    }
  });
});
