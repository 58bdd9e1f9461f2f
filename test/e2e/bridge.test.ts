// The MCP bridge in a real VS Code (code-server 4.104 = VS Code 1.104) in a real Chromium: a
// sandbox made by the CLI, its bridge hosted by the extension, calls made by the MCP SDK's client
// through paddock-mcp inside the sandbox (one allowed, one denied) and by a client of the stdio
// bridge that VS Code's chat starts; "Paddock: Show Bridge Activity" shows each call with its decision, live; and the
// Paddock bridge is listed among VS Code's MCP servers. Screenshots under test-results/e2e/.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { bridgePaths } from '../../src/engine/stateFolder.js';
import { CLI, cleanup, engine, paddockOk } from '../support/sandbox.js';
import { ARTIFACTS, chooseFromContextMenu, demoWorkspace, openWorkbench, packageExtension, runCommand, sandboxesView, widenSideBar, type Workbench } from './support/workbench.js';

const text = (r: Awaited<ReturnType<Client['callTool']>>) => (r.content as { text?: string }[]).map((c) => c.text ?? '').join('\n');

describe('VS Code: the MCP bridge and its activity', { timeout: 900_000 }, () => {
  let ws: string;
  let out: string;
  let bridgeDir: string;
  let wb: Workbench;
  let sandboxName: string;
  const previousBridgeDir = process.env.PADDOCK_BRIDGE_DIR;

  before(async () => {
    for (const f of existsSync(ARTIFACTS) ? readdirSync(ARTIFACTS) : []) if (f.startsWith('bridge-')) rmSync(join(ARTIFACTS, f));
    // The CLI, the bridge host and code-server's extension host share this bridge folder (short: it holds sockets).
    bridgeDir = mkdtempSync(join(tmpdir(), 'pbe2e-'));
    process.env.PADDOCK_BRIDGE_DIR = bridgeDir;
    out = mkdtempSync(join(tmpdir(), 'paddock-e2e-vsix-'));
    ws = demoWorkspace();
    await paddockOk(['create', 'shell', ws]);
    [{ name: sandboxName }] = await engine().list({ workspace: ws });
    wb = await openWorkbench(ws, packageExtension(out));
  });

  after(async () => {
    if (wb) await wb.close();
    await cleanup(ws);
    rmSync(out, { recursive: true, force: true });
    rmSync(bridgeDir, { recursive: true, force: true });
    if (previousBridgeDir === undefined) delete process.env.PADDOCK_BRIDGE_DIR;
    else process.env.PADDOCK_BRIDGE_DIR = previousBridgeDir;
  });

  it('shows every bridge call live with its decision, and offers the bridge to VS Code as an MCP server', async () => {
    const { page } = wb;
    try {
      // The output channel is open before any call: what follows must arrive live.
      await page.locator('.activitybar a[aria-label^="Paddock"]').click({ force: true }); // the running-sandbox badge sits over the icon
      const view = sandboxesView(page);
      const row = view.locator('.monaco-list-row', { hasText: 'Shell' }).first();
      await row.waitFor({ timeout: 120_000 });
      await widenSideBar(page);
      await runCommand(page, 'Paddock: Show Bridge Activity');
      const output = page.locator('.part.panel .monaco-editor .view-lines').first();
      // Long lines wrap on screen: the text is read with all white space as single spaces.
      const read = async () => (await output.innerText().catch(() => '')).replace(/[\s\u00a0]+/g, ' ');
      const waitForOutput = async (pattern: RegExp, what: string) => {
        for (let i = 0; i < 300 && !pattern.test(await read()); i++) await page.waitForTimeout(200);
        assert.match(await read(), pattern, `the Bridge Activity output never showed ${what}`);
      };
      await waitForOutput(/Every call the agents made through the MCP bridge/, 'its header');
      await wb.screenshot('bridge-01-activity-empty');

      // VS Code hosts the bridge of the window's running sandbox: a second host is told so.
      const paths = bridgePaths(sandboxName, bridgeDir);
      const endpoint = () => (existsSync(paths.endpoint) ? readFileSync(paths.endpoint, 'utf8').trim() : '');
      for (let i = 0; i < 300 && !(existsSync(paths.socket) && endpoint()); i++) await page.waitForTimeout(200);
      assert.equal(endpoint(), 'unix:/run/paddock/bridge.sock', 'VS Code never hosted the sandbox\'s bridge');
      const second = await paddockOk(['bridge', 'serve', sandboxName]);
      assert.match(second.stderr, /already hosted by another Paddock process/);

      // The agent's way in: an MCP client on paddock-mcp inside the sandbox, as Claude Code runs it.
      const client = new Client({ name: 'paddock-e2e-agent', version: '1.0.0' });
      await client.connect(new StdioClientTransport({ command: 'docker', args: ['exec', '-i', '-u', 'agent', sandboxName, '/run/paddock/paddock-mcp'], stderr: 'ignore' }));
      const policy = await client.callTool({ name: 'get_security_policy', arguments: {} });
      assert.ok(!policy.isError, text(policy));
      assert.equal(JSON.parse(text(policy)).tier, 'moderate', 'the default tier');
      const denied = await client.callTool({ name: 'exec_command', arguments: { container: 'paddock-e2e-not-in-policy', command: 'cat /app/.env' } });
      assert.ok(denied.isError, 'a container outside the policy must be denied');
      await client.close();

      const time = '\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z';
      await waitForOutput(new RegExp(`${time} ${sandboxName} get_security_policy \\(no arguments\\) allowed \\[always allowed\\] \\d+ms masked 0`), 'the allowed call');
      await waitForOutput(new RegExp(`${time} ${sandboxName} exec_command container=paddock-e2e-not-in-policy command="cat /app/.env" DENIED \\[containers\\] \\d+ms masked 0 Denied by containers: "paddock-e2e-not-in-policy" is not a container this bridge may reach`), 'the denied call with its rule and message');
      await wb.screenshot('bridge-02-activity-sandbox-calls');

      // A policy file written on disk (by the sandbox, or anything but the user in this editor) does
      // not change the rules: VS Code asks, with the diff; only Apply makes the bridge take it.
      const tierNow = async (): Promise<string> => {
        const again = new Client({ name: 'paddock-e2e-agent', version: '1.0.0' });
        try {
          await again.connect(new StdioClientTransport({ command: 'docker', args: ['exec', '-i', '-u', 'agent', sandboxName, '/run/paddock/paddock-mcp'], stderr: 'ignore' }));
          const r = await again.callTool({ name: 'get_security_policy', arguments: {} });
          return r.isError ? '' : JSON.parse(text(r)).tier;
        } catch {
          return ''; // between the old host closing and the new one listening
        } finally {
          await again.close().catch(() => {});
        }
      };
      mkdirSync(join(ws, '.paddock'), { recursive: true });
      writeFileSync(join(ws, '.paddock', 'policy.yaml'), 'version: 1\ntier: strict\n');
      const ask = page.locator('.notifications-toasts .notification-toast', { hasText: 'changed on disk, not by a save in this editor' });
      await ask.first().waitFor({ timeout: 30_000 });
      assert.equal(await tierNow(), 'moderate', 'a policy written on disk must not take effect by itself');
      await wb.screenshot('bridge-02b-policy-changed-on-disk-asks');
      await ask.first().locator('.monaco-button', { hasText: 'Show Changes' }).click();
      await page.locator('.tab.active', { hasText: /Policy in force/ }).waitFor({ timeout: 30_000 });
      // The diff shows what the file would change: the written tier against the defaults in force.
      await page.locator('.monaco-diff-editor .view-line', { hasText: 'tier: strict' }).first().waitFor({ timeout: 30_000 });
      await wb.screenshot('bridge-02c-policy-diff');
      await ask.first().locator('.monaco-button', { hasText: 'Apply' }).click();
      let tier = '';
      for (let i = 0; i < 100 && tier !== 'strict'; i++) {
        await page.waitForTimeout(300);
        tier = await tierNow();
      }
      assert.equal(tier, 'strict', 'the bridge never took the applied policy');

      // The stdio bridge, as VS Code's chat starts it for the folder: its calls show under chat:FOLDER.
      const stdio = new Client({ name: 'paddock-e2e-chat', version: '1.0.0' });
      await stdio.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, 'bridge', '--stdio', '--workspace', ws], env: process.env as Record<string, string>, stderr: 'ignore' }));
      const listed = await stdio.callTool({ name: 'list_containers', arguments: {} });
      assert.ok(!listed.isError, text(listed));
      await stdio.close();
      await waitForOutput(new RegExp(`${time} chat:${basename(ws)} list_containers \\(no arguments\\) allowed`), 'the call of the chat bridge');

      // From the sandbox's context menu too.
      await runCommand(page, 'View: Hide Panel');
      await output.waitFor({ state: 'hidden', timeout: 10_000 });
      await row.click({ button: 'right' });
      await chooseFromContextMenu(page, 'Show Bridge Activity');
      await waitForOutput(/exec_command.*DENIED/, 'the calls after opening it from the tree');
      await wb.screenshot('bridge-03-activity-from-tree');

      // The provider is registered (the extension's own log says so) and VS Code lists the server.
      await runCommand(page, 'MCP: List Servers');
      // VS Code started it (the editor's own node running the CLI shipped in the .vsix): "Running".
      const server = page.locator('.quick-input-widget .monaco-list-row', { hasText: `Paddock bridge: ${basename(ws)}` }).filter({ hasText: 'Running' }).first();
      await server.waitFor({ timeout: 60_000 });
      await wb.screenshot('bridge-04-mcp-list-servers');
      // Its output is the bridge's own start line, with the folder's policy.
      await server.click();
      await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Show Output' }).first().click();
      await waitForOutput(new RegExp(`paddock bridge: serving MCP on stdio \\(policy: ${ws}; audit: ${bridgeDir}/stdio-`), 'the MCP server\'s start line');
      await waitForOutput(/Discovered \d+ tools/, 'the bridge\'s tools found by VS Code');
      await wb.screenshot('bridge-05-mcp-server-output');
    } catch (err) {
      await wb.screenshot('bridge-failure').catch(() => {});
      throw new Error(`${(err as Error).message}\n--- code-server log ---\n${wb.log().slice(-3000)}`);
    }
  });
});
