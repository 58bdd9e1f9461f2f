// How the Sandboxes tree writes a sandbox's CPU and memory. Pure (no `vscode` import): unit-tested.
import { humanBytes } from '../cli/format.js';
import type { Usage } from '../engine/containerTools.js';

/** "CPU 3.3% · 312 MiB / 4 GiB", as `docker stats` would show the same numbers. */
export function formatUsage(u: Usage): string {
  const cpu = u.cpuPercent === undefined ? 'CPU (measuring)' : `CPU ${u.cpuPercent < 10 ? u.cpuPercent.toFixed(1) : Math.round(u.cpuPercent)}%`;
  return `${cpu} · ${humanBytes(u.memoryBytes)}${u.memoryLimitBytes ? ` / ${humanBytes(u.memoryLimitBytes)}` : ''}`;
}
