// The setup every e2e file shares: a fresh code-server with the packaged extension on the file's
// own workspace, and the Paddock view opened as a user opens it.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { cleanup } from '../../support/sandbox.js';
import { ARTIFACTS, openWorkbench, packageExtension, sandboxesView, widenSideBar, type Workbench } from './workbench.js';

/** VS Code in a browser saves after a delay by default; desktop VS Code (and the tests that edit files) save on request. */
export const SAVE_ON_REQUEST = { 'files.autoSave': 'off' };

export interface WorkbenchSession {
  readonly wb: Workbench;
  /** The workspace folder the workbench has open. */
  readonly ws: string;
}

export interface SessionOptions {
  /** The prefix of this file's screenshots: those of an earlier run are removed first, so they cannot pass for this run's. */
  readonly screenshots?: string;
  /** Makes the workspace folder (and anything the file needs before VS Code starts). */
  readonly workspace: () => string | Promise<string>;
  /** User settings for the profile, read after `workspace()`. */
  readonly settings?: () => Record<string, unknown>;
}

/**
 * Registers, in the calling describe, the hooks that open the workbench before its tests and,
 * after them, close it, remove the workspace's sandboxes and the folders made here.
 */
export function useWorkbench(options: SessionOptions): WorkbenchSession {
  let wb: Workbench | undefined;
  let ws: string | undefined;
  let out: string | undefined;
  before(async () => {
    const prefix = options.screenshots && `${options.screenshots}-`;
    for (const f of prefix && existsSync(ARTIFACTS) ? readdirSync(ARTIFACTS) : []) if (f.startsWith(prefix!)) rmSync(join(ARTIFACTS, f));
    out = mkdtempSync(join(tmpdir(), 'paddock-e2e-vsix-'));
    ws = await options.workspace();
    wb = await openWorkbench(ws, packageExtension(out), options.settings?.() ?? {});
  });
  after(async () => {
    if (wb) await wb.close();
    if (ws) await cleanup(ws);
    if (out) rmSync(out, { recursive: true, force: true });
  });
  return {
    get wb() {
      if (!wb) throw new Error('the workbench is not open (its before hook failed; see above)');
      return wb;
    },
    get ws() {
      if (!ws) throw new Error('the workspace was not made (its before hook failed; see above)');
      return ws;
    },
  };
}

/** Opens the Paddock view from the activity bar and widens the side bar so rows are readable. */
export async function openPaddockView(page: Page, width?: number): Promise<Locator> {
  // A loaded machine can take minutes before the extension's icon is there.
  await page.locator('.activitybar a[aria-label^="Paddock"]').click({ timeout: 180_000, force: true }); // the running-sandbox badge sits over the icon
  await widenSideBar(page, width);
  return sandboxesView(page);
}
