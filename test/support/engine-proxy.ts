// A stand-in for the Docker engine's socket that a test can "restart": a unix-socket proxy to
// the real engine. Taking it down looks, to a client, exactly like the engine going away.
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class EngineProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  constructor(readonly path: string, private readonly upstream = '/var/run/docker.sock') {}

  get host(): string {
    return `unix://${this.path}`;
  }

  async up(): Promise<void> {
    // Half-open as the engine's socket is: a client that ends its stdin still reads the output.
    this.server = createServer({ allowHalfOpen: true }, (client) => {
      const upstream = createConnection({ path: this.upstream, allowHalfOpen: true });
      this.sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const drop = () => { client.destroy(); upstream.destroy(); this.sockets.delete(client); this.sockets.delete(upstream); };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.path, resolve));
  }

  async down(): Promise<void> {
    if (!this.server) return;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = undefined;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
