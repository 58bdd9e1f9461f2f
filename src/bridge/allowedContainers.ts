import type Docker from 'dockerode';
import picomatch from 'picomatch';
import type { BridgePolicy } from '../core/policy.js';
import { isNotFound } from '../engine/docker.js';
import { BridgeDenied } from './denied.js';

export interface TargetContainer {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  readonly state: string;
  readonly status: string;
  readonly project?: string;
  readonly service?: string;
}

const COMPOSE_PROJECT = 'com.docker.compose.project';
const COMPOSE_SERVICE = 'com.docker.compose.service';

/** Every label Paddock puts on its containers and images starts with this. */
const PADDOCK_LABEL_PREFIX = 'dev.paddock.';

/** A name the engine could give a container (its own rule): only such a reference is looked up by name. */
const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/;

/**
 * Which containers a sandbox's bridge may reach: those bridge.containers names (a name, a glob, or a
 * compose project), never one of Paddock's own — a sandbox (another one, or itself), an egress proxy
 * (it holds the API keys it injects), a verify helper, or anything run from a Paddock image — even
 * with `containers: ["*"]` or a compose project that matches one.
 */
export class AllowedContainers {
  /** The policy's globs, compiled once (not per container per call). */
  private readonly names: { readonly entry: string; readonly matches: (name: string) => boolean }[];
  private listing?: Promise<Docker.ContainerInfo[]>;
  /** The inspect a target was resolved with, for the call that resolved it (taken once: see takeInspect). */
  private readonly inspected = new WeakMap<TargetContainer, Docker.ContainerInspectInfo>();

  constructor(private readonly docker: Docker, private readonly bridge: BridgePolicy) {
    this.names = bridge.containers.map((entry) => ({ entry, matches: picomatch(entry, { dot: true }) }));
  }

  private allows(c: Docker.ContainerInfo): boolean {
    return this.allowsNamed((c.Names[0] ?? '').replace(/^\//, ''), c.Labels);
  }

  private allowsNamed(name: string, labels: Record<string, string> | null | undefined): boolean {
    if (Object.keys(labels ?? {}).some((key) => key.startsWith(PADDOCK_LABEL_PREFIX))) return false;
    const project = labels?.[COMPOSE_PROJECT];
    return this.names.some(({ entry, matches }) => entry === project || matches(name));
  }

  /**
   * The engine's container list. Calls that arrive while a listing is under way share it (under load
   * that is one listing instead of one per call); nothing is kept after it, so a new container shows
   * up in the next call.
   */
  private listAll(): Promise<Docker.ContainerInfo[]> {
    this.listing ??= this.docker.listContainers({ all: true }).finally(() => { this.listing = undefined; });
    return this.listing;
  }

  /** The containers the policy allows. */
  async list(): Promise<TargetContainer[]> {
    const all = await this.listAll();
    return all.filter((c) => this.allows(c)).map((c) => ({
      id: c.Id, name: (c.Names[0] ?? c.Id).replace(/^\//, ''), image: c.Image, state: c.State, status: c.Status,
      project: c.Labels?.[COMPOSE_PROJECT], service: c.Labels?.[COMPOSE_SERVICE],
    })).sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Resolves `container` (name, compose service, or id prefix) among the allowed ones, or denies.
   * A container's own name, the usual reference, is one inspect of that name: the listing makes the
   * engine read every container (8.9-11.6 ms of dockerd's CPU and 174 KB for the bridge to parse per
   * call with 7 containers of Paddock's many mounts here, against 0.4-0.7 ms for an inspect), and a
   * call that needs the container's inspect anyway (exec_command, list_files, read_file) takes this
   * one (takeInspect). A reference that names no allowed container by its name (a compose service,
   * an id prefix, a refusal) is resolved from the listing as before, so the answer is the same.
   */
  async resolve(ref: string): Promise<TargetContainer> {
    const wanted = String(ref ?? '').replace(/^\//, '');
    const named = CONTAINER_NAME.test(wanted) ? await this.docker.getContainer(wanted).inspect().catch((err) => (isNotFound(err) ? undefined : Promise.reject(err))) : undefined;
    if (named && named.Name.replace(/^\//, '') === wanted && this.allowsNamed(wanted, named.Config.Labels)) {
      const found: TargetContainer = {
        id: named.Id, name: wanted, image: named.Config.Image, state: named.State.Status, status: named.State.Status,
        project: named.Config.Labels?.[COMPOSE_PROJECT], service: named.Config.Labels?.[COMPOSE_SERVICE],
      };
      this.inspected.set(found, named);
      return found;
    }
    const allowed = await this.list();
    const found = allowed.find((c) => c.name === wanted)
      ?? (allowed.filter((c) => c.service === wanted).length === 1 ? allowed.find((c) => c.service === wanted) : undefined)
      ?? (wanted.length >= 12 ? allowed.find((c) => c.id.startsWith(wanted)) : undefined);
    if (!found) {
      throw new BridgeDenied('containers', `"${wanted}" is not a container this bridge may reach (allowed: ${allowed.map((c) => c.name).join(', ') || 'none'}).`,
        `add its name (or a glob, or its compose project) to bridge.containers in .paddock/policy.yaml.`);
    }
    return found;
  }

  /**
   * The inspect `c` was resolved with just now, if it was resolved by its name; given once, so a
   * target object kept for later never hands out an old state.
   */
  takeInspect(c: TargetContainer): Docker.ContainerInspectInfo | undefined {
    const info = this.inspected.get(c);
    this.inspected.delete(c);
    return info;
  }

  /** Whitelist entries of bridge.exec whose key matches the container's name or compose service. */
  execWhitelistFor(c: TargetContainer): string[] {
    return Object.entries(this.bridge.exec)
      .filter(([key]) => picomatch(key, { dot: true })(c.name) || (c.service !== undefined && key === c.service))
      .flatMap(([, entries]) => entries);
  }
}
