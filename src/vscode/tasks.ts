// Parallel tasks in the editor (src/engine/tasks.ts does the work, as for the CLI): run an agent on
// a new task, see each open folder's tasks in the Sandboxes view, and review, merge, discard, open
// a task's terminal or its folder in a new window. The task's folder is its sandbox's: what is read
// from it here is attacker input (file names, links), and the base side comes from the main
// repository through a read-only document provider.
import { lstatSync, readlinkSync, watch, type FSWatcher } from 'node:fs';
import { basename, isAbsolute, relative } from 'node:path';
import * as vscode from 'vscode';
import { AGENT_IDS, AGENTS, getAgent, type AgentId } from '../core/agents.js';
import { describeError, PaddockError } from '../core/errors.js';
import { baseChoices, baseFileText, taskChanges } from '../engine/taskReview.js';
import { discardCheck, discardTask, findTask, listTasks, mergeTask, repoTasksDir, repositoryOf, TaskProgressReader, type TaskProgress, type TaskRecord, type TaskState } from '../engine/tasks.js';
import { Cancelled, guarded, pickFolder, prepareWithProgress, type CommandHandler, type Services } from './commands.js';
import { DisposableOwner } from './lifecycle.js';
import { taskNameProblem } from './taskName.js';
import { defaultAgent } from './settings.js';
import type { EngineState, SandboxSource } from './source.js';
import type { SandboxStore } from './store.js';
import { decodeReviewQuery, encodeReviewQuery, reviewEntries, reviewTitle, type FolderTasks, type TaskNode, type TaskSnapshot } from './taskModel.js';
import { showInformationMessage, showWarningMessage, withProgress } from './notify.js';

export const REVIEW_SCHEME = 'paddock-task';
/** How old the last read of every task's folder may get before a read does them all again. */
const FULL_READ_MS = 60_000;

/**
 * The store's sandboxes plus the tasks of each open folder: what the tree reads. Tasks are read
 * again when Docker's state changes (the store's reload), when a task's folder changes (commits,
 * edits: a file watcher per task) and when tasks are made or removed (their records' folder).
 * With ten agents at work, a read runs git only in the folders that changed since the last one
 * (one git status each, more when HEAD moved: TaskProgressReader); the other tasks keep what was
 * read, and their sandboxes' status comes from one engine listing. Every FULL_READ_MS at the
 * latest, a read runs git in every task's folder (a change the watcher missed does not stay).
 */
export class TaskStore extends DisposableOwner implements SandboxSource, vscode.Disposable {
  private readonly changed = this.register(new vscode.EventEmitter<void>());
  readonly onDidChange = this.changed.event;
  tasks: TaskSnapshot = new Map();
  private timer?: NodeJS.Timeout;
  private last: Promise<void> = Promise.resolve();
  private next?: Promise<void>;
  private folderWatchers = new Map<string, vscode.Disposable>();
  private recordWatchers = new Map<string, FSWatcher>();
  private readonly reader = new TaskProgressReader();
  /** Task folders the watcher saw change since their last read. */
  private readonly changedFolders = new Set<string>();
  private lastFullRead = 0;

  constructor(readonly store: SandboxStore, private readonly log: vscode.LogOutputChannel, private readonly debounceMs = 300) {
    super();
    this.register(store.onDidChange(() => this.changed.fire()));
    this.register(store.onDidReload(() => this.scheduleReload()));
    this.register(vscode.workspace.onDidChangeWorkspaceFolders(() => this.scheduleReload()));
    this.register({
      dispose: () => {
        clearTimeout(this.timer);
        for (const w of this.folderWatchers.values()) w.dispose();
        for (const w of this.recordWatchers.values()) w.close();
      },
    });
  }

  get state(): EngineState {
    return this.store.state;
  }

  get lastError(): string | undefined {
    return this.store.lastError;
  }

  get sandboxes() {
    return this.store.sandboxes;
  }

  /** Every task of the open folders. */
  get all(): TaskState[] {
    return [...this.tasks.values()].flatMap((f) => f.tasks);
  }

  /** A burst of changes (a commit touches many files) makes one read. */
  scheduleReload(): void {
    clearTimeout(this.timer);
    if (!this.isDisposed) this.timer = setTimeout(() => void this.reload(), this.debounceMs);
  }

  /** Reads the tasks now. Reads run one at a time; the calls made while one runs share the next. */
  reload(): Promise<void> {
    this.next ??= this.last.then(() => {
      this.next = undefined;
      return this.readTasks();
    }).catch((err) => this.log.warn(`Could not read the tasks: ${describeError(err)}`));
    this.last = this.next;
    return this.next;
  }

  private async readTasks(): Promise<void> {
    if (this.store.state !== 'ready') return;
    const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
    const next = new Map<string, FolderTasks>();
    // Taken before reading: a change made while git runs marks its folder for the next read.
    const changed = new Set(this.changedFolders);
    this.changedFolders.clear();
    const full = Date.now() - this.lastFullRead >= FULL_READ_MS;
    const previous = new Map(this.all.map((t) => [t.path, t]));
    const unchanged = (r: TaskRecord): TaskProgress | undefined => {
      const before = previous.get(r.path);
      if (full || !before || changed.has(r.path) || before.base !== r.base || before.branch !== r.branch) return undefined;
      return { ahead: before.ahead, changedFiles: before.changedFiles, uncommitted: before.uncommitted };
    };
    let failed = false;
    await Promise.all(folders.map(async (folder) => {
      let source: string;
      try {
        source = (await repositoryOf(folder)).top;
      } catch {
        return; // not a git repository: no tasks
      }
      try {
        next.set(folder, { source, tasks: await listTasks(this.store.engine, source, { reader: this.reader, unchanged }) });
      } catch (err) {
        failed = true;
        this.log.warn(`Could not list the tasks of ${source}: ${describeError(err)}`);
      }
    }));
    if (this.isDisposed) return;
    if (failed) for (const path of changed) this.changedFolders.add(path);
    else if (full) this.lastFullRead = Date.now();
    const before = JSON.stringify([...this.tasks]);
    this.tasks = next;
    this.reader.keepOnly(new Set(this.all.map((t) => t.path)));
    this.follow(next);
    if (JSON.stringify([...next]) !== before) this.changed.fire();
  }

  /** Watches each task's folder (through VS Code's watcher, which skips .git/objects and the like) and each repository's records. */
  private follow(snapshot: TaskSnapshot): void {
    const folders = new Set<string>();
    const recordDirs = new Set<string>();
    for (const { source, tasks } of snapshot.values()) {
      recordDirs.add(repoTasksDir(source));
      for (const t of tasks) folders.add(t.path);
    }
    for (const [path, w] of this.folderWatchers) if (!folders.has(path)) { w.dispose(); this.folderWatchers.delete(path); }
    for (const path of folders) {
      if (this.folderWatchers.has(path)) continue;
      const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(path), '**'));
      // The index alone changes no count (git add moves a file from untracked to staged; a commit moves a ref, which is seen); the agent's git rewrites it often.
      const changed = (uri: vscode.Uri) => {
        if (/[\\/]\.git[\\/]index(\.lock)?$/.test(uri.fsPath)) return;
        this.changedFolders.add(path);
        this.scheduleReload();
      };
      const subscriptions = [watcher, watcher.onDidChange(changed), watcher.onDidCreate(changed), watcher.onDidDelete(changed)];
      this.folderWatchers.set(path, { dispose: () => subscriptions.forEach((s) => s.dispose()) });
    }
    // Folders of repositories with no task yet are not followed: a new task made elsewhere (the
    // CLI) shows with the next Docker event, which its sandbox makes.
    for (const [dir, w] of this.recordWatchers) if (!recordDirs.has(dir)) { w.close(); this.recordWatchers.delete(dir); }
    for (const dir of recordDirs) {
      if (this.recordWatchers.has(dir)) continue;
      try {
        this.recordWatchers.set(dir, watch(dir, { persistent: false }, (_e, file) => { if (!file || file.endsWith('.json')) this.scheduleReload(); }));
      } catch {
        // gone already
      }
    }
  }
}

/** The base side of a review, and links shown as their target: read-only documents. */
class ReviewDocuments implements vscode.TextDocumentContentProvider {
  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const q = decodeReviewQuery(uri.query);
    if (!q) return '';
    const task = findTask(q.source, q.task);
    const rel = relative(task.path, uri.fsPath);
    if (!rel || rel.startsWith('..') || isAbsolute(rel)) return '';
    if (q.side === 'base') return (await baseFileText(task, rel)) ?? '';
    try {
      return `Symbolic link to ${readlinkSync(uri.fsPath)}\n(not followed: it was made in the task's sandbox)\n`;
    } catch {
      return '';
    }
  }
}

const AGENT_TASK_COMMANDS: [string, AgentId][] = [['paddock.runClaudeTask', 'claude'], ['paddock.runGeminiTask', 'gemini'], ['paddock.runCodexTask', 'codex'], ['paddock.openShellTask', 'shell']];

function fileType(path: string): 'file' | 'link' | 'other' | 'missing' {
  const st = lstatSync(path, { throwIfNoEntry: false });
  return !st ? 'missing' : st.isSymbolicLink() ? 'link' : st.isFile() ? 'file' : 'other';
}

/** The task a command acts on: the tree's row, or the user's pick among the open folders' tasks. */
async function pickTask(tasks: TaskStore, arg: unknown, verb: string): Promise<TaskState> {
  const node = arg as Partial<TaskNode> | undefined;
  if (node?.task) return node.task;
  await tasks.reload();
  const all = tasks.all;
  if (!all.length) throw new PaddockError(`There is no task to ${verb}.`, 'Start one with "Paddock: Run Claude on a New Task...".');
  if (all.length === 1) return all[0];
  const picked = await vscode.window.showQuickPick(all.map((t) => ({ label: t.name, description: t.branch, detail: t.path, t })), { placeHolder: `Task to ${verb}` });
  if (!picked) throw new Cancelled();
  return picked.t;
}

/** The folder a task's settings come from: the open folder of its repository, or the repository itself. */
function folderOf(task: Pick<TaskState, 'source'>): vscode.WorkspaceFolder {
  return vscode.workspace.getWorkspaceFolder(vscode.Uri.file(task.source)) ?? { uri: vscode.Uri.file(task.source), name: basename(task.source), index: -1 };
}

const terminalLabel = (folder: vscode.WorkspaceFolder, task: string) => `${folder.name} · ${task}`;

/** Asks for the base of a new task: the current HEAD first, then the branches; a typed ref is taken as is. */
async function pickBase(source: string): Promise<string | undefined> {
  const choices = await baseChoices(source);
  type Item = vscode.QuickPickItem & { ref?: string };
  const headLabel = choices.current ? `${choices.current} (current HEAD)` : 'HEAD (detached)';
  const items: Item[] = [
    { label: headLabel, description: [choices.head?.slice(0, 8), choices.branches.find((b) => b.name === choices.current)?.subject].filter(Boolean).join(' '), ref: undefined },
    ...choices.branches.filter((b) => b.name !== choices.current).map((b) => ({ label: b.name, description: `${b.commit.slice(0, 8)} ${b.subject}`, ref: b.name })),
  ];
  const quickPick = vscode.window.createQuickPick<Item>();
  quickPick.title = 'Base of the new task';
  quickPick.placeholder = 'Branch, tag or commit to start from (Enter: the current HEAD)';
  quickPick.items = items;
  return new Promise((resolve, reject) => {
    let done = false;
    quickPick.onDidChangeValue((value) => {
      // A ref that is not listed (a tag, a commit) can be typed.
      const typed = value.trim();
      quickPick.items = typed && !items.some((i) => i.label === typed) ? [...items, { label: typed, description: 'as typed', ref: typed, alwaysShow: true }] : items;
    });
    quickPick.onDidAccept(() => {
      const picked = quickPick.selectedItems[0] ?? quickPick.activeItems[0];
      done = true;
      quickPick.hide();
      if (!picked) reject(new Cancelled());
      else resolve(picked.ref);
    });
    quickPick.onDidHide(() => {
      quickPick.dispose();
      if (!done) reject(new Cancelled());
    });
    quickPick.show();
  });
}

async function newTask(services: Services, tasks: TaskStore, agentId: AgentId, arg?: unknown): Promise<void> {
  const folder = await pickFolder(arg);
  const source = (await repositoryOf(folder.uri.fsPath)).top;
  await tasks.reload();
  const taken = tasks.all.filter((t) => t.source === source).map((t) => t.name);
  const name = await vscode.window.showInputBox({
    title: `${getAgent(agentId).label} on a new task`,
    prompt: `The task's name: its branch is paddock/NAME, its folder a clone of ${basename(source)} outside the workspace`,
    placeHolder: 'fix-login',
    validateInput: (value) => taskNameProblem(value.trim(), taken),
  });
  if (name === undefined) throw new Cancelled();
  const base = await pickBase(source);
  const prepared = await prepareWithProgress(services, agentId, folder, false, { task: name.trim(), base });
  services.log.info(`Task ${name.trim()}: sandbox ${prepared.sandbox.name} in ${prepared.sandbox.workspace}`);
  services.terminals.attach(prepared.sandbox.name, agentId, { workspaceName: terminalLabel(folder, name.trim()) });
  tasks.scheduleReload();
}

async function reviewChanges(tasks: TaskStore, arg: unknown): Promise<void> {
  const task = await pickTask(tasks, arg, 'review');
  const record = findTask(task.source, task.name);
  const entries = reviewEntries(record.path, await taskChanges(record), fileType);
  if (!entries.length) {
    void showInformationMessage(`Paddock: task ${task.name} has no changes against ${task.baseRef} (${task.base.slice(0, 8)}).`);
    return;
  }
  const side = (file: string, which: 'base' | 'link') => vscode.Uri.file(file).with({ scheme: REVIEW_SCHEME, query: encodeReviewQuery({ source: task.source, task: task.name, side: which }) });
  // Left and right have the file's own path (only the scheme differs), so the editor shows no rename.
  const resources = entries.map((e) => [
    vscode.Uri.file(e.file),
    e.base ? side(e.file, 'base') : undefined,
    e.right === 'file' ? vscode.Uri.file(e.file) : e.right === 'link' ? side(e.file, 'link') : undefined,
  ]);
  await vscode.commands.executeCommand('vscode.changes', reviewTitle(task, entries.length), resources);
}

async function merge(services: Services, tasks: TaskStore, arg: unknown): Promise<void> {
  const task = await pickTask(tasks, arg, 'merge');
  const record = findTask(task.source, task.name);
  const commits = task.ahead === undefined ? '' : ` (${task.ahead} commit${task.ahead === 1 ? '' : 's'})`;
  const choice = await showInformationMessage(`Merge task ${task.name}${commits} into the branch checked out in ${basename(task.source)}?`, {
    modal: true,
    detail: `Branch ${task.branch} is merged into ${task.source}. A conflict changes nothing there; uncommitted changes of the task are not merged. "Squash and Merge" makes one commit of all of them.`,
  }, 'Merge', 'Squash and Merge');
  if (!choice) return;
  const outcome = await withProgress({ location: vscode.ProgressLocation.Notification, title: `Paddock: merging task ${task.name}` }, () => mergeTask(record, { squash: choice === 'Squash and Merge' }));
  tasks.scheduleReload();
  if (outcome.kind === 'conflict') {
    services.log.warn(`Merge of task ${task.name} into ${outcome.into}: conflicts in ${outcome.files.join(', ')}; nothing changed`);
    throw new PaddockError(`Task ${task.name} conflicts with ${outcome.into} in ${outcome.files.join(', ')}. Nothing was changed in ${basename(task.source)}.`,
      `Have the task's agent merge ${outcome.into} in and resolve it, or merge by hand: git merge ${outcome.ref}`);
  }
  const left = outcome.uncommittedLeft ? ` Not merged: ${outcome.uncommittedLeft} uncommitted file(s) of the task (commit them in the task and merge again).` : '';
  const text = outcome.kind === 'up-to-date'
    ? `${outcome.into} already has every commit of task ${task.name}.`
    : `Merged task ${task.name} into ${outcome.into}${outcome.squash ? ' as one commit' : ''}: ${outcome.commits} commit(s), now at ${outcome.commit.slice(0, 8)}.`;
  services.log.info(text);
  if (left) void showWarningMessage(`Paddock: ${text}${left}`);
  else void showInformationMessage(`Paddock: ${text}`);
}

async function discard(services: Services, tasks: TaskStore, arg: unknown): Promise<void> {
  const task = await pickTask(tasks, arg, 'discard');
  const record = findTask(task.source, task.name);
  const engine = services.store.engine;
  const check = await discardCheck(engine, record);
  const losing = [
    check.unmerged ? `${check.unmerged} commit(s) that no branch, tag or remote of ${basename(task.source)} has` : '',
    check.uncommitted ? `${check.uncommitted} uncommitted file(s)` : '',
  ].filter(Boolean);
  const what = [check.sandboxes.length ? `sandbox ${check.sandboxes.join(', ')}` : '', `folder ${task.path}`, `branch ${task.branch}`].filter(Boolean).join(', ');
  if (losing.length) {
    // Unmerged work is refused, as the CLI refuses it without --force: losing it takes a second, explicit "yes".
    const first = await showWarningMessage(`Task ${task.name} has ${losing.join(' and ')}.`, {
      modal: true, detail: 'Discarding it would lose that work. Merge the task first, or discard it anyway.',
    }, 'Merge...', 'Discard Anyway...');
    if (first === 'Merge...') return merge(services, tasks, { task });
    if (first !== 'Discard Anyway...') return;
    const second = await showWarningMessage(`Discard task ${task.name} and lose ${losing.join(' and ')}?`, {
      modal: true, detail: `Removes ${what}. This cannot be undone.`,
    }, 'Discard and Lose Work');
    if (second !== 'Discard and Lose Work') return;
  } else {
    const choice = await showWarningMessage(`Discard task ${task.name}?`, {
      modal: true, detail: `Removes ${what}. Its commits are in ${basename(task.source)} already.`,
    }, 'Discard');
    if (choice !== 'Discard') return;
  }
  for (const sandbox of check.sandboxes) for (const t of services.terminals.terminalsOf(sandbox)) t.dispose();
  await withProgress({ location: vscode.ProgressLocation.Notification, title: `Paddock: discarding task ${task.name}` }, () => discardTask(engine, record));
  services.log.info(`Discarded task ${task.name} (${what})`);
  await tasks.reload();
}

async function openTerminal(services: Services, tasks: TaskStore, arg: unknown): Promise<void> {
  const task = await pickTask(tasks, arg, 'open a terminal in');
  const folder = folderOf(task);
  if (task.sandbox && task.status !== 'none') {
    const view = services.store.sandboxes.find((v) => v.details.name === task.sandbox);
    if (view && view.details.status !== 'running') {
      await withProgress({ location: vscode.ProgressLocation.Notification, title: `Paddock: starting ${task.sandbox}` }, () => services.store.engine.start(view.details.id));
    }
    services.terminals.attach(task.sandbox, task.agent ?? 'shell', { workspaceName: terminalLabel(folder, task.name) });
    return;
  }
  // No sandbox (removed): one is made for the task, of the agent the user picks.
  const first = defaultAgent();
  const picked = await vscode.window.showQuickPick([first, ...AGENT_IDS.filter((a) => a !== first)].map((id) => ({ label: AGENTS[id].label, id })), { placeHolder: `Agent for task ${task.name}` });
  if (!picked) return;
  const prepared = await prepareWithProgress(services, picked.id, folder, false, { task: task.name });
  services.terminals.attach(prepared.sandbox.name, picked.id, { workspaceName: terminalLabel(folder, task.name) });
  tasks.scheduleReload();
}

/** The task commands' handlers, by id, and the read-only documents of reviews. */
export function taskCommands(services: Services, tasks: TaskStore): { handlers: Map<string, CommandHandler>; disposables: vscode.Disposable[] } {
  const cmd = (id: string, fn: (arg?: unknown) => Promise<unknown>): [string, CommandHandler] => [id, guarded(services, fn) as CommandHandler];
  return {
    handlers: new Map([
      ...AGENT_TASK_COMMANDS.map(([id, agent]) => cmd(id, (arg) => newTask(services, tasks, agent, arg))),
      cmd('paddock.task.reviewChanges', (arg) => reviewChanges(tasks, arg)),
      cmd('paddock.task.merge', (arg) => merge(services, tasks, arg)),
      cmd('paddock.task.discard', (arg) => discard(services, tasks, arg)),
      cmd('paddock.task.openTerminal', (arg) => openTerminal(services, tasks, arg)),
      cmd('paddock.task.openWorktree', async (arg) => {
        const task = await pickTask(tasks, arg, 'open');
        await vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.file(task.path), { forceNewWindow: true });
      }),
    ]),
    disposables: [vscode.workspace.registerTextDocumentContentProvider(REVIEW_SCHEME, new ReviewDocuments())],
  };
}
