import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, realpathSync, statSync, type Dirent } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import picomatch from 'picomatch';
import { backupBases, backupOrigins } from './backupForms.js';

/**
 * The mount plan: which workspace paths the sandbox must not see, and which it may read but not
 * change. Globs are expanded over the real tree at every create and start; each hidden file gets
 * /dev/null bound read-only over it, each hidden folder an empty read-only tmpfs, at the same
 * absolute path as on the host. Pure: reads the file system, never writes it.
 */

/** One glob of a list, compiled. Lists are evaluated like .gitignore: the last matching rule wins. */
export interface GlobRule {
  /** As written (with its leading "!" when negated). */
  readonly pattern: string;
  readonly index: number;
  readonly negated: boolean;
  readonly test: (relativePath: string) => boolean;
}

export interface GlobOptions {
  /** Match paths case-insensitively (default: on macOS and Windows hosts, whose file systems are). */
  readonly caseInsensitive?: boolean;
  /** Positive rules also match the backup and swap forms of the name they end in (hide rules: see ./backupForms.ts). */
  readonly backupForms?: boolean;
}

const defaultNocase = () => process.platform === 'darwin' || process.platform === 'win32';

/** Workspace paths are always '/'-separated and relative ("a/b/.env"), whatever the host OS. */
export function toPosix(path: string): string {
  return sep === '/' ? path : path.split(sep).join('/');
}

/**
 * A glob that matches exactly this workspace path (as a positive rule). File names are written by
 * the agent: a name like "!**" or "*" taken as a glob would re-include every hidden file or hide
 * others, so glob characters are escaped, and blanks (which normalizeGlob trims) bracketed.
 */
export function literalGlob(relativePath: string): string {
  return relativePath.replace(/[\\*?[\]{}()!+@]/g, '\\$&').replace(/\s/g, '[$&]');
}

/**
 * A glob read from another tool's config (an agent's deny rule, an ignore file) as a positive hide
 * rule: one whose text starts with "!" after "./" or "/" would re-include instead, so that "!" is escaped.
 */
export function positiveGlob(glob: string): string {
  const lead = /^\s*(?:\.\/|\/)*/.exec(glob)![0];
  const rest = glob.slice(lead.length);
  return rest.startsWith('!') ? `${lead}\\${rest}` : glob;
}

/** A glob as the user wrote it, made relative: "./x" and "/x" mean x at the workspace root. */
function normalizeGlob(glob: string): string {
  let g = glob.trim();
  while (g.startsWith('./')) g = g.slice(2);
  if (g.startsWith('/')) g = g.replace(/^\/+/, '');
  if (g.endsWith('/')) g = `${g}**`;
  return g;
}

export function compileGlobs(patterns: readonly string[], options: GlobOptions = {}): GlobRule[] {
  const nocase = options.caseInsensitive ?? defaultNocase();
  return patterns.map((pattern, index) => {
    const negated = pattern.startsWith('!');
    const glob = normalizeGlob(negated ? pattern.slice(1) : pattern);
    // dot: "**" must cross dot-folders (".config/secrets"); a folder pattern also names what is inside it.
    const matchers = [picomatch(glob, { dot: true, nocase })];
    if (!glob.endsWith('/**')) matchers.push(picomatch(`${glob}/**`, { dot: true, nocase }));
    const matches = (p: string) => matchers.some((m) => m(p));
    const test = options.backupForms && !negated ? (p: string) => matches(p) || backupOrigins(p).some(matches) : matches;
    return { pattern, index, negated, test };
  });
}

/** The rule that decides a path (the last one that matches), if any. */
export function decidingRule(rules: readonly GlobRule[], relativePath: string): GlobRule | undefined {
  for (let i = rules.length - 1; i >= 0; i--) if (rules[i].test(relativePath)) return rules[i];
  return undefined;
}

export type EntryKind = 'file' | 'dir';

export interface HiddenEntry {
  /** '/'-separated, relative to the workspace. */
  readonly relative: string;
  /** Absolute path, the same on the host and in the sandbox. */
  readonly path: string;
  readonly kind: EntryKind;
  /** rule: matched a hide glob; symlink-target: a hidden name is a symlink to it; hard-link: same inode as a hidden file. */
  readonly reason: 'rule' | 'symlink-target' | 'hard-link';
  /** The hide glob responsible (for symlink targets and hard links: the one that hid the other name). */
  readonly rule: string;
  /** For symlink targets and hard links: the other name. */
  readonly via?: string;
}

/** A symlink in the workspace that leads to a hidden path: reading through it must give nothing either. */
export interface HiddenAlias {
  readonly relative: string;
  readonly path: string;
  /** The hidden path it resolves to (relative). */
  readonly target: string;
  readonly kind: EntryKind;
}

export interface CageEntry {
  readonly relative: string;
  readonly path: string;
  readonly kind: EntryKind;
  readonly rule: string;
}

export interface PlannedMount {
  readonly type: 'bind' | 'tmpfs';
  /** Host path of a bind (/dev/null for hidden files). */
  readonly source?: string;
  /** Absolute path in the sandbox (the same as on the host). */
  readonly target: string;
  /** False only for pins: a folder bound onto itself so that it cannot be renamed (see scanWorkspace). */
  readonly readOnly: boolean;
  readonly purpose: 'hide' | 'read-only' | 'pin';
  readonly relative: string;
}

export interface MountPlan {
  readonly workspace: string;
  readonly hidden: readonly HiddenEntry[];
  readonly aliases: readonly HiddenAlias[];
  /** Existing cage paths, mounted read-only. */
  readonly readOnly: readonly CageEntry[];
  /** Literal cage paths that do not exist: not mounted (that would create them in the workspace), so the agent could create them. */
  readonly absentCage: readonly string[];
  readonly mounts: readonly PlannedMount[];
  /** Hash of the hidden set: changes when a secret file appears or disappears. */
  readonly fingerprint: string;
  readonly notes: readonly string[];
  /** The hide rules it was made from, for the guard that watches for paths appearing later (./hideGuardRules.ts). */
  readonly hideRules?: { readonly hide: readonly string[]; readonly caseInsensitive: boolean };
}

export interface WorkspaceScan {
  readonly plan: MountPlan;
  /** Visible regular files (relative), in walk order: what the sandbox can read. */
  readonly visibleFiles: readonly string[];
  /** Visible folders (relative). */
  readonly visibleDirs: readonly string[];
  /** Files inside hidden folders (relative), for "denied and hidden" comparisons. */
  readonly filesInHiddenDirs: readonly string[];
  readonly counts: { readonly files: number; readonly dirs: number; readonly symlinks: number };
}

export interface ScanInput {
  readonly hide: readonly string[];
  readonly readOnly: readonly string[];
}

/** Folders that are git's own data: never walked for files (their content is not the project's). */
const GIT_DIR = '.git';

/** Above this many hidden paths the sandbox gets that many mounts, which is slow to create; say so. */
export const MANY_MOUNTS = 500;

// A backslash escapes: such a name is not its text as written (\#notes names "#notes").
const hasGlobChars = (p: string) => /[*?[\]{}()!+@\\]/.test(p);

/**
 * Walks the workspace once and returns the mount plan plus what stays visible. Symlinked
 * folders are not followed (a cycle or a path outside the workspace); every path in the plan is
 * a real path below the workspace, so no mount target passes through a symlink.
 */
export function scanWorkspace(workspace: string, input: ScanInput, options: GlobOptions = {}): WorkspaceScan {
  const hideOptions = { ...options, backupForms: true };
  const hideRules = compileGlobs(input.hide, hideOptions);
  const cageRules = compileGlobs(input.readOnly, options);
  const hideSet = new RuleSet(input.hide, hideOptions);
  const cageSet = new RuleSet(input.readOnly, options);
  const hasNegation = hideRules.some((r) => r.negated);
  const positive = (rules: readonly GlobRule[], index: number) => (index >= 0 && !rules[index].negated ? rules[index] : undefined);
  // For paths met outside the walk (symlinks, re-included files): the same answer, from scratch.
  const hideDecision = (rel: string): GlobRule | undefined => positive(hideRules, hideSet.decide(rel));
  const cageDecision = (rel: string): GlobRule | undefined => positive(cageRules, cageSet.decide(rel));

  const hidden = new Map<string, HiddenEntry>();
  const visibleFiles: string[] = [];
  const visibleDirs: string[] = [];
  const filesInHiddenDirs: string[] = [];
  const symlinks: string[] = [];
  const cage = new Map<string, CageEntry>();
  const notes: string[] = [];
  let files = 0;
  let dirs = 0;
  // One read-only mount covers a folder and everything in it.
  const cageCovers = (rel: string): boolean => {
    for (let p = rel; p; p = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '') if (cage.has(p)) return true;
    return false;
  };

  const abs = (rel: string) => (rel ? join(workspace, rel) : workspace);
  const kindOf = (d: Dirent, rel: string): EntryKind | 'symlink' | 'other' => {
    if (d.isFile()) return 'file';
    if (d.isDirectory()) return 'dir';
    if (d.isSymbolicLink()) return 'symlink';
    if (d.isFIFO() || d.isSocket() || d.isCharacterDevice() || d.isBlockDevice()) return 'other';
    const st = lstatSync(abs(rel), { throwIfNoEntry: false }); // file systems that give no type in readdir
    if (!st) return 'other';
    return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
  };

  // A hidden folder's content is still walked (cheaply) when "!" rules might re-include part of it,
  // and to learn the inodes of its files (hard links elsewhere).
  const walkHiddenDir = (rel: string): string[] => {
    const out: string[] = [];
    const stack = [rel];
    while (stack.length) {
      const dir = stack.pop()!;
      let entries: Dirent[];
      try { entries = readdirSync(abs(dir), { withFileTypes: true }); } catch { continue; }
      for (const d of entries) {
        const child = `${dir}/${d.name}`;
        const k = kindOf(d, child);
        if (k === 'dir') stack.push(child);
        else if (k === 'file') out.push(child);
      }
    }
    return out;
  };

  // The cage of one git dir: its children that the rules name (hooks, config, config.worktree),
  // matched as `as` (the path it would have as a .git folder), and what its config runs.
  const gitConfigs: { file: string; worktree: string }[] = [];
  const cageGitDir = (gitDir: string, as: string) => {
    for (const inner of safeReaddir(abs(gitDir))) {
      const innerRel = `${gitDir}/${inner.name}`;
      const r = cageDecision(`${as}/${inner.name}`);
      if (r && (inner.isDirectory() || inner.isFile())) cage.set(innerRel, { relative: innerRel, path: abs(innerRel), kind: inner.isDirectory() ? 'dir' : 'file', rule: r.pattern });
      if (r && inner.isFile() && /^config(\.worktree)?$/.test(inner.name)) gitConfigs.push({ file: innerRel, worktree: worktreeOf(workspace, as) });
      // git's config is the one file of its data that holds credentials (tokens in remote URLs).
      if (inner.name === 'config' && inner.isFile()) visibleFiles.push(innerRel);
    }
  };
  const cageGitLink = (rel: string) => {
    const r = cageDecision(`${rel}/config`);
    if (!r) return;
    cage.set(rel, { relative: rel, path: abs(rel), kind: 'file', rule: r.pattern });
    // A git dir outside any .git folder (git init --separate-git-dir=gitdata) is caged where it is.
    const target = gitLinkTarget(workspace, rel);
    if (target !== undefined && !target.split('/').includes(GIT_DIR) && !hidden.has(target)) cageGitDir(target, rel);
  };

  // Each folder carries the last hide/cage rule that matched it or a folder above it.
  const stack: { dir: string; hide: number; cage: number }[] = [{ dir: '', hide: -1, cage: -1 }];
  while (stack.length) {
    const { dir, hide: parentHide, cage: parentCage } = stack.pop()!;
    let entries: Dirent[];
    try {
      entries = readdirSync(abs(dir), { withFileTypes: true });
    } catch (err: any) {
      if (dir) notes.push(`Cannot read ${dir}/ (${err?.code ?? err}); it is neither scanned nor hidden.`);
      else throw err;
      continue;
    }
    for (const d of entries) {
      const rel = dir ? `${dir}/${d.name}` : d.name;
      const kind = kindOf(d, rel);
      if (kind === 'other') continue;
      if (kind === 'symlink') {
        symlinks.push(rel);
        continue;
      }
      const hideIndex = Math.max(parentHide, hideSet.self(rel, d.name));
      const cageIndex = Math.max(parentCage, cageSet.self(rel, d.name));
      const cageRule = positive(cageRules, cageIndex);
      if (cageRule && !cageCovers(rel)) cage.set(rel, { relative: rel, path: abs(rel), kind, rule: cageRule.pattern });
      if (kind === 'dir') {
        dirs++;
        if (d.name === GIT_DIR && positive(hideRules, hideIndex)) {
          // Hiding a repository's history (where committed secrets live) is one empty mount.
          hidden.set(rel, { relative: rel, path: abs(rel), kind: 'dir', reason: 'rule', rule: positive(hideRules, hideIndex)!.pattern });
          continue;
        }
        if (d.name === GIT_DIR) {
          // git's data is not walked, but the hooks and config of every git dir in it (submodules'
          // under modules/, linked worktrees' under worktrees/) are part of the cage.
          for (const gitDir of gitDirsIn(abs(rel), rel)) cageGitDir(gitDir, gitDir);
          visibleDirs.push(rel);
          continue;
        }
        const rule = positive(hideRules, hideIndex);
        if (rule) {
          const inside = walkHiddenDir(rel);
          const reincluded = hasNegation ? inside.filter((f) => !hideDecision(f)) : [];
          if (!reincluded.length) {
            hidden.set(rel, { relative: rel, path: abs(rel), kind: 'dir', reason: 'rule', rule: rule.pattern });
            filesInHiddenDirs.push(...inside);
            files += inside.length;
            continue;
          }
          // Part of the folder is re-included: hide its content piece by piece instead.
        }
        visibleDirs.push(rel);
        stack.push({ dir: rel, hide: hideIndex, cage: cageIndex });
      } else {
        files++;
        // A ".git" file points at the repository's git dir (submodules, worktrees, --separate-git-dir):
        // rewritten, it would hand the host's git another config; it is caged with the config.
        if (d.name === GIT_DIR && kind === 'file') cageGitLink(rel);
        const rule = positive(hideRules, hideIndex);
        if (rule) hidden.set(rel, { relative: rel, path: abs(rel), kind: 'file', reason: 'rule', rule: rule.pattern });
        else visibleFiles.push(rel);
      }
    }
  }

  // Symlinks: a hidden name that is a symlink hides its target (when that is inside the workspace;
  // outside, the target is not in the sandbox at all). A visible symlink into a hidden path is an
  // alias that verify reads through.
  const realRoot = safeRealpath(workspace) ?? workspace;
  const aliases: HiddenAlias[] = [];
  const insideOf = (target: string): string | undefined => {
    const r = relative(realRoot, target);
    return r && !r.startsWith('..') && !isAbsolute(r) ? toPosix(r) : undefined;
  };
  const coveredBy = (rel: string): HiddenEntry | undefined => {
    for (let p = rel; p; p = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '') {
      const h = hidden.get(p);
      if (h) return h;
    }
    return undefined;
  };
  for (const link of symlinks) {
    const real = safeRealpath(abs(link));
    const target = real ? insideOf(real) : undefined;
    const kind: EntryKind = real && safeStat(real)?.isDirectory() ? 'dir' : 'file';
    const rule = hideDecision(link);
    if (rule) {
      if (target && !coveredBy(target)) {
        const st = safeStat(real!);
        if (st) {
          hidden.set(target, { relative: target, path: abs(target), kind: st.isDirectory() ? 'dir' : 'file', reason: 'symlink-target', rule: rule.pattern, via: link });
          removeFrom(visibleFiles, target);
        }
      }
      if (target) aliases.push({ relative: link, path: abs(link), target, kind });
      continue;
    }
    if (target && coveredBy(target)) aliases.push({ relative: link, path: abs(link), target, kind });
  }

  // Hard links: another name of a hidden file's inode shows the same bytes. Only when some hidden
  // file has more than one link is every visible file checked (one lstat each).
  const hiddenInodes = new Map<string, HiddenEntry>();
  const noteInode = (rel: string, entry: HiddenEntry) => {
    const st = lstatSync(abs(rel), { throwIfNoEntry: false });
    if (st && st.isFile() && st.nlink > 1) hiddenInodes.set(`${st.dev}:${st.ino}`, entry);
  };
  for (const entry of hidden.values()) if (entry.kind === 'file') noteInode(entry.relative, entry);
  for (const f of filesInHiddenDirs) noteInode(f, coveredBy(f)!);
  if (hiddenInodes.size) {
    for (const f of [...visibleFiles]) {
      const st = lstatSync(abs(f), { throwIfNoEntry: false });
      const owner = st && st.nlink > 1 ? hiddenInodes.get(`${st.dev}:${st.ino}`) : undefined;
      if (owner) {
        hidden.set(f, { relative: f, path: abs(f), kind: 'file', reason: 'hard-link', rule: owner.rule, via: owner.relative });
        removeFrom(visibleFiles, f);
      }
    }
  }

  // What a caged git config makes the host run from the workspace (core.hooksPath, core.fsmonitor,
  // filters, diff and merge drivers, include.path, ...): caged too, or the agent would edit the
  // program instead of the config. The user's own git config counts for every repository.
  const userConfigs = userGitConfigs();
  const worktrees = new Set(gitConfigs.map((c) => c.worktree));
  const programs = [
    ...gitConfigs.map((c) => ({ from: c.file, worktree: c.worktree, text: safeRead(abs(c.file)) })),
    ...[...worktrees].flatMap((worktree) => userConfigs.map((u) => ({ from: u.path, worktree, text: u.text }))),
  ];
  for (const { from, worktree, text } of programs) {
    for (const ref of gitConfigPaths(text ?? '')) {
      const base = ref.relativeTo === 'config' && !isAbsolute(from) ? parentOf(from) : worktree;
      const target = insideWorkspace(workspace, ref.value, base);
      if (target === undefined || target === worktree || cageCovers(target)) continue;
      const st = lstatSync(abs(target), { throwIfNoEntry: false });
      if (!st || st.isSymbolicLink() || (!st.isFile() && !(ref.key === 'core.hookspath' && st.isDirectory()))) continue;
      cage.set(target, { relative: target, path: abs(target), kind: st.isDirectory() ? 'dir' : 'file', rule: `${ref.key} in ${from}` });
    }
  }

  // Literal cage paths are looked up directly; the absent ones are reported, not created.
  const absentCage: string[] = [];
  for (const r of cageRules) {
    const g = normalizeGlob(r.pattern);
    if (r.negated || hasGlobChars(g) || cage.has(g)) continue;
    const st = lstatSync(abs(g), { throwIfNoEntry: false });
    if (!st) { absentCage.push(g); continue; }
    if (st.isSymbolicLink()) { notes.push(`${g} is a symlink; mount its target read-only by naming the target in readOnly.`); continue; }
    if ((st.isDirectory() || st.isFile()) && !cageCovers(g)) cage.set(g, { relative: g, path: abs(g), kind: st.isDirectory() ? 'dir' : 'file', rule: r.pattern });
  }

  const hiddenList = [...hidden.values()].sort((a, b) => a.relative.localeCompare(b.relative));
  // Hiding wins over read-only: a cage path that is also hidden gets only the hiding mount.
  const readOnly = [...cage.values()].filter((c) => !coveredBy(c.relative)).sort((a, b) => a.relative.localeCompare(b.relative));
  // Pins: every folder between the workspace and a protected path is bound onto itself (read-write,
  // as it was), so that it is a mount point in the sandbox, and rename() or rmdir() of a mount point
  // fails (EBUSY) for root too. Otherwise "mv .git .git-old" or "mv config config2" would carry the
  // protecting mounts away and leave a fresh, unprotected path in their place.
  const mounted = new Set([...readOnly.map((c) => c.relative), ...hiddenList.map((h) => h.relative)]);
  const pins = new Set<string>();
  for (const rel of mounted) {
    for (let p = parentOf(rel); p; p = parentOf(p)) if (!mounted.has(p)) pins.add(p);
  }
  const mounts: PlannedMount[] = [
    ...[...pins].sort().map((rel): PlannedMount => ({ type: 'bind', source: join(realRoot, rel), target: abs(rel), readOnly: false, purpose: 'pin', relative: rel })),
    ...readOnly.map((c): PlannedMount => ({ type: 'bind', source: join(realRoot, c.relative), target: c.path, readOnly: true, purpose: 'read-only', relative: c.relative })),
    ...hiddenList.map((h): PlannedMount => (h.kind === 'file'
      ? { type: 'bind', source: '/dev/null', target: h.path, readOnly: true, purpose: 'hide', relative: h.relative }
      : { type: 'tmpfs', target: h.path, readOnly: true, purpose: 'hide', relative: h.relative })),
  ];
  if (hiddenList.length > MANY_MOUNTS) notes.push(`${hiddenList.length} paths are hidden, one mount each; creating the sandbox will be slow. Hide whole folders (e.g. "fixtures/keys/**") instead of many single files.`);

  return {
    plan: {
      workspace,
      hidden: hiddenList,
      aliases: aliases.sort((a, b) => a.relative.localeCompare(b.relative)),
      readOnly,
      absentCage,
      mounts,
      fingerprint: hiddenFingerprint(hiddenList.map((h) => h.relative)),
      notes,
      hideRules: { hide: [...input.hide], caseInsensitive: options.caseInsensitive ?? defaultNocase() },
    },
    visibleFiles,
    visibleDirs,
    filesInHiddenDirs,
    counts: { files, dirs, symlinks: symlinks.length },
  };
}

/**
 * A glob list made fast for walking: every rule is reduced to "some folder above, or the path
 * itself, matches G" (a trailing "/**" adds nothing else), and G is only tried on paths whose
 * last name passes a cheap test of G's last segment (a Map lookup for literal names, one regex
 * for the rest). The answer is the index of the last matching rule, as with compileGlobs.
 */
export class RuleSet {
  private readonly full: ((p: string) => boolean)[] = [];
  private readonly negated: boolean[] = [];
  private readonly byName = new Map<string, number[]>();
  private readonly globGates: { index: number; re: RegExp }[] = [];
  private readonly anyGate?: RegExp;
  private readonly always: number[] = [];
  private readonly nocase: boolean;
  private readonly backupForms: boolean;

  constructor(patterns: readonly string[], options: GlobOptions = {}) {
    this.nocase = options.caseInsensitive ?? defaultNocase();
    this.backupForms = options.backupForms ?? false;
    const opts = { dot: true, nocase: this.nocase };
    patterns.forEach((pattern, index) => {
      this.negated.push(pattern.startsWith('!'));
      let g = normalizeGlob(pattern.startsWith('!') ? pattern.slice(1) : pattern);
      while (g.endsWith('/**') && g.length > 3) g = g.slice(0, -3);
      this.full.push(picomatch(g, opts));
      const last = g.slice(g.lastIndexOf('/') + 1);
      if (last === '**' || last === '') this.always.push(index);
      else if (!hasGlobChars(last)) {
        const key = this.nocase ? last.toLowerCase() : last;
        this.byName.set(key, [...(this.byName.get(key) ?? []), index]);
      } else this.globGates.push({ index, re: picomatch.makeRe(last, opts) });
    });
    if (this.globGates.length) this.anyGate = new RegExp(this.globGates.map((g) => `(?:${g.re.source})`).join('|'), this.nocase ? 'i' : '');
  }

  /** Index of the last rule whose glob matches this very path (-1: none). */
  self(rel: string, name: string): number {
    let best = this.matching(rel, name, -1, () => true);
    // A backup form of a name that a positive rule hides is hidden by that rule.
    if (this.backupForms) {
      const folder = rel.slice(0, rel.length - name.length);
      for (const base of backupBases(name)) best = this.matching(folder + base, base, best, (i) => !this.negated[i]);
    }
    return best;
  }

  private matching(rel: string, name: string, from: number, accept: (index: number) => boolean): number {
    let best = from;
    const literal = this.byName.get(this.nocase ? name.toLowerCase() : name);
    if (literal) for (const i of literal) if (i > best && accept(i) && this.full[i](rel)) best = i;
    if (this.anyGate?.test(name)) for (const g of this.globGates) if (g.index > best && accept(g.index) && g.re.test(name) && this.full[g.index](rel)) best = g.index;
    for (const i of this.always) if (i > best && accept(i) && this.full[i](rel)) best = i;
    return best;
  }

  /** Index of the last rule that matches the path or a folder above it (-1: none). */
  decide(rel: string): number {
    let best = -1;
    let from = 0;
    for (;;) {
      const slash = rel.indexOf('/', from);
      const prefix = slash < 0 ? rel : rel.slice(0, slash);
      best = Math.max(best, this.self(prefix, prefix.slice(prefix.lastIndexOf('/') + 1)));
      if (slash < 0) return best;
      from = slash + 1;
    }
  }
}

/** Builds the mount plan only (what create and start need). */
export function planMounts(workspace: string, input: ScanInput, options: GlobOptions = {}): MountPlan {
  return scanWorkspace(workspace, input, options).plan;
}

export function hiddenFingerprint(relativePaths: readonly string[]): string {
  return createHash('sha256').update([...relativePaths].sort().join('\0')).digest('hex').slice(0, 16);
}

/** How many paths each hide glob hides (for previews); a "!" rule counts the paths it re-includes. */
export function countByRule(plan: MountPlan, hide: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>(hide.map((h) => [h, 0]));
  for (const h of plan.hidden) counts.set(h.rule, (counts.get(h.rule) ?? 0) + 1);
  return counts;
}

/**
 * Paths hidden now that the sandbox does not cover (it was created before they existed or
 * before the policy named them): they stay visible until the sandbox is recreated.
 */
export function uncoveredSince(plan: MountPlan, mountedTargets: Iterable<string>): HiddenEntry[] {
  const mounted = new Set(mountedTargets);
  return plan.hidden.filter((h) => !mounted.has(h.path));
}

/**
 * The worktree a git dir belongs to (relative paths in its config resolve there): "a/.git" -> "a";
 * a submodule's "a/.git/modules/x/modules/y" -> "a/x/y" (git's default path = name); a linked
 * worktree's "a/.git/worktrees/w" -> the folder its gitdir file names.
 */
function worktreeOf(workspace: string, gitDir: string): string {
  const parts = gitDir.split('/');
  const top = parts.indexOf(GIT_DIR);
  if (top < 0 || top === parts.length - 1) return parentOf(gitDir);
  const prefix = parts.slice(0, top);
  if (parts[top + 1] === 'worktrees') {
    const pointer = safeRead(join(workspace, gitDir, 'gitdir'))?.trim();
    const at = pointer ? insideWorkspace(workspace, pointer, gitDir) : undefined;
    return at !== undefined ? parentOf(at) : prefix.join('/');
  }
  return [...prefix, ...parts.slice(top + 1).filter((p, i) => !(i % 2 === 0 && p === 'modules'))].join('/');
}

/**
 * The git dirs inside a .git folder: itself, each submodule's under modules/ (names may hold
 * slashes, and submodules nest), each linked worktree's under worktrees/. A git dir has a HEAD.
 */
function gitDirsIn(absDir: string, rel: string, depth = 0): string[] {
  const out = [rel];
  if (depth > 8) return out;
  for (const sub of ['modules', 'worktrees']) {
    const stack = [`${rel}/${sub}`];
    while (stack.length) {
      const dir = stack.pop()!;
      for (const e of safeReaddir(join(absDir, dir.slice(rel.length)))) {
        if (!e.isDirectory()) continue;
        const child = `${dir}/${e.name}`;
        const childAbs = join(absDir, child.slice(rel.length));
        if (lstatSync(join(childAbs, 'HEAD'), { throwIfNoEntry: false })) out.push(...gitDirsIn(childAbs, child, depth + 1));
        else if (sub === 'modules') stack.push(child);
      }
    }
  }
  return out;
}

/** Where a ".git" file points ("gitdir: PATH"), relative to the workspace, when inside it. */
function gitLinkTarget(workspace: string, rel: string): string | undefined {
  const m = /^gitdir:\s*(.+?)\s*$/m.exec(safeRead(join(workspace, rel)) ?? '');
  return m ? insideWorkspace(workspace, m[1], parentOf(rel)) : undefined;
}

/** A path as git would resolve it (from `base`, a workspace-relative folder), when inside the workspace. */
function insideWorkspace(workspace: string, value: string, base: string): string | undefined {
  if (!value || value.startsWith('~')) return undefined;
  const full = isAbsolute(value) ? value : join(workspace, base, value);
  const r = relative(workspace, full);
  return r && !r.startsWith('..') && !isAbsolute(r) ? toPosix(r) : undefined;
}

/** git config keys whose values name a program or a folder of programs the host runs, or another config. */
const GIT_PROGRAM_KEY = /^(core\.(hookspath|fsmonitor|sshcommand|editor|pager|askpass)|sequence\.editor|diff\.external|diff\..+\.(command|textconv)|filter\..+\.(clean|smudge|process)|merge\..+\.driver|credential\.(.+\.)?helper|gpg\.(.+\.)?program|include\.path|includeif\..+\.path|alias\..+|pager\..+|interactive\.difffilter|uploadpack\.packobjectshook|receive\.procreceiverefs)$/;

/**
 * The paths a git config's program-running keys name: every word of the value that could be a
 * path (git passes most of them to a shell), and include paths (relative to the config file).
 * A small reader (sections, subsections, key = value, quotes, comments), not git's full grammar.
 */
export function gitConfigPaths(text: string): { key: string; value: string; relativeTo: 'worktree' | 'config' }[] {
  const out: { key: string; value: string; relativeTo: 'worktree' | 'config' }[] = [];
  let section = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    const head = /^\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]\s*(.*)$/.exec(line);
    if (head) {
      section = head[2] !== undefined ? `${head[1].toLowerCase()}.${head[2]}` : head[1].toLowerCase();
      if (!head[3]) continue;
    }
    const kv = /^([A-Za-z][A-Za-z0-9-]*)\s*=\s*(.*)$/.exec(head ? head[3] : line);
    if (!kv || !section) continue;
    const key = `${section}.${kv[1].toLowerCase()}`.toLowerCase();
    if (!GIT_PROGRAM_KEY.test(key)) continue;
    const value = kv[2].replace(/\s+[#;].*$/, '').replace(/^"(.*)"$/, '$1').replace(/\\(.)/g, '$1');
    const include = key.endsWith('.path') && key.startsWith('include');
    const words = include || key === 'core.hookspath' ? [value] : value.replace(/^!/, '').split(/\s+/);
    for (const word of words) {
      const w = word.replace(/^['"]|['"]$/g, '');
      if (w && !/^(true|false|yes|no|on|off|[0-9]+)$/i.test(w) && !w.startsWith('-')) out.push({ key, value: w, relativeTo: include ? 'config' : 'worktree' });
    }
  }
  return out;
}

/** The user's own git configs (they apply to every repository). */
function userGitConfigs(): { path: string; text: string }[] {
  const home = process.env.HOME ?? '';
  const xdg = process.env.XDG_CONFIG_HOME || join(home, '.config');
  return [join(home, '.gitconfig'), join(xdg, 'git', 'config')].flatMap((path) => {
    const text = home ? safeRead(path) : undefined;
    return text === undefined ? [] : [{ path, text }];
  });
}

function safeRead(path: string): string | undefined {
  try { return readFileSync(path, 'utf8'); } catch { return undefined; }
}

function parentOf(rel: string): string {
  const slash = rel.lastIndexOf('/');
  return slash < 0 ? '' : rel.slice(0, slash);
}

/**
 * Cage paths that exist now but that a sandbox has no read-only mount over (they did not exist when
 * it was created, e.g. .vscode/tasks.json, .envrc, a new repository's hooks): it could have written
 * them, so what they say is attacker input until the user has read them.
 */
export function uncagedSince(plan: MountPlan, readOnlyTargets: Iterable<string>): CageEntry[] {
  const mounted = [...readOnlyTargets];
  return plan.readOnly.filter((c) => !mounted.some((t) => c.path === t || c.path.startsWith(`${t}/`)));
}

function removeFrom(list: string[], item: string): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}

function safeReaddir(dir: string): Dirent[] {
  try { return readdirSync(dir, { withFileTypes: true }); } catch { return []; }
}

function safeRealpath(path: string): string | undefined {
  try { return realpathSync(path); } catch { return undefined; }
}

function safeStat(path: string) {
  return statSync(path, { throwIfNoEntry: false });
}
