// The policy editor in a real VS Code (code-server 4.104) in a real Chromium: a custom text
// editor over .paddock/policy.yaml whose every change goes through the text document. Unticking a
// hidden path and adding one change the YAML (comments kept) and the live count of matching
// files; undo restores both; broken YAML shows an error with a way to the text editor.
// Screenshots under test-results/e2e/.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { FrameLocator, Page } from 'playwright-core';
import { makeWorkspace } from '../support/sandbox.js';
import { runCommand } from './support/workbench.js';
import { SAVE_ON_REQUEST, useWorkbench } from './support/session.js';

const POLICY = `# Team policy: comments stay when the editor changes the file.
version: 1
hide:
  - "**/.env"        # env files, at any depth
  - secrets/**
tier: moderate   # strict | moderate | permissive
`;

/** The policy editor's page: VS Code nests a webview's content in an iframe inside an iframe. */
function policyEditor(page: Page): FrameLocator {
  return page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
}

async function waitForText(read: () => string, expected: string | RegExp, page: Page, what: string): Promise<string> {
  let text = '';
  for (let i = 0; i < 150; i++) {
    text = read();
    if (typeof expected === 'string' ? text === expected : expected.test(text)) return text;
    await page.waitForTimeout(200);
  }
  assert.fail(`${what} never became ${expected}; it is:\n${text}`);
}

/** Saves with Ctrl+S from inside the policy editor (the custom editor saves its text document). */
async function save(page: Page): Promise<void> {
  await policyEditor(page).locator('h1').click();
  await page.keyboard.press('Control+S');
  await page.locator('.tab.active:not(.dirty)', { hasText: 'policy.yaml' }).waitFor({ timeout: 30_000 });
}

describe('VS Code: the policy editor', { timeout: 600_000 }, () => {
  const session = useWorkbench({
    screenshots: 'policy-editor',
    workspace: () => makeWorkspace({
      '.paddock/policy.yaml': POLICY,
      '.env': 'A=1\n',
      'api/.env': 'B=2\n',
      'secrets/db.txt': 'x\n',
      'config/app.secret': 'y\n',
      'config/other.secret': 'z\n',
      // A file name that is markup: the page must show it as text, never as an element.
      'config/<img src=x onerror=alert(1)>.secret': 'w\n',
      'src/index.ts': 'export {};\n',
    }, 'paddock-e2e-policy-'),
    settings: () => SAVE_ON_REQUEST,
  });

  it('edits hidden paths through the document: YAML and preview follow, undo restores, broken YAML is explained', async () => {
    const { wb, ws } = session;
    const policyFile = join(ws, '.paddock/policy.yaml');
    const { page } = wb;
    const read = () => readFileSync(policyFile, 'utf8');
    // The page runs under a strict Content-Security-Policy: nothing it needs may be refused.
    const cspViolations: string[] = [];
    page.on('console', (m) => { if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(m.text()); });
    try {
      // 1. Open it from the palette (once the extension is up): the table lists the rules with the files they hide.
      await page.locator('.statusbar-item', { hasText: 'Paddock' }).first().waitFor({ timeout: 60_000 });
      await runCommand(page, 'Paddock: Open Policy Editor');
      const ed = policyEditor(page);
      const summary = ed.locator('[data-testid="hide-summary"]');
      await summary.waitFor({ timeout: 60_000 });
      await waitForLocatorText(summary, /^3 paths hidden \(3 files\)$/);
      const envRow = ed.locator('tr.on[data-pattern="**/.env"]');
      await waitForLocatorText(envRow.locator('[data-testid="count"]'), /^2$/);
      assert.match(await envRow.locator('td.samples').innerText(), /\.env/);
      assert.equal(await ed.locator('tr.on[data-pattern="secrets/**"] [data-testid="count"]').innerText(), '1');
      assert.ok(await page.locator('.tab.active', { hasText: 'policy.yaml' }).count(), 'the editor is a tab of policy.yaml');
      await wb.screenshot('policy-editor-01-opened');

      // Each section says when its changes apply.
      assert.match(await ed.locator('[data-testid="applies-hide"]').innerText(), /created or recreated/);
      assert.match(await ed.locator('[data-testid="applies-network"]').innerText(), /when you save.*proxies follow/);
      assert.match(await ed.locator('[data-testid="applies-bridge"]').innerText(), /when you save/);

      // 2. Untick "**/.env": the document changes (dirty), the count drops; saving comments the rule out in place.
      await envRow.locator('vscode-checkbox').click();
      await waitForLocatorText(summary, /^1 path hidden \(1 file\)$/);
      await page.locator('.tab.active.dirty', { hasText: 'policy.yaml' }).waitFor({ timeout: 30_000 });
      assert.equal(read(), POLICY, 'nothing is written to disk before save');
      // The unticked rule stays in the table at its place, off, so it can be ticked again.
      await ed.locator('tr.off[data-pattern="**/.env"]').waitFor();
      assert.deepEqual(await ed.locator('[data-testid="hide-table"] tbody tr').evaluateAll((rows) => rows.map((r) => `${r.className} ${r.getAttribute('data-pattern')}`)), ['off **/.env', 'on secrets/**']);
      await wb.screenshot('policy-editor-02-env-unticked');
      await save(page);
      const envOff = POLICY.replace('  - "**/.env"        # env files, at any depth\n', '  # - "**/.env"        # env files, at any depth  # off\n');
      await waitForText(read, envOff, page, 'the saved policy');

      // 3. Add a hidden path: one new line in the list's style; the new row counts its 2 files.
      const input = ed.locator('[data-testid="hide-add-input"] input');
      await input.fill('config/*.secret');
      await input.press('Enter');
      const secretRow = ed.locator('tr.on[data-pattern="config/*.secret"]');
      await waitForLocatorText(secretRow.locator('[data-testid="count"]'), /^3$/);
      await waitForLocatorText(summary, /^4 paths hidden \(4 files\)$/);
      assert.match(await secretRow.locator('td.samples').innerText(), /config\/<img src=x onerror=alert\(1\)>\.secret/);
      assert.equal(await ed.locator('img').count(), 0, 'a file name is text, not markup');
      await wb.screenshot('policy-editor-03-glob-added');
      await save(page);
      const withGlob = `# Team policy: comments stay when the editor changes the file.
version: 1
hide:
  # - "**/.env"        # env files, at any depth  # off
  - secrets/**
  - config/*.secret
tier: moderate   # strict | moderate | permissive
`;
      await waitForText(read, withGlob, page, 'the saved policy');

      // 4. Undo twice (the document's own undo): the rule goes, then "**/.env" comes back with its comment.
      await ed.locator('h1').click();
      await page.keyboard.press('Control+Z');
      await secretRow.waitFor({ state: 'detached', timeout: 30_000 });
      await waitForLocatorText(summary, /^1 path hidden \(1 file\)$/);
      await page.keyboard.press('Control+Z');
      await envRow.waitFor({ timeout: 30_000 });
      await waitForLocatorText(envRow.locator('[data-testid="count"]'), /^2$/);
      await waitForLocatorText(summary, /^3 paths hidden \(3 files\)$/);
      await wb.screenshot('policy-editor-04-undone');
      await save(page);
      await waitForText(read, POLICY, page, 'the saved policy after undo (byte for byte the original)');

      // 4b. Switched off, saved and reopened: the rule is still there, off, at its place; ticked again, the file is the original.
      await envRow.locator('vscode-checkbox').click();
      await ed.locator('tr.off[data-pattern="**/.env"]').waitFor({ timeout: 30_000 });
      await save(page);
      await waitForText(read, envOff, page, 'the saved policy');
      await runCommand(page, 'View: Close All Editors');
      await runCommand(page, 'Paddock: Open Policy Editor');
      const reopened = policyEditor(page);
      const offRow = reopened.locator('tr.off[data-pattern="**/.env"]');
      await offRow.waitFor({ timeout: 60_000 });
      assert.equal(await offRow.locator('vscode-checkbox').evaluate((c) => (c as unknown as { checked: boolean }).checked), false);
      await wb.screenshot('policy-editor-04b-reopened-rule-still-off');
      await offRow.locator('vscode-checkbox').click();
      await envRow.waitFor({ timeout: 30_000 });
      await save(page);
      await waitForText(read, POLICY, page, 'the policy with the rule on again (byte for byte the original)');

      // 4c. Order is explicit: "Move down" puts "**/.env" after "secrets/**" (the last matching rule wins).
      await ed.locator('button[aria-label="Move **/.env down"]').click();
      await waitForLocatorText(ed.locator('[data-testid="hide-table"] tbody tr').first(), /secrets\/\*\*/);
      await wb.screenshot('policy-editor-04c-moved-down');
      await save(page);
      await waitForText(read, POLICY.replace('  - "**/.env"        # env files, at any depth\n  - secrets/**\n', '  - secrets/**\n  - "**/.env"        # env files, at any depth\n'), page, 'the policy with the rules swapped');
      await ed.locator('h1').click();
      await page.keyboard.press('Control+Z');
      await save(page);
      await waitForText(read, POLICY, page, 'the policy after undoing the move');

      // 4d. Input is checked as it is typed, with create's rules: a URL is refused before anything is written.
      const checkInput = ed.locator('[data-testid="allow-input"] input');
      await checkInput.fill('https://bad host/path');
      const typedProblem = ed.locator('[data-testid="allow-problem"]');
      await waitForLocatorText(typedProblem, /host only, not a URL/);
      await checkInput.press('Enter');
      await typedProblem.scrollIntoViewIfNeeded();
      await wb.screenshot('policy-editor-04d-invalid-host-refused-as-typed');
      assert.equal(read(), POLICY, 'nothing was written');
      assert.ok(await page.locator('.tab.active:not(.dirty)', { hasText: 'policy.yaml' }).count(), 'the document did not change');
      await checkInput.fill('');

      // 5. Network: one more host in a file without a network section keeps the built-in hosts as defaults (not copied).
      const hostInput = ed.locator('[data-testid="allow-input"] input');
      await hostInput.fill('api.internal:8443');
      await hostInput.press('Enter');
      await ed.locator('[data-testid="allow-list"] .chip', { hasText: 'api.internal:8443' }).waitFor({ timeout: 30_000 });
      assert.equal(await ed.locator('[data-testid="default-hosts"] .chip').count(), 17, 'the built-in hosts are shown as defaults');
      assert.equal(await ed.locator('[data-testid="allow-list"] .chip').count(), 1, 'your hosts: only the one added');
      await ed.locator('[data-testid="allow-list"]').scrollIntoViewIfNeeded();
      await wb.screenshot('policy-editor-05-network-host-added');
      await save(page);
      const withHost = await waitForText(read, /api\.internal:8443/, page, 'the saved policy');
      assert.equal(withHost, `${POLICY}network:\n  defaults: true\n  allow:\n    - "api.internal:8443"\n`, 'the existing text is untouched; only the addition is written');

      // 6. Broken YAML on disk: a clear error instead of the tables, with a button to the text.
      writeFileSync(policyFile, `${POLICY}network: [unclosed\n`);
      const error = ed.locator('[data-testid="syntax-error"]');
      await error.waitFor({ timeout: 60_000 });
      assert.match(await error.innerText(), /not valid YAML[\s\S]*line 8, column 1: Flow sequence .* end with a \]/);
      assert.equal(await ed.locator('[data-testid="hide-table"]').count(), 0);
      await wb.screenshot('policy-editor-06-invalid-yaml');
      await ed.locator('[data-testid="open-text-error"]').click();
      const textEditor = page.locator('.editor-instance .monaco-editor .view-lines');
      await textEditor.filter({ hasText: 'network: [unclosed' }).waitFor({ timeout: 30_000 });
      // The same problem is a diagnostic of the policy file (Problems panel), at its line.
      await page.keyboard.press('Control+Shift+M');
      const problem = page.locator('.markers-panel .monaco-list-row', { hasText: 'Flow sequence in block collection' });
      await problem.first().waitFor({ timeout: 60_000 });
      assert.match(await problem.first().innerText(), /Paddock[\s\S]*\[Ln 8, Col 1\]/);
      // The text editor of the policy offers the policy editor in its title bar.
      assert.ok(await page.locator('.editor-actions .action-label[aria-label="Open Policy Editor"]').count(), 'title bar button');
      await wb.screenshot('policy-editor-07-text-editor');
      assert.deepEqual(cspViolations, []);
    } catch (err) {
      await wb.screenshot('policy-editor-failure').catch(() => {});
      throw new Error(`${(err as Error).message}\n--- code-server log ---\n${wb.log().slice(-4000)}`);
    }
  });
});

async function waitForLocatorText(locator: import('playwright-core').Locator, pattern: RegExp, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = (await locator.innerText({ timeout: 5_000 }).catch(() => '')).trim();
    if (pattern.test(text)) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  assert.fail(`expected ${pattern}, saw "${text}"`);
}
