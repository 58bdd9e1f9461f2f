// What the Sandboxes tree shows, computed from Docker's state. Pure (no `vscode` import), so it
// is unit-tested and benchmarked in plain node; tree.ts turns these nodes into TreeItems.
import { basename, relative } from 'node:path';
import { isInside } from '../core/paths.js';
import { getAgent, isAgentId } from '../core/agents.js';
import { isHidingMount } from '../engine/hidingGuard.js';
import type { Finding } from '../core/drift/index.js';
import type { RuleInForce } from '../core/liveRules.js';
import { refusalRows, type Refusal } from './networkActivityModel.js';
import type { SandboxDetails, SandboxStatus } from '../engine/types.js';
import { shortCause, withoutStartAdvice } from '../engine/stopCause.js';

/** A stop cause as the editor says it: its own Start, where the CLI's words name "paddock start NAME". */
const inEditorWords = (cause: string, sandboxName: string) => {
  const withoutAdvice = withoutStartAdvice(cause, sandboxName);
  return withoutAdvice === cause ? cause : `${withoutAdvice}; Start brings it back`;
};

/** Its guard stopped it (protection lifted, or a git redirection blocked), as opposed to a memory kill or an engine restart (src/engine/stopCause.ts). */
const selfStopped = (view: { readonly stoppedBecause?: string }) => /^(protection lifted|blocked:)/.test(view.stoppedBecause ?? '');

/**
 * What `policy check` (the drift analysis) says of one sandbox: the paths it can read until it is
 * recreated (its "recreate-needed" error), and the hidden paths git still has ("hidden-in-git").
 */
export function annotationsFrom(findings: readonly Finding[], sandbox: string): Pick<SandboxView, 'notHiddenUntilRecreate' | 'hiddenInGit'> {
  const exposed = findings.filter((f) => f.rule === 'recreate-needed' && f.severity === 'error' && f.message.startsWith('Not hidden until applied')
    && f.fixes.some((fix) => fix.kind === 'recreate-sandbox' && fix.sandbox === sandbox));
  const inGit = findings.filter((f) => f.rule === 'hidden-in-git');
  return {
    ...(exposed.length ? { notHiddenUntilRecreate: [...new Set(exposed.flatMap((f) => f.paths))].sort() } : {}),
    ...(inGit.length ? { hiddenInGit: [...new Set(inGit.flatMap((f) => f.paths))].sort() } : {}),
  };
}

/** The rules a sandbox's egress proxy runs with (its live rules file, or its create-time rules). */
export interface EnforcedNetwork {
  readonly policy: 'allow' | 'deny';
  readonly rules: readonly RuleInForce[];
  /** When the host last wrote the live rules (undefined for a proxy without them). */
  readonly changedAt?: string;
}

/** Everything the tree knows about one sandbox. */
export interface SandboxView {
  readonly details: SandboxDetails;
  /** The workspace policy file's network rules; undefined when it could not be read. */
  readonly network?: { readonly policy: 'allow' | 'deny'; readonly allow: readonly string[]; readonly deny: readonly string[] };
  /** The rules its egress proxy enforces: what the Network group shows. */
  readonly enforced?: EnforcedNetwork;
  /** Why the enforced rules could not be read (no proxy, or it was removed). */
  readonly enforcedError?: string;
  /** Names of the containers the bridge lets this sandbox reach (the bridge's own matching: names, globs, compose projects). */
  readonly bridgeContainers?: readonly string[];
  /** Running compose projects of the workspace (offered when the bridge reaches nothing). */
  readonly composeProjects?: readonly string[];
  /** From `policy check`'s analysis (drift): paths this sandbox can read until it is recreated. */
  readonly notHiddenUntilRecreate?: readonly string[];
  /** From the same analysis: hidden paths (relative to the workspace) that git still has, so `git show` reads them. */
  readonly hiddenInGit?: readonly string[];
  /** Why the policy could not be read, if it could not. */
  readonly policyError?: string;
  /** What its own guard said when it stopped the sandbox (a protected path lifted on the host). */
  readonly stoppedBecause?: string;
  /** Hosts its proxy asks the user about, waiting for an answer (networkQuestions.ts). */
  readonly asking?: number;
  /** Hosts its egress proxy refused in this run, newest first (networkActivity.ts). */
  readonly refused?: readonly Refusal[];
  /** Its container was made from other hide rules, cage, env, limits or ports than the policy file has (src/engine/apply.ts). */
  readonly containerPolicyChanged?: boolean;
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
  /** A path revealed in the explorer on Enter or a double click (hidden paths). */
  readonly resourcePath?: string;
  /** A command run when the node is activated (never on a sandbox row: a click only selects it). */
  readonly command?: { readonly id: string; readonly title: string; readonly args?: readonly unknown[] };
  /** A published port's address (Open in Browser). */
  readonly url?: string;
  /** The sandbox this node belongs to (commands on children act on it). */
  readonly sandbox?: { readonly id: string; readonly name: string; readonly workspace: string; readonly agent: string; readonly status: SandboxStatus };
  readonly children?: readonly TreeNode[];
  /** A refused host's row (the Network group): what its Allow action allows. */
  readonly host?: { readonly host: string; readonly port: number };
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

/** "paddock-shell:8d19…" → "shell"; an applied sandbox's "paddock-state:…" → "shell, state kept"; custom images stay as they are. */
function templateOf(image: string, agent: string): string {
  const m = /^paddock-([a-z0-9-]+):/.exec(image);
  return m ? (m[1] === 'custom' ? 'workspace Dockerfile' : m[1] === 'state' ? `${agent}, state kept` : m[1]) : image;
}


function leaf(id: string, label: string, extra: Partial<TreeNode> = {}): TreeNode {
  return { id, kind: 'item', label, ...extra };
}

function group(id: string, label: string, description: string | undefined, icon: string, children: TreeNode[], emptyText: string, tooltip?: string): TreeNode {
  return {
    id, kind: 'group', label, description, tooltip, icon: { id: icon },
    children: children.length ? children : [leaf(`${id}/empty`, emptyText, { icon: { id: 'circle-slash' } })],
  };
}

const RECREATE_HINT = 'Apply changes (right-click → Apply Changes, or "paddock apply SANDBOX") to hide them: a new container that keeps the sandbox\'s state.';
const APPLY_HINT = 'Save the policy in the editor (it goes to the sandbox\'s proxy at once) or run "paddock policy apply".';

/**
 * The Network group: the rules the sandbox's proxy runs with, each marked where it differs from
 * the policy file (a rule in force that the file lost, a rule of the file not in force yet).
 */
export function networkGroup(base: string, view: SandboxView, ref: TreeNode['sandbox']): TreeNode {
  const file = view.network;
  const enforced = view.enforced;
  const id = `${base}/network`;
  if (!enforced) {
    if (!file) return leaf(id, 'Network', { description: view.policyError ? 'policy not readable' : 'unknown', tooltip: view.policyError ?? view.enforcedError, icon: { id: 'warning' } });
    // No proxy to ask (made before egress, or removed): the file is all there is, and it says so.
    return group(id, 'Network', `${file.policy} by default · from the file, not read from the proxy`, 'warning', [
      ...file.allow.map((h) => leaf(`${id}/allow/${h}`, h, { description: 'allowed in the file', icon: { id: 'check' } })),
      ...file.deny.map((h) => leaf(`${id}/deny/${h}`, h, { description: 'denied in the file', icon: { id: 'close' } })),
    ], 'No host rule', view.enforcedError ? `The sandbox's proxy could not be read: ${view.enforcedError}` : undefined);
  }
  const verb = (list: 'allow' | 'deny') => (list === 'allow' ? 'allowed' : 'denied');
  const pending = { id: 'paddock.openPolicy', title: 'Open Policy' };
  let differences = 0;
  const children: TreeNode[] = enforced.rules.map((r) => {
    const nodeId = `${id}/${r.list}/${r.rule}`;
    const icon = { id: r.list === 'allow' ? 'check' : 'close' };
    if (r.overriddenBy) return leaf(nodeId, r.rule, { description: `allowed, but denied by ${r.overriddenBy}`, icon: { id: 'close' }, tooltip: 'Deny rules win over allow rules.' });
    if (r.from === 'session') return leaf(nodeId, r.rule, { description: `${verb(r.list)} for this run (not in the file)`, icon, tooltip: 'Added with "paddock network allow|deny" without --save: it lasts until the sandbox stops.' });
    if (r.from === 'host registries') return leaf(nodeId, r.rule, { description: 'allowed · package registry of this machine', icon, tooltip: 'network.hostRegistries is on: the package registries this machine is configured with are allowed.' });
    if (file && !(r.list === 'allow' ? file.allow : file.deny).includes(r.rule)) {
      differences++;
      return leaf(nodeId, r.rule, { description: `${verb(r.list)} · in force, not in the file — apply`, icon: { id: 'warning', color: 'editorWarning.foreground' }, tooltip: `The sandbox's proxy still ${r.list === 'allow' ? 'allows' : 'denies'} ${r.rule}, but the policy file no longer names it. ${APPLY_HINT}`, sandbox: ref, command: pending });
    }
    return leaf(nodeId, r.rule, { description: verb(r.list), icon });
  });
  // Rules of the file that are not in force come first: they are what the user last changed.
  const pendingRows: TreeNode[] = [];
  if (file) {
    for (const list of ['deny', 'allow'] as const) {
      for (const rule of file[list]) {
        if (enforced.rules.some((r) => r.list === list && r.rule === rule)) continue;
        differences++;
        pendingRows.push(leaf(`${id}/pending/${list}/${rule}`, rule, {
          description: `in the file, not in force — apply`, icon: { id: 'warning', color: 'editorWarning.foreground' },
          tooltip: `The policy file ${list === 'allow' ? 'allows' : 'denies'} ${rule}, but the sandbox's proxy does not enforce it yet: it ${list === 'allow' ? 'refuses' : 'lets through'} it now. ${APPLY_HINT}`,
          sandbox: ref, command: pending,
        }));
      }
    }
  }
  const modeDiffers = file && file.policy !== enforced.policy;
  const description = [
    `${enforced.policy} by default`,
    ...(view.refused?.length ? [`${view.refused.length} refused in this run`] : []),
    ...(modeDiffers ? [`the file says ${file!.policy} — apply`] : []),
    ...(differences ? [`${differences} differ${differences === 1 ? 's' : ''} from the file`] : []),
  ].join(' · ');
  const tooltip = `The rules the sandbox's egress proxy runs with${enforced.changedAt ? ` (since ${enforced.changedAt})` : ''}.${differences || modeDiffers ? ` Marked rules differ from .paddock/policy.yaml. ${APPLY_HINT}` : ''}`;
  return group(id, 'Network', description, differences || modeDiffers ? 'warning' : enforced.policy === 'deny' ? 'shield' : 'globe', [...refusalRows(id, view.refused ?? [], enforced, Date.now()).map((r) => leaf(r.id, r.label, { ...r, sandbox: ref, command: { id: 'paddock.showNetworkActivity', title: 'Show Network Activity' } })), ...pendingRows, ...children],
    enforced.policy === 'deny' ? 'No host allowed' : 'No host rule', tooltip);
}

/** The compose projects the tree offers to add to a workspace's bridge.containers (its sandboxes' empty Bridge containers groups). */
export function offeredComposeProjects(views: readonly SandboxView[], workspace: string): string[] {
  return [...new Set(views.filter((v) => v.details.workspace === workspace && !v.policyError && !v.bridgeContainers?.length).flatMap((v) => v.composeProjects ?? []))];
}

function bridgeGroup(base: string, view: SandboxView, ref: TreeNode['sandbox']): TreeNode {
  const id = `${base}/bridge`;
  const reached = view.bridgeContainers ?? [];
  // A policy file that does not load: the bridge cannot take its rules, and says so here.
  if (view.policyError) {
    return group(id, 'Bridge containers', 'policy file broken', 'warning', [
      leaf(`${id}/broken`, 'Policy file does not load', {
        icon: { id: 'error', color: 'errorForeground' }, description: 'the bridge keeps the rules last applied', sandbox: ref,
        tooltip: `${view.policyError}\nThe bridge does not take new rules until .paddock/policy.yaml loads again${reached.length ? '' : ', and reaches no container now'}. Fix the file (its problems are listed in the Problems panel).`,
        command: { id: 'paddock.openPolicy', title: 'Open Policy' },
      }),
      ...reached.map((c) => leaf(`${id}/${c}`, c, { icon: { id: 'package' }, description: 'reached (rules last applied)' })),
    ], '');
  }
  if (reached.length) return group(id, 'Bridge containers', String(reached.length), 'link', reached.map((c) => leaf(`${id}/${c}`, c, { icon: { id: 'package' } })), '');
  const how = 'Add container names, globs or compose project names to bridge.containers in .paddock/policy.yaml (or the policy editor).';
  return group(id, 'Bridge containers', undefined, 'link', [
    leaf(`${id}/empty`, 'No reachable containers', { icon: { id: 'circle-slash' }, tooltip: how, description: 'add some in the policy', sandbox: ref, command: { id: 'paddock.openPolicyEditor', title: 'Open Policy Editor' } }),
    ...(view.composeProjects ?? []).map((project) => leaf(`${id}/offer/${project}`, `Add compose project "${project}"`, {
      icon: { id: 'add' }, description: 'running in this workspace', sandbox: ref,
      tooltip: `Lets the bridge reach the containers of the compose project "${project}" (adds it to bridge.containers and saves the policy).`,
      command: { id: 'paddock.addBridgeContainers', title: 'Add to bridge.containers', args: [ref?.workspace, project] },
    })),
  ], '');
}

const APPLY_STATE_HINT = 'Applying makes a new container from the current policy and keeps the sandbox\'s state (installed packages, the agent\'s home, caches); network rules need no apply: they go to its proxy when the policy is saved.';

/** Why the sandbox's container differs from what the policy file would make now. */
function applyReasons(view: SandboxView, exposed: readonly string[]): string[] {
  return [
    ...(view.containerPolicyChanged ? ['hide rules, cage, env, limits or ports changed in the policy'] : []),
    ...(exposed.length ? [`${exposed.length} path${exposed.length === 1 ? '' : 's'} to hide appeared`] : []),
  ];
}

export function sandboxNode(view: SandboxView, now: number): TreeNode {
  const d = view.details;
  const hidden = hiddenPaths(d);
  const up = d.status === 'running' ? uptime(d.startedAt, now) : undefined;
  const ports = d.ports.filter((p) => p.hostPort);
  const exposed = view.notHiddenUntilRecreate ?? [];
  const inGit = new Set(view.hiddenInGit ?? []);
  // Paths not hidden yet have their own marks (and Recreate on each): this is for the policy's container sections.
  const applyDue = !!view.containerPolicyChanged;
  const description = [
    d.status === 'running' && up ? `running ${up}` : view.stoppedBecause ? (selfStopped(view) ? `${d.status} itself` : `${d.status} (${shortCause(view.stoppedBecause)})`) : d.status,
    ...(view.asking ? [`asks about ${view.asking} host${view.asking === 1 ? '' : 's'}`] : []),
    exposed.length ? `${exposed.length} not hidden until applied` : `${hidden.length} hidden`,
    ...(applyDue ? ['apply changes (keeps state)'] : []),
    ...(ports.length ? [ports.map((p) => `:${p.hostPort}`).join(' ')] : []),
    d.runtime,
    templateOf(d.image, d.agent),
  ].join(' · ');
  const ref = { id: d.id, name: d.name, workspace: d.workspace, agent: d.agent, status: d.status };
  const base = `sandbox/${d.id}`;
  const tooltip = [
    `${agentLabel(d.agent)} sandbox ${d.name}`,
    `State: ${d.status}${up ? ` (up ${up})` : ''}`,
    ...(view.stoppedBecause ? [`${selfStopped(view) ? 'Stopped itself' : 'Stopped'}: ${inEditorWords(view.stoppedBecause, d.name)}`] : []),
    ...(exposed.length ? [`Not hidden until applied: ${exposed.slice(0, 5).join(', ')}${exposed.length > 5 ? ` and ${exposed.length - 5} more` : ''} — the sandbox can read ${exposed.length === 1 ? 'it' : 'them'}. ${RECREATE_HINT}`] : []),
    ...(applyDue ? [`Apply changes (keeps state): ${applyReasons(view, exposed).join('; ')}. ${APPLY_STATE_HINT}`] : []),
    `Workspace: ${d.workspace}`,
    `Runtime: ${d.runtime}`,
    `Image: ${d.image}`,
    `Limits: ${d.limits.cpus} CPUs, ${Math.round(d.limits.memoryBytes / 1024 ** 2)} MiB, ${d.limits.pids} processes`,
    `Hidden paths: ${hidden.length}${inGit.size ? ` (${inGit.size} exposed through git)` : ''}`,
    `API keys: ${d.injectedKeys.length ? `${d.injectedKeys.join(', ')}, injected by the egress proxy (not in the sandbox)` : 'none injected'}`,
  ].join('\n');

  const hiddenLeaf = (p: string): TreeNode => {
    const rel = relative(d.workspace, p) || p;
    const git = isInside(p, d.workspace) && inGit.has(rel);
    return leaf(`${base}/hidden/${p}`, rel, {
      description: git ? 'exposed through git' : isInside(p, d.workspace) ? undefined : p,
      icon: git ? { id: 'warning', color: 'errorForeground' } : { id: 'lock' },
      tooltip: git ? `${rel} is hidden, but git has it (tracked or in history): the sandbox reads it with "git show". Remove it from the history and rotate the secret, or hide .git.` : `${p} is hidden in the sandbox. Double-click to reveal it in the explorer.`,
      resourcePath: p, sandbox: ref, command: { id: 'paddock.revealHiddenPath', title: 'Reveal in Explorer', args: [p] },
    });
  };
  const children: TreeNode[] = [
    ...(applyDue ? [leaf(`${base}/apply`, 'Apply changes (keeps state)', {
      description: `new container · ${applyReasons(view, exposed).join('; ')}`, icon: { id: 'sync', color: 'editorWarning.foreground' },
      tooltip: `${applyReasons(view, exposed).join('; ')}. ${APPLY_STATE_HINT}`, sandbox: ref, command: { id: 'paddock.recreate', title: 'Apply Changes' },
    })] : []),
    group(`${base}/hidden`, 'Hidden paths', inGit.size ? `${hidden.length} · ${inGit.size} exposed through git` : String(hidden.length), inGit.size ? 'warning' : 'eye-closed',
      [...exposed.map((rel) => leaf(`${base}/exposed/${rel}`, rel, { description: 'not hidden until applied', icon: { id: 'eye', color: 'errorForeground' }, tooltip: `The sandbox was created before ${rel} existed or was covered by the policy, so it can read it. ${RECREATE_HINT}`, sandbox: ref, command: { id: 'paddock.recreate', title: 'Apply Changes' } })),
        ...hidden.map(hiddenLeaf)],
      'Nothing hidden'),
    group(`${base}/ports`, 'Ports', ports.length ? String(ports.length) : undefined, 'plug',
      ports.map((p) => leaf(`${base}/ports/${p.containerPort}/${p.protocol}`, `${p.hostIp || '127.0.0.1'}:${p.hostPort} → ${p.containerPort}/${p.protocol}`, {
        icon: { id: 'radio-tower' }, sandbox: ref, ...(p.protocol === 'tcp' ? { contextValue: 'publishedPort', url: `http://localhost:${p.hostPort}/`, tooltip: `Right-click → Open in Browser: http://localhost:${p.hostPort}/` } : {}),
      })),
      'No published ports'),
    networkGroup(base, view, ref),
    bridgeGroup(base, view, ref),
  ];
  return {
    id: base, kind: 'sandbox', label: agentLabel(d.agent), description, tooltip,
    icon: exposed.length ? { id: 'warning', color: 'errorForeground' } : view.asking ? { id: 'question', color: 'editorWarning.foreground' } : STATUS_ICONS[d.status],
    contextValue: contextValueOf(d.status), sandbox: ref, children,
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

const ENDPOINT_SOURCES: Record<string, string> = {
  setting: 'your setting "paddock.dockerHost"',
  DOCKER_HOST: 'the DOCKER_HOST variable',
  default: 'the default engine',
};

/** The engine that was tried and what pointed there, for the no-engine view: "unix:///… (your setting …)". */
export function triedEngine(endpoint: { readonly host: string; readonly source: string }): string {
  const { host, source } = endpoint;
  return `${host} (${ENDPOINT_SOURCES[source] ?? (source.startsWith('context ') ? `your Docker ${source}` : source)})`;
}

/** The one-line state of a workspace for the status bar. */
export function workspaceSummary(folder: string | undefined, sandboxes: readonly SandboxView[], folderTasks?: { readonly tasks: readonly { readonly name: string; readonly sandbox?: string }[] }): { text: string; running: number; total: number } {
  // A task's sandbox works on a folder outside the workspace, but it is the workspace's (its policy governs it).
  const taskOf = new Map((folderTasks?.tasks ?? []).filter((t) => t.sandbox).map((t) => [t.sandbox!, t.name]));
  const mine = folder ? sandboxes.filter((s) => isInside(s.details.workspace, folder) || taskOf.has(s.details.name)) : [];
  const running = mine.filter((s) => s.details.status === 'running');
  const tasks = mine.filter((s) => taskOf.has(s.details.name)).length;
  if (!mine.length) return { text: 'no sandbox', running: 0, total: 0 };
  if (mine.length === 1) {
    const only = mine[0].details;
    return { text: `${tasks ? `task ${taskOf.get(only.name)}: ` : ''}${only.agent} ${only.status}`, running: running.length, total: 1 };
  }
  return { text: `${running.length}/${mine.length} running${tasks ? ` (${tasks} task${tasks === 1 ? '' : 's'})` : ''}`, running: running.length, total: mine.length };
}
