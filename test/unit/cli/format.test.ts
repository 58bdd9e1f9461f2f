import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { log } from '../../../src/cli/format.js';

describe('the CLI\'s lines on stderr', () => {
  it('show the control characters of what they quote, and end with one newline', () => {
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => { written.push(chunk); return true; }) as typeof process.stderr.write;
    try {
      log('note: Written while unprotected: .git/hooks/x\x1b]52;c;aWQ=\x07');
    } finally {
      process.stderr.write = write;
    }
    assert.deepEqual(written, ['note: Written while unprotected: .git/hooks/x^[]52;c;aWQ=^G\n']);
  });
});
