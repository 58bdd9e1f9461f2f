import { posix } from 'node:path';
import { commandStart, expandTarOldStyle, longOptionsOf } from './bridgeExecRules.js';

/**
 * Commands that read (or move) whole folders: `grep -r x /app` reads /app/.env although no argument
 * names it. The bridge lists such folders in the container and refuses the command when a blocked
 * path lies below one. This module only works out, from the argv, which folders a command descends
 * into; it errs towards listing too much (an unknown option's value counts as a folder).
 */

export interface TreeRead {
  /** The program, e.g. "grep". */
  readonly program: string;
  /** How it reads folders, for messages: "grep -r". */
  readonly how: string;
  /** Absolute paths of the operands it may descend into (folders among them are listed; the rest are ignored). */
  readonly roots: readonly string[];
  /** Whether it follows symlinks inside those folders (then a symlink below a root is refused: the bridge does not follow it to check). */
  readonly followsLinks: boolean;
  /** An option that names a file holding more paths, which the bridge cannot see into (tar -T). */
  readonly listFile?: string;
}

interface ParsedArgs {
  readonly operands: string[];
  readonly shorts: Set<string>;
  readonly longs: Map<string, string | true>;
  /** Values of short options that take one, by letter. */
  readonly shortValues: Map<string, string[]>;
}

/**
 * GNU-style options: clusters (-rn), values attached or in the next word, --long[=value], and `--`.
 * A long word counts as every option of `longWithValue` and `longFlags` it abbreviates (getopt_long
 * takes any unambiguous prefix: `--recur`, `--target-d=DIR`), so none is missed.
 */
function parseArgs(args: readonly string[], shortWithValue: string, longWithValue: readonly string[], longFlags: readonly string[] = []): ParsedArgs {
  const parsed: ParsedArgs = { operands: [], shorts: new Set(), longs: new Map(), shortValues: new Map() };
  const known = [...longWithValue, ...longFlags].map((o) => `--${o}`);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') { parsed.operands.push(...args.slice(i + 1)); break; }
    if (a === '-' || !a.startsWith('-')) { parsed.operands.push(a); continue; }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const resolved = longOptionsOf(a, known).map((o) => o.slice(2));
      const names = resolved.length ? resolved : [a.slice(2, eq < 0 ? undefined : eq)];
      let value: string | true = true;
      if (eq >= 0) value = a.slice(eq + 1);
      else if (names.some((n) => longWithValue.includes(n)) && i + 1 < args.length) value = args[++i];
      for (const name of names) parsed.longs.set(name, value);
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const letter = a[j];
      parsed.shorts.add(letter);
      if (shortWithValue.includes(letter)) {
        const value = j + 1 < a.length ? a.slice(j + 1) : args[++i];
        if (value !== undefined) parsed.shortValues.set(letter, [...(parsed.shortValues.get(letter) ?? []), value]);
        break;
      }
    }
  }
  return parsed;
}

const has = (p: ParsedArgs, shorts: string, longs: readonly string[] = []) => [...shorts].some((s) => p.shorts.has(s)) || longs.some((l) => p.longs.has(l));

/** Searchers: the first operand is the pattern unless one is given by option; no operand means the working dir. */
function searcher(p: ParsedArgs, patternShorts: string, patternLongs: readonly string[]): string[] {
  const patternGiven = has(p, patternShorts, patternLongs) || p.longs.has('files');
  const operands = patternGiven ? p.operands : p.operands.slice(1);
  return operands.length ? operands : ['.'];
}

/** The folders a command reads below, or undefined when it reads none (most commands). */
export function treeReadOf(argv: readonly string[], workdir: string): TreeRead | undefined {
  const start = commandStart(argv);
  const program = posix.basename(argv[start] ?? '');
  const args = argv.slice(start + 1);
  const resolveAll = (paths: readonly string[], bases: readonly string[] = [workdir]) =>
    [...new Set(paths.flatMap((p) => bases.map((b) => posix.resolve(workdir, b, p))))];
  switch (program) {
    case 'grep': case 'egrep': case 'fgrep': case 'rgrep': case 'zgrep': {
      const p = parseArgs(args, 'ABCDdefm', ['regexp', 'file', 'max-count', 'after-context', 'before-context', 'context', 'devices', 'directories', 'include', 'exclude', 'exclude-from', 'exclude-dir', 'label', 'binary-files', 'group-separator'], ['recursive', 'dereference-recursive']);
      const recurse = program === 'rgrep' || has(p, 'rR', ['recursive', 'dereference-recursive'])
        // grep takes any prefix of the value too (`-d rec`)
        || [...(p.shortValues.get('d') ?? []), p.longs.get('directories')].some((v) => typeof v === 'string' && v !== '' && 'recurse'.startsWith(v));
      if (!recurse) return undefined;
      const followsLinks = has(p, 'R', ['dereference-recursive']);
      return { program, how: `${program} ${followsLinks ? '-R' : '-r'}`, roots: resolveAll(searcher(p, 'ef', ['regexp', 'file'])), followsLinks };
    }
    case 'rg': case 'ag': case 'ack': case 'ack-grep': {
      const p = parseArgs(args, program === 'rg' ? 'ABCEefgjMmrTtd' : 'ABCGgm', ['regexp', 'file', 'glob', 'iglob', 'type', 'type-not', 'type-add', 'type-clear', 'max-count', 'after-context', 'before-context', 'context', 'threads', 'max-columns', 'replace', 'max-depth', 'depth', 'encoding', 'pre', 'pre-glob', 'engine', 'sort', 'sortr', 'ignore-file', 'ignore', 'ignore-dir', 'max-filesize', 'path-separator', 'colors', 'color', 'after', 'before', 'file-search-regex', 'pager', 'path-to-ignore'], ['follow', 'files']);
      const followsLinks = program === 'rg' ? has(p, 'L', ['follow']) : has(p, program === 'ag' ? 'f' : '', ['follow']);
      return { program, how: program, roots: resolveAll(searcher(p, 'ef', ['regexp', 'file'])), followsLinks };
    }
    case 'tar': case 'bsdtar': {
      // Old style: "tar czf out.tgz dir" (a first word without "-" is a cluster whose values follow in order).
      const words = expandTarOldStyle(args);
      const p = parseArgs(words, 'fCbFgHIKLNTVX', ['file', 'directory', 'files-from', 'exclude-from', 'exclude', 'blocking-factor', 'group', 'owner', 'mode', 'mtime', 'newer', 'after-date', 'transform', 'xform', 'label', 'format', 'tape-length', 'volno-file', 'index-file', 'use-compress-program'],
        ['create', 'append', 'update', 'catenate', 'concatenate', 'dereference']);
      if (!has(p, 'cruA', ['create', 'append', 'update', 'catenate', 'concatenate'])) return undefined;
      const listFile = p.shortValues.get('T')?.[0] ?? (typeof p.longs.get('files-from') === 'string' ? p.longs.get('files-from') as string : undefined);
      const bases = [workdir, ...(p.shortValues.get('C') ?? []), ...(typeof p.longs.get('directory') === 'string' ? [p.longs.get('directory') as string] : [])];
      return { program, how: `${program} -c`, roots: resolveAll(p.operands, bases), followsLinks: has(p, 'h', ['dereference']), listFile };
    }
    case 'cp': case 'mv': {
      const p = parseArgs(args, 'St', ['target-directory', 'suffix', 'sparse', 'reflink', 'preserve', 'no-preserve'], ['recursive', 'archive', 'dereference']);
      if (program === 'cp' && !has(p, 'rRa', ['recursive', 'archive'])) return undefined;
      const target = p.shortValues.has('t') || p.longs.has('target-directory');
      const sources = target ? p.operands : p.operands.slice(0, -1);
      // Moving a folder takes what is below it out of reach of its blocked pattern.
      return { program, how: program === 'cp' ? 'cp -r' : 'mv', roots: resolveAll(sources), followsLinks: program === 'cp' && has(p, 'L', ['dereference']) };
    }
    case 'rsync': {
      const p = parseArgs(args, 'BfMT', ['files-from', 'filter', 'exclude', 'include', 'exclude-from', 'include-from', 'temp-dir', 'block-size', 'remote-option', 'compare-dest', 'copy-dest', 'link-dest', 'backup-dir', 'suffix', 'chmod', 'timeout', 'log-file', 'partial-dir', 'max-size', 'min-size', 'bwlimit', 'out-format', 'password-file', 'chown', 'usermap', 'groupmap'],
        ['recursive', 'archive', 'copy-links', 'copy-dirlinks', 'copy-unsafe-links']);
      if (!has(p, 'ra', ['recursive', 'archive'])) return undefined;
      const listFile = typeof p.longs.get('files-from') === 'string' ? p.longs.get('files-from') as string : undefined;
      return { program, how: 'rsync -r', roots: resolveAll(p.operands.slice(0, -1)), followsLinks: has(p, 'Lk', ['copy-links', 'copy-dirlinks', 'copy-unsafe-links']), listFile };
    }
    case 'zip': {
      const p = parseArgs(args, 'bnPt', ['temp-path', 'suffixes', 'password'], ['recurse-paths', 'recurse-patterns', 'symlinks']);
      if (!has(p, 'rR', ['recurse-paths', 'recurse-patterns'])) return undefined;
      return { program, how: 'zip -r', roots: resolveAll(p.operands.slice(1)), followsLinks: !has(p, 'y', ['symlinks']) };
    }
    case 'diff': {
      const p = parseArgs(args, 'CDFILSUWxX', ['exclude', 'exclude-from', 'ignore-matching-lines', 'show-function-line', 'label', 'starting-file', 'unified', 'context', 'width', 'ifdef', 'from-file', 'to-file', 'line-format', 'old-line-format', 'new-line-format', 'unchanged-line-format', 'old-group-format', 'new-group-format', 'changed-group-format', 'unchanged-group-format', 'horizon-lines', 'tabsize', 'color', 'palette'], ['recursive', 'no-dereference']);
      if (!has(p, 'r', ['recursive'])) return undefined;
      const files = [...p.operands, ...['from-file', 'to-file'].flatMap((o) => (typeof p.longs.get(o) === 'string' ? [p.longs.get(o) as string] : []))];
      return { program, how: 'diff -r', roots: resolveAll(files), followsLinks: !p.longs.has('no-dereference') };
    }
    case '7z': case '7za': case '7zr': case 'jar': {
      // Archivers that take folders whole; every word is taken as a possible folder.
      return { program, how: program, roots: resolveAll(args.filter((a) => !a.startsWith('-'))), followsLinks: false };
    }
    default:
      return undefined;
  }
}
