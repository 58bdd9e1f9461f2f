// The view's ready line (src/bridge/physicalView.ts viewReadySignal): after it, an exit code of 125
// is the command's own, not a failed view's. From the attacker's side: the same
// bytes written by the command never signal, and reach the agent as the command wrote them.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { viewReadySignal } from '../../../src/bridge/physicalView.js';
import { VIEW_READY } from '../../../src/bridge/viewPrologue.js';

/** Writes `chunks` as the engine's stream would, and returns what reached the sink and after which chunk it was ready. */
function feed(chunks: (string | Buffer)[]): { out: string; readyAfter: number | undefined; ready: boolean } {
  const sink = new PassThrough();
  let out = '';
  sink.on('data', (b: Buffer) => { out += b.toString('latin1'); });
  let written = 0;
  let readyAfter: number | undefined;
  const signal = viewReadySignal(sink);
  for (const c of chunks) {
    signal.stderr.write(Buffer.isBuffer(c) ? c : Buffer.from(c, 'latin1'));
    if (signal.ready()) readyAfter ??= written;
    written++;
  }
  signal.end();
  return { out, readyAfter, ready: signal.ready() };
}

describe('the view ready line', () => {
  it('is taken off the front of stderr and signals once, also when the engine splits it', () => {
    assert.deepEqual(feed([VIEW_READY]), { out: '', readyAfter: 0, ready: true });
    assert.deepEqual(feed([`${VIEW_READY}warning: x\n`]), { out: 'warning: x\n', readyAfter: 0, ready: true });
    const bytes = Buffer.from(`${VIEW_READY}err`);
    assert.deepEqual(feed([bytes.subarray(0, 1), bytes.subarray(1, 7), bytes.subarray(7, VIEW_READY.length), bytes.subarray(VIEW_READY.length)]), { out: 'err', readyAfter: 2, ready: true });
  });

  it('a prologue that failed (no ready line) is passed on whole and never signals', () => {
    assert.deepEqual(feed(['paddock-view: setns(3,0): Operation not permitted\n']), { out: 'paddock-view: setns(3,0): Operation not permitted\n', readyAfter: undefined, ready: false });
    assert.deepEqual(feed([]), { out: '', readyAfter: undefined, ready: false });
    // A start that looked like the line but was not: what was held back is passed on.
    assert.deepEqual(feed([VIEW_READY.slice(0, 5)]), { out: VIEW_READY.slice(0, 5), readyAfter: undefined, ready: false });
    assert.deepEqual(feed([VIEW_READY.slice(0, 5), 'x']), { out: `${VIEW_READY.slice(0, 5)}x`, readyAfter: undefined, ready: false });
  });

  it('attacker\'s side: the command writing the same bytes signals nothing more and gets them through verbatim', () => {
    // After the real line (the prologue writes it before the command exists), in the same chunk or later ones.
    assert.deepEqual(feed([`${VIEW_READY}${VIEW_READY}`, VIEW_READY, `x${VIEW_READY}`]), { out: `${VIEW_READY}${VIEW_READY}x${VIEW_READY}`, readyAfter: 0, ready: true });
    // Without the real line first (a failed prologue's stderr cannot hold the command's: it never ran), nothing signals.
    assert.deepEqual(feed([`paddock-view: x\n${VIEW_READY}`]), { out: `paddock-view: x\n${VIEW_READY}`, readyAfter: undefined, ready: false });
  });
});
