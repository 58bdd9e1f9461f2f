// Questions about unknown hosts in a real VS Code (code-server 4.104) in a real Chromium: a sandbox
// made by the CLI asks for a host no rule names; the extension shows a notification naming the
// sandbox, its agent and the host; the tree marks the sandbox; "Always allow" writes the policy (its
// comments kept) and the next request passes. The "internet" is the test's own --internal network
// (tests never reach real hosts). Screenshots under test-results/e2e/.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadPolicy } from '../../src/core/policy.js';
import { cleanup, makeWorkspace, paddock, paddockOk } from '../support/sandbox.js';
import { useLocalInternet, type LocalInternet } from '../integration/network/support.js';
import { ARTIFACTS, openWorkbench, packageExtension, sandboxesView, widenSideBar, type Workbench } from './support/workbench.js';

const POLICY = (a: string, b: string) => [
  '# Team policy: keep this comment.',
  'version: 1',
  'network:',
  '  policy: deny',
  '  # The local internet\'s addresses (names still need a rule of their own).',
  `  allow: ["${a}", "${b}"]   # test servers`,
  '  hostRegistries: false',
  '',
].join('\n');

describe('VS Code: questions about unknown hosts', { timeout: 900_000 }, () => {
  let net: LocalInternet & { stateDir: string };
  let ws: string;
  let out: string;
  let sb: string;
  let wb: Workbench;
  const status = async (host: string) => (await paddock(['exec', sb, '--', 'curl', '-s', '-m', '10', '-o', '/dev/null', '-w', '%{http_code}', `http://${host}/`])).stdout;

  before(async () => {
    for (const f of existsSync(ARTIFACTS) ? readdirSync(ARTIFACTS) : []) if (f.startsWith('questions-')) rmSync(join(ARTIFACTS, f));
    // The CLI and code-server's extension host share the proxy folders and the test network (environment).
    net = await useLocalInternet('paddock-e2e-questions-');
    out = mkdtempSync(join(tmpdir(), 'paddock-e2e-vsix-'));
    ws = makeWorkspace({ '.paddock/policy.yaml': POLICY(net.a, net.b) });
    sb = (await paddockOk(['create', 'shell', ws])).stdout.trim();
    wb = await openWorkbench(ws, packageExtension(out));
  });

  after(async () => {
    if (wb) await wb.close();
    if (ws) await cleanup(ws);
    net?.stop();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('a denied request raises the question; Always allow writes the policy with its comments, and the next request passes', async () => {
    const { page } = wb;
    try {
      await page.locator('.activitybar a[aria-label^="Paddock"]').click({ timeout: 120_000, force: true }); // the running-sandbox badge sits over the icon
      const view = sandboxesView(page);
      const row = view.locator('.monaco-list-row', { hasText: 'Shell' }).first();
      // A loaded machine (several e2e runs at once) can take minutes for the first listing.
      await row.waitFor({ timeout: 300_000 });
      await view.locator('.monaco-list-row', { hasText: /running/ }).first().waitFor({ timeout: 120_000 });
      await widenSideBar(page);

      const t0 = Date.now();
      assert.equal(await status('other.test'), '403');
      const toast = page.locator('.notification-toast', { hasText: 'wants to reach other.test' });
      await toast.waitFor({ timeout: 30_000 });
      const shownAfter = Date.now() - t0;
      const message = await toast.innerText();
      assert.match(message, new RegExp(`Shell in sandbox ${sb} wants to reach other\\.test \\(port 80\\)`));
      for (const button of ['Allow once', 'Always allow', 'Deny']) assert.equal(await toast.locator('.monaco-button', { hasText: button }).count(), 1, `no ${button} button`);
      await view.locator('.monaco-list-row', { hasText: 'asks about 1 host' }).first().waitFor({ timeout: 10_000 });
      await wb.screenshot('questions-01-asked');
      console.log(`# e2e: from the request's exec to the notification on screen ${shownAfter} ms`);

      await toast.locator('.monaco-button', { hasText: 'Always allow' }).click();
      const done = page.locator('.notification-toast', { hasText: 'Always allowed other.test' });
      await done.waitFor({ timeout: 30_000 });
      assert.match(await done.innerText(), /written into .*policy\.yaml/);
      const text = readFileSync(join(ws, '.paddock', 'policy.yaml'), 'utf8');
      assert.match(text, /^# Team policy: keep this comment\.$/m);
      assert.match(text, /# The local internet's addresses/);
      assert.match(text, /# test servers/);
      assert.deepEqual(loadPolicy(ws).policy.network.allow, [net.a, net.b, 'other.test']);
      assert.equal(await status('other.test'), '200');
      // The mark goes with the question.
      await view.locator('.monaco-list-row', { hasText: 'asks about' }).waitFor({ state: 'detached', timeout: 10_000 });
      await wb.screenshot('questions-02-always-allowed');
    } catch (err) {
      await wb.screenshot('questions-failure').catch(() => {});
      // The extension's own log (its output channel), from the newest code-server profile.
      const found = spawnSync('sh', ['-c', 'ls -t -d /tmp/paddock-e2e-profile-* | head -1 | xargs -I{} find {} -name "*Paddock*.log" | xargs tail -n 40'], { encoding: 'utf8' }).stdout;
      throw new Error(`${(err as Error).message}\n--- extension log (tail) ---\n${found}\n--- code-server log (tail) ---\n${wb.log().slice(-1500)}`);
    }
  });
});
