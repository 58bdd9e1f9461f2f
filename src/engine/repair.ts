import { existsSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { PaddockError } from '../core/errors.js';
import { DEFAULT_NETWORK } from '../core/policy-defaults.js';
import { mergeLiveRules } from '../core/liveRules.js';
import { KEY_PROVIDERS } from '../core/credentials.js';
import { readApprovedPolicy } from './approvedPolicy.js';
import { inspectOrUndefined, isNotFound } from './docker.js';
import { createProxyContainer, createSandboxNetwork, EGRESS_LABELS, egressNames, egressNote, egressSpecOf, egressStateOf, ensureEgressFolder, proxyImage } from './egress.js';
import { egressPaths, readUpstreams, refreshInjectedKeys } from './egressFiles.js';
import type { SandboxEngine } from './engine.js';
import type { ExecTarget, SandboxClient } from './sandboxClient.js';
import { pushApprovedNetwork, readLiveRules } from './liveRules.js';
import { newToken, prepareBridgeDir, readToken, SANDBOX_BRIDGE_DIR, writeSecretFile, bridgePaths } from './stateFolder.js';
import { PROXY_HOST, SOCKETS_DIR } from '../proxy/addresses.js';
import { recordUserStop } from './stopCause.js';
import type { SandboxDetails } from './types.js';

/**
 * A missing part, repaired at the next start with the sandbox's state kept: Paddock makes again what
 * it owns and someone removed by hand (the egress proxy, the sandbox's network, the proxy's keys
 * folder, the bridge folder or its token), and says what it made. Its workspace is the user's: a
 * deleted one is said (with "paddock rm" offered), never made; one deleted and made again (cloned
 * again) under a running sandbox has the sandbox restarted onto it.
 *
 * What a repair never does: widen the cage. Rules come back from the policy the user approved (kept
 * in the sandbox's state folder), never from a file the sandbox could write; a network or proxy of
 * the right name that Paddock did not make is refused, not adopted.
 */

/** A bearer token as newToken() makes them (32 random bytes, base64url); anything else is not one. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** Said when the workspace folder is gone: the sandbox cannot start without it, and only the user can bring it back. */
export class WorkspaceGone extends PaddockError {
  constructor(readonly sandbox: string, readonly workspace: string) {
    super(`The workspace folder ${workspace} of ${sandbox} is gone (deleted or moved); a sandbox cannot start without its folder.`,
      `Put the folder back at ${workspace} (the sandbox and its state are kept until then), or remove the sandbox and its state with "paddock rm ${sandbox}".`);
  }
}

/**
 * Repairs what is missing of a sandbox before it starts (or, when it runs, before it is used again).
 * Returns one note per repair; [] when nothing was missing. Throws WorkspaceGone when the workspace is.
 */
export async function repairSandbox(engine: SandboxEngine, sandbox: SandboxDetails): Promise<string[]> {
  if (!existsSync(sandbox.workspace)) throw new WorkspaceGone(sandbox.name, sandbox.workspace);
  const notes: string[] = [];
  const replaced = await workspaceReplaced(engine, sandbox);
  if (replaced) notes.push(await restartOntoNewFolder(engine, sandbox));
  notes.push(...repairBridgeFolder(sandbox));
  notes.push(...(await repairEgress(engine, sandbox)));
  if (sandbox.status !== 'running' || replaced) rememberFolder(sandbox); // the start that follows binds this folder
  return notes.map(printable);
}

/** The text with control bytes other than line breaks and tabs removed (a stream's frame header, an escape sequence). */
export function printable(text: string): string {
  return text.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f]/g, '');
}

/** Where the workspace folder's identity (device:inode) is kept from the sandbox's last start by Paddock. */
function startedOnFile(sandbox: string): string {
  return join(bridgePaths(sandbox).dir, 'workspace.inode');
}

function folderIdentity(workspace: string): string {
  const st = statSync(realpathSync(workspace));
  return `${st.dev}:${st.ino}`;
}

/** Remembers the folder a sandbox is about to be started on (so a running one needs a stat, not an exec, in workspaceReplaced). */
export function rememberFolder(sandbox: ExecTarget): void {
  if (existsSync(bridgePaths(sandbox.name).dir)) writeFileSync(startedOnFile(sandbox.name), `${folderIdentity(sandbox.workspace)}\n`);
}

/**
 * Whether a running sandbox's workspace mount holds a folder that is no longer the one at its path
 * (deleted, then made again: a fresh clone): the mount keeps the old, deleted folder, and commands
 * in it fail with the runtime's "possible container breakout detected". The folder it was started
 * on is remembered at each start (a stat, no exec); only when that is unknown or differs is it asked
 * from inside, which takes an exec (up to a second on a busy engine).
 */
export async function workspaceReplaced(engine: SandboxClient, sandbox: ExecTarget): Promise<boolean> {
  if (sandbox.status !== 'running' || !existsSync(sandbox.workspace)) return false;
  let remembered: string | undefined;
  try {
    remembered = readFileSync(startedOnFile(sandbox.name), 'utf8').trim();
  } catch {
    remembered = undefined;
  }
  if (remembered === folderIdentity(sandbox.workspace)) return false;
  const host = statSync(realpathSync(sandbox.workspace));
  // From / : a working directory inside the dead folder is what the runtime refuses. The answer comes
  // from inside, so the sandbox could lie: at most it has itself restarted, or keeps its dead folder.
  const seen = await engine.execCapture(sandbox.id, ['stat', '-c', '%h %i', '--', sandbox.workspace], { workdir: '/' }).catch(() => undefined);
  const [links, inode] = (seen?.stdout.trim() ?? '').split(' ').map(Number);
  if (!seen || seen.exitCode !== 0 || !Number.isFinite(inode)) return false; // cannot tell: leave it running
  const replaced = links === 0 || inode !== host.ino;
  if (!replaced) rememberFolder(sandbox); // the next check is a stat
  return replaced;
}

/** What to say where Paddock does not restart the sandbox itself (paddock exec). */
export function replacedWorkspaceAdvice(sandbox: string, workspace: string): string {
  return `The workspace folder ${workspace} was deleted and made again (cloned again?) while ${sandbox} ran: the sandbox still sees the old, deleted folder. "paddock start ${sandbox}" restarts it onto the new folder (its processes end; its state is kept, and the hide rules are expanded again).`;
}

async function restartOntoNewFolder(engine: SandboxEngine, sandbox: SandboxDetails): Promise<string> {
  await recordUserStop(engine.docker, sandbox); // Paddock's own stop: not "stopped outside Paddock"
  // Docker binds the folder by path at each start: a stop and the start that follows pick up the new one.
  await engine.docker.getContainer(sandbox.id).stop({ t: 2 }).catch((err) => { if (!isNotFound(err) && err?.statusCode !== 304) throw err; });
  return `The workspace folder ${sandbox.workspace} was deleted and made again while ${sandbox.name} ran (it still saw the old, deleted folder): Paddock restarted it onto the new folder, with the hide rules expanded again; its processes ended, its state is kept.`;
}

/** The bridge folder (/run/paddock in the sandbox) and its token. */
function repairBridgeFolder(sandbox: SandboxDetails): string[] {
  const mount = sandbox.mounts.find((m) => m.target === SANDBOX_BRIDGE_DIR && m.type === 'bind');
  if (!mount) return []; // made before the bridge: nothing of Paddock's to repair
  const owner = { uid: sandbox.user.uid, gid: sandbox.user.gid };
  const paths = bridgePaths(sandbox.name);
  if (mount.source !== paths.mountDir) return []; // another state root than this process's: not this process's to repair
  if (!existsSync(paths.mountDir)) {
    prepareBridgeDir(sandbox.name, owner);
    return [`${sandbox.name}: its bridge folder ${paths.dir} was missing: made again with a new token (its audit log and approved rules were in it; the policy the sandbox was created with applies until you apply another).`];
  }
  const token = readToken(paths);
  if (token && TOKEN_SHAPE.test(token)) return [];
  writeSecretFile(paths.token, `${newToken()}\n`, owner);
  return [`${sandbox.name}: its bridge token ${paths.token} was ${token ? 'corrupt' : 'missing'}: a new one was written (the bridge and its agents use it from this start).`];
}

/** The proxy's host folder, the sandbox's network and the proxy container. */
async function repairEgress(engine: SandboxEngine, sandbox: SandboxDetails): Promise<string[]> {
  const docker = engine.docker;
  const names = egressNames(sandbox.name);
  // Side by side: each asks the engine, and a start waits for them.
  const [info, network, found] = await Promise.all([
    docker.getContainer(sandbox.id).inspect(),
    docker.getNetwork(names.network).inspect().catch((err) => { if (isNotFound(err)) return undefined; throw err; }) as Promise<Docker.NetworkInspectInfo | undefined>,
    inspectOrUndefined(docker.getContainer(names.proxy)),
  ]);
  const viaSockets = sandbox.mounts.some((m) => m.target === SOCKETS_DIR && m.source === egressPaths(sandbox.name).socketsDir);
  const onOwnNetwork = info.HostConfig?.NetworkMode === names.network;
  if (!onOwnNetwork && !viaSockets) return []; // made before egress: no proxy to repair (egressNote says so)
  if (found && found.Config.Labels?.[EGRESS_LABELS.for] !== sandbox.name) {
    throw new PaddockError(`A container named ${names.proxy} exists, but it is not the egress proxy Paddock made for ${sandbox.name}; the sandbox is not started with it.`, `Remove that container ("docker rm -f ${names.proxy}") and start again: Paddock then makes the sandbox's proxy again.`);
  }
  const notes: string[] = [];

  const made = ensureEgressFolder(sandbox.name, viaSockets);
  if (made.some((m) => m === 'keys folder' || m === 'network state folder')) notes.push(...(await restoreKeysAndRules(sandbox, made)));
  else {
    if (made.length) notes.push(`${sandbox.name}: its proxy's ${made.join(', ')} ${made.length > 1 ? 'were' : 'was'} missing: made again.`);
    // The keys as this start's environment has them, each upstream as created unless it sets another (said).
    notes.push(...refreshInjectedKeys(sandbox.name, sandbox.injectedKeys, process.env));
  }
  // The shared service is made again, when it is missing, by the start that follows.
  if (sandbox.sharedEgress) return notes;

  if (onOwnNetwork) {
    let current = network;
    if (!current) {
      await createSandboxNetwork(docker, sandbox.name);
      current = await docker.getNetwork(names.network).inspect();
      notes.push(`${sandbox.name}: its network ${names.network} was removed: made again.`);
    } else if (current.Labels?.[EGRESS_LABELS.for] !== sandbox.name) {
      throw new PaddockError(`A network named ${names.network} exists, but Paddock did not make it for ${sandbox.name}; the sandbox is not started on it.`, `Remove that network ("docker network rm ${names.network}") and start again: Paddock then makes the sandbox's own.`);
    }
    // A container still holding an endpoint of a removed network (its old id) would not start: the
    // endpoint goes, so that the sandbox's start joins the new network; the proxy joins it again by name.
    await dropStaleEndpoint(docker, current, info, false);
    if (found) await dropStaleEndpoint(docker, current, found, true);
  }

  if (!found) {
    const spec = egressSpecOf(info.Config.Labels);
    const live = readLiveRules(sandbox.name);
    const rules = live ? mergeLiveRules(live) : readApprovedPolicy(sandbox.name)?.policy.network ?? DEFAULT_NETWORK;
    await createProxyContainer(docker, sandbox.name, {
      image: await proxyImage(docker, sandbox.image), network: rules, ports: spec?.ports ?? [], viaSockets,
    });
    const ports = spec?.ports.length ? `, publishing ${spec.ports.map((p) => `${p.hostPort || 'a free port'} -> ${p.containerPort}`).join(', ')}` : '';
    notes.push(`${sandbox.name}: its egress proxy ${names.proxy} was removed: made again with its network rules${ports}.${spec ? '' : ` (It was made by an older Paddock that did not record its published ports: "paddock apply ${sandbox.name}" publishes them again, its state kept.)`}`);
  }
  return notes;
}

/** Replaces a container's endpoint of a removed network by one of its new namesake (the proxy under its alias). */
async function dropStaleEndpoint(docker: Docker, network: Docker.NetworkInspectInfo, container: Docker.ContainerInspectInfo, isProxy: boolean): Promise<void> {
  const endpoint = container.NetworkSettings?.Networks?.[network.Name];
  const stale = !!endpoint?.NetworkID && endpoint.NetworkID !== network.Id;
  if (endpoint && !stale) return;
  const net = docker.getNetwork(network.Id);
  if (stale) await net.disconnect({ Container: container.Id, Force: true }).catch(() => {});
  await net.connect({ Container: container.Id, ...(isProxy ? { EndpointConfig: { Aliases: [PROXY_HOST] } } : {}) });
}

/** A deleted keys folder: the keys come back from this process's environment, the rules from the approved policy. */
async function restoreKeysAndRules(sandbox: SandboxDetails, made: readonly string[]): Promise<string[]> {
  const unrecorded = sandbox.injectedKeys.filter((id) => !readUpstreams(sandbox.name)[id]);
  const notes = refreshInjectedKeys(sandbox.name, sandbox.injectedKeys, process.env);
  const missing = sandbox.injectedKeys.filter((id) => !KEY_PROVIDERS[id].keys.some((k) => !!process.env[k.env]?.trim()));
  const approved = readApprovedPolicy(sandbox.name);
  await pushApprovedNetwork(sandbox.name, approved?.policy.network ?? DEFAULT_NETWORK, 'repair (rules restored from the approved policy)');
  const what = made.includes('network state folder') ? `its proxy's state folder ${egressPaths(sandbox.name).dir}` : `its proxy's keys folder ${egressPaths(sandbox.name).keysDir}`;
  const parts = [
    `${sandbox.name}: ${what} was missing: made again`,
    sandbox.injectedKeys.length ? `; keys read again from this environment (${sandbox.injectedKeys.map((id) => KEY_PROVIDERS[id].keys[0].env).join(', ')})` : '',
    `; network rules restored from the ${approved ? 'approved policy' : 'default policy (no approved one was recorded)'} (rules allowed for one run only are gone).`,
    missing.length ? ` ${missing.map((id) => KEY_PROVIDERS[id].keys.map((k) => k.env).join(' or ')).join(', ')} ${missing.length > 1 ? 'are' : 'is'} not set here: the proxy has no such key until a start from an environment that has it.` : '',
    unrecorded.length ? ` The upstream of ${unrecorded.join(', ')} was not recorded: requests go to ${unrecorded.map((id) => KEY_PROVIDERS[id].baseUrlEnv).join(', ')} of this environment, else the provider's default.` : '',
  ];
  return [parts.join(''), ...notes];
}

/**
 * What a failed `paddock exec` cannot show by itself: its sandbox's workspace was replaced under it
 * (the runtime refuses with 126, "possible container breakout detected"), or its proxy is gone (a
 * command that needed the network failed). Asked only after a failure, so a working exec pays nothing.
 */
export async function execFailureNote(engine: SandboxClient, sandbox: ExecTarget, exitCode: number): Promise<string | undefined> {
  if (exitCode === 0 || exitCode === 137) return undefined; // 137: the memory kill is said by stopCause
  if (exitCode === 126 && (await workspaceReplaced(engine, sandbox).catch(() => false))) return replacedWorkspaceAdvice(sandbox.name, sandbox.workspace);
  return egressNote(await egressStateOf(engine.docker, sandbox.name).catch(() => 'proxied' as const), sandbox.name);
}
