/**
 * The server name (SNI) of a TLS ClientHello, read from the first bytes a client sends through a
 * CONNECT tunnel. The proxy does not decrypt anything: it only compares the name the client is
 * about to ask the server for with the host it asked the proxy for (a tunnel to an allowed host
 * that shares its address with a denied one, e.g. on a CDN, must not be used to reach the denied one).
 *
 * The client is attacker input. TLS lets a ClientHello span several records, and records arrive in
 * any number of TCP segments, so the handshake message is put together from the records first
 * (as the server will), within a bound. What cannot be read as exactly one well-formed ClientHello
 * is "malformed", and the tunnel is refused: a server might read it differently from us.
 */
export type SniResult =
  /** atLeast: how many bytes `data` must have before another look can tell more. */
  | { readonly kind: 'need-more'; readonly atLeast: number }
  | { readonly kind: 'not-tls' }
  | { readonly kind: 'malformed'; readonly reason: string }
  | { readonly kind: 'tls'; readonly serverName?: string };

/** The largest ClientHello message read: real ones are 0.2-2 KB (8 KB with many session tickets or post-quantum key shares). */
export const MAX_CLIENT_HELLO = 32 * 1024;
/** The most bytes held while waiting for the hello (records' headers included: 1-byte records cost 6 bytes each). */
export const MAX_HELLO_BYTES = 2 * MAX_CLIENT_HELLO;

const HANDSHAKE = 0x16;
const CLIENT_HELLO = 0x01;
const SERVER_NAME = 0x0000;
const HOST_NAME = 0x00;

/** Whether the record ending at `end` still fits the bound, and is in `data`; else what to say. */
function beyond(data: Buffer, end: number): SniResult | undefined {
  if (end > MAX_HELLO_BYTES) return { kind: 'malformed', reason: `no whole ClientHello in the first ${MAX_HELLO_BYTES} bytes` };
  return end > data.length ? { kind: 'need-more', atLeast: end } : undefined;
}

/** The ClientHello message carried by the handshake records at the start of `data`, or what is wrong. */
function reassemble(data: Buffer): Buffer | SniResult {
  const parts: Buffer[] = [];
  let have = 0;
  let wanted: number | undefined;
  let at = 0;
  while (wanted === undefined || have < wanted) {
    const header = beyond(data, at + 5);
    if (header) return header;
    if (data[at] !== HANDSHAKE) return { kind: 'malformed', reason: `a record of type ${data[at]} inside the ClientHello` };
    if (data[at + 1] !== 0x03) return { kind: 'malformed', reason: 'a record that is not TLS 1.x inside the ClientHello' };
    const length = data.readUInt16BE(at + 3);
    if (length === 0) return { kind: 'malformed', reason: 'an empty handshake record' };
    if (length > 16384 + 2048) return { kind: 'malformed', reason: 'a handshake record longer than TLS allows' };
    const payload = beyond(data, at + 5 + length);
    if (payload) return payload;
    parts.push(data.subarray(at + 5, at + 5 + length));
    have += length;
    at += 5 + length;
    if (wanted === undefined && have >= 4) {
      const head = parts.length === 1 ? parts[0] : Buffer.concat(parts);
      if (head[0] !== CLIENT_HELLO) return { kind: 'malformed', reason: `the first handshake message is of type ${head[0]}, not a ClientHello` };
      wanted = 4 + head.readUIntBE(1, 3);
      if (wanted > MAX_CLIENT_HELLO) return { kind: 'malformed', reason: `a ClientHello of ${wanted} bytes (at most ${MAX_CLIENT_HELLO} are read)` };
    }
  }
  // A handshake message that ends inside a record is followed by another message in the same
  // flight; a client sends nothing after its ClientHello until the server answers.
  if (have !== wanted) return { kind: 'malformed', reason: 'more handshake data after the ClientHello in its records' };
  return Buffer.concat(parts).subarray(4);
}

export function readClientHelloSni(data: Buffer): SniResult {
  if (data.length < 1) return { kind: 'need-more', atLeast: 1 };
  if (data[0] !== HANDSHAKE) return { kind: 'not-tls' };
  if (data.length >= 2 && data[1] !== 0x03) return { kind: 'not-tls' };
  const hello = reassemble(data);
  if (!Buffer.isBuffer(hello)) return hello;
  try {
    return { kind: 'tls', ...serverNameOf(hello) };
  } catch (err) {
    return { kind: 'malformed', reason: (err as Error).message };
  }
}

/** A reader that refuses to go past its end (a field claiming more than there is). */
class Reader {
  at = 0;
  constructor(private readonly buf: Buffer, private readonly what: string) {}
  get left(): number { return this.buf.length - this.at; }
  take(n: number, field: string): Buffer {
    if (n > this.left) throw new Error(`${this.what}: ${field} runs past its end`);
    const out = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  u8(field: string): number { return this.take(1, field)[0]; }
  u16(field: string): number { return this.take(2, field).readUInt16BE(0); }
  vector8(field: string): Buffer { return this.take(this.u8(field), field); }
  vector16(field: string): Buffer { return this.take(this.u16(field), field); }
}

/** Parses the whole ClientHello body: every length must add up, and server_name may appear once with one host name. */
function serverNameOf(body: Buffer): { serverName?: string } {
  const r = new Reader(body, 'ClientHello');
  r.take(2 + 32, 'version and random');
  r.vector8('session id');
  r.vector16('cipher suites');
  r.vector8('compression methods');
  if (!r.left) return {};
  const extensions = new Reader(r.vector16('extensions'), 'extensions');
  if (r.left) throw new Error('ClientHello: bytes after its extensions');
  const seen = new Set<number>();
  let serverName: string | undefined;
  while (extensions.left) {
    const type = extensions.u16('extension type');
    const data = extensions.vector16('extension');
    if (seen.has(type)) throw new Error(`extension ${type} appears twice`);
    seen.add(type);
    if (type !== SERVER_NAME) continue;
    const ext = new Reader(data, 'server_name');
    const list = new Reader(ext.vector16('server name list'), 'server name list');
    if (ext.left) throw new Error('server_name: bytes after its list');
    while (list.left) {
      const nameType = list.u8('name type');
      const name = list.vector16('name');
      if (nameType !== HOST_NAME) continue;
      if (serverName !== undefined) throw new Error('server_name names two hosts');
      serverName = name.toString('latin1');
    }
  }
  return serverName === undefined ? {} : { serverName };
}
