// The egress proxy's process, bundled to dist/paddock-egress.js and run with node: either as the
// shared egress service of an engine (PADDOCK_EGRESS_SERVICE_ROOT set: ./service.ts), or in a proxy
// container of one sandbox (see src/engine/egress.ts), configured from the environment:
//   PADDOCK_EGRESS_CONFIG  JSON {"sandbox": NAME, "network": {policy, allow, deny}}
//   PADDOCK_EGRESS_RULES   the host's live rules file (src/core/liveRules.ts), in the read-only keys
//                          folder: once it exists it replaces the rules above, and each change is in
//                          force within a second (./liveRules.ts); a file that does not parse is refused
//   PADDOCK_EGRESS_LOG     the JSON-lines log file (a host folder is mounted there); questions.json next
//                          to it lists the questions about hosts no rule names (src/core/networkQuestions.ts)
//   PADDOCK_EGRESS_PORT    listening port (default 3128)
//   PADDOCK_EGRESS_FORWARD / _TO  ports published for the sandbox: each is forwarded to the same
//                          port of the sandbox (Docker publishes nothing from an internal network)
//   PADDOCK_EGRESS_BRIDGE_PORT / _TARGET  the bridge relay: connections to this port go to the
//                          HOST:PORT named in the target file (the bridge's TCP listener on Docker
//                          Desktop), which the host writes while a bridge runs
//   PADDOCK_EGRESS_INJECT_PORT / PADDOCK_EGRESS_KEYS  the key-injecting reverse proxy and its keys
//                          file (JSON by provider, written by the host; the sandbox never sees it)
//   PADDOCK_EGRESS_SOCKET_DIR  also serve both on Unix sockets there (proxy.sock, keys.sock), for a
//                          sandbox without a network (gVisor --network=none)
import { dirname, join } from 'node:path';
import { PROXY_PORT } from './addresses.js';
import { startEgressInstance } from './instance.js';
import { runEgressService, SERVICE_ROOT_VARIABLE, SERVICE_UPSTREAM_VARIABLE } from './service.js';

function fail(message: string): never {
  process.stderr.write(`paddock-egress: ${message}\n`);
  process.exit(2);
}

function ownProxy(): void {
  const configText = process.env.PADDOCK_EGRESS_CONFIG;
  if (!configText) fail('PADDOCK_EGRESS_CONFIG is not set');
  let config: { sandbox: string; network: { policy: 'allow' | 'deny'; allow: string[]; deny: string[] } };
  try {
    config = JSON.parse(configText);
  } catch (err) {
    fail(`PADDOCK_EGRESS_CONFIG is not JSON: ${(err as Error).message}`);
  }
  const logFile = process.env.PADDOCK_EGRESS_LOG;
  const port = Number(process.env.PADDOCK_EGRESS_PORT ?? PROXY_PORT);
  let instance;
  try {
    instance = startEgressInstance({
      sandbox: config.sandbox, network: config.network, logFile,
      questionsFile: logFile ? join(dirname(logFile), 'questions.json') : undefined,
      rulesFile: process.env.PADDOCK_EGRESS_RULES,
      keysFile: process.env.PADDOCK_EGRESS_INJECT_PORT ? process.env.PADDOCK_EGRESS_KEYS : undefined,
      relayTargetFile: process.env.PADDOCK_EGRESS_BRIDGE_PORT ? process.env.PADDOCK_EGRESS_BRIDGE_TARGET : undefined,
      tcp: {
        port, injectPort: Number(process.env.PADDOCK_EGRESS_INJECT_PORT ?? 0) || undefined, bridgePort: Number(process.env.PADDOCK_EGRESS_BRIDGE_PORT ?? 0) || undefined,
        forward: (process.env.PADDOCK_EGRESS_FORWARD ?? '').split(',').filter(Boolean).map(Number), forwardTo: process.env.PADDOCK_EGRESS_FORWARD_TO,
      },
      socketDir: process.env.PADDOCK_EGRESS_SOCKET_DIR,
      say: (line) => process.stdout.write(`paddock-egress: ${line}\n`),
    });
  } catch (err) {
    fail((err as Error).message);
  }
  instance.listening.then(
    () => process.stdout.write(`paddock-egress: listening on :${port} for ${config.sandbox} (policy ${config.network.policy}, ${config.network.allow.length} allow, ${config.network.deny.length} deny rules)\n`),
    (err) => fail(`cannot listen: ${(err as Error).message}`),
  );
  const stop = () => {
    instance.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

const serviceRoot = process.env[SERVICE_ROOT_VARIABLE];
// libuv's threads (every lookup takes one while it runs) are shared by every sandbox of the service:
// more than its 4, so that one sandbox's lookups (at most MAX_LOOKUPS at once, ./server.ts) never
// hold them all. Read when the pool first starts, which nothing has made it do yet.
if (serviceRoot) process.env.UV_THREADPOOL_SIZE ??= '32';
if (serviceRoot) runEgressService(serviceRoot, process.env[SERVICE_UPSTREAM_VARIABLE] || undefined);
else ownProxy();
