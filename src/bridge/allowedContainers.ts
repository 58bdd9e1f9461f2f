import type Docker from 'dockerode';
import picomatch from 'picomatch';
import type { BridgePolicy } from '../core/policy.js';
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

  constructor(private readonly docker: Docker, private readonly bridge: BridgePolicy) {
    this.names = bridge.containers.map((entry) => ({ entry, matches: picomatch(entry, { dot: true }) }));
  }

  private allows(c: Docker.ContainerInfo): boolean {
    if (Object.keys(c.Labels ?? {}).some((key) => key.startsWith(PADDOCK_LABEL_PREFIX))) return false;
    const name = (c.Names[0] ?? '').replace(/^\//, '');
    const project = c.Labels?.[COMPOSE_PROJECT];
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

  /** Resolves `container` (name, compose service, or id prefix) among the allowed ones, or denies. */
  async resolve(ref: string): Promise<TargetContainer> {
    const wanted = String(ref ?? '').replace(/^\//, '');
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

  /** Whitelist entries of bridge.exec whose key matches the container's name or compose service. */
  execWhitelistFor(c: TargetContainer): string[] {
    return Object.entries(this.bridge.exec)
      .filter(([key]) => picomatch(key, { dot: true })(c.name) || (c.service !== undefined && key === c.service))
      .flatMap(([, entries]) => entries);
  }
}
