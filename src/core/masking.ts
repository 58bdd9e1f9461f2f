/**
 * Output masking for everything the MCP bridge returns. Streaming-safe: text is only released
 * up to a point where no secret can still be growing (a line end, or a safe cut in a very long
 * line), so a secret split across chunks is masked exactly like one that arrived whole.
 *
 * Three kinds of rules (masking-rules.ts): whole tokens (Paddock's list and gitleaks' vendor list),
 * values by their context (a key name, a header, a URL, a file format), and known values (the
 * hidden files' content in every encoded form). Structures that span lines are states of the
 * stream: a PEM private key (from BEGIN to END nothing passes, and a key body whose BEGIN is not
 * in the output is masked when its END arrives), a secret-named label whose value is on the next
 * lines, and the data block of a Kubernetes Secret.
 */
import { hiddenFileSecrets, knownSecretForms, envFileValues, MIN_KNOWN_SECRET_LENGTH } from './masking-known.js';
import { KeywordScanner } from './masking-scan.js';
import { MASK, RULES, SECRET_KEY, SECRET_KEYWORDS, WORKING_FOLDER_NAME, type Rule } from './masking-rules.js';

export { envFileValues, hiddenFileSecrets, MASK, MIN_KNOWN_SECRET_LENGTH, RULES, type Rule };

const PEM_MASK = '[MASKED private key]';
const PEM_BEGIN = /-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----/;
const PEM_END = /-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----/;
/** A line of a key's body (base64, or an encrypted key's header), maybe after a log timestamp or indentation. */
const KEY_BODY_LINE = /^(?:\d{4}-\d\d-\d\dT[\d:.]+Z )?[ \t]*(?:[A-Za-z0-9+/]{16,}={0,2}|(?:Proc-Type|DEK-Info|Comment):.*)?[ \t]*\r?$/;
const BASE64_LINE = /[A-Za-z0-9+/]{16,}/;

/** Longest a single line may grow before it is released at a safe cut. */
const MAX_PENDING = 64 * 1024;
/** What is kept back at such a cut: longer than any secret a pattern matches. */
const HOLD_BACK = 8 * 1024;
/** Known values are found by their first characters; the exact rule then confirms. */
const KNOWN_PREFIX = 8;
/**
 * Known values past this many are left to the pattern rules (the scanner's table grows with each).
 * First come, first kept: the bridge gives the containers' secret env values first, then the hidden
 * files' values, smallest file first (src/bridge/service.ts, host.ts), so the values output prints
 * most (a service's token, a .env's few values) stay masked when a big state file or a folder of
 * data has thousands; those are what is left out past the cap. The cap was kept, not raised.
 */
export const MAX_KNOWN_VALUES = 1000;

/** Blocks inside blocks (a secret's label under a `data:` label), at most: deeper labels open none. */
const MAX_BLOCK_DEPTH = 8;
/** A label with nothing after it: its value follows on the next line(s). */
const LABEL_ALONE = /^([ \t]*)(?:-[ \t]+)?["']?([A-Za-z0-9_.-]+)["']?[ \t]*[:=][ \t]*(\{|[|>][-+]?\d*)?[ \t]*\r?$/;
const SECRET_NAME = new RegExp(`^${SECRET_KEY}$`, 'i');
/** Free text that ends in a secret's label: "Your API token:", "password is:". */
const LABEL_AT_END = new RegExp(String.raw`\b${SECRET_KEY}(?:[ \t]+(?:is|was|are))?[ \t]*:[ \t]*\r?$`, 'i');
/** A key: value line inside a block, and a list item. */
const BLOCK_ENTRY = /^([ \t]*(?:-[ \t]+)?["']?[A-Za-z0-9_.-]+["']?[ \t]*:[ \t]*)(.*?)(,?[ \t]*\r?)$/;
const LIST_ITEM = /^([ \t]*-[ \t]+)(.*?)([ \t]*\r?)$/;
/** A Kubernetes data value: base64 whose length is a multiple of 4, in mixed case or with digits. */
function looksBase64(value: string): boolean {
  const v = value.replace(/^["']|["']$/g, '');
  return v.length >= 8 && v.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(v) && /[a-z]/.test(v) && /[A-Z0-9+/=]/.test(v);
}

export interface MaskerOptions {
  /** Exact values known to be secret (from hidden files, secret-named container env vars). */
  readonly knownSecrets?: Iterable<string>;
}

export interface MaskStats {
  /** How many secrets were replaced. */
  count: number;
  /** Rule names that matched, with counts. */
  readonly rules: Record<string, number>;
}

interface Block {
  /** The block this one was opened inside (a secret's label under a `data:` label): it goes on when this one ends. */
  readonly parent?: Block;
  /** How many blocks this one is inside. */
  readonly depth: number;
  /** Indentation of the label: lines indented deeper belong to its value. */
  readonly indent: number;
  readonly mode: 'value' | 'data';
  /** A JSON object: the block ends at its closing brace. */
  readonly json: boolean;
  lines: number;
}

/** What one stream remembers from line to line. */
interface LineState {
  block?: Block;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function count(stats: MaskStats, rule: string): void {
  stats.count++;
  stats.rules[rule] = (stats.rules[rule] ?? 0) + 1;
}

/** Builds the masking rules once; `stream()` hands out independent streaming maskers. */
export class Masker {
  private readonly rules: readonly Rule[];
  private readonly scanner: KeywordScanner;
  /** Rules whose lines are found by a probe over the whole text rather than by keywords (Rule.probe). */
  private readonly probed: readonly { readonly id: number; readonly probe: RegExp }[];
  /** Scanner value of the label check (a secret's value on the next lines). */
  private readonly labelId: number;
  /** Every form of every known value, for cutting a truncated output before a partial one. */
  private readonly knownForms: readonly string[];

  constructor(options: MaskerOptions = {}) {
    const values = [...new Set([...(options.knownSecrets ?? [])].flatMap((s) => s.split(/\r?\n/)).map((s) => s.trim()).filter((s) => s.length >= MIN_KNOWN_SECRET_LENGTH))].slice(0, MAX_KNOWN_VALUES);
    this.knownForms = [...new Set(values.flatMap(knownSecretForms))].sort((a, b) => b.length - a.length);
    const known: Rule[] = this.knownForms.length
      ? [{ name: 'known-secret', re: new RegExp(this.knownForms.map(escapeRegExp).join('|'), 'g'), keywords: this.knownForms.map((f) => f.slice(0, KNOWN_PREFIX).toLowerCase()) }]
      : [];
    this.rules = [...known, ...RULES];
    this.labelId = this.rules.length;
    const entries: [string, number][] = [];
    this.rules.forEach((rule, id) => { if (!rule.probe) for (const k of rule.keywords) entries.push([k, id]); });
    for (const k of [...SECRET_KEYWORDS, 'data:', 'data":', "data':", 'binarydata']) entries.push([k, this.labelId]);
    this.scanner = new KeywordScanner(entries);
    this.probed = this.rules.flatMap((rule, id) => (rule.probe ? [{ id, probe: rule.probe }] : []));
  }

  /** Masks a complete text. `truncated`: the text was cut short, so its end may hold part of a secret. */
  mask(text: string, stats?: MaskStats, options: { truncated?: boolean } = {}): string {
    const s = this.stream(stats);
    return s.push(text) + s.end(options);
  }

  /** A masker for one stream of chunks: push() returns what is safe to release, end() the rest. */
  stream(stats: MaskStats = { count: 0, rules: {} }): StreamMasker {
    return new StreamMasker(this, stats);
  }

  /** Masks text that is known to be complete lines (no PEM handling; used by StreamMasker). Only lines with a keyword are worked on. */
  maskComplete(text: string, stats: MaskStats, state: LineState = {}): string {
    const n = text.length;
    // Lines found by probes: line start -> rule ids.
    const probeHits = new Map<number, number[]>();
    for (const { id, probe } of this.probed) {
      probe.lastIndex = 0;
      for (let m = probe.exec(text); m; m = probe.exec(text)) {
        const start = m.index === 0 ? 0 : text.lastIndexOf('\n', m.index - 1) + 1;
        const ids = probeHits.get(start);
        if (!ids) probeHits.set(start, [id]);
        else if (!ids.includes(id)) ids.push(id);
        if (m[0].length === 0) probe.lastIndex++;
      }
    }
    const shapeStarts = [...probeHits.keys()].sort((a, b) => a - b);
    let shapeIndex = 0;
    let out = '';
    let pos = 0;
    let lineStart = 0;
    while (lineStart < n) {
      let start = lineStart;
      let hit = -1;
      // Also inside a block: its lines run the probed rules too.
      while (shapeIndex < shapeStarts.length && shapeStarts[shapeIndex] < lineStart) shapeIndex++;
      if (!state.block) {
        hit = this.scanner.firstHit(text, lineStart, n);
        const shapeAt = shapeIndex < shapeStarts.length ? shapeStarts[shapeIndex] : -1;
        if (hit < 0 && shapeAt < 0) break;
        const hitLine = hit < 0 ? n : text.lastIndexOf('\n', hit) + 1;
        if (shapeAt >= 0 && shapeAt < hitLine) hit = -1;
        start = hit < 0 ? shapeAt : hitLine;
      }
      let end = text.indexOf('\n', start);
      if (end < 0) end = n;
      let ids = hit >= 0 ? this.scanner.hitsAfter(text, hit, end) : this.scanner.hitsIn(text, start, end);
      if (shapeStarts[shapeIndex] === start) ids = [...new Set([...ids, ...probeHits.get(start)!])].sort((a, b) => a - b);
      const line = text.slice(start, end);
      const masked = this.maskLine(line, ids, stats, state);
      // Unchanged lines stay in the slice still to copy: fewer pieces to join on keyword-dense logs.
      if (masked !== line) {
        out += text.slice(pos, start) + masked;
        pos = end;
      }
      lineStart = end + 1;
    }
    return out + text.slice(pos);
  }

  /**
   * `ids`: the rules to run, ascending (rule order). Every line runs its rules, also a line inside a
   * block: a block (a label whose value is on the next lines, a `data:` block) only adds masking on
   * top, never replaces it (a `data:` line printed before a config must not unmask the config).
   */
  private maskLine(line: string, ids: readonly number[], stats: MaskStats, state: LineState): string {
    let out = line;
    for (const id of ids) {
      const rule = this.rules[id];
      if (!rule) continue;
      rule.re.lastIndex = 0;
      if (!rule.re.test(out)) continue;
      rule.re.lastIndex = 0;
      out = out.replace(rule.re, (...args: any[]) => {
        const replaced = rule.replace ? rule.replace(...(args as [string, ...string[]])) : MASK;
        if (replaced !== args[0]) count(stats, rule.name);
        return replaced;
      });
    }
    // The blocks this line is in: the innermost that takes it masks it; the ones it ends are left.
    let block = state.block;
    while (block) {
      const inBlock = this.blockLine(out, block, stats);
      if (inBlock !== undefined) {
        out = inBlock;
        break;
      }
      block = block.parent;
    }
    state.block = block;
    if (ids.includes(this.labelId)) state.block = this.labelOf(line, block) ?? block;
    return out;
  }

  /** A line that ends in a label with no value opens a block (inside `parent`, the block the line is in): the value is on the next line(s). */
  private labelOf(line: string, parent: Block | undefined): Block | undefined {
    const depth = parent ? parent.depth + 1 : 0;
    if (depth > MAX_BLOCK_DEPTH) return undefined;
    const alone = LABEL_ALONE.exec(line);
    if (alone) {
      const [, indent, key, opener] = alone;
      const data = /^(?:data|stringData|binaryData)$/i.test(key);
      if (data || SECRET_NAME.test(key)) return { parent, depth, indent: indent.length, mode: data && !/^string/i.test(key) ? 'data' : 'value', json: opener === '{', lines: 0 };
      return undefined;
    }
    if (LABEL_AT_END.test(line)) return { parent, depth, indent: line.length - line.trimStart().length, mode: 'value', json: false, lines: 0 };
    return undefined;
  }

  /** A line inside a block, masked; undefined when the line ends the block. */
  private blockLine(line: string, block: Block, stats: MaskStats): string | undefined {
    const body = line.trim();
    if (!body) return line;
    const indent = line.length - line.trimStart().length;
    const maskValue = (head: string, value: string, tail: string): string => {
      // (The line's rules ran first: a value they masked whole is not counted twice.)
      if (!value || value === MASK || value === `"${MASK}"` || value === `'${MASK}'` || /^[|>{[]/.test(value) || (block.mode === 'data' && !looksBase64(value))) return head + value + tail;
      count(stats, block.mode === 'data' ? 'kubernetes-data' : 'secret-next-line');
      return `${head}${/^["']/.test(value) ? `"${MASK}"` : MASK}${tail}`;
    };
    const entry = BLOCK_ENTRY.exec(line);
    if (block.json) {
      if (/^[}\]]/.test(body)) return undefined;
      block.lines++;
      return entry ? maskValue(entry[1], entry[2], entry[3]) : line;
    }
    const nested = indent > block.indent || (indent === block.indent && block.mode === 'value' && body.startsWith('- '));
    if (nested) {
      block.lines++;
      if (entry) return maskValue(entry[1], entry[2], entry[3]);
      const item = LIST_ITEM.exec(line);
      if (item) return maskValue(item[1], item[2], item[3]);
      return maskValue(line.slice(0, indent), body, line.endsWith('\r') ? '\r' : '');
    }
    // Back at the label's level: a log's "password:" line followed by the bare value on the next line.
    if (block.lines === 0 && block.mode === 'value' && !/^["']?[A-Za-z0-9_.-]+["']?[ \t]*[:=]/.test(body)) {
      block.lines++;
      const masked = maskValue(line.slice(0, indent), body, line.endsWith('\r') ? '\r' : '');
      return masked === line ? undefined : masked;
    }
    return undefined;
  }

  /** Where a very long pending text may be cut: at whitespace, outside every match, before the hold-back. */
  safeCut(text: string): number {
    const limit = text.length - HOLD_BACK;
    const spans: [number, number][] = [];
    // The rules found by keywords, and those found by a probe (pgpass, gitleaks' generic-api-key: a
    // `'client_creds': 'value'` cut at the space after its colon matches neither half).
    const ids = new Set([...this.scanner.hitsIn(text, 0, text.length), ...this.probed.map((p) => p.id)]);
    for (const id of ids) {
      const rule = this.rules[id];
      if (!rule) continue;
      rule.re.lastIndex = 0;
      for (const m of text.matchAll(rule.re)) spans.push([m.index!, m.index! + m[0].length]);
    }
    for (let i = limit; i > 0; i--) {
      const c = text.charCodeAt(i);
      if (c !== 32 && c !== 9 && c !== 44 && c !== 59) continue; // space, tab, comma, semicolon
      if (!spans.some(([a, b]) => a < i && i < b)) return i + 1;
    }
    return 0;
  }

  /**
   * The part of a cut-short text that may be shown: without a trailing start of a known value (in
   * any of its forms) and without the trailing partial word, which may be a token cut below the
   * length its pattern needs.
   */
  trimPartial(text: string): string {
    let out = text;
    for (let round = 0; round < 8; round++) {
      const before = out.length;
      let cut = 0;
      for (const form of this.knownForms) {
        for (let len = Math.min(form.length - 1, out.length); len > cut; len--) {
          if (out.endsWith(form.slice(0, len))) {
            cut = len;
            break;
          }
        }
      }
      out = out.slice(0, out.length - cut);
      const word = /\S+$/.exec(out.slice(-HOLD_BACK));
      if (word) out = out.slice(0, out.length - word[0].length);
      if (out.length === before) break;
    }
    return out;
  }
}

export class StreamMasker {
  private pending = '';
  private inPem = false;
  private readonly lines: LineState = {};

  constructor(private readonly masker: Masker, readonly stats: MaskStats) {}

  push(chunk: string): string {
    this.pending += chunk;
    let out = '';
    for (;;) {
      if (this.inPem) {
        const end = PEM_END.exec(this.pending);
        if (!end) {
          // Keep only what could be the start of the END line.
          this.pending = this.pending.slice(-64);
          return out;
        }
        this.pending = this.pending.slice(end.index + end[0].length);
        this.inPem = false;
        continue;
      }
      const begin = this.pending.includes('-----BEGIN') ? PEM_BEGIN.exec(this.pending) : null;
      const end = this.pending.includes('-----END') ? PEM_END.exec(this.pending) : null;
      if (begin && (!end || begin.index < end.index)) {
        out += this.masker.maskComplete(this.pending.slice(0, begin.index), this.stats, this.lines) + PEM_MASK;
        count(this.stats, 'private-key-block');
        this.pending = this.pending.slice(begin.index + begin[0].length);
        this.inPem = true;
        continue;
      }
      if (end) {
        // A key's END without its BEGIN (the output started inside the key): its body is the run of base64 lines above.
        const bodyStart = this.keyBodyStart(this.pending.lastIndexOf('\n', end.index) + 1, Infinity);
        out += this.masker.maskComplete(this.pending.slice(0, bodyStart), this.stats, this.lines) + PEM_MASK;
        count(this.stats, 'private-key-block');
        this.pending = this.pending.slice(end.index + end[0].length);
        continue;
      }
      break;
    }
    // Release whole lines; a partial last line (maybe a secret or a BEGIN marker still arriving) waits,
    // and so do base64 lines at the end (maybe a key body whose END is still arriving).
    const lineEnd = this.pending.lastIndexOf('\n');
    let cut = lineEnd + 1;
    if (cut > 0) cut = this.keyBodyStart(cut, MAX_PENDING);
    if (this.pending.length - cut > MAX_PENDING) cut = Math.max(cut, this.masker.safeCut(this.pending));
    if (cut > 0) {
      out += this.masker.maskComplete(this.pending.slice(0, cut), this.stats, this.lines);
      this.pending = this.pending.slice(cut);
    }
    return out;
  }

  /** Start of the run of key-body lines that ends at `lineStart` (a line start), if it has base64; else `lineStart`. */
  private keyBodyStart(lineStart: number, maxLength: number): number {
    let start = lineStart;
    let base64 = false;
    while (start > 0) {
      const prev = start < 2 ? 0 : this.pending.lastIndexOf('\n', start - 2) + 1;
      const line = this.pending.slice(prev, start - 1);
      if (!KEY_BODY_LINE.test(line) || lineStart - prev > maxLength) break;
      base64 ||= BASE64_LINE.test(line);
      start = prev;
    }
    return base64 ? start : lineStart;
  }

  /** The rest. `truncated`: the stream was cut short (a size or time limit), so its end may hold part of a secret. */
  end(options: { truncated?: boolean } = {}): string {
    if (this.inPem) {
      this.pending = '';
      return '';
    }
    let rest = this.pending;
    this.pending = '';
    let tail = '';
    if (options.truncated) {
      rest = this.masker.trimPartial(rest);
      // Base64 lines at a cut may be a key whose END never came.
      const lines = rest.replace(/\n$/, '').split('\n');
      let body = lines.length;
      while (body > 0 && KEY_BODY_LINE.test(lines[body - 1]) && BASE64_LINE.test(lines[body - 1])) body--;
      if (lines.length - body >= 2) {
        rest = lines.slice(0, body).join('\n') + (body ? '\n' : '');
        tail = PEM_MASK;
        count(this.stats, 'private-key-block');
      }
    }
    return this.masker.maskComplete(rest, this.stats, this.lines) + tail;
  }

  /** Shortens already masked text at `limit` characters so that no part of a known value is left at the cut. */
  cut(text: string, limit: number): string {
    return text.length <= limit ? text : this.masker.trimPartial(text.slice(0, limit));
  }
}

/** A flag whose value is a secret, alone (its value is the next argument) or as `--flag=value`. */
const SECRET_FLAG = new RegExp(String.raw`^(--?(?:${SECRET_KEY}|requirepass|masterauth|pass))(=.*)?$`, 'i');
/** Programs whose `-pVALUE` is a password (mysql's clients and servers), and whose `-a VALUE` is one (redis-cli). */
const P_PASSWORD_PROGRAM = /^(?:mysql\w*|mariadb\w*)$/;
const A_PASSWORD_PROGRAM = /^redis-cli$/;

/**
 * A command's argv with the values of secret flags masked: `--requirepass X`, `--password X`,
 * `--token=X`, mysql's `-pX`, redis-cli's `-a X`. For inspect's command: pretty-printed JSON puts
 * a flag and its value on separate lines, where no line rule pairs them. A `-p` elsewhere (a
 * port) and a flag followed by another flag are left as they are.
 */
export function maskArgv(argv: readonly string[], stats: MaskStats): string[] {
  const programs = argv.map((a) => a.slice(a.lastIndexOf('/') + 1));
  const mysql = programs.some((p) => P_PASSWORD_PROGRAM.test(p));
  const redis = programs.some((p) => A_PASSWORD_PROGRAM.test(p));
  const out = [...argv];
  for (let i = 0; i < out.length; i++) {
    const arg = out[i];
    const flag = SECRET_FLAG.exec(arg);
    if (flag?.[2] !== undefined) {
      if (flag[2].length > 1 && flag[2] !== `=${MASK}`) {
        out[i] = `${flag[1]}=${MASK}`;
        count(stats, 'secret-argument');
      }
      continue;
    }
    const alone = flag || (redis && arg === '-a');
    if (alone && i + 1 < out.length && out[i + 1] && !out[i + 1].startsWith('-')) {
      out[++i] = MASK;
      count(stats, 'secret-argument');
    } else if (mysql && /^-p./.test(arg)) {
      out[i] = `-p${MASK}`;
      count(stats, 'secret-argument');
    }
  }
  return out;
}

/** Environment variable names whose values are secrets. */
export function isSecretName(name: string): boolean {
  return !WORKING_FOLDER_NAME.test(name) && (SECRET_NAME.test(name) || /(^|_)(KEY|PASS|DSN|DATABASE_URL|CONN(ECTION)?_STRING)$/i.test(name));
}
