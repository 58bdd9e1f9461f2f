import type Docker from 'dockerode';
import { LABELS } from '../core/naming.js';
import { readCreateOptions } from './createOptions.js';
import { isConflict, isNotFound } from './docker.js';

/**
 * An image built within this long is kept: another Paddock process (an older version, a bench) may
 * have found it and be about to create a container from it, and the engine only protects an image
 * once a container exists.
 */
export const KEEP_RECENT_MS = 24 * 3600_000;

/** Tags Paddock gives the images it builds (templates.ts): any other tag is the user's. */
const PADDOCK_TAG = /^paddock-[a-z0-9][a-z0-9_.-]*:[0-9a-f]{12}$/;
const UNTAGGED = '<none>:<none>';

/**
 * Which images are the same template as one just built: its template label; for a workspace's own
 * template its workspace; for a base image its origin (the engine's shared parts run in the newest
 * "default" one, ./egress.ts paddockBaseImage: a build on a custom base must never take it away).
 */
export interface TemplateFamily {
  readonly template: string;
  readonly workspace?: string;
  readonly origin?: string;
}

export interface PruneOutcome {
  /** What was removed (or, in a dry run, would be): its tags, or its short id when it had none. */
  readonly removed: string[];
  /** Kept because a container (running or stopped) uses it, or the engine refused for that reason. */
  readonly inUse: number;
  /** Kept because it was built within KEEP_RECENT_MS. */
  readonly recent: number;
  /** Kept because the user named it (a sandbox's --template or --base-image), or gave it a tag of their own. */
  readonly named: number;
}

/** Image ids a sandbox was made with by name (--template, --base-image: kept with its create options) or the caller names. */
async function namedImages(docker: Docker, extra: readonly (string | undefined)[]): Promise<Set<string>> {
  const sandboxes = await docker.listContainers({ all: true, filters: { label: [LABELS.sandbox] } });
  const refs = new Set<string>(extra.filter((r): r is string => !!r));
  for (const c of sandboxes) {
    const given = readCreateOptions(c.Labels[LABELS.sandbox] || (c.Names[0] ?? '').replace(/^\//, ''))?.given;
    if (given?.template) refs.add(given.template);
    if (given?.baseImage) refs.add(given.baseImage);
  }
  const ids = new Set<string>();
  await Promise.all([...refs].map(async (ref) => {
    const id = await docker.getImage(ref).inspect().then((i) => i.Id, () => undefined);
    if (id) ids.add(id);
  }));
  return ids;
}

/** An image as the engine lists it (what the choice reads). */
export type ListedImage = Pick<Docker.ImageInfo, 'Id' | 'RepoTags' | 'Labels' | 'Created'>;

/**
 * Which of `images` (Paddock's, of `family`'s template label) go: not `currentId`, only those of
 * the family, and not one the user named or tagged, one a container uses (`used`), or one built
 * within KEEP_RECENT_MS of `now`; the counts say why the others stay.
 */
export function prunable(images: readonly ListedImage[], family: TemplateFamily, currentId: string, seen: { used: ReadonlySet<string>; named: ReadonlySet<string>; now: number }): { remove: Array<{ id: string; tags: string[] }>; inUse: number; recent: number; named: number } {
  const since = seen.now - KEEP_RECENT_MS;
  const result = { remove: [] as Array<{ id: string; tags: string[] }>, inUse: 0, recent: 0, named: 0 };
  for (const image of images) {
    if (image.Id === currentId || image.Labels?.[LABELS.template] !== family.template) continue;
    // A workspace's own template: only that workspace's; a base: only those of its origin (those built before either label are a family of their own).
    if ((image.Labels?.[LABELS.workspace] ?? '') !== (family.workspace ?? '') || (image.Labels?.[LABELS.baseOrigin] ?? '') !== (family.origin ?? '')) continue;
    const tags = (image.RepoTags ?? []).filter((t) => t !== UNTAGGED);
    if (seen.named.has(image.Id) || tags.some((t) => !PADDOCK_TAG.test(t))) result.named++;
    else if (seen.used.has(image.Id)) result.inUse++;
    else if (image.Created * 1000 > since) result.recent++;
    else result.remove.push({ id: image.Id, tags });
  }
  return result;
}

/**
 * The image each family keeps when all are pruned at once: its newest tagged one (the egress
 * service runs in the newest tagged default base; an untagged one left by a --rebuild never counts).
 */
export function familyKeepers(images: readonly ListedImage[]): Array<{ family: TemplateFamily; id: string }> {
  const newest = new Map<string, { family: TemplateFamily; id: string; created: number }>();
  for (const image of images) {
    if (!(image.RepoTags ?? []).some((t) => t !== UNTAGGED)) continue;
    const family = { template: image.Labels[LABELS.template], workspace: image.Labels[LABELS.workspace], origin: image.Labels[LABELS.baseOrigin] };
    const key = `${family.template}\0${family.workspace ?? ''}\0${family.origin ?? ''}`;
    const known = newest.get(key);
    if (!known || image.Created > known.created) newest.set(key, { family, id: image.Id, created: image.Created });
  }
  return [...newest.values()].map(({ family, id }) => ({ family, id }));
}

/**
 * Removes the images of `family` that Paddock built (its created-by label) before `currentId`, when
 * no container uses them, they are older than KEEP_RECENT_MS, and the user neither named them
 * (`named`, and every sandbox's kept --template and --base-image) nor tagged them. Each is removed
 * by its tags without force, so the engine refuses if a container was made from it meanwhile (then
 * it counts as in use). `dryRun` removes nothing and says what would go.
 */
export async function pruneTemplateImages(docker: Docker, family: TemplateFamily, currentId: string, options: { named?: readonly (string | undefined)[]; dryRun?: boolean; now?: number } = {}): Promise<PruneOutcome> {
  const labels = [`${LABELS.createdBy}=paddock`, `${LABELS.template}=${family.template}`];
  const [images, containers, named] = await Promise.all([
    docker.listImages({ filters: { label: labels } }),
    docker.listContainers({ all: true }),
    namedImages(docker, options.named ?? []),
  ]);
  const decided = prunable(images, family, currentId, { used: new Set(containers.map((c) => c.ImageID)), named, now: options.now ?? Date.now() });
  const outcome = { removed: [] as string[], inUse: decided.inUse, recent: decided.recent, named: decided.named };
  for (const { id, tags } of decided.remove) {
    const name = tags.length ? tags.join(', ') : `untagged ${id.replace(/^sha256:/, '').slice(0, 12)}`;
    if (options.dryRun) { outcome.removed.push(name); continue; }
    try {
      for (const ref of tags.length ? tags : [id]) await docker.getImage(ref).remove({ force: false, noprune: false });
      outcome.removed.push(name);
    } catch (err) {
      if (isConflict(err)) outcome.inUse++;
      else if (isNotFound(err)) outcome.removed.push(name); // another process removed it first
      else throw err;
    }
  }
  return outcome;
}

/** The one line a build says about what it removed ('' when nothing). */
export function prunedLine(family: TemplateFamily, outcome: PruneOutcome, dryRun = false): string {
  if (!outcome.removed.length) return '';
  const kept = [outcome.inUse && `${outcome.inUse} in use`, outcome.recent && `${outcome.recent} from the last day`, outcome.named && `${outcome.named} named by you`].filter(Boolean);
  const which = `${family.template}${family.origin ? ` (${family.origin})` : ''}`;
  return `${dryRun ? 'Would remove' : 'Removed'} ${outcome.removed.length} older image${outcome.removed.length === 1 ? '' : 's'} of template ${which}: ${outcome.removed.join('; ')}${kept.length ? ` (kept ${kept.join(', ')})` : ''}`;
}

/**
 * Every template's older images at once (`paddock images --prune`): in each family the newest image
 * counts as the one just built, and the same rules keep the rest.
 */
export async function pruneAllTemplateImages(docker: Docker, options: { dryRun?: boolean; now?: number } = {}): Promise<Array<{ family: TemplateFamily; outcome: PruneOutcome }>> {
  const images = await docker.listImages({ filters: { label: [`${LABELS.createdBy}=paddock`, LABELS.template] } });
  const results: Array<{ family: TemplateFamily; outcome: PruneOutcome }> = [];
  for (const { family, id } of familyKeepers(images)) results.push({ family, outcome: await pruneTemplateImages(docker, family, id, options) });
  return results;
}
