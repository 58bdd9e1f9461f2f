// Hosts the MCP bridge of this window's running sandboxes while VS Code is open, so an agent
// started in a Paddock terminal (or by `paddock exec`) finds its bridge, as `paddock run` gives it
// for the length of a CLI session. Same code as the CLI: hostSandboxBridge() in src/bridge/host.ts.
// It also guards their hidden paths (src/engine/hidingGuard.ts), as `paddock run` does.
import * as vscode from 'vscode';
import { BridgeUnavailable, hostSandboxBridge, type HostedBridge } from '../bridge/host.js';
import { describeError } from '../core/errors.js';
import { breachExposure, guardHiddenPaths, protectedAgainMessage, type HidingBreach, type HidingGuard } from '../engine/hidingGuard.js';
import { requestSettings } from './settings.js';
import type { StopReason } from '../engine/engine.js';
import type { SandboxDetails } from '../engine/types.js';
import { DisposableOwner } from './lifecycle.js';
import type { SandboxStore } from './store.js';
import { isInside } from '../core/paths.js';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadPolicy, POLICY_FILE } from '../core/policy.js';
import { approvePolicy, approveWorkspacePolicy, policyInForce, type ApprovalSource } from '../engine/approvedPolicy.js';
import { pushApprovedNetwork } from '../engine/liveRules.js';
// A task's sandbox (its folder is outside the workspace) is this window's when its repository is.
import { taskAt } from '../engine/tasks.js';
import { showInformationMessage, showWarningMessage } from './notify.js';

const POLICY_SUFFIX = '/.paddock/policy.yaml';

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
  /** Policy files as last saved in this editor (a user action), by path. */
  private readonly savedHere = new Map<string, string>();
  /** Disk changes already asked about (workspace and content), so one change asks once. */
  private readonly asked = new Set<string>();
  private readonly settling = new Map<string, ReturnType<typeof setTimeout>>();

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
    // Only the user changes the cage: a save of the policy in this editor approves it and re-hosts
    // the bridges with it; a change on disk that no save here made (the sandbox may have written
    // the file) waits for the user, with the diff (src/engine/approvedPolicy.ts).
    this.register(vscode.workspace.onDidSaveTextDocument((doc) => this.saved(doc)));
    for (const event of [this.policies.onDidChange, this.policies.onDidCreate, this.policies.onDidDelete]) this.register(event((uri) => this.changedOnDisk(uri)));
    this.register({ dispose: () => { for (const t of this.settling.values()) clearTimeout(t); } });
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
      ? this.store.sandboxes.map((v) => v.details).filter((d) => d.status === 'running' && folders.some((f) => isInside(taskAt(d.workspace)?.source ?? d.workspace, f))).map((d) => [d.id, d] as const)
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
      // A breach is followed by an apply that hides the path and starts the sandbox again (state kept), made like this window's sandboxes.
      const { baseImage, caCertificates } = requestSettings(vscode.Uri.file(taskAt(details.workspace)?.source ?? details.workspace));
      const guard = guardHiddenPaths(this.store.engine, details, (b) => {
        this.reported.add(id);
        this.breached(b, details);
      }, { resume: true, templateOptions: { baseImage, caCertificates }, onProgress: (line) => this.log.info(`Sandbox ${details.name}: ${line}`) });
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
          this.log.info(`${err.message} Its agent has no MCP bridge; Apply Changes (state kept) gives it one.`);
        } else {
          this.log.warn(`Could not host the bridge of sandbox ${id.slice(0, 12)}: ${describeError(err)}`);
        }
        return undefined;
      });
      this.hosted.set(id, hosting);
    }
  }

  private saved(doc: vscode.TextDocument): void {
    if (doc.uri.scheme !== 'file' || !doc.uri.path.endsWith(POLICY_SUFFIX)) return;
    const workspace = dirname(dirname(doc.uri.fsPath));
    this.savedHere.set(doc.uri.fsPath, doc.getText());
    this.approve(workspace, 'editor');
  }

  /** Makes the workspace's policy file the rules in force for its sandboxes, and re-hosts their bridges. */
  private approve(workspace: string, source: ApprovalSource): void {
    let loaded;
    try {
      loaded = loadPolicy(workspace);
    } catch (err) {
      // The drift diagnostics show where the file is broken; the rules in force stay.
      this.log.warn(`The policy of ${workspace} does not load; its sandboxes keep their rules: ${describeError(err)}`);
      return;
    }
    // The workspace's own record too: a sandbox created later starts from what the user approved.
    approveWorkspacePolicy(workspace, loaded, source);
    for (const v of this.store.sandboxes) {
      if (v.details.workspace !== workspace && taskAt(v.details.workspace)?.source !== workspace) continue; // a task's sandbox too: its workspace's policy governs it
      approvePolicy(v.details.name, loaded, source);
      this.log.info(`Sandbox ${v.details.name}: policy ${loaded.hash} applied (${source === 'editor' ? 'saved in the editor' : source})`);
      // Its network rules go to the running proxy at once (src/engine/liveRules.ts).
      pushApprovedNetwork(v.details.name, loaded.policy.network, 'editor').catch((err) => this.log.warn(`Sandbox ${v.details.name}: network rules not applied: ${describeError(err)}`));
    }
    this.rehost(workspace);
  }

  /** A change of a policy file on disk: a save made here was approved already; anything else asks. */
  private changedOnDisk(changed: vscode.Uri): void {
    const workspace = vscode.Uri.joinPath(changed, ...(changed.path.endsWith('/.paddock') ? ['..'] : ['..', '..'])).fsPath;
    clearTimeout(this.settling.get(workspace));
    // The save event and the file event of one save arrive in either order: let both land.
    this.settling.set(workspace, setTimeout(() => {
      this.settling.delete(workspace);
      if (!this.isDisposed) void this.askAboutDiskChange(workspace);
    }, 400));
  }

  private async askAboutDiskChange(workspace: string): Promise<void> {
    const file = join(workspace, POLICY_FILE);
    const text = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
    if (text !== undefined && this.savedHere.get(file) === text) return;
    const waiting = this.store.sandboxes
      .filter((v) => v.details.workspace === workspace)
      .map((v) => ({ details: v.details, inForce: policyInForce(v.details) }))
      .filter((s) => s.inForce.pending || s.inForce.pendingError);
    if (!waiting.length) return;
    const key = `${workspace}\0${text ?? '(removed)'}`;
    if (this.asked.has(key)) return;
    this.asked.add(key);
    const names = waiting.map((s) => s.details.name).join(', ');
    this.log.warn(`${file} changed on disk, not by a save in this editor; ${names} keep the approved rules until you apply it.`);
    const message = `${vscode.workspace.asRelativePath(file)} ${text === undefined ? 'was removed' : 'changed'} on disk, not by a save in this editor (the sandbox may have written it). ${names} keep${waiting.length === 1 ? 's' : ''} the rules you approved until you apply it.`;
    for (;;) {
      const choice = await showWarningMessage(message, 'Show Changes', 'Apply', 'Keep Current Rules');
      if (choice === 'Apply') {
        this.approve(workspace, 'editor');
        return;
      }
      if (choice !== 'Show Changes') return;
      const approved = await vscode.workspace.openTextDocument({ language: 'yaml', content: waiting[0].inForce.text || '# No policy file: the defaults applied.\n' });
      const onDisk = text === undefined ? await vscode.workspace.openTextDocument({ language: 'yaml', content: '# (removed)\n' }) : await vscode.workspace.openTextDocument(vscode.Uri.file(file));
      await vscode.commands.executeCommand('vscode.diff', approved.uri, onDisk.uri, `Policy in force ↔ ${vscode.workspace.asRelativePath(file)} on disk`);
    }
  }

  /** The bridges of the workspace's sandboxes take the approved rules in place: open agent sessions follow, no call fails. */
  private rehost(workspace: string): void {
    for (const v of this.store.sandboxes) {
      const hosted = this.hosted.get(v.details.id);
      if (!hosted || (v.details.workspace !== workspace && taskAt(v.details.workspace)?.source !== workspace)) continue;
      void hosted.then((h) => {
        if (!h) return;
        const inForce = policyInForce(v.details);
        h.setPolicy(inForce.policy);
        this.log.info(`Bridge of ${h.sandbox}: the policy changed; it uses the new rules (policy ${inForce.hash})`);
      });
    }
  }

  private breached(b: HidingBreach, d: SandboxDetails): void {
    if (b.action === 'resumed' || b.cause === 'appeared') {
      const message = protectedAgainMessage(b, (p) => vscode.workspace.asRelativePath(p)).replace(/^paddock: /, '');
      this.log.warn(`Sandbox ${b.sandbox}: ${message}`);
      this.store.scheduleReload();
      if (b.action === 'resumed') void showInformationMessage(`Paddock: ${message}`);
      else this.warnWithStart(`Paddock: ${message}`, d, false);
      return;
    }
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
    void showWarningMessage(message, ...(offerStart ? ['Start Sandbox'] : [])).then((choice) => {
      if (choice) void vscode.commands.executeCommand('paddock.start', { sandbox: { id: d.id, name: d.name, workspace: d.workspace, agent: d.agent, status: 'stopped' } });
    });
  }
}
