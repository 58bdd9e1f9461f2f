// What `git status --porcelain=v2 -z --branch` says of a task's folder (src/engine/tasks.ts), parsed
// without git or the file system, so the parsing is unit-tested in plain node. The text comes from
// a folder the task's sandbox writes: paths are taken as data, and a commit id only when it is one.

export interface WorkingState {
  /** The commit HEAD is at (undefined: no commit, or not a commit id). */
  readonly head?: string;
  /** The branch checked out (undefined: detached HEAD). */
  readonly branch?: string;
  /** Paths with changes not committed: staged, unstaged, unmerged and untracked. */
  readonly uncommitted: readonly string[];
}

/** git's "1", "2" and "u" entries: how many space-separated fields come before the path. */
const FIELDS_BEFORE_PATH: Record<string, number> = { 1: 8, 2: 9, u: 10 };
const COMMIT_ID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** Parses `git status --porcelain=v2 -z --branch --untracked-files=all` output. */
export function parseStatus(text: string): WorkingState {
  const fields = text.split('\0');
  let head: string | undefined;
  let branch: string | undefined;
  const uncommitted: string[] = [];
  for (let i = 0; i < fields.length; i++) {
    const entry = fields[i];
    if (!entry) continue;
    if (entry.startsWith('# ')) {
      const [key, value = ''] = entry.slice(2).split(' ', 2);
      if (key === 'branch.oid' && COMMIT_ID.test(value)) head = value;
      else if (key === 'branch.head' && value !== '(detached)') branch = entry.slice('# branch.head '.length);
      continue;
    }
    const kind = entry.charAt(0);
    if (kind === '?') {
      uncommitted.push(entry.slice(2));
      continue;
    }
    const before = FIELDS_BEFORE_PATH[kind];
    if (before === undefined) continue; // "!" (ignored) or a kind this git does not write
    let at = 0;
    for (let n = 0; n < before && at >= 0; n++) at = entry.indexOf(' ', at) + 1 || -1;
    if (at > 0) uncommitted.push(entry.slice(at));
    if (kind === '2') i++; // a rename's original path follows as a field of its own
  }
  return { head, branch, uncommitted };
}
