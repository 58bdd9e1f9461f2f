import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { dirname, join } from 'node:path';
import type Docker from 'dockerode';
import { PaddockError } from '../core/errors.js';
import { mergeLiveRules, parseLiveRules } from '../core/liveRules.js';
import { LABELS, shortHash } from '../core/naming.js';
import type { NetworkPolicy } from '../core/policy.js';
import { OUTSIDE_SUBNETS_VARIABLE } from '../proxy/ownNetworks.js';
import { SERVICE_ROOT_VARIABLE, SERVICE_UPSTREAM_VARIABLE } from '../proxy/service.js';
import { PROXY_SOCKET } from '../proxy/addresses.js';
import { sandboxFiles, SERVE_FOLDER, type Registration } from '../proxy/serviceLayout.js';
import { engineMessage, inspectOrUndefined, isAlreadyInState, isConflict, isGoneOrGoing, isNotFound } from './docker.js';
import { egressFolderId, egressPaths, networkRoot, proxySource } from './egressFiles.js';
import { egressNetworkOf, processEgressNetwork } from './egressNetwork.js';

/**
 * The shared egress service: one long-lived proxy container per engine (per network state folder
 * and way out) that is the egress proxy of every sandbox made in the shared shape. Such a sandbox
 * has no network interface but loopback (NetworkMode none): no Docker network of its own, no proxy
 * container of its own, so an engine holds as many as its memory allows, and a start costs one
 * container. It reaches the service only through the sockets in its own folder (<root>/<id>/net,
 * mounted read-only at /run/paddock-net); the service serves each folder with that sandbox's rules,
 * keys, log and questions (src/proxy/service.ts). The host registers a sandbox at each start and
 * withdraws it at stop (src/proxy/serviceLayout.ts), and waits for the service's answer.
 */

export const SERVICE_LABELS = {
  /** On the service container: its network state folder on the host. */
  service: 'dev.paddock.egress-service',
  /** On the service container: a hash of the proxy program it runs (another program: it is replaced). */
  code: 'dev.paddock.egress-code',
  /** On the service container: the network it goes out through. */
  upstream: 'dev.paddock.egress-upstream',
} as const;

const ROOT_IN_SERVICE = '/run/paddock-egress';
const CODE_FILE = 'paddock-egress.js';

/** Where this process's new sandboxes go out: Docker's default bridge, or a network named by PADDOCK_EGRESS_NETWORK (a sandbox keeps its own: ./egressNetwork.ts). */
export function upstreamNetwork(): string {
  return processEgressNetwork();
}

/** The service's container name: one per network state folder and way out. */
export function serviceName(root = networkRoot(), upstream = upstreamNetwork()): string {
  return `paddock-egress-service-${shortHash(`${root}\n${upstream}`, 12)}`;
}

/**
 * The subnets of a network the user named as the way out (PADDOCK_EGRESS_NETWORK): the outside, whose
 * addresses the rules decide (the proxy's own-network refusal, src/proxy/ownNetworks.ts, skips them).
 * Docker's default bridge is never the outside.
 */
export async function outsideSubnets(docker: Docker, upstream = upstreamNetwork()): Promise<string[]> {
  if (upstream === 'bridge') return [];
  const info = await docker.getNetwork(upstream).inspect().catch(() => undefined);
  return (info?.IPAM?.Config ?? []).map((c: { Subnet?: string }) => c.Subnet).filter((x: string | undefined): x is string => !!x);
}

function codeHash(): string {
  return createHash('sha256').update(readFileSync(proxySource())).digest('hex').slice(0, 16);
}

/**
 * Makes sure the service runs the installed proxy program: starts it, makes it (from `image`, which
 * needs node), or replaces one that runs another program (an upgrade; its open connections are cut).
 */
export async function ensureEgressService(docker: Docker, image: () => Promise<string>, upstream = upstreamNetwork(), attempt = 1): Promise<void> {
  const root = networkRoot();
  const name = serviceName(root, upstream);
  const hash = codeHash();
  const container = docker.getContainer(name);
  let info = await inspectOrUndefined(container);
  if (info && info.Config.Labels?.[SERVICE_LABELS.service] !== root) {
    throw new PaddockError(`A container named ${name} exists, but it is not Paddock's egress service for ${root}.`, `Remove it ("docker rm -f ${name}") and start again.`);
  }
  if (info && info.Config.Labels?.[SERVICE_LABELS.code] !== hash) {
    await container.remove({ force: true }).catch((err) => { if (!isGoneOrGoing(err)) throw err; });
    info = undefined;
  }
  if (info?.State.Running) return;
  if (!info) {
    await removeOlderSiblings(docker, root, hash);
    mkdirSync(join(root, SERVE_FOLDER), { recursive: true, mode: 0o700 });
    chmodSync(root, 0o700);
    // Renamed into place: a service starting meanwhile reads a whole program.
    const code = join(root, CODE_FILE);
    copyFileSync(proxySource(), `${code}.${process.pid}.tmp`);
    chmodSync(`${code}.${process.pid}.tmp`, 0o644);
    renameSync(`${code}.${process.pid}.tmp`, code);
    const outside = await outsideSubnets(docker, upstream);
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    try {
      await docker.createContainer({
        name,
        Image: await image(),
        Entrypoint: ['node'],
        Cmd: [`${ROOT_IN_SERVICE}/${CODE_FILE}`],
        User: `${uid}:${gid}`,
        Env: [
          `${SERVICE_ROOT_VARIABLE}=${ROOT_IN_SERVICE}`,
          `${SERVICE_UPSTREAM_VARIABLE}=${upstream}`,
          ...(outside.length ? [`${OUTSIDE_SUBNETS_VARIABLE}=${outside.join(',')}`] : []),
        ],
        Labels: { [SERVICE_LABELS.service]: root, [SERVICE_LABELS.code]: hash, [SERVICE_LABELS.upstream]: upstream, [LABELS.createdBy]: 'paddock' },
        HostConfig: {
          NetworkMode: upstream,
          // The whole state folder: every sandbox's sockets, logs, keys and rules (no sandbox sees more than its own net/).
          Mounts: [{ Type: 'bind', Source: root, Target: ROOT_IN_SERVICE, ReadOnly: false }],
          // Docker Desktop names the host so by itself; a Linux engine needs this (Docker 20.10+).
          ExtraHosts: ['host.docker.internal:host-gateway'],
          ReadonlyRootfs: true,
          CapDrop: ['ALL'],
          SecurityOpt: ['no-new-privileges:true'],
          Init: true,
          Memory: 1024 * 1024 * 1024,
          MemorySwap: 1024 * 1024 * 1024,
          PidsLimit: 256,
          // A crash comes back on its own; an exit 0 (its state folder was removed) stays down.
          RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 10 },
        },
      });
    } catch (err) {
      if (!isConflict(err)) throw explainServiceFailure(err, upstream);
      // Another Paddock process made it at the same time: start that one.
    }
  }
  await container.start().catch(async (err) => {
    if (isAlreadyInState(err)) return;
    // Removed between the look and the start (another process's sweep or upgrade): made again.
    if (isNotFound(err) && attempt < 3) return ensureEgressService(docker, image, upstream, attempt + 1);
    throw explainServiceFailure(err, upstream);
  });
}

/**
 * Removes the services of other networks on this state folder that run an older program: before
 * services kept to their own network's sandboxes, each served every registration of the folder.
 */
async function removeOlderSiblings(docker: Docker, root: string, hash: string): Promise<void> {
  const siblings = await docker.listContainers({ all: true, filters: { label: [`${SERVICE_LABELS.service}=${root}`] } }).catch(() => []);
  for (const c of siblings) {
    if (c.Labels?.[SERVICE_LABELS.code] === hash) continue;
    await docker.getContainer(c.Id).remove({ force: true }).catch((err) => { if (!isGoneOrGoing(err)) throw err; });
  }
}

function explainServiceFailure(err: unknown, upstream: string): unknown {
  const message = engineMessage(err);
  if (/network/i.test(message) && /not found/i.test(message)) {
    return new PaddockError(`The network "${upstream}" for the egress service does not exist.`, `Create that network again, or apply the sandbox with another one ("PADDOCK_EGRESS_NETWORK=NETWORK paddock apply SANDBOX"; the sandbox goes out through the network it was created with).`);
  }
  return err;
}

function registrationFile(sandbox: string): string {
  return join(networkRoot(), SERVE_FOLDER, `${egressFolderId(sandbox)}.json`);
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** The rules the service starts the sandbox with: its live rules file, else the fallback (the file is read again at once anyway). */
function startingRules(sandbox: string, fallback: Pick<NetworkPolicy, 'policy' | 'allow' | 'deny'>): Registration['network'] {
  try {
    const live = mergeLiveRules(parseLiveRules(readFileSync(join(egressPaths(sandbox).keysDir, 'rules.json'), 'utf8')));
    return { policy: live.policy, allow: [...live.allow], deny: [...live.deny] };
  } catch {
    return { policy: fallback.policy, allow: [...fallback.allow], deny: [...fallback.deny] };
  }
}

/** The registration the service follows now (undefined: the sandbox is not served). */
export function registrationOf(sandbox: string): Registration | undefined {
  return readJson<Registration>(registrationFile(sandbox));
}

/** Whether the service answered that it serves this run. */
function served(sandbox: string, run: string): boolean {
  return readJson<{ run?: string }>(sandboxFiles(networkRoot(), egressFolderId(sandbox)).serving)?.run === run;
}

/**
 * Has the service serve the sandbox (a new run: questions and open connections of the last run go),
 * unless it serves it already and `fresh` is not asked. Resolves once it listens on the sandbox's sockets.
 */
export async function serveSandbox(docker: Docker, sandbox: string, options: { image: () => Promise<string>; fallbackRules: Pick<NetworkPolicy, 'policy' | 'allow' | 'deny'>; fresh: boolean; timeoutMs?: number }): Promise<void> {
  // The way out it was created with, whatever this process's environment says (./egressNetwork.ts).
  const upstream = egressNetworkOf(sandbox);
  const current = registrationOf(sandbox);
  let run = current?.run;
  if (options.fresh || !run || !served(sandbox, run) || current?.upstream !== upstream) {
    run = randomBytes(6).toString('hex');
    const registration: Registration = { sandbox, run, network: startingRules(sandbox, options.fallbackRules), upstream };
    const file = registrationFile(sandbox);
    mkdirSync(join(networkRoot(), SERVE_FOLDER), { recursive: true, mode: 0o700 });
    writeFileSync(`${file}.tmp`, `${JSON.stringify(registration)}\n`, { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }
  await ensureEgressService(docker, options.image, upstream);
  const answer = sandboxFiles(networkRoot(), egressFolderId(sandbox)).serving;
  const thisRun = run;
  if (!(await becomes(() => served(sandbox, thisRun), dirname(answer), options.timeoutMs ?? 20_000))) {
    const service = serviceName(networkRoot(), upstream);
    const logs = await (docker.getContainer(service).logs({ stdout: true, stderr: true, tail: 10 } as any) as unknown as Promise<Buffer>).then((b) => String(b).replace(/[^\x20-\x7e\n]/g, '').trim(), () => '(no log)');
    throw new PaddockError(`The egress service ${service} did not take ${sandbox} in time, so the sandbox has no network.`, `Its log ends with: ${logs.slice(-500) || '(nothing)'}. Start the sandbox again; "docker rm -f ${service}" makes the service anew at the next start.`);
  }
}

/**
 * Whether `ready()` comes true within `timeoutMs`: looked at when `folder` changes (the service
 * renames its answer into it, and the kernel says so at once), and every 250 ms besides, should a
 * change go unseen (no watch on the folder, a lost event).
 */
function becomes(ready: () => boolean, folder: string, timeoutMs: number): Promise<boolean> {
  if (ready()) return Promise.resolve(true);
  return new Promise((resolveReady) => {
    let watcher: FSWatcher | undefined;
    const finish = (result: boolean) => {
      clearInterval(timer);
      clearTimeout(deadline);
      watcher?.close();
      resolveReady(result);
    };
    const look = () => { if (ready()) finish(true); };
    const timer = setInterval(look, 250);
    const deadline = setTimeout(() => finish(ready()), timeoutMs);
    try {
      watcher = watch(folder, look);
      watcher.on('error', () => {}); // the interval still looks
    } catch {
      // no such folder yet, or no watches left: the interval looks
    }
    look(); // an answer written before the watch began
  });
}

/** The service stops serving the sandbox (it closes its sockets and cuts its connections). */
export function withdrawSandbox(sandbox: string): void {
  rmSync(registrationFile(sandbox), { force: true });
}

/**
 * Withdraws the sandbox and waits (at most `timeoutMs`) until the service has closed its proxy
 * socket, so that a stop that returned is a stop done. A service that is not running leaves its
 * socket file behind: the wait then ends at the bound, and the stopped sandbox cannot use it anyway.
 */
export async function withdrawSandboxAndWait(sandbox: string, timeoutMs = 2_000): Promise<void> {
  withdrawSandbox(sandbox);
  const sockets = sandboxFiles(networkRoot(), egressFolderId(sandbox)).sockets;
  await becomes(() => !existsSync(join(sockets, PROXY_SOCKET)), sockets, timeoutMs);
}

/**
 * Removes stopped services whose state folder is gone (a test's temporary folder, a removed state
 * folder): they exit by themselves then and would stay behind. Returns their names.
 */
export async function pruneEgressServices(docker: Docker): Promise<string[]> {
  const removed: string[] = [];
  for (const c of await docker.listContainers({ all: true, filters: { label: [SERVICE_LABELS.service] } })) {
    if (c.State === 'running' || existsSync(join(c.Labels[SERVICE_LABELS.service] ?? '/nonexistent', SERVE_FOLDER))) continue;
    await docker.getContainer(c.Id).remove({ force: true }).catch(() => {});
    removed.push((c.Names[0] ?? c.Id).replace(/^\//, ''));
  }
  return removed;
}
