import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { defaultPolicy, loadPolicy, policyHash, type LoadedPolicy, type Policy } from '../core/policy.js';
import { shortHash } from '../core/naming.js';
import { bridgePaths, bridgeRoot, writeSecretFile } from './stateFolder.js';

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

/** Where the sandbox's approved policy is kept: written only by user acts, never mounted into the sandbox. */
export function approvedFile(sandboxName: string): string {
  return join(bridgePaths(sandboxName).dir, 'policy.approved.json');
}

/**
 * The workspace's last approved policy, kept when its sandboxes are removed: a file that those
 * sandboxes could have written does not become the next sandbox's cage by itself either.
 */
function workspaceApprovalFile(workspace: string): string {
  return join(bridgeRoot(), 'approvals', `${shortHash(`workspace:${workspace}`, 16)}.json`);
}

function writeApproval(file: string, approved: ApprovedPolicy): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeSecretFile(file, `${JSON.stringify(approved)}\n`);
}

/**
 * Records `loaded` as the sandbox's approved policy (a user action approved it), and as its
 * workspace's: the workspace is the file's, or `workspace` when the defaults apply (no file).
 */
export function approvePolicy(sandboxName: string, loaded: LoadedPolicy, source: ApprovalSource, workspace?: string): ApprovedPolicy {
  const approved = approvalOf(loaded, source);
  writeApproval(approvedFile(sandboxName), approved);
  const of = loaded.file ? dirname(dirname(loaded.file)) : workspace;
  if (of) writeApproval(workspaceApprovalFile(of), approved);
  return approved;
}

/** Records `loaded` as the workspace's approved policy when it has no sandbox (`paddock policy apply`). */
export function approveWorkspacePolicy(workspace: string, loaded: LoadedPolicy, source: ApprovalSource): ApprovedPolicy {
  const approved = approvalOf(loaded, source);
  writeApproval(workspaceApprovalFile(workspace), approved);
  return approved;
}

function approvalOf(loaded: LoadedPolicy, source: ApprovalSource): ApprovedPolicy {
  const text = loaded.file && existsSync(loaded.file) ? readFileSync(loaded.file, 'utf8') : '';
  return { policy: loaded.policy, hash: loaded.hash, source, at: new Date().toISOString(), text };
}

/** The policy last approved for a workspace, by any of its sandboxes or `policy apply`. */
export function readWorkspaceApproval(workspace: string): ApprovedPolicy | undefined {
  return readApproval(workspaceApprovalFile(workspace));
}

export function readApprovedPolicy(sandboxName: string): ApprovedPolicy | undefined {
  return readApproval(approvedFile(sandboxName));
}

function readApproval(file: string): ApprovedPolicy | undefined {
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as ApprovedPolicy;
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
