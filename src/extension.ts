// Composition root of the VS Code extension: builds the services, wires them, and pushes every
// disposable onto context.subscriptions. No module-level state: everything hangs off activate().
import * as vscode from 'vscode';
import { describeError } from './core/errors.js';
import { SandboxEngine } from './engine/engine.js';
import { registerCommands, type Services } from './vscode/commands.js';
import { DriftDiagnostics } from './vscode/drift/diagnostics.js';
import { PolicyEditorProvider } from './vscode/policyEditor/policyEditor.js';
import { registerTerminalProfiles } from './vscode/profiles.js';
import { ENGINE_SETTINGS, endpointInputs } from './vscode/settings.js';
import { SandboxStatusBar } from './vscode/statusBar.js';
import { SandboxStore } from './vscode/store.js';
import { AgentTerminals } from './vscode/terminals.js';
import { SandboxTreeProvider } from './vscode/tree.js';

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Paddock', { log: true });
  const logs = vscode.window.createOutputChannel('Paddock Sandbox Logs');
  const makeEngine = () => {
    try {
      return SandboxEngine.connect(endpointInputs());
    } catch (err) {
      // A broken dockerHost/dockerContext setting: say so, and fall back to the default engine.
      log.error(`${describeError(err)} Using the default engine.`);
      return SandboxEngine.connect({});
    }
  };
  const store = new SandboxStore(makeEngine, log);
  const terminals = new AgentTerminals(() => store.engine);
  const services: Services = { store, terminals, log, logs };
  const tree = new SandboxTreeProvider(store);
  const view = vscode.window.createTreeView('paddock.sandboxes', { treeDataProvider: tree, showCollapseAll: true });
  const statusBar = new SandboxStatusBar(store);

  context.subscriptions.push(
    log, logs, store, terminals, tree, view, statusBar,
    ...registerCommands(services),
    ...registerTerminalProfiles(services),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (ENGINE_SETTINGS.some((s) => e.affectsConfiguration(s))) store.reconnect();
    }),
    tree.onDidChangeTreeData(() => {
      const running = tree.visible.filter((n) => n.sandbox?.status === 'running').length;
      view.badge = running ? { value: running, tooltip: `${running} running sandbox${running === 1 ? '' : 'es'}` } : undefined;
    }),
    vscode.commands.registerCommand('paddock.showAllSandboxes', () => tree.setShowAll(true)),
    vscode.commands.registerCommand('paddock.showWorkspaceSandboxes', () => tree.setShowAll(false)),
    // Drift warnings in agent configs and the policy, with quick fixes; the visual policy editor.
    ...new DriftDiagnostics(store, log).start(),
    ...PolicyEditorProvider.register(context.extensionUri, log),
  );
  store.start();
}

export function deactivate(): void {}
