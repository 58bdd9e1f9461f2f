/**
 * Known secret values: what a hidden file's content tells (every value in it is a secret, whatever
 * its syntax), and the encoded forms a value can take in output (base64 at any alignment inside a
 * larger payload, URL encoding, JSON escaping).
 */

/** Values shorter than this are too common to mask on their own ("true", "1234"). */
export const MIN_KNOWN_SECRET_LENGTH = 6;
/** A hidden file yields at most this many values (a 256 KiB file of short lines stays bounded). */
const MAX_VALUES_PER_FILE = 4000;
/** Longer lines are data blobs; their 4 KiB pieces are learned instead of the whole. */
const MAX_VALUE_LENGTH = 4096;

const PLACEHOLDER = /^(?:true|false|null|none|yes|no|[*x•.]+|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|\{\{.*\}\}|<[^>]*>)$/i;

/** The value of an unquoted assignment ends at an inline comment (" # ..."). */
function unquote(raw: string): string {
  const value = raw.trim();
  const quote = value[0];
  if ((quote === '"' || quote === "'") && value.length > 1) {
    const close = value.indexOf(quote, 1);
    if (close > 0) return value.slice(1, close);
  }
  return value.replace(/\s+[#;].*$/, '').replace(/,$/, '').trim();
}

/**
 * A double-quoted value's text up to its closing quote (escaped quotes skipped), and the value a
 * program reads from it (compose, python-dotenv and YAML unescape `\"`, `\\`, `\n`, `\t`).
 */
function doubleQuoted(raw: string): [string, string] | undefined {
  const m = /^"((?:[^"\\]|\\.)*)"/.exec(raw.trim());
  if (!m || !m[1].includes('\\')) return undefined;
  return [m[1], m[1].replace(/\\(.)/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r' } as Record<string, string>)[c] ?? c)];
}

/** A JSON string's value as a program reads it (`\"`, `\/`, `\uXXXX` decoded). */
function jsonDecoded(raw: string): string | undefined {
  if (!raw.includes('\\')) return undefined;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return undefined;
  }
}

function keep(values: Set<string>, value: string): void {
  const v = value.trim();
  if (v.length < MIN_KNOWN_SECRET_LENGTH || PLACEHOLDER.test(v)) return;
  if (v.length <= MAX_VALUE_LENGTH) values.add(v);
  else for (let i = 0; i < v.length; i += MAX_VALUE_LENGTH) values.add(v.slice(i, i + MAX_VALUE_LENGTH));
}

/**
 * Every secret a hidden file's content holds. The file is hidden, so all of it counts: each line
 * as a whole (a token file, a key's body), and the value part of every assignment in the common
 * syntaxes (.env with quotes and inline comments, YAML, JSON, INI, netrc, pgpass).
 */
export function hiddenFileSecrets(text: string): string[] {
  if (text.slice(0, 8192).includes('\0')) return [];
  const values = new Set<string>();
  for (const raw of text.split(/\r?\n/)) {
    if (values.size >= MAX_VALUES_PER_FILE) break;
    const line = raw.trim();
    if (!line || /^(?:#|\/\/|;)/.test(line)) continue;
    const assignment = /^(?:export\s+)?[A-Za-z_][A-Za-z0-9_.-]*\s*=\s*(.*)$/.exec(line)
      ?? /^-?\s*["']?[A-Za-z0-9_.-]+["']?\s*:(?!\/\/)\s*(.*)$/.exec(line);
    if (assignment) {
      const value = unquote(assignment[1]);
      if (!/^[{[|>]$/.test(value)) {
        keep(values, value);
        // A JSON string with escaped newlines (a service account's private_key) prints as lines.
        for (const piece of value.split('\\n')) keep(values, piece);
      }
      // Learned as written and as the program reads it: `"S3cr\"et"` is used as `S3cr"et`.
      for (const v of doubleQuoted(assignment[1]) ?? []) keep(values, v);
    }
    // JSON pairs anywhere on the line ({"client_secret": "x", "token": "y"}), also decoded.
    for (const pair of line.matchAll(/"[^"\\]*"\s*:\s*"((?:[^"\\]|\\.)*)"/g)) {
      keep(values, pair[1]);
      const decoded = jsonDecoded(pair[1]);
      if (decoded !== undefined) keep(values, decoded);
    }
    const netrc = /\b(?:password|passwd|account)\s+(\S+)/.exec(line);
    if (netrc) keep(values, netrc[1]);
    const fields = line.split(':');
    if (fields.length === 5) keep(values, fields[4]); // pgpass: host:port:db:user:password
    keep(values, line);
  }
  return [...values];
}

/** Values of `KEY=VALUE` lines (a .env file), without quotes or inline comments. */
export function envFileValues(text: string): string[] {
  const values: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_.-]*\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    const value = unquote(m[1]);
    if (value) values.push(value);
  }
  return values;
}

/**
 * The base64 characters that depend only on the value's bytes when it sits at each of the three
 * alignments inside a larger base64 payload (a Kubernetes secret of a whole .env, a docker auth of
 * "user:password"). Shorter than 8 characters, a form is too common to mask.
 */
function base64Forms(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const forms = [bytes.toString('base64'), bytes.toString('base64').replace(/=+$/, '')];
  for (let offset = 0; offset < 3; offset++) {
    const b64 = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    const first = Math.ceil((8 * offset) / 6);
    const last = Math.floor((8 * (offset + bytes.length) - 6) / 6);
    if (last - first + 1 >= 8) forms.push(b64.slice(first, last + 1));
  }
  const url = forms.map((f) => f.replace(/\+/g, '-').replace(/\//g, '_'));
  return [...forms, ...url].filter((f) => f.length >= 8);
}

const hex4 = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
const percent = (c: string) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;

/**
 * Every form of a known value that output may carry. URL encoding as JavaScript's
 * encodeURIComponent does it, with lower-case hex, with `+` for a space, with `!'()*~` encoded too
 * (Python's quote, form encoding), and with `/` left as is (Python's quote keeps it); JSON as
 * JSON.stringify does it, with `<>&` as `\u003c` (Go's encoding/json), with `/` as `\/` (PHP's
 * json_encode), and with non-ASCII as `\uXXXX` (Python's json.dumps).
 */
export function knownSecretForms(value: string): string[] {
  const forms = new Set([value]);
  const uri = encodeURIComponent(value);
  const strict = uri.replace(/[!'()*~]/g, percent);
  for (const encoded of [uri, strict]) {
    forms.add(encoded);
    forms.add(encoded.replace(/%20/g, '+'));
    forms.add(encoded.replace(/%2F/g, '/'));
  }
  forms.add(uri.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()));
  const json = JSON.stringify(value).slice(1, -1);
  forms.add(json);
  forms.add(json.replace(/[<>&]/g, hex4));
  forms.add(json.replace(/\//g, '\\/'));
  forms.add(json.replace(/[^\x00-\x7f]/g, hex4));
  for (const f of base64Forms(value)) forms.add(f);
  return [...forms].filter((f) => f.length >= MIN_KNOWN_SECRET_LENGTH);
}
