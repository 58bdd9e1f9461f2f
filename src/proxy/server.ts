import { lookup as dnsLookup } from 'node:dns/promises';
import { Agent, createServer, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { decide, decideAddress, EgressRuleError, normalizeHost, splitHostPort, targetText, type EgressRules, type EgressTarget } from '../core/egress.js';
import { askable, askedReason, type AskOutcome, type QuestionBook } from '../core/networkQuestions.js';
import { answerMalformedRequests, bodyFraming, connectionOptions, copyResponseHead, limitConnectTime, upstreamError } from './forwarding.js';
import type { EgressLogEntry } from './log.js';
import { ownNetworkRefusal } from './ownNetworks.js';
import { readClientHelloSni } from './sni.js';

/**
 * The egress proxy of one sandbox: the only way out of its internal Docker network. It tunnels
 * CONNECT (HTTPS, without looking inside TLS) and forwards absolute-URI HTTP requests. Each request
 * is decided on the host the client asked for, then again on the address that host resolves to,
 * and the proxy connects to exactly that checked address (no second lookup to rebind).
 */
export interface EgressProxyOptions {
  readonly sandbox: string;
  readonly rules: EgressRules;
  readonly log: (entry: EgressLogEntry) => void;
  readonly lookup?: (name: string) => Promise<readonly { address: string; family: number }[]>;
  readonly connectTimeoutMs?: number;
  /** How long a tunnel that started a TLS handshake may take to send its whole ClientHello. */
  readonly helloTimeoutMs?: number;
  /**
   * Questions about hosts no rule names (src/core/networkQuestions.ts): the book, and what to call
   * when it changed (the proxy's main writes it where the host reads it). Without it, such hosts are refused as before.
   */
  readonly questions?: { readonly book: QuestionBook; readonly changed: (newQuestion: boolean) => void };
}

/** Requests held at once waiting for answers (mode hold); more are refused at once, as in mode refuse. */
const MAX_HELD = 64;

/** The proxy server; its rules can be replaced while it runs (the host's live rules file, ./liveRules.ts). */
export interface EgressProxy extends Server {
  /**
   * Puts `rules` in force for every new request, and re-decides every open tunnel and forwarded
   * request on the host, port and address it was allowed for: those the new rules deny are cut
   * (and logged). Returns how many were cut.
   */
  setRules(rules: EgressRules, why: string): number;
}

/** An open tunnel or forwarded request, as it was decided: cut when new rules deny it. */
interface OpenConnection {
  readonly method: string;
  readonly target: EgressTarget;
  readonly port: number;
  readonly address: string;
  cut(rule: string): void;
}

type Refusal = {
  status: number; rule: string; reason: string; host: string; port: number; decision: 'deny' | 'error'; address?: string;
  /** No rule names the host (the policy's deny for the rest decided on its name). */
  unknown?: boolean;
  /** What the question book said of it. */
  asked?: AskOutcome;
};

/** Where a CONNECT tunnel leads: plain HTTP inside it may ask for that host and port only. */
interface TunnelTarget {
  readonly target: EgressTarget;
  readonly port: number;
}

/** A request line longer than this in a tunnel is refused rather than waited for. */
const MAX_REQUEST_LINE = 8192;

/** A method is any token (RFC 9110 tchar): servers route requests with methods of their own too. */
const TCHAR = "[!#$%&'*+.^_`|~0-9A-Za-z-]";
const TOKEN = `${TCHAR}+`;
/** Whitespace between the request line's parts, as lenient servers read it (several spaces, tabs). */
const GAP = '[ \\t\\v\\f\\r]+';
/** A whole request line: method, target, and a version (or none: Node and nginx take HTTP/0.9's "GET /path"). */
const REQUEST_LINE = new RegExp(`^${TOKEN}${GAP}[^\\s]+(${GAP}HTTP/\\d(\\.\\d)?)?[ \\t\\v\\f\\r]*$`);
/**
 * The start of a line that could still become one (no line end yet): a method and whitespace, or
 * any token alone, the start of a method: a server that takes any token for a method (Go's does:
 * `get`, `1x`) could be asked for another host by a request whose first piece was that token alone.
 * A word other protocols send ("PING", "*1") comes with its line end and is then read whole; a byte
 * that is no token character (a binary protocol's) ends the wait at once.
 */
const REQUEST_LINE_START = new RegExp(`^(${TOKEN}${GAP}[^\\n]*|${TOKEN})$`);
/** A line a server could take for HTTP even if it is not a request line Node reads: never piped raw. */
const HTTP_LIKE = /HTTP\/\d|^[\s]*(GET|HEAD|POST|PUT|DELETE|CONNECT|OPTIONS|TRACE|PATCH|PRI)\s/i;

/**
 * Whether a tunnel's first bytes are an HTTP/1.x request ('http'), could still become one
 * ('need-more': only empty lines, or a method and the start of its target so far), look like HTTP
 * but are no request line the proxy can read ('unreadable': refused), or are some other protocol
 * ('other': SSH's banner, a Redis command, a database's handshake), which passes as before.
 * Empty lines (CR LF or a bare LF) before the request line are skipped, as servers do
 * (RFC 9112 §2.2), and whitespace inside it is read as leniently as servers read it, so nothing a
 * server would take for an HTTP request passes raw.
 */
export function httpRequestStart(data: Buffer): 'http' | 'need-more' | 'unreadable' | 'other' {
  let start = 0;
  while (start < data.length && (data[start] === 0x0d || data[start] === 0x0a)) start++;
  const rest = data.subarray(start);
  const end = rest.indexOf(0x0a);
  const line = rest.subarray(0, end < 0 ? Math.min(rest.length, MAX_REQUEST_LINE + 1) : end).toString('latin1');
  if (end < 0) {
    if (line === '' || REQUEST_LINE_START.test(line)) return 'need-more';
    return HTTP_LIKE.test(line) ? 'unreadable' : 'other';
  }
  if (REQUEST_LINE.test(line)) return 'http';
  return HTTP_LIKE.test(line) ? 'unreadable' : 'other';
}

const HOP_BY_HOP = new Set(['connection', 'proxy-connection', 'keep-alive', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

const defaultLookup = (name: string) => dnsLookup(name, { all: true, verbatim: true });

/**
 * Lookups one proxy has in flight at once; more wait their turn. A lookup (getaddrinfo) takes one of
 * libuv's few threads, which every sandbox of the shared egress service shares (./main.ts sets how
 * many): without a bound, one sandbox asking for many names that resolve slowly (a wildcard rule or
 * policy allow makes any name under it pass the name check) held every thread, and every other
 * sandbox's lookups, /etc/hosts names included, waited behind them (80 s for one behind 16).
 */
export const MAX_LOOKUPS = 4;

/** `lookup`, with at most `max` calls in flight; the rest are queued in order. */
export function lookupsInTurn<T>(lookup: (name: string) => Promise<T>, max = MAX_LOOKUPS): (name: string) => Promise<T> {
  let running = 0;
  const queue: (() => void)[] = [];
  return async (name) => {
    if (running >= max) await new Promise<void>((go) => queue.push(go));
    else running++;
    try {
      return await lookup(name);
    } finally {
      // The next in line takes this slot (running stays as it is), or the slot is freed.
      if (queue.length) queue.shift()!();
      else running--;
    }
  };
}

/** Header values must be one line of printable ASCII. */
const headerSafe = (text: string) => text.replace(/[^\x20-\x7e]/g, '?');

export function createEgressProxy(options: EgressProxyOptions): EgressProxy {
  let rules = options.rules;
  const open = new Set<OpenConnection>();
  const lookup = lookupsInTurn(options.lookup ?? defaultLookup);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const connectTimeout = options.connectTimeoutMs ?? 15_000;
  const helloTimeout = options.helloTimeoutMs ?? 10_000;

  const entry = (fields: Omit<EgressLogEntry, 'time' | 'sandbox'>): EgressLogEntry => ({ time: new Date().toISOString(), sandbox: options.sandbox, ...fields });

  const explain = (r: Refusal) => r.status === 403
    ? `Paddock egress proxy: ${r.host}:${r.port} is not allowed (rule: ${r.rule}).\n${r.reason}\n`
    : `Paddock egress proxy: ${r.reason}\n`;

  const refusalHeaders = (r: Refusal, body: string): Record<string, string> => ({
    'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), Connection: 'close',
    'X-Paddock-Decision': r.decision, 'X-Paddock-Rule': headerSafe(r.rule),
    ...(r.asked ? { 'X-Paddock-Question': r.asked } : {}),
  });

  const logRefusal = (method: string, r: Refusal) => options.log(entry({
    method, host: r.host, port: r.port, decision: r.decision, rule: r.rule, status: r.status, bytesSent: 0, bytesReceived: 0,
    ...(r.address ? { address: r.address } : {}), ...(r.decision === 'error' ? { error: r.reason } : {}),
  }));

  const denied = (host: string, port: number, rule: string, address?: string): Refusal => ({
    status: 403, decision: 'deny', rule, host, port, address,
    reason: 'The sandbox\'s network policy decides (network.allow / network.deny in .paddock/policy.yaml). On the host, "paddock network allow SANDBOX HOST" allows it now (--save also writes the policy); "paddock network log" shows every decision.',
  });
  const bad = (host: string, port: number, rule: string, reason: string): Refusal => ({ status: 400, decision: 'deny', rule, host, port, reason });

  /** Checks the Host header(s) against the target: smuggling another host past the decision is refused. */
  const hostHeaderRefusal = (req: IncomingMessage, target: EgressTarget, port: number): Refusal | undefined => {
    const values: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i].toLowerCase() === 'host') values.push(req.rawHeaders[i + 1]);
    const host = targetText(target);
    if (values.length > 1) return bad(host, port, 'host header mismatch', `The request has ${values.length} Host headers; send one, naming ${host}.`);
    if (!values.length) return undefined;
    try {
      const split = splitHostPort(values[0].trim(), port);
      const named = normalizeHost(split.host);
      if (targetText(named) === host && split.port === port) return undefined;
    } catch {
      // not a host at all: a mismatch too
    }
    return bad(host, port, 'host header mismatch', `The Host header "${headerSafe(values[0])}" does not name the requested host ${host}:${port}.`);
  };

  /**
   * Decides on the name, resolves, decides on the address. Returns where to connect or why not.
   * Rules replaced during the lookup decide again: a decision is never half old rules, half new.
   */
  const resolve = async (target: EgressTarget, port: number, method: string): Promise<{ address: string; rule: string } | Refusal> => {
    let deadline: number | undefined;
    for (;;) {
      const used = rules;
      const result = await resolveWith(used, target, port);
      if (used !== rules) continue;
      if (!('status' in result) || !result.unknown || !options.questions || !askable(target)) return result;
      // No rule names the host: ask the user (once per host, rate limited), then refuse or hold.
      const { book, changed } = options.questions;
      const outcome = book.ask(targetText(target), port, method);
      changed(outcome === 'asked');
      const settings = { mode: book.mode, holdSeconds: book.holdSeconds };
      if (outcome === 'quiet') return result;
      const asked = { ...result, asked: outcome, rule: `policy deny (${outcome === 'limited' ? 'not asked: too many questions' : 'the user was asked'})`, reason: askedReason(outcome, settings) };
      if (settings.mode !== 'hold' || outcome === 'limited' || (deadline === undefined && held >= MAX_HELD)) return asked;
      deadline ??= Date.now() + settings.holdSeconds * 1000;
      // Held until the rules change (an answer), then decided again on the new rules.
      if (!(await rulesChangeBefore(deadline))) return { ...asked, rule: `policy deny (no answer in ${settings.holdSeconds} s)`, reason: askedReason(outcome, settings, 'timeout') };
    }
  };

  let held = 0;
  const waiting = new Set<() => void>();
  /** Resolves true when the rules change, false at the deadline. */
  const rulesChangeBefore = (deadline: number) => new Promise<boolean>((resolveWait) => {
    held++;
    const done = (changed: boolean) => { clearTimeout(timer); waiting.delete(wake); held--; resolveWait(changed); };
    const wake = () => done(true);
    const timer = setTimeout(() => done(false), Math.max(0, deadline - Date.now()));
    waiting.add(wake);
  });

  const resolveWith = async (rules: EgressRules, target: EgressTarget, port: number): Promise<{ address: string; rule: string } | Refusal> => {
    const host = targetText(target);
    const byName = decide(rules, target, port);
    if (!byName.allowed) return { ...denied(host, port, byName.rule), unknown: byName.rule === 'policy deny' };
    let addresses: readonly { address: string }[];
    if (target.kind === 'ip') addresses = [{ address: target.ip }];
    else {
      try {
        addresses = await lookup(target.name);
      } catch (err: any) {
        return { status: 502, decision: 'error', rule: byName.rule, host, port, reason: `Cannot resolve ${host}: ${err?.code ?? err?.message ?? err}.` };
      }
    }
    let refusal: Refusal | undefined;
    for (const { address } of addresses) {
      const own = ownNetworkRefusal(address); // another sandbox's proxy, whatever the rules say (./ownNetworks.ts)
      const byAddress = own ? { allowed: false, rule: own } : decideAddress(rules, address, port);
      if (byAddress.allowed) return { address, rule: byName.rule };
      refusal ??= denied(host, port, target.kind === 'name' ? `${byAddress.rule} (${host} resolved to ${address})` : byAddress.rule, address);
    }
    return refusal ?? { status: 502, decision: 'error', rule: byName.rule, host, port, reason: `${host} has no address.` };
  };

  const server = createServer({ requireHostHeader: false } as any, (req, res) => {
    void forward(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' }).end(`Paddock egress proxy: ${err?.message ?? err}\n`);
      else res.destroy();
    });
  });

  // Plain HTTP that a client speaks inside a CONNECT tunnel is parsed here, request by request, and
  // each one is decided and forwarded as a proxy request to the tunnel's host (see forward).
  const tunnelTargets = new WeakMap<Socket, TunnelTarget>();
  const tunnelledHttp = createServer({ requireHostHeader: false } as any, (req, res) => {
    const tunnelled = tunnelTargets.get(req.socket);
    if (!tunnelled) return void res.destroy();
    void forward(req, res, tunnelled).catch((err) => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' }).end(`Paddock egress proxy: ${err?.message ?? err}\n`);
      else res.destroy();
    });
  });
  // An upgrade (WebSocket) inside a tunnel cannot be followed request by request: refused, as for
  // plain proxy requests.
  tunnelledHttp.on('upgrade', (_req, socket: Socket) => socket.destroy());
  // A request in a tunnel that Node's parser cannot read (a method it does not know, two lengths, a
  // bad chunk) goes nowhere: it is answered 400 and logged, and the tunnel ends.
  tunnelledHttp.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    const tunnelled = tunnelTargets.get(socket);
    if (!tunnelled || !socket.writable) return void socket.destroy();
    const reason = `The request in the tunnel is not HTTP/1.1 the proxy can read (${headerSafe(String(err.code ?? err.message)).slice(0, 60)}); it is not passed on.`;
    const r = bad(targetText(tunnelled.target), tunnelled.port, 'unreadable http request', reason);
    logRefusal('?', r);
    const body = explain(r);
    socket.end(`HTTP/1.1 400 Bad Request\r\n${Object.entries(refusalHeaders(r, body)).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`, () => socket.destroy());
  });

  const refuse = (res: ServerResponse, method: string, r: Refusal) => {
    logRefusal(method, r);
    const body = explain(r);
    res.writeHead(r.status, refusalHeaders(r, body)).end(body);
  };

  async function forward(req: IncomingMessage, res: ServerResponse, tunnelled?: TunnelTarget): Promise<void> {
    const method = req.method ?? 'GET';
    let raw = req.url ?? '';
    if (tunnelled) {
      // Plain HTTP inside a CONNECT tunnel: each request must stay with the tunnel's host (a shared
      // front routes by the Host header or an absolute URL, as a CDN does by TLS's server name).
      const authority = tunnelled.port === 80 ? targetText(tunnelled.target) : `${targetText(tunnelled.target)}:${tunnelled.port}`;
      if (raw.startsWith('/')) raw = `http://${authority}${raw}`;
      else if (!/^http:\/\//i.test(raw)) return refuse(res, method, bad(authority, tunnelled.port, 'not an http request', 'Only HTTP requests in origin form (GET /path) or naming the tunnel\'s own host pass as plain HTTP in a CONNECT tunnel.'));
    }
    if (!/^http:\/\//i.test(raw)) {
      const reason = /^https:\/\//i.test(raw)
        ? 'HTTPS goes through CONNECT: set HTTPS_PROXY (the sandbox already has it).'
        : 'This is an HTTP proxy: send absolute URLs (set HTTP_PROXY; the sandbox already has it).';
      return refuse(res, method, bad(raw.slice(0, 200), 0, 'not a proxy request', reason));
    }
    let url: URL;
    let target: EgressTarget;
    let port: number;
    try {
      url = new URL(raw);
      port = url.port ? Number(url.port) : 80;
      target = normalizeHost(url.hostname);
    } catch (err) {
      return refuse(res, method, bad(raw.slice(0, 200), 0, 'bad target', `Not a valid URL: ${err instanceof EgressRuleError ? err.message : raw.slice(0, 200)}.`));
    }
    if (url.username || url.password) return refuse(res, method, bad(targetText(target), port, 'userinfo in URL', 'Credentials in the URL are not forwarded; use an Authorization header.'));
    if (tunnelled && (targetText(target) !== targetText(tunnelled.target) || port !== tunnelled.port)) {
      return refuse(res, method, bad(targetText(tunnelled.target), tunnelled.port, 'tunnel host mismatch', `A request in the tunnel to ${targetText(tunnelled.target)}:${tunnelled.port} named ${headerSafe(targetText(target))}:${port}; open a tunnel to that host instead.`));
    }
    const mismatch = hostHeaderRefusal(req, target, port);
    if (mismatch) return refuse(res, method, mismatch);
    const started = Date.now();
    const where = await resolve(target, port, method);
    if ('status' in where) return refuse(res, method, where);

    // The body keeps its framing upstream (or the request goes nowhere): a body sent unframed would
    // be read by the server as a second request that was never decided.
    const framing = bodyFraming(req);
    if ('refused' in framing) return refuse(res, method, bad(targetText(target), port, 'unframed request body', framing.refused));
    const headers: OutgoingHttpHeaders = { ...framing.headers };
    const dropped = connectionOptions(req);
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i];
      const lower = name.toLowerCase();
      if (HOP_BY_HOP.has(lower) || dropped.has(lower) || lower === 'content-length') continue;
      const prev = headers[name];
      headers[name] = prev === undefined ? req.rawHeaders[i + 1] : ([] as string[]).concat(prev as string | string[], req.rawHeaders[i + 1]);
    }
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'host')) headers.Host = port === 80 ? targetText(target) : `${targetText(target)}:${port}`;

    let bytesSent = 0;
    let bytesReceived = 0;
    let status: number | undefined;
    let error: string | undefined;
    let logged = false;
    let cutBy: string | undefined;
    const done = () => {
      if (logged) return;
      logged = true;
      options.log(entry({ method, host: targetText(target), port, decision: cutBy ? 'deny' : 'allow', rule: cutBy ?? where.rule, address: where.address, status, bytesSent, bytesReceived, durationMs: Date.now() - started, ...(error ? { error } : {}) }));
    };
    const upstream = httpRequest({ host: where.address, port, method, path: `${url.pathname}${url.search}`, headers, agent, setHost: false });
    limitConnectTime(upstream, connectTimeout, `${targetText(target)}:${port}`);
    req.on('data', (c: Buffer) => { bytesSent += c.length; });
    upstream.on('response', (up) => {
      status = up.statusCode;
      copyResponseHead(up, res, HOP_BY_HOP);
      up.on('data', (c: Buffer) => { bytesReceived += c.length; });
      up.pipe(res);
      up.on('end', done);
      up.on('error', (err) => { error = err.message; done(); res.destroy(); });
    });
    upstream.on('error', (err: any) => {
      error = upstreamError(err, `${where.address}:${port}`);
      status ??= 502;
      if (!res.headersSent) {
        const body = `Paddock egress proxy: ${targetText(target)}:${port} was allowed (${where.rule}), but the connection failed: ${error}.\n`;
        res.writeHead(502, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Paddock-Decision': 'allow', 'X-Paddock-Rule': headerSafe(where.rule) }).end(body);
      } else res.destroy();
      done();
    });
    const connection: OpenConnection = {
      method, target, port, address: where.address,
      cut: (rule) => {
        // Logged as a denial by the new rule, with what had passed until then.
        cutBy = rule;
        error = 'cut: the rules changed';
        done();
        upstream.destroy();
        res.destroy();
      },
    };
    open.add(connection);
    res.on('close', () => { open.delete(connection); if (!logged) { error ??= 'client closed'; done(); } upstream.destroy(); });
    req.pipe(upstream);
  }

  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    void tunnel(req, client, head).catch(() => client.destroy());
  });

  const refuseTunnel = (client: Socket, r: Refusal) => {
    logRefusal('CONNECT', r);
    const body = explain(r);
    const headers = refusalHeaders(r, body);
    const reason = r.status === 403 ? 'Forbidden' : r.status === 400 ? 'Bad Request' : 'Bad Gateway';
    client.end(`HTTP/1.1 ${r.status} ${reason}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`);
  };

  async function tunnel(req: IncomingMessage, client: Socket, head: Buffer): Promise<void> {
    client.on('error', () => client.destroy());
    const authority = req.url ?? '';
    let target: EgressTarget;
    let port: number;
    try {
      const split = splitHostPort(authority);
      if (split.port === undefined) throw new EgressRuleError(`"${authority}" has no port`);
      port = split.port;
      target = normalizeHost(split.host);
    } catch (err) {
      return refuseTunnel(client, bad(authority.slice(0, 200), 0, 'bad target', `CONNECT needs host:port: ${(err as Error).message}.`));
    }
    const mismatch = hostHeaderRefusal(req, target, port);
    if (mismatch) return refuseTunnel(client, mismatch);
    const started = Date.now();
    const where = await resolve(target, port, 'CONNECT');
    if ('status' in where) return refuseTunnel(client, where);

    const upstream = netConnect({ host: where.address, port });
    upstream.setTimeout(connectTimeout, () => upstream.destroy(new Error('timeout')));
    let opened = false;
    let error: string | undefined;
    let logged = false;
    let sniRefusal: string | undefined;
    let handedOver = false;
    /** A refusal is being written to the client: the upstream's end does not cut it short. */
    let answering = false;
    const connection: OpenConnection = {
      method: 'CONNECT', target, port, address: where.address,
      cut: (rule) => {
        sniRefusal = rule;
        error = 'cut: the rules changed';
        client.destroy();
        upstream.destroy();
      },
    };
    open.add(connection);
    // What the client had sent and been sent before the tunnel: a tunnel handed to the HTTP parser
    // counts its bytes on the client's socket (its own upstream connection is not used).
    const readBefore = client.bytesRead - head.length;
    let writtenBefore = client.bytesWritten;
    const done = () => {
      // A tunnel handed to the HTTP parser stays open (and is cut by a deny) until its client closes:
      // it is logged then, as a piped tunnel is when it ends.
      if (handedOver && !client.destroyed) return;
      open.delete(connection);
      if (logged) return;
      logged = true;
      const [bytesSent, bytesReceived] = handedOver ? [client.bytesRead - readBefore, client.bytesWritten - writtenBefore] : [upstream.bytesWritten, upstream.bytesRead];
      options.log(entry({
        method: 'CONNECT', host: targetText(target), port, decision: sniRefusal ? 'deny' : 'allow', rule: sniRefusal ?? where.rule, address: where.address, status: opened ? 200 : 502,
        bytesSent, bytesReceived, durationMs: Date.now() - started, ...(error ? { error } : {}),
      }));
    };
    upstream.on('connect', () => {
      opened = true;
      upstream.setTimeout(0);
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      writtenBefore = client.bytesWritten;
      upstream.pipe(client);
      // The client's first bytes are held until they show whether it speaks TLS to the host it named.
      // A ClientHello may come in many records and segments: it is read whole (bounded in size by
      // the parser and in time here), and a tunnel whose hello cannot be read is refused.
      let pending = head;
      // Chunks are joined and the hello parsed again only once enough bytes came to tell more
      // (a client sending one byte per segment must not cost a parse per byte).
      let chunks: Buffer[] = [];
      let received = head.length;
      let atLeast = 1;
      let helloTimer: NodeJS.Timeout | undefined;
      client.once('close', () => clearTimeout(helloTimer));
      const refuseHello = (rule: string, answer?: string) => {
        sniRefusal = rule;
        client.off('data', onData);
        clearTimeout(helloTimer);
        // A client that speaks HTTP in the tunnel is told why, as a refused proxy request is.
        if (answer !== undefined) {
          answering = true;
          client.end(answer, () => client.destroy());
        } else client.destroy();
        upstream.destroy();
      };
      const refuseHttp = (rule: string, reason: string) => {
        const body = `Paddock egress proxy: ${reason}\n`;
        const headers = refusalHeaders(bad(targetText(target), port, rule, reason), body);
        refuseHello(rule, `HTTP/1.1 400 Bad Request\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`);
      };
      const release = (): boolean => {
        const hello = readClientHelloSni(pending);
        const http = hello.kind === 'not-tls' ? httpRequestStart(pending) : 'other';
        if (http === 'http') {
          // Plain HTTP: its requests go through the proxy's own checks, one by one (Host included),
          // instead of a raw pipe a second request could use to ask the same front for another host.
          handedOver = true;
          client.off('data', onData);
          clearTimeout(helloTimer);
          upstream.unpipe(client);
          upstream.destroy();
          tunnelTargets.set(client, { target, port });
          client.once('close', done);
          client.unshift(pending);
          tunnelledHttp.emit('connection', client);
          return true;
        }
        if (http === 'unreadable') {
          // It looks like HTTP (a version, a method) but is no request line the proxy reads: a server
          // might still read it, so it never passes raw.
          refuseHttp('unreadable http request line', 'The tunnel\'s first line looks like HTTP but is not a request line the proxy can read (METHOD /path HTTP/1.1); it is not passed on unchecked.');
          return true;
        }
        if (http === 'need-more') {
          if (pending.length > MAX_REQUEST_LINE) {
            refuseHttp('unreadable http request line (longer than 8 KiB)', 'The request line in the tunnel is longer than 8 KiB.');
            return true;
          }
          helloTimer ??= setTimeout(() => refuseHttp(`unreadable http request line (not whole after ${helloTimeout / 1000} s)`, `The request line in the tunnel was not whole after ${helloTimeout / 1000} s.`), helloTimeout);
          atLeast = pending.length + 1;
          return false;
        }
        if (hello.kind === 'need-more') {
          atLeast = hello.atLeast;
          helloTimer ??= setTimeout(() => refuseHello(`unreadable tls client hello (not whole after ${helloTimeout / 1000} s)`), helloTimeout);
          return false;
        }
        clearTimeout(helloTimer);
        if (hello.kind === 'malformed') {
          refuseHello(`unreadable tls client hello (${headerSafe(hello.reason).slice(0, 120)})`);
          return true;
        }
        if (hello.kind === 'tls' && hello.serverName !== undefined && target.kind === 'name') {
          let named: string | undefined;
          try {
            named = targetText(normalizeHost(hello.serverName));
          } catch {
            named = undefined;
          }
          if (named !== target.name) {
            refuseHello(`tls server name mismatch (${headerSafe(hello.serverName).slice(0, 100)})`);
            return true;
          }
        }
        if (pending.length) upstream.write(pending);
        client.off('data', onData);
        client.pipe(upstream);
        return true;
      };
      const onData = (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
        if (received < atLeast) return;
        pending = Buffer.concat([pending, ...chunks]);
        chunks = [];
        release();
      };
      if (pending.length && release()) return;
      client.on('data', onData);
    });
    upstream.on('error', (err: any) => {
      error = upstreamError(err, `${where.address}:${port}`);
      if (!opened) {
        const body = `Paddock egress proxy: ${targetText(target)}:${port} was allowed (${where.rule}), but the connection failed: ${error}.\n`;
        client.end(`HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Paddock-Decision: allow\r\nX-Paddock-Rule: ${headerSafe(where.rule)}\r\nConnection: close\r\n\r\n${body}`);
      } else client.destroy();
      done();
    });
    upstream.on('close', () => { if (!handedOver && !answering) client.destroy(); done(); });
    client.on('close', () => { upstream.destroy(); });
  }

  /** The decision the current rules make on an open connection: undefined while it is still allowed. */
  const nowDenied = (c: OpenConnection): string | undefined => {
    const byName = decide(rules, c.target, c.port);
    if (!byName.allowed) return byName.rule;
    const byAddress = decideAddress(rules, c.address, c.port);
    return byAddress.allowed ? undefined : c.target.kind === 'name' ? `${byAddress.rule} (${targetText(c.target)} resolved to ${c.address})` : byAddress.rule;
  };

  const proxy = server as EgressProxy;
  proxy.setRules = (next, why) => {
    rules = next;
    for (const wake of [...waiting]) wake();
    let cut = 0;
    for (const c of [...open]) {
      const rule = nowDenied(c);
      if (rule === undefined) continue;
      open.delete(c);
      c.cut(`${rule} (open connection cut: ${why})`);
      cut++;
    }
    return cut;
  };

  answerMalformedRequests(server);
  server.on('close', () => { agent.destroy(); tunnelledHttp.close(); for (const wake of [...waiting]) wake(); });
  return proxy;
}
