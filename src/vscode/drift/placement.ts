// Where each drift finding is shown in the editor. Pure (no `vscode` import): diagnostics.ts
// turns the placements into Diagnostics.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Finding, Fix, Severity } from '../../core/drift/index.js';

/** 0-based lines and characters, as the editor counts. */
export interface Place {
  readonly line: number;
  readonly character: number;
  readonly endLine: number;
  readonly endCharacter: number;
}

export interface PlacedFinding {
  readonly file: string;
  readonly place: Place;
  readonly severity: Severity;
  readonly message: string;
  readonly finding: Finding;
}

/** Findings about the sandbox's view of paths, which must show even with the default policy (no file to anchor them in). */
const PLACED_ON_THEIR_PATH = new Set(['recreate-needed', 'hidden-in-git']);

const START: Place = { line: 0, character: 0, endLine: 0, endCharacter: 0 };

/**
 * Findings at their file and range. A finding about a file that does not exist (the policy file
 * when the defaults apply) is shown on the first path it is about, when that exists, so that
 * "not hidden until recreate" and "hidden, but git has it" are never lost; otherwise it is left
 * to `paddock policy check`.
 */
export function placeFindings(workspace: string, findings: readonly Finding[], exists: (file: string) => boolean = existsSync): PlacedFinding[] {
  const out: PlacedFinding[] = [];
  for (const f of findings) {
    if (f.unplaced) continue; // nowhere to show it: `paddock policy check` says it
    if (exists(f.file)) {
      const r = f.range;
      out.push({ file: f.file, severity: f.severity, message: f.message, finding: f, place: { line: r.line - 1, character: r.col - 1, endLine: r.endLine - 1, endCharacter: r.endCol - 1 } });
      continue;
    }
    const other = f.paths.map((p) => join(workspace, p)).find((p) => exists(p));
    if (other && PLACED_ON_THEIR_PATH.has(f.rule)) out.push({ file: other, severity: f.severity, message: f.message, finding: f, place: START });
  }
  return out;
}

/** Whether a diagnostic the editor hands back (a copy) is the one made for this placement. */
export function samePlace(a: Place, message: string, b: PlacedFinding): boolean {
  return message === b.message && a.line === b.place.line && a.character === b.place.character && a.endLine === b.place.endLine && a.endCharacter === b.place.endCharacter;
}

/**
 * The fix, among those the shown findings offer, that equals `fix`; undefined when none does. The
 * fix command can be run by more than a quick fix (a command link, another extension), and a fix
 * names the file it writes: only what Paddock itself offers is applied.
 */
export function offeredFix(fix: unknown, shown: Iterable<readonly PlacedFinding[]>): Fix | undefined {
  for (const list of shown) {
    for (const p of list) {
      const match = p.finding.fixes.find((f) => isDeepStrictEqual(f, fix));
      if (match) return match;
    }
  }
  return undefined;
}
