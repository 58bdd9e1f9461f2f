import { EventEmitter } from 'node:events';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** One bridge call, as written to the audit log (JSON lines) and shown in "Bridge activity". */
export interface AuditEntry {
  /** ISO 8601 */
  readonly time: string;
  /** Sandbox name, or "stdio"/"listen" for standalone bridges. */
  readonly sandbox: string;
  readonly tool: string;
  /** The arguments as the agent sent them, masked. */
  readonly args: Record<string, unknown>;
  readonly decision: 'allowed' | 'denied' | 'error';
  /** Which rule decided ("whitelist: npm test", "blocked path: **\/.env", "permission files"...). */
  readonly rule: string;
  readonly durationMs: number;
  /** How many secrets were masked in the output, and by which rules. */
  readonly masked: number;
  readonly maskedRules?: Record<string, number>;
  readonly outputBytes?: number;
  /** For denials and errors: the message the agent got. */
  readonly message?: string;
}

/** Appends to a JSON-lines file and tells live listeners (the VS Code view, tests). */
export class AuditLog {
  private readonly events = new EventEmitter();

  constructor(readonly file?: string) {
    if (file) mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  }

  record(entry: AuditEntry): void {
    if (this.file) appendFileSync(this.file, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
    this.events.emit('entry', entry);
  }

  /** Calls `listener` for every new entry; returns a function that stops it. */
  onEntry(listener: (entry: AuditEntry) => void): () => void {
    this.events.on('entry', listener);
    return () => this.events.off('entry', listener);
  }
}

/** Reads an audit file; lines that are not JSON (a crash mid-write) are skipped. */
export function readAudit(file: string): AuditEntry[] {
  if (!existsSync(file)) return [];
  const entries: AuditEntry[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      entries.push(JSON.parse(line) as AuditEntry);
    } catch {
      // partial line
    }
  }
  return entries;
}

export function formatAuditEntry(e: AuditEntry): string {
  const args = Object.entries(e.args).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
  const masked = e.masked ? ` masked=${e.masked}` : '';
  return `${e.time}  ${e.decision.padEnd(7)}  ${e.tool}  ${args}  [${e.rule}] ${e.durationMs}ms${masked}${e.message && e.decision !== 'allowed' ? `\n    ${e.message.split('\n')[0]}` : ''}`;
}
