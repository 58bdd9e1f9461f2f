// Composition root of the VS Code extension. Activation stays light: it registers every
// contribution of package.json (commands, terminal profiles, custom editors), the tree view and
// the status bar, then loads the engine half (vscode/services.ts) in the background; the
// contributions delegate to it once loaded. Every disposable goes onto context.subscriptions;
// no module-level state.
import * as vscode from 'vscode';
import type { LoadedServices } from './vscode/services.js';
import { registerBridgeServers } from './vscode/mcpProvider.js';
import { DeferredSandboxSource } from './vscode/source.js';
import { SandboxStatusBar } from './vscode/statusBar.js';
import { SandboxTreeProvider } from './vscode/tree.js';
import { SandboxUsage } from './vscode/usage.js';
import { WalkthroughProgress } from './vscode/walkthrough.js';

interface Contributes {
  commands?: { command: string }[];
  terminal?: { profiles?: { id: string }[] };
  customEditors?: { viewType: string }[];
}

// Registered by the loaded half itself: quick fixes that call it exist only once diagnostics do.
const SELF_REGISTERED = new Set(['paddock.drift.applyFix']);

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Paddock', { log: true });
  const source = new DeferredSandboxSource();
  const tree = new SandboxTreeProvider(source);
  const view = vscode.window.createTreeView('paddock.sandboxes', { treeDataProvider: tree, showCollapseAll: true });
  const statusBar = new SandboxStatusBar(source);
  const walkthrough = new WalkthroughProgress(context.extension.id, source, log);
  const local = new Map<string, (...args: any[]) => unknown>([
    ['paddock.showAllSandboxes', () => tree.setShowAll(true)],
    ['paddock.showWorkspaceSandboxes', () => tree.setShowAll(false)],
    // A command rather than a link with arguments: the walkthrough id holds a "#", which a
    // command link in a welcome view cannot carry through.
    ['paddock.openWalkthrough', () => walkthrough.open()],
  ]);

  // A plain require on the next turn: esbuild keeps it (the path is external), so the engine half
  // stays in its own file (dist/vscode/services.js) and is parsed only after activation returned.
  const loaded: Promise<LoadedServices> = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const services = require('./vscode/services.js') as typeof import('./vscode/services.js');
    return services.startServices(context, log, source);
  });
  loaded.catch((err) => log.error(`Paddock failed to start: ${err?.stack ?? err}`));
  const missing = (what: string) => new Error(`Paddock: ${what} has no implementation (package.json and the code disagree).`);

  const contributes = (context.extension.packageJSON.contributes ?? {}) as Contributes;
  context.subscriptions.push(
    log, source, tree, view, statusBar, walkthrough, tree.followSelection(view),
    new SandboxUsage(tree, view, loaded.then((s) => s.sampleUsage), log),
    ...(contributes.commands ?? []).filter((c) => !SELF_REGISTERED.has(c.command)).map(({ command }) =>
      vscode.commands.registerCommand(command, async (...args: unknown[]) => {
        const own = local.get(command);
        if (own) return own(...args);
        const handler = (await loaded).commands.get(command);
        if (!handler) throw missing(`command ${command}`);
        return handler(...args);
      })),
    ...(contributes.terminal?.profiles ?? []).map(({ id }) => vscode.window.registerTerminalProfileProvider(id, {
      async provideTerminalProfile(token) {
        const provider = (await loaded).terminalProfiles.get(id);
        if (!provider) throw missing(`terminal profile ${id}`);
        return provider.provideTerminalProfile(token);
      },
    })),
    ...(contributes.customEditors ?? []).map(({ viewType }) => vscode.window.registerCustomEditorProvider(viewType, {
      async resolveCustomTextEditor(document, panel, token) {
        const provider = (await loaded).customEditors.get(viewType);
        if (!provider) throw missing(`editor ${viewType}`);
        return provider.resolveCustomTextEditor(document, panel, token);
      },
    }, { supportsMultipleEditorsPerDocument: true })),
    // The MCP bridge offered to VS Code's chat (1.101+; skipped where the API is missing).
    ...registerBridgeServers(context, source, log),
    tree.onDidChangeTreeData(() => {
      view.message = tree.message;
      const running = tree.visible.filter((n) => n.sandbox?.status === 'running').length;
      view.badge = running ? { value: running, tooltip: `${running} running sandbox${running === 1 ? '' : 'es'}` } : undefined;
    }),
  );
}

export function deactivate(): void {}
