// "Paddock: Bridge Activity": every MCP bridge call of this window's sandboxes (and of the
// bridges VS Code's chat runs for its folders), live, as the bridges append to their audit logs.
import * as vscode from 'vscode';
import { activitySources, formatActivity } from '../bridge/activity.js';
import { AuditFollower } from '../bridge/auditFollow.js';
import type { AuditEntry } from '../bridge/audit.js';
import { bridgeRoot } from '../engine/stateFolder.js';
import { DisposableOwner } from './lifecycle.js';
import type { SandboxSource } from './source.js';
import type { TreeNode } from './treeModel.js';

export const BRIDGE_ACTIVITY_CHANNEL = 'Paddock: Bridge Activity';
const STILL_RUNNING_AFTER_MS = 2000;

export class BridgeActivity extends DisposableOwner implements vscode.Disposable {
  private readonly channel = vscode.window.createOutputChannel(BRIDGE_ACTIVITY_CHANNEL);
  private readonly follower: AuditFollower;
  /** Sandboxes of other folders the user asked about (from the tree's "Show All"). */
  private readonly extra = new Set<string>();
  private readonly root = bridgeRoot();
  /** Calls whose audit "started" line came without an outcome yet, by call id. */
  private readonly running = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(private readonly source: SandboxSource, private readonly log: vscode.LogOutputChannel) {
    super();
    this.channel.appendLine(`# Every call the agents made through the MCP bridge: time, sandbox, tool, arguments (masked), decision, [rule], duration, masked secrets.`);
    this.channel.appendLine(`# Audit logs: ${this.root}. The CLI shows the same with "paddock bridge log SANDBOX".`);
    this.follower = new AuditFollower(this.root, (entry, s) => this.printEntry(entry, s.label));
    this.register({ dispose: () => this.follower.close() });
    this.register({ dispose: () => { for (const t of this.running.values()) clearTimeout(t); this.running.clear(); } });
    this.register(source.onDidChange(() => this.update()));
    this.register(vscode.workspace.onDidChangeWorkspaceFolders(() => this.update()));
    // Last: the follower may still be writing to it until it is closed.
    this.register(this.channel);
    this.update();
  }

  private update(): void {
    const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => ({ name: f.name, path: f.uri.fsPath }));
    const before = new Set(this.follower.sources.map((s) => s.file));
    const sources = activitySources(folders, this.source.sandboxes.map((v) => v.details), this.root, [...this.extra]);
    this.follower.setSources(sources);
    const added = sources.filter((s) => !before.has(s.file)).map((s) => s.label);
    if (added.length) this.log.info(`Bridge activity: following ${added.join(', ')}`);
  }

  /**
   * One line per call, as `paddock bridge log` shows it: the audit's "started" line (written before
   * the call runs) appears only when no outcome follows within a moment (a long or stuck call).
   */
  private printEntry(entry: AuditEntry, label: string): void {
    if (entry.decision === 'started' && entry.call) {
      const call = entry.call;
      this.running.set(call, setTimeout(() => {
        this.running.delete(call);
        this.channel.appendLine(formatActivity(entry, label));
      }, STILL_RUNNING_AFTER_MS));
      return;
    }
    if (entry.call) {
      clearTimeout(this.running.get(entry.call));
      this.running.delete(entry.call);
    }
    this.channel.appendLine(formatActivity(entry, label));
  }

  /** Shows the channel; from a sandbox's context menu, that sandbox is followed even if it is of another folder. */
  show(arg?: unknown): void {
    const name = (arg as TreeNode | undefined)?.sandbox?.name;
    if (name && !this.extra.has(name)) {
      this.extra.add(name);
      this.update();
    }
    this.channel.show(true);
  }
}
