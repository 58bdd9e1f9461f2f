// What a Docker user expects to do to a sandbox besides run it: inspect it, restart it, watch its
// CPU and memory, and prune the template images no sandbox uses. The decisions (what is unused,
// what a stats sample means) are pure functions, unit-tested; the rest is one engine call each.
import { Writable } from 'node:stream';
import type Docker from 'dockerode';
import { LABELS } from '../core/naming.js';
import { engineMessage, isConflict, isNotFound } from './docker.js';
import type { SandboxEngine } from './engine.js';

/** An image as the engine lists it (`GET /images/json?all=1`), reduced to what pruning needs. */
export interface ImageRecord {
  readonly id: string;
  readonly parentId: string;
  readonly tags: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  /** Seconds since the epoch. */
  readonly created: number;
  readonly size: number;
}

/** A template image that pruning would remove: the tags it goes by, what it was built for, its size. */
export interface UnusedImage {
  readonly id: string;
  readonly tags: readonly string[];
  /** The template it was built from (shell, claude, base, workspace...). */
  readonly template: string;
  readonly created: number;
  readonly size: number;
}

/**
 * The template images (built by Paddock: they carry the template label) that no container uses,
 * directly or as the image another used image was built on, leaving out the newest image of each
 * template: the next sandbox of that template starts from it without a build, and a create that
 * has just built it (its container not made yet) keeps it.
 */
export function unusedTemplateImages(images: readonly ImageRecord[], containerImageIds: readonly string[]): UnusedImage[] {
  const byId = new Map(images.map((i) => [i.id, i]));
  const used = new Set<string>();
  for (const id of containerImageIds) {
    // An image and every image it was built on (a base image under an agent image).
    for (let at = byId.get(id); at && !used.has(at.id); at = byId.get(at.parentId)) used.add(at.id);
    used.add(id);
  }
  const templateOf = (i: ImageRecord) => i.labels[LABELS.template];
  const newest = new Map<string, ImageRecord>();
  for (const i of images) {
    const t = templateOf(i);
    if (!t || !i.tags.length) continue;
    const best = newest.get(t);
    if (!best || i.created > best.created) newest.set(t, i);
  }
  const keptNewest = new Set<string>();
  for (const i of newest.values()) {
    for (let at: ImageRecord | undefined = i; at && !keptNewest.has(at.id); at = byId.get(at.parentId)) keptNewest.add(at.id);
  }
  return images
    .filter((i) => templateOf(i) && i.tags.length && !used.has(i.id) && !keptNewest.has(i.id))
    .map((i) => ({ id: i.id, tags: i.tags, template: templateOf(i), created: i.created, size: i.size }))
    // Images built on others first, so that removing a base is not refused for its children.
    .sort((a, b) => b.created - a.created);
}

/** The unused template images on the engine (see unusedTemplateImages). */
export async function findUnusedTemplateImages(docker: Docker): Promise<UnusedImage[]> {
  const [images, containers] = await Promise.all([docker.listImages({ all: true }), docker.listContainers({ all: true })]);
  const records: ImageRecord[] = images.map((i) => ({
    id: i.Id, parentId: i.ParentId ?? '', labels: i.Labels ?? {}, created: i.Created, size: i.Size,
    tags: (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
  }));
  return unusedTemplateImages(records, containers.map((c) => c.ImageID));
}

export interface PruneResult {
  readonly removed: UnusedImage[];
  /** Images kept after all, with why (a container started using one since it was listed). */
  readonly kept: { readonly image: UnusedImage; readonly reason: string }[];
  readonly freedBytes: number;
}

/**
 * Removes the given images by tag (never forced: an image a container started using since the
 * listing is refused by the engine, and kept). Untagging the last tag deletes the image.
 */
export async function removeTemplateImages(docker: Docker, images: readonly UnusedImage[]): Promise<PruneResult> {
  const removed: UnusedImage[] = [];
  const kept: { image: UnusedImage; reason: string }[] = [];
  for (const image of images) {
    try {
      for (const tag of image.tags) await docker.getImage(tag).remove();
      removed.push(image);
    } catch (err) {
      if (isNotFound(err)) removed.push(image); // removed meanwhile (another window, the CLI)
      else kept.push({ image, reason: isConflict(err) ? 'in use now' : engineMessage(err) });
    }
  }
  return { removed, kept, freedBytes: removed.reduce((sum, i) => sum + i.size, 0) };
}

/** What `docker inspect` prints for the sandbox's container. */
export async function inspectSandbox(engine: SandboxEngine, nameOrId: string): Promise<unknown> {
  const sandbox = await engine.get(nameOrId);
  return engine.docker.getContainer(sandbox.id).inspect();
}

/** Stops and starts a sandbox through the engine's own stop and start (its egress proxy and readiness wait included). */
export async function restartSandbox(engine: SandboxEngine, nameOrId: string): Promise<void> {
  await engine.stop(nameOrId);
  await engine.start(nameOrId);
}

/** The parts of a stats sample (`GET /containers/ID/stats`) that CPU and memory are computed from. */
export interface StatsSample {
  readonly cpu_stats?: { readonly cpu_usage?: { readonly total_usage?: number; readonly percpu_usage?: readonly number[] }; readonly system_cpu_usage?: number; readonly online_cpus?: number };
  readonly memory_stats?: { readonly usage?: number; readonly limit?: number; readonly stats?: Readonly<Record<string, number>> };
}

export interface Usage {
  /** Percent of one CPU (200 = two CPUs busy), as `docker stats` shows it; undefined on the first sample. */
  readonly cpuPercent?: number;
  readonly memoryBytes: number;
  readonly memoryLimitBytes: number;
}

/**
 * CPU and memory from two successive samples, computed as `docker stats` does: CPU is the
 * container's share of the host's CPU time between them times the CPUs online; memory leaves out
 * the page cache the kernel can drop (inactive_file on cgroup v2, total_inactive_file on v1).
 */
export function usageOf(current: StatsSample, previous?: StatsSample): Usage {
  const mem = current.memory_stats ?? {};
  const stats = mem.stats ?? {};
  const cache = stats.inactive_file ?? stats.total_inactive_file ?? 0;
  const memoryBytes = Math.max(0, (mem.usage ?? 0) - (cache < (mem.usage ?? 0) ? cache : 0));
  let cpuPercent: number | undefined;
  const cpu = current.cpu_stats;
  const before = previous?.cpu_stats;
  if (cpu?.cpu_usage?.total_usage !== undefined && before?.cpu_usage?.total_usage !== undefined && cpu.system_cpu_usage !== undefined && before.system_cpu_usage !== undefined) {
    const cpuDelta = cpu.cpu_usage.total_usage - before.cpu_usage.total_usage;
    const systemDelta = cpu.system_cpu_usage - before.system_cpu_usage;
    const online = cpu.online_cpus || cpu.cpu_usage.percpu_usage?.length || 1;
    cpuPercent = systemDelta > 0 && cpuDelta >= 0 ? (cpuDelta / systemDelta) * online * 100 : 0;
  }
  return { cpuPercent, memoryBytes, memoryLimitBytes: mem.limit ?? 0 };
}

/** One stats sample of a running container, without the engine's one-second wait for a second one. */
export async function sampleStats(docker: Docker, containerId: string): Promise<StatsSample> {
  return (await docker.getContainer(containerId).stats({ stream: false, 'one-shot': true })) as StatsSample;
}

/**
 * Follows a sandbox's log (its main process's output, as `docker logs -f`) from the last `tail`
 * lines: `onText` gets each chunk, `ended` settles when the sandbox stops or stop() is called.
 */
export async function followLogs(engine: SandboxEngine, nameOrId: string, onText: (text: string) => void, tail = 200): Promise<{ ended: Promise<void>; stop: () => void }> {
  const sandbox = await engine.get(nameOrId);
  const stream = (await engine.docker.getContainer(sandbox.id).logs({ follow: true, stdout: true, stderr: true, tail })) as unknown as NodeJS.ReadableStream & { destroy(): void };
  const sink = new Writable({ write(chunk, _encoding, done) { onText(chunk.toString()); done(); } });
  engine.docker.modem.demuxStream(stream, sink, sink);
  const ended = new Promise<void>((resolve) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', () => resolve());
  });
  return { ended, stop: () => stream.destroy() };
}

/**
 * Samples CPU and memory of running containers; CPU needs the previous sample of each, which is
 * kept here (one-shot samples, so a call costs one quick request per container, no waiting).
 */
export class UsageSampler {
  private readonly previous = new Map<string, StatsSample>();

  constructor(private readonly docker: () => Docker) {}

  async sample(containerIds: readonly string[]): Promise<Map<string, Usage>> {
    const usage = new Map<string, Usage>();
    await Promise.all(containerIds.map(async (id) => {
      try {
        const current = await sampleStats(this.docker(), id);
        usage.set(id, usageOf(current, this.previous.get(id)));
        this.previous.set(id, current);
      } catch {
        this.previous.delete(id); // stopped or removed since: nothing to show
      }
    }));
    for (const id of this.previous.keys()) if (!containerIds.includes(id)) this.previous.delete(id);
    return usage;
  }
}
