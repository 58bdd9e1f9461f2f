import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Which hidden paths git still has (tracked now, or in any commit): hiding the file does not
 * hide `git show HEAD:.env`. Reads the repository with the git command; never changes it.
 * Returns the workspace-relative paths git knows, among (or below) the given ones.
 */
export function pathsKnownToGit(workspace: string, hidden: readonly { relative: string; kind: 'file' | 'dir' }[], timeoutMs = 15_000): Set<string> {
  const known = new Set<string>();
  if (!hidden.length || !existsSync(join(workspace, '.git'))) return known;
  const specs = hidden.map((h) => `:(literal)${h.relative}`);
  const run = (args: string[]) => {
    try {
      // Read-only commands; the repository may belong to another user (safe.directory), and its
      // config must not start programs (core.fsmonitor).
      return execFileSync('git', ['-C', workspace, '-c', 'safe.directory=*', '-c', 'core.fsmonitor=false', '-c', 'core.quotepath=off', ...args, '--', ...specs], {
        encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'],
        env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' },
      });
    } catch {
      return '';
    }
  };
  const paths = [...run(['ls-files', '-z']).split('\0'), ...run(['log', '--all', '--format=', '--name-only', '-z']).split(/[\0\n]/)].filter(Boolean);
  for (const p of paths) {
    for (const h of hidden) {
      if (p === h.relative || (h.kind === 'dir' && p.startsWith(`${h.relative}/`))) known.add(h.relative);
    }
  }
  return known;
}
