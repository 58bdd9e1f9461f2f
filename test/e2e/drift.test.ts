// Drift warnings where agent configs are written, in a real VS Code (code-server 4.104) in a real
// Chromium: a deny rule in .claude/settings.json that the policy lacks is squiggled at the rule
// and listed in the Problems panel; its quick fix adds the path to the policy's hide list
// (keeping the policy's comments) and the warning goes away. Screenshots under test-results/e2e/.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { engine, makeWorkspace, paddockOk } from '../support/sandbox.js';
import { hidingStateOf } from '../../src/engine/hiding.js';
import { runCommand, settledBoxes } from './support/workbench.js';
import { SAVE_ON_REQUEST, useWorkbench } from './support/session.js';

const POLICY = `# Team policy: comments must survive quick fixes.
version: 1
hide:
  - "**/.env"   # env files
`;

const SETTINGS = `{
  // Claude Code must not read these.
  "permissions": {
    "deny": [
      "Read(./.env)",
      "Read(./config/app.secret)"
    ]
  }
}
`;

const MESSAGE = /"Read\(\.\/config\/app\.secret\)" is denied here, but the Paddock sandbox can read 1 file: config\/app\.secret/;

/**
 * Opens a workspace file as a user does: Quick Open, or, while its file search does not list the
 * file yet (dot folders in a fresh window), File: Open File... with its path typed.
 */
async function openFile(page: Page, ws: string, relative: string): Promise<void> {
  // Already open in a tab: click the tab, as a user would (Quick Open can leave it unfocused).
  const tab = page.locator('.tab', { hasText: relative.split('/').pop()! }).first();
  if (await tab.count()) {
    await tab.click();
    await page.locator('.tab.active', { hasText: relative.split('/').pop()! }).waitFor();
    return;
  }
  const input = page.locator('.quick-input-widget .quick-input-box input');
  // Under load Quick Open sometimes does not come up at all (twice asked, in three runs of this file
  // one of its three windows): then the file is opened from the Explorer, as a user would.
  let opened = false;
  for (let attempt = 1; attempt <= 2 && !opened; attempt++) {
    await page.keyboard.press('Control+P');
    opened = await input.waitFor({ timeout: 10_000 }).then(() => true, () => false);
  }
  if (!opened) return openFromExplorer(page, relative);
  await input.fill(relative);
  const listed = await page.locator('.quick-input-widget .monaco-list-row', { hasText: relative.split('/').pop()! }).first().waitFor({ timeout: 15_000 }).then(() => true, () => false);
  if (!listed) {
    await page.keyboard.press('Escape');
    await runCommand(page, 'File: Open File...');
    await input.waitFor();
    await input.fill(join(ws, relative));
  }
  await input.press('Enter');
  await page.locator('.tab.active', { hasText: relative.split('/').pop()! }).waitFor();
}

/** Opens a workspace file by clicking through the Explorer's rows (folders expanded as needed). */
async function openFromExplorer(page: Page, relative: string): Promise<void> {
  await page.keyboard.press('Control+Shift+E');
  const parts = relative.split('/');
  for (const [i, part] of parts.entries()) {
    const name = new RegExp(`^${part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
    const row = page.locator('.explorer-folders-view .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: name }) }).first();
    await row.waitFor({ timeout: 30_000 });
    const last = i === parts.length - 1;
    if (last || (await row.getAttribute('aria-expanded')) !== 'true') await row.click();
  }
  await page.locator('.tab.active', { hasText: parts[parts.length - 1] }).waitFor({ timeout: 30_000 });
}

describe('VS Code: drift diagnostics and quick fixes', { timeout: 600_000 }, () => {
  const session = useWorkbench({
    screenshots: 'drift',
    workspace: () => makeWorkspace({
      '.paddock/policy.yaml': POLICY,
      '.claude/settings.json': SETTINGS,
      '.env': 'API_URL=http://localhost\n',
      'config/app.secret': 'the app reads this at start\n',
      'src/index.ts': 'export {};\n',
    }, 'paddock-e2e-drift-'),
    settings: () => SAVE_ON_REQUEST,
  });

  it('squiggles the deny rule the policy lacks, lists it in Problems, and the quick fix removes it', async () => {
    const { wb, ws } = session;
    const { page } = wb;
    try {
      // 1. The squiggle sits on the rule's line (line 6), not on the file as a whole.
      await openFile(page, ws, '.claude/settings.json');
      const editor = page.locator('.editor-instance .monaco-editor').first();
      const squiggle = editor.locator('.squiggly-error');
      await squiggle.first().waitFor({ timeout: 60_000 });
      assert.equal(await squiggle.count(), 1, 'one error: the rule for config/app.secret (.env is hidden by the policy)');
      const ruleText = editor.locator('.view-line', { hasText: 'Read(./config/app.secret)' });
      const [ruleBox, squiggleBox] = await settledBoxes(page, ruleText, squiggle.first());
      assert.ok(Math.abs(squiggleBox.y + squiggleBox.height / 2 - (ruleBox.y + ruleBox.height / 2)) < ruleBox.height, 'the squiggle is on the line of the rule');
      // Hovering it shows the finding.
      await page.mouse.move(squiggleBox.x + squiggleBox.width / 2, squiggleBox.y + squiggleBox.height / 2);
      const hover = page.locator('.monaco-hover').filter({ hasText: 'Paddock' });
      await hover.first().waitFor({ timeout: 30_000 });
      assert.match(await hover.first().innerText(), MESSAGE);
      await wb.screenshot('drift-01-squiggle-and-hover');

      // 2. The Problems panel lists it, with its source and position.
      await page.mouse.move(900, 700);
      await page.keyboard.press('Escape');
      await page.keyboard.press('Control+Shift+M');
      const problems = page.locator('.markers-panel');
      const row = problems.locator('.monaco-list-row', { hasText: 'config/app.secret' });
      await row.first().waitFor({ timeout: 30_000 });
      const rowText = await row.first().innerText();
      assert.match(rowText, MESSAGE);
      assert.match(rowText, /Paddock/);
      assert.match(rowText, /\[Ln 6, Col 7\]/);
      await wb.screenshot('drift-02-problems-panel');

      // 3. Quick fix at the rule (Ctrl+.), choosing "Hide ... in the sandbox".
      // The cursor goes inside the squiggle (a click on the line's middle can land past its end, where
      // there is no code action); a slow fix list may come up empty the first time: ask again.
      const fix = page.locator('.action-widget .monaco-list-row', { hasText: 'Hide "config/app.secret" in the sandbox' });
      for (let attempt = 1; ; attempt++) {
        const box = await squiggle.first().boundingBox();
        if (box) await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
        else await ruleText.click();
        await page.keyboard.press('Control+.');
        try {
          await fix.first().waitFor({ timeout: 10_000 });
          break;
        } catch (err) {
          if (attempt === 3) throw err;
          await page.keyboard.press('Escape');
        }
      }
      await wb.screenshot('drift-03-quick-fix-menu');
      // The menu takes keys (a pointer block covers it): the preferred fix is the focused row.
      assert.match(await page.locator('.action-widget .monaco-list-row.focused').innerText(), /Hide "config\/app\.secret" in the sandbox/);
      await page.keyboard.press('Enter');

      // 4. The policy gained the path (saved, comments kept) and the warning is gone, inline and in Problems.
      const policyFile = join(ws, '.paddock/policy.yaml');
      for (let i = 0; i < 100 && !readFileSync(policyFile, 'utf8').includes('config/app.secret'); i++) await page.waitForTimeout(200);
      assert.equal(readFileSync(policyFile, 'utf8'), `${POLICY}  - "config/app.secret"\n`, 'one line added, in the style of the list; the comments stay');
      await squiggle.first().waitFor({ state: 'detached', timeout: 60_000 });
      await row.first().waitFor({ state: 'detached', timeout: 60_000 });
      assert.equal(await problems.locator('.monaco-list-row', { hasText: 'is denied here' }).count(), 0);
      assert.equal(readFileSync(join(ws, '.claude/settings.json'), 'utf8'), SETTINGS, 'the agent config itself is not touched');
      await wb.screenshot('drift-04-fixed');

      // 5. Unsaved edits count: deleting the .env rule in the policy (not saved) flags "Read(./.env)" at once; undo clears it.
      await openFile(page, ws, '.paddock/policy.yaml');
      const policyEditor = page.locator('.editor-instance .monaco-editor').first();
      await policyEditor.locator('.view-line', { hasText: '"**/.env"' }).click();
      await page.keyboard.press('Control+Shift+K');
      await page.locator('.tab.active.dirty', { hasText: 'policy.yaml' }).waitFor({ timeout: 30_000 });
      const envRow = problems.locator('.monaco-list-row', { hasText: '"Read(./.env)" is denied here' });
      await envRow.first().waitFor({ timeout: 60_000 });
      assert.match(await envRow.first().innerText(), /\[Ln 5, Col 7\]/);
      assert.equal(readFileSync(policyFile, 'utf8'), `${POLICY}  - "config/app.secret"\n`, 'nothing saved');
      await wb.screenshot('drift-04b-unsaved-policy-edit');
      await page.keyboard.press('Control+Z');
      await envRow.first().waitFor({ state: 'detached', timeout: 60_000 });
    } catch (err) {
      await wb.screenshot('drift-failure').catch(() => {});
      throw new Error(`${(err as Error).message}\n--- code-server log ---\n${wb.log().slice(-4000)}`);
    }
  });
});

describe('VS Code: secrets created after the sandbox: the one-click apply, and the resume while it runs', { timeout: 900_000 }, () => {
  const session = useWorkbench({
    workspace: async () => {
      const ws = makeWorkspace({ '.paddock/policy.yaml': POLICY, 'src/index.ts': 'export {};\n' }, 'paddock-e2e-recreate-');
      // The sandbox exists before the secret does (made by the CLI, as a user might), and the secret
      // comes while it is stopped (while it runs, its guard stops it at once: the steps below).
      await paddockOk(['create', 'shell', ws]);
      await paddockOk(['stop', ws]);
      mkdirSync(join(ws, 'late'));
      writeFileSync(join(ws, 'late/.env'), 'TOKEN=only-on-the-host\n');
      return ws;
    },
    settings: () => SAVE_ON_REQUEST,
  });

  it('marks the hide rule "not hidden until applied", its quick fix applies so the file is hidden; a secret that appears while it runs, or a replaced one, is hidden by a resume that keeps the state', async () => {
    const { wb, ws } = session;
    const { page } = wb;
    try {
      const [before] = await engine().list({ workspace: ws });
      assert.ok(before, 'the CLI made a sandbox');
      assert.ok(!(await hidingStateOf(engine(), before.id)).mountedTargets.includes(join(ws, 'late/.env')), 'late/.env came after the sandbox: not mounted over');

      await openFile(page, ws, '.paddock/policy.yaml');
      const editor = page.locator('.editor-instance .monaco-editor').first();
      const squiggle = editor.locator('.squiggly-error');
      await squiggle.first().waitFor({ timeout: 120_000 });
      const ruleLine = editor.locator('.view-line', { hasText: '"**/.env"' });
      const [ruleBox, squiggleBox] = await settledBoxes(page, ruleLine, squiggle.first());
      assert.ok(Math.abs(squiggleBox.y + squiggleBox.height / 2 - (ruleBox.y + ruleBox.height / 2)) < ruleBox.height, 'the error sits on the hide rule that names the file');
      await page.keyboard.press('Control+Shift+M');
      const row = page.locator('.markers-panel .monaco-list-row', { hasText: 'Not hidden until applied' });
      await row.first().waitFor({ timeout: 30_000 });
      assert.match(await row.first().innerText(), new RegExp(`sandbox ${before.name} was created before late/\\.env`));
      await wb.screenshot('drift-05-not-hidden-until-applied');

      // Put the cursor inside the diagnostic's range (the squiggle's middle, measured now that the
      // Problems panel has reshaped the editor), then ask for quick fixes; on a slow machine the
      // fix list can come up without the apply fix the first time, so ask again.
      const applyFix = page.locator('.action-widget .monaco-list-row', { hasText: `Apply to sandbox ${before.name} (state kept)` }).first();
      for (let attempt = 1; ; attempt++) {
        const box = await squiggle.first().boundingBox();
        if (box) await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
        else await ruleLine.click();
        await page.keyboard.press('Control+.');
        try {
          await applyFix.waitFor({ timeout: 10_000 });
          break;
        } catch (err) {
          if (attempt === 3) throw err;
          await page.keyboard.press('Escape');
        }
      }
      assert.match(await page.locator('.action-widget .monaco-list-row.focused').innerText(), /Apply to sandbox .* \(state kept\)/);
      await wb.screenshot('drift-06-apply-quick-fix');
      await page.keyboard.press('Enter');
      // A new container (open terminals close), so it asks first.
      const dialog = page.locator('.monaco-dialog-box');
      await dialog.waitFor({ timeout: 30_000 });
      await dialog.locator('.monaco-button', { hasText: /^Apply$/ }).click();

      // Wait for the new container to run (the old one is gone for a moment in between).
      let after = before;
      for (let i = 0; i < 600 && (after?.id === before.id || after?.status !== 'running'); i++) {
        await page.waitForTimeout(500);
        [after] = await engine().list({ workspace: ws });
      }
      assert.ok(after && after.id !== before.id && after.status === 'running', 'a new running container replaced the old one');
      await page.locator('.notifications-toasts', { hasText: 'applying changes' }).waitFor({ state: 'detached', timeout: 120_000 }).catch(() => {});
      await squiggle.first().waitFor({ state: 'detached', timeout: 60_000 });
      await row.first().waitFor({ state: 'detached', timeout: 60_000 });
      assert.ok((await hidingStateOf(engine(), after.id)).mountedTargets.includes(join(ws, 'late/.env')), 'late/.env is now covered');
      assert.equal(readFileSync(join(ws, 'late/.env'), 'utf8'), 'TOKEN=only-on-the-host\n', 'the workspace file is untouched');
      await page.locator('.statusbar-item', { hasText: 'shell running' }).first().waitFor({ timeout: 120_000 });
      await wb.screenshot('drift-07-applied');

      // A file in the agent's home: the state every resume below keeps.
      await engine().execCapture(after.id, ['sh', '-c', 'echo kept > ~/state.txt']);
      const current = async (previous: string) => {
        let now = (await engine().list({ workspace: ws }))[0];
        for (let i = 0; i < 600 && (now?.id === previous || now?.status !== 'running'); i++) {
          await page.waitForTimeout(500);
          [now] = await engine().list({ workspace: ws });
        }
        assert.ok(now && now.id !== previous && now.status === 'running', 'a new running container replaced the old one');
        return now;
      };

      // A secret that appears while the sandbox runs: its guard freezes it at once, and the window
      // applies (a new container hides the file, state kept) and says so.
      mkdirSync(join(ws, 'later'));
      writeFileSync(join(ws, 'later/.env'), 'TOKEN=also-host-only\n');
      const appeared = page.locator('.notifications-toasts .notification-toast', { hasText: 'later/.env appeared in the workspace' });
      await appeared.first().waitFor({ timeout: 120_000 });
      assert.match(await appeared.first().innerText(), new RegExp(`later/\\.env appeared in the workspace where no mount hid it in ${after.name}; .*froze .*then applied: a new container hides it, with the sandbox's state kept`));
      const resumed = await current(after.id);
      assert.equal((await engine().execCapture(resumed.id, ['cat', join(ws, 'later/.env')])).stdout, '', 'later/.env is hidden in the new container');
      assert.equal((await engine().execCapture(resumed.id, ['sh', '-c', 'cat ~/state.txt'])).stdout.trim(), 'kept', 'the agent\'s home was kept');
      assert.equal(readFileSync(join(ws, 'later/.env'), 'utf8'), 'TOKEN=also-host-only\n', 'the workspace file is untouched');
      await page.locator('.statusbar-item', { hasText: 'shell running' }).first().waitFor({ timeout: 120_000 });
      await wb.screenshot('drift-08-new-secret-resumed');

      // A save by rename (sed -i writes a temporary file beside it, then renames it over; a backup
      // name such as .env.tmp would itself be a new secret) would uncover late/.env in the running
      // sandbox: the window's hiding guard freezes it, applies again, and says so.
      writeFileSync(join(ws, 'late/sedR4nd0m'), 'TOKEN=rotated-on-the-host\n');
      renameSync(join(ws, 'late/sedR4nd0m'), join(ws, 'late/.env'));
      const replaced = page.locator('.notifications-toasts .notification-toast', { hasText: 'late/.env was replaced or removed on the host' });
      await replaced.first().waitFor({ timeout: 120_000 });
      assert.match(await replaced.first().innerText(), new RegExp(`late/\\.env was replaced or removed on the host, which lifted its mount in ${resumed.name}; .*then applied`));
      const again = await current(resumed.id);
      assert.equal((await engine().execCapture(again.id, ['cat', join(ws, 'late/.env')])).stdout, '', 'hidden again after the resume');
      assert.equal((await engine().execCapture(again.id, ['sh', '-c', 'cat ~/state.txt'])).stdout.trim(), 'kept');
      await wb.screenshot('drift-09-replaced-secret-resumed');
    } catch (err) {
      await wb.screenshot('drift-failure-apply').catch(() => {});
      throw new Error(`${(err as Error).message}\n--- code-server log ---\n${wb.log().slice(-4000)}`);
    }
  });
});

describe('VS Code: a deny rule of an agent config when the workspace has no policy file', { timeout: 600_000 }, () => {
  const session = useWorkbench({
    workspace: () => makeWorkspace({ '.claude/settings.json': SETTINGS, 'config/app.secret': 'the app reads this at start\n', 'src/index.ts': 'export {};\n' }, 'paddock-e2e-nopolicy-'),
    settings: () => SAVE_ON_REQUEST,
  });

  it('offers "Hide in Paddock policy", which creates .paddock/policy.yaml with the defaults and the rule, and opens it', async () => {
    const { wb, ws } = session;
    const { page } = wb;
    const policyFile = join(ws, '.paddock/policy.yaml');
    try {
      await openFile(page, ws, '.claude/settings.json');
      const editor = page.locator('.editor-instance .monaco-editor').first();
      const squiggle = editor.locator('.squiggly-error');
      await squiggle.first().waitFor({ timeout: 60_000 });
      // The cursor goes inside the diagnostic's range (the squiggle's middle: a click on the line
      // itself lands after its end on a wide editor), and a slow machine may need a second ask.
      const fix = page.locator('.action-widget .monaco-list-row', { hasText: 'Hide "config/app.secret" in Paddock policy (creates .paddock/policy.yaml' });
      for (let attempt = 1; ; attempt++) {
        const box = await squiggle.first().boundingBox();
        if (box) await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
        else await editor.locator('.view-line', { hasText: 'Read(./config/app.secret)' }).click();
        await page.keyboard.press('Control+.');
        try {
          await fix.first().waitFor({ timeout: 10_000 });
          break;
        } catch (err) {
          if (attempt === 3) throw err;
          await page.keyboard.press('Escape');
        }
      }
      await wb.screenshot('drift-11-no-policy-quick-fix');
      assert.match(await page.locator('.action-widget .monaco-list-row.focused').innerText(), /Hide "config\/app\.secret" in Paddock policy/);
      await page.keyboard.press('Enter');

      // The file is made (the defaults kept, so nothing hidden before is shown now) and opened.
      await page.locator('.tab.active', { hasText: 'policy.yaml' }).waitFor({ timeout: 60_000 });
      const made = readFileSync(policyFile, 'utf8');
      assert.match(made, /^version: 1\n/);
      assert.match(made, /- config\/app\.secret\n/);
      assert.match(made, /\*\*\/\.env/, 'the default hide rules are kept');
      await page.locator('.notification-toast', { hasText: 'created .paddock/policy.yaml' }).first().waitFor({ timeout: 30_000 });
      await page.locator('.editor-instance .view-line', { hasText: 'config/app.secret' }).first().waitFor({ timeout: 30_000 });
      await wb.screenshot('drift-12-policy-created-and-opened');
      // And the rule is covered now: its error goes.
      await openFile(page, ws, '.claude/settings.json');
      await editor.locator('.squiggly-error').first().waitFor({ state: 'detached', timeout: 60_000 });
    } catch (err) {
      await wb.screenshot('drift-failure-no-policy').catch(() => {});
      throw new Error(`${(err as Error).message}\n--- code-server log ---\n${wb.log().slice(-4000)}`);
    }
  });
});
