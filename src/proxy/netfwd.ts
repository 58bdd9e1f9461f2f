// paddock-netfwd: runs inside a sandbox that has no network interface, started by paddock-init when
// the image has no socat (which it prefers: a node process costs tens of megabytes). It gives the
// sandbox paddock-egress:3128 (the proxy), :3130 (key injection) and :3129 (the bridge relay) on
// loopback (/etc/hosts names paddock-egress 127.0.0.1), each relayed to the proxy's Unix socket in
// the mounted folder. Node 18+, no deps.
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { BRIDGE_RELAY_PORT, KEY_INJECTION_PORT, KEYS_SOCKET, PROXY_PORT, PROXY_SOCKET, RELAY_SOCKET, SOCKETS_DIR } from './addresses.js';
import { pipeBoth } from './relay.js';

const dir = process.env.PADDOCK_NET_DIR ?? SOCKETS_DIR;
const routes: [number, string][] = [[PROXY_PORT, PROXY_SOCKET], [KEY_INJECTION_PORT, KEYS_SOCKET], [BRIDGE_RELAY_PORT, RELAY_SOCKET]];
let listening = 0;
for (const [port, socket] of routes) {
  createServer((client) => pipeBoth(client, connect(join(dir, socket))))
    .on('error', (err) => { process.stderr.write(`paddock-netfwd: port ${port}: ${err.message}\n`); process.exit(1); })
    .listen(port, '127.0.0.1', () => {
      if (++listening === routes.length) process.stdout.write(`paddock-netfwd: listening on 127.0.0.1:${routes.map(([p]) => p).join(',')}\n`);
    });
}
