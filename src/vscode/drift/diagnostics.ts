import { dirname, sep } from 'node:path';
import * as vscode from 'vscode';
import { addClaudeDeny, addHidePattern, addIgnoreLine, analyzeWorkspaceAsync, type SandboxHidingState } from '../../core/drift/index.js';
import { describeError, PaddockError } from '../../core/errors.js';
import { applyPolicyEdit } from '../../core/policyYamlEdit.js';
import { hidingStateOf } from '../../engine/hiding.js';
import { DisposableOwner } from '../lifecycle.js';
import type { SandboxStore } from '../store.js';
import { offeredFix, placeFindings, samePlace, type PlacedFinding } from './placement.js';
import { applyTextChange, currentText } from './textChange.js';
import { showErrorMessage, showInformationMessage } from '../notify.js';

export const DRIFT_SOURCE = 'Paddock';
export const APPLY_FIX_COMMAND = 'paddock.drift.applyFix';

const SEVERITY: Record<PlacedFinding['severity'], vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  info: vscode.DiagnosticSeverity.Information,
};

/** Files whose unsaved edits are checked as they are typed (agent configs, compose and devcontainer files, the policy). */
const CONFIG_FILE = /(?:^|\/)(?:\.claude\/settings(?:\.local)?\.json|\.aiexclude|\.geminiignore|\.gemini\/settings\.json|(?:docker-compose|compose)[^/]*\.ya?ml|\.?devcontainer\.json|\.paddock\/policy\.yaml)$/;
/** Churn that never changes what the sandbox sees (git's object store, installed packages). */
const NOISE = /\/(?:\.git\/(?!config$)|node_modules\/)/;

/**
 * Drift findings of every workspace folder as diagnostics (inline and in the Problems panel),
 * recomputed, debounced, when a file is created, deleted or saved, when a config file is edited,
 * and when the workspace's sandboxes change; quick fixes come from the findings' fixes.
 */
export class DriftDiagnostics extends DisposableOwner implements vscode.Disposable, vscode.CodeActionProvider {
  static readonly providedCodeActionKinds = [vscode.CodeActionKind.QuickFix];
  private readonly collection = this.register(vscode.languages.createDiagnosticCollection('paddock'));
  private readonly placed = new Map<string, PlacedFinding[]>();
  private readonly filesOfFolder = new Map<string, Set<string>>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly due = new Map<string, number>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly changed = this.register(new vscode.EventEmitter<string>());
  /** Fires with a folder path after its diagnostics were replaced. */
  readonly onDidUpdate = this.changed.event;

  /**
   * @param debounceMs wait after an edit of a config or the policy (the user is looking at it)
   * @param churnDebounceMs wait after other file events (builds write many files; each run reads the tree)
   */
  constructor(private readonly store: SandboxStore, private readonly log: vscode.LogOutputChannel, private readonly debounceMs = 400, private readonly churnDebounceMs = 1500) {
    super();
    this.register({
      dispose: () => {
        for (const t of this.timers.values()) clearTimeout(t);
        this.timers.clear();
      },
    });
  }

  /** Starts watching (called after dispose(), it disposes what it made at once and schedules nothing). */
  start(): vscode.Disposable[] {
    const watcher = vscode.workspace.createFileSystemWatcher('**/*');
    const onFile = (uri: vscode.Uri) => { if (!NOISE.test(uri.path)) this.scheduleFor(uri, CONFIG_FILE.test(uri.path) ? this.debounceMs : this.churnDebounceMs); };
    for (const subscription of [
      watcher, watcher.onDidCreate(onFile), watcher.onDidDelete(onFile),
      // Content changes matter for configs (rules) and for any file (a credential typed in).
      watcher.onDidChange(onFile),
      vscode.workspace.onDidSaveTextDocument((d) => this.scheduleFor(d.uri)),
      // Unsaved edits of a config (typing, the policy editor, undo) are checked from the editor's text.
      vscode.workspace.onDidChangeTextDocument((e) => { if (e.contentChanges.length && e.document.uri.scheme === 'file' && CONFIG_FILE.test(e.document.uri.path)) this.scheduleFor(e.document.uri); }),
      vscode.workspace.onDidChangeWorkspaceFolders((e) => {
        for (const f of e.removed) this.clearFolder(f.uri.fsPath);
        for (const f of e.added) this.schedule(f.uri.fsPath);
      }),
      this.store.onDidReload(() => this.scheduleAll()),
      vscode.languages.registerCodeActionsProvider({ scheme: 'file' }, this, { providedCodeActionKinds: DriftDiagnostics.providedCodeActionKinds }),
      vscode.commands.registerCommand(APPLY_FIX_COMMAND, (fix: unknown) => this.applyFix(fix)),
    ]) this.register(subscription);
    if (!this.isDisposed) this.scheduleAll();
    return [this];
  }

  scheduleAll(): void {
    for (const f of vscode.workspace.workspaceFolders ?? []) if (f.uri.scheme === 'file') this.schedule(f.uri.fsPath);
  }

  private scheduleFor(uri: vscode.Uri, delayMs = this.debounceMs): void {
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    if (folder?.uri.scheme === 'file') this.schedule(folder.uri.fsPath, delayMs);
  }

  private schedule(folder: string, delayMs = this.debounceMs): void {
    // At most one run per delay: a run already due is not pushed back by more events (so a long build or
    // steady typing still gets updates), and slow churn does not delay a run due sooner.
    const due = this.due.get(folder);
    if (due !== undefined && due <= Date.now() + delayMs) return;
    clearTimeout(this.timers.get(folder));
    this.due.set(folder, Date.now() + delayMs);
    this.timers.set(folder, setTimeout(() => {
      this.timers.delete(folder);
      this.due.delete(folder);
      void this.refresh(folder);
    }, delayMs));
  }

  /** Recomputes one folder now; a request during a run makes one more run after it. */
  refresh(folder: string): Promise<void> {
    const current = this.running.get(folder);
    if (current) {
      this.again.add(folder);
      return current;
    }
    const run = (async () => {
      try {
        do {
          this.again.delete(folder);
          await this.analyze(folder);
        } while (this.again.has(folder));
      } finally {
        this.running.delete(folder);
      }
    })();
    this.running.set(folder, run);
    return run;
  }

  private async analyze(folder: string): Promise<void> {
    const sandboxes: SandboxHidingState[] = [];
    for (const view of this.store.sandboxes) {
      if (view.details.workspace !== folder) continue;
      try {
        sandboxes.push(await hidingStateOf(this.store.engine, view.details.id));
      } catch (err) {
        this.log.debug(`drift: cannot read the mounts of ${view.details.name}: ${describeError(err)}`);
      }
    }
    let placed: PlacedFinding[];
    try {
      const started = Date.now();
      const overlay = new Map<string, string>();
      for (const d of vscode.workspace.textDocuments) {
        if (d.isDirty && d.uri.scheme === 'file' && CONFIG_FILE.test(d.uri.path) && d.uri.fsPath.startsWith(folder + sep)) overlay.set(d.uri.fsPath, d.getText());
      }
      const analysis = await analyzeWorkspaceAsync(folder, { sandboxes, overlay });
      placed = placeFindings(folder, analysis.findings);
      this.store.setFindings(folder, analysis.findings);
      this.log.debug(`drift: ${folder}: ${analysis.findings.length} findings in ${Date.now() - started} ms`);
    } catch (err) {
      this.log.warn(`drift: cannot check ${folder}: ${describeError(err)}`);
      return;
    }
    const byFile = new Map<string, PlacedFinding[]>();
    for (const p of placed) byFile.set(p.file, [...(byFile.get(p.file) ?? []), p]);
    const before = this.filesOfFolder.get(folder) ?? new Set<string>();
    for (const file of before) {
      if (byFile.has(file)) continue;
      this.collection.delete(vscode.Uri.file(file));
      this.placed.delete(vscode.Uri.file(file).toString());
    }
    for (const [file, list] of byFile) {
      const uri = vscode.Uri.file(file);
      this.placed.set(uri.toString(), list);
      this.collection.set(uri, list.map(toDiagnostic));
    }
    this.filesOfFolder.set(folder, new Set(byFile.keys()));
    this.changed.fire(folder);
  }

  private clearFolder(folder: string): void {
    for (const file of this.filesOfFolder.get(folder) ?? []) {
      this.collection.delete(vscode.Uri.file(file));
      this.placed.delete(vscode.Uri.file(file).toString());
    }
    this.filesOfFolder.delete(folder);
  }

  provideCodeActions(document: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const placed = this.placed.get(document.uri.toString());
    if (!placed) return [];
    const actions: vscode.CodeAction[] = [];
    for (const diagnostic of context.diagnostics) {
      if (diagnostic.source !== DRIFT_SOURCE) continue;
      const r = diagnostic.range;
      const match = placed.find((p) => samePlace({ line: r.start.line, character: r.start.character, endLine: r.end.line, endCharacter: r.end.character }, diagnostic.message, p));
      match?.finding.fixes.forEach((fix, i) => {
        const action = new vscode.CodeAction(fix.title, vscode.CodeActionKind.QuickFix);
        action.diagnostics = [diagnostic];
        action.isPreferred = i === 0;
        action.command = { command: APPLY_FIX_COMMAND, title: fix.title, arguments: [fix] };
        actions.push(action);
      });
    }
    return actions;
  }

  /** Applies a fix the findings offer through a WorkspaceEdit (undoable), saving the file when it had no unsaved changes. */
  async applyFix(requested: unknown): Promise<void> {
    try {
      const fix = offeredFix(requested, this.placed.values());
      if (!fix) throw new PaddockError('That fix is not offered now: nothing was changed.', 'The finding was fixed or changed meanwhile; the light bulb offers what applies now.');
      if (fix.kind === 'recreate-sandbox') {
        const view = this.store.sandboxes.find((s) => s.details.name === fix.sandbox);
        if (!view) throw new PaddockError(`Sandbox ${fix.sandbox} is gone.`, 'Refresh the Sandboxes view; a new sandbox gets the current policy.');
        await vscode.commands.executeCommand('paddock.recreate', { sandbox: view.details });
        return;
      }
      const uri = vscode.Uri.file(fix.file);
      const text = await currentText(uri);
      let next: string;
      if (fix.kind === 'add-hide') next = text === undefined ? addHidePattern(undefined, fix.pattern) : applyPolicyEdit(text, { op: 'add', path: ['hide'], value: fix.pattern }).text;
      else if (fix.kind === 'add-claude-deny') next = addClaudeDeny(text, fix.rule);
      else next = addIgnoreLine(text, fix.line);
      if (text === undefined) await vscode.workspace.fs.createDirectory(vscode.Uri.file(dirname(fix.file)));
      await applyTextChange(uri, next, { save: true });
      this.log.info(`drift fix: ${fix.title}`);
      // A file made by a fix (often .paddock/policy.yaml) never appears silently: it opens, and a note says what was made.
      if (text === undefined) {
        await vscode.window.showTextDocument(uri, { preview: false });
        void showInformationMessage(`Paddock: created ${vscode.workspace.asRelativePath(uri)} (${fix.title}).`);
      }
      this.scheduleFor(uri);
    } catch (err) {
      const message = err instanceof PaddockError ? `${err.message} ${err.hint ?? ''}` : describeError(err);
      this.log.error(`drift fix failed: ${message}`);
      void showErrorMessage(`Paddock: ${message}`);
    }
  }
}

function toDiagnostic(p: PlacedFinding): vscode.Diagnostic {
  const range = new vscode.Range(p.place.line, p.place.character, p.place.endLine, p.place.endCharacter);
  const d = new vscode.Diagnostic(range, p.message, SEVERITY[p.severity]);
  d.source = DRIFT_SOURCE;
  d.code = p.finding.rule;
  return d;
}
