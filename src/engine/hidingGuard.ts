import { lstatSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { isInside } from '../core/paths.js';
import { engineMessage, isConflict, isNotFound } from './docker.js';
import type { SandboxEngine } from './engine.js';
import { watchNewPaths } from './newSecretsWatch.js';
import { rulesOf } from './newSecretsRules.js';
import type { TemplateOptions } from './templates.js';
import type { SandboxDetails } from './types.js';

/**
 * Closes the holes in hiding that mounts cannot, while a host process serves a sandbox (`paddock
 * run`, VS Code):
 * - a hidden file (or folder) that the host replaces by rename — an editor's "safe write", `sed -i`,
 *   `mv new .env` — gets a new inode, and the kernel detaches the mount that covered the old one, so
 *   a running sandbox would read the new content. The same goes for the read-only cage: git rewrites
 *   .git/config by rename, after which the sandbox could write it. This watches those paths' folders;
 * - a path the sandbox's hide rules name that appears after its create has no mount at all
 *   (`cp .env.example .env`, a tool writing config/new.pem): this watches the workspace's folders
 *   for them (./newSecrets.ts), as the sandbox's init does from inside.
 * When either happens it freezes the sandbox at once (docker pause). Then, with `resume`, it ends
 * it (docker kill: a frozen process never runs again) and applies: a new container from the old
 * one's state, with the mount plan of now, so the path is hidden, started again (./newSecrets.ts);
 * without, it stops it and the next start mounts everything again. A sandbox that the init's own
 * guard stopped for the same reasons (templates/base/paddock-init) is resumed too, when settled()
 * looks after the session or the sandbox ended.
 */
export interface HidingBreach {
  readonly sandbox: string;
  /** The protected paths that were replaced. */
  readonly paths: readonly string[];
  /** Those of them that were read-only (the others were hidden). */
  readonly readOnly: readonly string[];
  /** What Paddock did: resumed it (applied: a new container that hides the paths, state kept), stopped it, or only froze it when stopping failed. */
  readonly action: 'resumed' | 'stopped' | 'paused' | 'failed';
  readonly error?: string;
  /** What happened to the paths: a protected one replaced or removed on the host, or one the hide rules name that appeared. */
  readonly cause?: 'replaced' | 'appeared';
  /** Who saw it first: this guard, or the sandbox's own init (which stopped it). */
  readonly seenBy?: 'host' | 'sandbox';
  /** After an apply: the new container and what the apply said. */
  readonly resumed?: { readonly sandbox: SandboxDetails; readonly notes: readonly string[] };
}

export interface GuardOptions {
  /** Apply and start the sandbox again after a breach (instead of leaving it stopped). */
  readonly resume?: boolean;
  /** What the caller makes templates with (so that the apply keeps the template the state sits on). */
  readonly templateOptions?: TemplateOptions;
  readonly onProgress?: (line: string) => void;
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

/** What the user reads after a resume whose agent session ended, unless the caller starts it again itself. */
export const SESSION_ENDED = 'The agent\'s session ended: run it again to continue.';

/**
 * What the user reads (terminal or editor) after a breach that this guard resumed, or one where a
 * path the hide rules name appeared: what happened, what Paddock did, what is left to do
 * (`afterResume`: what becomes of the agent's session once resumed).
 */
export function protectedAgainMessage(b: HidingBreach, show: (path: string) => string = (p) => `"${p}"`, afterResume = SESSION_ENDED): string {
  const what = b.paths.map(show).join(', ');
  const happened = b.cause === 'appeared'
    ? `${what} appeared in the workspace where no mount hid ${b.paths.length === 1 ? 'it' : 'them'} in ${b.sandbox}`
    : `${what} was replaced or removed on the host, which lifted ${b.paths.length === 1 ? 'its mount' : 'their mounts'} in ${b.sandbox}`;
  const froze = b.seenBy === 'sandbox' ? 'its own guard froze every process at once' : 'Paddock froze it at once';
  // What the new container does for the paths: a read-only one (.git/config rewritten by git) is not hidden.
  const them = b.paths.length === 1 ? 'it' : 'them';
  const readOnly = b.cause !== 'appeared' && b.readOnly.length > 0;
  const protects = !readOnly ? `hides ${them}` : b.readOnly.length === b.paths.length ? `makes ${them} read-only again` : 'protects them again';
  if (b.action === 'resumed') {
    // The apply's notes, less the one that says nothing changed, without their full stops (they end inside parentheses).
    const said = (b.resumed?.notes ?? []).filter((n) => !n.endsWith(' unchanged.')).map((n) => n.replace(/\.$/, ''));
    const notes = said.length ? ` (${said.join('; ')})` : '';
    return `paddock: ${happened}; ${froze}, then applied: a new container ${protects}, with the sandbox's state kept (installed packages, the agent's home), and runs${notes}. ${afterResume}`;
  }
  if (b.action === 'stopped') return `paddock: ${happened}; ${froze} and stopped it${b.error ? `, but could not apply (${b.error})` : ''}. "paddock apply ${b.sandbox}" ${protects} and keeps the sandbox's state.`;
  return `paddock: ${happened}, and ${b.action === 'paused' ? 'Paddock froze it but could not stop it' : 'Paddock could not freeze or stop it'}${b.error ? ` (${b.error})` : ''}. Stop it now: paddock stop ${b.sandbox}`;
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

export function guardHiddenPaths(engine: SandboxEngine, details: SandboxDetails, onBreach: (breach: HidingBreach) => void, options: GuardOptions = {}): HidingGuard {
  // What each mount covers: the file it sat on when this guard started. A path seen missing since
  // has lost its mount: whatever appears there later is readable.
  const covered = new Map<string, string | undefined>();
  const readOnly = new Set(readOnlyPathsOf(details));
  const hidden = hiddenPathsOf(details);
  for (const path of [...hidden, ...readOnly]) covered.set(path, identityOf(path));
  const watchers: FSWatcher[] = [];
  let closed = false;
  let acting: Promise<void> | undefined;
  // Once resumed (or given up), this guard is done: the new container gets a guard of its own.
  let finished = false;

  const act = (paths: string[], cause: HidingBreach['cause']) => {
    if (closed || acting || finished) return;
    acting = contain(paths, cause).then((b) => {
      if (b.action === 'resumed' || b.action === 'stopped') finished = true;
      onBreach(b);
    }).finally(() => { acting = undefined; });
  };

  const check = (dir: string) => {
    if (closed || acting || finished) return;
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
    if (replaced.length) act(replaced, 'replaced');
  };

  const contain = async (paths: string[], cause: HidingBreach['cause'], seenBy: HidingBreach['seenBy'] = 'host'): Promise<HidingBreach> => {
    const container = engine.docker.getContainer(details.id);
    let action: HidingBreach['action'] = 'failed';
    let error: string | undefined;
    const breach = () => ({ sandbox: details.name, paths, readOnly: paths.filter((p) => readOnly.has(p)), cause, seenBy, action, ...(error ? { error } : {}) });
    try {
      await container.pause();
      action = 'paused';
    } catch (err) {
      // already paused, or not running (nothing to read then)
      if (!isConflict(err)) error = engineMessage(err);
    }
    if (options.resume) {
      try {
        // Frozen processes get SIGKILL before they are thawed: none of them runs again.
        await container.kill().catch((err) => { if (!isConflict(err) && !isNotFound(err)) throw err; });
        action = 'stopped';
        const { applyToHide } = await import('./newSecrets.js');
        const prepared = await applyToHide(engine, details, options.templateOptions, options.onProgress);
        return { ...breach(), action: 'resumed', resumed: { sandbox: prepared.sandbox, notes: prepared.notes } };
      } catch (err) {
        error ??= engineMessage(err);
        if (action === 'stopped') return breach();
      }
    }
    try {
      await engine.stop(details.id, 2);
      action = 'stopped';
    } catch (err) {
      error ??= engineMessage(err);
    }
    return breach();
  };

  const dirs = new Set([...covered.keys()].map((p) => dirname(p)));
  for (const dir of dirs) {
    try {
      watchers.push(watch(dir, { persistent: false }, () => check(dir)));
    } catch {
      // the folder is gone: nothing hidden in it can be replaced
    }
  }
  // Paths the hide rules name that appear (only for sandboxes made with the rules mount).
  const rules = rulesOf(details);
  const underHiding = (path: string) => hidden.some((h) => path === h || isInside(path, h));
  const stopWatchingNew = rules ? watchNewPaths(details, rules, underHiding, (paths) => act(paths, 'appeared')) : () => {};

  // The init's guard may have stopped the sandbox first (it is faster): resume it the same way.
  const stoppedByInit = async () => {
    if (!options.resume || finished || closed) return;
    const info = await engine.docker.getContainer(details.id).inspect().catch(() => undefined);
    if (!info || info.State.Running || info.State.Paused) return;
    const why = await engine.stopReason(details.id).catch(() => undefined);
    const cause = why?.text.startsWith('new secret:') ? 'appeared' : why?.text.startsWith('protection lifted:') ? 'replaced' : undefined;
    if (!why || !cause || acting || finished) return;
    acting = contain(why.paths.map((p) => p.replace(/ \((hidden|read-only)\)$/, '')), cause, 'sandbox').then((b) => {
      finished = true;
      onBreach(b);
    }).finally(() => { acting = undefined; });
  };
  return {
    settled: async () => {
      for (const dir of dirs) check(dir);
      await acting;
      await stoppedByInit();
      await acting;
    },
    close: () => {
      closed = true;
      for (const w of watchers) w.close();
      stopWatchingNew();
    },
  };
}
