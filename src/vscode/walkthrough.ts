// The "Get started with Paddock" walkthrough: ticks the steps already done and opens it by id.
//
// VS Code creates its walkthrough service only when something first asks for it, and then
// registers the extensions' walkthroughs a moment later. So the first "open by id" of a fresh
// profile found no such walkthrough and showed the first one it had (code-server's own web
// walkthrough), and a step whose `onContext:` key was already true at registration, or whose
// command ran before, was never ticked. Asking the service early (a harmless command) and
// ticking from what the extension knows fixes both.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { POLICY_FILE } from '../core/policy-defaults.js';
import { isInside } from '../core/paths.js';
import { DisposableOwner } from './lifecycle.js';
import type { SandboxSource } from './source.js';
import { stepId, StepTicks, walkthroughId, type WalkthroughFacts } from './walkthroughModel.js';

export class WalkthroughProgress extends DisposableOwner implements vscode.Disposable {
  private readonly ticks = new StepTicks();
  private serviceAsked?: Promise<void>;

  constructor(private readonly extensionId: string, private readonly source: SandboxSource, private readonly log: vscode.LogOutputChannel) {
    super();
    this.register(source.onDidChange(() => this.tickDone()));
    const policies = this.register(vscode.workspace.createFileSystemWatcher(`**/${POLICY_FILE}`, false, true, true));
    this.register(policies.onDidCreate(() => this.tickDone()));
    this.register(vscode.workspace.onDidChangeWorkspaceFolders(() => this.tickDone()));
    this.tickDone();
  }

  /** Opens the walkthrough, once VS Code has registered it (see the top of this file). */
  async open(): Promise<void> {
    await this.askService();
    await vscode.commands.executeCommand('workbench.action.openWalkthrough', walkthroughId(this.extensionId));
  }

  private facts(): WalkthroughFacts {
    const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
    return {
      engineReady: this.source.state === 'ready',
      sandboxInWindow: this.source.sandboxes.some((s) => folders.some((f) => isInside(s.details.workspace, f))),
      policyFile: folders.some((f) => existsSync(join(f, POLICY_FILE))),
    };
  }

  private tickDone(): void {
    for (const step of this.ticks.due(this.facts())) {
      // A step not registered yet is still recorded (VS Code stores the tick, then says it does not know the step).
      void vscode.commands.executeCommand('welcome.markStepComplete', stepId(this.extensionId, step))
        .then(undefined, (err) => this.log.debug(`Walkthrough step ${step}: ${err?.message ?? err}`));
    }
    void this.askService();
  }

  /**
   * Makes VS Code create its walkthrough service, which then registers this extension's
   * walkthrough. Unticking a step that does not exist changes nothing (VS Code answers that it
   * does not know it); another host without the command answers that too.
   */
  private askService(): Promise<void> {
    this.serviceAsked ??= Promise.resolve(vscode.commands.executeCommand('welcome.markStepIncomplete', stepId(this.extensionId, 'no-such-step')))
      .then(() => undefined, () => undefined);
    return this.serviceAsked;
  }
}
