import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PaddockError } from '../core/errors.js';
import { loadPolicy, parsePolicy, POLICY_FILE, type LoadedPolicy } from '../core/policy.js';
import { parse } from 'yaml';
import { applyPolicyEdit, getIn, type PolicyEdit } from '../core/policyYamlEdit.js';
import { policyInForce } from './approvedPolicy.js';

/**
 * `paddock network allow|deny --save`: writes one rule into the workspace's .paddock/policy.yaml,
 * keeping its comments and layout. The file is input from the sandbox as well (it may have written
 * it while .paddock did not exist), so the edit is made only on the policy the user approved: a file
 * that changed on disk without approval is refused (saving would approve the sandbox's changes too),
 * and so is a symlink (the host would write wherever the sandbox pointed it).
 */
export interface SavedRule {
  readonly file: string;
  readonly loaded: LoadedPolicy;
  /** The hash of the file before the edit: sandboxes that had approved it may take the new one. */
  readonly previousHash?: string;
  /** The same rule taken out of the other list (allowing what the policy denied, or the reverse). */
  readonly removedFromOther: boolean;
  readonly changed: boolean;
}

const HEADER = '# Paddock sandbox policy ("paddock policy init" writes one with every section explained).\nversion: 1\n';

export function saveNetworkRule(sandbox: { readonly name: string; readonly workspace: string; readonly policyHash?: string }, list: 'allow' | 'deny', rule: string): SavedRule {
  const file = join(sandbox.workspace, POLICY_FILE);
  for (const path of [dirname(file), file]) {
    if (existsSync(path) && lstatSync(path).isSymbolicLink()) {
      throw new PaddockError(`${path} is a symbolic link, so writing the policy would write wherever it points (the sandbox may have made it).`, 'Look at it, replace it with a real file or folder, then try again. Nothing was changed.');
    }
  }
  const inForce = policyInForce(sandbox);
  if (inForce.pendingError) throw new PaddockError(`${file} does not load (${inForce.pendingError}).`, 'Fix it, then run "paddock policy apply" or try again. Nothing was changed.');
  if (inForce.pending || inForce.note) {
    throw new PaddockError(`${file} changed on disk since you approved it (the sandbox may have written it), so saving a rule into it would approve that change too.`,
      `Review it ("paddock policy check ${sandbox.workspace}"), run "paddock policy apply ${sandbox.workspace}" if the change is yours, then try again. Nothing was changed.`);
  }
  const before = existsSync(file) ? readFileSync(file, 'utf8') : HEADER;
  const network = parsePolicy(before).policy?.network;
  if (!network) throw new PaddockError(`${file} is not a valid policy.`, 'Fix it (paddock policy check), then try again. Nothing was changed.');
  const other = list === 'allow' ? 'deny' : 'allow';
  const edits: PolicyEdit[] = [];
  // The index in the file's own list (the parsed one also holds the built-in hosts when network.defaults is on).
  const index = ((getIn(parse(before), ['network', other]) as string[] | undefined) ?? []).indexOf(rule);
  if (index >= 0) edits.push({ op: 'remove', path: ['network', other], index });
  if (!network[list].includes(rule)) edits.push({ op: 'add', path: ['network', list], value: rule });
  let text = before;
  for (const edit of edits) text = applyPolicyEdit(text, edit).text;
  const changed = text !== before || !existsSync(file);
  if (changed) {
    mkdirSync(dirname(file), { recursive: true });
    // A rename, not a write through the path: a link put there meanwhile is replaced, never followed.
    const tmp = `${file}.paddock-tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  }
  return { file, loaded: loadPolicy(sandbox.workspace), previousHash: inForce.hash, removedFromOther: index >= 0, changed };
}
