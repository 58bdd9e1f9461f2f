// Hosts the MCP bridge of this window's running sandboxes while VS Code is open, so an agent
// started in a Paddock terminal (or by `paddock exec`) finds its bridge, as `paddock run` gives it
// for the length of a CLI session. Same code as the CLI: hostSandboxBridge() in src/bridge/host.ts.
import * as vscode from 'vscode';
import { BridgeUnavailable, hostSandboxBridge, type HostedBridge } from '../bridge/host.js';
import { describeError } from '../core/errors.js';
import type { SandboxStore } from './store.js';
import { isInside } from './treeModel.js';

/** A removed sandbox's bridge folder is already gone: closing its server is all that is left to do. */
async function closeQuietly(hosted: HostedBridge | undefined): Promise<void> {
  await hosted?.close().catch(() => {});
}

export class BridgeHosts implements vscode.Disposable {
  /** By sandbox id: the bridge this window hosts (undefined while starting or when another process hosts it). */
  private readonly hosted = new Map<string, Promise<HostedBridge | undefined>>();
  /** Sandboxes whose bridge cannot be hosted (made before the bridge existed): said once, not retried. */
  private readonly unavailable = new Set<string>();
  private readonly disposables: vscode.Disposable[] = [];
  private disposed = false;
  // The folder too: a .paddock folder made together with its file may be reported as the folder alone.
  private readonly policies = vscode.workspace.createFileSystemWatcher('**/{.paddock,.paddock/policy.yaml}');

  constructor(private readonly store: SandboxStore, private readonly log: vscode.LogOutputChannel) {
    this.disposables.push(
      store.onDidChange(() => this.sync()),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.sync()),
      this.policies,
      // The rules are read when hosting starts: a changed policy re-hosts its sandboxes' bridges.
      ...[this.policies.onDidChange, this.policies.onDidCreate, this.policies.onDidDelete].map((event) => event((uri) => this.rehost(uri))),
    );
    this.sync();
  }

  private sync(): void {
    if (this.disposed) return;
    const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
    const wanted = new Set(this.store.state === 'ready'
      ? this.store.sandboxes.map((v) => v.details).filter((d) => d.status === 'running' && folders.some((f) => isInside(d.workspace, f))).map((d) => d.id)
      : []);
    for (const [id, hosted] of this.hosted) {
      if (wanted.has(id)) continue;
      this.hosted.delete(id);
      void hosted.then((h) => closeQuietly(h));
    }
    for (const id of wanted) {
      if (this.hosted.has(id) || this.unavailable.has(id)) continue;
      const hosting = hostSandboxBridge(this.store.engine, id).then((h) => {
        if (!h.hosting) {
          // Another process (paddock run, another window) hosts it: try again on the next change.
          this.hosted.delete(id);
          return undefined;
        }
        this.log.info(`Bridge of ${h.sandbox}: hosted on ${h.url} (${h.transport}); audit ${h.paths.audit}`);
        for (const note of h.notes) this.log.warn(`Bridge of ${h.sandbox}: ${note}`);
        if (this.disposed || this.hosted.get(id) !== hosting) {
          void closeQuietly(h);
          return undefined;
        }
        return h;
      }, (err) => {
        this.hosted.delete(id);
        if (err instanceof BridgeUnavailable) {
          this.unavailable.add(id);
          this.log.info(`${err.message} Its agent has no MCP bridge; recreate the sandbox to give it one.`);
        } else {
          this.log.warn(`Could not host the bridge of sandbox ${id.slice(0, 12)}: ${describeError(err)}`);
        }
        return undefined;
      });
      this.hosted.set(id, hosting);
    }
  }

  private rehost(changed: vscode.Uri): void {
    const workspace = vscode.Uri.joinPath(changed, ...(changed.path.endsWith('/.paddock') ? ['..'] : ['..', '..'])).fsPath;
    for (const v of this.store.sandboxes) {
      const hosted = this.hosted.get(v.details.id);
      if (!hosted || v.details.workspace !== workspace) continue;
      this.hosted.delete(v.details.id);
      void hosted.then(async (h) => {
        await closeQuietly(h);
        if (h) this.log.info(`Bridge of ${h.sandbox}: the policy changed; hosting it again with the new rules`);
        this.sync();
      });
    }
  }

  dispose(): void {
    this.disposed = true;
    for (const d of this.disposables) d.dispose();
    for (const hosted of this.hosted.values()) void hosted.then((h) => closeQuietly(h));
    this.hosted.clear();
  }
}
