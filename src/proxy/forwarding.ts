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
