import * as vscode from 'vscode';
import { minimalEdit } from '../../core/policyYamlEdit.js';

/** The current text of a file: the open document's (unsaved edits included), else the disk's; undefined when it does not exist. */
export async function currentText(uri: vscode.Uri): Promise<string | undefined> {
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (open) return open.getText();
  try {
    return new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
  } catch {
    return undefined;
  }
}

/**
 * Changes a file to `next` through a WorkspaceEdit (one replacement of the part that differs), so
 * undo, redo and dirty state work as for typing. A file that does not exist is created.
 * Returns the document, or undefined when nothing had to change.
 */
export async function applyTextChange(uri: vscode.Uri, next: string, options: { save?: boolean } = {}): Promise<vscode.TextDocument | undefined> {
  const edit = new vscode.WorkspaceEdit();
  let document: vscode.TextDocument | undefined;
  let wasDirty = false;
  try {
    await vscode.workspace.fs.stat(uri);
    document = await vscode.workspace.openTextDocument(uri);
    wasDirty = document.isDirty;
    const change = minimalEdit(document.getText(), next);
    if (!change) return undefined;
    edit.replace(uri, new vscode.Range(document.positionAt(change.start), document.positionAt(change.end)), change.text);
  } catch (err) {
    if (document) throw err;
    edit.createFile(uri, { ignoreIfExists: false, contents: new TextEncoder().encode(next) });
  }
  if (!(await vscode.workspace.applyEdit(edit))) throw new Error(`VS Code refused to change ${vscode.workspace.asRelativePath(uri)}.`);
  document ??= await vscode.workspace.openTextDocument(uri);
  // A one-click fix takes effect on disk (the sandbox reads the disk), unless the user had unsaved work there.
  if (options.save && !wasDirty && document.isDirty) await document.save();
  return document;
}
