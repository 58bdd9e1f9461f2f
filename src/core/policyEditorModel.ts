import { isMap, LineCounter, parseDocument } from 'yaml';
import { defaultPolicy, parsePolicy, TIERS, type PolicyIssue } from './policy.js';
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
  return {
    syntaxErrors, issues, lists, permissions, exec,
    tier: typeof tier === 'string' && (TIERS as readonly string[]).includes(tier) ? { value: tier, explicit: true } : { value: defaults.tier, explicit: false },
    networkPolicy: policy === 'allow' || policy === 'deny' ? { value: policy, explicit: true } : { value: defaults.network.policy, explicit: false },
  };
}
