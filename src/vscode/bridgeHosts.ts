// Hosts the MCP bridge of this window's running sandboxes while VS Code is open, so an agent
// started in a Paddock terminal (or by `paddock exec`) finds its bridge, as `paddock run` gives it
// for the length of a CLI session. Same code as the CLI: hostSandboxBridge() in src/bridge/host.ts.
// It also guards their hidden paths (src/engine/hidingGuard.ts), as `paddock run` does.
import * as vscode from 'vscode';
import { BridgeUnavailable, hostSandboxBridge, type HostedBridge } from '../bridge/host.js';
import { describeError } from '../core/errors.js';
import { breachExposure, guardHiddenPaths, type HidingBreach, type HidingGuard } from '../engine/hidingGuard.js';
import type { StopReason } from '../engine/engine.js';
import type { SandboxDetails } from '../engine/types.js';
import { DisposableOwner } from './lifecycle.js';
import type { SandboxStore } from './store.js';
import { isInside } from '../core/paths.js';

/** A removed sandbox's bridge folder is already gone: closing its server is all that is left to do. */
async function closeQuietly(hosted: HostedBridge | undefined): Promise<void> {
  await hosted?.close().catch(() => {});
}

export class BridgeHosts extends DisposableOwner implements vscode.Disposable {
  /** By sandbox id: the bridge this window hosts (undefined while starting or when another process hosts it). */
  private readonly hosted = new Map<string, Promise<HostedBridge | undefined>>();
  /** Sandboxes whose bridge cannot be hosted (made before the bridge existed): said once, not retried. */
  private readonly unavailable = new Set<string>();
  /** By sandbox id: the watch on its hidden paths (every running sandbox of the window, hosted here or not). */
  private readonly guards = new Map<string, { guard: HidingGuard; details: SandboxDetails }>();
  /** Sandboxes whose guard here reported a breach (its own message said why they stopped). */
  private readonly reported = new Set<string>();
  // The folder too: a .paddock folder made together with its file may be reported as the folder alone.
  private readonly policies = vscode.workspace.createFileSystemWatcher('**/{.paddock,.paddock/policy.yaml}');

  constructor(private readonly store: SandboxStore, private readonly log: vscode.LogOutputChannel) {
    super();
    this.register({
      dispose: () => {
        for (const watched of this.guards.values()) watched.guard.close();
        this.guards.clear();
        this.reported.clear();
      },
    });
    this.register(store.onDidChange(() => this.sync()));
    this.register(vscode.workspace.onDidChangeWorkspaceFolders(() => this.sync()));
    this.register(this.policies);
    // The rules are read when hosting starts: a changed policy re-hosts its sandboxes' bridges.
    for (const event of [this.policies.onDidChange, this.policies.onDidCreate, this.policies.onDidDelete]) this.register(event((uri) => this.rehost(uri)));
    this.register({
      dispose: () => {
        for (const hosted of this.hosted.values()) void hosted.then((h) => closeQuietly(h));
        this.hosted.clear();
      },
    });
    this.sync();
  }

  private sync(): void {
    if (this.isDisposed) return;
    const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
    const wanted = new Map(this.store.state === 'ready'
      ? this.store.sandboxes.map((v) => v.details).filter((d) => d.status === 'running' && folders.some((f) => isInside(d.workspace, f))).map((d) => [d.id, d] as const)
      : []);
    for (const [id, watched] of this.guards) {
      if (wanted.has(id)) continue;
      this.guards.delete(id);
      // It may have stopped because of a replace (its init stops it, too): a last look reports that,
      // and what the init said when it stopped the sandbox covers the rest (a protected path removed).
      void watched.guard.settled().finally(async () => {
        watched.guard.close();
        if (this.reported.delete(id) || this.isDisposed) return;
        const why = await this.store.engine.stopReason(id).catch(() => undefined);
        if (why) this.stoppedItself(watched.details, why);
      });
    }
    for (const [id, details] of wanted) {
      if (this.guards.has(id)) continue;
      const guard = guardHiddenPaths(this.store.engine, details, (b) => {
        this.reported.add(id);
        this.breached(b, details);
      });
      this.guards.set(id, { guard, details });
    }
    for (const [id, hosted] of this.hosted) {
      if (wanted.has(id)) continue;
      this.hosted.delete(id);
      void hosted.then((h) => closeQuietly(h));
    }
    for (const id of wanted.keys()) {
      if (this.hosted.has(id) || this.unavailable.has(id)) continue;
      const hosting = hostSandboxBridge(this.store.engine, id).then((h) => {
        if (!h.hosting) {
          // Another process (paddock run, another window) hosts it: try again on the next change.
          this.hosted.delete(id);
          return undefined;
        }
        this.log.info(`Bridge of ${h.sandbox}: hosted on ${h.url} (${h.transport}); audit ${h.paths.audit}`);
        for (const note of h.notes) this.log.warn(`Bridge of ${h.sandbox}: ${note}`);
        if (this.isDisposed || this.hosted.get(id) !== hosting) {
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

  private breached(b: HidingBreach, d: SandboxDetails): void {
    const what = b.paths.map((p) => vscode.workspace.asRelativePath(p)).join(', ');
    this.log.warn(`Sandbox ${b.sandbox}: ${b.paths.join(', ')} replaced on the host; ${b.action}${b.error ? ` (${b.error})` : ''}`);
    const exposed = breachExposure(b);
    const message = b.action === 'stopped'
      ? `Paddock stopped ${b.sandbox}: ${what} was replaced on the host (a save by rename), which would have made it ${exposed} inside. Start the sandbox again to protect it.`
      : `${what} was replaced on the host and may be ${exposed} in ${b.sandbox}; Paddock could not stop it${b.error ? ` (${b.error})` : ''}. Stop it now.`;
    // Starting it again is the fix only once it stopped; otherwise the user has to stop it first.
    this.warnWithStart(message, d, b.action === 'stopped');
  }

  /** A sandbox its own init stopped (templates/base/paddock-init) without the guard here seeing why. */
  private stoppedItself(d: SandboxDetails, why: StopReason): void {
    this.log.warn(`Sandbox ${d.name} stopped itself: ${why.text}`);
    const what = why.paths.map((p) => vscode.workspace.asRelativePath(p)).join(', ');
    this.warnWithStart(`${d.name} stopped itself: ${what} was replaced or removed on the host, which lifted its protection inside. Start the sandbox again to protect it.`, d, true);
  }

  private warnWithStart(message: string, d: SandboxDetails, offerStart: boolean): void {
    void vscode.window.showWarningMessage(message, ...(offerStart ? ['Start Sandbox'] : [])).then((choice) => {
      if (choice) void vscode.commands.executeCommand('paddock.start', { sandbox: { id: d.id, name: d.name, workspace: d.workspace, agent: d.agent, status: 'stopped' } });
    });
  }
}
