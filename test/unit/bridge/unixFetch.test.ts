// The shim's fetch over the bridge's Unix socket (src/bridge/unix-fetch.ts): a request written on a
// kept-alive connection that the server closes as it arrives (its idle timeout) is sent once more on
// a new connection; nothing else is ever sent twice. A real socket and a server that speaks just
// enough HTTP to close the connection at the moment a test wants.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { unixFetch } from '../../../src/bridge/unix-fetch.js';

/** Answers each request `ok N` (keep-alive), except that `drop(n, atConnection)` says which ones it closes the connection on instead. */
async function fakeBridge(path: string, drop: (requestOnConnection: number) => boolean): Promise<{ server: Server; requests: () => number }> {
  let requests = 0;
  const server = createServer((socket: Socket) => {
    let seen = 0;
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      // Every request here is a POST with a body of known length: a request is complete once its body is.
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/content-length:\s*(\d+)/i.exec(buffered.slice(0, end))?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        buffered = buffered.slice(end + 4 + length);
        requests++;
        if (drop(++seen)) { socket.destroy(); return; }
        const body = `ok ${requests}`;
        socket.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n${body}`);
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { server, requests: () => requests };
}

describe('unixFetch', () => {
  const dir = mkdtempSync(join(tmpdir(), 'paddock-unixfetch-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const post = (f: ReturnType<typeof unixFetch>) => f('http://paddock-bridge/mcp', { method: 'POST', body: '{"jsonrpc":"2.0"}' }).then((r) => r.text());

  it('sends a request again on a new connection when the kept-alive one it was written on is closed before any answer', async () => {
    const path = join(dir, 'reused.sock');
    // The second request on a connection finds it closed (the server's idle timeout, racing the request).
    const { server, requests } = await fakeBridge(path, (n) => n === 2);
    try {
      const f = unixFetch(path);
      assert.equal(await post(f), 'ok 1');
      assert.equal(await post(f), 'ok 3', 'answered on a new connection');
      assert.equal(requests(), 3, 'the closed one, then once more');
    } finally {
      server.close();
    }
  });

  it('a request closed on a new connection is not sent again: that is the server\'s answer', async () => {
    const path = join(dir, 'fresh.sock');
    const { server, requests } = await fakeBridge(path, () => true);
    try {
      await assert.rejects(post(unixFetch(path)), (err: NodeJS.ErrnoException) => err.code === 'ECONNRESET');
      assert.equal(requests(), 1);
    } finally {
      server.close();
    }
  });
});
