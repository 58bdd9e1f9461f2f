import * as vscode from 'vscode';
import { inertLinks } from './notificationText.js';

// Paddock's notifications go through these (the lint refuses vscode.window's own in src/vscode/):
// their messages hold names the sandbox chose, and a notification makes "[x](command:…)" a link.

export const showInformationMessage = ((message: string, ...rest: any[]) => (vscode.window.showInformationMessage as any)(inertLinks(message), ...rest)) as typeof vscode.window.showInformationMessage;
export const showWarningMessage = ((message: string, ...rest: any[]) => (vscode.window.showWarningMessage as any)(inertLinks(message), ...rest)) as typeof vscode.window.showWarningMessage;
export const showErrorMessage = ((message: string, ...rest: any[]) => (vscode.window.showErrorMessage as any)(inertLinks(message), ...rest)) as typeof vscode.window.showErrorMessage;

/** vscode.window.withProgress, its title and reported messages made inert (a notification's progress shows them as one). */
export function withProgress<R>(
  options: vscode.ProgressOptions,
  task: (progress: vscode.Progress<{ message?: string; increment?: number }>, token: vscode.CancellationToken) => Thenable<R>,
): Thenable<R> {
  return vscode.window.withProgress({ ...options, ...(options.title !== undefined ? { title: inertLinks(options.title) } : {}) }, (progress, token) =>
    task({ report: (value) => progress.report(value.message !== undefined ? { ...value, message: inertLinks(value.message) } : value) }, token));
}
