// search_logs' patterns come from the agent: catastrophic-backtracking patterns must not stall the
// bridge, ordinary ones must keep working.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileLinePattern, LogPatternError, searchLines } from '../../../src/core/logSearch.js';

const evilLine = `${'a'.repeat(4000)}b`;

describe('log search patterns', () => {
  it('runs patterns that backtrack exponentially in JavaScript in linear time', () => {
    const lines = Array.from({ length: 2000 }, () => evilLine);
    for (const source of ['(a+)+$', '(a|aa)+$', '(a|a)*c', '(.*a){25}$', '(\\w+\\s?)+$', '^(a+)+b?c$', '((a*)*)*d']) {
      const started = performance.now();
      const result = searchLines(lines, compileLinePattern(source, true), 0);
      const ms = performance.now() - started;
      assert.equal(result.searchedLines, undefined, `${source}: searched every line`);
      assert.ok(ms < 3000, `${source} took ${ms.toFixed(0)} ms on ${lines.length} lines of 4001 characters`);
    }
    // and it still finds what is there
    assert.deepEqual(searchLines([evilLine, 'x'], compileLinePattern('(a+)+b$', false), 0).shown, [0]);
  });

  it('matches ordinary patterns, case-insensitively by default, with context', () => {
    const lines = ['boot', 'GET /health 200', 'ERROR: db down', 'retry', 'ok', 'Error again'];
    assert.deepEqual(searchLines(lines, compileLinePattern('error', true), 0).shown, [2, 5]);
    assert.deepEqual(searchLines(lines, compileLinePattern('error', false), 0).shown, []);
    assert.deepEqual(searchLines(lines, compileLinePattern('^ERROR: \\w+ (down|up)$', false), 1).shown, [1, 2, 3]);
    assert.deepEqual(searchLines(lines, compileLinePattern('\\d{3}', true), 0).shown, [1]);
  });

  it('refuses patterns outside RE2 (backreferences, lookaround) with the reason and the fix', () => {
    for (const source of ['(a)\\1', '(?=a)b', '(?<!x)y', 'a(']) {
      assert.throws(() => compileLinePattern(source, true), (err: unknown) => err instanceof LogPatternError && /RE2 syntax/.test(err.message), source);
    }
  });

  it('stops at its time budget and says how far it got', () => {
    let clock = 0;
    const lines = ['match', 'x', 'match', 'x'];
    const result = searchLines(lines, { test: (l) => { clock += 10; return l === 'match'; } }, 0, 15, () => clock);
    assert.deepEqual(result, { shown: [0], searchedLines: 2 });
  });
});
