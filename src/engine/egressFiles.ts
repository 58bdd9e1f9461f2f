import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeSecretFile } from './stateFolder.js';
import { hostKeyFor, KEY_PROVIDERS, type InjectedKey, type KeyProviderId } from '../core/credentials.js';
import { shortHash } from '../core/naming.js';
import { assetRoot } from './assets.js';

/**
 * The host folder of each sandbox's egress proxy, and the files the host writes there for it:
 *   <root>/<hash of sandbox name>/
 *     paddock-egress.js   the proxy (copied at create; mounted read-only in the proxy container)
 *     log/egress.jsonl    the decisions, one JSON object per line ("paddock network log")
 *     keys/keys.json      API keys the proxy injects, by provider (0600; mounted read-only in the proxy,
 *                         never in the sandbox); rewritten from the host's environment at each start
 *     net/                only for sandboxes without a network (the shared shape, ./egressService.ts,
 *                         and gVisor --network=none): the proxy's Unix sockets (proxy.sock, keys.sock,
 *                         relay.sock) and paddock-netfwd.js (its presence starts the sandbox's
 *                         forwarder, socat where the image has it), which put them on loopback as
 *                         paddock-egress:3128/3130/3129; mounted read-only at /run/paddock-net
 *     relay/bridge        where the bridge relay connects ("host.docker.internal:PORT") while a
 *                         bridge runs over TCP (Docker Desktop); mounted read-only in the proxy
 *     name                the sandbox name, for people reading the folder
 */

export function networkRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PADDOCK_NETWORK_DIR) return env.PADDOCK_NETWORK_DIR;
  const state = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(state, 'paddock', 'network');
}

/** The name of a sandbox's folder in the network state folder. */
export function egressFolderId(sandbox: string): string {
  return shortHash(`sandbox:${sandbox}`, 12);
}

export function egressPaths(sandbox: string, root = networkRoot()): { dir: string; code: string; logDir: string; log: string; relayDir: string; bridgeTarget: string; keysDir: string; keys: string; socketsDir: string; forwarder: string } {
  const dir = join(root, egressFolderId(sandbox));
  return {
    dir, code: join(dir, 'paddock-egress.js'), logDir: join(dir, 'log'), log: join(dir, 'log', 'egress.jsonl'),
    relayDir: join(dir, 'relay'), bridgeTarget: join(dir, 'relay', 'bridge'),
    keysDir: join(dir, 'keys'), keys: join(dir, 'keys', 'keys.json'),
    socketsDir: join(dir, 'net'), forwarder: join(dir, 'net', 'paddock-netfwd.js'),
  };
}

/** The built proxy: dist/paddock-egress.js next to the CLI (npm run build makes it). */
export function proxySource(): string {
  return join(assetRoot(), 'dist', 'paddock-egress.js');
}

/** The in-sandbox forwarder for sandboxes without a network (dist/paddock-netfwd.js). */
export function forwarderSource(): string {
  return join(assetRoot(), 'dist', 'paddock-netfwd.js');
}

/**
 * Where each injected provider's requests go, by provider: what the sandbox was created with, or the
 * user last changed it to (no key values: it sits beside the keys folder, so a deleted keys folder
 * does not lose it).
 */
export function upstreamsFile(sandbox: string): string {
  return join(egressPaths(sandbox).dir, 'upstreams.json');
}

/** The recorded upstreams; {} when none are recorded (an older sandbox, or a removed folder). */
export function readUpstreams(sandbox: string): Partial<Record<KeyProviderId, string>> {
  try {
    const data = JSON.parse(readFileSync(upstreamsFile(sandbox), 'utf8'));
    return data && typeof data === 'object' ? data : {};
  } catch {
    return {};
  }
}

function readKeys(sandbox: string): Record<string, InjectedKey> {
  try {
    const data = JSON.parse(readFileSync(egressPaths(sandbox).keys, 'utf8'));
    return data && typeof data === 'object' ? data : {};
  } catch {
    return {};
  }
}

/**
 * Writes the keys the sandbox's proxy injects (0600, the proxy runs as this user), and records their
 * upstreams. `keepOthers` keeps providers not in `keys` (a start whose environment lacks a key keeps
 * the one from before).
 */
export function writeInjectedKeys(sandbox: string, keys: readonly InjectedKey[], options: { keepOthers?: boolean } = {}): void {
  const paths = egressPaths(sandbox);
  if (!existsSync(paths.keysDir)) return;
  const byProvider: Record<string, InjectedKey> = options.keepOthers ? readKeys(sandbox) : {};
  for (const key of keys) byProvider[key.provider] = key;
  writeSecretFile(paths.keys, `${JSON.stringify(byProvider)}\n`);
  const upstreams = Object.fromEntries(Object.values(byProvider).map((k) => [k.provider, k.upstream]));
  writeSecretFile(upstreamsFile(sandbox), `${JSON.stringify({ ...(options.keepOthers ? readUpstreams(sandbox) : {}), ...upstreams })}\n`);
}

/**
 * At each start: the keys of the sandbox's providers as the starting process's environment has them
 * now. The upstream stays what the sandbox was created with (or the user last set) unless this
 * environment sets the provider's base URL variable to another one: a start from a shell without
 * ANTHROPIC_BASE_URL must not send the key to the public default instead of the company gateway.
 * Returns what to tell the user (an upstream kept or changed).
 */
export function refreshInjectedKeys(sandbox: string, providers: readonly KeyProviderId[], hostEnv: Readonly<Record<string, string | undefined>>): string[] {
  if (!providers.length) return [];
  const recorded = { ...Object.fromEntries(Object.values(readKeys(sandbox)).map((k) => [k.provider, k.upstream])), ...readUpstreams(sandbox) };
  const keys: InjectedKey[] = [];
  const notes: string[] = [];
  for (const id of providers) {
    const provider = KEY_PROVIDERS[id];
    let key: InjectedKey | undefined;
    try {
      key = hostKeyFor(provider, hostEnv);
    } catch {
      continue; // a broken base URL on the host: keep the key and upstream from before
    }
    if (!key) continue;
    const before = recorded[id];
    if (before && before !== key.upstream) {
      if (hostEnv[provider.baseUrlEnv]?.trim()) {
        notes.push(`${sandbox}: ${provider.label} requests now go to ${key.upstream} (${provider.baseUrlEnv} of this start), no longer to ${before}.`);
      } else {
        key = { ...key, upstream: before };
        notes.push(`${sandbox}: ${provider.baseUrlEnv} is not set here, so ${provider.label} requests keep going to ${before}, as before; set ${provider.baseUrlEnv} to change that.`);
      }
    }
    keys.push(key);
  }
  if (keys.length) writeInjectedKeys(sandbox, keys, { keepOthers: true });
  return notes;
}

/** Points the sandbox's bridge relay at a listener ("host.docker.internal:PORT"), or at nothing. */
export function setBridgeRelayTarget(sandbox: string, target: string | undefined): void {
  const paths = egressPaths(sandbox);
  if (!existsSync(paths.relayDir)) return;
  const tmp = `${paths.bridgeTarget}.tmp`;
  writeFileSync(tmp, target ? `${target}\n` : '', { mode: 0o644 });
  renameSync(tmp, paths.bridgeTarget);
}

/** The relay's current target, as the host wrote it. */
export function bridgeRelayTarget(sandbox: string): string | undefined {
  try {
    return readFileSync(egressPaths(sandbox).bridgeTarget, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
