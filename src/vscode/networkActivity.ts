// "Network Activity": every decision of the sandboxes' egress proxies (allowed, denied, errors,
// rules changes), live as the proxies append to their logs (the same log `paddock network log`
// reads), with the cause of each refusal, filters per sandbox and decision, and Allow on a
// refused host. It also tells the agent terminals and the Sandboxes tree what was refused.
import { existsSync, statSync, watch, type FSWatcher } from 'node:fs';
import * as vscode from 'vscode';
import { checkRuleText, mergeLiveRules } from '../core/liveRules.js';
import { describeError, PaddockError } from '../core/errors.js';
import { isInside } from '../core/paths.js';
import type { SandboxEngine } from '../engine/engine.js';
import { egressPaths } from '../engine/egressFiles.js';
import { readLiveRules } from '../engine/liveRules.js';
import { parseEgressLog, readNewLines, type LogCursor } from '../proxy/log.js';
import { DisposableOwner } from './lifecycle.js';
import {
  ACTIVITY_KINDS, allowRuleFor, ALL_ACTIVITY, classify, describeFilter, matches, networkOf, noRuleNames, refusals, removedFilterMessage, stillRefused,
  type ActivityFilter, type ActivityKind, type NetworkEvent, type Refusal,
} from './networkActivityModel.js';
import type { SandboxSource } from './source.js';
import type { SandboxView, TreeNode } from './treeModel.js';
import { showErrorMessage, showInformationMessage, showWarningMessage, withProgress } from './notify.js';

export const NETWORK_ACTIVITY_VIEW = 'paddock.networkActivity';
export const SHOW_NETWORK_ACTIVITY = 'paddock.showNetworkActivity';
export const FILTER_NETWORK_ACTIVITY = 'paddock.filterNetworkActivity';
export const CLEAR_NETWORK_ACTIVITY = 'paddock.clearNetworkActivity';
export const ALLOW_HOST = 'paddock.allowHost';
const FILTER_KEY = 'paddock.networkActivity.filter';
/** Refused hosts shown under a sandbox's Network group. */
const TREE_REFUSALS = 5;
/** How much of a log's end is read when it is first followed (its recent history). */
const BACKLOG_BYTES = 256 * 1024;
/** A safety net for file watches that miss a change (a log folder made after the watch). */
const POLL_MS = 2000;

/** What the agent terminals ask: the hosts the sandbox's proxy refused since a time. */
export interface NetworkHints {
  refusedSince(sandbox: string, since: number): Refusal[];
}

interface Followed {
  readonly file: string;
  cursor: LogCursor;
  watcher?: FSWatcher;
  events: NetworkEvent[];
}

function maxEntries(): number {
  const n = vscode.workspace.getConfiguration('paddock').get<number>('networkActivity.maxEntries') ?? 1000;
  return Number.isInteger(n) && n > 0 ? n : 1000;
}

const KIND_ICONS: Record<ActivityKind, vscode.ThemeIcon> = {
  denied: new vscode.ThemeIcon('circle-slash', new vscode.ThemeColor('errorForeground')),
  error: new vscode.ThemeIcon('warning', new vscode.ThemeColor('editorWarning.foreground')),
  allowed: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
  rules: new vscode.ThemeIcon('settings-gear'),
};

/** The context value of an event's row: a host refused only for want of a rule can be allowed from it. */
function contextOf(event: NetworkEvent): string {
  if (event.kind === 'denied' && noRuleNames(event.entry.rule)) return 'networkRefusal';
  return `network-${event.kind}`;
}

export class NetworkActivity extends DisposableOwner implements vscode.TreeDataProvider<NetworkEvent>, NetworkHints {
  private readonly followed = new Map<string, Followed>();
  /** Sandboxes of other folders the user asked about (from the tree's context menu). */
  private readonly extra = new Set<string>();
  private filter: ActivityFilter;
  /** "Clear" hides what came before; the logs themselves are kept. */
  private clearedAt = 0;
  private readonly changed = this.register(new vscode.EventEmitter<void>());
  readonly onDidChangeTreeData = this.changed.event;
  private readonly refusalsChanged = this.register(new vscode.EventEmitter<void>());
  private readonly view: vscode.TreeView<NetworkEvent>;
  private refreshTimer?: ReturnType<typeof setTimeout>;
  private lastRefusals = '';
  /** Whether the listed events come from more than one sandbox (each row then names its sandbox). */
  private severalSandboxes = false;

  constructor(private readonly source: SandboxSource & { readonly engine: SandboxEngine }, private readonly log: vscode.LogOutputChannel, private readonly state: vscode.Memento) {
    super();
    const saved = state.get<ActivityFilter>(FILTER_KEY);
    this.filter = saved && Array.isArray(saved.kinds) && Array.isArray(saved.sandboxes) ? saved : ALL_ACTIVITY;
    this.view = this.register(vscode.window.createTreeView(NETWORK_ACTIVITY_VIEW, { treeDataProvider: this }));
    this.register(source.onDidChange(() => this.update()));
    this.register(vscode.workspace.onDidChangeWorkspaceFolders(() => this.update()));
    const poll = setInterval(() => this.pollAll(), POLL_MS);
    this.register({ dispose: () => clearInterval(poll) });
    this.register({ dispose: () => { for (const f of this.followed.values()) f.watcher?.close(); this.followed.clear(); } });
    this.register({ dispose: () => clearTimeout(this.refreshTimer) });
    this.update();
    this.showFilter();
  }

  /** The sandboxes of this window's folders, and the ones asked about. */
  private mine(): Set<string> {
    const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
    return new Set(this.source.sandboxes.map((v) => v.details).filter((d) => this.extra.has(d.name) || folders.some((f) => isInside(d.workspace, f))).map((d) => d.name));
  }

  /** Whether the sandbox still exists; while the engine is not listing, every one is taken to. */
  private readonly exists = (name: string): boolean => this.source.state !== 'ready' || this.source.sandboxes.some((v) => v.details.name === name);

  /** Follows the log of every sandbox the store knows (the tree can show other folders' too). */
  private update(): void {
    // A sandbox of the filter that was removed says so (a recreated one, same name, is back as it was).
    this.showFilter();
    const names = new Set(this.source.sandboxes.map((v) => v.details.name));
    for (const [name, f] of this.followed) {
      if (names.has(name)) continue;
      f.watcher?.close();
      this.followed.delete(name);
    }
    for (const name of names) {
      let f = this.followed.get(name);
      if (!f) {
        const file = egressPaths(name).log;
        // Its recent history: only the log's end (a cut first line is skipped by the parser).
        const offset = existsSync(file) ? Math.max(0, statSync(file).size - BACKLOG_BYTES) : 0;
        f = { file, cursor: { offset }, events: [] };
        this.followed.set(name, f);
        this.read(name, f);
      }
      if (!f.watcher) this.arm(name, f);
    }
    this.scheduleRefresh();
  }

  private arm(name: string, f: Followed): void {
    const dir = egressPaths(name).logDir;
    if (!existsSync(dir)) return;
    try {
      f.watcher = watch(dir, { persistent: false }, () => {
        if (this.read(name, f)) this.scheduleRefresh();
      });
      f.watcher.on('error', () => { f.watcher?.close(); f.watcher = undefined; });
    } catch {
      f.watcher = undefined; // the folder went: the poll reads it when it is back
    }
  }

  private pollAll(): void {
    let any = false;
    for (const [name, f] of this.followed) {
      if (!f.watcher) this.arm(name, f);
      any = this.read(name, f) || any;
    }
    if (any) this.scheduleRefresh();
  }

  /** Reads what the proxy appended; true when there was something. */
  private read(name: string, f: Followed): boolean {
    let next;
    try {
      next = readNewLines(f.file, f.cursor);
    } catch (err) {
      this.log.trace(`Network activity: ${f.file}: ${describeError(err)}`);
      return false;
    }
    f.cursor = next.next;
    if (!next.text) return false;
    const events = parseEgressLog(next.text).map((e) => classify(name, e));
    if (!events.length) return false;
    f.events.push(...events);
    const max = maxEntries();
    if (f.events.length > max) f.events.splice(0, f.events.length - max);
    return true;
  }

  private scheduleRefresh(): void {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      this.changed.fire();
      const key = JSON.stringify(this.source.sandboxes.map((v) => [v.details.name, this.treeRefusals(v)]));
      if (key !== this.lastRefusals) {
        this.lastRefusals = key;
        this.refusalsChanged.fire();
      }
    }, 100);
  }

  private treeRefusals(view: SandboxView): Refusal[] {
    const f = this.followed.get(view.details.name);
    const since = view.details.startedAt ? Date.parse(view.details.startedAt) : 0;
    return f ? refusals(f.events, view.details.name, since, TREE_REFUSALS) : [];
  }

  /**
   * The source as the tree and the status bar see it: each sandbox with the hosts its proxy refused
   * in this run; everything else is the source's own.
   */
  withRefusals<S extends SandboxSource>(source: S): S {
    const changed = this.register(new vscode.EventEmitter<void>());
    this.register(source.onDidChange(() => changed.fire()));
    this.register(this.refusalsChanged.event(() => changed.fire()));
    const withRefused = (v: SandboxView): SandboxView => {
      const refused = this.treeRefusals(v);
      return refused.length ? { ...v, refused } : v;
    };
    return new Proxy(source, {
      get(target, prop) {
        if (prop === 'sandboxes') return target.sandboxes.map(withRefused);
        if (prop === 'onDidChange') return changed.event;
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  refusedSince(sandbox: string, since: number): Refusal[] {
    const f = this.followed.get(sandbox);
    if (!f) return [];
    // The proxy writes its line before it answers: what the agent saw is in the file now.
    if (this.read(sandbox, f)) this.scheduleRefresh();
    return stillRefused(refusals(f.events, sandbox, since), this.rulesInForce(sandbox));
  }

  /** The rules the sandbox's proxy runs with now: its live rules file as the host last wrote it, else the tree's (an older proxy). */
  private rulesInForce(sandbox: string): { policy: 'allow' | 'deny'; allow: string[]; deny: string[] } | undefined {
    const live = readLiveRules(sandbox);
    if (live) return mergeLiveRules(live);
    const enforced = this.source.sandboxes.find((v) => v.details.name === sandbox)?.enforced;
    return enforced && networkOf(enforced);
  }

  getChildren(element?: NetworkEvent): NetworkEvent[] {
    if (element) return [];
    const mine = this.mine();
    const shown: NetworkEvent[] = [];
    for (const [name, f] of this.followed) {
      if (!this.filter.sandboxes.length && !mine.has(name)) continue;
      for (const e of f.events) if (e.at >= this.clearedAt && matches(e, this.filter)) shown.push(e);
    }
    // Newest first: what just happened is at the top.
    const list = shown.sort((a, b) => b.at - a.at).slice(0, maxEntries());
    this.severalSandboxes = new Set(list.map((e) => e.sandbox)).size > 1;
    return list;
  }

  getTreeItem(e: NetworkEvent): vscode.TreeItem {
    const x = e.entry;
    const time = new Date(e.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }); // local, as the clock shows it
    const label = x.method === 'RULES' ? 'rules' : `${x.host}:${x.port}`;
    const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.None);
    // The time first, as in a log; the sandbox only when the list holds several.
    item.description = [time, `${e.kind === 'rules' ? '' : `${e.kind} — `}${e.cause}`, ...(this.severalSandboxes ? [e.sandbox] : [])].join(' · ');
    item.iconPath = KIND_ICONS[e.kind];
    item.contextValue = contextOf(e);
    // Plain text: host and method come from the sandbox's requests.
    item.tooltip = [
      `${e.kind.toUpperCase()}${x.method === 'RULES' ? '' : ` ${x.method} ${x.host}:${x.port}`}`,
      e.cause, '',
      `Sandbox: ${e.sandbox}`, `Time: ${x.time}`, `Rule: ${x.rule}`,
      ...(x.address ? [`Address: ${x.address}`] : []),
      ...(x.status !== undefined ? [`Status: ${x.status}`] : []),
      ...(x.decision === 'allow' ? [`Bytes: ${x.bytesSent} out, ${x.bytesReceived} in`] : []),
      ...(x.error ? [`Error: ${x.error}`] : []),
      ...(item.contextValue === 'networkRefusal' ? ['', `Allow it with the ✓ button, or "paddock network allow ${e.sandbox} ${allowRuleFor(x.host, x.port)}".`] : []),
    ].join('\n');
    return item;
  }

  private showFilter(): void {
    this.view.description = describeFilter(this.filter, this.exists);
    this.view.message = removedFilterMessage(this.filter, this.exists);
  }

  /** Shows the view; from a sandbox (tree node or terminal), filtered to that sandbox. */
  async show(arg?: unknown): Promise<void> {
    const name = sandboxNameOf(arg);
    if (name) {
      if (!this.mine().has(name)) this.extra.add(name);
      await this.setFilter({ ...this.filter, sandboxes: [name] });
      this.update();
    }
    await vscode.commands.executeCommand(`${NETWORK_ACTIVITY_VIEW}.focus`);
  }

  private async setFilter(filter: ActivityFilter): Promise<void> {
    this.filter = filter;
    await this.state.update(FILTER_KEY, filter);
    this.showFilter();
    this.changed.fire();
  }

  /** One quick pick: which decisions, and which sandboxes (none picked: this window's). */
  async pickFilter(): Promise<void> {
    type Item = vscode.QuickPickItem & { kind2?: ActivityKind; sandbox?: string };
    const kindLabels: Record<ActivityKind, string> = { denied: 'Denied', error: 'Errors', allowed: 'Allowed', rules: 'Rules changes' };
    const mine = this.mine();
    // A removed sandbox still in the filter is listed (picked) so that it can be unpicked.
    const names = [...new Set([...this.followed.keys(), ...this.filter.sandboxes])].sort((a, b) => Number(mine.has(b)) - Number(mine.has(a)) || a.localeCompare(b));
    const items: Item[] = [
      { label: 'Decisions', kind: vscode.QuickPickItemKind.Separator },
      ...ACTIVITY_KINDS.map((k) => ({ label: kindLabels[k], kind2: k, picked: this.filter.kinds.includes(k) })),
      { label: 'Sandboxes (none picked: this window\'s)', kind: vscode.QuickPickItemKind.Separator },
      ...names.map((n) => ({ label: n, description: !this.exists(n) ? 'removed' : mine.has(n) ? 'this window' : 'other folder', sandbox: n, picked: this.filter.sandboxes.includes(n) })),
    ];
    const picked = await vscode.window.showQuickPick(items, { canPickMany: true, title: 'Network Activity: show', placeHolder: 'Decisions and sandboxes to show' });
    if (!picked) return;
    await this.setFilter({ kinds: ACTIVITY_KINDS.filter((k) => picked.some((p) => p.kind2 === k)), sandboxes: picked.flatMap((p) => (p.sandbox ? [p.sandbox] : [])) });
  }

  async clear(): Promise<void> {
    this.clearedAt = Date.now();
    this.changed.fire();
  }

  /**
   * Allow on a refused host (a row of this view, or of a sandbox's Network group): for this run
   * of the sandbox, or saved into the policy. A user action through the engine's live rules.
   */
  async allow(arg?: unknown): Promise<void> {
    const target = allowTargetOf(arg);
    if (!target) throw new PaddockError('There is no refused host to allow here.', 'Use the ✓ button on a denied host in Network Activity or in a sandbox\'s Network group.');
    const rule = checkRuleText(allowRuleFor(target.host, target.port));
    const choice = await vscode.window.showQuickPick([
      { label: `Allow ${rule} for This Run`, detail: `Until ${target.sandbox} stops; the policy file is not changed.`, save: false },
      { label: `Allow ${rule} and Save to Policy`, detail: 'Written into .paddock/policy.yaml (comments kept) and approved for the workspace\'s sandboxes.', save: true },
    ], { title: `Allow ${rule} in ${target.sandbox}`, placeHolder: 'Deny rules still win over allow rules' });
    if (!choice) return;
    const { changeNetworkRule } = await import('../engine/networkRuleChange.js');
    const result = await withProgress({ location: vscode.ProgressLocation.Notification, title: `Paddock: allowing ${rule} in ${target.sandbox}` },
      () => changeNetworkRule(this.source.engine, target.sandbox, 'allow', rule, { save: choice.save, source: 'editor: Allow' }));
    this.log.info(`Allowed ${rule} in ${target.sandbox}${choice.save ? ` (saved to ${result.saved?.file}; approved for ${result.approvedFor.join(', ')})` : ' for this run'}`);
    if (result.overriddenBy) {
      void showWarningMessage(`Paddock: ${rule} is allowed, but the deny rule ${result.overriddenBy} still wins over it.`, 'Open Policy Editor').then((c) => c && vscode.commands.executeCommand('paddock.openPolicyEditor'));
    } else if (result.running && result.inForceAfterMs === undefined) {
      void showErrorMessage(`Paddock: the egress proxy of ${target.sandbox} did not confirm the new rule within 3 s.`, 'Show Network Activity').then((c) => c && this.show({ sandbox: { name: target.sandbox } }));
    } else {
      void showInformationMessage(`Paddock: ${rule} is allowed in ${target.sandbox}${choice.save ? ' and saved to the policy' : ' until it stops'}${result.inForceAfterMs !== undefined ? ` (in force after ${result.inForceAfterMs} ms)` : ''}.`);
    }
  }

  /** The handlers of this view's commands, by id. */
  commands(): [string, (...args: any[]) => Promise<void>][] {
    return [
      [SHOW_NETWORK_ACTIVITY, (arg?: unknown) => this.show(arg)],
      [FILTER_NETWORK_ACTIVITY, () => this.pickFilter()],
      [CLEAR_NETWORK_ACTIVITY, () => this.clear()],
      [ALLOW_HOST, (arg?: unknown) => this.allow(arg)],
    ];
  }
}

function sandboxNameOf(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  const a = arg as { sandbox?: unknown } | undefined;
  if (typeof a?.sandbox === 'string') return a.sandbox;
  const name = (a?.sandbox as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' ? name : undefined;
}

/** The sandbox and host of a refused-host row: an event of the view, or a tree node with `host`. */
function allowTargetOf(arg: unknown): { sandbox: string; host: string; port: number } | undefined {
  const event = arg as NetworkEvent | undefined;
  if (event?.entry && typeof event.sandbox === 'string') return { sandbox: event.sandbox, host: event.entry.host, port: event.entry.port };
  const node = arg as TreeNode | undefined;
  if (node?.sandbox && node.host) return { sandbox: node.sandbox.name, host: node.host.host, port: node.host.port };
  return undefined;
}
