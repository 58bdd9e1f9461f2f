import type { ClientRequest, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** Only connecting has a time limit: a slow answer (long polling, a big download) is the server's business. */
export function limitConnectTime(upstream: ClientRequest, timeoutMs: number, what: string): void {
  upstream.on('socket', (socket: Socket) => {
    if (!socket.connecting) return;
    const timer = setTimeout(() => upstream.destroy(new Error(`${what} did not answer in time`)), timeoutMs);
    socket.once('connect', () => clearTimeout(timer)).once('secureConnect', () => clearTimeout(timer)).once('close', () => clearTimeout(timer));
  });
}

/** Sends the upstream's status and headers on, without the ones named in `dropped` (lower case). */
export function copyResponseHead(up: IncomingMessage, res: ServerResponse, dropped: ReadonlySet<string>): void {
  const out: string[] = [];
  for (let i = 0; i < up.rawHeaders.length; i += 2) if (!dropped.has(up.rawHeaders[i].toLowerCase())) out.push(up.rawHeaders[i], up.rawHeaders[i + 1]);
  res.writeHead(up.statusCode ?? 502, up.statusMessage, out);
}

/** Why a connection upstream failed, in a few words for the log ("ECONNREFUSED 10.0.0.5:443"). */
export function upstreamError(err: any, where: string): string {
  return err?.code ? `${err.code} ${where}` : err?.message ?? String(err);
}

/** A request the HTTP parser cannot read gets a plain 400 instead of a dropped connection. */
export function answerMalformedRequests(server: Server): void {
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });
}

/** Headers that frame a request's body or name its host: a Connection header never removes them. */
const NOT_CONNECTION_OPTIONS = new Set(['content-length', 'transfer-encoding', 'host']);

/**
 * The headers a request's Connection header names (lower case), to be dropped as hop-by-hop, except
 * the ones that frame its body or name its host: dropping those would let the body reach the
 * server unframed, where it reads as another request nobody decided.
 */
export function connectionOptions(req: IncomingMessage): Set<string> {
  const named = new Set(String(req.headers.connection ?? '').toLowerCase().split(',').map((h) => h.trim()));
  for (const h of NOT_CONNECTION_OPTIONS) named.delete(h);
  return named;
}

/**
 * How a request's body is framed upstream, whatever its method: `Transfer-Encoding: chunked` for a
 * chunked body (Node's client would otherwise write a GET's or HEAD's body with no framing at all),
 * its `Content-Length` otherwise. A transfer coding other than chunked cannot be kept (Node decodes
 * only the chunks), so that request is refused. Set these and drop the client's own two headers.
 */
export function bodyFraming(req: IncomingMessage): { headers: Record<string, string> } | { refused: string } {
  const te = req.headers['transfer-encoding'];
  if (te !== undefined) {
    if (String(te).trim().toLowerCase() !== 'chunked') return { refused: `Transfer-Encoding "${String(te).replace(/[^\x20-\x7e]/g, '?').slice(0, 60)}" is not forwarded; send the body chunked or with a Content-Length.` };
    return { headers: { 'Transfer-Encoding': 'chunked' } };
  }
  const length = req.headers['content-length'];
  return { headers: length === undefined ? {} : { 'Content-Length': length } };
}
