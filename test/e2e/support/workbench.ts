// Real VS Code for the e2e tier: the extension packaged with @vscode/vsce, installed into
// code-server 4.104 (scripts/ensure-e2e.sh), served on loopback, and driven in Debian's Chromium
// through playwright-core, as a new user would.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { OWNER, REPO } from '../../support/sandbox.js';

const CACHE = process.env.PADDOCK_E2E_CACHE ?? join(homedir(), '.cache', 'paddock-e2e');
const NODE22_BIN = join(CACHE, 'node22', 'node_modules', 'node', 'bin');
export const CODE_SERVER = join(CACHE, 'code-server-4.104.0', 'node_modules', '.bin', 'code-server');
export const CHROMIUM = process.env.PADDOCK_E2E_CHROMIUM ?? '/usr/bin/chromium';
// resolve, not join: PADDOCK_TEST_RESULTS may be absolute (scripts/test.sh passes it through).
export const ARTIFACTS = resolve(REPO, process.env.PADDOCK_TEST_RESULTS ?? 'test-results', 'e2e');

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * Packages the built extension (npm run build first) as a user would install it. scripts/test.sh
 * packages it once for the whole tier and names it in PADDOCK_E2E_VSIX (packaging runs the build
 * again and takes 10-20 s a file); a file run on its own packages its own.
 */
export function packageExtension(outDir: string): string {
  const packaged = process.env.PADDOCK_E2E_VSIX;
  if (packaged) {
    if (!existsSync(packaged)) throw new Error(`PADDOCK_E2E_VSIX names ${packaged}, which does not exist: unset it to package the extension here`);
    return packaged;
  }
  const vsix = join(outDir, 'paddock.vsix');
  const r = spawnSync(join(REPO, 'node_modules', '.bin', 'vsce'), ['package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '-o', vsix], {
    cwd: REPO, encoding: 'utf8', env: { ...process.env, npm_config_yes: 'true' },
  });
  if (r.status !== 0) throw new Error(`vsce package failed:\n${r.stdout}\n${r.stderr}`);
  return vsix;
}

/**
 * A copy of examples/demo in a fresh temp folder, owned by a non-root user as on a laptop; with
 * `policy`, its .paddock/policy.yaml (the cage exists before any sandbox: a .paddock made later is
 * writable in it, and Verify says so).
 */
export function demoWorkspace(policy?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'paddock-e2e-demo-'));
  cpSync(join(REPO, 'examples', 'demo'), dir, { recursive: true });
  if (policy !== undefined) {
    mkdirSync(join(dir, '.paddock'), { recursive: true });
    writeFileSync(join(dir, '.paddock', 'policy.yaml'), policy);
  }
  spawnSync('chown', ['-R', `${OWNER.uid}:${OWNER.gid}`, dir]);
  return dir;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export interface Workbench {
  readonly page: Page;
  readonly url: string;
  /** code-server's own log (extension host errors end up here). */
  log(): string;
  /** The whole text of an output channel as VS Code writes it to disk (the view renders only the visible lines). */
  outputChannel(name: string): string;
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * The extensions folder scripts/test.sh installed the tier's .vsix into (PADDOCK_E2E_EXTENSIONS, with
 * PADDOCK_E2E_VSIX): every window of the tier uses it instead of installing the same package again
 * (a code-server start of its own, 2-4 s a file). Nothing writes to it while the windows run; each
 * window still has a fresh profile (user data, settings, state).
 */
function sharedExtensions(vsix: string): string | undefined {
  const dir = process.env.PADDOCK_E2E_EXTENSIONS;
  if (!dir || vsix !== process.env.PADDOCK_E2E_VSIX) return undefined;
  if (!existsSync(join(dir, 'extensions.json'))) throw new Error(`PADDOCK_E2E_EXTENSIONS names ${dir}, which holds no installed extension: unset it to install the extension for each window`);
  return dir;
}

/** Installs the .vsix into a fresh code-server profile, serves `folder`, and opens it in Chromium. */
export async function openWorkbench(folder: string, vsix: string, settings: Record<string, unknown> = {}): Promise<Workbench> {
  // Chromium starts while the extension is installed and code-server starts: neither needs the other.
  const launching = chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  let server: ChildProcess | undefined;
  try {
    return await serveAndOpen(folder, vsix, settings, launching, (s) => (server = s));
  } catch (err) {
    // Nothing of a window that did not open is left running (a browser or server would keep the file's process alive).
    await launching.then((b) => b.close(), () => {});
    server?.kill('SIGKILL');
    throw err;
  }
}

async function serveAndOpen(folder: string, vsix: string, settings: Record<string, unknown>, launching: Promise<Browser>, started: (server: ChildProcess) => void): Promise<Workbench> {
  const home = mkdtempSync(join(tmpdir(), 'paddock-e2e-profile-'));
  const userData = join(home, 'user-data');
  const shared = sharedExtensions(vsix);
  const extensions = shared ?? join(home, 'extensions');
  mkdirSync(join(userData, 'User'), { recursive: true });
  writeFileSync(join(userData, 'User', 'settings.json'), JSON.stringify({
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'security.workspace.trust.enabled': false,
    'telemetry.telemetryLevel': 'off',
    'extensions.autoCheckUpdates': false,
    'update.mode': 'none',
    // The DOM renderer keeps the terminal's text in the page, where the test can read it.
    'terminal.integrated.gpuAcceleration': 'off',
    'terminal.integrated.enablePersistentSessions': false,
    'workbench.colorTheme': 'Default Dark Modern',
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'chat.commandCenter.enabled': false,
    ...settings,
  }, null, 2));
  const configFile = join(home, 'config.yaml');
  writeFileSync(configFile, 'auth: none\ncert: false\n');
  const env = { ...process.env, PATH: `${NODE22_BIN}:${process.env.PATH}`, XDG_CONFIG_HOME: join(home, 'config'), XDG_DATA_HOME: join(home, 'data') };
  const common = ['--config', configFile, '--user-data-dir', userData, '--extensions-dir', extensions];
  if (!shared) {
    // Not spawnSync: Chromium's launch goes on meanwhile.
    const install = await new Promise<{ status: number | null; output: string }>((resolve, reject) => {
      const child = spawn(CODE_SERVER, [...common, '--install-extension', vsix], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout!.on('data', (c) => (output += c));
      child.stderr!.on('data', (c) => (output += c));
      child.on('error', reject);
      child.on('close', (status) => resolve({ status, output }));
    });
    if (install.status !== 0) throw new Error(`code-server --install-extension failed:\n${install.output}`);
  }

  const port = await freePort();
  let output = '';
  const server: ChildProcess = spawn(CODE_SERVER, [...common, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-workspace-trust', '--disable-update-check', folder], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  started(server);
  server.stdout!.on('data', (c) => (output += c));
  server.stderr!.on('data', (c) => (output += c));
  const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(folder)}`;
  for (let i = 0; ; i++) {
    const up = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
    if (up) break;
    if (i > 300 || server.exitCode !== null) throw new Error(`code-server did not come up:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  const browser = await launching;
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  // A loaded machine (several e2e runs at once) can take longer than the default 30 s to serve the page.
  await page.goto(url, { timeout: 180_000 });
  await page.locator('.monaco-workbench').waitFor({ timeout: 120_000 });
  await page.locator('.activitybar').waitFor({ timeout: 120_000 });
  mkdirSync(ARTIFACTS, { recursive: true });

  return {
    page, url,
    log: () => output,
    outputChannel: (name) => findFiles(join(userData, 'logs'), (f) => f.endsWith(`-${name}.log`) || f === `${name}.log`)
      .map((f) => readFileSync(f, 'utf8')).join('\n'),
    async screenshot(name) {
      const file = join(ARTIFACTS, `${name}.png`);
      mkdirSync(dirname(file), { recursive: true });
      await page.screenshot({ path: file });
      return file;
    },
    async close() {
      await browser.close().catch(() => {});
      server.kill('SIGTERM');
      await new Promise((r) => (server.exitCode !== null ? r(undefined) : server.once('exit', r)));
      // The extension host can outlive the server's exit by a moment and still write the workspace's
      // storage (seen: ENOTEMPTY in the after hook of a file whose test passed): retried, not failed.
      rmSync(home, { recursive: true, force: true, maxRetries: 10 });
    },
  };
}

function findFiles(dir: string, wanted: (name: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? findFiles(join(dir, e.name), wanted) : wanted(e.name) ? [join(dir, e.name)] : []);
}

/** Runs a command from the palette by its title, as a user types it. */
export async function runCommand(page: Page, title: string): Promise<void> {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  // On a loaded machine the palette sometimes opens and closes again at once (focus moving to a
  // terminal or notification that just appeared): open it again, as a person would.
  // It can also close between showing and typing (seen after the walkthrough page took focus), or
  // after typing, before its row shows (seen when a view a link opened took focus): its rows are then
  // left hidden, so a row that does not show within 15 s means the palette is opened again.
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first();
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('F1');
    try {
      await input.waitFor({ timeout: 10_000 });
      await input.fill(`>${title}`, { timeout: 5_000 });
      await row.waitFor({ timeout: 15_000 });
      break;
    } catch (err) {
      if (attempt === 3) throw err;
      await page.keyboard.press('Escape');
    }
  }
  await input.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 30_000 }).catch(() => {});
}

/**
 * Chooses an entry of the open context menu (VS Code draws its own menus in the browser). The
 * menu ignores a mouse-up that comes right after it opened, so the entry is chosen the way a
 * keyboard user does: point at it, then Enter.
 */
export async function chooseFromContextMenu(page: Page, name: string): Promise<void> {
  const item = page.locator('.context-view .monaco-menu').getByRole('menuitem', { name, exact: true });
  await item.hover();
  await item.press('Enter');
  await page.locator('.context-view .monaco-menu').waitFor({ state: 'detached', timeout: 10_000 });
}

/**
 * Right-clicks `target` and chooses `name` from its menu. A tree that redraws (a reload after Docker
 * events) can take the menu away before it is used: open it again, as a person would.
 */
export async function chooseFromMenuOf(page: Page, target: Locator, name: string): Promise<void> {
  const menu = page.locator('.context-view .monaco-menu');
  const item = menu.getByRole('menuitem', { name, exact: true });
  for (let attempt = 1; ; attempt++) {
    await target.click({ button: 'right' });
    // The redraw can also come while the item is hovered: the menu is gone, and it is opened again.
    const chosen = await item.waitFor({ timeout: 5_000 })
      .then(() => item.hover({ timeout: 5_000 }))
      .then(() => item.press('Enter', { timeout: 5_000 }))
      .then(() => true, () => false);
    if (chosen) break;
    if (attempt === 3) throw new Error(`The menu of ${await target.innerText().catch(() => 'the row')} did not offer "${name}" in three tries.`);
    await page.keyboard.press('Escape');
  }
  await menu.waitFor({ state: 'detached', timeout: 10_000 });
}

/** Drags the side bar's edge so that tree descriptions are readable in screenshots. */
export async function widenSideBar(page: Page, width = 560): Promise<void> {
  const sidebar = await page.locator('.part.sidebar').boundingBox();
  if (!sidebar) return;
  const x = sidebar.x + sidebar.width;
  const y = sidebar.y + sidebar.height / 2;
  await page.mouse.move(x - 1, y);
  await page.mouse.down();
  await page.mouse.move(sidebar.x + width, y, { steps: 5 });
  await page.mouse.up();
  await page.mouse.move(900, 300);
}

/** The rows of the Sandboxes view. */
export function sandboxesView(page: Page): Locator {
  return page.locator('.pane:has(.pane-header[aria-label*="Sandboxes"])');
}

/** Text of the visible terminal, read from xterm's DOM renderer. */
export async function terminalText(page: Page): Promise<string> {
  const text = await page.locator('.terminal-wrapper.active .xterm-rows').first().innerText().catch(() => '');
  // The DOM renderer uses non-breaking spaces; rows end with padding.
  return text.replace(/\u00a0/g, ' ').split('\n').map((l) => l.trimEnd()).join('\n');
}

/** Waits until the active terminal's text matches. */
export async function waitForTerminal(page: Page, pattern: RegExp, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = await terminalText(page);
    if (pattern.test(text)) return text;
    await page.waitForTimeout(200);
  }
  throw new Error(`terminal never showed ${pattern}; it shows:\n${text}`);
}

type Box = { x: number; y: number; width: number; height: number };

/** The boxes of the given elements once all are laid out: Monaco re-renders lines and decorations
 * as it settles, so an element that was just found can have no box for a moment. */
export async function settledBoxes(page: Page, ...locators: Locator[]): Promise<Box[]> {
  for (let i = 0; ; i++) {
    const boxes = await Promise.all(locators.map((l) => l.boundingBox()));
    if (boxes.every((b) => b)) return boxes as Box[];
    if (i >= 100) throw new Error('an element never got on screen (no bounding box after 10 s)');
    await page.waitForTimeout(100);
  }
}
