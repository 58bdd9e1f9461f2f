import type Docker from 'dockerode';
import { isInside } from '../core/paths.js';

/**
 * The protecting mounts the init's guard must find (templates/base/paddock-init, guard_mounts), from
 * what this create mounts: the container's own environment, set here, which nothing in the sandbox can
 * change. The guard took them from the mount list at its first look before, so a mount the host
 * lifted before that look (a rename over a hidden file or a cage file while the container started;
 * seconds under gVisor at load) was never missed, and the new file stayed readable or writable.
 * Space-separated words "PATH(file)" (/dev/null over a file), "PATH(folder)" (tmpfs), "PATH(read-only)"
 * (the cage), each PATH written as /proc/self/mountinfo writes it (a space is \040). A path with a tab,
 * a newline or a backslash is left to the first look (the init unescapes spaces only), and so are the
 * paths past GUARDED_MAX characters: one variable longer than 128 KiB fails every process start.
 */
export const GUARDED_ENV = 'PADDOCK_GUARDED';
export const GUARDED_MAX = 100_000;

export function guardedPlan(workspace: string, mounts: readonly Docker.MountConfig[number][]): string {
  const words: string[] = [];
  let length = 0;
  for (const m of mounts) {
    const target = m.Target;
    if (!target || target === workspace || !isInside(target, workspace) || /[\t\n\\]/.test(target)) continue;
    const kind = m.Type === 'tmpfs' ? 'folder' : m.Type === 'bind' && m.Source === '/dev/null' ? 'file' : m.Type === 'bind' && m.ReadOnly ? 'read-only' : undefined;
    const word = kind && `${target.replace(/ /g, '\\040')}(${kind})`;
    if (!word || length + word.length + 1 > GUARDED_MAX) continue;
    words.push(word);
    length += word.length + 1;
  }
  return words.join(' ');
}
