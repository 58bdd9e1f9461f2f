import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import * as vscode from 'vscode';
import { describeError, PaddockError } from '../../core/errors.js';
import { checkEntry, editorModel } from '../../core/policyEditorModel.js';
import { editHideRule } from '../../core/policyHideRules.js';
import { applyPolicyEdit, minimalEdit, type TextEdit } from '../../core/policyYamlEdit.js';
import { DEFAULT_HIDE, POLICY_FILE } from '../../core/policy.js';
import { computeHidePreview } from './preview.js';
import { parseWebviewMessage, type HostMessage } from './protocol.js';

export const POLICY_EDITOR_VIEW_TYPE = 'paddock.policyEditor';
export const OPEN_POLICY_EDITOR_COMMAND = 'paddock.openPolicyEditor';

/**
 * The policy editor: a custom text editor over `.paddock/policy.yaml`. Its model is the text
 * document, so every edit from the webview becomes a WorkspaceEdit on the document: undo, redo,
 * dirty state, save and the text editor side by side all work as for typing. The webview only
 * renders what the host sends and asks for edits; the host computes the edits (keeping comments
 * and layout, core/policyYamlEdit.ts) and the preview of hidden files (core/hiding.ts).
 */
export class PolicyEditorProvider implements vscode.CustomTextEditorProvider {
  constructor(private readonly extensionUri: vscode.Uri, private readonly log: vscode.LogOutputChannel, private readonly previewDelayMs = 200) {}

  async resolveCustomTextEditor(document: vscode.TextDocument, panel: vscode.WebviewPanel): Promise<void> {
    const mediaRoot = vscode.Uri.joinPath(this.extensionUri, 'media', 'policy-editor');
    panel.webview.options = { enableScripts: true, localResourceRoots: [mediaRoot] };
    panel.webview.html = webviewHtml(panel.webview, mediaRoot);
    // The policy belongs to the folder that holds `.paddock/`.
    const workspace = dirname(dirname(document.uri.fsPath));
    const disposables: vscode.Disposable[] = [];
    let previewTimer: NodeJS.Timeout | undefined;
    const post = (message: HostMessage) => void panel.webview.postMessage(message);

    const sendDocument = () => post({ type: 'document', version: document.version, model: editorModel(document.getText()), workspace, defaultHide: DEFAULT_HIDE });
    const sendPreview = () => {
      const version = document.version;
      const model = editorModel(document.getText());
      if (model.syntaxErrors.length) {
        post({ type: 'preview', preview: { version, rules: [], hiddenPaths: 0, hiddenFiles: 0, scannedFiles: 0, error: 'The file is not valid YAML, so nothing can be previewed.' } });
        return;
      }
      try {
        post({ type: 'preview', preview: computeHidePreview(workspace, model.lists.hide.items, model.lists.readOnly.items, version) });
      } catch (err) {
        post({ type: 'preview', preview: { version, rules: [], hiddenPaths: 0, hiddenFiles: 0, scannedFiles: 0, error: `The workspace could not be scanned: ${describeError(err)}` } });
      }
    };
    const schedulePreview = () => {
      clearTimeout(previewTimer);
      previewTimer = setTimeout(sendPreview, this.previewDelayMs);
    };

    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(workspace), '**/*'));
    disposables.push(
      watcher, watcher.onDidCreate(schedulePreview), watcher.onDidDelete(schedulePreview),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document.uri.toString() !== document.uri.toString() || !e.contentChanges.length) return;
        sendDocument();
        schedulePreview();
      }),
      panel.webview.onDidReceiveMessage(async (raw: unknown) => {
        const parsed = parseWebviewMessage(raw);
        if (!parsed.ok) {
          this.log.warn(parsed.error);
          return;
        }
        const message = parsed.message;
        if (message.type === 'ready') {
          sendDocument();
          sendPreview();
        } else if (message.type === 'openText') {
          await vscode.commands.executeCommand('vscode.openWith', document.uri, 'default', panel.viewColumn);
        } else if (message.type === 'check') {
          post({ type: 'checkResult', requestId: message.requestId, path: message.path, value: message.value, error: checkEntry(message.path, message.value) });
        } else {
          try {
            const text = document.getText();
            let change: TextEdit | undefined;
            if (message.type === 'hideRule') {
              change = minimalEdit(text, editHideRule(text, message.position, message.pattern, message.action));
            } else {
              // The same checks as typing shows (and as create applies): nothing invalid is written.
              const e = message.edit;
              const problem = (e.op === 'add' || e.op === 'replace') ? checkEntry(e.path, e.value) : undefined;
              if (problem) throw new PaddockError(problem, 'Nothing was written.');
              const result = applyPolicyEdit(text, e);
              change = result.edit;
              if (!result.layoutKept) this.log.info('policy editor: the change was written by re-printing the YAML (comments kept, spacing may differ)');
            }
            if (change) {
              const edit = new vscode.WorkspaceEdit();
              edit.replace(document.uri, new vscode.Range(document.positionAt(change.start), document.positionAt(change.end)), change.text);
              if (!(await vscode.workspace.applyEdit(edit))) throw new Error('VS Code refused the edit.');
            }
            post({ type: 'editResult', requestId: message.requestId, ok: true });
          } catch (err) {
            const text = err instanceof PaddockError ? `${err.message} ${err.hint ?? ''}`.trim() : describeError(err);
            this.log.warn(`policy editor: ${text}`);
            post({ type: 'editResult', requestId: message.requestId, ok: false, error: text });
          }
        }
      }),
    );
    panel.onDidDispose(() => {
      clearTimeout(previewTimer);
      for (const d of disposables) d.dispose();
    });
  }
}

/** Opens the policy editor on the workspace's policy file (creating the file from the defaults' outline when asked). */
export async function openPolicyEditor(arg?: unknown): Promise<void> {
  let uri: vscode.Uri | undefined;
  if (arg instanceof vscode.Uri && arg.path.endsWith('/.paddock/policy.yaml')) uri = arg;
  if (!uri) {
    const active = vscode.window.activeTextEditor?.document.uri;
    const folders = vscode.workspace.workspaceFolders ?? [];
    const folder = (arg instanceof vscode.Uri && vscode.workspace.getWorkspaceFolder(arg))
      || (active && vscode.workspace.getWorkspaceFolder(active))
      || (folders.length === 1 ? folders[0] : await vscode.window.showWorkspaceFolderPick({ placeHolder: 'Workspace folder whose policy to edit' }));
    if (!folder) return;
    uri = vscode.Uri.joinPath(folder.uri, ...POLICY_FILE.split(/[\\/]/));
  }
  try {
    await vscode.workspace.fs.stat(uri);
  } catch {
    // Opening the editor on a missing file is what "Open Policy" offers to create; reuse it.
    await vscode.commands.executeCommand('paddock.openPolicy', vscode.Uri.joinPath(uri, '..', '..'));
    try { await vscode.workspace.fs.stat(uri); } catch { return; }
  }
  await vscode.commands.executeCommand('vscode.openWith', uri, POLICY_EDITOR_VIEW_TYPE);
}

function webviewHtml(webview: vscode.Webview, mediaRoot: vscode.Uri): string {
  const nonce = randomBytes(18).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(mediaRoot, 'out', 'main.js'));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(mediaRoot, 'policy-editor.css'));
  const csp = [
    "default-src 'none'",
    `style-src ${webview.cspSource} 'nonce-${nonce}'`,
    `font-src ${webview.cspSource}`,
    `img-src ${webview.cspSource} data:`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" nonce="${nonce}" href="${style}">
<title>Paddock Policy</title>
</head>
<body>
<main id="app" aria-live="polite"><p class="muted">Loading the policy…</p></main>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}
