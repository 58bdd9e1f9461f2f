// A relay socket in front of the Docker engine that notes each request a client makes (method and
// path), so a test or bench can see which engine requests a command makes: point the command's
// DOCKER_HOST at `host`.
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class RequestRelay {
  /** "GET /v1.41/containers/json?all=true...", in the order they came. */
  readonly requests: string[] = [];
  private readonly dir = mkdtempSync(join(tmpdir(), 'paddock-requests-'));
  private server?: Server;
  private readonly started = Date.now();

  /** `onRequest` receives each request with the milliseconds since the relay started. */
  constructor(private readonly upstream: string, private readonly onRequest?: (ms: number, request: string) => void) {}

  get host(): string {
    return `unix://${join(this.dir, 'docker.sock')}`;
  }

  async up(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = createConnection(this.upstream);
      client.on('data', (d) => {
        for (const m of d.toString('latin1').matchAll(/^(GET|HEAD|POST|PUT|DELETE) (\S+) HTTP/gm)) {
          this.requests.push(`${m[1]} ${m[2]}`);
          this.onRequest?.(Date.now() - this.started, `${m[1]} ${m[2]}`);
        }
      });
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(join(this.dir, 'docker.sock'), resolve));
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
