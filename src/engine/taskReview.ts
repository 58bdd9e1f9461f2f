// What the editor needs to review a task (src/engine/tasks.ts): the files it changed against its
// base, a file as the base has it, and the refs a new task can start from. git runs as tasks.ts
// runs it: in the task's folder (the sandbox's) with its git dir named and programs off, in the
// main repository as the user's own git.
import { PaddockError } from '../core/errors.js';
import { mainGit, taskGit, type TaskRecord } from './tasks.js';

export type ChangeKind = 'added' | 'modified' | 'deleted';

export interface TaskChange {
  /** Relative to the task's folder (and to the repository's top: same layout). */
  readonly path: string;
  readonly kind: ChangeKind;
}

const KINDS: Record<string, ChangeKind> = { A: 'added', M: 'modified', D: 'deleted', T: 'modified' };

/**
 * `git diff --name-status -z --no-renames` output ("M\0path\0A\0path\0...") and the untracked
 * files (`ls-files -z`) as one sorted list; a path listed twice keeps its first kind.
 */
export function parseChanges(nameStatus: string, untracked: string): TaskChange[] {
  const fields = nameStatus.split('\0');
  const byPath = new Map<string, ChangeKind>();
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const kind = KINDS[fields[i].charAt(0)];
    const path = fields[i + 1];
    if (kind && path && !byPath.has(path)) byPath.set(path, kind);
  }
  for (const path of untracked.split('\0').filter(Boolean)) if (!byPath.has(path)) byPath.set(path, 'added');
  return [...byPath].map(([path, kind]) => ({ path, kind })).sort((a, b) => a.path.localeCompare(b.path));
}

/** The task's work against its base, file by file: committed, uncommitted and untracked (what `paddock diff` shows). */
export async function taskChanges(task: TaskRecord): Promise<TaskChange[]> {
  const [tracked, untracked] = await Promise.all([
    taskGit(task, ['diff', '--no-ext-diff', '--no-textconv', '--no-renames', '--name-status', '-z', task.base, '--']),
    taskGit(task, ['ls-files', '--others', '--exclude-standard', '-z']),
  ]);
  if (tracked.code !== 0) throw new PaddockError(`Cannot list the changes of task ${task.name}: ${tracked.stderr.trim()}`, `Check the task's folder with "git status" (in ${task.path}).`);
  return parseChanges(tracked.stdout, untracked.code === 0 ? untracked.stdout : '');
}

/**
 * A file as the task's base commit has it, read from the main repository (which pins the base),
 * never from the task's folder; undefined when the base has no such file.
 */
export async function baseFileText(task: TaskRecord, path: string): Promise<string | undefined> {
  const r = await mainGit(task.source, ['cat-file', 'blob', `${task.base}:${path}`]);
  return r.code === 0 ? r.stdout : undefined;
}

export interface BaseChoices {
  /** The branch checked out in the workspace (undefined: detached HEAD). */
  readonly current?: string;
  /** The commit HEAD is at (undefined: no commit yet). */
  readonly head?: string;
  /** Local branches, most recently committed first. */
  readonly branches: readonly { readonly name: string; readonly commit: string; readonly subject: string }[];
}

/** What a new task of the repository can start from. */
export async function baseChoices(source: string): Promise<BaseChoices> {
  const [current, head, refs] = await Promise.all([
    mainGit(source, ['symbolic-ref', '-q', '--short', 'HEAD']),
    mainGit(source, ['rev-parse', '-q', '--verify', 'HEAD^{commit}']),
    mainGit(source, ['for-each-ref', '--sort=-committerdate', '--format=%(refname:short)%00%(objectname)%00%(subject)', 'refs/heads']),
  ]);
  const branches = refs.stdout.split('\n').filter(Boolean).map((line) => {
    const [name, commit, subject] = line.split('\0');
    return { name, commit, subject: subject ?? '' };
  });
  return { current: current.stdout.trim() || undefined, head: head.code === 0 ? head.stdout.trim() : undefined, branches };
}
