// How the Sandboxes tree writes a sandbox's CPU and memory. Pure (no `vscode` import): unit-tested.
import type { Usage } from '../engine/containerTools.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** "312 MiB", "1.5 GiB": binary units as docker stats shows them, one decimal below 100. */
export function formatBytes(bytes: number): string {
  const unit = bytes >= 1 ? Math.min(UNITS.length - 1, Math.floor(Math.log2(bytes) / 10)) : 0;
  const value = bytes / 1024 ** unit;
  return `${unit && value < 100 ? +value.toFixed(1) : Math.round(value)} ${UNITS[unit]}`;
}

/** "CPU 3.3% · 312 MiB / 4 GiB", as `docker stats` would show the same numbers. */
export function formatUsage(u: Usage): string {
  const cpu = u.cpuPercent === undefined ? 'CPU (measuring)' : `CPU ${u.cpuPercent < 10 ? u.cpuPercent.toFixed(1) : Math.round(u.cpuPercent)}%`;
  return `${cpu} · ${formatBytes(u.memoryBytes)}${u.memoryLimitBytes ? ` / ${formatBytes(u.memoryLimitBytes)}` : ''}`;
}

interface UsageNode {
  readonly id: string;
  readonly kind: string;
  readonly sandbox?: { readonly id: string; readonly status: string };
  readonly children?: readonly UsageNode[];
}

/** The running sandboxes among the tree's nodes (at any depth: a task's sandbox sits under its task). */
export function runningSandboxIds(nodes: readonly UsageNode[]): string[] {
  const ids: string[] = [];
  const visit = (n: UsageNode) => {
    if (n.kind === 'sandbox' && n.sandbox?.status === 'running') ids.push(n.sandbox.id);
    else for (const c of n.children ?? []) visit(c);
  };
  nodes.forEach(visit);
  return [...new Set(ids)];
}
