import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statfsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type Docker from 'dockerode';
import { KEY_PLACEHOLDER, KEY_PROVIDERS, parseProviderList, providerVariables, type InjectedKey, type KeyInjectionPlan } from '../core/credentials.js';
import { PaddockError } from '../core/errors.js';
import { LABELS, shortHash } from '../core/naming.js';
import { KEY_INJECTION_BASE } from '../proxy/addresses.js';
import { engineMessage, execCollect, isGoneOrGoing, isNotFound } from './docker.js';
import { egressPaths } from './egressFiles.js';
import { localDaemonKey } from './engineFacts.js';
import { processEgressNetwork, recordedEgressNetwork } from './egressNetwork.js';
import type { CreateSpec, SandboxEngine } from './engine.js';
import { GUARDED_ENV } from './guardPlan.js';
import { rootExecEnv } from './rootExec.js';
import { bridgePaths, readToken, SANDBOX_BRIDGE_DIR, writeSecretFile } from './stateFolder.js';
import { recordRemoval } from './stopCause.js';
import type { SandboxDetails } from './types.js';
import { loadPolicy, policyHash, type Policy } from '../core/policy.js';
import { CONTAINER_POLICY_LABEL, containerPolicyHash, containerSectionsChanged } from '../core/containerPolicy.js';
import { planMounts, uncoveredSince } from '../core/hiding.js';
import { hidingStateOf } from './hiding.js';

/**
 * Applying changes that need a new container (hide rules, the cage, environment, limits, ports,
 * runtime, template) without losing the sandbox's state (README: "Apply changes").
 *
 * Design: the old container's writable layer is committed to an image and the new container is
 * created from it, so everything the sandbox changed outside its mounts (packages it installed,
 * the agent's home, caches) is there, byte for byte, with no copy through the host. Mounts are
 * never part of a commit, so the workspace, hidden paths (their /dev/null and tmpfs mounts) and
 * /run/paddock come out of the new mount plan only: hiding is expanded again, the cage put back.
 * - The commit's configuration is the template's, never the old container's: Docker would carry
 *   the old environment and labels into the image (its merge adds what the given configuration
 *   lacks), so a removed variable would come back. Each old variable the template does not set is
 *   written as a bare NAME, which Docker drops when it builds a process environment.
 * - Disk: a commit holds only the layer's changes, and each apply's image replaces the one before
 *   (the new commit's parent is the old one, so its layers are shared, not copied): disk grows by
 *   what changed since the last apply, never by another copy of what was installed.
 * - Layers: every apply adds one. Docker's overlay driver stops near 125, so past MAX_STATE_LAYERS
 *   the sandbox's file system is squashed into one layer (export, import): slower once, and that
 *   image no longer shares the template's layers.
 * - A new template: the layer belongs to the old image, so the new container starts from the new
 *   template, and the agent's home is copied over from the committed state (system packages are not).
 * - /run is where daemons keep pid files and sockets: what the old container added there is removed
 *   once the new one started (as a reboot would); /tmp is kept, as a stop and start keep it.
 * - Host state carries over: the bridge token (the agent's MCP configuration keeps working), the
 *   egress log, the injected keys (also when this process's environment lacks one), the task labels,
 *   the network its egress goes out through (unless this apply's PADDOCK_EGRESS_NETWORK names another).
 */

/** On the state image: the sandbox it holds the state of. On the sandbox: the template image id its state sits on. */
export const STATE_LABELS = { of: 'dev.paddock.state-of', base: 'dev.paddock.state-base' } as const;
export const STATE_REPOSITORY = 'paddock-state';

/** Layers an image may have before an apply squashes it (Docker's overlay2 refuses more than 125 or so). */
export function maxStateLayers(env: NodeJS.ProcessEnv = process.env): number {
  const asked = Number(env.PADDOCK_APPLY_MAX_LAYERS);
  return Number.isInteger(asked) && asked > 1 ? Math.min(asked, 120) : 100;
}

/** Paths under /run the init and Paddock's mounts own: never removed as leftovers. */
const RUN_KEPT = new Set([SANDBOX_BRIDGE_DIR, '/run/paddock-net', '/run/paddock-netfwd.log', '/run/paddock-hide', '/run/paddock-hide.watching']);

export interface KeptState {
  /** How the sandbox's state is carried: its layer, or only its home (a new template). */
  readonly kind: 'layer' | 'home';
  /** Turns the create spec of the new container into one that starts from the kept state. */
  adapt(spec: CreateSpec): Promise<CreateSpec>;
  /** After the new container exists (not started): puts the host state and, for a new template, the home back. */
  created(details: SandboxDetails): Promise<void>;
  /** After it started: removes /run's leftovers and the images no longer used. Returns notes for the user. */
  started(sandbox: SandboxDetails): Promise<string[]>;
  /** When creating the new container failed: what the user can still reach. */
  failed(): string;
}

/** Lines of `docker diff`: what the container added under /run (top-most entries only), minus Paddock's own. */
export function runLeftovers(changes: readonly { Path: string; Kind: number }[]): string[] {
  const added = changes.filter((c) => c.Kind === 1 && (c.Path.startsWith('/run/') || c.Path.startsWith('/var/run/'))).map((c) => c.Path).sort();
  const kept: string[] = [];
  for (const path of added) {
    if (RUN_KEPT.has(path) || [...RUN_KEPT].some((k) => path.startsWith(`${k}/`))) continue;
    if (kept.some((k) => path.startsWith(`${k}/`))) continue;
    kept.push(path);
  }
  return kept;
}

/**
 * The configuration to commit with: the template's, with every variable and label of the old
 * container that the template lacks made inert (a bare NAME is unset; a label is emptied).
 */
export function commitConfig(template: Docker.ImageInspectInfo['Config'], container: Docker.ContainerInspectInfo['Config'], sandbox: string): Record<string, unknown> {
  const templateEnv = template?.Env ?? [];
  const names = new Set(templateEnv.map((e) => e.split('=')[0]));
  const unset = (container.Env ?? []).map((e) => e.split('=')[0]).filter((n) => n && !names.has(n));
  const labels: Record<string, string> = {};
  for (const key of Object.keys(container.Labels ?? {})) labels[key] = '';
  return {
    ...template,
    Env: [...templateEnv, ...new Set(unset)],
    // Not a template: a state image must never be taken for one (a new sandbox's image, the proxy's, an image prune's "newest").
    Labels: { ...labels, ...template?.Labels, [LABELS.template]: '', [STATE_LABELS.of]: sandbox },
  };
}

/** Adds the keys an old sandbox had injected that this process's environment does not have now. */
export function withCarriedKeys(plan: KeyInjectionPlan | undefined, old: Readonly<Record<string, InjectedKey>>, env: Readonly<Record<string, string>>): KeyInjectionPlan | undefined {
  if (!plan) return plan; // --no-inject-keys: the user asked for none
  const keys = [...plan.keys];
  const sandboxEnv = { ...plan.sandboxEnv };
  for (const id of parseProviderList(Object.keys(old).join(','))) {
    const provider = KEY_PROVIDERS[id];
    if (keys.some((k) => k.provider === id) || providerVariables(provider).some((n) => n in env)) continue;
    keys.push(old[id]);
    sandboxEnv[provider.baseUrlEnv] = `${KEY_INJECTION_BASE}/${id}`;
    sandboxEnv[provider.sandboxKeyEnv] = KEY_PLACEHOLDER;
  }
  return { ...plan, keys, sandboxEnv };
}

function readJson(file: string): any {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

async function imageOrUndefined(docker: Docker, ref: string): Promise<Docker.ImageInspectInfo | undefined> {
  try {
    return await docker.getImage(ref).inspect();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

function stateTag(sandbox: string): string {
  return `${shortHash(`sandbox:${sandbox}`, 12)}-${Date.now().toString(36)}`;
}

/** The sandbox's state images (tagged), newest first. */
export async function stateImages(docker: Docker, sandbox: string): Promise<Docker.ImageInfo[]> {
  const images = await docker.listImages({ filters: { label: [`${STATE_LABELS.of}=${sandbox}`] } });
  return images.sort((a, b) => b.Created - a.Created);
}

/** Removes the sandbox's state images but `keep` (by tag: a parent of `keep` is untagged, its layers stay in use). */
export async function removeStateImages(docker: Docker, sandbox: string, keep?: string): Promise<void> {
  for (const image of await stateImages(docker, sandbox)) {
    for (const tag of image.RepoTags ?? []) {
      if (tag === keep || tag === '<none>:<none>' || !tag.startsWith(`${STATE_REPOSITORY}:`)) continue;
      await docker.getImage(tag).remove().catch((err) => { if (!isGoneOrGoing(err) && !isNotFound(err)) throw err; });
    }
  }
}

/**
 * Stops the sandbox, keeps its state in an image and removes its container (nothing else: its
 * proxy, network and host folders are taken over by the new one). `templateImage` is the image a
 * new sandbox would be created from now.
 */
export async function keepState(engine: SandboxEngine, old: SandboxDetails, templateImage: string, onProgress: (line: string) => void = () => {}): Promise<KeptState> {
  const docker = engine.docker;
  const container = docker.getContainer(old.id);
  const [info, template] = await Promise.all([container.inspect(), docker.getImage(templateImage).inspect()]);
  // The template the state sits on: the label after an apply, else the image the container was made from.
  const base = info.Config.Labels?.[STATE_LABELS.base] || info.Image;
  const kind: KeptState['kind'] = base === template.Id ? 'layer' : 'home';
  await engine.stop(old.id);
  const leftovers = runLeftovers(await container.changes().catch(() => []) ?? []);
  const volumes = (info.Mounts ?? []).filter((m: any) => m.Type === 'volume' && m.Name).map((m: any) => ({ Type: 'volume', Source: m.Name, Target: m.Destination }) as Docker.MountConfig[number]);
  const current = await imageOrUndefined(docker, info.Image);
  const squash = kind === 'layer' && (current?.RootFS?.Layers?.length ?? 0) + 1 > maxStateLayers();
  // Stopped: what the sandbox wrote is what the save writes (the agent can no longer grow it).
  const tooBig = stateSpaceProblem(await layerBytes(docker, old.id), await engineFreeBytes(engine), { kind, squashBytes: squash ? current?.Size ?? 0 : 0 }, old.name);
  if (tooBig) throw tooBig;
  const state = `${STATE_REPOSITORY}:${stateTag(old.name)}`;
  const config = commitConfig(template.Config, info.Config, old.name);
  onProgress(squash ? `Saving the state of ${old.name} (squashed into one layer)` : `Saving the state of ${old.name}`);
  try {
    if (squash) await squashInto(docker, container, state, config);
    else await container.commit({ _query: { container: old.id, repo: STATE_REPOSITORY, tag: state.slice(STATE_REPOSITORY.length + 1), pause: false }, _body: config });
  } catch (err) {
    throw new PaddockError(`Could not save the state of ${old.name}: ${engineMessage(err)}. Nothing was changed (the sandbox is stopped).`,
      `Check the engine's free disk ("docker system df"), then apply again; or "paddock rm ${old.name}" and create it anew (its state is lost).`);
  }
  // Host state the new container takes over: createEgress and prepareBridgeDir start both afresh.
  const token = readToken(bridgePaths(old.name));
  const egress = egressPaths(old.name);
  const oldKeys: Record<string, InjectedKey> = readJson(egress.keys) ?? {};
  // The way out: this apply's PADDOCK_EGRESS_NETWORK when it names one (the user's act), else the sandbox's own.
  const wayOutBefore = recordedEgressNetwork(old.name);
  const wayOut = process.env.PADDOCK_EGRESS_NETWORK || wayOutBefore || processEgressNetwork();
  const savedLog = `${egress.dir}.apply-log`;
  rmSync(savedLog, { recursive: true, force: true });
  if (existsSync(egress.logDir)) renameSync(egress.logDir, savedLog);
  recordRemoval(old); // a command that ended with the old container does not call this a removal from outside Paddock
  await container.remove({ force: true, v: false }).catch((err) => { if (!isGoneOrGoing(err)) throw err; });
  const taskLabels = Object.fromEntries(Object.entries(info.Config.Labels ?? {}).filter(([k]) => k.startsWith(`${LABELS.task}`)));

  return {
    kind,
    async adapt(spec) {
      const runtime = spec.runtime ?? (old.runtime !== (await engine.runtimes()).default ? old.runtime : undefined);
      return {
        ...spec,
        image: kind === 'layer' ? state : spec.image,
        templateHash: spec.templateHash ?? template.Config?.Labels?.[LABELS.templateHash],
        // A runtime chosen at create (gVisor) stays unless this apply names another.
        runtime,
        runtimeTraits: runtime === spec.runtime ? spec.runtimeTraits : await engine.runtimeTraits(runtime),
        labels: { ...taskLabels, ...spec.labels, [STATE_LABELS.base]: template.Id },
        extraMounts: [...(spec.extraMounts ?? []), ...volumes.filter((v) => !spec.extraMounts?.some((m) => m.Target === v.Target))],
        keys: withCarriedKeys(spec.keys, oldKeys, spec.env ?? {}),
        egressNetwork: spec.egressNetwork ?? wayOut,
        // A port published on a port the engine chose keeps that host port (bookmarks, open browser tabs).
        ports: spec.ports?.map((p) => p.hostPort ? p : { ...p, hostPort: old.ports.find((o) => o.containerPort === p.containerPort && o.protocol === p.protocol)?.hostPort ?? 0 }),
      };
    },
    async created(details) {
      if (token) writeSecretFile(bridgePaths(details.name).token, `${token}\n`, ownerOf(details.workspace));
      if (existsSync(savedLog)) {
        rmSync(egress.logDir, { recursive: true, force: true });
        mkdirSync(dirname(egress.logDir), { recursive: true });
        renameSync(savedLog, egress.logDir);
      }
      if (kind === 'home') await copyHome(docker, state, details.id);
    },
    async started(sandbox) {
      const notes: string[] = [];
      const now = await docker.getContainer(sandbox.id).inspect();
      notes.push(settingChanges({ ...old, env: info.Config.Env }, { ...sandbox, env: now.Config.Env }, sandbox.name));
      const wayOutNote = egressNetworkNote(sandbox.name, wayOutBefore, wayOut);
      if (wayOutNote) notes.push(wayOutNote);
      if (leftovers.length) {
        const env = rootExecEnv(now.Config.Env);
        const removed = await execCollect(docker, sandbox.id, { Cmd: ['rm', '-rf', '--', ...leftovers], User: '0', Env: Object.entries(env).map(([k, v]) => `${k}=${v}`) }, { timeoutMs: 30_000 }).catch(() => undefined);
        if (removed?.exitCode !== 0) notes.push(`Could not remove what ${sandbox.name} had left in /run (${leftovers.slice(0, 3).join(', ')}): a daemon may find an old pid file there.`);
      }
      await removeStateImages(docker, sandbox.name, kind === 'layer' ? state : undefined);
      if (kind === 'home') notes.push(`The template of ${sandbox.name} changed: the new container has the new template's system, and the agent's home (/home/agent) was carried over; system packages installed in the old one were not.`);
      return notes;
    },
    failed() {
      return `The state of ${old.name} is kept in the image ${state} ("docker run --rm -it --entrypoint sh ${state}" reaches its files).`;
    },
  };
}

/** For the user after an apply: the network the sandbox's egress goes out through, when it is not Docker's default bridge or changed. */
export function egressNetworkNote(sandbox: string, before: string | undefined, now: string): string | undefined {
  if (before && before !== now) return `${sandbox} goes out through the network "${now}" now (PADDOCK_EGRESS_NETWORK of this apply), no longer "${before}".`;
  if (!before && now !== 'bridge') return `${sandbox} goes out through the network "${now}" (PADDOCK_EGRESS_NETWORK of this apply), kept from now on.`;
  if (now !== 'bridge') return `${sandbox} still goes out through the network "${now}" it was created with (an apply with PADDOCK_EGRESS_NETWORK set changes it).`;
  return undefined;
}

/** The variables of a container's configuration (a bare NAME is an unset one, see commitConfig). */
function envOf(env: readonly string[] | undefined): Map<string, string> {
  const vars = (env ?? []).filter((e) => e.includes('=')).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)] as const);
  // The guard's plan follows the mount plan, which an apply is for: no setting of the user's.
  return new Map(vars.filter(([name]) => name !== GUARDED_ENV));
}

type Settings = Pick<SandboxDetails, 'limits' | 'ports' | 'runtime'> & { readonly env: readonly string[] | undefined };

/**
 * For the user after an apply: what the new container does otherwise than the old one (env names,
 * never values; limits; published ports; runtime), or that none of these changed.
 */
export function settingChanges(old: Settings, now: Settings, sandbox: string): string {
  const changes: string[] = [];
  const [before, after] = [envOf(old.env), envOf(now.env)];
  const names = (list: string[]) => list.sort().join(', ');
  const added = [...after.keys()].filter((n) => !before.has(n));
  const changed = [...after.keys()].filter((n) => before.has(n) && before.get(n) !== after.get(n));
  const removed = [...before.keys()].filter((n) => !after.has(n));
  if (added.length) changes.push(`env ${names(added)} added`);
  if (changed.length) changes.push(`env ${names(changed)} changed`);
  if (removed.length) changes.push(`env ${names(removed)} removed`);
  if (old.limits.cpus !== now.limits.cpus) changes.push(`CPUs ${old.limits.cpus} -> ${now.limits.cpus}`);
  const mib = (bytes: number) => `${Math.round(bytes / 1024 ** 2)} MiB`;
  if (old.limits.memoryBytes !== now.limits.memoryBytes) changes.push(`memory ${mib(old.limits.memoryBytes)} -> ${mib(now.limits.memoryBytes)}`);
  if (old.limits.pids !== now.limits.pids) changes.push(`processes ${old.limits.pids} -> ${now.limits.pids}`);
  // By the sandbox's port: a host port the engine chose is carried over as a fixed one (adapt).
  const portsOf = (s: Settings) => new Set(s.ports.map((p) => `${p.containerPort}/${p.protocol}`));
  const [portsBefore, portsAfter] = [portsOf(old), portsOf(now)];
  const published = [...portsAfter].filter((p) => !portsBefore.has(p));
  const unpublished = [...portsBefore].filter((p) => !portsAfter.has(p));
  if (published.length) changes.push(`port ${published.join(', ')} published`);
  if (unpublished.length) changes.push(`port ${unpublished.join(', ')} no longer published`);
  if (old.runtime !== now.runtime) changes.push(`runtime ${old.runtime} -> ${now.runtime}`);
  return changes.length ? `Changed in ${sandbox}: ${changes.join('; ')}.` : `${sandbox}: environment, limits, ports and runtime unchanged.`;
}

function ownerOf(workspace: string): { uid: number; gid: number } | undefined {
  try {
    const s = statSync(workspace);
    return { uid: s.uid, gid: s.gid };
  } catch {
    return undefined;
  }
}

/** Bytes the engine must keep free beside a save (its own metadata, other containers' writes meanwhile). */
export const STATE_SPACE_RESERVE = 1024 ** 3;

/**
 * Whether saving the sandbox's state would fill the engine's disk: the save writes every file whole
 * (the engine's tar has no holes), so a sparse file that takes nothing in the sandbox (truncate -s 60T)
 * takes its full size there, and a new template copies the home once more. `layer` is the container's
 * changes as the engine counts them (SizeRw: each file's full size), `free` the engine disk's free
 * bytes (undefined when this machine cannot tell: a remote engine, Docker Desktop's VM). Returns the
 * refusal, with nothing changed yet, or undefined.
 */
export function stateSpaceProblem(layer: number | undefined, free: number | undefined, plan: { kind: KeptState['kind']; squashBytes?: number }, sandbox: string): PaddockError | undefined {
  if (layer === undefined || free === undefined) return undefined;
  const needed = layer * (plan.kind === 'home' ? 2 : 1) + (plan.squashBytes ?? 0);
  if (needed + STATE_SPACE_RESERVE <= free) return undefined;
  const gb = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GB`;
  return new PaddockError(`Not applied: saving the state of ${sandbox} would write ${gb(needed)} (its files at their full size: a sparse file counts whole) and the engine's disk has ${gb(free)} free. Nothing was changed (the sandbox is stopped).`,
    `Start it ("paddock start ${sandbox}"), find what is that large ("paddock exec ${sandbox} -- sh -c 'find / -xdev -size +1G -ls 2>/dev/null'") and remove it or free disk, then apply again; or "paddock rm ${sandbox}" and create it anew (its state is lost).`);
}

/** The container's changes in bytes, as the engine counts them (each file's full size), or undefined. */
async function layerBytes(docker: Docker, id: string): Promise<number | undefined> {
  const info: any = await (docker.getContainer(id).inspect({ size: true } as any) as unknown as Promise<unknown>).catch(() => undefined);
  return typeof info?.SizeRw === 'number' ? info.SizeRw : undefined;
}

/** Free bytes of the engine's data root, when the engine is this machine's dockerd (its folder is here); else undefined. */
async function engineFreeBytes(engine: SandboxEngine): Promise<number | undefined> {
  if (!localDaemonKey(engine.endpoint.host)) return undefined;
  try {
    const root = (await engine.docker.info()).DockerRootDir;
    if (typeof root !== 'string' || !root.startsWith('/')) return undefined;
    const fs = statfsSync(root);
    return fs.bavail * fs.bsize;
  } catch {
    return undefined;
  }
}

/** The whole file system of the container as one layer (export, then import with the template's configuration). */
async function squashInto(docker: Docker, container: Docker.Container, ref: string, config: Record<string, any>): Promise<void> {
  // An import starts from an empty configuration: nothing to merge, so bare names and emptied labels are left out.
  const changes: string[] = [];
  for (const e of (config.Env ?? []) as string[]) if (e.includes('=')) changes.push(`ENV ${e.slice(0, e.indexOf('='))}=${JSON.stringify(e.slice(e.indexOf('=') + 1))}`);
  if (config.Entrypoint) changes.push(`ENTRYPOINT ${JSON.stringify(config.Entrypoint)}`);
  if (config.Cmd) changes.push(`CMD ${JSON.stringify(config.Cmd)}`);
  if (config.WorkingDir) changes.push(`WORKDIR ${config.WorkingDir}`);
  if (config.User) changes.push(`USER ${config.User}`);
  for (const [k, v] of Object.entries(config.Labels ?? {})) if (v !== '') changes.push(`LABEL ${JSON.stringify(k)}=${JSON.stringify(v)}`);
  const [repo, tag] = [ref.slice(0, ref.lastIndexOf(':')), ref.slice(ref.lastIndexOf(':') + 1)];
  const tar = await container.export();
  const stream = await docker.importImage(tar as unknown as NodeJS.ReadableStream, { repo, tag, changes } as any);
  await new Promise<void>((resolveDone, reject) => docker.modem.followProgress(stream as any, (err: any, output: any[]) => {
    const failed = output?.find((o) => o?.error);
    if (err || failed) reject(err ?? new Error(failed.error));
    else resolveDone();
  }));
}

/** A new template: the agent's home from the saved state into the new container (not started yet). */
async function copyHome(docker: Docker, state: string, target: string): Promise<void> {
  const helper = await docker.createContainer({ Image: state, Cmd: ['true'], HostConfig: { NetworkMode: 'none' } });
  try {
    const home = await helper.getArchive({ path: '/home/agent' }).catch((err) => { if (isNotFound(err)) return undefined; throw err; });
    if (home) await docker.getContainer(target).putArchive(home as unknown as NodeJS.ReadableStream, { path: '/home' });
  } finally {
    await helper.remove({ force: true, v: true }).catch(() => {});
  }
}

/**
 * Whether `image` (what a new sandbox would be made from now) is another template than the one
 * the sandbox's state sits on (after an apply, its own image is a state image).
 */
export async function templateChanged(engine: SandboxEngine, details: SandboxDetails, image: string): Promise<boolean> {
  const base = (await engine.docker.getContainer(details.id).inspect()).Config.Labels?.[STATE_LABELS.base];
  if (!base) return details.image !== image;
  return (await imageOrUndefined(engine.docker, image))?.Id !== base;
}

/** An apply that failed after the old container was removed: the error, and where the state is. */
export function withStateNote(err: unknown, note: string): PaddockError {
  if (err instanceof PaddockError) return new PaddockError(`${err.message} ${note}`, err.hint, err.exitCode);
  return new PaddockError(`${err instanceof Error ? err.message : String(err)} ${note}`, 'Apply again once the cause is fixed; the next apply starts from the template (copy what you need out of that image first).');
}

export { CONTAINER_POLICY_LABEL, containerPolicyHash } from '../core/containerPolicy.js';

/**
 * What an apply of a sandbox starts from: its workspace, or for a task's sandbox the workspace the
 * task was made from (whose policy governs it, never the copy in the task's folder) and the task.
 */
export async function applySource(engine: SandboxEngine, sandbox: Pick<SandboxDetails, 'id' | 'workspace'>): Promise<{ workspace: string; task?: string }> {
  const labels = (await engine.docker.getContainer(sandbox.id).inspect()).Config.Labels ?? {};
  const task = labels[LABELS.task];
  return task ? { workspace: labels[LABELS.taskSource] || sandbox.workspace, task } : { workspace: sandbox.workspace };
}

/** What an apply would change in a sandbox: the reasons, empty when its container matches the policy file. */
export interface PendingApply {
  readonly sandbox: string;
  readonly reasons: readonly string[];
}

/** Compares a sandbox's container with its workspace's policy file and files now (no engine change). */
export async function pendingApply(engine: SandboxEngine, nameOrId: string): Promise<PendingApply> {
  const info = await engine.docker.getContainer(nameOrId).inspect();
  const labels = info.Config.Labels ?? {};
  const name = info.Name.replace(/^\//, '');
  const workspace = labels[LABELS.workspace] ?? '';
  const source = labels[LABELS.taskSource] || workspace;
  const reasons: string[] = [];
  let loaded;
  try {
    loaded = loadPolicy(source);
  } catch {
    return { sandbox: name, reasons }; // a broken file is reported where it is read; nothing to apply from it
  }
  const created = labels[CONTAINER_POLICY_LABEL];
  if (created ? created !== containerPolicyHash(loaded.policy) : labels[LABELS.policyHash] !== loaded.hash) {
    reasons.push(created ? 'hide rules, cage, env, limits or ports changed in the policy' : 'the policy changed since it was created');
  }
  if (existsSync(workspace)) {
    const uncovered = uncoveredSince(planMounts(workspace, loaded.policy), (await hidingStateOf(engine, info.Id)).mountedTargets);
    if (uncovered.length) reasons.push(`${uncovered.length} file${uncovered.length === 1 ? '' : 's'} to hide appeared since (${uncovered.slice(0, 3).map((u) => u.relative).join(', ')})`);
  }
  return { sandbox: name, reasons };
}

/**
 * Whether the sandbox's container was made from other hide rules, cage, env, limits or ports than
 * `policy` has (one inspect; the Sandboxes tree asks at each refresh). Sandboxes made before the
 * label compare the whole policy's hash.
 */
export async function containerPolicyDiffers(engine: SandboxEngine, id: string, policy: Policy): Promise<boolean> {
  const labels = (await engine.docker.getContainer(id).inspect()).Config.Labels ?? {};
  return containerSectionsChanged({ containerPolicyHash: labels[CONTAINER_POLICY_LABEL], policyHash: labels[LABELS.policyHash] }, policy, policyHash(policy));
}
