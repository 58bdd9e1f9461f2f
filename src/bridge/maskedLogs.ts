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
export function maskLogs(buffer: Buffer, masker: Masker, stats: MaskStats, timestamps: boolean): string {
  const streams = [0, 1].map(() => ({ masker: masker.stream(stats), decoder: new StringDecoder('utf8'), midLine: false }));
  let out = '';
  for (const { stderr, payload } of demuxFrames(buffer)) {
    const stream = streams[stderr ? 1 : 0];
    let text = stream.decoder.write(payload);
    if (timestamps && stream.midLine) text = text.replace(FRAME_TIME, '');
    if (payload.length) stream.midLine = payload[payload.length - 1] !== 0x0a;
    out += stream.masker.push(text);
  }
  for (const stream of streams) out += stream.masker.push(stream.decoder.end()) + stream.masker.end();
  return out;
}
