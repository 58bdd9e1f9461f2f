import { randomUUID, timingSafeEqual } from 'node:crypto';
import { chmodSync, chownSync, existsSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect as netConnect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest, isJSONRPCRequest, type JSONRPCMessage, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CLIENT_GONE } from './denied.js';

/**
 * Where a bridge listens: a Unix socket (mode 0600) or a TCP port on one address (loopback, or the
 * Docker bridge's gateway on a Linux engine with the TCP transport); never all interfaces.
 */
export type Listen =
  | { readonly kind: 'unix'; readonly path: string; readonly owner?: { uid: number; gid: number } }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

/** Addresses that mean "every interface". */
export function isWildcardAddress(host: string): boolean {
  return /^(0\.0\.0\.0|::|\[::\]|0+|)$/.test(host.trim()) || /^::ffff:0\.0\.0\.0$/i.test(host.trim());
}

export const MCP_PATH = '/mcp';

interface Session {
  readonly transport: StreamableHTTPServerTransport;
  readonly server: McpServer;
  /** HTTP exchanges of this session open now: calls in flight and the client's event stream. */
  open: number;
  /** Whether the client has held an event stream (GET); paddock-mcp and the SDK's clients keep one open while they live. */
  streamed: boolean;
  /** Requests of the client not answered yet. */
  readonly unanswered: Set<RequestId>;
  /** HTTP exchanges open now that carry calls: ended when the session ends (the SDK leaves them open). */
  readonly calling: Set<ServerResponse>;
  /** Ends the session when nothing of it comes back (see SessionTimeouts). */
  reaper?: NodeJS.Timeout;
}

/**
 * When a session whose client left without ending it (DELETE) is ended on the bridge, which cancels
 * its waiting calls and frees what it holds. An agent killed with -9, or a sandbox that stopped,
 * closes its connections without a word.
 */
export interface SessionTimeouts {
  /**
   * After the client's event stream and every call of it closed: a live client reopens its stream
   * within about a second (the SDK's reconnect delay), so a session quiet for this long lost its client.
   */
  readonly streamGoneMs: number;
  /** A client that never held an event stream: its session ends after this long without a request. */
  readonly idleMs: number;
}

export const SESSION_TIMEOUTS: SessionTimeouts = { streamGoneMs: 15_000, idleMs: 30 * 60_000 };

/** The JSON-RPC error a cancelled call is answered with, so the exchange its client may still hold ends (LSP's RequestCancelled). */
const REQUEST_CANCELLED = -32800;

/**
 * Streamable HTTP (the SDK's transport) behind a bearer token. Each client session gets its own
 * McpServer from `makeServer`; a request without the token — or with any other token — gets 401
 * before the SDK sees it.
 */
export class BridgeHttpServer {
  private readonly http: Server;
  private readonly sessions = new Map<string, Session>();
  private readonly token: Buffer;
  private address?: string;

  constructor(token: string, private readonly makeServer: () => McpServer, private readonly timeouts: SessionTimeouts = SESSION_TIMEOUTS) {
    if (token.length < 16) throw new Error('The bridge token is too short.');
    this.token = Buffer.from(token);
    this.http = createServer((req, res) => { this.handle(req, res).catch((err) => this.fail(res, 500, `bridge error: ${err?.message ?? err}`)); });
    // Streams of a session (GET) can stay open for long; do not time them out.
    this.http.requestTimeout = 0;
    this.http.headersTimeout = 30_000;
  }

  /** Starts listening; returns the URL clients use from the host ("unix:PATH" or "http://127.0.0.1:PORT/mcp"). */
  async listen(where: Listen): Promise<string> {
    if (where.kind === 'unix') {
      await removeStaleSocket(where.path);
      await new Promise<void>((resolve, reject) => {
        this.http.once('error', reject);
        this.http.listen(where.path, () => { this.http.off('error', reject); resolve(); });
      });
      chmodSync(where.path, 0o600);
      if (where.owner && process.getuid?.() === 0) chownSync(where.path, where.owner.uid, where.owner.gid);
      this.address = `unix:${where.path}`;
    } else {
      if (isWildcardAddress(where.host)) throw new Error('The bridge never listens on all interfaces.');
      await new Promise<void>((resolve, reject) => {
        this.http.once('error', reject);
        this.http.listen(where.port, where.host, () => { this.http.off('error', reject); resolve(); });
      });
      const port = (this.http.address() as AddressInfo).port;
      this.address = `http://${where.host.includes(':') ? `[${where.host}]` : where.host}:${port}${MCP_PATH}`;
    }
    return this.address;
  }

  get url(): string | undefined {
    return this.address;
  }

  /** Client sessions open now (each holds an McpServer until its client ends it or the bridge stops). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  get port(): number | undefined {
    const a = this.http.address();
    return a && typeof a === 'object' ? a.port : undefined;
  }

  private authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) return false;
    const given = Buffer.from(m[1]);
    return given.length === this.token.length && timingSafeEqual(given, this.token);
  }

  private fail(res: ServerResponse, status: number, message: string): void {
    if (res.headersSent) { res.end(); return; }
    res.writeHead(status, { 'content-type': 'application/json', ...(status === 401 ? { 'www-authenticate': 'Bearer realm="paddock-bridge"' } : {}) });
    res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message }, id: null }));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (path !== MCP_PATH) return this.fail(res, 404, `Not found: the bridge answers on ${MCP_PATH}.`);
    if (!this.authorized(req)) return this.fail(res, 401, 'Unauthorized: this bridge needs its sandbox\'s bearer token.');
    const sessionId = req.headers['mcp-session-id'];
    const existing = typeof sessionId === 'string' ? this.sessions.get(sessionId) : undefined;
    if (existing) return this.serve(existing, req, res);
    // A session this bridge does not know (it restarted): 404 tells the client to start a new one.
    if (typeof sessionId === 'string') return this.fail(res, 404, 'Session not found: initialize a new session.');
    if (req.method !== 'POST') return this.fail(res, 400, 'No valid session: initialize first.');
    const body = await readJson(req);
    if (!isInitializeRequest(body)) return this.fail(res, 400, 'No valid session: initialize first.');
    const server = this.makeServer();
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: true,
      onsessioninitialized: (id) => {
        const session: Session = { transport, server, open: 0, streamed: false, unanswered: new Set(), calling: new Set() };
        this.sessions.set(id, session);
        this.watchCalls(session);
        this.armReaper(session);
      },
    });
    transport.onclose = () => {
      const session = transport.sessionId ? this.sessions.get(transport.sessionId) : undefined;
      if (session?.reaper) clearTimeout(session.reaper);
      if (transport.sessionId) this.sessions.delete(transport.sessionId);
      // Its calls were cancelled (and their commands stopped); their exchanges would otherwise wait forever.
      for (const res of session?.calling ?? []) this.fail(res, 404, 'Session ended: this call was cancelled. Initialize a new session.');
      void server.close().catch(() => {});
    };
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  /**
   * One exchange of a known session. A call whose connection closes before its answer is cancelled
   * (its client died or gave up on it): waiting, it never runs. The last exchange closing arms the reaper.
   */
  private async serve(session: Session, req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: unknown;
    if (req.method === 'POST') {
      body = await readJson(req);
      if (body === undefined) return this.fail(res, 400, 'Parse error: the request body is not JSON.');
    }
    const calls = (Array.isArray(body) ? body : [body]).filter((m): m is JSONRPCMessage & { id: RequestId } => isJSONRPCRequest(m)).map((m) => m.id);
    session.open++;
    if (req.method === 'GET') session.streamed = true;
    if (session.reaper) clearTimeout(session.reaper);
    if (calls.length) session.calling.add(res);
    res.once('close', () => {
      session.calling.delete(res);
      if (!res.writableFinished) for (const id of calls) this.cancel(session, id, CLIENT_GONE);
      session.open--;
      this.armReaper(session);
    });
    await session.transport.handleRequest(req, res, body);
  }

  /**
   * Tracks which calls are unanswered and answers a cancelled one: the SDK aborts its handler but,
   * per the protocol, sends nothing, which would leave the JSON exchange (and the client's wait) open.
   */
  private watchCalls(session: Session): void {
    const { transport, unanswered } = session;
    const deliver = transport.onmessage!;
    transport.onmessage = (message, extra) => {
      if (isJSONRPCRequest(message)) unanswered.add(message.id);
      deliver(message, extra);
      const id = cancelledRequestOf(message);
      // After the SDK has aborted the handler (it handles notifications a tick later), so the handler's own result is dropped.
      if (id !== undefined) setImmediate(() => this.answerCancelled(session, id));
    };
    const send = transport.send.bind(transport);
    transport.send = (message, options) => {
      if ('id' in message && ('result' in message || 'error' in message) && message.id !== undefined) unanswered.delete(message.id);
      return send(message, options);
    };
  }

  private cancel(session: Session, id: RequestId, reason: string): void {
    if (!session.unanswered.has(id)) return;
    session.transport.onmessage?.({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason } });
  }

  private answerCancelled(session: Session, id: RequestId): void {
    if (!session.unanswered.has(id)) return;
    void session.transport.send({ jsonrpc: '2.0', id, error: { code: REQUEST_CANCELLED, message: 'Request cancelled' } }).catch(() => {});
  }

  /** With nothing of the session open, ends it after the timeout unless its client comes back. */
  private armReaper(session: Session): void {
    if (session.reaper) clearTimeout(session.reaper);
    if (session.open > 0 || !session.transport.sessionId || this.sessions.get(session.transport.sessionId) !== session) return;
    session.reaper = setTimeout(() => {
      if (session.open === 0) void session.transport.close().catch(() => {});
    }, session.streamed ? this.timeouts.streamGoneMs : this.timeouts.idleMs);
    session.reaper.unref();
  }

  async close(): Promise<void> {
    for (const { transport, server, reaper } of [...this.sessions.values()]) {
      if (reaper) clearTimeout(reaper);
      await transport.close().catch(() => {});
      await server.close().catch(() => {});
    }
    this.sessions.clear();
    this.http.closeAllConnections?.();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
    if (this.address?.startsWith('unix:')) {
      try { unlinkSync(this.address.slice(5)); } catch { /* already gone */ }
    }
  }
}

function cancelledRequestOf(message: JSONRPCMessage): RequestId | undefined {
  if (!('method' in message) || message.method !== 'notifications/cancelled' || 'id' in message) return undefined;
  const id = (message.params as { requestId?: unknown } | undefined)?.requestId;
  return typeof id === 'string' || typeof id === 'number' ? id : undefined;
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 4 * 1024 * 1024) { reject(new Error('request too large')); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', () => {
      try { resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))); } catch { resolve(undefined); }
    });
    req.on('error', reject);
  });
}

/** A socket file left by a crashed bridge is removed; one that still answers means another bridge runs. */
async function removeStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  const alive = await new Promise<boolean>((resolve) => {
    const s = netConnect(path);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
  if (alive) throw new BridgeAlreadyRunning(path);
  unlinkSync(path);
}

export class BridgeAlreadyRunning extends Error {
  constructor(readonly path: string) {
    super(`A bridge already listens on ${path}.`);
  }
}
