// "Bridge activity": which audit logs an editor window follows, and how each call reads there.
// Pure (no `vscode`): the output channel in src/vscode/bridgeActivity.ts only prints these lines.
import { isInside } from '../core/paths.js';
import { parseLogLine } from '../core/jsonLines.js';
import { shownOnOneLine as oneLine } from '../core/terminalText.js';
import type { AuditEntry } from './audit.js';
import { bridgePaths, standaloneAuditFile } from '../engine/stateFolder.js';

/** One audit log to follow and the name its calls are shown under. */
export interface AuditSource {
  readonly file: string;
  readonly label: string;
}


/**
 * The audit logs of a window: each sandbox whose workspace is in one of its folders (plus any
 * sandbox asked for explicitly, e.g. from "Show All"), and each folder's standalone stdio bridge
 * (the one VS Code's chat starts with `paddock bridge --stdio --workspace FOLDER`).
 */
export function activitySources(
  folders: readonly { readonly name: string; readonly path: string }[],
  sandboxes: readonly { readonly name: string; readonly workspace: string }[],
  root: string,
  extra: readonly string[] = [],
): AuditSource[] {
  const sources = new Map<string, AuditSource>();
  for (const s of sandboxes) {
    if (extra.includes(s.name) || folders.some((f) => isInside(s.workspace, f.path))) {
      const file = bridgePaths(s.name, root).audit;
      sources.set(file, { file, label: s.name });
    }
  }
  for (const f of folders) {
    const file = standaloneAuditFile('stdio', f.path, root);
    sources.set(file, { file, label: `chat:${f.name}` });
  }
  return [...sources.values()];
}

function showValue(v: unknown): string {
  if (typeof v !== 'string') return JSON.stringify(v) ?? String(v);
  // One call is one line: a value with spaces, quotes or newlines is shown as a JSON string
  // (newlines escaped), so an argument cannot forge a line of its own.
  return /[\s"\\]/.test(v) || v === '' ? JSON.stringify(v) : v;
}

/**
 * One call as a line of the "Bridge Activity" output:
 *   2026-11-23T01:40:12.345Z  demo-shell  exec_command  container=api command="cat /app/.env"  DENIED  [blocked path: **\/.env]  12ms  masked 0
 * and, for denials and errors, the message the agent got on the next line.
 */
export function formatActivity(entry: AuditEntry, label: string): string {
  const args = Object.entries(entry.args ?? {}).map(([k, v]) => `${k}=${showValue(v)}`).join(' ');
  const decision = entry.decision === 'allowed' ? 'allowed' : entry.decision.toUpperCase();
  const masked = `masked ${entry.masked ?? 0}${entry.maskedRules && Object.keys(entry.maskedRules).length ? ` (${Object.entries(entry.maskedRules).map(([r, n]) => `${r}×${n}`).join(', ')})` : ''}`;
  // The rule and the message quote the agent's words: on one line, so that they cannot forge another call's.
  const head = [entry.time, label, entry.tool, args || '(no arguments)', decision, `[${oneLine(entry.rule)}]`, `${entry.durationMs}ms`, masked].join('  ');
  const message = entry.decision !== 'allowed' && entry.message ? `\n    ${oneLine(entry.message.split('\n')[0])}` : '';
  return head + message;
}

/** Turns appended chunks of a JSON-lines file into entries; a line cut mid-write waits for its end. */
export class AuditLineSplitter {
  private pending = '';

  push(chunk: string): AuditEntry[] {
    const text = this.pending + chunk;
    const lines = text.split('\n');
    this.pending = lines.pop() ?? '';
    const entries: AuditEntry[] = [];
    for (const line of lines) {
      // a torn line from a crash mid-write is skipped (or the entry glued behind it recovered), as readAudit does
      const value = parseLogLine(line) as AuditEntry | undefined;
      if (value && typeof value === 'object' && typeof value.tool === 'string') entries.push(value);
    }
    return entries;
  }

  reset(): void {
    this.pending = '';
  }
}
