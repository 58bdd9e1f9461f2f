// What the Sandboxes tree and the review show of parallel tasks (src/engine/tasks.ts). Pure (no
// `vscode` import), so it is unit-tested in plain node; tasks.ts does the editor's part.
import { join } from 'node:path';
import { getAgent, isAgentId } from '../core/agents.js';
import type { TaskState } from '../engine/tasks.js';
import type { ChangeKind, TaskChange } from '../engine/taskReview.js';
import { sandboxNode, type SandboxView, type TreeNode, type WorkspaceFolderRef } from './treeModel.js';

/** The tasks of each open workspace folder (by its path), as last read. */
export interface FolderTasks {
  /** The repository's top folder (the tasks' source). */
  readonly source: string;
  readonly tasks: readonly TaskState[];
}
export type TaskSnapshot = ReadonlyMap<string, FolderTasks>;

/** A task row: commands on it receive the task. */
export interface TaskNode extends TreeNode {
  readonly task: TaskState;
}

export const TASK_CONTEXT = 'paddockTask';

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function agentName(agent: string | undefined): string {
  if (!agent) return 'agent';
  return isAgentId(agent) ? getAgent(agent).label : agent;
}

/** "paddock/fix · 2 ahead · 3 changed (1 uncommitted) · Shell running". */
export function taskDescription(task: TaskState): string {
  const progress = task.ahead === undefined
    ? ['folder missing']
    : [`${task.ahead} ahead`, `${task.changedFiles ?? 0} changed${task.uncommitted ? ` (${task.uncommitted} uncommitted)` : ''}`];
  const sandbox = task.sandbox ? `${agentName(task.agent)} ${task.status}` : 'no sandbox';
  return [task.branch, ...progress, sandbox].join(' · ');
}

export function taskTooltip(task: TaskState): string {
  return [
    `Task ${task.name}`,
    `Branch: ${task.branch}, from ${task.baseRef} (${task.base.slice(0, 12)})`,
    task.ahead === undefined ? `Folder: ${task.path} (gone: discard the task)` : `Folder: ${task.path}`,
    ...(task.ahead === undefined ? [] : [`${plural(task.ahead, 'commit')} ahead of the base; ${plural(task.changedFiles ?? 0, 'file')} changed, ${task.uncommitted ?? 0} of them uncommitted`]),
    task.sandbox ? `Sandbox: ${task.sandbox} (${agentName(task.agent)}, ${task.status})` : 'No sandbox: Open Terminal starts one',
  ].join('\n');
}

const TASK_ICONS: Record<string, { id: string; color?: string }> = {
  running: { id: 'git-branch', color: 'testing.iconPassed' },
  paused: { id: 'git-branch', color: 'editorWarning.foreground' },
  dead: { id: 'git-branch', color: 'errorForeground' },
};

/**
 * The folder whose policy governs a tree row (Open Policy): a task's, from its row or its sandbox's
 * row, is its workspace's, never the copy in the task's folder; `taskSourceOf` names the workspace
 * of a task folder (engine/tasks.ts taskAt).
 */
export function policyFolderOf(node: { readonly task?: { readonly source: string }; readonly sandbox?: { readonly workspace: string } } | undefined, taskSourceOf: (folder: string) => string | undefined): string | undefined {
  if (node?.task) return node.task.source;
  if (node?.sandbox) return taskSourceOf(node.sandbox.workspace) ?? node.sandbox.workspace;
  return undefined;
}

export function taskNode(task: TaskState, view: SandboxView | undefined, now: number): TaskNode {
  const id = `task/${task.source}/${task.name}`;
  const sandbox = view ? sandboxNode(view, now) : undefined;
  const ref = view ? { id: view.details.id, name: view.details.name, workspace: view.details.workspace, agent: view.details.agent, status: view.details.status } : undefined;
  return {
    id, kind: 'group', label: task.name, description: taskDescription(task), tooltip: taskTooltip(task),
    icon: TASK_ICONS[task.status] ?? { id: 'git-branch', color: task.ahead === undefined ? 'errorForeground' : undefined },
    contextValue: TASK_CONTEXT, task, sandbox: ref,
    children: [
      ...(sandbox ? [sandbox] : [{ id: `${id}/nosandbox`, kind: 'item' as const, label: 'No sandbox', description: 'Open Terminal starts one', icon: { id: 'circle-slash' } }]),
      { id: `${id}/folder`, kind: 'item', label: 'Worktree', description: task.path, tooltip: `${task.path}\nA clone of ${task.source} that shares its objects, on branch ${task.branch}.`, icon: { id: 'folder' } },
    ],
  };
}

/**
 * The tree with each open folder's tasks under the folder (after its own sandboxes), and the
 * tasks' sandboxes taken out of the other-workspace rows ("Show All"), where their folders would
 * otherwise appear as workspaces of their own.
 */
export function withTasks(roots: readonly TreeNode[], folders: readonly WorkspaceFolderRef[], snapshot: TaskSnapshot | undefined, sandboxes: readonly SandboxView[], now: number): TreeNode[] {
  if (!snapshot?.size) return [...roots];
  const byName = new Map(sandboxes.map((v) => [v.details.name, v]));
  const taskSandboxes = new Set<string>();
  const taskNodes = new Map<string, TaskNode[]>();
  for (const f of folders) {
    const entry = snapshot.get(f.path);
    if (!entry?.tasks.length) continue;
    taskNodes.set(f.path, entry.tasks.map((t) => {
      if (t.sandbox) taskSandboxes.add(t.sandbox);
      return taskNode(t, t.sandbox ? byName.get(t.sandbox) : undefined, now);
    }));
  }
  const rootOf = new Map(roots.map((r) => [r.id, r]));
  const out: TreeNode[] = [];
  for (const f of folders) {
    const existing = rootOf.get(`workspace/${f.path}`);
    const tasks = taskNodes.get(f.path) ?? [];
    if (existing) out.push(tasks.length ? { ...existing, children: [...(existing.children ?? []), ...tasks] } : existing);
    else if (tasks.length) out.push({ id: `workspace/${f.path}`, kind: 'workspace', label: f.name, tooltip: f.path, icon: { id: 'root-folder' }, contextValue: 'openWorkspace', children: tasks });
  }
  const open = new Set(folders.map((f) => `workspace/${f.path}`));
  for (const r of roots) {
    if (open.has(r.id)) continue;
    const children = (r.children ?? []).filter((c) => !(c.sandbox && taskSandboxes.has(c.sandbox.name)));
    if (children.length) out.push(children.length === r.children?.length ? r : { ...r, children });
  }
  return out;
}

/** One entry of the multi-file diff: the file's name, the base's side and the task's side (either may be missing). */
export interface ReviewEntry {
  readonly path: string;
  readonly kind: ChangeKind;
  /** The file in the task's folder (the label, and the editable right side when it is a regular file). */
  readonly file: string;
  readonly base: boolean;
  /** 'file': the file itself; 'link': a symbolic link, shown as its target (not followed); undefined: deleted. */
  readonly right?: 'file' | 'link';
}

/**
 * What Review Changes opens for the task's changes. A symbolic link the agent made is shown as
 * where it points, never opened: following it would show (and let the review edit) a file
 * outside the task's folder.
 */
export function reviewEntries(taskPath: string, changes: readonly TaskChange[], typeOf: (file: string) => 'file' | 'link' | 'other' | 'missing'): ReviewEntry[] {
  return changes.map((c) => {
    const file = join(taskPath, c.path);
    const type = c.kind === 'deleted' ? 'missing' : typeOf(file);
    const right = type === 'file' ? 'file' : type === 'link' ? 'link' : undefined;
    return { path: c.path, kind: c.kind, file, base: c.kind !== 'added', right };
  });
}

/** The query of a read-only review document: which task, and which side. */
export interface ReviewQuery {
  readonly source: string;
  readonly task: string;
  readonly side: 'base' | 'link';
}

export function encodeReviewQuery(q: ReviewQuery): string {
  return JSON.stringify({ source: q.source, task: q.task, side: q.side });
}

export function decodeReviewQuery(query: string): ReviewQuery | undefined {
  try {
    const q = JSON.parse(query) as Partial<ReviewQuery>;
    if (typeof q.source === 'string' && typeof q.task === 'string' && (q.side === 'base' || q.side === 'link')) return { source: q.source, task: q.task, side: q.side };
  } catch {
    // not ours
  }
  return undefined;
}

/** The title of the multi-file diff. */
export function reviewTitle(task: Pick<TaskState, 'name' | 'baseRef' | 'base'>, count: number): string {
  return `Task ${task.name} ↔ ${task.baseRef} (${task.base.slice(0, 8)}): ${plural(count, 'file')}`;
}
