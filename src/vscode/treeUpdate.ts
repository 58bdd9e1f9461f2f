// How the Sandboxes tree follows new data without a refresh of the whole tree. Pure (no `vscode`
// import): unit-tested. VS Code keys its rows by the node objects; a whole-tree refresh drops them
// all, and a context menu opened just before then runs its command with no row.
import type { TreeNode } from './treeModel.js';

type Fields = Record<string, unknown>;
const ownFields = (node: TreeNode): string => JSON.stringify({ ...node, children: node.children?.map((c) => c.id) });

/**
 * Copies `next` into the nodes of `current` when both trees have the same rows (ids, in the same
 * places), and returns the rows whose own text, icon, menu or data changed; undefined when rows
 * came, went or moved (the whole tree is then replaced).
 */
export function updateInPlace(current: readonly TreeNode[], next: readonly TreeNode[]): TreeNode[] | undefined {
  const pairs: [TreeNode, TreeNode][] = [];
  const sameShape = (a: readonly TreeNode[], b: readonly TreeNode[]): boolean =>
    a.length === b.length && a.every((node, i) => node.id === b[i].id && (pairs.push([node, b[i]]), sameShape(node.children ?? [], b[i].children ?? [])));
  if (!sameShape(current, next)) return undefined;
  const changed: TreeNode[] = [];
  for (const [node, update] of pairs) {
    if (ownFields(node) === ownFields(update)) continue;
    const fields = node as unknown as Fields;
    for (const key of Object.keys(fields)) if (key !== 'children' && !(key in update)) delete fields[key];
    for (const [key, value] of Object.entries(update)) if (key !== 'children') fields[key] = value;
    changed.push(node);
  }
  return changed;
}
