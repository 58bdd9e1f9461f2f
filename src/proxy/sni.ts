/**
 * The server name (SNI) of a TLS ClientHello, read from the first bytes a client sends through a
 * CONNECT tunnel. The proxy does not decrypt anything: it only compares the name the client is
 * about to ask the server for with the host it asked the proxy for (a tunnel to an allowed host
 * that shares its address with a denied one, e.g. on a CDN, must not be used to reach the denied one).
 */
export type SniResult =
  | { readonly kind: 'need-more' }
  | { readonly kind: 'not-tls' }
  | { readonly kind: 'tls'; readonly serverName?: string };

/** A TLS record is at most 2^14 bytes of payload (plus a 5-byte header); more is not a ClientHello. */
export const MAX_CLIENT_HELLO = 5 + 16384 + 2048;

export function readClientHelloSni(data: Buffer): SniResult {
  if (data.length < 1) return { kind: 'need-more' };
  if (data[0] !== 0x16) return { kind: 'not-tls' };
  if (data.length < 5) return { kind: 'need-more' };
  if (data[1] !== 0x03) return { kind: 'not-tls' };
  const recordLength = data.readUInt16BE(3);
  if (data.length < 5 + recordLength) return { kind: 'need-more' };
  const record = data.subarray(5, 5 + recordLength);
  let at = 0;
  const need = (n: number) => { if (at + n > record.length) throw new RangeError('short'); };
  try {
    need(4);
    if (record[at] !== 0x01) return { kind: 'tls' }; // not a ClientHello
    at += 4; // type, 24-bit length
    need(2 + 32);
    at += 2 + 32; // client version, random
    need(1);
    at += 1 + record[at]; // session id
    need(2);
    at += 2 + record.readUInt16BE(at); // cipher suites
    need(1);
    at += 1 + record[at]; // compression methods
    if (at === record.length) return { kind: 'tls' }; // no extensions
    need(2);
    const end = at + 2 + record.readUInt16BE(at);
    at += 2;
    while (at + 4 <= Math.min(end, record.length)) {
      const type = record.readUInt16BE(at);
      const length = record.readUInt16BE(at + 2);
      at += 4;
      if (type === 0x0000) {
        need(length);
        let p = at + 2; // server name list length
        while (p + 3 <= at + length) {
          const nameType = record[p];
          const nameLength = record.readUInt16BE(p + 1);
          p += 3;
          if (p + nameLength > at + length) break;
          if (nameType === 0) return { kind: 'tls', serverName: record.subarray(p, p + nameLength).toString('latin1') };
          p += nameLength;
        }
        return { kind: 'tls' };
      }
      at += length;
    }
  } catch {
    // truncated inside the record: a malformed hello, which the server will refuse anyway
  }
  return { kind: 'tls' };
}
