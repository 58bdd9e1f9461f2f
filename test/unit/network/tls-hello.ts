// Real ClientHellos (made by Node's TLS client) and ways an attacker re-frames them.
import { createServer, type AddressInfo } from 'node:net';
import { connect } from 'node:tls';

/** The first bytes a TLS client sends for `servername` (undefined or '': no SNI), as one record. */
export async function clientHello(servername?: string): Promise<Buffer> {
  let resolveHello: (b: Buffer) => void;
  const hello = new Promise<Buffer>((r) => { resolveHello = r; });
  let got = Buffer.alloc(0);
  const server = createServer((s) => s.on('data', (c) => {
    got = Buffer.concat([got, c]);
    if (got.length >= 5 && got.length >= 5 + got.readUInt16BE(3)) { resolveHello(got); s.destroy(); }
  }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const tls = connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', servername, rejectUnauthorized: false });
  tls.on('error', () => {});
  const bytes = await hello;
  tls.destroy();
  server.close();
  return bytes;
}

/** One TLS record of `type` around `payload`. */
export function record(payload: Buffer, type = 0x16): Buffer {
  const head = Buffer.from([type, 0x03, 0x01, 0, 0]);
  head.writeUInt16BE(payload.length, 3);
  return Buffer.concat([head, payload]);
}

/** The handshake message (ClientHello) inside a one-record hello. */
export const handshakeOf = (hello: Buffer) => hello.subarray(5, 5 + hello.readUInt16BE(3));

/** The same ClientHello in several records, cut at `cuts` (offsets into the handshake message). */
export function reframed(hello: Buffer, cuts: readonly number[]): Buffer {
  const message = handshakeOf(hello);
  const points = [0, ...cuts, message.length];
  const records: Buffer[] = [];
  for (let i = 0; i + 1 < points.length; i++) records.push(record(message.subarray(points[i], points[i + 1])));
  return Buffer.concat(records);
}

const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const vec16 = (b: Buffer) => Buffer.concat([u16(b.length), b]);

/** A server_name extension naming `names` (each a host_name entry unless given as [type, name]). */
export function sniExtension(...names: (string | [number, string])[]): Buffer {
  const list = Buffer.concat(names.map((n) => {
    const [type, name] = typeof n === 'string' ? [0, n] : n;
    return Buffer.concat([Buffer.from([type]), vec16(Buffer.from(name, 'latin1'))]);
  }));
  return Buffer.concat([u16(0), vec16(vec16(list))]);
}

/** A minimal ClientHello record with these extensions (already encoded, type and length included). */
export function craftedHello(extensions: readonly Buffer[], extra = Buffer.alloc(0)): Buffer {
  const body = Buffer.concat([
    Buffer.from([0x03, 0x03]), Buffer.alloc(32, 7), Buffer.from([0]), vec16(Buffer.from([0x13, 0x01])), Buffer.from([1, 0]),
    vec16(Buffer.concat(extensions)), extra,
  ]);
  const message = Buffer.concat([Buffer.from([0x01, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff]), body]);
  return record(message);
}
