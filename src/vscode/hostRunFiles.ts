// Host-run files written by a sandbox (issue 11, class C). The cage makes the host-run paths
// that existed at create read-only in a sandbox; one that did not exist (.vscode/tasks.json,
// .envrc, a compose override, a new repository's hooks) the sandbox can create or change. While a
// sandbox of this window runs (and for a moment after it stops), its workspace is watched; when
// such a file appears or changes and the user did not save it from the editor, a warning names
// the sandbox, with Show Diff, Delete (new) or Restore (changed), and Keep; a Problems entry on
// the file stays until the user decides. The rules are in src/core/hostRunFiles.ts.
import { execFile } from 'node:child_process';
import { chownSync, lstatSync, realpathSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import * as vscode from 'vscode';
import {
  changeMessage, describeHostRunFile, fileStateOf, hostRunFilesUnder, hostRunMatcher, isInert, judgeChange, readFileState, SHOWN_LIMIT,
  sandboxesThatCouldWrite, stateText, writerPhrase, type FileState, type HostRunChange, type WriterCandidate,
} from '../core/hostRunFiles.js';
import { toPosix } from '../core/hiding.js';
import { isInside } from '../core/paths.js';
import { loadPolicy, POLICY_FILE } from '../core/policy.js';
import { readApprovedPolicy, readWorkspaceApproval } from '../engine/approvedPolicy.js';
import type { SandboxSource } from './source.js';
import { showErrorMessage, showInformationMessage, showWarningMessage } from './notify.js';

/** A sandbox that stopped a moment ago may still have writes on their way to the watcher. */
const GRACE_MS = 30_000;
/** Writes come in bursts (truncate, then write; write, then chmod): one look once they settle. */
const SETTLE_MS = 600;
const SETTLE_LIMIT_MS = 3_000;
/** More toasts than this at once is noise: the rest are in the Problems view. */
const MAX_TOASTS = 3;
/** Files waiting for a decision beyond which new ones are only logged. */
const MAX_FINDINGS = 200;
export const HOST_RUN_DIAGNOSTIC = 'sandbox-wrote-host-run-file';
const BEFORE_SCHEME = 'paddock-before';
export const HOST_RUN_COMMANDS = { showDiff: 'paddock.hostRunFiles.showDiff', remedy: 'paddock.hostRunFiles.remedy', keep: 'paddock.hostRunFiles.keep' } as const;

interface Watched extends WriterCandidate { readonly workspace: string }

interface Finding {
  readonly path: string;
  readonly root: string;
  /** As the user reads it: relative to the open folder. */
  readonly shown: string;
  readonly rule: string;
  readonly change: HostRunChange;
  readonly writers: readonly Watched[];
}

export class HostRunFiles implements vscode.Disposable {
  private readonly watchers = new Map<string, vscode.Disposable>();
  private readonly matchers = new Map<string, (rel: string) => string | undefined>();
  /** The last content of each host-run path that Paddock knows to be the user's (a save, a Keep, a restore, git's HEAD). */
  private readonly known = new Map<string, FileState>();
  private readonly findings = new Map<string, Finding>();
  /** Sandboxes running now, or until GRACE_MS after they were last seen running. */
  private readonly recent = new Map<string, { sandbox: Watched; until: number }>();
  private readonly pending = new Map<string, { timer: NodeJS.Timeout; created: boolean; since: number }>();
  private readonly saving = new Map<string, number>();
  private readonly walks = new Map<string, NodeJS.Timeout>();
  private readonly toasts = new Set<string>();
  private readonly befores = new Map<string, string>();
  private readonly diagnostics = vscode.languages.createDiagnosticCollection('paddock-host-run-files');
  private readonly subscriptions: vscode.Disposable[] = [];
  private sweep?: NodeJS.Timeout;
  private overflowShown = false;
  private diffs = 0;

  constructor(private readonly source: SandboxSource, private readonly log: vscode.LogOutputChannel) {}

  start(): vscode.Disposable {
    this.subscriptions.push(
      this.diagnostics,
      this.source.onDidChange(() => this.update()),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.update()),
      vscode.workspace.onWillSaveTextDocument((e) => { if (e.document.uri.scheme === 'file') this.saving.set(e.document.uri.fsPath, Date.now()); }),
      vscode.workspace.onDidSaveTextDocument((doc) => this.saved(doc)),
      // A file made empty from the explorer (New File) is the user's.
      vscode.workspace.onDidCreateFiles((e) => {
        for (const uri of e.files) {
          const state = uri.scheme === 'file' ? readFileState(uri.fsPath) : undefined;
          if (state?.kind === 'file' && state.bytes.length === 0) this.known.set(uri.fsPath, state);
        }
      }),
      vscode.workspace.registerTextDocumentContentProvider(BEFORE_SCHEME, { provideTextDocumentContent: (uri) => this.befores.get(uri.query) ?? '' }),
      vscode.languages.registerCodeActionsProvider({ scheme: 'file' }, { provideCodeActions: (doc, _range, context) => this.codeActions(doc, context) }, { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] }),
      vscode.commands.registerCommand(HOST_RUN_COMMANDS.showDiff, (path: string) => this.act(path, (f) => this.showDiff(f))),
      vscode.commands.registerCommand(HOST_RUN_COMMANDS.remedy, (path: string) => this.act(path, (f) => this.remedy(f))),
      vscode.commands.registerCommand(HOST_RUN_COMMANDS.keep, (path: string) => this.act(path, (f) => this.keep(f))),
    );
    this.update();
    return this;
  }

  dispose(): void {
    for (const w of this.watchers.values()) w.dispose();
    this.watchers.clear();
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    for (const timer of this.walks.values()) clearTimeout(timer);
    this.walks.clear();
    if (this.sweep) clearTimeout(this.sweep);
    for (const s of this.subscriptions.splice(0)) s.dispose();
  }

  /** Follows the sandboxes: a watcher on the workspace of each one of this window that runs (or just ran). */
  private update(): void {
    const now = Date.now();
    for (const view of this.source.sandboxes) {
      const d = view.details;
      if (d.status === 'running') this.recent.set(d.id, { sandbox: { id: d.id, name: d.name, agent: d.agent, mounts: d.mounts, workspace: d.workspace }, until: now + GRACE_MS });
    }
    const running = new Set(this.source.sandboxes.filter((v) => v.details.status === 'running').map((v) => v.details.id));
    for (const [id, r] of this.recent) if (!running.has(id) && r.until < now) this.recent.delete(id);
    const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
    const roots = new Set([...this.recent.values()].map((r) => r.sandbox.workspace).filter((ws) => ws && folders.some((f) => isInside(ws, f) || isInside(f, ws))));
    for (const [root, watcher] of this.watchers) {
      if (roots.has(root)) continue;
      watcher.dispose();
      this.watchers.delete(root);
      this.matchers.delete(root);
      // Unwatched, these files may change (your own edits) without Paddock seeing it: what it knew would
      // be stale, and a later Restore would bring back an old content over yours.
      for (const path of [...this.known.keys()]) if (isInside(path, root)) this.known.delete(path);
    }
    for (const root of roots) if (!this.watchers.has(root)) this.watch(root);
    if (this.sweep) clearTimeout(this.sweep);
    // Look again when the last stopped sandbox's grace ends (no event may come then).
    const ends = [...this.recent.entries()].filter(([id]) => !running.has(id)).map(([, r]) => r.until);
    if (ends.length) this.sweep = setTimeout(() => this.update(), Math.max(0, Math.min(...ends) - now) + 100);
  }

  private watch(root: string): void {
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(root), '**'));
    const on = (created: boolean) => (uri: vscode.Uri) => this.observed(root, uri.fsPath, created);
    this.watchers.set(root, vscode.Disposable.from(watcher, watcher.onDidCreate((uri) => this.created(root, uri.fsPath)), watcher.onDidChange(on(false)), watcher.onDidDelete(on(false))));
    this.log.info(`Watching the files the host runs in ${root} while its sandbox runs.`);
  }

  /** The workspace policy's read-only rules on top of the defaults (which always apply). */
  private matcher(root: string): (rel: string) => string | undefined {
    let match = this.matchers.get(root);
    if (!match) {
      let readOnly: readonly string[] | undefined;
      try { readOnly = loadPolicy(root).policy.readOnly; } catch { readOnly = undefined; }
      match = hostRunMatcher(readOnly);
      this.matchers.set(root, match);
    }
    return match;
  }

  /** A new folder is looked through once it settles: the watcher may not report what was written in it at once. */
  private created(root: string, path: string): void {
    let isFolder = false;
    try { isFolder = lstatSync(path).isDirectory(); } catch { /* gone already */ }
    if (!isFolder) return this.observed(root, path, true);
    for (const due of this.walks.keys()) if (isInside(path, due)) return; // an enclosing folder's look is due
    for (const [due, timer] of this.walks) if (isInside(due, path)) { clearTimeout(timer); this.walks.delete(due); }
    this.walks.set(path, setTimeout(() => {
      this.walks.delete(path);
      const { files, complete } = hostRunFilesUnder(root, path, this.matcher(root));
      if (!complete) this.log.warn(`${path} appeared with too many entries to look through all of them for files the host runs; "paddock policy check" looks at all of them.`);
      for (const file of files) this.observed(root, file, true);
    }, SETTLE_MS));
  }

  private observed(root: string, path: string, created: boolean): void {
    const rel = toPosix(relative(root, path));
    if (rel === toPosix(POLICY_FILE)) this.matchers.delete(root);
    if (!this.matcher(root)(rel)) return;
    const before = this.pending.get(path);
    if (before) {
      before.created ||= created;
      // A file rewritten again and again would never settle: it is judged SETTLE_LIMIT_MS after the first write at the latest.
      if (Date.now() - before.since >= SETTLE_LIMIT_MS - SETTLE_MS) return;
      clearTimeout(before.timer);
    }
    const entry = { since: before?.since ?? Date.now(), created: created || !!before?.created, timer: setTimeout(() => {
      this.pending.delete(path);
      this.judge(root, path, entry.created).catch((err) => this.log.error(`Could not look at ${path}: ${err?.stack ?? err}`));
    }, SETTLE_MS) };
    this.pending.set(path, entry);
  }

  private async judge(root: string, path: string, created: boolean, again = false): Promise<void> {
    // A save from the editor is the user's own act: judged once it is done (saved() records it).
    const savingAt = this.saving.get(path);
    if (savingAt !== undefined && Date.now() - savingAt < 5_000) { this.observed(root, path, created); return; }
    const rel = toPosix(relative(root, path));
    const rule = this.matcher(root)(rel);
    if (!rule) return;
    // A flood of files is not read one by one (up to 1 MB each, in the editor's process): the first are listed.
    if (this.findings.size >= MAX_FINDINGS && !this.findings.has(path)) {
      this.log.warn(`Not looked at (${MAX_FINDINGS} files the host runs already wait for a decision): ${path}`);
      return void this.overflow(`A sandbox wrote more than ${MAX_FINDINGS} files the host runs; the Problems view lists the first ${MAX_FINDINGS}. "paddock policy check" lists every one; apply the policy to the sandbox (Apply Changes, state kept) to protect them.`);
    }
    const now = readFileState(path);
    if (now.kind === 'absent') { this.known.set(path, now); this.settle(path); return; }
    if (now.kind === 'dir') return;
    const known = this.known.get(path);
    const writers = sandboxesThatCouldWrite(hostPathsOf(path), [...this.recent.values()].map((r) => r.sandbox));
    // A sandbox that just started may not be known as running yet: looked at again once the list has caught up.
    if (!writers.length && !again && sandboxesThatCouldWrite(hostPathsOf(path), this.source.sandboxes.map((v) => v.details)).length) {
      setTimeout(() => this.judge(root, path, created, true).catch((err) => this.log.error(`Could not look at ${path}: ${err?.stack ?? err}`)), 2_000);
      return;
    }
    // No sandbox could write it (the cage holds it read-only in each): the host's own change. Nor is
    // a file the host does not run, or the policy as the user approved it (Paddock's own edit, "Allow always").
    if (!writers.length || isInert(rel, now) || isApprovedPolicy(root, rel, now, writers)) { this.known.set(path, now); this.settle(path); return; }
    const change = judgeChange(known, known ? undefined : await committedState(path), now, created);
    if (!change) { if (!known) this.known.set(path, now); this.settle(path); return; }
    if (!known && change.before) this.known.set(path, change.before);
    const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(path));
    const finding: Finding = { path, root, rule, change, writers, shown: folder ? toPosix(relative(folder.uri.fsPath, path)) : toPosix(relative(root, path)) };
    this.findings.set(path, finding);
    this.diagnose(finding);
    this.log.warn(`${changeMessage(writers, finding.shown, rule, change)} (${writerPhrase(writers).names}; rule "${rule}")`);
    void this.notify(path);
  }

  /** The user saved the document: what is on disk is theirs if it is what the editor wrote. */
  private saved(doc: vscode.TextDocument): void {
    if (doc.uri.scheme !== 'file') return;
    const path = doc.uri.fsPath;
    this.saving.delete(path);
    if (![...this.watchers.keys()].some((root) => isInside(path, root) && this.matcher(root)(toPosix(relative(root, path))))) return;
    const state = readFileState(path);
    if (state.kind !== 'file' || state.bytes.toString('utf8').replace(/^\uFEFF/, '') !== doc.getText()) return;
    this.known.set(path, state);
    this.settle(path);
  }

  private async notify(path: string): Promise<void> {
    if (this.toasts.has(path)) return; // the open toast acts on the finding as it is now
    if (this.toasts.size >= MAX_TOASTS) return void this.overflow();
    this.toasts.add(path);
    try {
      for (;;) {
        const f = this.findings.get(path);
        if (!f) return;
        const choice = await showWarningMessage(changeMessage(f.writers, f.shown, f.rule, f.change), 'Show Diff', f.change.remedy, 'Keep');
        const current = this.findings.get(path);
        if (!current || !choice) return; // settled elsewhere, or dismissed: the Problems entry stays
        if (choice === 'Show Diff') { await this.showDiff(current); continue; }
        if (choice === 'Keep') return this.keep(current);
        return void (await this.remedy(current));
      }
    } finally {
      this.toasts.delete(path);
    }
  }

  private async overflow(message = 'A sandbox wrote more files the host runs: each is listed in the Problems view, with Show Diff, Delete or Restore, and Keep.'): Promise<void> {
    if (this.overflowShown) return;
    this.overflowShown = true;
    try {
      const choice = await showWarningMessage(message, 'Show Problems');
      if (choice) await vscode.commands.executeCommand('workbench.actions.view.problems');
    } finally {
      this.overflowShown = false;
    }
  }

  private diagnose(f: Finding): void {
    const { subject, names } = writerPhrase(f.writers);
    const what = f.change.before?.kind === 'absent' ? 'wrote' : 'changed';
    const d = new vscode.Diagnostic(new vscode.Range(0, 0, 0, 0),
      `${subject} (${names}) ${what} this file while it ran: ${describeHostRunFile(f.shown, f.rule)}. Read it before the host runs it: Show Diff, then ${f.change.remedy} or Keep (Keep too if you wrote it yourself on the host).`,
      vscode.DiagnosticSeverity.Warning);
    d.source = 'Paddock';
    d.code = HOST_RUN_DIAGNOSTIC;
    this.diagnostics.set(vscode.Uri.file(f.path), [d]);
  }

  private codeActions(doc: vscode.TextDocument, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const f = this.findings.get(doc.uri.fsPath);
    if (!f || !context.diagnostics.some((d) => d.code === HOST_RUN_DIAGNOSTIC)) return [];
    const action = (title: string, command: string) => {
      const a = new vscode.CodeAction(title, vscode.CodeActionKind.QuickFix);
      a.command = { title, command, arguments: [f.path] };
      return a;
    };
    return [action('Show Diff (what the sandbox wrote)', HOST_RUN_COMMANDS.showDiff), action(`${f.change.remedy} ${basename(f.path)}`, HOST_RUN_COMMANDS.remedy), action('Keep (I read it)', HOST_RUN_COMMANDS.keep)];
  }

  private async act(path: string, run: (f: Finding) => unknown): Promise<void> {
    const f = this.findings.get(path);
    if (!f) { void showInformationMessage(`Nothing to decide about ${path}: it was settled already.`); return; }
    await run(f);
  }

  /** Before (last known content, git's HEAD, or empty for a new file) against the file as it is. */
  private async showDiff(f: Finding): Promise<void> {
    const id = String(++this.diffs);
    this.befores.set(id, stateText(f.change.before));
    for (const key of this.befores.keys()) if (this.befores.size > 50) this.befores.delete(key);
    const left = vscode.Uri.from({ scheme: BEFORE_SCHEME, path: f.path, query: id });
    let right = vscode.Uri.file(f.path);
    // Not a regular file the editor can show as it is (a link would show its target's content).
    if (f.change.now.kind !== 'file') {
      const nowId = `${id}-now`;
      this.befores.set(nowId, stateText(f.change.now));
      right = vscode.Uri.from({ scheme: BEFORE_SCHEME, path: f.path, query: nowId });
    }
    const before = f.change.before?.kind === 'absent' ? 'new file' : f.change.before ? 'before' : 'before: not known';
    await vscode.commands.executeCommand('vscode.diff', left, right, `${f.shown} (${before} ↔ written by ${writerPhrase(f.writers).names})`, { preview: true });
  }

  private async remedy(f: Finding): Promise<boolean> {
    const outside = outsideRoot(f);
    if (outside) { void showErrorMessage(outside); return false; }
    if (f.change.remedy === 'Delete') {
      const { subject, names } = writerPhrase(f.writers);
      const ok = await showWarningMessage(`Delete ${f.shown}?`, {
        modal: true, detail: `${subject} (${names}) wrote it while it ran; it is ${describeHostRunFile(f.shown, f.rule)}. Deleting it cannot be undone.`,
      }, 'Delete');
      if (ok !== 'Delete') return false;
      try { unlinkSync(f.path); } catch (err: any) { if (err?.code !== 'ENOENT') throw err; }
      this.known.set(f.path, { kind: 'absent' });
      this.settle(f.path);
      void showInformationMessage(`Deleted ${f.shown}.`);
      return true;
    }
    const before = f.change.before;
    if (before?.kind !== 'file') return false;
    // Written next to it and renamed over it: a link the sandbox put there is replaced, never followed.
    // The mode and owner of the file it replaces (an editor running as root must not leave a root-owned file).
    const st = (() => { try { const s = lstatSync(f.path); return s.isFile() ? s : undefined; } catch { return undefined; } })();
    const temp = join(dirname(f.path), `.${basename(f.path)}.paddock-restore-${process.pid}-${Date.now()}`);
    writeFileSync(temp, before.bytes, { flag: 'wx', mode: st ? st.mode & 0o777 : 0o644 });
    if (st) try { chownSync(temp, st.uid, st.gid); } catch { /* not ours to give away: it stays the editor's */ }
    try { renameSync(temp, f.path); } catch (err) { try { unlinkSync(temp); } catch { /* gone */ } throw err; }
    this.known.set(f.path, before);
    this.settle(f.path);
    void showInformationMessage(`Restored ${f.shown} to its content before the sandbox changed it.`);
    return true;
  }

  /** The user read it and keeps it: what they saw becomes the known content; a later change is judged against it. */
  private keep(f: Finding): void {
    this.known.set(f.path, f.change.now);
    this.settle(f.path);
    // Changed again since the user looked: judged (and reported) again.
    this.observed(f.root, f.path, false);
  }

  private settle(path: string): void {
    this.findings.delete(path);
    this.diagnostics.delete(vscode.Uri.file(path));
  }
}

/** The policy file holding exactly what the user approved (src/engine/approvedPolicy.ts). */
function isApprovedPolicy(root: string, rel: string, state: FileState, writers: readonly Watched[]): boolean {
  if (rel !== toPosix(POLICY_FILE) || state.kind !== 'file') return false;
  const text = state.bytes.toString('utf8');
  return [readWorkspaceApproval(root), ...writers.map((w) => readApprovedPolicy(w.name))].some((a) => a !== undefined && a.text === text);
}

/** The path as the watcher gave it, and with its folders resolved (mounts name real paths). */
function hostPathsOf(path: string): string[] {
  try {
    const real = join(realpathSync(dirname(path)), basename(path));
    return real === path ? [path] : [path, real];
  } catch {
    return [path];
  }
}

/** A folder above the file that is a link out of the workspace: Paddock does not write through it. */
function outsideRoot(f: Finding): string | undefined {
  try {
    const dir = realpathSync(dirname(f.path));
    if (isInside(dir, realpathSync(f.root))) return undefined;
    return `${f.shown} is not where it seems: a folder above it leads to ${dir}, outside the workspace. Paddock did not touch it; remove the link by hand.`;
  } catch {
    return undefined;
  }
}

/**
 * What git's HEAD has at the path (undefined: not tracked, not a repository, or git failed).
 * cat-file runs no filter, textconv, hook or fsmonitor, which matters here: the repository's
 * config may be one the sandbox wrote.
 */
function committedState(path: string): Promise<FileState | undefined> {
  return new Promise((resolve) => {
    execFile('git', ['-c', 'core.fsmonitor=false', '-c', 'core.hooksPath=/dev/null', '--no-optional-locks', '-C', dirname(path), 'cat-file', 'blob', `HEAD:./${basename(path)}`],
      { encoding: 'buffer', maxBuffer: SHOWN_LIMIT, timeout: 5_000, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } },
      (err, stdout) => resolve(err ? undefined : fileStateOf(stdout)));
  });
}
