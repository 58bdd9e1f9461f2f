import { BACKUP_SUFFIXES } from './backupForms.js';

/**
 * The hide rules in a form the sandbox's init can evaluate without node: one POSIX extended regular
 * expression per rule, for awk (templates/base/paddock-init), so that its guard can tell, with no
 * Paddock process on the host, whether a path that appears in the workspace is one the policy hides.
 *
 * The decision is RuleSet's (./hiding.ts): a path is hidden when the last rule that matches it or a
 * folder above it is a positive one; a positive rule also matches the backup forms of the name it
 * ends in (./backupForms.ts). Each rule becomes the regex of "this path", the trailing "/**" dropped
 * (a folder rule names what is inside through the folder); the evaluator tries every prefix.
 *
 * A glob this cannot translate exactly (a negative extglob "!(x)", a brace range "{1..3}", a brace
 * holding a "/") is left out in the direction that never stops a sandbox for a path its mount plan
 * does not hide: a positive rule is dropped (the host's guard still sees its paths), and a negative
 * one drops the rules before it too (it could re-include any of their paths).
 */
export interface GuardRule {
  readonly positive: boolean;
  /** The whole-path regex (anchored by the evaluator), in the syntax awk and JavaScript share. */
  readonly ere: string;
  /** As written in the policy, for messages. */
  readonly pattern: string;
}

export interface GuardRules {
  readonly rules: readonly GuardRule[];
  /** Paths (and the regexes) are compared in lower case: hosts whose file systems ignore case. */
  readonly caseInsensitive: boolean;
  /** Rules the evaluator does without, as written (see above). */
  readonly skipped: readonly string[];
}

const ERE_SPECIAL = /[\\.[\]()*+?{}|^$]/g;
const literal = (text: string) => text.replace(ERE_SPECIAL, '\\$&');

/** A glob as the policy reader normalizes it (compileGlobs, RuleSet): relative, no trailing "/**". */
function normalize(glob: string): string {
  let g = glob.trim();
  while (g.startsWith('./')) g = g.slice(2);
  g = g.replace(/^\/+/, '');
  if (g.endsWith('/')) g = `${g}**`;
  while (g.endsWith('/**') && g.length > 3) g = g.slice(0, -3);
  return g;
}

class Unsupported extends Error {}

/** One path segment's glob (no "/") as a regex that stays within the segment. */
function segmentEre(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    const next = glob[i + 1];
    if (c === '\\') {
      if (i + 1 >= glob.length) throw new Unsupported();
      out += literal(glob[++i]);
    } else if ('?*+@'.includes(c) && next === '(') {
      const end = closing(glob, i + 1, '(', ')');
      const inner = splitTop(glob.slice(i + 2, end), '|').map(segmentEre).join('|');
      out += c === '@' ? `(${inner})` : `(${inner})${c}`;
      i = end;
    } else if (c === '!' && next === '(') {
      throw new Unsupported(); // "anything but": no ERE for it
    } else if (c === '*') {
      while (glob[i + 1] === '*') i++;
      out += '[^/]*';
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) throw new Unsupported();
      let body = glob.slice(i + 1, end);
      if (body.startsWith('!')) body = `^${body.slice(1)}`;
      if (body.includes('\\') || body.includes('/')) throw new Unsupported();
      out += `[${body}]`;
      i = end;
    } else if (c === '{') {
      const end = closing(glob, i, '{', '}');
      const body = glob.slice(i + 1, end);
      if (/^[^,]*\.\.[^,]*$/.test(body)) throw new Unsupported(); // {1..3}: a range
      const items = splitTop(body, ',');
      if (items.length < 2) out += literal(`{${body}}`);
      else {
        // "{,.bak}": an empty choice makes the group optional (ERE has no empty alternative).
        const choices = items.filter((item) => item).map(segmentEre);
        out += `(${choices.join('|')})${choices.length < items.length ? '?' : ''}`;
      }
      i = end;
    } else if ('()|'.includes(c)) {
      throw new Unsupported(); // picomatch reads these as regex groups
    } else {
      out += literal(c);
    }
  }
  return out;
}

function closing(text: string, open: number, a: string, b: string): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '\\') { i++; continue; }
    if (text[i] === a) depth++;
    else if (text[i] === b && --depth === 0) return i;
  }
  throw new Unsupported();
}

function splitTop(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') { i++; continue; }
    if (c === '(' || c === '{' || c === '[') depth++;
    else if (c === ')' || c === '}' || c === ']') depth--;
    else if (c === separator && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** Splits at "/" outside braces, brackets and extglobs; a "/" inside one of them is refused. */
function segmentsOf(glob: string): string[] {
  const segments = splitTop(glob, '/');
  if (segments.some((s) => /[{(][^})]*\//.test(s))) throw new Unsupported();
  return segments;
}

const anyCase = (text: string) => text.replace(/[a-z]/gi, (c) => `[${c.toLowerCase()}${c.toUpperCase()}]`);

/**
 * The forms backupBases() undoes, around a name's regex `name`: `N~`, `N.bak`..., emacs's `N.~3~`,
 * vim's `N.swp`/`.N.swp`, `#N#`, `.#N`. `.N.swp` is only a form of a name without a leading dot:
 * for a name that may start with anything that is not checked (a stricter match than the plan's
 * only for names like "..x.pem.swp").
 */
function withBackupForms(name: string, glob: string): string {
  const suffixes = BACKUP_SUFFIXES.map((s) => literal(s).replace(/[a-z]+/gi, anyCase)).join('|');
  const swap = '\\.[sS][wW][a-pA-PxX]';
  const forms = [`(${name})`, `(${name})(${suffixes})`, `(${name})\\.~[^/]*~`, `(${name})${swap}`, `#(${name})#`, `\\.#(${name})`];
  if (!glob.startsWith('.')) forms.push(`\\.(${name})${swap}`);
  return `(${forms.join('|')})`;
}

/** The regex of one rule (normalized glob, its sign dropped), or undefined when it has none. */
export function globToEre(glob: string, backupForms = false): string | undefined {
  try {
    const segments = segmentsOf(glob);
    let out = '';
    segments.forEach((segment, i) => {
      const last = i === segments.length - 1;
      if (segment === '**') {
        out += last ? '.*' : '(.*/)?';
        return;
      }
      const ere = segmentEre(segment);
      out += last && backupForms ? withBackupForms(ere, segment) : ere;
      if (!last) out += '/';
    });
    return out;
  } catch (err) {
    if (err instanceof Unsupported) return undefined;
    throw err;
  }
}

export function guardRules(hide: readonly string[], caseInsensitive: boolean): GuardRules {
  let rules: GuardRule[] = [];
  const skipped: string[] = [];
  for (const pattern of hide) {
    const positive = !pattern.startsWith('!');
    const glob = normalize(positive ? pattern : pattern.slice(1));
    const ere = glob ? globToEre(glob, positive) : undefined;
    if (ere === undefined) {
      if (!positive) {
        skipped.push(...rules.map((r) => r.pattern));
        rules = [];
      }
      skipped.push(pattern);
      continue;
    }
    rules.push({ positive, ere: caseInsensitive ? ere.toLowerCase() : ere, pattern });
  }
  return { rules, caseInsensitive, skipped };
}

/**
 * What the init reads: "nocase<TAB>0|1", then a line per rule, "+" or "-", the regex, the pattern.
 * Tabs and line breaks in a pattern would break the format: such a rule is skipped (none of the
 * evaluators could match a path with them anyway).
 */
export function guardRulesText(rules: GuardRules): string {
  const lines = [`nocase\t${rules.caseInsensitive ? 1 : 0}`];
  for (const r of rules.rules) {
    if (/[\t\n\r]/.test(r.pattern)) continue;
    lines.push(`${r.positive ? '+' : '-'}\t${r.ere}\t${r.pattern}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The rule that decides `rel` ('/'-separated, relative to the workspace) the way the init's awk
 * does: the last rule whose regex matches the path or a folder above it. Hidden when it is positive.
 */
export function guardDecision(rules: GuardRules, rel: string): GuardRule | undefined {
  const path = rules.caseInsensitive ? rel.toLowerCase() : rel;
  const compiled = rules.rules.map((r) => new RegExp(`^(${r.ere})$`));
  let best = -1;
  let from = 0;
  for (;;) {
    const slash = path.indexOf('/', from);
    const prefix = slash < 0 ? path : path.slice(0, slash);
    for (let i = compiled.length - 1; i > best; i--) {
      if (compiled[i].test(prefix)) { best = i; break; }
    }
    if (slash < 0) return best >= 0 ? rules.rules[best] : undefined;
    from = slash + 1;
  }
}
