/**
 * Output masking for everything the MCP bridge returns. Streaming-safe: text is only released
 * up to a point where no secret can still be growing (a line end, or a safe cut in a very long
 * line), so a secret split across chunks is masked exactly like one that arrived whole.
 * PEM private-key blocks are multi-line and handled as a state: from BEGIN to END nothing passes.
 */

export const MASK = '[MASKED]';
const PEM_MASK = '[MASKED private key]';

/** Key names whose values are secrets (env, YAML, JSON, INI, query strings). */
const SECRET_KEY = String.raw`[A-Za-z0-9_.-]*(?:passw(?:or)?d|passphrase|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credentials?|auth[_-]?key|session[_-]?key|signing[_-]?key|encryption[_-]?key|client[_-]?secret)[A-Za-z0-9_.-]*`;

/** Leaves values that are clearly not secrets (already masked, stars, ${VAR} references). */
function keepPlaceholders(match: string, head: string, value: string): string {
  return value === MASK || value === `"${MASK}"` || /^["']?[*x•]+["']?$/i.test(value) || /^["']?\$\{?[A-Za-z_]+\}?["']?$/.test(value) ? match : `${head}${MASK}`;
}

interface Rule {
  readonly name: string;
  readonly re: RegExp;
  /** Rewrites one match; default replaces it with MASK. */
  readonly replace?: (match: string, ...groups: string[]) => string;
}

/**
 * The patterns, most specific first. Every regex is global; the first rules mask whole tokens,
 * the later ones mask values by their context (a key name, a header, a URL).
 */
export const RULES: readonly Rule[] = [
  { name: 'anthropic-key', re: /\bsk-ant-[A-Za-z0-9_-]{8,}/g },
  { name: 'openai-key', re: /\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{8,}/g },
  { name: 'openai-key', re: /\bsk-[A-Za-z0-9]{20,}\b/g },
  { name: 'stripe-key', re: /\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,}/g },
  { name: 'github-token', re: /\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}/g },
  { name: 'github-token', re: /\bgithub_pat_[A-Za-z0-9_]{20,}/g },
  { name: 'gitlab-token', re: /\bglpat-[A-Za-z0-9_-]{20,}/g },
  { name: 'aws-key-id', re: /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}\b/g },
  { name: 'google-key', re: /\bAIza[0-9A-Za-z_-]{35}/g },
  { name: 'slack-token', re: /\bxox[abposre]-[A-Za-z0-9-]{10,}/g },
  { name: 'npm-token', re: /\bnpm_[A-Za-z0-9]{36}\b/g },
  { name: 'jwt', re: /\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g },
  // scheme://user:password@host — any scheme (postgres, mysql, mongodb+srv, redis, amqp, https...)
  { name: 'url-credentials', re: /\b([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)([^:@\/\s"'<>]*):([^@\/\s"'<>]+)@/g, replace: (_m, scheme, user) => `${scheme}${user}:${MASK}@` },
  { name: 'authorization', re: /\b((?:proxy-)?authorization["']?\s*[:=]\s*["']?(?:bearer|basic|token|digest|negotiate|apikey)?\s*)([^\s"',;]+)/gi, replace: (_m, head) => `${head}${MASK}` },
  { name: 'authorization', re: /\b(bearer|basic)(\s+)([A-Za-z0-9._~+/-]{8,}=*)/gi, replace: (_m, kind, space) => `${kind}${space}${MASK}` },
  // "password": "x"  /  'api_key': 'x'
  { name: 'secret-assignment', re: new RegExp(String.raw`(["'](?:${SECRET_KEY})["']\s*:\s*)(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')`, 'gi'), replace: (_m, head) => `${head}"${MASK}"` },
  // PASSWORD=x, export API_KEY="x", --password=x, ?token=x: the value ends at whitespace
  {
    name: 'secret-assignment',
    re: new RegExp(String.raw`(\b${SECRET_KEY}["']?[ \t]*=[ \t]*)("(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[^\s"'&,;}]+)`, 'gi'),
    replace: keepPlaceholders,
  },
  // password: x (YAML, logs): the value may have spaces, up to a few words
  {
    name: 'secret-assignment',
    re: new RegExp(String.raw`(\b${SECRET_KEY}["']?[ \t]*:(?!//)[ \t]*)("(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[^\s"'&,;}]+(?:[ \t]+[^\s"'&,;}]+){0,8})`, 'gi'),
    replace: keepPlaceholders,
  },
];

/**
 * Literals that every rule above needs somewhere in its match. Text without any of them is
 * released untouched after one scan, and only lines that have one go through all the rules:
 * that keeps masking fast on the ordinary bulk of logs. Keep in sync with RULES (a unit test checks).
 */
const TRIGGER_SOURCE = String.raw`a(?:uthorization|pi[_-]?key|pikey|ccess[_-]?key|uth[_-]?key|kia|sia|gpa|ida|roa|ipa|npa|nva|iza)|b(?:earer|asic)|credential|e(?:yj|ncryption[_-]?key)|g(?:h[pousr]_|ithub_pat_|lpat-)|p(?:ass(?:w|phrase)|wd|rivate[_-]?key)|s(?:k-|ecret|ession[_-]?key|igning[_-]?key)|token|xox|npm_|_(?:live|test)_|:\/\/`;

export const TRIGGER = new RegExp(TRIGGER_SOURCE);
const PEM_BEGIN = /-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----/;
const PEM_END = /-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----/;

/** Longest a single line may grow before it is released at a safe cut. */
const MAX_PENDING = 64 * 1024;
/** What is kept back at such a cut: longer than any secret a pattern matches. */
const HOLD_BACK = 8 * 1024;

export interface MaskerOptions {
  /** Exact values known to be secret (from hidden .env files, secret-named container env vars). */
  readonly knownSecrets?: Iterable<string>;
}

export interface MaskStats {
  /** How many secrets were replaced. */
  count: number;
  /** Rule names that matched, with counts. */
  readonly rules: Record<string, number>;
}

/** Values shorter than this are too common to mask on their own ("true", "1234"). */
export const MIN_KNOWN_SECRET_LENGTH = 6;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Builds the masking rules once; `stream()` hands out independent streaming maskers. */
export class Masker {
  private readonly rules: Rule[];

  constructor(options: MaskerOptions = {}) {
    const known = [...new Set([...(options.knownSecrets ?? [])].map((s) => s.trim()).filter((s) => s.length >= MIN_KNOWN_SECRET_LENGTH))]
      .sort((a, b) => b.length - a.length);
    this.rules = [...(known.length ? [{ name: 'known-secret', re: new RegExp(known.map(escapeRegExp).join('|'), 'g') }] : []), ...RULES];
    // Lower-case literals, matched against lower-cased text: a case-sensitive scan is several times faster.
    const source = [TRIGGER_SOURCE, ...known.map((k) => escapeRegExp(k.toLowerCase()))].join('|');
    this.trigger = new RegExp(source, 'g');
    this.triggerAnyCase = new RegExp(source, 'gi');
  }

  private readonly trigger: RegExp;
  /** For text whose lower-case form has another length (some Unicode letters), offsets must stay the same. */
  private readonly triggerAnyCase: RegExp;

  /** Masks a complete text. */
  mask(text: string, stats?: MaskStats): string {
    const s = this.stream(stats);
    return s.push(text) + s.end();
  }

  /** A masker for one stream of chunks: push() returns what is safe to release, end() the rest. */
  stream(stats: MaskStats = { count: 0, rules: {} }): StreamMasker {
    return new StreamMasker(this, stats);
  }

  /** Masks text that is known to be complete (no PEM handling; used by StreamMasker). Only lines with a trigger are worked on. */
  maskComplete(text: string, stats: MaskStats): string {
    const lower = text.toLowerCase();
    const sameLength = lower.length === text.length;
    const trigger = sameLength ? this.trigger : this.triggerAnyCase;
    const scan = sameLength ? lower : text;
    trigger.lastIndex = 0;
    let m = trigger.exec(scan);
    if (!m) return text;
    let out = '';
    let pos = 0;
    while (m) {
      const start = text.lastIndexOf('\n', m.index) + 1;
      let end = text.indexOf('\n', m.index);
      if (end < 0) end = text.length;
      out += text.slice(pos, start) + this.maskLine(text.slice(start, end), stats);
      pos = end;
      trigger.lastIndex = end;
      m = trigger.exec(scan);
    }
    return out + text.slice(pos);
  }

  private maskLine(text: string, stats: MaskStats): string {
    let out = text;
    for (const rule of this.rules) {
      rule.re.lastIndex = 0;
      if (!rule.re.test(out)) continue;
      rule.re.lastIndex = 0;
      out = out.replace(rule.re, (...args: any[]) => {
        const groups = args.slice(1, -2) as string[];
        const replaced = rule.replace ? rule.replace(args[0], ...groups) : MASK;
        if (replaced !== args[0]) {
          stats.count++;
          stats.rules[rule.name] = (stats.rules[rule.name] ?? 0) + 1;
        }
        return replaced;
      });
    }
    return out;
  }

  /** Where a very long pending text may be cut: at whitespace, outside every match, before the hold-back. */
  safeCut(text: string): number {
    const limit = text.length - HOLD_BACK;
    const spans: [number, number][] = [];
    for (const rule of this.rules) {
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
}

export class StreamMasker {
  private pending = '';
  private inPem = false;

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
      if (begin) {
        out += this.masker.maskComplete(this.pending.slice(0, begin.index), this.stats) + PEM_MASK;
        this.stats.count++;
        this.stats.rules['private-key'] = (this.stats.rules['private-key'] ?? 0) + 1;
        this.pending = this.pending.slice(begin.index + begin[0].length);
        this.inPem = true;
        continue;
      }
      break;
    }
    // Release whole lines; a partial last line (maybe a secret or a BEGIN marker still arriving) waits.
    const lineEnd = this.pending.lastIndexOf('\n');
    let cut = lineEnd + 1;
    if (this.pending.length - cut > MAX_PENDING) cut = Math.max(cut, this.masker.safeCut(this.pending));
    if (cut > 0) {
      out += this.masker.maskComplete(this.pending.slice(0, cut), this.stats);
      this.pending = this.pending.slice(cut);
    }
    return out;
  }

  end(): string {
    if (this.inPem) {
      this.pending = '';
      return '';
    }
    const rest = this.masker.maskComplete(this.pending, this.stats);
    this.pending = '';
    return rest;
  }
}

/** Environment variable names whose values are secrets. */
export function isSecretName(name: string): boolean {
  return new RegExp(`^${SECRET_KEY}$`, 'i').test(name) || /(^|_)(KEY|PASS|DSN|DATABASE_URL|CONN(ECTION)?_STRING)$/i.test(name);
}

/** Values of `KEY=VALUE` lines (a .env file) — all of them count as secrets, since the file is hidden. */
export function envFileValues(text: string): string[] {
  const values: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_.-]*\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let value = m[1].trim();
    if ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'"))) value = value.slice(1, -1);
    if (value) values.push(value);
  }
  return values;
}
