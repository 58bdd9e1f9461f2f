import { OUTSIDE_SUBNETS_VARIABLE } from '../proxy/ownNetworks.js';
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { DEFAULT_NETWORK } from '../core/policy-defaults.js';
import { liveRulesFrom } from '../core/liveRules.js';
import { writeSecretFile } from './stateFolder.js';
import type { RuntimeTraits } from './runtime.js';
import { egressNetworkOf, recordEgressNetwork } from './egressNetwork.js';
import { outsideSubnets, pruneEgressServices, registrationOf, serveSandbox, serviceName, upstreamNetwork, withdrawSandbox, withdrawSandboxAndWait } from './egressService.js';
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { InjectedKey } from '../core/credentials.js';
import { compileEgressRules } from '../core/egress.js';
import { PaddockError } from '../core/errors.js';
import { LABELS, shortHash } from '../core/naming.js';
import type { NetworkPolicy } from '../core/policy.js';
import type { PortMapping } from '../core/options.js';
import { BRIDGE_RELAY_PORT, KEY_INJECTION_PORT, PROXY_HOST, PROXY_PORT, SOCKETS_DIR } from '../proxy/addresses.js';
import { engineMessage, inspectOrUndefined, isAlreadyInState, isGoneOrGoing, isNotFound, startAndWaitForMarker } from './docker.js';
import { egressPaths, forwarderSource, proxySource, writeInjectedKeys } from './egressFiles.js';
import { listedPorts, publishedPorts } from './ports.js';
import type { PublishedPort } from './types.js';
import { EGRESS_LABELS, egressSpecLabel, egressSpecOf } from './egressSpec.js';

export { EGRESS_LABELS, egressSpecLabel, egressSpecOf, type EgressSpec } from './egressSpec.js';

/**
 * A sandbox's way out, in one of two shapes (chosen at create, recorded in its spec label):
 * - shared (./egressService.ts): no network interface but loopback; the engine's one shared egress
 *   service serves it through the sockets in its folder. Where the engine shares this machine's
 *   kernel and the sandbox publishes no port.
 * - own: an `--internal` Docker network (no gateway, no route out) that holds the sandbox and its
 *   own egress proxy container, which is also on a normal network and is the only way out (and
 *   publishes the sandbox's ports). Both are labelled with the sandbox's name, created with it and
 *   removed with it. Docker Desktop, remote engines, VM runtimes, published ports.
 *
 * Its host folder and the files in it: ./egressFiles.ts.
 */

const RELAY_IN_PROXY = '/run/paddock-relay';
const KEYS_IN_PROXY = '/run/paddock-keys';
const CODE_IN_PROXY = '/opt/paddock/paddock-egress.js';
const LOG_IN_PROXY = '/var/log/paddock-egress';
const READY_MARKER = 'paddock-egress: listening';

export function egressNames(sandbox: string): { network: string; proxy: string } {
  const hash = shortHash(`sandbox:${sandbox}`, 12);
  return { network: `paddock-net-${hash}`, proxy: `paddock-egress-${hash}` };
}

/** The environment that sends the sandbox's HTTP(S) clients (curl, git, npm, apt, the agents) to its proxy. */
export function proxyEnv(): Record<string, string> {
  const url = `http://${PROXY_HOST}:${PROXY_PORT}`;
  // The bridge relay is on the proxy itself: clients that honour the variables must not proxy it.
  const noProxy = `localhost,127.0.0.1,::1,${PROXY_HOST}`;
  return { HTTP_PROXY: url, HTTPS_PROXY: url, http_proxy: url, https_proxy: url, NO_PROXY: noProxy, no_proxy: noProxy };
}

export interface EgressSetup {
  /** The sandbox's only network. */
  readonly network: string;
  readonly env: Record<string, string>;
  /** For a sandbox without a network: the socket folder to mount and the host name that makes paddock-egress local. */
  readonly sockets?: { readonly mount: Docker.MountConfig[number]; readonly extraHosts: string[] };
  /**
   * Resolver options for the sandbox. It resolves names on its own network (the proxy) only: Docker's
   * resolver forwards other queries from the sandbox's network namespace, which has no route out, so
   * they fail (no DNS channel out either). Short timeouts make them fail in a second, not twenty.
   */
  readonly dnsOptions: string[];
  /** Labels for the sandbox container (its proxy's recorded spec). */
  readonly labels: Record<string, string>;
}

/** Refuses a network section with bad rules, saying which and how to fix them. Changes nothing. */
export function checkNetworkPolicy(network: NetworkPolicy, source = '.paddock/policy.yaml'): void {
  const { errors } = compileEgressRules(network);
  if (errors.length) {
    throw new PaddockError(`The network rules in ${source} are not valid:\n    ${errors.join('\n    ')}`,
      'Write hosts ("api.example.com"), wildcards ("*.example.com"), host:port, or addresses/CIDRs ("10.0.0.0/8"). Nothing was created.');
  }
}

/**
 * The Paddock base image the engine's shared parts run in (the egress service, the bridge's view
 * helpers): the newest one built from Paddock's default base image with the host's CAs. A base image
 * one sandbox was made with (--base-image, --ca-cert) is never used for the others: the service
 * would trust that sandbox's CAs for every sandbox's upstream TLS. Images from before the label
 * count as default only when no labelled default exists.
 */
export async function paddockBaseImage(docker: Docker): Promise<string | undefined> {
  const images = await docker.listImages({ filters: { label: [`${LABELS.template}=base`] } });
  const tagged = images.filter((i) => i.RepoTags?.some((t) => t !== '<none>:<none>')).sort((a, b) => b.Created - a.Created);
  const origin = (i: (typeof tagged)[number]) => i.Labels?.[LABELS.baseOrigin];
  const chosen = tagged.find((i) => origin(i) === 'default') ?? tagged.find((i) => origin(i) === undefined);
  return chosen?.RepoTags?.find((t) => t !== '<none>:<none>');
}

/** The image the proxy runs in: PADDOCK_EGRESS_IMAGE, the default Paddock base image, else the sandbox's (it needs node). */
export async function proxyImage(docker: Docker, fallbackImage: string): Promise<string> {
  return process.env.PADDOCK_EGRESS_IMAGE || (await paddockBaseImage(docker)) || fallbackImage;
}

export interface EgressOptions {
  readonly network: NetworkPolicy;
  /** Runs the proxy when no Paddock base image is on the engine (it needs node). */
  readonly fallbackImage: string;
  readonly ports?: readonly PortMapping[];
  readonly keys?: readonly InjectedKey[];
  /** The sandbox has no network (gVisor --network=none): it reaches the proxy over Unix sockets. */
  readonly viaSockets?: boolean;
  /** The shared shape: no proxy or network of its own (see egressShapeFor). */
  readonly shared?: boolean;
  /** The network it goes out through (an apply keeps the sandbox's); default: this process's (./egressNetwork.ts). */
  readonly upstream?: string;
}

/**
 * Which shape a new sandbox's egress takes. Shared needs host Unix sockets to reach into the
 * sandbox (an engine on this kernel; a runtime that connects to them) and no published port (Docker
 * publishes nothing from a sandbox without a network; its own proxy does). PADDOCK_EGRESS_SHAPE=own
 * asks for the own shape anyway.
 */
export function egressShapeFor(runtime: RuntimeTraits, ports: readonly PortMapping[], env: NodeJS.ProcessEnv = process.env): 'shared' | 'own' {
  if (env.PADDOCK_EGRESS_SHAPE === 'own' || ports.length || !runtime.sharesHostKernel) return 'own';
  if (runtime.gvisor) return runtime.hostUnixSockets ? 'shared' : 'own';
  // A microVM runtime (Kata, Firecracker) has its own kernel: host sockets do not cross into it.
  return /kata|firecracker|qemu|clh/i.test(runtime.name) ? 'own' : 'shared';
}

/** Creates the sandbox's internal network and its proxy container (not started). */
export async function createEgress(docker: Docker, sandbox: string, options: EgressOptions): Promise<EgressSetup> {
  const { network, fallbackImage, ports = [], keys = [], viaSockets = false, shared = false, upstream = upstreamNetwork() } = options;
  checkNetworkPolicy(network);
  if (shared) return createSharedEgress(sandbox, network, ports, keys, upstream);
  const udp = ports.find((p) => p.protocol !== 'tcp');
  if (udp) {
    throw new PaddockError(`Port ${udp.containerPort}/${udp.protocol} cannot be published: a sandbox's ports are forwarded by its egress proxy, which forwards TCP only.`, 'Publish TCP ports only. Nothing was created.');
  }
  const own = ports.find((p) => [PROXY_PORT, BRIDGE_RELAY_PORT, KEY_INJECTION_PORT].includes(p.containerPort));
  if (own) throw new PaddockError(`Port ${own.containerPort} is one of the egress proxy's own ports inside the sandbox's network (${PROXY_PORT}: proxy, ${BRIDGE_RELAY_PORT}: bridge relay, ${KEY_INJECTION_PORT}: key injection).`, 'Publish another port. Nothing was created.');
  if (!existsSync(proxySource())) {
    throw new PaddockError(`The egress proxy ${proxySource()} is missing.`, 'Reinstall Paddock: the proxy ships with it (from a source checkout, "npm run build" makes it).');
  }
  // Leftovers of an earlier sandbox of the same name go; the image is looked up meanwhile.
  const [image] = await Promise.all([proxyImage(docker, fallbackImage), removeEgress(docker, sandbox)]);
  ensureEgressFolder(sandbox, viaSockets);
  recordEgressNetwork(sandbox, upstream); // its proxy's network now, the way out kept for repairs
  writeInjectedKeys(sandbox, keys);
  const names = egressNames(sandbox);
  const paths = egressPaths(sandbox);
  const proxy: ProxySpec = { image, network, ports, viaSockets };
  try {
    await createSandboxNetwork(docker, sandbox);
    await createProxyContainer(docker, sandbox, proxy);
  } catch (err) {
    await removeEgress(docker, sandbox);
    throw explainEgressFailure(err);
  }
  return {
    network: names.network, env: proxyEnv(), dnsOptions: ['timeout:1', 'attempts:1'], labels: egressSpecLabel(proxy),
    ...(viaSockets ? { sockets: { mount: { Type: 'bind', Source: paths.socketsDir, Target: SOCKETS_DIR, ReadOnly: true } as Docker.MountConfig[number], extraHosts: [`${PROXY_HOST}:127.0.0.1`] } } : {}),
  };
}

/** The shared shape: only the sandbox's folder (its sockets appear when the service serves it, at start). */
function createSharedEgress(sandbox: string, network: NetworkPolicy, ports: readonly PortMapping[], keys: readonly InjectedKey[], upstream: string): EgressSetup {
  if (ports.length) throw new PaddockError('A sandbox that publishes ports needs an egress proxy of its own.', 'This is a bug in Paddock: report it.');
  // Leftovers of an earlier sandbox of the same name go.
  withdrawSandbox(sandbox);
  rmSync(egressPaths(sandbox).dir, { recursive: true, force: true });
  ensureEgressFolder(sandbox, true);
  recordEgressNetwork(sandbox, upstream); // every start has the service of this network serve it
  writeInjectedKeys(sandbox, keys);
  // Its rules from the first start: a proxy of its own has them in its environment, the shared service
  // in the live rules file (prepareSandbox writes it again with the registries it adds).
  writeSecretFile(join(egressPaths(sandbox).keysDir, 'rules.json'), `${JSON.stringify(liveRulesFrom(network, [], 'create'), null, 2)}\n`);
  return {
    network: 'none', env: proxyEnv(), dnsOptions: [], labels: egressSpecLabel({ ports: [], viaSockets: true, shared: true }),
    sockets: { mount: { Type: 'bind', Source: egressPaths(sandbox).socketsDir, Target: SOCKETS_DIR, ReadOnly: true } as Docker.MountConfig[number], extraHosts: [`${PROXY_HOST}:127.0.0.1`] },
  };
}

/**
 * Makes what is missing of the proxy's host folder (./egressFiles.ts), keeping what is there: the
 * log, keys and rules survive a repair. Returns the parts it had to make ("keys folder", ...).
 */
export function ensureEgressFolder(sandbox: string, viaSockets: boolean): string[] {
  const paths = egressPaths(sandbox);
  const made: string[] = [];
  const folder = (path: string, what: string, mode = 0o700) => {
    if (!existsSync(path)) made.push(what);
    mkdirSync(path, { recursive: true, mode });
    chmodSync(path, mode);
  };
  if (!existsSync(paths.dir)) made.push('network state folder');
  folder(paths.logDir, 'log folder');
  folder(paths.relayDir, 'bridge relay folder');
  folder(paths.keysDir, 'keys folder');
  if (viaSockets) {
    if (!existsSync(forwarderSource())) throw new PaddockError(`The network forwarder ${forwarderSource()} is missing.`, 'Reinstall Paddock: the forwarder ships with it (from a source checkout, "npm run build" makes it).');
    // Reached from the sandbox's root (gVisor's gofer) and the proxy's user: not private to either.
    folder(paths.socketsDir, 'socket folder', 0o755);
    copyFileSync(forwarderSource(), paths.forwarder);
    chmodSync(paths.forwarder, 0o644);
  }
  chmodSync(paths.dir, 0o700);
  if (!existsSync(paths.code)) {
    made.push('proxy program');
    copyFileSync(proxySource(), paths.code);
    chmodSync(paths.code, 0o644);
  }
  writeFileSync(join(paths.dir, 'name'), `${sandbox}\n`);
  return made.includes('network state folder') ? ['network state folder'] : made;
}

/** What a sandbox's proxy is made from (recorded on the sandbox, so a removed proxy can be made again: ./repair.ts). */
export interface ProxySpec {
  readonly image: string;
  readonly network: Pick<NetworkPolicy, 'policy' | 'allow' | 'deny'>;
  readonly ports: readonly PortMapping[];
  readonly viaSockets: boolean;
}

/** The sandbox's internal network: no gateway, no route out; its proxy is the only way out. */
export async function createSandboxNetwork(docker: Docker, sandbox: string): Promise<void> {
  await docker.createNetwork({
    Name: egressNames(sandbox).network, Internal: true, CheckDuplicate: true,
    Labels: { [EGRESS_LABELS.for]: sandbox, [LABELS.createdBy]: 'paddock', [EGRESS_LABELS.network]: '1' },
    // Without this the host's end of the bridge has the gateway address, and the sandbox could reach
    // every host service listening on all interfaces through it.
    Options: { 'com.docker.network.bridge.inhibit_ipv4': 'true' },
  } as any);
}

/** Creates the proxy container (its host folder must exist: ./egressFiles.ts) and joins it to the sandbox's network. */
export async function createProxyContainer(docker: Docker, sandbox: string, spec: ProxySpec): Promise<void> {
  const { image, network, ports, viaSockets } = spec;
  const names = egressNames(sandbox);
  const paths = egressPaths(sandbox);
  const upstream = egressNetworkOf(sandbox);
  const outside = await outsideSubnets(docker, upstream);
  // Docker publishes nothing from an internal network, so the proxy publishes the ports and forwards them in.
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of ports) {
    exposed[`${p.containerPort}/tcp`] = {};
    bindings[`${p.containerPort}/tcp`] = [{ HostIp: '127.0.0.1', HostPort: p.hostPort ? String(p.hostPort) : '' }];
  }
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  await docker.createContainer({
    name: names.proxy,
    Image: image,
    Entrypoint: ['node'],
    Cmd: [CODE_IN_PROXY],
    User: `${uid}:${gid}`,
    Env: [
      `PADDOCK_EGRESS_CONFIG=${JSON.stringify({ sandbox, network: { policy: network.policy, allow: network.allow, deny: network.deny } })}`,
      `PADDOCK_EGRESS_LOG=${LOG_IN_PROXY}/egress.jsonl`,
      `PADDOCK_EGRESS_PORT=${PROXY_PORT}`,
      `PADDOCK_EGRESS_FORWARD=${ports.map((p) => p.containerPort).join(',')}`,
      `PADDOCK_EGRESS_FORWARD_TO=${sandbox}`,
      `PADDOCK_EGRESS_BRIDGE_PORT=${BRIDGE_RELAY_PORT}`,
      `PADDOCK_EGRESS_BRIDGE_TARGET=${RELAY_IN_PROXY}/bridge`,
      `PADDOCK_EGRESS_INJECT_PORT=${KEY_INJECTION_PORT}`,
      `PADDOCK_EGRESS_KEYS=${KEYS_IN_PROXY}/keys.json`,
      `PADDOCK_EGRESS_RULES=${KEYS_IN_PROXY}/rules.json`, // live rules, written by the host (./liveRules.ts)
      // A network the user named as the way out is the outside: its addresses are left to the rules
      // (the proxy's own-network refusal covers Docker's default bridge, see src/proxy/ownNetworks.ts).
      ...(outside.length ? [`${OUTSIDE_SUBNETS_VARIABLE}=${outside.join(',')}`] : []),
      ...(viaSockets ? [`PADDOCK_EGRESS_SOCKET_DIR=${SOCKETS_DIR}`] : []),
    ],
    ExposedPorts: exposed,
    Labels: {
      [EGRESS_LABELS.for]: sandbox, [LABELS.createdBy]: 'paddock', [EGRESS_LABELS.proxy]: '1',
      [EGRESS_LABELS.ports]: JSON.stringify(ports.map((p): PublishedPort => ({ containerPort: p.containerPort, protocol: 'tcp', hostIp: '127.0.0.1', hostPort: p.hostPort ?? 0 }))),
    },
    HostConfig: {
      NetworkMode: upstream,
      PortBindings: bindings,
      Mounts: [
        { Type: 'bind', Source: paths.code, Target: CODE_IN_PROXY, ReadOnly: true },
        { Type: 'bind', Source: paths.logDir, Target: LOG_IN_PROXY, ReadOnly: false },
        { Type: 'bind', Source: paths.relayDir, Target: RELAY_IN_PROXY, ReadOnly: true },
        { Type: 'bind', Source: paths.keysDir, Target: KEYS_IN_PROXY, ReadOnly: true },
        ...(viaSockets ? [{ Type: 'bind' as const, Source: paths.socketsDir, Target: SOCKETS_DIR, ReadOnly: false }] : []),
      ],
      // Docker Desktop names the host so by itself; a Linux engine needs this (Docker 20.10+).
      ExtraHosts: ['host.docker.internal:host-gateway'],
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges:true'],
      Init: true,
      Memory: 256 * 1024 * 1024,
      MemorySwap: 256 * 1024 * 1024,
      PidsLimit: 128,
      // A crashed proxy comes back on its own (the sandbox would be cut off until the next start); a stopped one stays stopped.
      RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 5 },
    },
  });
  await docker.getNetwork(names.network).connect({ Container: names.proxy, EndpointConfig: { Aliases: [PROXY_HOST] } });
}

/**
 * The words for a failed network or proxy creation. The engine answers "no address pool left"
 * with a 404 that names a network, so that is asked first: it is not a missing network.
 */
export function explainEgressFailure(err: unknown): unknown {
  const message = engineMessage(err);
  if (/address pool|non-overlapping/i.test(message)) {
    return new PaddockError(
      `Docker has no free address range left for the sandbox's network (each sandbox has its own; the engine said: ${message}). Nothing was created.`,
      'Remove networks you no longer use ("docker network prune"), or give dockerd more address pools: in /etc/docker/daemon.json (Docker Desktop: Settings > Docker Engine) add "default-address-pools": [{"base": "10.201.0.0/16", "size": 24}] (a /16 cut in /24s is 256 networks), then restart Docker.',
    );
  }
  if (/overlap/i.test(message)) {
    return new PaddockError(`The sandbox's network overlaps one the engine has (the engine said: ${message}). Nothing was created.`, 'Remove networks you no longer use ("docker network prune"), then try again.');
  }
  if (isNotFound(err) && /image/i.test(message)) {
    return new PaddockError(`The image for the egress proxy is not on the engine (the engine said: ${message}). Nothing was created.`, 'Unset PADDOCK_EGRESS_IMAGE, or pull that image first.');
  }
  if (isNotFound(err) && /network/i.test(message)) {
    return new PaddockError(`The network "${upstreamNetwork()}" for the egress proxy does not exist. Nothing was created.`, 'Unset PADDOCK_EGRESS_NETWORK, or create that network first.');
  }
  return err;
}

/** Whether the sandbox is served by the shared egress service (its spec label says so). */
export async function sharedEgressOf(docker: Docker, sandbox: string): Promise<boolean> {
  const info = await inspectOrUndefined(docker.getContainer(sandbox));
  return !!egressSpecOf(info?.Config.Labels)?.shared;
}

/** The container of the sandbox's proxy: its own, or the shared service. */
export async function proxyContainerOf(docker: Docker, sandbox: string): Promise<string> {
  return (await sharedEgressOf(docker, sandbox)) ? serviceName(undefined, egressNetworkOf(sandbox)) : egressNames(sandbox).proxy;
}

/** The network rules a sandbox's proxy enforces: the ones it was created with (the policy may have changed since). */
export async function enforcedNetworkOf(docker: Docker, sandbox: string): Promise<Pick<NetworkPolicy, 'policy' | 'allow' | 'deny'>> {
  // The shared service has each sandbox's starting rules in its registration (its live rules file replaces them).
  if (await sharedEgressOf(docker, sandbox)) return registrationOf(sandbox)?.network ?? DEFAULT_NETWORK;
  const info = await docker.getContainer(egressNames(sandbox).proxy).inspect();
  if (info.Config.Labels?.[EGRESS_LABELS.for] !== sandbox) throw new PaddockError(`The egress proxy of ${sandbox} is not Paddock's.`);
  const configLine = (info.Config.Env ?? []).find((e) => e.startsWith('PADDOCK_EGRESS_CONFIG='));
  return JSON.parse(configLine!.slice('PADDOCK_EGRESS_CONFIG='.length)).network;
}

/** The ports a sandbox's proxy publishes for it, by sandbox name (sandboxes behind a proxy publish nothing themselves). */
export async function egressPorts(docker: Docker): Promise<Map<string, PublishedPort[]>> {
  const result = new Map<string, PublishedPort[]>();
  await Promise.all((await docker.listContainers({ all: true, filters: { label: [EGRESS_LABELS.proxy] } })).map(async (c) => {
    // A running proxy's listing has its live bindings; a stopped one's label has what it asked for.
    // Only proxies from before that label need an inspect.
    const asked = parsePortsLabel(c.Labels[EGRESS_LABELS.ports]);
    if (c.State === 'running') {
      result.set(c.Labels[EGRESS_LABELS.for], listedPorts(c.Ports));
    } else if (asked) {
      result.set(c.Labels[EGRESS_LABELS.for], asked);
    } else {
      const info = await inspectOrUndefined(docker.getContainer(c.Id));
      if (info) result.set(c.Labels[EGRESS_LABELS.for], publishedPorts(info));
    }
  }));
  return result;
}

function parsePortsLabel(label: string | undefined): PublishedPort[] | undefined {
  try {
    const ports = label ? JSON.parse(label) : undefined;
    return Array.isArray(ports) ? ports : undefined;
  } catch {
    return undefined; // not Paddock's: inspect instead
  }
}

/** The proxy-published ports of one sandbox; undefined when it has no proxy (created before egress existed). */
export async function egressPortsOf(docker: Docker, sandbox: string): Promise<PublishedPort[] | undefined> {
  const info = await inspectOrUndefined(docker.getContainer(egressNames(sandbox).proxy));
  return info && info.Config.Labels?.[EGRESS_LABELS.for] === sandbox ? publishedPorts(info) : undefined;
}

/**
 * How a TCP-transport bridge reaches this sandbox: through its proxy's relay, or — for sandboxes made
 * before the relay or before egress existed — not through the proxy at all.
 */
export async function bridgeRouteOf(docker: Docker, sandbox: string): Promise<'relay' | 'proxy-without-relay' | 'no-proxy'> {
  if (await sharedEgressOf(docker, sandbox)) return 'relay'; // relay.sock, on loopback :3129 inside
  const info = await inspectOrUndefined(docker.getContainer(egressNames(sandbox).proxy));
  if (info?.Config.Labels?.[EGRESS_LABELS.for] !== sandbox) return 'no-proxy';
  return info.Config.Env?.some((e) => e.startsWith('PADDOCK_EGRESS_BRIDGE_PORT=')) ? 'relay' : 'proxy-without-relay';
}

/** Whether a sandbox has an egress proxy (sandboxes created before Paddock had one sit on Docker's default bridge). */
export async function hasEgress(docker: Docker, sandbox: string): Promise<boolean> {
  const info = await inspectOrUndefined(docker.getContainer(egressNames(sandbox).proxy));
  return info?.Config.Labels?.[EGRESS_LABELS.for] === sandbox;
}

/**
 * How a sandbox reaches the network: through its proxy; directly (made before Paddock had egress:
 * Docker's default bridge, unfiltered); or not at all (its proxy was removed outside Paddock, and
 * its internal network has no other way out).
 */
export async function egressStateOf(docker: Docker, sandbox: string): Promise<'proxied' | 'unproxied' | 'proxy-missing'> {
  const info = await inspectOrUndefined(docker.getContainer(sandbox));
  // The shared service is made again at every start when it is missing.
  if (egressSpecOf(info?.Config.Labels)?.shared) return 'proxied';
  if (await hasEgress(docker, sandbox)) return 'proxied';
  return info?.HostConfig?.NetworkMode === egressNames(sandbox).network ? 'proxy-missing' : 'unproxied';
}

/** What to tell the user about a sandbox whose egress is not its proxy's (undefined when it is). */
export function egressNote(state: 'proxied' | 'unproxied' | 'proxy-missing', sandbox: string): string | undefined {
  if (state === 'unproxied') return `${sandbox} was created without an egress proxy and can reach any host; "paddock apply ${sandbox}" gives it one with the network policy (its state is kept).`;
  if (state === 'proxy-missing') return `The egress proxy of ${sandbox} was removed outside Paddock, so the sandbox has no network (nothing was changed in it); "paddock start ${sandbox}" makes it again and keeps the sandbox's state.`;
  return undefined;
}

/**
 * Starts the sandbox's proxy (no-op for a sandbox without one) and waits until it listens. A shared
 * sandbox is registered with the shared service (`fresh`: a new run, as a stopped sandbox starts).
 */
export async function startEgress(docker: Docker, sandbox: string, shared?: { readonly image: string; readonly fresh: boolean }): Promise<void> {
  if (shared) {
    await serveSandbox(docker, sandbox, { image: () => proxyImage(docker, shared.image), fallbackRules: DEFAULT_NETWORK, fresh: shared.fresh });
    return;
  }
  const container = docker.getContainer(egressNames(sandbox).proxy);
  const info = await inspectOrUndefined(container);
  if (!info || info.Config.Labels?.[EGRESS_LABELS.for] !== sandbox) return;
  if (info.State.Running) return;
  const { outcome, output } = await startAndWaitForMarker(container, READY_MARKER, 30_000,
    (err) => new PaddockError(`The egress proxy of ${sandbox} failed to start: ${engineMessage(err)}`, `Apply the sandbox ("paddock apply ${sandbox}", its state is kept) to make its proxy anew.`));
  if (outcome !== 'ready') {
    throw new PaddockError(`The egress proxy of ${sandbox} did not start listening.`, `Its output: ${output.replace(/[^\x20-\x7e\n]/g, '').trim().slice(-500) || '(none)'}. Apply the sandbox ("paddock apply ${sandbox}", its state is kept) to make its proxy anew.`);
  }
}

export async function stopEgress(docker: Docker, sandbox: string, shared = false): Promise<void> {
  if (shared) return withdrawSandboxAndWait(sandbox);
  withdrawSandbox(sandbox);
  const container = docker.getContainer(egressNames(sandbox).proxy);
  const info = await inspectOrUndefined(container);
  if (!info?.State.Running || info.Config.Labels?.[EGRESS_LABELS.for] !== sandbox) return;
  await container.stop({ t: 2 }).catch((err) => { if (!isAlreadyInState(err) && !isNotFound(err)) throw err; });
}

/**
 * Removes the proxy container and the network of a sandbox (whatever exists of them) and its host
 * folder. Only objects labelled for that sandbox are touched.
 */
export async function removeEgress(docker: Docker, sandbox: string, options: { keepLog?: boolean } = {}): Promise<void> {
  withdrawSandbox(sandbox);
  const names = egressNames(sandbox);
  const container = docker.getContainer(names.proxy);
  const info = await inspectOrUndefined(container);
  if (info && info.Config.Labels?.[EGRESS_LABELS.for] === sandbox) {
    await container.remove({ force: true, v: true }).catch((err) => { if (!isGoneOrGoing(err)) throw err; });
  }
  const network = docker.getNetwork(names.network);
  try {
    const net = await network.inspect();
    if (net.Labels?.[EGRESS_LABELS.for] === sandbox) {
      // A sandbox container still attached (being removed) would block the removal: disconnect it first.
      for (const id of Object.keys(net.Containers ?? {})) await network.disconnect({ Container: id, Force: true }).catch(() => {});
      await network.remove();
    }
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  if (!options.keepLog) rmSync(egressPaths(sandbox).dir, { recursive: true, force: true });
}

/**
 * Removes proxies and networks whose sandbox no longer exists (a crash between steps, or a sandbox
 * removed with plain docker rm). Returns the sandbox names cleaned up.
 */
export async function pruneEgress(docker: Docker, minAgeMs = 120_000): Promise<string[]> {
  // Young objects may belong to a sandbox being created right now (by another Paddock process).
  const old = (created: number) => Date.now() - created > minAgeMs;
  const owners = new Set<string>();
  for (const c of await docker.listContainers({ all: true, filters: { label: [EGRESS_LABELS.proxy] } })) if (old(c.Created * 1000)) owners.add(c.Labels[EGRESS_LABELS.for]);
  for (const n of await docker.listNetworks({ filters: { label: [EGRESS_LABELS.network] } })) if (old(Date.parse(n.Created))) owners.add((n.Labels ?? {})[EGRESS_LABELS.for]);
  const cleaned: string[] = [];
  await pruneEgressServices(docker);
  for (const sandbox of owners) {
    if (!sandbox) continue;
    const info = await inspectOrUndefined(docker.getContainer(sandbox));
    if (info && info.Config.Labels?.[LABELS.sandbox] === '1') continue;
    await removeEgress(docker, sandbox);
    cleaned.push(sandbox);
  }
  return cleaned;
}
