// What the Sandboxes tree shows, computed from Docker's state. Pure (no `vscode` import), so it
// is unit-tested and benchmarked in plain node; tree.ts turns these nodes into TreeItems.
import { basename, relative } from 'node:path';
import { isInside } from '../core/paths.js';
import { getAgent, isAgentId } from '../core/agents.js';
import { isHidingMount } from '../engine/hidingGuard.js';
import type { SandboxDetails, SandboxStatus } from '../engine/types.js';

/** Everything the tree knows about one sandbox. */
export interface SandboxView {
  readonly details: SandboxDetails;
  /** The workspace policy's network rules and bridge reach; undefined when it could not be read. */
  readonly network?: { readonly policy: 'allow' | 'deny'; readonly allow: readonly string[]; readonly deny: readonly string[] };
  /** Names of running containers the bridge lets this sandbox reach (matched by the bridge's globs). */
  readonly bridgeContainers?: readonly string[];
  /** Why the policy could not be read, if it could not. */
  readonly policyError?: string;
  /** What its own guard said when it stopped the sandbox (a protected path lifted on the host). */
  readonly stoppedBecause?: string;
}

export interface WorkspaceFolderRef {
  readonly name: string;
  readonly path: string;
}

export type NodeIcon = { readonly id: string; readonly color?: string };

export interface TreeNode {
  readonly id: string;
  readonly kind: 'workspace' | 'sandbox' | 'group' | 'item';
  readonly label: string;
  readonly description?: string;
  readonly tooltip?: string;
  readonly icon?: NodeIcon;
  /** Matched by regex in package.json menus: runningSandbox, stoppedSandbox, pausedSandbox, ... */
  readonly contextValue?: string;
  /** A path to open when the node is clicked (hidden paths). */
  readonly resourcePath?: string;
  /** The sandbox this node belongs to (commands on children act on it). */
  readonly sandbox?: { readonly id: string; readonly name: string; readonly workspace: string; readonly agent: string; readonly status: SandboxStatus };
  readonly children?: readonly TreeNode[];
}

const STATUS_ICONS: Record<SandboxStatus, NodeIcon> = {
  running: { id: 'vm-running', color: 'testing.iconPassed' },
  created: { id: 'vm-outline' },
  stopped: { id: 'vm-outline', color: 'disabledForeground' },
  paused: { id: 'debug-pause', color: 'editorWarning.foreground' },
  restarting: { id: 'sync~spin' },
  removing: { id: 'trash' },
  dead: { id: 'error', color: 'errorForeground' },
};

/** contextValue of a sandbox node: the state decides the menu (see package.json "menus"). */
export function contextValueOf(status: SandboxStatus): string {
  switch (status) {
    case 'running': return 'runningSandbox';
    case 'paused': return 'pausedSandbox';
    case 'restarting':
    case 'removing': return 'busySandbox';
    default: return 'stoppedSandbox';
  }
}

/** Mounts that hide a path: /dev/null over a file, an empty tmpfs over a folder (see the mount plan). */
export function hiddenPaths(details: SandboxDetails): string[] {
  return details.mounts
    .filter((m) => m.target !== details.workspace && isHidingMount(m))
    .map((m) => m.target)
    .sort();
}

export function uptime(startedAt: string | undefined, now: number): string | undefined {
  if (!startedAt) return undefined;
  const seconds = Math.max(0, Math.round((now - Date.parse(startedAt)) / 1000));
  // The tree re-renders on events and once a minute, so finer steps would look stale.
  if (seconds < 60) return '<1m';
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86400)}d ${Math.floor((seconds % 86400) / 3600)}h`;
}

function agentLabel(agent: string): string {
  return isAgentId(agent) ? getAgent(agent).label : agent || 'unknown agent';
}

/** "paddock-shell:8d19…" → "shell"; custom images stay as they are. */
function templateOf(image: string): string {
  const m = /^paddock-([a-z0-9-]+):/.exec(image);
  return m ? (m[1] === 'custom' ? 'workspace Dockerfile' : m[1]) : image;
}


function leaf(id: string, label: string, extra: Partial<TreeNode> = {}): TreeNode {
  return { id, kind: 'item', label, ...extra };
}

function group(id: string, label: string, description: string | undefined, icon: string, children: TreeNode[], emptyText: string): TreeNode {
  return {
    id, kind: 'group', label, description, icon: { id: icon },
    children: children.length ? children : [leaf(`${id}/empty`, emptyText, { icon: { id: 'circle-slash' } })],
  };
}

export function sandboxNode(view: SandboxView, now: number): TreeNode {
  const d = view.details;
  const hidden = hiddenPaths(d);
  const up = d.status === 'running' ? uptime(d.startedAt, now) : undefined;
  const ports = d.ports.filter((p) => p.hostPort);
  const description = [
    d.status === 'running' && up ? `running ${up}` : view.stoppedBecause ? `${d.status} itself` : d.status,
    `${hidden.length} hidden`,
    ...(ports.length ? [ports.map((p) => `:${p.hostPort}`).join(' ')] : []),
    d.runtime,
    templateOf(d.image),
  ].join(' · ');
  const ref = { id: d.id, name: d.name, workspace: d.workspace, agent: d.agent, status: d.status };
  const base = `sandbox/${d.id}`;
  const tooltip = [
    `${agentLabel(d.agent)} sandbox ${d.name}`,
    `State: ${d.status}${up ? ` (up ${up})` : ''}`,
    ...(view.stoppedBecause ? [`Stopped itself: ${view.stoppedBecause}`] : []),
    `Workspace: ${d.workspace}`,
    `Runtime: ${d.runtime}`,
    `Image: ${d.image}`,
    `Limits: ${d.limits.cpus} CPUs, ${Math.round(d.limits.memoryBytes / 1024 ** 2)} MiB, ${d.limits.pids} processes`,
    `Hidden paths: ${hidden.length}`,
    `API keys: ${d.injectedKeys.length ? `${d.injectedKeys.join(', ')}, injected by the egress proxy (not in the sandbox)` : 'none injected'}`,
  ].join('\n');

  const net = view.network;
  const children: TreeNode[] = [
    group(`${base}/hidden`, 'Hidden paths', String(hidden.length), 'eye-closed',
      hidden.map((p) => leaf(`${base}/hidden/${p}`, relative(d.workspace, p) || p, { description: isInside(p, d.workspace) ? undefined : p, icon: { id: 'lock' }, resourcePath: p, sandbox: ref })),
      'Nothing hidden'),
    group(`${base}/ports`, 'Ports', ports.length ? String(ports.length) : undefined, 'plug',
      ports.map((p) => leaf(`${base}/ports/${p.containerPort}/${p.protocol}`, `${p.hostIp || '127.0.0.1'}:${p.hostPort} → ${p.containerPort}/${p.protocol}`, { icon: { id: 'radio-tower' }, sandbox: ref })),
      'No published ports'),
    net
      ? group(`${base}/network`, 'Network', `${net.policy === 'deny' ? 'deny by default' : 'allow by default'}`, net.policy === 'deny' ? 'shield' : 'globe', [
        ...net.allow.map((h) => leaf(`${base}/network/allow/${h}`, h, { description: 'allowed', icon: { id: 'check' } })),
        ...net.deny.map((h) => leaf(`${base}/network/deny/${h}`, h, { description: 'denied', icon: { id: 'close' } })),
      ], net.policy === 'deny' ? 'No host allowed' : 'No host rule')
      : leaf(`${base}/network`, 'Network', { description: view.policyError ? 'policy not readable' : 'unknown', tooltip: view.policyError, icon: { id: 'warning' } }),
    group(`${base}/bridge`, 'Bridge containers', view.bridgeContainers?.length ? String(view.bridgeContainers.length) : undefined, 'link',
      (view.bridgeContainers ?? []).map((c) => leaf(`${base}/bridge/${c}`, c, { icon: { id: 'package' } })),
      'No reachable containers'),
  ];
  return {
    id: base, kind: 'sandbox', label: agentLabel(d.agent), description, tooltip,
    icon: STATUS_ICONS[d.status], contextValue: contextValueOf(d.status), sandbox: ref, children,
  };
}

/**
 * The tree's top level: one node per workspace folder that has sandboxes (in the folders'
 * order), then, with `includeOthers` (the "Show All Sandboxes" toggle, or no folder open), one
 * per other workspace on the engine, so that sandboxes started from the CLI or another window
 * can be seen and managed too.
 */
export function buildTree(folders: readonly WorkspaceFolderRef[], sandboxes: readonly SandboxView[], now: number, includeOthers = folders.length === 0): TreeNode[] {
  const byFolder = new Map<string, SandboxView[]>();
  const others = new Map<string, SandboxView[]>();
  for (const view of sandboxes) {
    // The deepest open folder containing the workspace owns it (nested folders in multi-root workspaces).
    const owner = folders.filter((f) => isInside(view.details.workspace, f.path)).sort((a, b) => b.path.length - a.path.length)[0];
    const key = owner?.path ?? view.details.workspace;
    const map = owner ? byFolder : others;
    map.set(key, [...(map.get(key) ?? []), view]);
  }
  const node = (path: string, name: string, views: SandboxView[], open: boolean): TreeNode => ({
    id: `workspace/${path}`, kind: 'workspace', label: name, description: open ? undefined : path, tooltip: path,
    icon: { id: open ? 'root-folder' : 'folder' }, contextValue: open ? 'openWorkspace' : 'otherWorkspace',
    children: views.sort((a, b) => a.details.agent.localeCompare(b.details.agent) || a.details.name.localeCompare(b.details.name)).map((v) => sandboxNode(v, now)),
  });
  return [
    ...folders.filter((f) => byFolder.has(f.path)).map((f) => node(f.path, f.name, byFolder.get(f.path)!, true)),
    ...(includeOthers ? [...others.keys()].sort().map((p) => node(p, basename(p) || p, others.get(p)!, false)) : []),
  ];
}

/** The one-line state of a workspace for the status bar. */
export function workspaceSummary(folder: string | undefined, sandboxes: readonly SandboxView[]): { text: string; running: number; total: number } {
  const mine = folder ? sandboxes.filter((s) => isInside(s.details.workspace, folder)) : [];
  const running = mine.filter((s) => s.details.status === 'running');
  if (!mine.length) return { text: 'no sandbox', running: 0, total: 0 };
  if (mine.length === 1) return { text: `${mine[0].details.agent} ${mine[0].details.status}`, running: running.length, total: 1 };
  return { text: `${running.length}/${mine.length} running`, running: running.length, total: mine.length };
}
