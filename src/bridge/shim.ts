// paddock-mcp: the stdio MCP server inside the sandbox. It relays the agent's MCP messages to the
// Paddock bridge on the host (a Unix socket mounted at /run/paddock, or host.docker.internal on
// Docker Desktop), with the sandbox's bearer token. Bundled into one file that runs on Node 18+.
import { readFileSync } from 'node:fs';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { isJSONRPCRequest, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { unixFetch } from './unix-fetch.js';

const DIR = process.env.PADDOCK_BRIDGE_DIR_IN_SANDBOX ?? '/run/paddock';
const NOT_RUNNING = 'The Paddock bridge is not running for this sandbox. On the host, it runs while "paddock run" or VS Code with Paddock is open, or with "paddock bridge serve SANDBOX".';

function read(name: string): string | undefined {
  try {
    return readFileSync(`${DIR}/${name}`, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** No endpoint written, nothing listening, or the relay closed at once: no bridge host runs. */
function bridgeIsAway(err: any): boolean {
  return err?.message === NOT_RUNNING || err?.cause?.code === 'ENOENT' || err?.cause?.code === 'ECONNREFUSED' || /ENOENT|ECONNREFUSED|fetch failed/.test(String(err?.message));
}

function connectHttp(): StreamableHTTPClientTransport {
  const endpoint = process.env.PADDOCK_BRIDGE_URL ?? read('endpoint');
  const token = process.env.PADDOCK_BRIDGE_TOKEN ?? read('token');
  if (!endpoint || !token) throw new Error(NOT_RUNNING);
  const headers = { Authorization: `Bearer ${token}` };
  if (endpoint.startsWith('unix:')) {
    return new StreamableHTTPClientTransport(new URL('http://paddock-bridge/mcp'), { requestInit: { headers }, fetch: unixFetch(endpoint.slice(5)) });
  }
  return new StreamableHTTPClientTransport(new URL(endpoint), { requestInit: { headers } });
}

async function main(): Promise<void> {
  const stdio = new StdioServerTransport();
  let http: StreamableHTTPClientTransport | undefined;
  let initialize: JSONRPCMessage | undefined;
  // Calls the agent cancelled: the bridge answers them to end their exchange; the agent expects no answer.
  const cancelled = new Set<unknown>();
  const relay = (m: JSONRPCMessage): void => {
    if ('id' in m && !('method' in m) && cancelled.delete(m.id)) return;
    void stdio.send(m);
  };

  const open = async (): Promise<StreamableHTTPClientTransport> => {
    const t = connectHttp();
    t.onmessage = relay;
    t.onerror = () => {};
    await t.start();
    return t;
  };
  /** After a bridge restart the old session is gone (404): start a new one, replaying the handshake. */
  const reconnect = async (): Promise<void> => {
    await http?.close().catch(() => {});
    http = connectHttp();
    const t = http;
    await new Promise<void>((resolve, reject) => {
      t.onmessage = (m) => { if ('id' in m && initialize && 'id' in initialize && m.id === initialize.id) resolve(); else relay(m); };
      t.onerror = () => {};
      t.start().then(() => t.send(initialize!)).catch(reject);
    });
    t.onmessage = relay;
    await t.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  };

  let pending = 0;
  stdio.onmessage = (message) => {
    pending++;
    void (async () => {
      if (isJSONRPCRequest(message) && message.method === 'initialize') initialize = message;
      if ('method' in message && message.method === 'notifications/cancelled' && !('id' in message)) cancelled.add((message.params as { requestId?: unknown } | undefined)?.requestId);
      try {
        http ??= await open();
        await http.send(message);
      } catch (err) {
        // A bridge hosted again (a policy the user applied) is away for a moment: retry for a few seconds.
        for (let tries = bridgeIsAway(err) ? 6 : 1; tries > 0 && initialize && message !== initialize && (bridgeIsAway(err) || (err instanceof StreamableHTTPError && err.code === 404)); tries--) {
          if (bridgeIsAway(err)) await new Promise((r) => setTimeout(r, 500));
          try {
            await reconnect();
            await http!.send(message);
            return;
          } catch (again) {
            err = again;
          }
        }
        if (isJSONRPCRequest(message)) {
          const detail = bridgeIsAway(err) ? NOT_RUNNING : `Paddock bridge: ${(err as Error)?.message ?? err}`;
          await stdio.send({ jsonrpc: '2.0', id: message.id, error: { code: -32000, message: detail } });
        }
      }
    })().finally(() => { pending--; });
  };
  // The agent closed our stdin: the session is over (StdioServerTransport does not watch for EOF).
  const finish = () => {
    // Answers still on their way are delivered first.
    const wait = (tries: number): void => {
      if (pending > 0 && tries > 0) { setTimeout(() => wait(tries - 1), 50); return; }
      // End the session on the bridge too (DELETE): otherwise the host keeps it as long as it runs.
      void Promise.resolve(http?.terminateSession()).catch(() => {})
        .then(() => http?.close()).catch(() => {}).finally(() => process.exit(0));
    };
    wait(600);
  };
  stdio.onclose = finish;
  await stdio.start();
  process.stdin.once('end', () => setTimeout(finish, 50));
}

main().catch((err) => {
  process.stderr.write(`paddock-mcp: ${err?.message ?? err}\n`);
  process.exit(1);
});
