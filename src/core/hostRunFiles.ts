import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isAgentId, getAgent } from './agents.js';
import { RuleSet, toPosix, type GlobOptions } from './hiding.js';
import { isInside } from './paths.js';
import { DEFAULT_READ_ONLY } from './policy-defaults.js';

/**
 * Host-run files: what the cage covers (git hooks and config, .vscode tasks, compose files,
 * .envrc, agent configs, the policy). A path of the cage that did not exist when a sandbox was
 * created has no read-only mount over it, so the sandbox can create or change it; the editor
 * watches them while a sandbox runs and says so when one appears or changes (src/vscode/hostRunFiles.ts).
 */

/**
 * Which rule makes a workspace-relative path host-run (undefined: none). The defaults always apply
 * and come last, so they win over any "!" exception: the policy file is itself something a
 * sandbox may have written, and it must not be able to switch the alarm off.
 */
export function hostRunMatcher(policyReadOnly: readonly string[] | undefined, options: GlobOptions = {}): (rel: string) => string | undefined {
  const patterns = [...(policyReadOnly ?? []), ...DEFAULT_READ_ONLY];
  const set = new RuleSet(patterns, options);
  const decide = (rel: string) => {
    const i = set.decide(rel);
    return i >= 0 && !patterns[i].startsWith('!') ? patterns[i] : undefined;
  };
  return (rel) => {
    const path = toPosix(rel).replace(/^\.\/+/, '');
    if (!path || path.startsWith('../')) return undefined;
    // A gitlink file (sub/.git holding "gitdir: ...") says where the host's git finds its config.
    return decide(path) ?? (path === '.git' || path.endsWith('/.git') ? decide(`${path}/config`) : undefined);
  };
}

/**
 * Host-run paths whose content the host does not run: git's sample hooks (git runs only exact hook
 * names), and the commondir a linked worktree gets from \`git worktree add\` (it points at the main
 * git dir, whose config and hooks are caged). The host's own git writes them; they are not reported.
 */
export function isInert(rel: string, state: FileState): boolean {
  const parts = toPosix(rel).split('/');
  const name = parts[parts.length - 1];
  if (parts.includes('hooks') && parts.includes('.git') && name.endsWith('.sample')) return true;
  return name === 'commondir' && state.kind === 'file' && state.bytes.toString('utf8').trim() === '../..';
}

/**
 * The host-run files inside a folder that just appeared (a watcher may report only the folder when
 * its content was written at once, as \`git init\` does). Links are not followed; at most \`limit\`
 * entries are looked at, and \`complete\` says whether that was all of them.
 */
export function hostRunFilesUnder(root: string, folder: string, match: (rel: string) => string | undefined, limit = 5_000): { files: string[]; complete: boolean } {
  const files: string[] = [];
  const stack = [folder];
  let seen = 0;
  while (stack.length) {
    const dir = stack.pop()!;
    let entries;
    try { entries = readdirSync(dir, { withFileTypes: true }); } catch { continue; }
    for (const e of entries) {
      if (++seen > limit) return { files, complete: false };
      const path = join(dir, e.name);
      if (e.isDirectory()) stack.push(path);
      else if (match(toPosix(relative(root, path)))) files.push(path);
    }
  }
  return { files, complete: true };
}

/** What the host does with such a file, for "... wrote X, <this>." */
export function describeHostRunFile(rel: string, rule?: string): string {
  const parts = toPosix(rel).split('/');
  const name = parts[parts.length - 1];
  const has = (segment: string) => parts.includes(segment); // the folder itself too (a link put in its place)
  if (has('.vscode') || has('.devcontainer') || name === '.devcontainer.json') return 'a file VS Code runs on the host';
  if (has('.git')) return has('hooks') ? 'a git hook the host\'s git runs' : 'a git file the host\'s git takes programs from';
  if (has('.paddock')) return 'Paddock\'s own policy, which says what the sandbox may do';
  if (name === '.envrc') return 'a file direnv runs on the host';
  if (/^(docker-compose.*|compose(\..*)?)\.ya?ml$/i.test(name)) return 'a file docker compose runs on the host';
  if (has('.claude') || has('.gemini') || has('.codex')) return 'an agent config, which can run commands on the host';
  if (has('.idea')) return 'a file your IDE runs on the host';
  return `a file the host runs or loads (read-only rule "${rule ?? rel}")`;
}

/** A mount of a sandbox as the engine reports it (SandboxDetails.mounts). */
export interface MountView {
  readonly type: string;
  readonly source: string;
  readonly target: string;
  readonly readOnly: boolean;
}

export interface WriterCandidate {
  readonly id: string;
  readonly name: string;
  readonly agent: string;
  readonly mounts: readonly MountView[];
}

/**
 * Whether a sandbox with these mounts can write the host path: some writable bind shows it in the
 * sandbox, and no deeper mount (a read-only bind of the cage, a hiding mount, a tmpfs) sits over it
 * there. Deciding from the mounts, not the workspace label, also covers a task's extra mounts.
 */
export function canWriteHostPath(hostPath: string, mounts: readonly MountView[]): boolean {
  for (const m of mounts) {
    if (m.type !== 'bind' || m.readOnly || !m.source || !isInside(hostPath, m.source)) continue;
    const inSandbox = join(m.target, relative(m.source, hostPath));
    let deepest: MountView | undefined;
    for (const o of mounts) if (isInside(inSandbox, o.target) && (!deepest || o.target.length > deepest.target.length)) deepest = o;
    if (deepest === m) return true;
  }
  return false;
}

/** The sandboxes (running now or a moment ago) that could have written the host path. */
export function sandboxesThatCouldWrite<T extends WriterCandidate>(hostPaths: readonly string[], sandboxes: readonly T[]): T[] {
  return sandboxes.filter((s) => hostPaths.some((p) => canWriteHostPath(p, s.mounts)));
}

/** "Claude" for claude, "Shell" for shell: the agent's name as a user says it. */
export function agentShortName(agent: string): string {
  return isAgentId(agent) ? getAgent(agent).label.split(' ')[0] : agent || 'unknown';
}

/** Who wrote it: one sandbox is named by its agent; several are "a sandbox" (it cannot be told which). */
export function writerPhrase(writers: readonly WriterCandidate[]): { readonly subject: string; readonly names: string } {
  const names = writers.map((w) => w.name).join(', ');
  if (writers.length === 1) return { subject: `The ${agentShortName(writers[0].agent)} sandbox`, names };
  const agents = new Set(writers.map((w) => w.agent));
  return { subject: agents.size === 1 ? `A ${agentShortName(writers[0].agent)} sandbox` : 'A sandbox', names };
}

// ---- what a file holds ----------------------------------------------------------------------

/** Above this a file is compared by a digest of its start and its size, and not shown or restored. */
export const SHOWN_LIMIT = 1024 * 1024;

export type FileState =
  | { readonly kind: 'absent' }
  | { readonly kind: 'file'; readonly bytes: Buffer; readonly digest: string }
  | { readonly kind: 'large'; readonly size: number; readonly digest: string }
  | { readonly kind: 'symlink'; readonly target: string }
  | { readonly kind: 'dir' }
  | { readonly kind: 'other'; readonly what: string };

const digestOf = (bytes: Buffer, size: number) => createHash('sha256').update(bytes).update(`\0${size}`).digest('hex');

export function fileStateOf(bytes: Buffer): FileState {
  return { kind: 'file', bytes, digest: digestOf(bytes, bytes.length) };
}

/**
 * Reads what is at a path without trusting it: a symlink is not followed (it is reported with
 * its target), a FIFO or device is not opened for blocking reads, and no more than SHOWN_LIMIT
 * bytes are read, so a sandbox cannot stall or flood the editor with what it writes there.
 */
export function readFileState(path: string): FileState {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err: any) {
    if (err?.code === 'ENOENT' || err?.code === 'ENOTDIR') return { kind: 'absent' };
    if (err?.code === 'ELOOP' || err?.code === 'EMLINK') {
      try { return { kind: 'symlink', target: readlinkSync(path) }; } catch { return { kind: 'absent' }; }
    }
    return { kind: 'other', what: `unreadable (${err?.code ?? err})` };
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) return { kind: 'dir' };
    if (!st.isFile()) return { kind: 'other', what: st.isFIFO() ? 'named pipe' : st.isSocket() ? 'socket' : 'device' };
    const buffer = Buffer.alloc(Math.min(st.size, SHOWN_LIMIT) + 1);
    let length = 0;
    while (length < buffer.length) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
    const bytes = buffer.subarray(0, length);
    return length > SHOWN_LIMIT ? { kind: 'large', size: st.size, digest: digestOf(bytes, st.size) } : fileStateOf(Buffer.from(bytes));
  } finally {
    closeSync(fd);
  }
}

export function sameState(a: FileState, b: FileState): boolean {
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case 'file': case 'large': return a.digest === (b as typeof a).digest;
    case 'symlink': return a.target === (b as typeof a).target;
    case 'other': return a.what === (b as typeof a).what;
    default: return true;
  }
}

/** The text a diff shows for a state (what it is, when it is not a text file that can be shown). */
export function stateText(state: FileState | undefined): string {
  if (!state) return '(Paddock did not see this file before this change, and git has no committed version of it.)\n';
  switch (state.kind) {
    case 'absent': return '';
    case 'file': return state.bytes.toString('utf8');
    case 'large': return `(a file of ${state.size} bytes: too large to show)\n`;
    case 'symlink': return `(a symbolic link to ${state.target})\n`;
    case 'dir': return '(a folder)\n';
    case 'other': return `(a ${state.what}, not a regular file)\n`;
  }
}

// ---- what happened, and what the user may do about it --------------------------------------------

export interface HostRunChange {
  /** What it held before: the last content Paddock knew (a save, a Keep, git's HEAD), absent, or undefined when not known. */
  readonly before: FileState | undefined;
  readonly now: FileState;
  /** New: delete it; changed from a known file: restore it; changed from what is not known: delete it. */
  readonly remedy: 'Delete' | 'Restore';
}

/**
 * Judges an event on a host-run path. `known` is the last state Paddock holds (undefined: never
 * seen), `committed` what git's HEAD has, `created` whether the watcher reported a creation.
 * Undefined: nothing to report (the content is what was known, or the path is a folder or gone).
 */
export function judgeChange(known: FileState | undefined, committed: FileState | undefined, now: FileState, created: boolean): HostRunChange | undefined {
  if (now.kind === 'absent' || now.kind === 'dir') return undefined;
  const before = known ?? committed ?? (created ? { kind: 'absent' } as const : undefined);
  if (before && sameState(before, now)) return undefined;
  return { before, now, remedy: before?.kind === 'file' ? 'Restore' : 'Delete' };
}

/** The notification: "The Claude sandbox wrote .vscode/tasks.json, a file VS Code runs on the host." */
export function changeMessage(writers: readonly WriterCandidate[], shownPath: string, rule: string | undefined, change: Pick<HostRunChange, 'before'>): string {
  const verb = change.before?.kind === 'absent' ? 'wrote' : 'changed';
  return `${writerPhrase(writers).subject} ${verb} ${shownPath}, ${describeHostRunFile(shownPath, rule)}.`;
}
