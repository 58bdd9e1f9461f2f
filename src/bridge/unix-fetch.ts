import { request } from 'node:http';
import type { IncomingMessage } from 'node:http';

/**
 * A `fetch` over a Unix socket, for the SDK's Streamable HTTP client transport (Node's own fetch
 * cannot dial sockets without undici's dispatcher, which Node 18 does not expose). Plain node:http.
 *
 * A request written on a kept-alive connection just as the server closes it for being idle (Node's
 * server does after 5 s; Node's agent lets one go after 4, unless its event loop was held up) fails
 * with ECONNRESET or EPIPE before any answer: the server read none of it, so it is sent once more,
 * on a new connection (Node's documented remedy). Only then: a request answered, or reset on a new
 * connection, is never sent again. bridge/view-walk-reuse's restart case once failed with "read
 * ECONNRESET" from its client at load 10, its call made right after a `docker restart` that held
 * the test's event loop (the bridge's too) for seconds; that cause is likely, not shown.
 */
export function unixFetch(socketPath: string): (url: string | URL, init?: RequestInit) => Promise<Response> {
  return (url, init = {}) => send(socketPath, url, init, false);
}

function send(socketPath: string, url: string | URL, init: RequestInit, again: boolean): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    const target = new URL(String(url));
    const headers: Record<string, string> = {};
    new Headers(init.headers as ConstructorParameters<typeof Headers>[0]).forEach((value, key) => { headers[key] = value; });
    let answered = false;
    const req = request({ socketPath, path: `${target.pathname}${target.search}`, method: init.method ?? 'GET', headers: { host: 'paddock-bridge', ...headers }, ...(again ? { agent: false } : {}) }, (res) => {
      answered = true;
      const status = res.statusCode ?? 500;
      const responseHeaders = new Headers();
      for (const [key, value] of Object.entries(res.headers)) {
        if (Array.isArray(value)) value.forEach((v) => responseHeaders.append(key, v));
        else if (value !== undefined) responseHeaders.set(key, value);
      }
      const noBody = [101, 204, 205, 304].includes(status) || init.method === 'HEAD';
      if (noBody) res.resume();
      resolve(new Response(noBody ? null : webStream(res), { status, statusText: res.statusMessage, headers: responseHeaders }));
    });
    // First: a destroy below (an aborted signal) emits 'error', which would otherwise crash the shim.
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (!again && !answered && req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE') && !init.signal?.aborted) resolve(send(socketPath, url, init, true));
      else reject(err);
    });
    const signal = init.signal;
    if (signal) {
      if (signal.aborted) { req.destroy(); reject(signal.reason ?? new Error('aborted')); return; }
      const onAbort = () => { req.destroy(); reject(signal.reason ?? new Error('aborted')); };
      signal.addEventListener('abort', onAbort, { once: true });
      req.on('close', () => signal.removeEventListener('abort', onAbort));
    }
    if (init.body !== undefined && init.body !== null) req.end(typeof init.body === 'string' ? init.body : Buffer.from(init.body as ArrayBuffer));
    else req.end();
  });
}

/** Readable.toWeb() on Node 18 throws "Controller is already closed" when a response closes after its end. */
function webStream(res: IncomingMessage): ReadableStream<Uint8Array> {
  let done = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      res.on('data', (chunk: Buffer) => { if (!done) controller.enqueue(new Uint8Array(chunk)); });
      res.on('end', () => { if (!done) { done = true; controller.close(); } });
      res.on('error', (err) => { if (!done) { done = true; controller.error(err); } });
      res.on('close', () => { if (!done) { done = true; controller.close(); } });
    },
    cancel() {
      done = true;
      res.destroy();
    },
  });
}
