import { StringDecoder } from 'node:string_decoder';
import type { Masker, MaskStats } from '../core/masking.js';
import { demuxFrames } from '../engine/docker.js';

/** The time the engine puts before every log frame when asked for timestamps (RFC 3339, nanoseconds). */
const FRAME_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d) /;

/**
 * A logs buffer as masked text. The engine cuts a long line into several frames (16 KiB each with
 * the json-file driver), interleaves stdout's frames with stderr's, and, with timestamps on, puts a
 * time before every frame, also before a line's continuation. So each stream is masked on its own,
 * with a continuation's time dropped: a secret is masked on the line as the program printed it,
 * not on the pieces the framing made of it.
 */
export function maskLogs(buffer: Buffer, masker: Masker, stats: MaskStats, timestamps: boolean, entries?: number): string {
  const streams = [0, 1].map(() => ({ masker: masker.stream(stats), decoder: new StringDecoder('utf8'), midLine: false, skipping: false }));
  let out = '';
  const frames = [...demuxFrames(buffer)];
  // Asked for one entry more than `entries` (a tail): the engine counts each piece of a long line as
  // an entry, so the window's first piece may be the end of a line whose label or value start is
  // before it. The extra first entry is left out, and with it the rest of its line: its
  // continuation, if any, follows it here. (A raw TTY buffer has no frames to count.)
  const muxed = buffer.length >= 8 && (buffer[0] === 1 || buffer[0] === 2) && buffer[1] === 0 && buffer[2] === 0 && buffer[3] === 0;
  if (entries !== undefined && muxed && frames.length > entries) {
    const first = frames.shift()!;
    streams[first.stderr ? 1 : 0].skipping = first.payload.length > 0 && first.payload[first.payload.length - 1] !== 0x0a;
  }
  for (const frame of frames) {
    const stream = streams[frame.stderr ? 1 : 0];
    let payload = frame.payload;
    if (stream.skipping) {
      const end = payload.indexOf(0x0a);
      if (end < 0) continue;
      payload = payload.subarray(end + 1);
      stream.skipping = false;
    }
    let text = stream.decoder.write(payload);
    if (timestamps && stream.midLine) text = text.replace(FRAME_TIME, '');
    if (payload.length) stream.midLine = payload[payload.length - 1] !== 0x0a;
    out += stream.masker.push(text);
  }
  for (const stream of streams) out += stream.masker.push(stream.decoder.end()) + stream.masker.end();
  return out;
}
