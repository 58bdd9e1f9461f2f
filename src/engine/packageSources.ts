import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { bridgeRoot } from './stateFolder.js';
import { aptMainMirror, aptSecurityMirror, aptSourceUris, pipConfigIndexes, registryRules } from '../core/packageSources.js';

/**
 * The package sources this machine is configured with, each overridable:
 *   npm  PADDOCK_NPM_REGISTRY, else `npm config get registry` (npmrc files, npm_config_registry, npm's default)
 *   apt  PADDOCK_APT_MIRROR, else the first non-security URI of /etc/apt/sources.list{,.d/*}
 *   pip  PADDOCK_PIP_INDEX (space-separated), else PIP_INDEX_URL / PIP_EXTRA_INDEX_URL and pip's
 *        config files, plus pip's own default index when none replaces it
 */
export interface PackageSources {
  readonly npmRegistry?: string;
  readonly aptMirror?: string;
  readonly aptSecurityMirror?: string;
  /** The host's distribution (ID of /etc/os-release): its apt mirror only serves that one. */
  readonly os?: string;
  readonly aptUris: readonly string[];
  readonly pipIndexes: readonly string[];
}

function run(file: string, args: string[], timeout = 5000): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(file, args, { encoding: 'utf8', timeout }, (err, stdout) => resolve(err ? undefined : stdout.trim() || undefined));
  });
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function aptSourcesText(root = '/etc/apt'): string {
  let text = readText(join(root, 'sources.list'));
  try {
    for (const name of readdirSync(join(root, 'sources.list.d')).sort()) {
      if (/\.(list|sources)$/.test(name)) text += `\n${readText(join(root, 'sources.list.d', name))}`;
    }
  } catch {
    // no sources.list.d: not an apt machine, or only the main file
  }
  return text;
}

async function pipIndexes(env: NodeJS.ProcessEnv): Promise<string[]> {
  if (env.PADDOCK_PIP_INDEX !== undefined) return env.PADDOCK_PIP_INDEX.split(/\s+/).filter(Boolean);
  const configs = ['/etc/pip.conf', '/etc/xdg/pip/pip.conf', join(homedir(), '.config/pip/pip.conf'), join(homedir(), '.pip/pip.conf')];
  if (env.PIP_CONFIG_FILE) configs.push(env.PIP_CONFIG_FILE);
  const fromConfig = configs.flatMap((file) => pipConfigIndexes(readText(file)));
  const fromEnv = [env.PIP_INDEX_URL, env.PIP_EXTRA_INDEX_URL].flatMap((v) => (v ?? '').split(/\s+/)).filter((u) => /^https?:\/\//.test(u));
  const replacesDefault = !!env.PIP_INDEX_URL || configs.some((file) => /^\s*index-url\s*[=:]/im.test(readText(file)));
  if (replacesDefault) return [...fromEnv, ...fromConfig];
  // pip's own default index and the host its files come from, asked of pip rather than written here.
  const pipDefault = await run('python3', ['-c', 'from pip._internal.models.index import PyPI as p; print(p.simple_url); print("https://" + p.file_storage_domain + "/")']);
  return [...fromEnv, ...fromConfig, ...(pipDefault ? pipDefault.split('\n') : [])];
}

/** How long a reading stays good when none of the files it came from changed. */
const CACHE_MAX_AGE_MS = 60 * 60_000;

/** What a reading depends on that can be checked cheaply: the overrides and the config files' times. */
function cacheKey(env: NodeJS.ProcessEnv): string {
  const files = ['/etc/apt/sources.list', '/etc/apt/sources.list.d', '/etc/pip.conf', '/etc/xdg/pip/pip.conf', '/etc/os-release',
    join(homedir(), '.npmrc'), join(homedir(), '.config/pip/pip.conf'), join(homedir(), '.pip/pip.conf'), env.PIP_CONFIG_FILE ?? ''];
  const times = files.map((f) => {
    try {
      return statSync(f).mtimeMs;
    } catch {
      return 0;
    }
  });
  const vars = ['PADDOCK_NPM_REGISTRY', 'PADDOCK_APT_MIRROR', 'PADDOCK_PIP_INDEX', 'PIP_INDEX_URL', 'PIP_EXTRA_INDEX_URL', 'PIP_CONFIG_FILE', 'npm_config_registry', 'NPM_CONFIG_REGISTRY']
    .map((v) => env[v] ?? '');
  return JSON.stringify([times, vars]);
}

/**
 * Reads the machine's package sources. Asking npm takes 0.3-0.6 s, on the path of every create, so a
 * reading is kept in the state folder and reused while the files it came from are unchanged (an hour
 * at most: npm's global config is not among the files checked).
 */
export async function hostPackageSources(env: NodeJS.ProcessEnv = process.env, cacheFile = join(bridgeRoot(env), '..', 'package-sources.json')): Promise<PackageSources> {
  const key = cacheKey(env);
  try {
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as { key: string; at: number; sources: PackageSources };
    if (cached.key === key && Date.now() - cached.at < CACHE_MAX_AGE_MS) return cached.sources;
  } catch {
    // no reading yet, or an unreadable one: read again
  }
  const sources = await readPackageSources(env);
  try {
    mkdirSync(dirname(cacheFile), { recursive: true, mode: 0o700 });
    writeFileSync(`${cacheFile}.${process.pid}`, JSON.stringify({ key, at: Date.now(), sources }));
    renameSync(`${cacheFile}.${process.pid}`, cacheFile);
  } catch {
    // a read-only state folder: read again next time
  }
  return sources;
}

async function readPackageSources(env: NodeJS.ProcessEnv): Promise<PackageSources> {
  const npmRegistry = env.PADDOCK_NPM_REGISTRY !== undefined ? env.PADDOCK_NPM_REGISTRY || undefined : run('npm', ['config', 'get', 'registry']);
  const aptUris = env.PADDOCK_APT_MIRROR !== undefined ? [env.PADDOCK_APT_MIRROR].filter(Boolean) : aptSourceUris(aptSourcesText());
  const [npm, pip] = await Promise.all([npmRegistry, pipIndexes(env)]);
  const os = /^ID=["']?([^"'\n]+)/m.exec(readText('/etc/os-release'))?.[1];
  return { npmRegistry: npm, aptMirror: aptMainMirror(aptUris), aptSecurityMirror: aptSecurityMirror(aptUris), os, aptUris, pipIndexes: pip };
}

/** Egress rules that let a sandbox reach the machine's package sources. */
export function packageSourceRules(sources: PackageSources): string[] {
  return registryRules([...(sources.npmRegistry ? [sources.npmRegistry] : []), ...sources.aptUris, ...sources.pipIndexes]);
}

/** Build arguments that make a template fetch from the machine's package sources (see templates/). */
export function packageSourceBuildArgs(sources: PackageSources, template: 'base' | 'agent'): Record<string, string> {
  const args: Record<string, string> = {};
  if (sources.npmRegistry) args.NPM_REGISTRY = sources.npmRegistry;
  if (template === 'agent') return args;
  if (sources.aptMirror && sources.os) Object.assign(args, { APT_MIRROR: sources.aptMirror, APT_MIRROR_OS: sources.os });
  if (sources.aptSecurityMirror) args.APT_SECURITY_MIRROR = sources.aptSecurityMirror;
  return args;
}
