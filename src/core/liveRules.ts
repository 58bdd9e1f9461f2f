import { compileEgressRules, compileRule, EgressRuleError, type EgressRules } from './egress.js';
import { ASK_MODES, askSettingsOf, type AskMode, type AskSettings } from './networkQuestions.js';

/**
 * The live network rules of one sandbox: a file the host writes (atomically) into the sandbox's
 * proxy folder, which its proxy watches and enforces within a second. Only the host writes it
 * (the folder is mounted read-only into the proxy and not at all into the sandbox):
 *   base     the approved policy's network section, and the machine's package registries
 *            (network.hostRegistries), kept apart so `paddock network rules` can say where a rule came from
 *   session  rules added with `paddock network allow|deny` without --save: they last until the
 *            sandbox stops (the engine clears them when it starts the sandbox again)
 * Deny wins over allow, whichever part either comes from. Pure: the proxy, the engine and the CLI share it.
 */
export interface LiveRules {
  readonly version: 1;
  readonly base: {
    readonly policy: 'allow' | 'deny';
    readonly allow: readonly string[];
    readonly deny: readonly string[];
    /** Allowed too: the machine's package registries (when the policy's hostRegistries is on). */
    readonly registries: readonly string[];
    /** What the proxy does with hosts no rule names (network.ask, network.askHoldSeconds): absent is the default. */
    readonly ask?: AskSettings;
  };
  /** quiet: the user chose "deny all others" for this run: no more questions (./networkQuestions.ts). */
  readonly session: { readonly allow: readonly string[]; readonly deny: readonly string[]; readonly quiet?: boolean };
  /** When the host wrote this version (ISO time): the proxy logs it, the CLI waits for that line. */
  readonly changedAt: string;
  /** Which user action wrote it: "create", "policy apply", "editor", "network allow", "start"... */
  readonly source: string;
}

export type RuleOrigin = 'policy' | 'host registries' | 'session';

export interface RuleInForce {
  readonly list: 'allow' | 'deny';
  readonly rule: string;
  readonly from: RuleOrigin;
  /** An allow rule that a deny rule (from anywhere) also matches as written: deny wins. */
  readonly overriddenBy?: string;
}

/** Past these, a rules file is refused (a host never writes one that large). */
export const LIVE_RULES_MAX_BYTES = 1024 * 1024;
const MAX_RULES = 10_000;

export class LiveRulesError extends Error {}

const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string' && s.length <= 1024);

/** Parses and checks a rules file; throws LiveRulesError saying what is wrong (the caller keeps its old rules). */
export function parseLiveRules(text: string): LiveRules {
  if (Buffer.byteLength(text) > LIVE_RULES_MAX_BYTES) throw new LiveRulesError(`the file is larger than ${LIVE_RULES_MAX_BYTES} bytes`);
  let data: any;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new LiveRulesError(`not JSON (${(err as Error).message})`);
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new LiveRulesError('not a JSON object');
  if (data.version !== 1) throw new LiveRulesError(`unknown version ${JSON.stringify(data.version)} (expected 1)`);
  const { base, session } = data;
  if (!base || typeof base !== 'object') throw new LiveRulesError('"base" is missing');
  if (base.policy !== 'allow' && base.policy !== 'deny') throw new LiveRulesError('"base.policy" must be "allow" or "deny"');
  for (const key of ['allow', 'deny', 'registries'] as const) {
    if (!isStringList(base[key])) throw new LiveRulesError(`"base.${key}" must be a list of rules`);
  }
  if (base.ask !== undefined && (!base.ask || !ASK_MODES.includes(base.ask.mode) || !Number.isFinite(base.ask.holdSeconds))) throw new LiveRulesError('"base.ask" must be {mode, holdSeconds}');
  if (!session || typeof session !== 'object') throw new LiveRulesError('"session" is missing');
  if (session.quiet !== undefined && typeof session.quiet !== 'boolean') throw new LiveRulesError('"session.quiet" must be true or false');
  for (const key of ['allow', 'deny'] as const) {
    if (!isStringList(session[key])) throw new LiveRulesError(`"session.${key}" must be a list of rules`);
  }
  if (typeof data.changedAt !== 'string' || Number.isNaN(Date.parse(data.changedAt))) throw new LiveRulesError('"changedAt" must be an ISO time');
  if (typeof data.source !== 'string') throw new LiveRulesError('"source" must be a string');
  const rules: LiveRules = {
    version: 1,
    base: { policy: base.policy, allow: base.allow, deny: base.deny, registries: base.registries, ...(base.ask ? { ask: askSettingsOf({ ask: base.ask.mode, askHoldSeconds: base.ask.holdSeconds }) } : {}) },
    session: { allow: session.allow, deny: session.deny, ...(session.quiet ? { quiet: true } : {}) },
    changedAt: data.changedAt,
    source: data.source.slice(0, 200),
  };
  const count = base.allow.length + base.deny.length + base.registries.length + session.allow.length + session.deny.length;
  if (count > MAX_RULES) throw new LiveRulesError(`more than ${MAX_RULES} rules`);
  return rules;
}

/** The network section the proxy enforces: every allow list joined, every deny list joined (deny wins in decide()). */
export function mergeLiveRules(rules: LiveRules): { policy: 'allow' | 'deny'; allow: string[]; deny: string[] } {
  return {
    policy: rules.base.policy,
    allow: [...new Set([...rules.base.allow, ...rules.base.registries, ...rules.session.allow])],
    deny: [...new Set([...rules.base.deny, ...rules.session.deny])],
  };
}

/** Compiles the merged rules; a file with a bad rule is refused whole (partial rules could open what a bad deny meant to close). */
export function compileLiveRules(rules: LiveRules): EgressRules {
  const compiled = compileEgressRules(mergeLiveRules(rules));
  if (compiled.errors.length) throw new LiveRulesError(`bad rules: ${compiled.errors.join('; ')}`);
  return compiled;
}

type NetworkSection = { policy: 'allow' | 'deny'; allow: readonly string[]; deny: readonly string[]; ask?: AskMode; askHoldSeconds?: number };

/** A new rules file from a network section (the session part starts empty). */
export function liveRulesFrom(network: NetworkSection, registries: readonly string[], source: string, session: LiveRules['session'] = { allow: [], deny: [] }): LiveRules {
  const ask = network.ask !== undefined || network.askHoldSeconds !== undefined ? { ask: askSettingsOf(network) } : {};
  return {
    version: 1,
    base: { policy: network.policy, allow: [...network.allow], deny: [...network.deny], registries: [...registries], ...ask },
    session: { allow: [...session.allow], deny: [...session.deny], ...(session.quiet ? { quiet: true } : {}) },
    changedAt: new Date().toISOString(),
    source,
  };
}

/**
 * Checks one rule as a user typed it (`paddock network allow|deny`): the same forms as network.allow
 * in the policy. Returns it as written (trimmed); throws EgressRuleError with the reason.
 */
export function checkRuleText(text: string): string {
  return compileRule(text).text;
}

/**
 * Adds a session rule. The same rule leaves the other session list (allowing what you denied for
 * this session un-denies it); deny rules from the policy stay and still win.
 */
export function withSessionRule(rules: LiveRules, list: 'allow' | 'deny', rule: string, source: string): LiveRules {
  const other = list === 'allow' ? 'deny' : 'allow';
  const session = {
    ...rules.session,
    [list]: [...new Set([...rules.session[list], rule])],
    [other]: rules.session[other].filter((r) => r !== rule),
  } as unknown as LiveRules['session'];
  return { ...rules, session, changedAt: new Date().toISOString(), source };
}

/** The same rules with another base (an approved policy); the session part is kept. */
export function withBase(rules: LiveRules | undefined, network: NetworkSection, registries: readonly string[], source: string): LiveRules {
  return liveRulesFrom(network, registries, source, rules?.session);
}

/** Every rule in force and where it came from, deny rules first (they win). */
export function rulesInForce(rules: LiveRules): RuleInForce[] {
  const out: RuleInForce[] = [];
  const seen = new Set<string>();
  const add = (list: 'allow' | 'deny', rule: string, from: RuleOrigin) => {
    const key = `${list} ${rule}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ list, rule, from });
  };
  for (const r of rules.session.deny) add('deny', r, 'session');
  for (const r of rules.base.deny) add('deny', r, 'policy');
  for (const r of rules.session.allow) add('allow', r, 'session');
  for (const r of rules.base.allow) add('allow', r, 'policy');
  for (const r of rules.base.registries) add('allow', r, 'host registries');
  const denyRules = out.filter((r) => r.list === 'deny');
  return out.map((r) => {
    if (r.list === 'deny') return r;
    const winner = denyRules.find((d) => sameOrWider(d.rule, r.rule));
    return winner ? { ...r, overriddenBy: `${winner.rule} (${winner.from})` } : r;
  });
}

/** Whether deny rule `deny` matches every host allow rule `allow` names (as written: exact, or a wildcard above it). */
function sameOrWider(deny: string, allow: string): boolean {
  try {
    const d = compileRule(deny);
    const a = compileRule(allow);
    if (d.port !== undefined && d.port !== a.port) return false;
    if (d.kind === 'name') return a.kind === 'name' && a.host === d.host;
    if (d.kind === 'wildcard') return (a.kind === 'name' || a.kind === 'wildcard') && a.host.endsWith(`.${d.host}`);
    return a.kind === 'cidr' && a.family === d.family && a.host === d.host && a.prefix === d.prefix;
  } catch {
    return false;
  }
}

export interface RulesChange {
  readonly source: string;
  readonly changedAt: string;
  readonly policy: 'allow' | 'deny';
  readonly added: { readonly allow: readonly string[]; readonly deny: readonly string[] };
  readonly removed: { readonly allow: readonly string[]; readonly deny: readonly string[] };
  readonly policyChanged?: boolean;
}

/** What changed between two merged rule sets (for the egress log). */
export function rulesChange(before: { policy: string; allow: readonly string[]; deny: readonly string[] } | undefined, after: LiveRules): RulesChange {
  const next = mergeLiveRules(after);
  const diff = (a: readonly string[], b: readonly string[]) => a.filter((r) => !b.includes(r));
  return {
    source: after.source,
    changedAt: after.changedAt,
    policy: next.policy,
    added: { allow: diff(next.allow, before?.allow ?? []), deny: diff(next.deny, before?.deny ?? []) },
    removed: { allow: diff(before?.allow ?? [], next.allow), deny: diff(before?.deny ?? [], next.deny) },
    ...(before && before.policy !== next.policy ? { policyChanged: true } : {}),
  };
}

export { EgressRuleError };
