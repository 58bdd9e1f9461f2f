import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { appendLineToFile, parseLogText } from '../core/jsonLines.js';
import { shownOnOneLine as oneLine } from '../core/terminalText.js';

/** One bridge call, as written to the audit log (JSON lines) and shown in "Bridge activity". */
export interface AuditEntry {
  /** ISO 8601 */
  readonly time: string;
  /** Sandbox name, or "stdio"/"listen" for standalone bridges. */
  readonly sandbox: string;
  readonly tool: string;
  /** The arguments as the agent sent them, masked. */
  readonly args: Record<string, unknown>;
  /**
   * "started": written before the call runs; its outcome follows with the same `call` id.
   * "busy": refused for load (rule "refused-busy"), nothing ran; one line, no "started" before it.
   * "cancelled": the client cancelled the call or went away while it waited (rule "cancelled-waiting"; nothing ran)
   * or while it ran (rule "cancelled-running"; its message says whether its command was stopped in the target).
   */
  readonly decision: 'allowed' | 'denied' | 'error' | 'started' | 'busy' | 'cancelled';
  /** Which rule decided ("whitelist: npm test", "blocked path: **\/.env", "permission files"...). */
  readonly rule: string;
  readonly durationMs: number;
  /** How many secrets were masked in the output, and by which rules. */
  readonly masked: number;
  readonly maskedRules?: Record<string, number>;
  readonly outputBytes?: number;
  /** For denials and errors: the message the agent got. */
  readonly message?: string;
  /** Ties a call's "started" line to its outcome line. */
  readonly call?: string;
}

/** The audit could not be written: the call is refused before anything runs (fail closed). */
export class AuditUnwritable extends Error {
  constructor(readonly file: string, override readonly cause: NodeJS.ErrnoException) {
    super(`The bridge cannot write its audit log ${file} (${cause.code ?? 'error'}: ${cause.message.replace(/^\w+: /, '')}).`);
  }

  /** What the agent (and through it the user) is told; nothing ran. */
  get refusal(): string {
    const full = this.cause.code === 'ENOSPC' || this.cause.code === 'EDQUOT';
    return `Refused: ${this.message} The bridge runs nothing it cannot audit, so nothing ran. `
      + (full ? 'The disk holding the audit log is full: ask the user to free space there, then retry.' : 'Ask the user to make the audit folder writable, then retry.');
  }
}

/** Appends to a JSON-lines file and tells live listeners (the VS Code view, tests). */
export class AuditLog {
  private readonly events = new EventEmitter();

  constructor(readonly file?: string) {
    if (file) mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  }

  /**
   * Writes a call's "started" line before the call runs; throws AuditUnwritable when it cannot
   * (the caller then runs nothing). Returns the id its outcome is recorded under.
   */
  begin(entry: Omit<AuditEntry, 'decision' | 'rule' | 'durationMs' | 'masked' | 'call'>): string {
    const call = randomUUID();
    this.append({ ...entry, decision: 'started', rule: 'audit written before the call runs', durationMs: 0, masked: 0, call });
    return call;
  }

  /** Writes an outcome (throws AuditUnwritable when it cannot) and tells live listeners. */
  record(entry: AuditEntry): void {
    this.append(entry);
    this.events.emit('entry', entry);
  }

  private append(entry: AuditEntry): void {
    if (!this.file) return;
    try {
      appendLineToFile(this.file, JSON.stringify(entry));
    } catch (err: any) {
      throw new AuditUnwritable(this.file, err);
    }
  }

  /** Calls `listener` for every new entry; returns a function that stops it. */
  onEntry(listener: (entry: AuditEntry) => void): () => void {
    this.events.on('entry', listener);
    return () => this.events.off('entry', listener);
  }
}

/**
 * Reads an audit file, one entry per call: a call's outcome takes the place of its "started"
 * line; a call still running, or one whose outcome could not be written, stays "started".
 * Torn lines (a crash mid-write) are skipped, and never hide the entries after them.
 */
export function readAudit(file: string): AuditEntry[] {
  return mergeAuditEntries(readAuditLines(file));
}

/** Every line as written: a call's "started" line and its outcome apart (for following a log live). */
export function readAuditLines(file: string): AuditEntry[] {
  if (!existsSync(file)) return [];
  return parseLogText<AuditEntry>(readFileSync(file, 'utf8'), (v) => typeof v.tool === 'string');
}

export function mergeAuditEntries(lines: readonly AuditEntry[]): AuditEntry[] {
  const entries: AuditEntry[] = [];
  const startedAt = new Map<string, number>();
  for (const line of lines) {
    const at = line.call ? startedAt.get(line.call) : undefined;
    if (at !== undefined && line.decision !== 'started') {
      entries[at] = line;
      startedAt.delete(line.call!);
      continue;
    }
    if (line.call && line.decision === 'started') startedAt.set(line.call, entries.length);
    entries.push(line);
  }
  return entries;
}

export function formatAuditEntry(e: AuditEntry): string {
  // The agent wrote the arguments (and the rule and message quote them): a newline in one must not
  // start a line that reads as another entry, nor a control character act on the terminal.
  const args = Object.entries(e.args).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
  const masked = e.masked ? ` masked=${e.masked}` : '';
  return `${e.time}  ${e.decision.padEnd(9)}  ${e.tool}  ${oneLine(args)}  [${oneLine(e.rule)}] ${e.durationMs}ms${masked}${e.message && e.decision !== 'allowed' && e.decision !== 'started' ? `\n    ${oneLine(e.message.split('\n')[0])}` : ''}`;
}
