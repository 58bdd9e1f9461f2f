import * as vscode from 'vscode';
import { DisposableOwner } from './lifecycle.js';
import { isInside } from '../core/paths.js';
import { currentFolder } from './settings.js';
import type { SandboxSource } from './source.js';
import { workspaceSummary } from './treeModel.js';

/** The active workspace's sandbox state; a click offers the actions (paddock.showActions). */
export class SandboxStatusBar extends DisposableOwner implements vscode.Disposable {
  private readonly item = this.register(vscode.window.createStatusBarItem('paddock.status', vscode.StatusBarAlignment.Left, 50));

  constructor(private readonly store: SandboxSource) {
    super();
    this.item.name = 'Paddock';
    this.item.command = 'paddock.showActions';
    this.register(store.onDidChange(() => this.update()));
    this.register(vscode.window.onDidChangeActiveTextEditor(() => this.update()));
    // The walkthrough's policy step is done once a folder has a policy file (package.json completionEvents).
    const policies = this.register(vscode.workspace.createFileSystemWatcher('**/.paddock/policy.yaml', false, true, false));
    const checkPolicy = () => void vscode.workspace.findFiles('**/.paddock/policy.yaml', '**/node_modules/**', 1)
      .then((found) => vscode.commands.executeCommand('setContext', 'paddock.hasPolicyFile', found.length > 0));
    this.register(policies.onDidCreate(checkPolicy));
    this.register(policies.onDidDelete(checkPolicy));
    checkPolicy();
    this.update();
    this.item.show();
  }

  update(): void {
    const folder = currentFolder();
    if (this.store.state === 'unreachable') {
      this.item.text = '$(warning) Paddock: no Docker engine';
      this.item.tooltip = `No Docker engine answers: ${this.store.lastError ?? ''}\nClick for actions.`;
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
      return;
    }
    this.item.backgroundColor = undefined;
    if (this.store.state === 'connecting') {
      this.item.text = '$(sync~spin) Paddock';
      this.item.tooltip = 'Connecting to the Docker engine';
      return;
    }
    const summary = workspaceSummary(folder?.uri.fsPath, this.store.sandboxes, folder ? this.store.tasks?.get(folder.uri.fsPath) : undefined);
    // A policy file that does not load leaves the bridge on the rules last applied: say so here, not only in the log.
    const broken = folder && this.store.sandboxes.find((s) => s.policyError && isInside(s.details.workspace, folder.uri.fsPath));
    if (broken) {
      this.item.text = `$(warning) Paddock: ${summary.text} · policy broken`;
      this.item.tooltip = `${folder.name}: .paddock/policy.yaml does not load (${broken.policyError}). The bridge takes no new rules until it loads: it keeps the rules last applied${broken.bridgeContainers?.length ? '' : ' and reaches no container'}. Click for actions (Open Policy).`;
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
      return;
    }
    this.item.text = `${summary.running ? '$(vm-running)' : '$(vm-outline)'} Paddock: ${summary.text}`;
    this.item.tooltip = `${folder ? folder.name : 'No folder open'}: ${summary.text}. Click for sandbox actions.`;
  }
}
