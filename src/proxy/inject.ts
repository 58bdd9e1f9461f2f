import { Agent as HttpAgent, createServer, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import { CREDENTIAL_HEADERS, KEY_PROVIDER_IDS, KEY_PROVIDERS, upstreamUrl, type InjectedKey, type KeyProviderId } from '../core/credentials.js';
import { plainBody } from './encodings.js';
import { answerMalformedRequests, bodyFraming, connectionOptions, limitConnectTime, upstreamError } from './forwarding.js';
import { pipeBoth } from './relay.js';
import type { EgressLogEntry } from './log.js';

/**
 * The key-injecting side of a sandbox's egress proxy: a reverse proxy at /<provider>/... that sends
 * the request to that provider's configured upstream with the real key (see src/core/credentials.ts).
 * Whatever credential the sandbox sends is dropped; the key is masked if an upstream ever echoes it.
 */
export interface KeyInjectorOptions {
  readonly sandbox: string;
  /** The keys by provider, read again for each request (the host rewrites them when the sandbox starts). */
  readonly keys: () => Partial<Record<KeyProviderId, InjectedKey>>;
  readonly log: (entry: EgressLogEntry) => void;
  readonly connectTimeoutMs?: number;
}

/** Connection-level headers, and the host (set by the injector): never passed on. */
const HOP_BY_HOP = ['connection', 'proxy-connection', 'keep-alive', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host'];
/** Not sent upstream: also the sandbox's credentials, and its encodings (answers must be plain to be masked). */
const DROPPED_FROM_REQUESTS = new Set<string>([...HOP_BY_HOP, ...CREDENTIAL_HEADERS, 'accept-encoding']);
/**
 * Not sent back: also the length (masking may change it; the request's body passes unchanged, so it
 * keeps its own) and the encoding (answers go back decoded, see ./encodings.ts).
 */
const DROPPED_FROM_ANSWERS = new Set<string>([...HOP_BY_HOP, 'content-length', 'content-encoding']);

export const KEY_MASK = '[PADDOCK-MASKED-KEY]';

const NONE: ReadonlySet<string> = new Set();

/** Replaces exact byte sequences in a stream; holds back only a tail that could be the start of one. */
export class ExactRedactor {
  private pending = Buffer.alloc(0);
  count = 0;
  private readonly secrets: Buffer[];
  private readonly mask = Buffer.from(KEY_MASK);

  constructor(secrets: readonly string[]) {
    this.secrets = [...new Set(secrets.filter((s) => s.length >= 8))].map((s) => Buffer.from(s)).sort((a, b) => b.length - a.length);
  }

  push(chunk: Buffer): Buffer {
    if (!this.secrets.length) return chunk;
    const buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const parts: Buffer[] = [];
    let pos = 0;
    for (;;) {
      let at = -1;
      let hit: Buffer | undefined;
      for (const s of this.secrets) {
        const i = buf.indexOf(s, pos);
        if (i >= 0 && (at < 0 || i < at)) { at = i; hit = s; }
      }
      if (!hit) break;
      parts.push(buf.subarray(pos, at), this.mask);
      this.count++;
      pos = at + hit.length;
    }
    const hold = this.partialTail(buf, pos);
    parts.push(buf.subarray(pos, buf.length - hold));
    this.pending = Buffer.from(buf.subarray(buf.length - hold));
    return Buffer.concat(parts);
  }

  end(): Buffer {
    const rest = this.pending;
    this.pending = Buffer.alloc(0);
    return rest;
  }

  /** Length of the longest tail of buf[from..] that is a proper prefix of a secret. */
  private partialTail(buf: Buffer, from: number): number {
    let best = 0;
    for (const s of this.secrets) {
      for (let n = Math.min(s.length - 1, buf.length - from); n > best; n--) {
        if (buf[buf.length - n] === s[0] && buf.subarray(buf.length - n).equals(s.subarray(0, n))) { best = n; break; }
      }
    }
    return best;
  }
}

function bareKey(key: InjectedKey): string {
  return key.value.replace(/^Bearer\s+/i, '');
}

/** The key as an upstream might echo it: as it is, URL-encoded, base64. */
export function keyForms(key: InjectedKey): string[] {
  const bare = bareKey(key);
  return [...new Set([bare, encodeURIComponent(bare), Buffer.from(bare).toString('base64'), Buffer.from(bare).toString('base64url')])];
}

/** Replaces every form of the key in a header line (longest first, as the body's redactor does). */
export function maskText(text: string, forms: readonly string[]): string {
  let out = text;
  for (const form of [...forms].filter((f) => f.length >= 8).sort((a, b) => b.length - a.length)) out = out.split(form).join(KEY_MASK);
  return out;
}

/** The upstream's status line and headers, masked, without the dropped ones: [name, value] pairs. */
function maskedHead(up: IncomingMessage, forms: readonly string[], dropped: ReadonlySet<string>): { statusMessage: string; headers: string[] } {
  const headers: string[] = [];
  for (let i = 0; i < up.rawHeaders.length; i += 2) {
    const name = up.rawHeaders[i];
    // A name that holds the key is dropped: the mask is not a valid header name.
    if (!dropped.has(name.toLowerCase()) && maskText(name, forms) === name) headers.push(name, maskText(up.rawHeaders[i + 1], forms));
  }
  return { statusMessage: maskText(up.statusMessage ?? '', forms), headers };
}

const encodingRefusal = (coding: string, host: string) => `Paddock key injection: ${host} answered in the "${coding}" encoding, which Paddock cannot decode to mask the key in it, so the answer is not passed on. Ask the provider (or the gateway in ANTHROPIC_BASE_URL / OPENAI_BASE_URL) for gzip, deflate, br or no encoding.\n`;

/**
 * A keep-alive pool of upstream connections for one sandbox's injector. The shared egress service
 * runs every sandbox's injector in one process: with Node's process-wide agent they would share
 * connections to the provider, and an answer still owed on one could reach another sandbox. A
 * pooled connection that receives bytes while it is idle (nothing asked for them) is destroyed
 * rather than handed to the next request.
 */
function ownPool<T extends HttpAgent>(agent: T): T {
  const strays = new WeakMap<Duplex, () => void>();
  const keep = agent.keepSocketAlive.bind(agent);
  const reuse = agent.reuseSocket.bind(agent);
  agent.keepSocketAlive = (socket: Duplex) => {
    const kept = keep(socket) as unknown as boolean;
    if (kept) {
      const stray = () => socket.destroy();
      strays.set(socket, stray);
      socket.once('data', stray);
    }
    return kept as any;
  };
  agent.reuseSocket = (socket, request) => {
    const stray = strays.get(socket);
    if (stray) socket.off('data', stray);
    strays.delete(socket);
    reuse(socket, request);
  };
  return agent;
}

interface Refusal { readonly status: number; readonly host: string; readonly rule: string; readonly message: string }
interface Target { readonly key: InjectedKey; readonly url: URL; readonly port: number; readonly rule: string; readonly headers: OutgoingHttpHeaders; readonly send: typeof httpRequest; readonly agent: HttpAgent }

export function createKeyInjector(options: KeyInjectorOptions): Server {
  const connectTimeout = options.connectTimeoutMs ?? 15_000;
  // This sandbox's own connections upstream, never another's (see ownPool).
  const agents = { http: ownPool(new HttpAgent({ keepAlive: true })), https: ownPool(new HttpsAgent({ keepAlive: true })) };
  const log = (fields: Omit<EgressLogEntry, 'time' | 'sandbox'>) => options.log({ time: new Date().toISOString(), sandbox: options.sandbox, ...fields });
  const refusalBody = (r: Refusal) => `Paddock key injection: ${r.message}\n`;
  const logRefusal = (req: IncomingMessage, r: Refusal) => log({ method: req.method ?? 'GET', host: r.host, port: 0, decision: 'deny', rule: r.rule, status: r.status, bytesSent: 0, bytesReceived: 0 });

  /** Where a request goes and with which headers, or why it does not go anywhere. */
  const targetOf = (req: IncomingMessage): Target | Refusal => {
    const raw = req.url ?? '';
    const m = /^\/([a-z]+)(.*)$/s.exec(raw);
    if (!m) return { status: 400, host: raw.slice(0, 100), rule: 'not a provider path', message: `ask for /<provider>/..., one of ${KEY_PROVIDER_IDS.join(', ')} (the sandbox's base-URL variables already point here).` };
    const id = m[1] as KeyProviderId;
    const provider = (KEY_PROVIDERS as Record<string, (typeof KEY_PROVIDERS)[KeyProviderId] | undefined>)[id];
    if (!provider) return { status: 404, host: id, rule: 'unknown provider', message: `"${id}" is not a provider; Paddock injects keys for ${KEY_PROVIDER_IDS.join(', ')}.` };
    let key: InjectedKey | undefined;
    try {
      key = options.keys()[id];
    } catch {
      key = undefined;
    }
    if (!key) return { status: 503, host: id, rule: `no ${id} key`, message: `there is no ${provider.label} key for this sandbox on the host. Set ${provider.keys.map((k) => k.env).join(' or ')} where Paddock runs, then restart the sandbox.` };
    const url = upstreamUrl(key, m[2], provider.keyQueryParam);
    if (!url) return { status: 400, host: id, rule: 'bad path', message: 'the path must stay below the provider\'s base URL (no "..", no "#", no encoded slashes).' };

    // The body keeps its framing upstream whatever the method (see ./forwarding.ts): unframed, the
    // provider would read it as another request, without the key but sent by this proxy.
    const framing = bodyFraming(req);
    if ('refused' in framing) return { status: 400, host: id, rule: 'unframed request body', message: framing.refused };
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(framing.headers)) headers[name.toLowerCase()] = value;
    const named = connectionOptions(req);
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const lower = req.rawHeaders[i].toLowerCase();
      if (DROPPED_FROM_REQUESTS.has(lower) || named.has(lower) || lower === 'content-length') continue;
      const prev = headers[lower];
      headers[lower] = prev === undefined ? req.rawHeaders[i + 1] : ([] as string[]).concat(prev as string | string[], req.rawHeaders[i + 1]);
    }
    headers.host = url.host;
    headers[key.header] = key.value;
    // Plain bodies, so an echoed key can be masked.
    headers['accept-encoding'] = 'identity';
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    return { key, url, port, rule: `key injection: ${id} (${key.source})`, headers, send: url.protocol === 'https:' ? httpsRequest : httpRequest, agent: url.protocol === 'https:' ? agents.https : agents.http };
  };

  const server = createServer((req, res) => {
    const target = targetOf(req);
    if ('status' in target) {
      logRefusal(req, target);
      const body = refusalBody(target);
      res.writeHead(target.status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), 'X-Paddock-Decision': 'deny' }).end(body);
      return;
    }
    const { key, url, port, rule, headers, send, agent } = target;
    const started = Date.now();
    let bytesSent = 0;
    let bytesReceived = 0;
    let status: number | undefined;
    let error: string | undefined;
    let logged = false;
    const forms = keyForms(key);
    const redactor = new ExactRedactor(forms);
    const done = () => {
      if (logged) return;
      logged = true;
      log({ method: req.method ?? 'GET', host: url.hostname, port, decision: 'allow', rule, status, bytesSent, bytesReceived, durationMs: Date.now() - started, ...(error ? { error } : {}) });
    };
    const upstream = send(url, { method: req.method, headers, agent });
    limitConnectTime(upstream, connectTimeout, url.host);
    req.on('data', (c: Buffer) => { bytesSent += c.length; });
    upstream.on('response', (up) => {
      up.on('data', (c: Buffer) => { bytesReceived += c.length; });
      const plain = plainBody(up);
      if ('unsupported' in plain) {
        status = 502;
        error = `unsupported encoding ${plain.unsupported}`;
        up.destroy();
        const body = encodingRefusal(plain.unsupported, url.host);
        res.writeHead(502, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), 'X-Paddock-Decision': 'allow' }).end(body);
        done();
        return;
      }
      status = up.statusCode;
      // Headers and the status text are masked too: an upstream may echo the key in any of them.
      const head = maskedHead(up, forms, DROPPED_FROM_ANSWERS);
      res.writeHead(up.statusCode ?? 502, head.statusMessage, head.headers);
      // Server-sent events (streamed answers) go out as they come.
      res.flushHeaders();
      plain.body.on('data', (c: Buffer) => {
        const safe = redactor.push(c);
        if (safe.length) res.write(safe);
      });
      plain.body.on('end', () => { res.end(redactor.end()); done(); });
      plain.body.on('error', (err) => { error = err.message; done(); res.destroy(); });
    });
    upstream.on('error', (err: any) => {
      error = upstreamError(err, url.host);
      status ??= 502;
      if (!res.headersSent) {
        const body = `Paddock key injection: ${url.host} could not be reached: ${error}.\n`;
        res.writeHead(502, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Paddock-Decision': 'allow' }).end(body);
      } else res.destroy();
      done();
    });
    res.on('close', () => { if (!logged) { error ??= 'client closed'; done(); } upstream.destroy(); });
    req.pipe(upstream);
  });
  // WebSockets (Codex opens its Responses API as one): the upgrade goes to the same upstream with the
  // key, then bytes pass both ways. Frames are not masked; the peer is the provider itself.
  server.on('upgrade', (req: IncomingMessage, client: Socket, head: Buffer) => {
    client.on('error', () => client.destroy());
    const target = targetOf(req);
    if ('status' in target) {
      logRefusal(req, target);
      const body = refusalBody(target);
      client.end(`HTTP/1.1 ${target.status} Refused\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Paddock-Decision: deny\r\nConnection: close\r\n\r\n${body}`);
      return;
    }
    const { key, url, port, rule, headers, send, agent } = target;
    const forms = keyForms(key);
    const started = Date.now();
    const upstream = send(url, { method: req.method, agent, headers: { ...headers, connection: 'Upgrade', upgrade: String(req.headers.upgrade ?? 'websocket') } });
    limitConnectTime(upstream, connectTimeout, url.host);
    const entry = (status: number | undefined, error?: string) => log({ method: req.method ?? 'GET', host: url.hostname, port, decision: 'allow', rule, status, bytesSent: 0, bytesReceived: 0, durationMs: Date.now() - started, ...(error ? { error } : {}) });
    const headLines = (up: IncomingMessage, dropped: ReadonlySet<string>, extra = '') => {
      const head = maskedHead(up, forms, dropped);
      let text = `HTTP/1.1 ${up.statusCode} ${head.statusMessage}\r\n`;
      for (let i = 0; i < head.headers.length; i += 2) text += `${head.headers[i]}: ${head.headers[i + 1]}\r\n`;
      return `${text}${extra}\r\n`;
    };
    upstream.on('upgrade', (up, socket, upHead) => {
      entry(up.statusCode);
      client.write(headLines(up, NONE));
      if (upHead.length) client.write(upHead);
      if (head.length) socket.write(head);
      pipeBoth(client, socket);
    });
    // The upstream said no to the upgrade: its answer goes back decoded and masked, delimited by
    // the connection's end (its own framing is gone once Node has parsed it).
    upstream.on('response', (up) => {
      const plain = plainBody(up);
      if ('unsupported' in plain) {
        entry(502, `unsupported encoding ${plain.unsupported}`);
        up.destroy();
        client.end(`HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n${encodingRefusal(plain.unsupported, url.host)}`);
        return;
      }
      entry(up.statusCode);
      client.write(headLines(up, DROPPED_FROM_ANSWERS, 'Connection: close\r\n'));
      const redactor = new ExactRedactor(forms);
      plain.body.on('data', (c: Buffer) => { const safe = redactor.push(c); if (safe.length) client.write(safe); });
      plain.body.on('end', () => client.end(redactor.end()));
      plain.body.on('error', () => client.destroy());
    });
    upstream.on('error', (err: any) => {
      const error = upstreamError(err, url.host);
      entry(502, error);
      client.end(`HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\nPaddock key injection: ${url.host} could not be reached: ${error}.\n`);
    });
    upstream.end();
  });

  answerMalformedRequests(server);
  server.on('close', () => { agents.http.destroy(); agents.https.destroy(); });
  return server;
}
