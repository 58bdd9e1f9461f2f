import { RE2JS, RE2JSException } from 're2js';

/**
 * Line search for the bridge's search_logs, whose pattern comes from the agent (attacker input).
 * Patterns run on RE2 (re2js): matching time grows linearly with the text whatever the pattern, so
 * "(a+)+$" on a long line cannot stall the bridge the way a backtracking engine would. RE2 has no
 * backreferences or lookaround; such a pattern is refused with the reason. A time budget on the
 * whole search bounds huge logs too: the search stops there and says how far it got.
 */

/** A pattern the search cannot run, with the reason and what to do instead. */
export class LogPatternError extends Error {
  constructor(readonly reason: string, readonly fix: string) {
    super(`${reason} ${fix}`);
  }
}

export interface LinePattern {
  test(line: string): boolean;
}

/** Lines longer than this are searched in their first part only. */
export const SEARCHED_LINE_LENGTH = 4096;
/** The whole search stops after this long (linear matching keeps a line far below it). */
export const SEARCH_BUDGET_MS = 5000;

export function compileLinePattern(pattern: string, ignoreCase: boolean): LinePattern {
  try {
    const re = RE2JS.compile(pattern, ignoreCase ? RE2JS.CASE_INSENSITIVE : 0);
    return { test: (line) => re.test(line) };
  } catch (err) {
    if (!(err instanceof RE2JSException)) throw err;
    throw new LogPatternError(`the pattern is not a regular expression the log search runs (RE2 syntax, linear time): ${err.message}.`,
      'write it in RE2 syntax, without backreferences (\\1) or lookaround ((?=...), (?<=...)).');
  }
}

export interface LineSearch {
  /** Indexes of the lines to show: each match with its context, ascending. */
  readonly shown: number[];
  /** Set when the budget ran out: how many lines were searched (from the first). */
  readonly searchedLines?: number;
}

export function searchLines(lines: readonly string[], pattern: LinePattern, context: number, budgetMs = SEARCH_BUDGET_MS, now: () => number = Date.now): LineSearch {
  const deadline = now() + budgetMs;
  const keep = new Set<number>();
  for (let i = 0; i < lines.length; i++) {
    if (now() > deadline) return { shown: sorted(keep), searchedLines: i };
    if (!pattern.test(lines[i].slice(0, SEARCHED_LINE_LENGTH))) continue;
    for (let j = Math.max(0, i - context); j <= Math.min(lines.length - 1, i + context); j++) keep.add(j);
  }
  return { shown: sorted(keep) };
}

const sorted = (set: Set<number>) => [...set].sort((a, b) => a - b);
