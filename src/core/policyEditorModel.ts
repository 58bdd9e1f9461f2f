import { isMap, LineCounter, parseDocument } from 'yaml';
import { compileRule } from './egress.js';
import { DEFAULT_NETWORK_ALLOW, defaultPolicy, mergedAllow, parsePolicy, TIERS, type PolicyIssue } from './policy.js';
import { hideRulesOf, type HideRule } from './policyHideRules.js';
import { getIn, LIST_PATHS, PERMISSION_KEYS, type PermissionKey, type PolicyData, type PolicyPath } from './policyYamlEdit.js';

/**
 * The policy editor's view model: what its page shows of `.paddock/policy.yaml`, each part from
 * the file or its default, and what is wrong with the file. Edits go through policyYamlEdit.ts.
 */

export interface EditorList {
  readonly items: readonly string[];
  /** False when the file does not set it and the default applies. */
  readonly explicit: boolean;
}

/** The policy as the editor shows it: each part from the file, or its default; and what is wrong. */
export interface PolicyEditorModel {
  /** YAML syntax errors: the tables are not shown, only the errors and a way to the text. */
  readonly syntaxErrors: readonly { readonly message: string; readonly line: number; readonly col: number }[];
  /** Schema problems of a readable file: shown above the tables. */
  readonly issues: readonly { readonly message: string; readonly line: number; readonly col: number }[];
  readonly lists: Readonly<Record<string, EditorList>>;
  /** The hide rules in file order, switched-off (commented-out) ones included. */
  readonly hideRules: readonly HideRule[];
  /**
   * The network allow list in two parts: Paddock's built-in hosts (kept when `defaults` is on) and
   * the file's own hosts (additions, or the whole list when the defaults are off).
   */
  readonly networkAllow: { readonly defaults: boolean; readonly defaultsExplicit: boolean; readonly builtIn: readonly string[]; readonly own: readonly string[]; readonly inForce: readonly string[] };
  readonly tier: { readonly value: string; readonly explicit: boolean };
  readonly networkPolicy: { readonly value: string; readonly explicit: boolean };
  readonly permissions: Readonly<Record<PermissionKey, boolean>>;
  readonly exec: readonly { readonly container: string; readonly commands: readonly string[] }[];
}

export const listKey = (path: PolicyPath) => path.join('.');

export function editorModel(text: string): PolicyEditorModel {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const defaults = defaultPolicy();
  const at = (offset: number) => lineCounter.linePos(offset);
  const syntaxErrors = doc.errors.map((e) => ({ message: e.message.split('\n')[0], ...at(e.pos[0]) }));
  const notMapping = !syntaxErrors.length && doc.contents !== null && !isMap(doc.contents);
  if (notMapping) syntaxErrors.push({ message: 'The policy file is not a YAML mapping of keys to values (it should start with "version: 1").', line: 1, col: 1 });
  const data: PolicyData = syntaxErrors.length ? {} : ((doc.toJS() ?? {}) as PolicyData);
  const issues = syntaxErrors.length ? [] : parsePolicy(text).issues.map((i: PolicyIssue) => ({ message: i.message, line: i.range.line, col: i.range.col }));
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined);
  const lists: Record<string, EditorList> = {};
  for (const path of LIST_PATHS) {
    const own = strings(getIn(data, path));
    lists[listKey(path)] = own ? { items: own, explicit: true } : { items: getIn(defaults, path) as string[], explicit: false };
  }
  const tier = getIn(data, ['tier']);
  const policy = getIn(data, ['network', 'policy']);
  const perms = getIn(data, ['bridge', 'permissions']);
  const permissions = Object.fromEntries(PERMISSION_KEYS.map((k) => [k, typeof perms?.[k] === 'boolean' ? perms[k] : defaults.bridge.permissions[k]])) as Record<PermissionKey, boolean>;
  const execData = getIn(data, ['bridge', 'exec']);
  const exec = execData && typeof execData === 'object' && !Array.isArray(execData)
    ? Object.entries(execData).map(([container, commands]) => ({ container, commands: strings(commands) ?? [] }))
    : [];
  const hideRules = (syntaxErrors.length ? undefined : hideRulesOf(text)) ?? lists.hide.items.map((pattern) => ({ pattern, on: true }));
  const net = getIn(data, ['network']);
  const ownAllow = strings(net?.allow);
  const defaultsValue = typeof net?.defaults === 'boolean' ? net.defaults : undefined;
  const networkAllow = {
    defaults: defaultsValue ?? ownAllow === undefined, defaultsExplicit: defaultsValue !== undefined,
    builtIn: [...DEFAULT_NETWORK_ALLOW], own: ownAllow ?? [], inForce: mergedAllow(defaultsValue, ownAllow),
  };
  return {
    syntaxErrors, issues, lists, permissions, exec, hideRules, networkAllow,
    tier: typeof tier === 'string' && (TIERS as readonly string[]).includes(tier) ? { value: tier, explicit: true } : { value: defaults.tier, explicit: false },
    networkPolicy: policy === 'allow' || policy === 'deny' ? { value: policy, explicit: true } : { value: defaults.network.policy, explicit: false },
  };
}

/** Lists whose entries are network rules (checked as `create` and the proxy compile them). */
const NETWORK_LISTS = new Set(['network.allow', 'network.deny']);

/**
 * Checks one entry as it is typed, with the rules `create` applies: network rules are compiled as
 * the proxy compiles them (a URL is refused with what to write instead); every entry must pass the
 * policy schema. Returns the problem, or undefined when the entry is fine.
 */
export function checkEntry(path: readonly (string | number)[], value: string): string | undefined {
  const text = value.trim();
  if (!text) return 'Type a value first.';
  const key = path.join('.');
  if (NETWORK_LISTS.has(key)) {
    const url = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(text);
    if (url) return `Write the host only, not a URL: "${url[1] || 'host'}" (a scheme and path are not part of a network rule).`;
    if (/\/(?!\d+$)/.test(text)) return `"${text}" has a path; a rule names a host, *.domain, host:port or a CIDR (10.0.0.0/8).`;
    try {
      compileRule(text);
    } catch (err) {
      return (err as Error).message;
    }
  }
  if (path[0] === 'hide' || path[0] === 'readOnly') {
    const bare = text.replace(/^!/, '');
    if (bare.startsWith('/')) return `"${text}" is absolute; hide and read-only globs are relative to the workspace (e.g. config/*.pem).`;
    if (bare.split('/').includes('..')) return `"${text}" leaves the workspace ("..").`;
  }
  const data: Record<string, unknown> = {};
  let node: Record<string, unknown> = data;
  const keys = path.map(String);
  keys.slice(0, -1).forEach((k) => { node = (node[k] = {}) as Record<string, unknown>; });
  node[keys[keys.length - 1]] = [text];
  const issue = parsePolicy(JSON.stringify(data)).issues[0];
  return issue?.message;
}
