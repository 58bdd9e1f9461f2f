/// <reference types="mocha" />
// Runs inside a real VS Code extension host (npm run test:vscode, VS Code desktop needed).
// Drives the extension through its commands and checks the result in Docker, as the e2e tier
// does through the UI.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { SandboxEngine } from '../../src/engine/engine.js';

const EXTENSION_ID = 'paddock.paddock';

async function until<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('Paddock extension', () => {
  const engine = SandboxEngine.connect();
  const workspace = vscode.workspace.workspaceFolders![0].uri.fsPath;

  after(async () => {
    for (const s of await engine.list({ workspace })) await engine.remove(s.id);
  });

  it('activates and registers every contributed command', async () => {
    const extension = vscode.extensions.getExtension(EXTENSION_ID)!;
    await extension.activate();
    const contributed: { command: string }[] = extension.packageJSON.contributes.commands;
    // The engine half loads right after activation and registers the rest (quick-fix commands).
    await until(async () => {
      const registered = new Set(await vscode.commands.getCommands(true));
      return contributed.every((c) => registered.has(c.command)) || undefined;
    }, 'every contributed command to be registered', 30_000);
  });

  it('Open Shell in Sandbox creates the sandbox of the workspace and opens its terminal', async () => {
    await vscode.commands.executeCommand('paddock.openShell');
    const sandbox = await until(async () => (await engine.list({ workspace })).find((s) => s.agent === 'shell' && s.status === 'running'), 'a running shell sandbox');
    const terminal = await until(async () => vscode.window.terminals.find((t) => t.name.startsWith('Shell (sandboxed)')), 'the agent terminal');
    assert.ok(terminal);
    // Running it again reuses the sandbox (same container).
    await vscode.commands.executeCommand('paddock.openShell');
    const again = await engine.list({ workspace });
    assert.deepEqual(again.map((s) => s.id), [sandbox.id]);
  });

  it('Stop and Start act on the sandbox given by the tree', async () => {
    const [sandbox] = await engine.list({ workspace });
    const node = { sandbox: { id: sandbox.id, name: sandbox.name, workspace, agent: sandbox.agent, status: 'running' } };
    await vscode.commands.executeCommand('paddock.stop', node);
    assert.equal((await engine.get(sandbox.id)).status, 'stopped');
    await vscode.commands.executeCommand('paddock.start', { sandbox: { ...node.sandbox, status: 'stopped' } });
    assert.equal((await engine.get(sandbox.id)).status, 'running');
  });
});
