import { posix } from 'node:path';
import type Docker from 'dockerode';
import type { PathHit, PathMatcher } from '../core/bridgeExecRules.js';
import type { TreeRead } from '../core/treeReads.js';
import { execCollect } from '../engine/docker.js';
import type { TargetContainer } from './allowedContainers.js';
import { BridgeDenied } from './denied.js';

/** Go's FileMode bit for a directory, as the archive API reports it. */
const MODE_DIR = 0x80000000;
/** A folder whose listing is larger than this cannot be checked, so a command reading it whole is refused. */
const TREE_LISTING_LIMIT = 64 * 1024 * 1024;
const TREE_LISTING_TIMEOUT_MS = 30_000;

export interface PathStat {
  readonly linkTarget?: string;
  readonly mode: number;
}

export function isFolder(stat: PathStat): boolean {
  return !!(stat.mode & MODE_DIR);
}

/**
 * The bridge's path guard: a path in a container is refused when it matches a blocked pattern as
 * written, behind symlinks (as the container's kernel would follow them), or, for commands that
 * read whole folders, anywhere below them.
 */
export class PathGuard {
  constructor(private readonly docker: Docker, readonly blocked: PathMatcher) {}

  /** Stats a path in the container through the archive API (no process runs). */
  async stat(c: TargetContainer, path: string): Promise<PathStat | undefined> {
    try {
      const res = (await this.docker.getContainer(c.id).infoArchive({ path })) as any;
      const header = res?.headers?.['x-docker-container-path-stat'];
      res?.resume?.(); // a HEAD response: release the engine connection
      if (!header) return undefined;
      const stat = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as { mode: number; linkTarget?: string };
      return { mode: stat.mode, linkTarget: stat.linkTarget || undefined };
    } catch {
      return undefined;
    }
  }

  /** The real path behind symlinks anywhere along `abs` (as the container's kernel would follow them). */
  async realPath(c: TargetContainer, abs: string, hops = 0): Promise<string> {
    if (hops > 16) throw new BridgeDenied('symlink loop', `${abs} has too many symlinks.`);
    const parts = abs.split('/').filter(Boolean);
    const prefixes = parts.map((_, i) => `/${parts.slice(0, i + 1).join('/')}`);
    const stats = await Promise.all(prefixes.map((p) => this.stat(c, p)));
    for (let i = 0; i < prefixes.length; i++) {
      const st = stats[i];
      if (!st) return abs; // the rest does not exist
      if (st.linkTarget && st.linkTarget !== prefixes[i]) {
        return this.realPath(c, posix.join(st.linkTarget, ...parts.slice(i + 1)), hops + 1);
      }
    }
    return abs;
  }

  /** Denies a path (textually, then behind symlinks) that matches a blocked pattern. */
  async checkPath(c: TargetContainer, abs: string, label = abs): Promise<string> {
    const hit = this.blocked.match(abs);
    if (hit) throw blockedDenial(label, hit);
    const real = await this.realPath(c, abs);
    if (real !== abs) {
      const viaLink = this.blocked.match(real);
      if (viaLink) throw blockedDenial(label, viaLink, true);
    }
    return real;
  }

  /**
   * Refuses a command that reads or moves whole folders (grep -r, tar c, cp -r, mv...) when a blocked
   * path lies below one of them: each folder is listed in the container (find, as the container's
   * user, who is also the one the command would run as) and every entry is matched. Fails closed: a
   * folder that cannot be listed whole is refused too.
   */
  async checkTree(c: TargetContainer, tree: TreeRead, user: string, workdir: string): Promise<void> {
    if (tree.listFile) {
      throw new BridgeDenied('file list', `${tree.how} would also read the paths listed in ${tree.listFile}, which the bridge cannot check.`, 'name the files and folders on the command line instead.');
    }
    if (tree.roots.length > 16) throw new BridgeDenied('too many folders', `${tree.how} names more than 16 folders, which cannot all be checked.`, 'split the command.');
    for (const root of tree.roots) {
      const real = await this.checkPath(c, root);
      const st = await this.stat(c, real);
      if (!st || !isFolder(st)) continue; // a file (its path was checked) or nothing
      const { entries, links } = await this.listTree(c, real, user, workdir, tree);
      for (const entry of entries) {
        const hit = this.blocked.match(entry);
        if (hit) {
          throw new BridgeDenied(`blocked path: ${hit.pattern}`, `${tree.how} would read ${root} as a whole, and ${hit.path} below it matches the blocked path "${hit.pattern}".`,
            'point the command at folders that hold no blocked path (list_files shows what is where), or change bridge.blockedPaths in .paddock/policy.yaml only if this is not a secret.');
        }
      }
      if (tree.followsLinks && links.length) {
        throw new BridgeDenied('symlink below folder', `${tree.how} follows symlinks, and ${root} holds ${links[0]}${links.length > 1 ? ` (and ${links.length - 1} more)` : ''}, which the bridge does not follow to check.`,
          'use a form that does not follow symlinks (grep -r instead of -R, rg without -L, tar without -h, cp -r without -L, zip -y).');
      }
    }
  }

  /** Every path below a folder, and which of them are symlinks, from `find` in the container. */
  private async listTree(c: TargetContainer, root: string, user: string, workdir: string, tree: TreeRead): Promise<{ entries: string[]; links: string[] }> {
    const unchecked = (why: string) => new BridgeDenied('folder not checked', `${tree.how} would read ${root} as a whole, which could not be checked for blocked paths: ${why}.`, 'name the files the command needs, or point it at a smaller folder.');
    // Each entry is printed once, symlinks twice in a row: one pass tells both apart.
    const { stdout, exitCode, cut } = await execCollect(this.docker, c.id, execAs(['find', root, '-print0', '-type', 'l', '-print0'], user, workdir), { maxBytes: TREE_LISTING_LIMIT, timeoutMs: TREE_LISTING_TIMEOUT_MS });
    if (cut === 'size') throw unchecked(`it holds too many files (more than ${TREE_LISTING_LIMIT / 1024 / 1024} MiB of names)`);
    if (cut === 'time') throw unchecked(`listing it took longer than ${TREE_LISTING_TIMEOUT_MS / 1000} s`);
    // 1: some subfolders were unreadable (to the command as well: it runs as the same user).
    if (exitCode !== 0 && exitCode !== 1) throw unchecked(`find is not available in ${c.name} (exit code ${exitCode})`);
    const entries: string[] = [];
    const links: string[] = [];
    for (const path of stdout.split('\0').filter(Boolean)) {
      if (entries.at(-1) === path) links.push(path);
      else entries.push(path);
    }
    return { entries, links };
  }
}

/** Exec options for a fixed argv run as the container's user (or `user`) in `workdir`. */
export function execAs(argv: string[], user: string, workdir: string): Docker.ExecCreateOptions {
  return { Cmd: argv, WorkingDir: workdir, ...(user ? { User: user } : {}) };
}

function blockedDenial(label: string, hit: PathHit, viaLink = false): BridgeDenied {
  return new BridgeDenied(`blocked path: ${hit.pattern}`, `"${label}"${viaLink ? ` leads (through a symlink) to ${hit.path}, which` : ` is ${hit.path}, which`} matches the blocked path "${hit.pattern}".`,
    'blocked paths are never readable through the bridge; change bridge.blockedPaths in .paddock/policy.yaml only if this is not a secret.');
}
