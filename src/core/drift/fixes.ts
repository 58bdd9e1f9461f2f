import { applyEdits, findNodeAtLocation, modify, parseTree } from 'jsonc-parser';
import { isMap, isSeq, parseDocument, YAMLSeq } from 'yaml';
import { DEFAULT_HIDE } from '../policy.js';

/**
 * The text edits behind the drift quick fixes. Each takes a file's current text (undefined when
 * the file does not exist yet) and returns the new text, keeping the user's comments and layout.
 */

/** Adds a glob to `hide` in policy.yaml. A new file starts from the defaults, so adding one path hides no less than before. */
export function addHidePattern(policyText: string | undefined, pattern: string): string {
  if (policyText === undefined || !policyText.trim()) {
    const doc = parseDocument('version: 1\n');
    doc.set('hide', doc.createNode([...DEFAULT_HIDE, pattern]));
    return doc.toString();
  }
  const doc = parseDocument(policyText);
  if (!isMap(doc.contents)) throw new Error('The policy file is not a YAML mapping; fix it by hand.');
  const hide = doc.get('hide', true);
  if (isSeq(hide)) {
    if (hide.items.some((i: any) => i?.value === pattern)) return policyText;
    // A new rule goes before the "!" exceptions only if it is itself an exception; otherwise last, so it wins.
    hide.add(doc.createNode(pattern));
  } else {
    // No hide list means the defaults applied; keep them.
    const seq = doc.createNode([...DEFAULT_HIDE, pattern]) as YAMLSeq;
    doc.set('hide', seq);
  }
  return doc.toString();
}

const JSON_FORMAT = { formattingOptions: { insertSpaces: true, tabSize: 2, eol: '\n' } };

/** Adds a rule (e.g. "Read(./.env)") to permissions.deny of a Claude Code settings file. */
export function addClaudeDeny(settingsText: string | undefined, rule: string): string {
  const text = settingsText?.trim() ? settingsText : '{}\n';
  const root = parseTree(text);
  const deny = root ? findNodeAtLocation(root, ['permissions', 'deny']) : undefined;
  if (deny?.type === 'array' && deny.children?.some((c) => c.value === rule)) return text;
  const index = deny?.type === 'array' ? deny.children?.length ?? 0 : undefined;
  const edits = index === undefined
    ? modify(text, ['permissions', 'deny'], [rule], JSON_FORMAT)
    : modify(text, ['permissions', 'deny', index], rule, { ...JSON_FORMAT, isArrayInsertion: true });
  return applyEdits(text, edits);
}

/** Appends a line to a gitignore-style file (.aiexclude, .geminiignore). */
export function addIgnoreLine(text: string | undefined, line: string): string {
  if (/[\r\n]/.test(line)) throw new Error(`${JSON.stringify(line)} has a line break: it would be more than one rule.`);
  const current = text ?? '';
  if (current.split(/\r?\n/).some((l) => l.trim() === line)) return current;
  return `${current}${current && !current.endsWith('\n') ? '\n' : ''}${line}\n`;
}

/** The Claude Code rule that denies reading a workspace path (a file, or a folder and everything in it). */
export function claudeDenyFor(relativeGlob: string, kind: 'file' | 'dir' = 'file'): string {
  return `Read(./${relativeGlob}${kind === 'dir' && !relativeGlob.endsWith('/**') ? '/**' : ''})`;
}

/** The .gitignore-style line for a workspace path (anchored at the root with a leading "/"). */
export function ignoreLineFor(relativeGlob: string, kind: 'file' | 'dir' = 'file'): string {
  if (relativeGlob.startsWith('**/')) return relativeGlob.slice(3) + (kind === 'dir' ? '/' : '');
  return `/${relativeGlob}${kind === 'dir' && !relativeGlob.endsWith('/**') ? '/' : ''}`;
}
