import { closeSync, openSync, readSync } from 'node:fs';

/**
 * Finds content that looks like a credential: private keys, cloud and service keys, tokens,
 * credentials in URLs and headers, and secret-named assignments with a literal, random-looking
 * value. Used to flag files that no hide rule covers ("secrets listed nowhere").
 */

export interface SecretHit {
  /** Rule id, e.g. "private-key", "aws-access-key". */
  readonly rule: string;
  readonly description: string;
  /** 0-based offsets of the matched text in the file (UTF-16, as editors count). */
  readonly start: number;
  readonly end: number;
  /** 1-based. */
  readonly line: number;
  readonly col: number;
  /** The match with the secret part masked, safe to print. */
  readonly preview: string;
}

interface Detector {
  readonly rule: string;
  readonly description: string;
  readonly re: RegExp;
  /** Which capture group holds the secret (for masking and the placeholder check); 0 = whole match. */
  readonly group?: number;
  /** Further check of the secret text. */
  readonly accept?: (secret: string, match: RegExpExecArray) => boolean;
}

const PLACEHOLDER = /^(?:x+|\*+|\.+|-+|_+|0+|1234.*|abc.*|test.*|dummy.*|example.*|sample.*|changeme|change_me|password|passwd|secret|token|none|null|nil|undefined|true|false|todo|fixme|redacted|your[_-].*|my[_-].*|<.*>|\[.*\]|\{.*\}|%.*%)$/i;
/** Values taken from elsewhere, not written here: ${VAR}, $VAR, process.env.X, {{ x }}, %(x)s. */
const REFERENCE = /^(?:\$\{?[A-Za-z_]|\{\{|%\(|process\.env|os\.environ|env\(|getenv|ENV\[|\$\()/;

function isPlaceholder(value: string): boolean {
  const v = value.replace(/^['"`]|['"`]$/g, '');
  return PLACEHOLDER.test(v) || REFERENCE.test(v) || /example|placeholder|dummy|fake|sample|xxxx|\.\.\./i.test(v);
}

/** Shannon entropy in bits per character. */
export function entropy(text: string): number {
  if (!text) return 0;
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / text.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

const SECRET_NAME = String.raw`[A-Za-z0-9_.-]*(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|client[_-]?secret|auth[_-]?key|credentials?|signing[_-]?key|encryption[_-]?key|session[_-]?key|dsn)[A-Za-z0-9_.-]*`;
/** Names that contain a secret word but hold no secret. */
const NOT_SECRET_NAME = /(?:_|-|\.)?(?:url|uri|path|file|dir|name|type|length|len|size|endpoint|header|field|param|env|var|id|prefix|expir\w*|ttl|timeout|count|enabled|required|policy|format|algorithm|regex|pattern|label|hint|placeholder)$/i;

const literalValue = (value: string) => value.length >= 8 && !isPlaceholder(value) && entropy(value) >= 3;

const DETECTORS: readonly Detector[] = [
  { rule: 'private-key', description: 'a private key', re: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/g },
  { rule: 'aws-access-key', description: 'an AWS access key id', re: /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/g, accept: (s) => !/EXAMPLE/.test(s) },
  { rule: 'aws-secret-key', description: 'an AWS secret access key', re: /aws_?secret_?access_?key["']?\s*[:=]\s*["']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])/gi, group: 1, accept: (s) => !/EXAMPLE/i.test(s) },
  { rule: 'github-token', description: 'a GitHub token', re: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b/g },
  { rule: 'gitlab-token', description: 'a GitLab token', re: /\bglpat-[A-Za-z0-9_-]{20,}\b/g },
  { rule: 'anthropic-key', description: 'an Anthropic API key', re: /\bsk-ant-[A-Za-z0-9_-]{20,}/g, accept: (s) => !isPlaceholder(s.slice(7)) },
  { rule: 'openai-key', description: 'an OpenAI API key', re: /\bsk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{32,}/g, accept: (s) => /\d/.test(s) && /[A-Za-z]/.test(s.slice(3)) && entropy(s) > 3.5 },
  { rule: 'slack-token', description: 'a Slack token', re: /\bxox[abposr]-[A-Za-z0-9-]{10,}/g },
  { rule: 'stripe-key', description: 'a Stripe live key', re: /\b[rs]k_live_[A-Za-z0-9]{16,}/g },
  { rule: 'google-api-key', description: 'a Google API key', re: /\bAIza[0-9A-Za-z_-]{35}\b/g },
  { rule: 'npm-token', description: 'an npm token', re: /\bnpm_[A-Za-z0-9]{36}\b/g },
  { rule: 'npm-auth', description: 'an npm registry credential', re: /_(?:authToken|auth|password)\s*=\s*(\S+)/g, group: 1, accept: (s) => !isPlaceholder(s) && s.length >= 8 },
  { rule: 'url-credentials', description: 'a password in a URL', re: /\b[a-z][a-z0-9+.-]{1,20}:\/\/([^\s:@/"'`<>]+):([^\s@/"'`<>]+)@[^\s/"'`<>]+/gi, group: 2, accept: (s) => !isPlaceholder(s) && s.length >= 4 },
  { rule: 'auth-header', description: 'an Authorization header', re: /\bAuthorization["']?\s*[:=]\s*["']?(?:Basic|Bearer|Token)\s+([A-Za-z0-9._~+/=-]{12,})/gi, group: 1, accept: (s) => !isPlaceholder(s) },
  { rule: 'jwt', description: 'a JSON web token', re: /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{16,}/g },
  // "password": "…" / api_key = '…' (quoted), and KEY=value / key: value lines (env, ini, yaml).
  { rule: 'secret-assignment', description: 'a secret-named setting with a literal value', re: new RegExp(String.raw`["']?(${SECRET_NAME})["']?\s*(?::=|=>|[:=])\s*(["'\x60])([^"'\x60\s]{1,512})\2`, 'gi'), group: 3, accept: (s, m) => !NOT_SECRET_NAME.test(m[1]) && literalValue(s) },
  { rule: 'secret-assignment', description: 'a secret-named setting with a literal value', re: new RegExp(String.raw`^[ \t]*(?:export[ \t]+)?(${SECRET_NAME})[ \t]*[:=][ \t]*([^\s"'\x60]{1,512})(?:[ \t]+#.*)?[ \t]*$`, 'gim'), group: 2, accept: (s, m) => !NOT_SECRET_NAME.test(m[1]) && literalValue(s) && !/[()[\]{};]/.test(s) },
];

/** A cheap first test: text without any of these cannot match a detector. */
const PREFILTER = /PRIVATE KEY|AKIA|ASIA|ABIA|ACCA|secret|gh[pousr]_|github_pat_|glpat-|sk-|xox|_live_|AIza|npm_|_auth|_password|:\/\/[^\s/@]+:[^\s/@]+@|Authorization|eyJ|passw|pwd|passphrase|token|api[_-]?key|apikey|access[_-]?key|credential|dsn/i;

function mask(text: string, secret: string): string {
  if (!secret) return text;
  const shown = secret.length > 12 ? secret.slice(0, 4) : '';
  return text.replace(secret, `${shown}${'*'.repeat(Math.min(8, Math.max(4, secret.length - shown.length)))}`);
}

/** Scans text; returns every hit (at most `limit`). */
export function scanText(text: string, limit = 20): SecretHit[] {
  if (!PREFILTER.test(text)) return [];
  const hits: SecretHit[] = [];
  let lineStarts: number[] | undefined;
  const position = (offset: number) => {
    lineStarts ??= computeLineStarts(text);
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid] <= offset) lo = mid; else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - lineStarts[lo] + 1 };
  };
  const taken: [number, number][] = [];
  for (const d of DETECTORS) {
    d.re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = d.re.exec(text))) {
      if (m[0].length === 0) { d.re.lastIndex++; continue; }
      const secret = m[d.group ?? 0] ?? m[0];
      if (d.accept && !d.accept(secret, m)) continue;
      const start = m.index;
      const end = m.index + m[0].length;
      if (taken.some(([s, e]) => start < e && end > s)) continue;
      taken.push([start, end]);
      const { line, col } = position(start);
      hits.push({ rule: d.rule, description: d.description, start, end, line, col, preview: mask(m[0], secret).slice(0, 120) });
      if (hits.length >= limit) return hits.sort((a, b) => a.start - b.start);
    }
  }
  return hits.sort((a, b) => a.start - b.start);
}

function computeLineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

/** Files whose content is never a place for credentials, or too noisy to judge (hashes in lock files). */
const SKIP_NAME = /\.(?:png|jpe?g|gif|webp|ico|bmp|tiff?|psd|svg|woff2?|ttf|otf|eot|mp[34]|m4a|wav|ogg|webm|mov|avi|pdf|zip|gz|tgz|bz2|xz|7z|rar|jar|war|class|so|dylib|dll|exe|o|a|lib|wasm|pyc|node|bin|dat|db|sqlite3?|map|min\.js|min\.css|lock|sum)$|(?:^|\/)(?:package-lock\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|Cargo\.lock|poetry\.lock|composer\.lock|go\.sum)$/i;
/** Folders of installed or generated code: their test fixtures are full of fake keys. */
const SKIP_DIR = /(?:^|\/)(?:node_modules|\.git|vendor|bower_components|\.venv|venv|__pycache__|\.tox|\.gradle|\.m2|target|dist|build|out|\.next|\.nuxt|coverage)(?:\/|$)/;

export interface ContentScanOptions {
  /** Bytes read from the start of each file (default 512 KiB). */
  readonly maxBytes?: number;
}

/** Whether a workspace file is worth reading for credentials. `.git/config` is (remote URLs with tokens). */
export function shouldScan(relativePath: string): boolean {
  if (relativePath === '.git/config' || relativePath.endsWith('/.git/config')) return true;
  return !SKIP_NAME.test(relativePath) && !SKIP_DIR.test(relativePath);
}

const buffer = Buffer.allocUnsafe(512 * 1024);

/** Reads the start of a file and scans it; binary files (a NUL byte early on) give nothing. */
export function scanFile(path: string, options: ContentScanOptions = {}): SecretHit[] {
  const max = Math.min(options.maxBytes ?? buffer.length, buffer.length);
  let fd: number;
  try { fd = openSync(path, 'r'); } catch { return []; }
  let size = 0;
  try {
    // A short read of a regular file means its end: no second read (one syscall less per file).
    for (let n; size < max;) {
      n = readSync(fd, buffer, size, max - size, null);
      size += n;
      if (n === 0 || size < max) break;
    }
  } catch {
    return [];
  } finally {
    closeSync(fd);
  }
  if (!size) return [];
  if (buffer.subarray(0, Math.min(size, 4096)).includes(0)) return [];
  // latin1 is a cheap decode for the prefilter; decode as UTF-8 only when something may match.
  if (!PREFILTER.test(buffer.toString('latin1', 0, size))) return [];
  return scanText(buffer.toString('utf8', 0, size));
}

