import * as vscode from 'vscode';
import { DisposableOwner } from './lifecycle.js';
import type { SandboxSource } from './source.js';
import { buildTree, type TreeNode } from './treeModel.js';

/** The Sandboxes view: nodes from treeModel.ts, data from the store (which follows Docker events). */
export class SandboxTreeProvider extends DisposableOwner implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly changed = this.register(new vscode.EventEmitter<TreeNode | undefined>());
  readonly onDidChangeTreeData = this.changed.event;
  private roots: TreeNode[] = [];
  private showAll = false;

  constructor(private readonly store: SandboxSource) {
    super();
    this.register(store.onDidChange(() => this.rebuild()));
    this.register(vscode.workspace.onDidChangeWorkspaceFolders(() => this.rebuild()));
    // Uptimes age: re-render from the data we have once a minute (no Docker call).
    const ticker = setInterval(() => this.rebuild(), 60_000);
    this.register({ dispose: () => clearInterval(ticker) });
    this.rebuild();
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
    this.roots = this.store.state === 'ready' ? buildTree(folders, this.store.sandboxes, Date.now(), this.showAll || folders.length === 0) : [];
    // The "no sandbox yet" welcome shows when the tree is empty for this window.
    void vscode.commands.executeCommand('setContext', 'paddock.hasSandboxes', this.roots.length > 0);
    this.changed.fire(undefined);
  }

  getChildren(node?: TreeNode): TreeNode[] {
    return node ? [...(node.children ?? [])] : this.roots;
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    const collapsible = !node.children?.length
      ? vscode.TreeItemCollapsibleState.None
      : node.kind === 'workspace' ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed;
    const item = new vscode.TreeItem(node.label, collapsible);
    item.id = node.id;
    item.description = node.description;
    item.tooltip = node.tooltip;
    item.contextValue = node.contextValue;
    if (node.icon) item.iconPath = new vscode.ThemeIcon(node.icon.id, node.icon.color ? new vscode.ThemeColor(node.icon.color) : undefined);
    if (node.kind === 'sandbox' && node.sandbox?.status === 'running') {
      item.command = { command: 'paddock.attach', title: 'Open Terminal', arguments: [node] };
    }
    return item;
  }

  getParent(): undefined {
    return undefined;
  }
}
