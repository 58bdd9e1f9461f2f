import { join } from 'node:path';
import * as vscode from 'vscode';
import { describeError } from '../core/errors.js';
import { POLICY_FILE } from '../core/policy.js';
import { applyPolicyEdit } from '../core/policyYamlEdit.js';
import { applyTextChange, currentText } from './drift/textChange.js';
import { showErrorMessage, showInformationMessage } from './notify.js';

export const ADD_BRIDGE_CONTAINERS = 'paddock.addBridgeContainers';

/**
 * "Add compose project" in an empty "Bridge containers" group: adds the entry to bridge.containers
 * (keeping the file's comments and layout) and saves, which applies it to the workspace's bridges
 * (bridgeHosts.ts approves a save made in the editor). A user action, never a sandbox's.
 */
export function registerTreeActions(log: vscode.LogOutputChannel, offered: (workspace: string) => readonly string[]): vscode.Disposable {
  return vscode.commands.registerCommand(ADD_BRIDGE_CONTAINERS, async (workspace: unknown, entry: unknown) => {
    if (typeof workspace !== 'string' || typeof entry !== 'string' || !entry) return;
    // Only a project the tree offers: run another way (a command link), "*" would let the bridge reach every container.
    if (!offered(workspace).includes(entry)) {
      log.warn(`bridge.containers: "${entry}" is not a compose project offered for ${workspace}; nothing was added`);
      void showErrorMessage(`Paddock: "${entry}" is not a running compose project of this workspace: nothing was added to bridge.containers.`);
      return;
    }
    const uri = vscode.Uri.file(join(workspace, POLICY_FILE));
    try {
      const text = (await currentText(uri)) ?? 'version: 1\n';
      const next = applyPolicyEdit(text, { op: 'add', path: ['bridge', 'containers'], value: entry }).text;
      const document = await applyTextChange(uri, next, { save: true });
      log.info(`bridge.containers: added "${entry}" in ${uri.fsPath}`);
      const open = await showInformationMessage(`Paddock: the bridge now reaches the compose project "${entry}" (added to bridge.containers${document?.isDirty ? '; save the policy to apply it' : ''}).`, 'Open Policy');
      if (open) await vscode.window.showTextDocument(uri);
    } catch (err) {
      void showErrorMessage(`Paddock: could not add "${entry}" to bridge.containers: ${describeError(err)}`, 'Open Policy').then((c) => {
        if (c) void vscode.window.showTextDocument(uri);
      });
    }
  });
}
