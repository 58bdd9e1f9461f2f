import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { defaultPolicy, loadPolicy, policyHash, type LoadedPolicy, type Policy } from '../core/policy.js';
import { bridgePaths, writeSecretFile } from './stateFolder.js';

/**
 * The policy in force for a sandbox is the one the user approved, kept in the sandbox's host state
 * folder where the sandbox cannot write. The workspace's .paddock/policy.yaml is input from the
 * sandbox too (it can create it where .paddock did not exist, or a sandbox of another agent could
 * have written it): a file that changed on disk takes effect only through a user action — creating
 * the sandbox, a save in the editor, `paddock policy apply`.
 */

export type ApprovalSource = 'create' | 'editor' | 'cli';

export interface ApprovedPolicy {
  readonly policy: Policy;
  readonly hash: string;
  /** The user action that approved it. */
  readonly source: ApprovalSource;
  readonly at: string;
  /** The file's text when approved (empty when the defaults applied), to show what a change would do. */
  readonly text: string;
}

export interface PolicyInForce extends ApprovedPolicy {
  /** The workspace file, when it differs from the approved policy: it waits for the user. */
  readonly pending?: LoadedPolicy;
  /** Set when the file cannot be read as a policy: the approved rules stay. */
  readonly pendingError?: string;
  /** Said to the user when Paddock had to fall back (a changed file nobody approved, with no record). */
  readonly note?: string;
}

function approvedFile(sandboxName: string): string {
  return join(bridgePaths(sandboxName).dir, 'policy.approved.json');
}

/** Records `loaded` as the sandbox's approved policy (a user action approved it). */
export function approvePolicy(sandboxName: string, loaded: LoadedPolicy, source: ApprovalSource): ApprovedPolicy {
  const text = loaded.file && existsSync(loaded.file) ? readFileSync(loaded.file, 'utf8') : '';
  const approved: ApprovedPolicy = { policy: loaded.policy, hash: loaded.hash, source, at: new Date().toISOString(), text };
  const file = approvedFile(sandboxName);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeSecretFile(file, `${JSON.stringify(approved)}\n`);
  return approved;
}

export function readApprovedPolicy(sandboxName: string): ApprovedPolicy | undefined {
  try {
    const data = JSON.parse(readFileSync(approvedFile(sandboxName), 'utf8')) as ApprovedPolicy;
    // The hash is recomputed: a record that does not match its own policy is not trusted.
    return data && data.policy && policyHash(data.policy) === data.hash ? data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The rules a sandbox runs with, and the workspace file's state against them. A sandbox made before
 * approvals existed adopts the file when it is what the sandbox was created with (same hash label);
 * otherwise it gets the defaults (no container reachable through the bridge) until the user applies.
 */
export function policyInForce(sandbox: { readonly name: string; readonly workspace: string; readonly policyHash?: string }): PolicyInForce {
  let file: LoadedPolicy | undefined;
  let pendingError: string | undefined;
  try {
    file = loadPolicy(sandbox.workspace);
  } catch (err: any) {
    pendingError = err?.message ?? String(err);
  }
  let approved = readApprovedPolicy(sandbox.name);
  if (!approved && file && file.hash === sandbox.policyHash) approved = approvePolicy(sandbox.name, file, 'create');
  if (!approved) {
    const policy = defaultPolicy();
    return {
      policy, hash: policyHash(policy), source: 'create', at: '', text: '',
      pending: file, pendingError,
      note: `The policy file of ${sandbox.workspace} changed since ${sandbox.name} was created, and no one approved the change, so the default rules apply (the bridge reaches no container). Review it and run "paddock policy apply ${sandbox.workspace}" (or save it in VS Code) to use it.`,
    };
  }
  const pending = file && file.hash !== approved.hash ? file : undefined;
  return { ...approved, pending, pendingError };
}
