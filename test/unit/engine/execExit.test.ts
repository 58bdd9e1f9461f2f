// The exit code of a command whose output stream ended before the command did: its end is what
// `paddock exec` and `paddock run` report, not the stream's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exitCodeAfterStream } from '../../../src/engine/docker.js';

/** An exec the engine reports as running for `runningFor` inspects, then ended with `code`. */
function execEndingAfter(runningFor: number, code: number) {
  let asked = 0;
  return {
    get asked() { return asked; },
    inspect: async () => (++asked <= runningFor ? { Running: true, ExitCode: null } : { Running: false, ExitCode: code }),
  };
}

describe('the exit code after the exec stream ends', () => {
  it('waits for a command still running when its stream ended, and reports its own code', async () => {
    const exec = execEndingAfter(3, 7);
    assert.deepEqual(await exitCodeAfterStream(exec), { exitCode: 7 });
    assert.equal(exec.asked, 4);
  });

  it('asks once when the command had ended', async () => {
    const exec = execEndingAfter(0, 0);
    assert.deepEqual(await exitCodeAfterStream(exec), { exitCode: 0 });
    assert.equal(exec.asked, 1);
  });

  it('stops waiting when aborted, or at the exec\'s time limit, with no code', async () => {
    const abort = new AbortController();
    abort.abort();
    assert.deepEqual(await exitCodeAfterStream(execEndingAfter(1000, 0), abort.signal), { exitCode: null, cut: 'aborted' });
    assert.deepEqual(await exitCodeAfterStream(execEndingAfter(1000, 0), undefined, Date.now() + 100), { exitCode: null, cut: 'time' });
  });
});
