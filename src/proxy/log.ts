import type { RulesChange } from '../core/liveRules.js';
import { closeSync, existsSync, openSync, readSync, renameSync, statSync } from 'node:fs';
import { appendWholeLine, parseLogText } from '../core/jsonLines.js';

/** One line of a sandbox's egress log (JSON lines). */
export interface EgressLogEntry {
  readonly time: string;
  readonly sandbox: string;
  /** CONNECT for tunnels (HTTPS), RULES for a change of the rules, else the HTTP method of a forwarded request. */
  readonly method: string;
  /** The host as normalised for the decision (punycode, dotted IPv4...), or the raw text when it was not a host. */
  readonly host: string;
  readonly port: number;
  /** "rules": new rules are in force (see `change`); an "error" with method RULES: a rules file was refused. */
  readonly decision: 'allow' | 'deny' | 'error' | 'rules';
  /** What decided: "allow api.anthropic.com", "deny evil.test", "policy deny", "private 10.0.0.0/8 address"... */
  readonly rule: string;
  /** The address connected to (allowed requests). */
  readonly address?: string;
  /** Upstream HTTP status (forwarded requests) or the proxy's own answer. */
  readonly status?: number;
  /** Bytes sent to and received from the upstream host. */
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly durationMs?: number;
  /** Why an error happened (DNS failure, connection refused...). */
  readonly error?: string;
  /** RULES entries: what changed, from which user action. */
  readonly change?: RulesChange;
  /** RULES entries: how many open tunnels and requests the new rules cut. */
  readonly cut?: number;
}

/** Past this size the log is moved to <file>.1 (one old generation is kept). */
const MAX_BYTES = 16 * 1024 * 1024;

/** Appends entries synchronously: a line is on disk before the client sees the answer. */
export class EgressLogWriter {
  private fd?: number;
  private size = 0;
  constructor(readonly file: string, private readonly maxBytes = MAX_BYTES) {}

  write(entry: EgressLogEntry): void {
    const line = `${JSON.stringify(entry)}\n`;
    if (this.fd === undefined) this.open();
    if (this.size + line.length > this.maxBytes && this.size > 0) {
      closeSync(this.fd!);
      renameSync(this.file, `${this.file}.1`);
      this.open();
    }
    // Whole or not at all, on a new line after a torn one (a crash or a full disk mid-write).
    this.size += appendWholeLine(this.fd!, line);
  }

  private open(): void {
    this.fd = openSync(this.file, 'a+', 0o644);
    this.size = statSync(this.file).size;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Parses log text; broken lines (a crash mid-write) are skipped and never hide the next entry. */
export function parseEgressLog(text: string): EgressLogEntry[] {
  return parseLogText<EgressLogEntry>(text, (entry) => typeof entry.host === 'string' && typeof entry.decision === 'string');
}

/** Where a reader of a growing log is: a byte offset in one file (its inode tells a rotation). */
export interface LogCursor {
  readonly offset: number;
  readonly ino?: number;
}

/** Reads what was appended since `cursor` (only whole lines); a rotated or truncated file is read from its start. */
export function readNewLines(file: string, cursor: LogCursor = { offset: 0 }): { text: string; next: LogCursor } {
  if (!existsSync(file)) return { text: '', next: { offset: 0 } };
  const stat = statSync(file);
  let from = cursor.offset;
  if (stat.size < from || (cursor.ino !== undefined && stat.ino !== cursor.ino)) from = 0;
  if (stat.size === from) return { text: '', next: { offset: from, ino: stat.ino } };
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(stat.size - from);
    const read = readSync(fd, buffer, 0, buffer.length, from);
    const bytes = buffer.subarray(0, read);
    const lastNewline = bytes.lastIndexOf(0x0a);
    if (lastNewline < 0) return { text: '', next: { offset: from, ino: stat.ino } };
    return { text: bytes.subarray(0, lastNewline + 1).toString('utf8'), next: { offset: from + lastNewline + 1, ino: stat.ino } };
  } finally {
    closeSync(fd);
  }
}
