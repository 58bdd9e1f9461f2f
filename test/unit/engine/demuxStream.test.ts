import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PassThrough } from 'node:stream';
import { demuxStream } from '../../../src/engine/docker.js';
import { frame } from '../../support/frames.js';

// An exec's live output (Docker's multiplexed frames) as `paddock exec` writes it: frames come
// in pieces of any size, and a stream without frame headers (a TTY's) is passed through whole.

function run(chunks: Buffer[]): { out: string; err: string } {
  const source = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const stdout = new PassThrough().on('data', (c: Buffer) => out.push(c));
  const stderr = new PassThrough().on('data', (c: Buffer) => err.push(c));
  demuxStream(source, stdout, stderr);
  for (const c of chunks) source.write(c);
  return { out: Buffer.concat(out).toString(), err: Buffer.concat(err).toString() };
}

describe('demuxStream (an exec\'s live output)', () => {
  it('sends each frame to its stream, whole frames and several in one chunk', () => {
    assert.deepEqual(run([Buffer.concat([frame(1, 'one\n'), frame(2, 'oops\n'), frame(1, 'two\n')])]), { out: 'one\ntwo\n', err: 'oops\n' });
  });

  it('joins frames cut anywhere, the header included, byte by byte', () => {
    const all = Buffer.concat([frame(1, 'héllo '), frame(2, 'warn'), frame(1, 'world')]);
    assert.deepEqual(run([...all].map((b) => Buffer.from([b]))), { out: 'héllo world', err: 'warn' });
  });

  it('passes a stream without frame headers (a TTY) through to stdout', () => {
    assert.deepEqual(run([Buffer.from('plain terminal output\r\n'), Buffer.from('\x01\x00more')]), { out: 'plain terminal output\r\n\x01\x00more', err: '' });
  });

  it('an empty frame and a frame longer than its chunk', () => {
    const long = 'x'.repeat(70_000);
    const all = Buffer.concat([frame(1, ''), frame(2, long)]);
    assert.deepEqual(run([all.subarray(0, 20), all.subarray(20, 40_000), all.subarray(40_000)]), { out: '', err: long });
  });
});
