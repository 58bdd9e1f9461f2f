import { closeSync, existsSync, openSync, readSync, renameSync, statSync, writeSync } from 'node:fs';

/** One line of a sandbox's egress log (JSON lines). */
export interface EgressLogEntry {
  readonly time: string;
  readonly sandbox: string;
  /** CONNECT for tunnels (HTTPS), else the HTTP method of a forwarded request. */
  readonly method: string;
  /** The host as normalised for the decision (punycode, dotted IPv4...), or the raw text when it was not a host. */
  readonly host: string;
  readonly port: number;
  readonly decision: 'allow' | 'deny' | 'error';
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
    this.size += writeSync(this.fd!, line);
  }

  private open(): void {
    this.fd = openSync(this.file, 'a', 0o644);
    this.size = statSync(this.file).size;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Parses log text; broken lines (a crash mid-write) are skipped. */
export function parseEgressLog(text: string): EgressLogEntry[] {
  const entries: EgressLogEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line);
      if (entry && typeof entry === 'object' && typeof entry.host === 'string' && typeof entry.decision === 'string') entries.push(entry);
    } catch {
      // a partial line: skip
    }
  }
  return entries;
}

/** Reads bytes [from, end) of a file as text; returns the text and the new offset (only whole lines). */
export function readNewLines(file: string, from: number): { text: string; next: number } {
  if (!existsSync(file)) return { text: '', next: 0 };
  const size = statSync(file).size;
  if (size < from) from = 0; // rotated
  if (size === from) return { text: '', next: from };
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(size - from);
    const read = readSync(fd, buffer, 0, buffer.length, from);
    const text = buffer.subarray(0, read).toString('utf8');
    const lastNewline = text.lastIndexOf('\n');
    if (lastNewline < 0) return { text: '', next: from };
    return { text: text.slice(0, lastNewline + 1), next: from + Buffer.byteLength(text.slice(0, lastNewline + 1)) };
  } finally {
    closeSync(fd);
  }
}
