import { lstatSync, readdirSync, watch, type Dirent, type FSWatcher } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { guardDecision, type GuardRules } from '../core/hideGuardRules.js';
import type { SandboxDetails } from './types.js';

// The host's side of the init's watch for secrets that appear while a sandbox runs (./newSecretsRules.ts).

/** Folders the watch leaves out, as the init's does: git's data, and node_modules (one watch a folder; they are checked at the next start). */
const UNWATCHED = new Set(['.git', 'node_modules']);
/** A tree with more folders than this is watched in its first folders only (the init's watch covers the rest). */
const MAX_WATCHED = 20_000;

/**
 * The host's side of the init's watch, for a process that serves the sandbox: every folder of the
 * workspace that the sandbox sees (not git's data or node_modules, not what a hiding mount covers)
 * is watched, and `onAppeared` is called with the paths the sandbox's rules hide that appear in one
 * (created or moved in, a symlink too; a folder moved in is searched). Also the only live guard of a sandbox whose
 * image has no inotifywait or awk. Returns the function that ends the watch.
 */
export function watchNewPaths(details: SandboxDetails, rules: GuardRules, covered: (path: string) => boolean, onAppeared: (paths: string[]) => void): () => void {
  const watchers = new Map<string, FSWatcher>();
  const hides = (path: string) => {
    const rel = relative(details.workspace, path);
    return !!rel && !rel.startsWith('..') && !covered(path) && !!guardDecision(rules, rel.split(sep).join('/'))?.positive;
  };
  // Returns the paths the rules hide found in `dir`, adding watches on the way.
  const walk = (dir: string, found: string[]) => {
    if (watchers.has(dir) || watchers.size >= MAX_WATCHED) return;
    try {
      const watcher = watch(dir, { persistent: false }, (_event, name) => { if (name) appeared(join(dir, name.toString())); });
      watcher.on('error', () => { watcher.close(); watchers.delete(dir); });
      watchers.set(dir, watcher);
    } catch {
      return; // gone, or not readable by this user: the init's watch (root) still sees it
    }
    for (const entry of safeEntries(dir)) {
      const path = join(dir, entry.name);
      if (!entry.isDirectory() && !entry.isFile() && !entry.isSymbolicLink()) continue;
      if (hides(path)) found.push(path);
      else if (entry.isDirectory() && !UNWATCHED.has(entry.name) && !covered(path)) walk(path, found);
    }
  };
  // A path the rules hide counts whatever it is when this looks, a symlink too (red team 1a, 1b):
  // a later write to the name lands in the link's target, which no mount hides, and an agent can
  // rename a new file away and leave a link there before the look. Only a name that is gone again
  // is let be (an event for a path that no longer exists: a file created and removed at once).
  const appeared = (path: string) => {
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (!st || !(st.isFile() || st.isDirectory() || st.isSymbolicLink())) return;
    if (hides(path)) return onAppeared([path]);
    if (!st.isDirectory() || UNWATCHED.has(basename(path)) || covered(path)) return;
    const found: string[] = [];
    walk(path, found);
    if (found.length) onAppeared(found);
  };
  walk(details.workspace, []);
  return () => {
    for (const w of watchers.values()) w.close();
    watchers.clear();
  };
}

function safeEntries(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}
