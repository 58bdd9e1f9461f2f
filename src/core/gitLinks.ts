import { lstatSync, readdirSync, type Dirent } from 'node:fs';
import { join, posix } from 'node:path';

/**
 * Symlinks in caged git dirs (README: the cage, "A symlink in a git dir"). The host's git opens its
 * own files by name and follows a symlink there when it writes: reflog lines (commit subjects, branch
 * names) are appended to logs/**, a commit --amend writes the whole message to COMMIT_EDITMSG. git
 * never makes a symlink in its own git dir, so one there was made by someone else (the sandbox), and
 * the host's git would write text the agent chose into the file it points to. The sandbox's init
 * removes such a symlink the moment it appears and stops the sandbox (templates/base/paddock-init,
 * block_links); `paddock verify` looks for them too, with the same rule.
 */

/**
 * The caged git dirs: the folders of the cage's config and hooks paths that hold a HEAD (as the
 * init's git_dirs finds them in its read-only mounts), sorted.
 */
export function cagedGitDirs(readOnlyPaths: readonly string[]): string[] {
  const dirs = new Set<string>();
  for (const p of readOnlyPaths) {
    const m = /^(.+)\/(?:config|hooks)$/.exec(p);
    if (m && lstatSync(join(m[1], 'HEAD'), { throwIfNoEntry: false })?.isFile()) dirs.add(m[1]);
  }
  return [...dirs].sort();
}

/**
 * The symlinks below the git dirs given (never followed; one inside another is searched with it), as
 * absolute paths, at most `limit`. Left out, as by the init's live watch: the files in a git dir's
 * objects/XX/ (the loose objects' fan-out folders, where git writes only to a new name that it links
 * or renames into place, so never through a symlink); a fan-out folder that is itself a symlink is
 * reported.
 */
export function symlinksInGitDirs(gitDirs: readonly string[], limit = 1000): string[] {
  const all = new Set(gitDirs);
  const out: string[] = [];
  const stack = gitDirs.filter((d) => !gitDirs.some((o) => d.startsWith(`${o}/`)));
  while (stack.length && out.length < limit) {
    const dir = stack.pop()!;
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    const fanOut = posix.basename(dir) === 'objects' && all.has(posix.dirname(dir));
    for (const e of entries) {
      const path = posix.join(dir, e.name);
      if (e.isSymbolicLink()) out.push(path);
      else if (e.isDirectory() && !(fanOut && /^[0-9a-f]{2}$/.test(e.name))) stack.push(path);
    }
  }
  return out.sort();
}
