import type { IncomingMessage } from 'node:http';
import { PassThrough, type Readable, type Transform } from 'node:stream';
import { constants, createBrotliDecompress, createGunzip, createInflate, createInflateRaw } from 'node:zlib';

/**
 * The plain bytes of an upstream answer, whatever encodings it came in, for the key injector to
 * mask: an echoed key inside a gzip, deflate or br body must not pass as compressed bytes. The
 * injector asks for identity, but the upstream decides; an encoding this cannot undo (zstd,
 * compress, anything unknown) is reported, and the answer refused.
 */

const DECODERS: Record<string, () => Transform> = {
  gzip: () => createGunzip({ finishFlush: constants.Z_SYNC_FLUSH }),
  'x-gzip': () => createGunzip({ finishFlush: constants.Z_SYNC_FLUSH }),
  deflate: () => new DeflateEither(),
  br: () => createBrotliDecompress({ finishFlush: constants.BROTLI_OPERATION_FLUSH }),
};

/** The codings an answer's bytes went through, first applied first ("chunked" is undone by Node's parser). */
export function codingsOf(up: IncomingMessage): string[] {
  const list = (value: string | string[] | undefined) => [value ?? ''].flat().join(',').split(',').map((c) => c.trim().toLowerCase()).filter((c) => c && c !== 'identity');
  return [...list(up.headers['content-encoding']), ...list(up.headers['transfer-encoding']).filter((c) => c !== 'chunked')];
}

/** The answer's body decoded, or the coding that cannot be undone. */
export function plainBody(up: IncomingMessage): { readonly body: Readable } | { readonly unsupported: string } {
  const codings = codingsOf(up);
  const unsupported = codings.find((c) => !DECODERS[c]);
  if (unsupported) return { unsupported };
  let body: Readable = up;
  // Undone in the reverse order of their application.
  for (const coding of [...codings].reverse()) {
    const decoder = DECODERS[coding]();
    body.on('error', (err) => decoder.destroy(err));
    body = body.pipe(decoder);
  }
  return { body };
}

/**
 * HTTP's "deflate" is zlib-wrapped, but servers also send raw deflate: the first byte tells which
 * (a zlib header's low nibble is 8, its method), as browsers and Node's fetch decide.
 */
class DeflateEither extends PassThrough {
  private inner?: Transform;
  constructor() {
    super();
    const input = new PassThrough();
    this._transform = (chunk: Buffer, _enc, done) => {
      if (!this.inner) {
        this.inner = (chunk[0] & 0x0f) === 0x08 ? createInflate({ finishFlush: constants.Z_SYNC_FLUSH }) : createInflateRaw({ finishFlush: constants.Z_SYNC_FLUSH });
        this.inner.on('data', (c: Buffer) => this.push(c));
        this.inner.on('error', (err) => this.destroy(err));
        input.pipe(this.inner);
      }
      input.write(chunk, done);
    };
    this._flush = (done) => {
      if (!this.inner) { done(); return; }
      this.inner.once('end', () => done());
      input.end();
    };
  }
}
