// What the Network Activity view, the agent terminals and the tree's Network group say about the
// egress proxies' decisions. Pure (no `vscode` import): unit-tested in plain node.
import { compileEgressRules, decide, normalizeHost } from '../core/egress.js';
import type { EgressLogEntry } from '../proxy/log.js';

export type ActivityKind = 'allowed' | 'denied' | 'error' | 'rules';
export const ACTIVITY_KINDS: readonly ActivityKind[] = ['denied', 'error', 'allowed', 'rules'];

/** One decision of a sandbox's proxy, with what the user needs to know about it. */
export interface NetworkEvent {
  readonly sandbox: string;
  readonly entry: EgressLogEntry;
  readonly kind: ActivityKind;
  /** Why, in words: "no rule allows it (network.policy deny)", "name did not resolve upstream (ENOTFOUND)"... */
  readonly cause: string;
  /** Milliseconds since the epoch (from the entry's time). */
  readonly at: number;
}

const BENIGN_ERRORS = new Set(['client closed']);

/** Refused because no rule names the host ("policy deny", or with what the proxy did about it: "policy deny (the user was asked)"): a rule can allow it. */
export function noRuleNames(rule: string): boolean {
  return rule === 'policy deny' || rule.startsWith('policy deny (');
}

/** The kind of a log entry and its cause, as the view and the terminal say it. */
export function classify(sandbox: string, entry: EgressLogEntry): NetworkEvent {
  const at = Date.parse(entry.time) || 0;
  const event = (kind: ActivityKind, cause: string): NetworkEvent => ({ sandbox, entry, kind, cause, at });
  if (entry.method === 'RULES') {
    if (entry.decision === 'error') return event('error', `rules file refused: ${entry.error ?? entry.rule}`);
    const c = entry.change;
    const parts = c ? [...c.added.allow.map((r) => `+allow ${r}`), ...c.added.deny.map((r) => `+deny ${r}`), ...c.removed.allow.map((r) => `-allow ${r}`), ...c.removed.deny.map((r) => `-deny ${r}`), ...(c.policyChanged ? [`policy ${c.policy}`] : [])] : [];
    const by = c?.source ? ` by ${c.source}` : '';
    // The proxy logs its rules at start too, when nothing changed: say what is in force then.
    if (!parts.length) return event('rules', `rules in force${by}: ${entry.rule}`);
    return event('rules', `rules changed${by}: ${parts.join(', ')}${entry.cut ? ` (${entry.cut} open connection${entry.cut === 1 ? '' : 's'} cut)` : ''}`);
  }
  if (entry.decision === 'deny') {
    if (entry.error?.startsWith('cut')) return event('denied', `cut when the rules changed (${entry.rule})`);
    if (noRuleNames(entry.rule)) {
      const more = /^policy deny \((.+)\)$/.exec(entry.rule)?.[1];
      return event('denied', `no rule allows it (network.policy deny)${more ? `; ${more}` : ''}`);
    }
    if (entry.rule.startsWith('deny ')) return event('denied', `denied by the rule "${entry.rule.slice(5)}"`);
    if (entry.rule === 'host header mismatch') return event('denied', 'the Host header names another host');
    if (/ resolved to /.test(entry.rule)) return event('denied', `its address is refused: ${entry.rule}`);
    return event('denied', entry.rule);
  }
  if (entry.decision === 'error') {
    const code = /^Cannot resolve [^:]+: (.+?)\.?$/.exec(entry.error ?? '');
    if (code) return event('error', `name did not resolve upstream (${code[1]})`);
    if (/has no address/.test(entry.error ?? '')) return event('error', 'name has no address upstream');
    return event('error', entry.error ?? entry.rule);
  }
  if (entry.error && !BENIGN_ERRORS.has(entry.error)) return event('error', `allowed (${entry.rule}), but the connection failed: ${entry.error}`);
  return event('allowed', entry.rule === 'policy allow' ? 'allowed (network.policy allow)' : entry.rule.startsWith('allow ') ? `allowed by the rule "${entry.rule.slice(6)}"` : `allowed (${entry.rule})`);
}

/** The view's filter: which sandboxes (empty: all) and which kinds. */
export interface ActivityFilter {
  readonly sandboxes: readonly string[];
  readonly kinds: readonly ActivityKind[];
}

export const ALL_ACTIVITY: ActivityFilter = { sandboxes: [], kinds: ACTIVITY_KINDS };

export function matches(event: NetworkEvent, filter: ActivityFilter): boolean {
  return filter.kinds.includes(event.kind) && (!filter.sandboxes.length || filter.sandboxes.includes(event.sandbox));
}

/**
 * "denied, errors · sandbox-a" (shown next to the view's title); undefined when nothing is filtered
 * out. A sandbox removed since it was picked says so: its requests are no longer listed.
 */
export function describeFilter(filter: ActivityFilter, exists: (sandbox: string) => boolean = () => true): string | undefined {
  const kinds = filter.kinds.length === ACTIVITY_KINDS.length ? undefined : filter.kinds.length ? filter.kinds.join(', ') : 'nothing';
  const sandboxes = filter.sandboxes.length ? filter.sandboxes.map((s) => (exists(s) ? s : `${s} (removed)`)).join(', ') : undefined;
  return [kinds, sandboxes].filter(Boolean).join(' · ') || undefined;
}

/** What the view says when every sandbox its filter names was removed (it then lists nothing); undefined otherwise. */
export function removedFilterMessage(filter: ActivityFilter, exists: (sandbox: string) => boolean): string | undefined {
  const gone = filter.sandboxes.filter((s) => !exists(s));
  if (!gone.length || gone.length < filter.sandboxes.length) return undefined;
  const which = gone.length === 1 ? `The sandbox ${gone[0]} was` : `The sandboxes ${gone.join(', ')} were`;
  return `${which} removed, so nothing is listed. Filter... (or Show Network Activity on a sandbox) picks others; none picked shows this window's.`;
}

/** A host the proxy refused, with its latest refusal (several refusals of one host:port make one). */
export interface Refusal {
  readonly host: string;
  readonly port: number;
  readonly cause: string;
  readonly kind: 'denied' | 'error';
  /** When it was last refused (ms since the epoch), and how often since `since`. */
  readonly at: number;
  readonly count: number;
  /** The rule that refused it ("policy deny", "deny x.test", ...). */
  readonly rule: string;
}

/** The hosts refused in `events` after `since` (newest first), at most `limit`; rules changes are not refusals. */
export function refusals(events: readonly NetworkEvent[], sandbox: string, since: number, limit = Infinity): Refusal[] {
  const byHost = new Map<string, Refusal>();
  for (const e of events) {
    if (e.sandbox !== sandbox || e.at < since || (e.kind !== 'denied' && e.kind !== 'error') || e.entry.method === 'RULES') continue;
    // A request cut by a rules change was allowed when it began: not a refusal the user can undo here.
    if (e.entry.error?.startsWith('cut')) continue;
    const key = `${e.entry.host}:${e.entry.port}`;
    const before = byHost.get(key);
    byHost.delete(key); // re-inserted last: the map's order is oldest to newest refusal
    byHost.set(key, { host: e.entry.host, port: e.entry.port, cause: e.cause, kind: e.kind, at: e.at, count: (before?.count ?? 0) + 1, rule: e.entry.rule });
  }
  return [...byHost.values()].reverse().slice(0, limit);
}

/** The rule "Allow" writes for a refused host: the host for HTTPS (any port, as the defaults are written), else host:port. */
export function allowRuleFor(host: string, port: number): string {
  return port === 443 ? host : `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The rules in force (as the tree lists them) as allow and deny lists. */
export function networkOf(enforced: { readonly policy: 'allow' | 'deny'; readonly rules: readonly { readonly list: 'allow' | 'deny'; readonly rule: string }[] }): { policy: 'allow' | 'deny'; allow: string[]; deny: string[] } {
  return { policy: enforced.policy, allow: enforced.rules.filter((r) => r.list === 'allow').map((r) => r.rule), deny: enforced.rules.filter((r) => r.list === 'deny').map((r) => r.rule) };
}

/**
 * The refusals the rules in force now would refuse again: a host allowed since (Allow, or
 * `paddock network allow`) is left out. Errors stay (the rules let them through; they failed
 * upstream). Without the rules, all stay.
 */
export function stillRefused(refused: readonly Refusal[], network: { policy: 'allow' | 'deny'; allow: readonly string[]; deny: readonly string[] } | undefined): Refusal[] {
  if (!network) return [...refused];
  return refused.filter((r) => r.kind !== 'denied' || !allowedNow(network, r.host, r.port)?.allowed);
}

/**
 * Whether the rules in force now let the host through (an Allow already applied, or a rule added
 * since); by name only, as the tree knows no addresses. Undefined when the host is not a host.
 */
export function allowedNow(network: { policy: 'allow' | 'deny'; allow: readonly string[]; deny: readonly string[] }, host: string, port: number): { allowed: boolean; rule: string } | undefined {
  try {
    return decide(compileEgressRules(network), normalizeHost(host), port);
  } catch {
    return undefined;
  }
}

/** "12s ago", "3m ago", "2h ago". */
export function ago(at: number, now: number): string {
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  return `${Math.floor(s / 3600)}h ago`;
}

export const SHOW_NETWORK_ACTIVITY_LINK = 'Show Network Activity';

/**
 * What an agent terminal says when the agent ended with an error right after the proxy refused
 * hosts: the hosts with their causes, and a link (matched by the terminal's link provider) to the view.
 */
export function terminalHint(sandbox: string, refused: readonly Refusal[]): string[] {
  if (!refused.length) return [];
  const shown = refused.slice(0, 3).map((r) => `${r.host}:${r.port} (${r.cause})`);
  const more = refused.length > 3 ? ` and ${refused.length - 3} more` : '';
  const denied = refused.find((r) => r.kind === 'denied' && noRuleNames(r.rule));
  return [
    `[paddock] Just before, the network proxy refused ${refused.length === 1 ? 'a request to' : `${refused.length} hosts:`} ${shown.join(', ')}${more}.`,
    `[paddock] ${SHOW_NETWORK_ACTIVITY_LINK}${denied ? ` · to allow ${denied.host}: its Allow action in the Network Activity view, or "paddock network allow ${sandbox} ${allowRuleFor(denied.host, denied.port)}"` : ''}`,
  ];
}

/** A row under a sandbox's Network group for a host its proxy refused in this run. */
export interface RefusalRow {
  readonly id: string;
  readonly label: string;
  readonly description: string;
  readonly tooltip: string;
  readonly icon: { readonly id: string; readonly color?: string };
  /** "refusedHost" rows carry the inline Allow action (package.json menus). */
  readonly contextValue?: string;
  readonly host: { readonly host: string; readonly port: number };
}

/**
 * The refused hosts of a sandbox, newest first, as its Network group lists them: Allow is offered
 * where a rule would let the host through (refused for want of one); a host the rules in force now
 * allow (an Allow since, or an applied policy) says so and offers nothing.
 */
export function refusalRows(groupId: string, refused: readonly Refusal[], enforced: { readonly policy: 'allow' | 'deny'; readonly rules: readonly { readonly list: 'allow' | 'deny'; readonly rule: string }[] } | undefined, now: number): RefusalRow[] {
  const network = enforced && networkOf(enforced);
  return refused.map((r) => {
    const where = `${r.host}:${r.port}`;
    const times = r.count > 1 ? ` (${r.count}×)` : '';
    const id = `${groupId}/refused/${where}`;
    const host = { host: r.host, port: r.port };
    const decision = network && r.kind === 'denied' ? allowedNow(network, r.host, r.port) : undefined;
    if (decision?.allowed) {
      return { id, label: where, host, description: `allowed now · was denied ${ago(r.at, now)}`, icon: { id: 'check' }, tooltip: `The sandbox's proxy refused ${where} (${r.cause}); the rules in force now allow it (${decision.rule}).` };
    }
    const allowable = r.kind === 'denied' && noRuleNames(r.rule);
    return {
      id, label: where, host,
      description: `${r.kind} ${ago(r.at, now)}${times} · ${r.cause}`,
      icon: { id: r.kind === 'denied' ? 'circle-slash' : 'warning', color: r.kind === 'denied' ? 'errorForeground' : 'editorWarning.foreground' },
      tooltip: `The sandbox's proxy refused ${where}${times}: ${r.cause}. ${allowable ? 'Allow (✓) lets it through for this run or saves it to the policy.' : r.kind === 'error' ? 'Allowed by the rules, but it could not be reached.' : 'A rule refused it: change the policy to let it through.'} Click to see the sandbox's network activity.`,
      ...(allowable ? { contextValue: 'refusedHost' } : {}),
    };
  });
}
