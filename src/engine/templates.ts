import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type Docker from 'dockerode';
import * as tar from 'tar-fs';
import { PaddockError } from '../core/errors.js';
import { LABELS } from '../core/naming.js';
import { templatesDir } from './assets.js';
import { isNotFound } from './docker.js';
import { prunedLine, pruneTemplateImages } from './imagePrune.js';
import { hostPackageSources, packageSourceBuildArgs, type PackageSources } from './packageSources.js';

export const DEFAULT_BASE_IMAGE = 'debian:bookworm-slim';

/** A CA certificate as it was read when a sandbox was created (kept for its applies: ./createOptions.ts). */
export interface KeptCaCertificate {
  readonly file: string;
  /** Its content, base64 (a .cer may be binary). */
  readonly base64: string;
}

export interface TemplateOptions {
  /** The image every template starts from. */
  baseImage?: string;
  /**
   * Extra CA certificates (PEM files, or ones read before) trusted during builds and inside the
   * sandbox. Undefined: the host's extra CAs.
   */
  caCertificates?: readonly (string | KeptCaCertificate)[];
  /** Rebuild even when an image with the same content hash exists. */
  rebuild?: boolean;
  onProgress?: (line: string) => void;
  signal?: AbortSignal;
}

/**
 * Extra CAs the host is configured with: NODE_EXTRA_CA_CERTS and the local additions of the
 * system store (/usr/local/share/ca-certificates on Debian/Ubuntu). A TLS-intercepting proxy's
 * CA lives there on machines behind one, and builds inside containers fail without it.
 */
export function hostExtraCaCertificates(env: NodeJS.ProcessEnv = process.env): string[] {
  const found: string[] = [];
  if (env.NODE_EXTRA_CA_CERTS && existsSync(env.NODE_EXTRA_CA_CERTS)) found.push(env.NODE_EXTRA_CA_CERTS);
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.crt')) found.push(path);
    }
  };
  walk('/usr/local/share/ca-certificates');
  return found;
}

function caFileName(file: string): string {
  return basename(file).replace(/\.(pem|crt|cer)$/, '') + '.crt';
}

/** A CA certificate file's content; an unreadable one is an error that names it. */
export function readCaCertificate(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch {
    throw new PaddockError(`Cannot read the CA certificate ${file}.`, 'Fix the path in the "caCertificates" setting or the --ca-cert option.');
  }
}

function hashFolder(hash: ReturnType<typeof createHash>, dir: string): void {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) hashFolder(hash, path);
    else hash.update(name).update('\0').update(readFileSync(path)).update('\0');
  }
}

interface BuildSpec {
  readonly tag: string;
  readonly contextDir: string;
  readonly buildArgs: Record<string, string>;
  readonly labels: Record<string, string>;
  readonly description: string;
  /** Which package-source build arguments it takes (they change how it is fetched, not what: not hashed). */
  readonly sources?: 'base' | 'agent';
}

/** Builds and caches the agent images; an image is rebuilt when its template's content hash changes. */
export class TemplateBuilder {
  private sources?: Promise<PackageSources>;

  /** `clock` says when it is now: what counts as built within the last day (./imagePrune.ts). */
  constructor(private readonly docker: Docker, private readonly clock: () => number = Date.now) {}

  /** The image for an agent's built-in template, built if missing. Returns the image tag. */
  async ensureAgentImage(template: string, options: TemplateOptions = {}): Promise<string> {
    const root = templatesDir();
    if (!existsSync(join(root, template, 'Dockerfile'))) throw new PaddockError(`There is no template "${template}" in ${root}.`, 'Paddock\'s templates folder is incomplete: reinstall Paddock (or, from a checkout, restore templates/ with git).');
    const baseImage = options.baseImage ?? DEFAULT_BASE_IMAGE;
    const baseImageId = await this.imageId(baseImage);
    if (!baseImageId) {
      throw new PaddockError(`The base image "${baseImage}" is not on the engine and Paddock does not pull images for you.`,
        `Run "docker pull ${baseImage}", or choose another base image.`);
    }
    const caFiles = options.caCertificates ?? hostExtraCaCertificates();
    // Named by the file's base name, so a kept certificate builds the same image as the file it was read from.
    const ca = caFiles.map((cert) => typeof cert === 'string'
      ? { name: caFileName(cert), content: readCaCertificate(cert) }
      : { name: caFileName(cert.file), content: Buffer.from(cert.base64, 'base64') });

    const baseHash = createHash('sha256').update(baseImageId);
    hashFolder(baseHash, join(root, 'base'));
    for (const c of ca) baseHash.update(c.name).update(c.content);
    const baseDigest = baseHash.digest('hex');
    const baseTag = `paddock-base:${baseDigest.slice(0, 12)}`;
    await this.build({
      tag: baseTag, description: 'base', contextDir: join(root, 'base'), buildArgs: { BASE_IMAGE: baseImage }, sources: 'base',
      // Only a default one runs the engine's shared parts (../engine/egress.ts paddockBaseImage).
      labels: { [LABELS.template]: 'base', [LABELS.templateHash]: baseDigest, [LABELS.baseOrigin]: baseImage === DEFAULT_BASE_IMAGE && !options.caCertificates ? 'default' : 'custom' },
    }, options, (dir) => {
      mkdirSync(join(dir, 'ca'), { recursive: true });
      for (const c of ca) writeFileSync(join(dir, 'ca', c.name), c.content);
    });

    const agentHash = createHash('sha256').update(baseTag);
    hashFolder(agentHash, join(root, template));
    const agentDigest = agentHash.digest('hex');
    const tag = `paddock-${template}:${agentDigest.slice(0, 12)}`;
    await this.build({
      tag, description: template, contextDir: join(root, template), buildArgs: { PADDOCK_BASE: baseTag }, sources: 'agent',
      labels: { [LABELS.template]: template, [LABELS.templateHash]: agentDigest },
    }, options);
    return tag;
  }

  /**
   * A workspace's own template (.paddock/Dockerfile, built with .paddock/ as context). It may
   * start FROM ${PADDOCK_AGENT_IMAGE} (the agent's built-in image) or from any image with sh.
   */
  async ensureWorkspaceImage(dockerfileDir: string, agentImage: string, options: TemplateOptions = {}): Promise<string> {
    const hash = createHash('sha256').update(agentImage);
    hashFolder(hash, dockerfileDir);
    const digest = hash.digest('hex');
    const tag = `paddock-custom:${digest.slice(0, 12)}`;
    await this.build({
      tag, description: `${dockerfileDir}/Dockerfile`, contextDir: dockerfileDir,
      buildArgs: { PADDOCK_AGENT_IMAGE: agentImage }, labels: { [LABELS.template]: 'workspace', [LABELS.templateHash]: digest, [LABELS.workspace]: dirname(dockerfileDir) },
    }, options);
    return tag;
  }

  async imageId(ref: string): Promise<string | undefined> {
    try {
      return (await this.docker.getImage(ref).inspect()).Id;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async build(spec: BuildSpec, options: TemplateOptions, stage?: (dir: string) => void): Promise<void> {
    if (!options.rebuild && (await this.imageId(spec.tag))) return;
    const progress = options.onProgress ?? (() => {});
    progress(`Building template ${spec.description} → ${spec.tag}`);
    const dir = mkdtempSync(join(tmpdir(), 'paddock-build-'));
    try {
      cpSync(spec.contextDir, dir, { recursive: true });
      stage?.(dir);
      // Read only when something is built: asking npm for its registry takes a moment.
      const sourceArgs = spec.sources ? packageSourceBuildArgs(await (this.sources ??= hostPackageSources()), spec.sources) : {};
      const stream: NodeJS.ReadableStream = await this.docker.buildImage(tar.pack(dir) as unknown as NodeJS.ReadableStream, {
        t: spec.tag, buildargs: { ...sourceArgs, ...spec.buildArgs }, labels: { ...spec.labels, [LABELS.createdBy]: 'paddock' }, rm: true, forcerm: true,
        abortSignal: options.signal,
      } as any) as unknown as NodeJS.ReadableStream;
      await followBuild(this.docker, stream, spec.description, progress);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await this.removeOlder(spec, options, progress);
  }

  /**
   * After a build, the older images of the same template that nothing uses go (./imagePrune.ts);
   * the build stands whatever happens here.
   */
  private async removeOlder(spec: BuildSpec, options: TemplateOptions, progress: (line: string) => void): Promise<void> {
    const family = { template: spec.labels[LABELS.template], workspace: spec.labels[LABELS.workspace], origin: spec.labels[LABELS.baseOrigin] };
    try {
      const current = await this.imageId(spec.tag);
      if (!current) return;
      const line = prunedLine(family, await pruneTemplateImages(this.docker, family, current, { named: [options.baseImage], now: this.clock() }));
      if (line) progress(line);
    } catch (err: any) {
      progress(`Older images of template ${family.template} were not removed: ${String(err?.message ?? err).split('\n')[0]}`);
    }
  }
}

/** Follows a build's JSON stream; a failure names the failing step and shows the tail of the log. */
function followBuild(docker: Docker, stream: NodeJS.ReadableStream, what: string, progress: (line: string) => void): Promise<void> {
  const tail: string[] = [];
  let step = '';
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, output: any[]) => {
      const failed = err?.message ?? output.find((o) => o?.error)?.error;
      if (!failed) return resolve();
      reject(new PaddockError(
        `Template "${what}" failed to build${step ? ` at step "${step}"` : ''}: ${String(failed).trim()}`,
        `Last lines of the build log:\n    ${tail.slice(-15).join('\n    ')}`,
      ));
    }, (event: any) => {
      const text: string | undefined = event?.stream ?? event?.status ?? event?.error;
      if (!text) return;
      for (const line of String(text).split('\n')) {
        if (!line.trim()) continue;
        const m = /^Step \d+\/\d+ : (.*)$/.exec(line);
        if (m) step = m[1];
        tail.push(line);
        if (tail.length > 50) tail.shift();
        progress(line);
      }
    });
  });
}
