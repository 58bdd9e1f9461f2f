import * as vscode from 'vscode';
import { DisposableOwner } from './lifecycle.js';
import type { SandboxSource } from './source.js';
import { withTasks } from './taskModel.js';
import { buildTree, type TreeNode } from './treeModel.js';
import { updateInPlace } from './treeUpdate.js';

export const REVEAL_HIDDEN_PATH = 'paddock.revealHiddenPath';
const DOUBLE_OPEN_MS = 500;

/** The Sandboxes view: nodes from treeModel.ts, data from the store (which follows Docker events). */
export class SandboxTreeProvider extends DisposableOwner implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly changed = this.register(new vscode.EventEmitter<TreeNode | TreeNode[] | undefined>());
  readonly onDidChangeTreeData = this.changed.event;
  private roots: TreeNode[] = [];
  /** Shown above the view (the no-engine welcome names the engine it tried here). */
  message?: string;
  private showAll = false;

  constructor(private readonly store: SandboxSource) {
    super();
    this.register(store.onDidChange(() => this.rebuild()));
    this.register(vscode.workspace.onDidChangeWorkspaceFolders(() => this.rebuild()));
    // Uptimes age: re-render from the data we have once a minute (no Docker call).
    const ticker = setInterval(() => this.rebuild(), 60_000);
    this.register({ dispose: () => clearInterval(ticker) });
    this.register(vscode.commands.registerCommand(REVEAL_HIDDEN_PATH, (path: string) => this.revealOnSecondOpen(path)));
    this.rebuild();
  }

  private lastOpen?: { path: string; at: number };

  /**
   * A hidden path's command runs on each open of its row: a click (in the default single-click
   * mode) and Enter or a double click. Revealing switches the side bar to the Explorer, so a
   * single click must not: the path is revealed on the second open within the double-click time,
   * or at once when the list opens on double click only or the row was already selected (Enter).
   */
  private revealOnSecondOpen(path: string): void {
    const now = Date.now();
    const doubleClickOnly = vscode.workspace.getConfiguration('workbench.list').get<string>('openMode') === 'doubleClick';
    const second = this.lastOpen?.path === path && now - this.lastOpen.at < DOUBLE_OPEN_MS;
    const selectedBefore = this.selectedPath === path && !this.justSelected;
    this.lastOpen = { path, at: now };
    if (doubleClickOnly || second || selectedBefore) void vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(path));
  }

  private selectedPath?: string;
  private justSelected = false;

  /** Follows the view's selection, so Enter on an already selected hidden path reveals it at once. */
  followSelection(view: vscode.TreeView<TreeNode>): vscode.Disposable {
    return view.onDidChangeSelection((e) => {
      this.selectedPath = e.selection[0]?.resourcePath;
      // The click that selects a row also opens it, right after: that open is not an Enter.
      this.justSelected = true;
      setTimeout(() => { this.justSelected = false; }, DOUBLE_OPEN_MS);
    });
  }

  /** Sandboxes of other workspaces (CLI, other windows) are shown on request. */
  setShowAll(showAll: boolean): void {
    this.showAll = showAll;
    void vscode.commands.executeCommand('setContext', 'paddock.showAll', showAll);
    this.rebuild();
  }

  /** The sandboxes the tree shows now. */
  get visible(): TreeNode[] {
    return this.roots.flatMap((r) => r.children ?? []);
  }

  private rebuild(): void {
    const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => ({ name: f.name, path: f.uri.fsPath }));
    // No view message while the engine is unreachable: VS Code hides the welcome view (with its
    // Retry / Open Settings / Show Log actions) whenever a message is set. Which engine was tried,
    // and why it failed, is in the status bar item's tooltip and the log.
    this.message = undefined;
    const now = Date.now();
    // Each folder's tasks under it (taskModel.ts), their sandboxes with them.
    const next = this.store.state === 'ready' ? withTasks(buildTree(folders, this.store.sandboxes, now, this.showAll || folders.length === 0), folders, this.store.tasks, this.store.sandboxes, now) : [];
    // The "no sandbox yet" welcome shows when the tree is empty for this window.
    void vscode.commands.executeCommand('setContext', 'paddock.hasSandboxes', next.length > 0);
    // A refresh of the whole tree drops every row VS Code holds: a context menu opened just before
    // would run its command with no row (it then asks which sandbox or task). So the rows keep
    // their objects: nothing is refreshed when nothing changed, and only the changed rows when
    // the tree kept its shape (the uptimes of the minute tick, a task's ahead count).
    const changed = updateInPlace(this.roots, next);
    if (changed?.length === 0) return;
    if (changed) {
      this.changed.fire(changed);
      return;
    }
    this.roots = next;
    this.usageRows.clear();
    this.changed.fire(undefined);
  }

  /** CPU and memory by sandbox id (usage.ts; sampled only while the view is visible). */
  private usage: ReadonlyMap<string, string> = new Map();
  /** The CPU/memory row of each sandbox, one object for as long as it shows (VS Code keys its rows by these objects). */
  private readonly usageRows = new Map<string, { -readonly [K in keyof TreeNode]: TreeNode[K] }>();

  /** Refreshes only what the new sample changed: a sandbox's CPU/memory row, or the sandbox when the row appears or goes. */
  setUsage(usage: ReadonlyMap<string, string>): void {
    const before = this.usage;
    this.usage = usage;
    const changed: TreeNode[] = [];
    const visit = (nodes: readonly TreeNode[]) => {
      for (const node of nodes) {
        const id = node.kind === 'sandbox' ? node.sandbox?.id : undefined;
        if (id && before.get(id) !== usage.get(id)) {
          const row = this.usageRows.get(id);
          if (row && usage.has(id)) {
            row.label = usage.get(id)!;
            changed.push(row);
          } else changed.push(node); // the row appears or goes: its sandbox's children change
        }
        visit(node.children ?? []);
      }
    };
    visit(this.roots);
    if (changed.length) this.changed.fire(changed);
  }

  getChildren(node?: TreeNode): TreeNode[] {
    if (!node) return this.roots;
    const sandbox = node.kind === 'sandbox' && node.sandbox?.status === 'running' ? node.sandbox : undefined;
    const usage = sandbox ? this.usage.get(sandbox.id) : undefined;
    if (!sandbox || !usage) {
      if (sandbox) this.usageRows.delete(sandbox.id);
      return [...(node.children ?? [])];
    }
    let row = this.usageRows.get(sandbox.id);
    if (!row || row.sandbox !== sandbox) {
      row = { id: `${node.id}/usage`, kind: 'item', label: usage, icon: { id: 'pulse' }, sandbox, tooltip: 'CPU and memory now (as docker stats shows them), refreshed every few seconds while this view is visible.' };
      this.usageRows.set(sandbox.id, row);
    }
    row.label = usage;
    return [row, ...(node.children ?? [])];
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    const collapsible = !node.children?.length
      ? vscode.TreeItemCollapsibleState.None
      : node.kind === 'workspace' ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed;
    const item = new vscode.TreeItem(node.label, collapsible);
    item.id = node.id;
    item.description = node.description;
    // The CPU/memory is its own row, refreshed alone: the sandbox's row (and its menu) stays put.
    item.tooltip = node.tooltip;
    item.contextValue = node.contextValue;
    if (node.icon) item.iconPath = new vscode.ThemeIcon(node.icon.id, node.icon.color ? new vscode.ThemeColor(node.icon.color) : undefined);
    // A click on a sandbox row only selects it (nodes of kind 'sandbox' carry no command): starting
    // an agent is an explicit action (inline button, context menu, Enter on "Open Terminal").
    if (node.command) item.command = { command: node.command.id, title: node.command.title, arguments: [...(node.command.args ?? [node])] };
    return item;
  }

  getParent(): undefined {
    return undefined;
  }
}
