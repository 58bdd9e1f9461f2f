import { lstatSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { isInside } from '../core/paths.js';
import { engineMessage, isConflict } from './docker.js';
import type { SandboxEngine } from './engine.js';
import type { SandboxDetails } from './types.js';

/**
 * Closes the one hole in hiding that mounts cannot: a hidden file (or folder) that the host
 * replaces by rename — an editor's "safe write", `sed -i`, `mv new .env` — gets a new inode, and
 * the kernel detaches the mount that covered the old one, so a running sandbox would read the new
 * content. The same goes for the read-only cage: git rewrites .git/config by rename, after which
 * the sandbox could write it. While a host process serves a sandbox (`paddock run`, VS Code), this
 * watches those paths' folders; when one of them is replaced it freezes the sandbox at once (docker
 * pause), then stops it. The next start mounts everything again. (Inside every sandbox, its init
 * does the same from the other side: templates/base/paddock-init.)
 */
export interface HidingBreach {
  readonly sandbox: string;
  /** The protected paths that were replaced. */
  readonly paths: readonly string[];
  /** Those of them that were read-only (the others were hidden). */
  readonly readOnly: readonly string[];
  /** What Paddock did: stopped it, or only froze it when stopping failed. */
  readonly action: 'stopped' | 'paused' | 'failed';
  readonly error?: string;
}

export interface HidingGuard {
  /**
   * Looks once more (a session that ended may have ended because of a replace the folder watch has
   * not reported yet), then resolves when no containment is under way and its report is delivered.
   */
  settled(): Promise<void>;
  close(): void;
}

/** Whether a sandbox mount hides what is under it: /dev/null over a file, tmpfs over a folder. */
export function isHidingMount(m: SandboxDetails['mounts'][number]): boolean {
  return (m.type === 'bind' && m.source === '/dev/null') || m.type === 'tmpfs';
}

/** The workspace paths a sandbox hides (same paths inside and out). */
export function hiddenPathsOf(details: SandboxDetails): string[] {
  return details.mounts.filter(isHidingMount).map((m) => m.target).filter((p) => isInside(p, details.workspace));
}

/** The workspace paths a sandbox sees read-only (its cage: policy, agent configs, git hooks and config). */
export function readOnlyPathsOf(details: SandboxDetails): string[] {
  return details.mounts
    .filter((m) => m.type === 'bind' && m.readOnly && m.source !== '/dev/null' && m.target !== details.workspace)
    .map((m) => m.target)
    .filter((p) => isInside(p, details.workspace));
}

/** What a replace exposed, for messages: hidden paths become readable, read-only ones writable. */
export function breachExposure(b: HidingBreach): string {
  if (!b.readOnly.length) return 'readable';
  return b.readOnly.length === b.paths.length ? 'writable' : 'readable or writable';
}

/**
 * Which file a path names now. Inode numbers are reused at once on some file systems (delete and
 * create again can give the same number), so the birth time is part of it.
 */
function identityOf(path: string): string | undefined {
  try {
    const st = lstatSync(path);
    return `${st.dev}:${st.ino}:${st.birthtimeMs}`;
  } catch {
    return undefined;
  }
}

const MISSING = 'missing';

export function guardHiddenPaths(engine: SandboxEngine, details: SandboxDetails, onBreach: (breach: HidingBreach) => void): HidingGuard {
  // What each mount covers: the file it sat on when this guard started. A path seen missing since
  // has lost its mount: whatever appears there later is readable.
  const covered = new Map<string, string | undefined>();
  const readOnly = new Set(readOnlyPathsOf(details));
  for (const path of [...hiddenPathsOf(details), ...readOnly]) covered.set(path, identityOf(path));
  const watchers: FSWatcher[] = [];
  let closed = false;
  let acting: Promise<void> | undefined;

  const check = (dir: string) => {
    if (closed || acting) return;
    const replaced: string[] = [];
    for (const [path, was] of covered) {
      if (dirname(path) !== dir) continue;
      const now = identityOf(path);
      // Removed: nothing to read yet, but its mount went with it (remembered as MISSING).
      if (now === undefined) {
        covered.set(path, MISSING);
        continue;
      }
      if (now !== was) replaced.push(path);
      // Reported once: the next start of the sandbox covers the new file.
      covered.set(path, now);
    }
    if (!replaced.length) return;
    acting = contain(replaced).then(onBreach).finally(() => { acting = undefined; });
  };

  const contain = async (paths: string[]): Promise<HidingBreach> => {
    const container = engine.docker.getContainer(details.id);
    let action: HidingBreach['action'] = 'failed';
    let error: string | undefined;
    try {
      await container.pause();
      action = 'paused';
    } catch (err) {
      // already paused, or not running (nothing to read then)
      if (!isConflict(err)) error = engineMessage(err);
    }
    try {
      await engine.stop(details.id, 2);
      action = 'stopped';
    } catch (err) {
      error ??= engineMessage(err);
    }
    return { sandbox: details.name, paths, readOnly: paths.filter((p) => readOnly.has(p)), action, ...(error ? { error } : {}) };
  };

  const dirs = new Set([...covered.keys()].map((p) => dirname(p)));
  for (const dir of dirs) {
    try {
      watchers.push(watch(dir, { persistent: false }, () => check(dir)));
    } catch {
      // the folder is gone: nothing hidden in it can be replaced
    }
  }
  return {
    settled: async () => {
      for (const dir of dirs) check(dir);
      await acting;
    },
    close: () => {
      closed = true;
      for (const w of watchers) w.close();
    },
  };
}
