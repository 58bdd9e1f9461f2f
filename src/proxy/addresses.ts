/**
 * Where the pieces of a sandbox's egress proxy listen: shared by the host side (src/engine/egress.ts),
 * the proxy process (./main.ts) and the forwarder inside sandboxes without a network (./netfwd.ts).
 */

/** The proxy's name on the sandbox's network (on loopback, for a sandbox without a network). */
export const PROXY_HOST = 'paddock-egress';
/** The HTTP(S) proxy. */
export const PROXY_PORT = 3128;
/**
 * The bridge relay: where a TCP-transport bridge (Docker Desktop) is reached from the sandbox, which
 * has no route to host.docker.internal itself.
 */
export const BRIDGE_RELAY_PORT = 3129;
/** The key-injecting reverse proxy (see src/core/credentials.ts). */
export const KEY_INJECTION_PORT = 3130;
/** How the sandbox reaches the key-injecting proxy: its agents' base URLs start with this. */
export const KEY_INJECTION_BASE = `http://${PROXY_HOST}:${KEY_INJECTION_PORT}`;
/** Where the socket folder appears, in the proxy and in a sandbox without a network. */
export const SOCKETS_DIR = '/run/paddock-net';
/** In that folder: the proxy's and the key injector's Unix sockets. */
export const PROXY_SOCKET = 'proxy.sock';
export const KEYS_SOCKET = 'keys.sock';
/** The bridge relay's socket (a TCP-transport bridge reached from a sandbox without a network). */
export const RELAY_SOCKET = 'relay.sock';
