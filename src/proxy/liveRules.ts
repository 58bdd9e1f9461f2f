import { readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { compileLiveRules, parseLiveRules, type LiveRules } from '../core/liveRules.js';
import type { EgressRules } from '../core/egress.js';

/**
 * Follows the host's live rules file (src/core/liveRules.ts) in the proxy: fs.watch on its folder
 * (a rename into place is one event) and a stat poll besides (file events do not cross every
 * bind mount, e.g. Docker Desktop's), so a change is in force within a second either way. A file
 * that cannot be read, parsed or compiled is refused and the rules in force stay.
 */
export interface LiveRulesWatcher {
  /** Reads the file now (also done by the watch and the poll). */
  check(): void;
  close(): void;
}

export interface LiveRulesEvents {
  readonly onRules: (rules: LiveRules, compiled: EgressRules) => void;
  readonly onRefused: (reason: string) => void;
}

const POLL_MS = 400;

export function readLiveRulesFile(file: string): { rules: LiveRules; compiled: EgressRules } {
  const rules = parseLiveRules(readFileSync(file, 'utf8'));
  return { rules, compiled: compileLiveRules(rules) };
}

export function watchLiveRules(file: string, events: LiveRulesEvents, pollMs = POLL_MS): LiveRulesWatcher {
  let seen: string | undefined; // the first check() reads the file as it is
  let lastRefused: string | undefined;
  const check = () => {
    const now = signature(file);
    if (now === seen) return;
    seen = now;
    if (now === 'absent') return; // removed with the sandbox: keep what is in force
    try {
      const { rules, compiled } = readLiveRulesFile(file);
      lastRefused = undefined;
      events.onRules(rules, compiled);
    } catch (err) {
      const reason = (err as Error).message;
      // One log line per broken version, not one per poll.
      if (reason !== lastRefused) events.onRefused(reason);
      lastRefused = reason;
    }
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(file), (_event, name) => {
      if (!name || name === basename(file)) check();
    });
    watcher.on('error', () => { watcher?.close(); watcher = undefined; });
  } catch {
    watcher = undefined; // the poll alone
  }
  const timer = setInterval(check, pollMs);
  timer.unref();
  return { check, close: () => { clearInterval(timer); watcher?.close(); } };
}

/** What tells one version of the file from another without reading it. */
function signature(file: string): string {
  try {
    const s = statSync(file);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return 'absent';
  }
}
