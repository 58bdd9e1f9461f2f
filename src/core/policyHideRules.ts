import { isDeepStrictEqual } from 'node:util';
import { isMap, isScalar, isSeq, parse, parseDocument, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';
import { PaddockError } from './errors.js';
import { DEFAULT_HIDE } from './policy-defaults.js';

/**
 * The hide list as rules in file order, each on or off. Order matters (the last matching rule
 * wins, "!" re-includes), so a rule switched off keeps its place: it is commented out in place,
 *     # - "**\/.env.*"  # off
 * and switched on again where it stands. Pure text edits on `.paddock/policy.yaml`; each result
 * is parsed again and must hide exactly the rules that are on, in order.
 */
export interface HideRule {
  readonly pattern: string;
  readonly on: boolean;
}

export type HideRuleAction = 'off' | 'on' | 'delete' | 'up' | 'down';

const OFF_LINE = /^(\s*)#\s?-\s(.+?)\s+#\s*off\s*$/;
const ITEM_LINE = /^(\s*)-\s+(\S.*?)\s*$/;

interface Located extends HideRule {
  /** 0-based line of the rule (its item line, or its commented line). */
  readonly line: number;
  readonly indent: string;
  /** The scalar as written (quotes kept). */
  readonly source: string;
}

interface HideBlock {
  readonly keyLine: number;
  readonly rules: readonly Located[];
  /** The key line is `hide: []` (every rule off). */
  readonly emptyFlow: boolean;
}

const lineOf = (text: string, offset: number) => text.slice(0, offset).split('\n').length - 1;

function hidePair(text: string): { map: YAMLMap; pair?: Pair<any, any> } | undefined {
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length || (doc.contents !== null && !isMap(doc.contents))) return undefined;
  const map = doc.contents as YAMLMap | null;
  if (!map) return undefined;
  return { map, pair: map.items.find((p: Pair<any, any>) => isScalar(p.key) && p.key.value === 'hide') };
}

function offText(source: string): string | undefined {
  try {
    const value = parse(source);
    return typeof value === 'string' && value ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The hide list of a file whose hide key is a block list of one-line entries (or `hide: []`); undefined otherwise. */
function hideBlock(text: string): HideBlock | undefined {
  const found = hidePair(text);
  const pair = found?.pair;
  if (!pair?.key?.range) return undefined;
  const seq = pair.value as YAMLSeq | null;
  const lines = text.split('\n');
  const keyLine = lineOf(text, pair.key.range[0]);
  const keyIndent = /^\s*/.exec(lines[keyLine])![0].length;
  const emptyFlow = isSeq(seq) && !!seq.flow && seq.items.length === 0;
  if (!emptyFlow && (!isSeq(seq) || seq.flow)) return undefined;
  const rules: Located[] = [];
  // The list's lines: after the key, until a line with content at the key's indentation or less.
  for (let i = keyLine + 1; i < lines.length; i++) {
    const line = lines[i];
    const off = OFF_LINE.exec(line);
    if (off && off[1].length > keyIndent - (keyIndent ? 0 : 1)) {
      const pattern = offText(off[2]);
      if (pattern !== undefined) rules.push({ pattern, on: false, line: i, indent: off[1], source: off[2] });
      continue;
    }
    if (!line.trim() || line.trim().startsWith('#')) continue;
    const indent = /^\s*/.exec(line)![0].length;
    if (indent <= keyIndent && !line.trimStart().startsWith('-')) break;
    const item = ITEM_LINE.exec(line);
    if (!item || emptyFlow) return undefined;
    const value = offText(item[2].replace(/\s+#.*$/, ''));
    if (value === undefined) return undefined; // a multi-line or non-string entry: left to the text editor
    rules.push({ pattern: value, on: true, line: i, indent: item[1], source: item[2] });
  }
  const onRules = rules.filter((r) => r.on).map((r) => r.pattern);
  if (!emptyFlow && !isDeepStrictEqual(onRules, seq!.items.map((n: any) => (isScalar(n) ? n.value : undefined)))) return undefined;
  return { keyLine, rules, emptyFlow };
}

/** The hide rules in file order, switched-off ones included; undefined when the file has no hide list (the defaults apply) or a form this cannot show. */
export function hideRulesOf(text: string): HideRule[] | undefined {
  return hideBlock(text)?.rules.map(({ pattern, on }) => ({ pattern, on }));
}

/** The file with its hide list written as a block list (the defaults when it has none), so rules can be switched off in place. */
function asBlockList(text: string): string {
  if (hideBlock(text)) return text;
  const found = hidePair(text);
  if (text.trim() && !found) throw new PaddockError('The policy file is not a YAML mapping of keys to values.', 'Fix it in the text editor; nothing was changed.');
  const pair = found?.pair;
  const block = (items: readonly unknown[], indent: string) => items.map((v) => `\n${indent}  - ${JSON.stringify(v)}`).join('');
  let next: string;
  if (!pair) {
    next = `${text}${text && !text.endsWith('\n') ? '\n' : ''}hide:${block(DEFAULT_HIDE, '')}\n`;
  } else {
    const seq = pair.value as YAMLSeq;
    if (!isSeq(seq) || !seq.range || !pair.key.range) throw new PaddockError('hide is not a list in the policy file.', 'Fix it in the text editor; nothing was changed.');
    const items = seq.items.map((n: any) => (isScalar(n) ? n.value : undefined));
    const lineStartAt = text.lastIndexOf('\n', pair.key.range[0] - 1) + 1;
    const indent = text.slice(lineStartAt, pair.key.range[0]);
    next = `${text.slice(0, pair.key.range[1])}:${block(items, indent)}${text.slice(seq.range[1])}`;
  }
  if (!hideBlock(next)) throw new PaddockError('The hide list could not be rewritten as one rule per line.', 'Make the change in the text editor; nothing was changed.');
  return next;
}

/**
 * Switches a hide rule off or on where it stands, deletes it, or moves it up or down (past the
 * next rule, on or off). `position` is its index in hideRulesOf(text); `pattern` must match it
 * (the file may have changed since the page was drawn).
 */
export function editHideRule(text: string, position: number, pattern: string, action: HideRuleAction): string {
  const source = asBlockList(text);
  const block = hideBlock(source)!;
  const rule = block.rules[position];
  if (!rule || rule.pattern !== pattern) throw new PaddockError(`The hide rule "${pattern}" is no longer at that place.`, 'The file changed meanwhile; try again.');
  const lines = source.split('\n');
  const expected = block.rules.map((r) => ({ ...r }));
  if (action === 'off' || action === 'on') {
    if (rule.on === (action === 'on')) return text;
    lines[rule.line] = action === 'off' ? `${rule.indent}# - ${rule.source}  # off` : `${rule.indent}- ${rule.source}`;
    expected[position] = { ...rule, on: action === 'on' };
  } else if (action === 'delete') {
    lines.splice(rule.line, 1);
    expected.splice(position, 1);
  } else {
    const other = block.rules[action === 'up' ? position - 1 : position + 1];
    if (!other) return text;
    [lines[rule.line], lines[other.line]] = [lines[other.line], lines[rule.line]];
    const j = block.rules.indexOf(other);
    [expected[position], expected[j]] = [expected[j], expected[position]];
  }
  // A list with no rule on is written `hide: []` (an empty block value would mean null); one switched on again drops the `[]`.
  const anyOn = expected.some((r) => r.on);
  const keyLine = lines[block.keyLine];
  if (!anyOn && !block.emptyFlow) lines[block.keyLine] = keyLine.replace(/:\s*$/, ': []');
  if (anyOn && block.emptyFlow) lines[block.keyLine] = keyLine.replace(/:\s*\[\]\s*$/, ':');
  const next = lines.join('\n');
  const check = hideBlock(next);
  const data = parseDocument(next, { prettyErrors: false });
  const hidden = data.errors.length ? undefined : (data.toJS() as any)?.hide;
  if (!check || !isDeepStrictEqual(check.rules.map(({ pattern: p, on }) => ({ pattern: p, on })), expected.map(({ pattern: p, on }) => ({ pattern: p, on })))
    || !isDeepStrictEqual(hidden, expected.filter((r) => r.on).map((r) => r.pattern))) {
    throw new PaddockError('This change could not be written to the hide list.', 'Make it in the text editor; nothing was changed.');
  }
  return next;
}
