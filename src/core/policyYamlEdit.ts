import { isDeepStrictEqual } from 'node:util';
import { isMap, isScalar, isSeq, parseDocument, Scalar, stringify, type Document, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';
import { PaddockError } from './errors.js';
import { defaultPolicy, permissionsSchema } from './policy.js';

/**
 * Edits of `.paddock/policy.yaml` that keep the user's comments and layout. An edit is described
 * as data (what the policy editor sends); its meaning is defined on the plain data (with the
 * schema's defaults made explicit where a list or section is missing, so adding one host to a
 * missing `network.allow` does not drop the default hosts). The text change is made surgically
 * at the nodes' source ranges found with the `yaml` Document API, then checked by parsing the
 * result again; only if that check fails is the document re-printed by the Document API.
 */

export const LIST_PATHS = [
  ['hide'], ['readOnly'], ['bridge', 'containers'], ['bridge', 'deny'], ['bridge', 'blockedPaths'], ['network', 'allow'], ['network', 'deny'],
] as const;
/** The bridge permissions, as the schema names them (a new permission shows up in the editor by itself). */
export const PERMISSION_KEYS = permissionsSchema.keyof().options;
export type PermissionKey = (typeof PERMISSION_KEYS)[number];

/** A list of strings in the policy: one of LIST_PATHS, or the commands of one `bridge.exec` entry. */
export type PolicyListPath = (typeof LIST_PATHS)[number] | readonly ['bridge', 'exec', string];
export type PolicyScalarPath = readonly ['tier'] | readonly ['network', 'policy'] | readonly ['network', 'defaults'] | readonly ['bridge', 'permissions', PermissionKey];

export type PolicyEdit =
  | { readonly op: 'add'; readonly path: PolicyListPath; readonly value: string }
  | { readonly op: 'remove'; readonly path: PolicyListPath; readonly index: number }
  | { readonly op: 'replace'; readonly path: PolicyListPath; readonly index: number; readonly value: string }
  | { readonly op: 'set'; readonly path: PolicyScalarPath; readonly value: string | boolean }
  /** A `bridge.exec` entry (container glob) with no commands yet. */
  | { readonly op: 'addExec'; readonly key: string }
  | { readonly op: 'removeExec'; readonly key: string };

/** Replace text[start, end) by text (0-based UTF-16 offsets, as editors count). */
export interface TextEdit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

export interface PolicyEditResult {
  readonly text: string;
  /** The smallest single replacement that turns the old text into the new one; undefined when nothing changes. */
  readonly edit?: TextEdit;
  /** False when the Document API had to re-print the file (comments kept, spacing may change). */
  readonly layoutKept: boolean;
}

/** Plain data of a policy file, as `yaml` parses it (before the schema). */
export type PolicyData = Record<string, any>;
export type PolicyPath = readonly (string | number)[];

/** Applies one edit to policy text. Throws a PaddockError (changing nothing) when the text is not a YAML mapping or the edit does not fit. */
export function applyPolicyEdit(text: string, edit: PolicyEdit): PolicyEditResult {
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length) throw new PaddockError(`The policy file is not valid YAML (${doc.errors[0].message.split('\n')[0]}).`, 'Fix it in the text editor first; the policy editor changes nothing until then.');
  if (doc.contents !== null && !isMap(doc.contents)) throw new PaddockError('The policy file is not a YAML mapping of keys to values.', 'Fix it in the text editor (it should start with "version: 1"); nothing was changed.');
  const before = (doc.toJS() ?? {}) as PolicyData;
  // One host added to a file without its own allow list: the built-in list stays a default
  // (network.defaults: true) instead of being copied into the file, where it would stop following Paddock's updates.
  if (edit.op === 'add' && edit.path[0] === 'network' && edit.path[1] === 'allow' && getIn(before, ['network', 'allow']) === undefined && getIn(before, ['network', 'defaults']) === undefined) {
    const withDefaults = applyPolicyEdit(text, { op: 'set', path: ['network', 'defaults'], value: true });
    const added = applyPolicyEdit(withDefaults.text, edit);
    // The edit is from the original text (the caller applies it to its document as one change).
    return { text: added.text, edit: minimalEdit(text, added.text), layoutKept: withDefaults.layoutKept && added.layoutKept };
  }
  const expected = applyToData(before, edit);
  if (isDeepStrictEqual(before, expected)) return { text, layoutKept: true };
  const surgical = surgicalEdit(text, doc, edit, expected);
  if (surgical !== undefined) {
    const next = text.slice(0, surgical.start) + surgical.text + text.slice(surgical.end);
    if (sameData(next, expected)) return { text: next, edit: minimalEdit(text, next), layoutKept: true };
  }
  // Fallback: the Document API keeps comments but may re-space the file.
  const path = changedPath(edit);
  const value = getIn(expected, path);
  if (value === undefined) doc.deleteIn(path);
  else doc.setIn(path, doc.createNode(value));
  const next = doc.toString({ lineWidth: 0 });
  if (!sameData(next, expected)) throw new PaddockError('This change could not be written to the policy file.', 'Make it in the text editor; nothing was changed.');
  return { text: next, edit: minimalEdit(text, next), layoutKept: false };
}

/** The meaning of an edit on the plain data of the file (missing lists start from their defaults). */
export function applyToData(data: PolicyData, edit: PolicyEdit): PolicyData {
  const out = structuredClone(data ?? {}) as PolicyData;
  const path = changedPath(edit);
  const parent = ensureParents(out, path);
  const key = path[path.length - 1] as string;
  switch (edit.op) {
    case 'add':
    case 'remove':
    case 'replace': {
      const current = parent[key];
      if (current !== undefined && current !== null && !Array.isArray(current)) throw new PaddockError(`${path.join('.')} is not a list in the policy file.`, 'Fix it in the text editor; nothing was changed.');
      const list: unknown[] = [...(current ?? defaultAt(path, out))];
      if (edit.op === 'add') {
        if (!edit.value.trim()) throw new PaddockError('An empty entry cannot be added.', 'Type a value first.');
        if (!list.includes(edit.value)) list.push(edit.value);
      } else {
        if (!Number.isInteger(edit.index) || edit.index < 0 || edit.index >= list.length) throw new PaddockError(`There is no entry ${edit.index + 1} in ${path.join('.')}.`, 'The file changed meanwhile; try again.');
        if (edit.op === 'remove') list.splice(edit.index, 1);
        else {
          if (!edit.value.trim()) throw new PaddockError('An entry cannot be empty.', 'Remove it instead.');
          list[edit.index] = edit.value;
        }
      }
      parent[key] = list;
      break;
    }
    case 'set':
      parent[key] = edit.value;
      break;
    case 'addExec':
      if (!edit.key.trim()) throw new PaddockError('A container name glob cannot be empty.', 'Type one, e.g. "myapp-api" or "myapp-*".');
      if (!(key in parent)) parent[key] = [];
      break;
    case 'removeExec':
      delete parent[key];
      break;
  }
  return out;
}

/** The path of the value an edit changes. */
function changedPath(edit: PolicyEdit): PolicyPath {
  if (edit.op === 'addExec' || edit.op === 'removeExec') return ['bridge', 'exec', edit.key];
  return edit.path;
}

function defaultAt(path: PolicyPath, data: PolicyData): unknown[] {
  if (path[0] === 'bridge' && path[1] === 'exec') return [];
  // With the built-in hosts kept as defaults, the file's allow list holds the additions only.
  if (path[0] === 'network' && path[1] === 'allow' && getIn(data, ['network', 'defaults']) === true) return [];
  const value = getIn(defaultPolicy(), path);
  return Array.isArray(value) ? value : [];
}

/** The value at a path of plain policy data, or undefined. */
export function getIn(data: any, path: PolicyPath): any {
  let node = data;
  for (const p of path) node = node && typeof node === 'object' ? node[p] : undefined;
  return node;
}

function ensureParents(data: PolicyData, path: PolicyPath): PolicyData {
  let node = data;
  for (const p of path.slice(0, -1)) {
    if (node[p] === undefined || node[p] === null) node[p] = {};
    if (typeof node[p] !== 'object' || Array.isArray(node[p])) throw new PaddockError(`${path.slice(0, path.indexOf(p) + 1).join('.')} is not a section (a mapping) in the policy file.`, 'Fix it in the text editor; nothing was changed.');
    node = node[p];
  }
  return node;
}

function sameData(text: string, expected: PolicyData): boolean {
  const doc = parseDocument(text, { prettyErrors: false });
  return !doc.errors.length && isDeepStrictEqual(doc.toJS() ?? {}, expected);
}

/** The smallest single replacement between two texts (common prefix and suffix kept). */
export function minimalEdit(before: string, after: string): TextEdit | undefined {
  if (before === after) return undefined;
  let start = 0;
  const max = Math.min(before.length, after.length);
  while (start < max && before.charCodeAt(start) === after.charCodeAt(start)) start++;
  let endBefore = before.length;
  let endAfter = after.length;
  while (endBefore > start && endAfter > start && before.charCodeAt(endBefore - 1) === after.charCodeAt(endAfter - 1)) { endBefore--; endAfter--; }
  return { start, end: endBefore, text: after.slice(start, endAfter) };
}

// ---- Surgical edits at source ranges -------------------------------------------------------

const lineStart = (text: string, offset: number) => text.lastIndexOf('\n', offset - 1) + 1;
const lineEnd = (text: string, offset: number) => {
  const i = text.indexOf('\n', offset);
  return i < 0 ? text.length : i;
};
/** End of the last line with content of a node (block collections' ranges include the newline after them). */
function contentLineEnd(text: string, end: number): number {
  let p = end;
  while (p > 0 && /\s/.test(text[p - 1])) p--;
  return lineEnd(text, p);
}
const lineEndOfPair = (text: string, pair: Pair<any, any>) => contentLineEnd(text, (pair.value?.range ?? pair.key.range)[1]);

/** A scalar in the style of a sibling (double, single or plain), or yaml's own choice. */
function formatScalar(value: string | boolean | number, like?: unknown): string {
  if (typeof value !== 'string') return String(value);
  const style = isScalar(like) ? like.type : undefined;
  if (style === Scalar.QUOTE_DOUBLE) return JSON.stringify(value);
  if (style === Scalar.QUOTE_SINGLE) return `'${value.replace(/'/g, "''")}'`;
  const out = stringify(value, { lineWidth: 0 }).replace(/\n$/, '');
  return out.includes('\n') ? JSON.stringify(value) : out;
}

const formatKey = (key: string) => formatScalar(key);

function flowText(value: unknown, like?: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => flowText(v, like)).join(', ')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    return entries.length ? `{ ${entries.map(([k, v]) => `${formatKey(k)}: ${flowText(v, like)}`).join(', ')} }` : '{}';
  }
  return formatScalar(value as string, like);
}

/** The text after "key:" for a value in block style, its entries indented below `indent`. */
function blockText(value: unknown, indent: string, like?: unknown): string {
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (!value.length || value.some((v) => v && typeof v === 'object')) return ` ${flowText(value, like)}`;
    return value.map((v) => `\n${inner}- ${formatScalar(v, like)}`).join('');
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    if (!entries.length) return ' {}';
    return entries.map(([k, v]) => `\n${inner}${formatKey(k)}:${blockText(v, inner, like)}`).join('');
  }
  return ` ${formatScalar(value as string, like)}`;
}

function findPair(map: YAMLMap, key: string): Pair<any, any> | undefined {
  return map.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === key);
}

/** A quoted-string sibling anywhere in the file, so new entries look like the user's. */
function styleSample(doc: Document): Scalar | undefined {
  let found: Scalar | undefined;
  const visit = (node: unknown) => {
    if (found) return;
    if (isSeq(node)) for (const i of node.items) { if (isScalar(i) && typeof i.value === 'string') { found = i; return; } visit(i); }
    else if (isMap(node)) for (const p of node.items) visit(p.value);
  };
  visit(doc.contents);
  return found;
}

function surgicalEdit(text: string, doc: Document, edit: PolicyEdit, expected: PolicyData): TextEdit | undefined {
  const path = changedPath(edit);
  // Walk down as far as the file has mappings.
  let map: YAMLMap | undefined = isMap(doc.contents) ? doc.contents : undefined;
  let parentPair: Pair<any, any> | undefined;
  let depth = 0;
  for (; map && depth < path.length - 1; depth++) {
    const pair = findPair(map, String(path[depth]));
    if (!pair) break;
    if (!isMap(pair.value)) return undefined;
    parentPair = pair;
    map = pair.value;
  }
  const like = styleSample(doc);
  if (!map || depth < path.length - 1) {
    // A section is missing: add it with the value below it.
    const missing = path.slice(depth);
    const value = getIn(expected, path.slice(0, depth + 1));
    return insertKey(text, map, String(missing[0]), value, like);
  }
  const key = String(path[path.length - 1]);
  const pair = findPair(map, key);
  const expectedValue = getIn(expected, path);
  if (!pair) {
    if (expectedValue === undefined) return undefined;
    return insertKey(text, map, key, expectedValue, like);
  }
  const node = pair.value;
  switch (edit.op) {
    case 'set':
      if (!isScalar(node) || !node.range) return undefined;
      return { start: node.range[0], end: node.range[1], text: formatScalar(edit.value, node) };
    case 'removeExec':
      return removeEntry(text, map, parentPair, map.items.indexOf(pair));
    case 'addExec':
      return undefined;
    default: {
      if (!isSeq(node) || !node.range) return undefined;
      if (edit.op === 'add') return addToSeq(text, node, edit.value, like);
      if (edit.op === 'replace') {
        const item = node.items[edit.index];
        if (!isScalar(item) || !item.range) return undefined;
        return { start: item.range[0], end: item.range[1], text: formatScalar(edit.value, item) };
      }
      return removeFromSeq(text, node, pair, edit.index);
    }
  }
}

function addToSeq(text: string, seq: YAMLSeq, value: string, like?: Scalar): TextEdit | undefined {
  const last = seq.items[seq.items.length - 1] as any;
  const sample = isScalar(last) ? last : like;
  if (seq.flow) {
    if (!last) return { start: seq.range![0], end: seq.range![1], text: `[${formatScalar(value, sample)}]` };
    if (!last.range) return undefined;
    return { start: last.range[1], end: last.range[1], text: `, ${formatScalar(value, sample)}` };
  }
  if (!last?.range) return undefined;
  const start = lineStart(text, last.range[0]);
  const prefix = text.slice(start, last.range[0]);
  if (!/^\s*-\s+$/.test(prefix)) return undefined;
  const at = contentLineEnd(text, last.range[1]);
  return { start: at, end: at, text: `\n${prefix}${formatScalar(value, sample)}` };
}

function removeFromSeq(text: string, seq: YAMLSeq, pair: Pair<any, any>, index: number): TextEdit | undefined {
  const items = seq.items as any[];
  const item = items[index];
  if (!item?.range) return undefined;
  if (seq.flow) {
    if (items.length === 1) return { start: seq.range![0], end: seq.range![1], text: '[]' };
    if (index < items.length - 1) return items[index + 1].range ? { start: item.range[0], end: items[index + 1].range[0], text: '' } : undefined;
    return items[index - 1].range ? { start: items[index - 1].range[1], end: item.range[1], text: '' } : undefined;
  }
  if (items.length === 1) {
    // The last entry of a block list: the list becomes "[]" (an empty value would mean null).
    if (!pair.key?.range) return undefined;
    return { start: pair.key.range[1], end: contentLineEnd(text, item.range[1]), text: ': []' };
  }
  const start = lineStart(text, item.range[0]);
  if (text.slice(start, item.range[0]).trim() !== '-') return undefined;
  const end = contentLineEnd(text, item.range[1]);
  return { start, end: Math.min(text.length, end + 1), text: '' };
}

function removeEntry(text: string, map: YAMLMap, parentPair: Pair<any, any> | undefined, index: number): TextEdit | undefined {
  const pairs = map.items as Pair<any, any>[];
  const pair = pairs[index];
  if (!pair?.key?.range) return undefined;
  if (map.flow) {
    if (pairs.length === 1) return map.range ? { start: map.range[0], end: map.range[1], text: '{}' } : undefined;
    const endOf = (p: Pair<any, any>) => (p.value?.range ?? p.key.range)[1];
    if (index < pairs.length - 1) return { start: pair.key.range[0], end: pairs[index + 1].key.range[0], text: '' };
    return { start: endOf(pairs[index - 1]), end: endOf(pair), text: '' };
  }
  if (pairs.length === 1) {
    if (!parentPair?.key?.range) return undefined;
    return { start: parentPair.key.range[1], end: lineEndOfPair(text, pair), text: ': {}' };
  }
  const start = lineStart(text, pair.key.range[0]);
  if (text.slice(start, pair.key.range[0]).trim()) return undefined;
  const end = lineEndOfPair(text, pair);
  return { start, end: Math.min(text.length, end + 1), text: '' };
}

/** Adds `key: value` to a mapping (the document's root when `map` is undefined and the file is empty). */
function insertKey(text: string, map: YAMLMap | undefined, key: string, value: unknown, like?: Scalar): TextEdit | undefined {
  if (!map) {
    // Empty file, or only comments.
    const sep = text && !text.endsWith('\n') ? '\n' : '';
    return { start: text.length, end: text.length, text: `${sep}${formatKey(key)}:${blockText(value, '', like)}\n` };
  }
  const pairs = map.items as Pair<any, any>[];
  if (map.flow) {
    if (!map.range) return undefined;
    if (!pairs.length) return { start: map.range[0], end: map.range[1], text: `{ ${formatKey(key)}: ${flowText(value, like)} }` };
    const last = pairs[pairs.length - 1];
    const end = (last.value?.range ?? last.key.range)?.[1];
    return end === undefined ? undefined : { start: end, end, text: `, ${formatKey(key)}: ${flowText(value, like)}` };
  }
  const first = pairs[0];
  if (!first?.key?.range) return undefined;
  const indent = text.slice(lineStart(text, first.key.range[0]), first.key.range[0]);
  if (indent.trim()) return undefined;
  const at = lineEndOfPair(text, pairs[pairs.length - 1]);
  return { start: at, end: at, text: `\n${indent}${formatKey(key)}:${blockText(value, indent, like)}` };
}
