import { existsSync } from 'node:fs';
import type Docker from 'dockerode';
import { writtenWhileUncaged, type SandboxHidingState } from '../core/drift/analyze.js';
import { CONTAINER_POLICY_LABEL, containerSectionsChanged } from '../core/containerPolicy.js';
import { readApprovedPolicy, readWorkspaceApproval } from './approvedPolicy.js';
import { describeError, PaddockError } from '../core/errors.js';
import { planMounts, uncagedSince, uncoveredSince, type MountPlan, type PlannedMount } from '../core/hiding.js';
import { loadPolicy, type Policy } from '../core/policy.js';
import { LABELS } from '../core/naming.js';
import type { SandboxEngine } from './engine.js';
import { verifySandbox, type EarlyCheck, type KnownPlan } from './verify.js';
import { hideRulesMount } from './newSecretsRules.js';
import { trace } from './trace.js';

/**
 * The mount plan as Docker mounts: /dev/null read-only over files, empty read-only tmpfs over folders,
 * read-only binds for the cage, and pins (folders bound onto themselves) above them; and the hide
 * rules, read-only, for the init's guard of paths that appear later (./newSecrets.ts).
 */
export function dockerMounts(plan: MountPlan): Docker.MountConfig {
  const rules = hideRulesMount(plan);
  return [...plan.mounts.map(toDockerMount), ...(rules ? [rules] : [])];
}

function toDockerMount(m: PlannedMount): Docker.MountConfig[number] {
  if (m.type === 'tmpfs') {
    // Mode 0555 and read-only: an empty folder nobody can put anything in.
    return { Type: 'tmpfs', Target: m.target, ReadOnly: true, TmpfsOptions: { SizeBytes: 4096, Mode: 0o555 } } as Docker.MountConfig[number];
  }
  // A pin (readOnly false) binds a folder onto itself: a mount point cannot be renamed away.
  return { Type: 'bind', Source: m.source!, Target: m.target, ReadOnly: m.readOnly, BindOptions: { Propagation: 'rprivate' } } as Docker.MountConfig[number];
}

/** What a sandbox was created with: its policy hash label and the targets of its hiding mounts. */
export async function hidingStateOf(engine: SandboxEngine, nameOrId: string): Promise<SandboxHidingState> {
  const info = await engine.docker.getContainer(nameOrId).inspect();
  const mounts = (info.HostConfig.Mounts ?? []) as { Type?: string; Source?: string; Target?: string; ReadOnly?: boolean }[];
  const name = info.Name.replace(/^\//, '');
  const workspace = info.Config.Labels?.[LABELS.workspace];
  return {
    name,
    policyHash: info.Config.Labels?.[LABELS.policyHash],
    containerPolicyHash: info.Config.Labels?.[CONTAINER_POLICY_LABEL],
    approvedPolicyTexts: [readApprovedPolicy(name), workspace ? readWorkspaceApproval(workspace) : undefined].flatMap((a) => (a ? [a.text] : [])),
    mountedTargets: mounts.filter((m) => m.Type === 'tmpfs' || (m.Type === 'bind' && m.Source === '/dev/null')).map((m) => m.Target ?? ''),
    readOnlyTargets: mounts.filter((m) => m.Type === 'bind' && m.ReadOnly && m.Source !== '/dev/null').map((m) => m.Target ?? ''),
  };
}

/** How the start note of secrets no mount hides begins (./startNotes.ts leaves it out after a guard's stop). */
export const NOT_HIDDEN_NOTE = 'Not hidden until applied:';

/**
 * Notes for the user at start: secret files that appeared (or that the policy started naming)
 * since the sandbox was created are visible in it until it is recreated.
 */
export function hidingNotes(plan: MountPlan, state: SandboxHidingState, current: { readonly policy: Policy; readonly hash: string }): string[] {
  const notes: string[] = [];
  const uncovered = uncoveredSince(plan, state.mountedTargets);
  if (uncovered.length) {
    const shown = uncovered.slice(0, 8).map((u) => `${u.relative} (${u.reason === 'rule' ? `rule "${u.rule}"` : u.reason === 'hard-link' ? `hard link of ${u.via}` : `target of ${u.via}`})`);
    notes.push(`${NOT_HIDDEN_NOTE} ${shown.join(', ')}${uncovered.length > 8 ? ` and ${uncovered.length - 8} more` : ''} appeared or became hidden after ${state.name} was created, so the sandbox can read ${uncovered.length === 1 ? 'it' : 'them'}. "paddock apply ${state.name}" makes a new container that hides ${uncovered.length === 1 ? 'it' : 'them'} and keeps the sandbox's state.`);
  } else if (containerSectionsChanged(state, current.policy, current.hash)) {
    // Network and bridge rules follow the policy live; the container's own sections need an apply.
    notes.push(`The policy's hide rules, cage, env, limits or ports changed since ${state.name} was created; "paddock apply ${state.name}" makes a new container with them and keeps its state.`);
  }
  // Cage paths created while the sandbox could write them (.vscode/tasks.json, .envrc, a new repo's hooks).
  const uncaged = state.readOnlyTargets ? writtenWhileUncaged(plan.workspace, uncagedSince(plan, state.readOnlyTargets), state) : [];
  if (uncaged.length) {
    const shown = uncaged.slice(0, 8).map((c) => c.relative);
    notes.push(`Written while unprotected: ${shown.join(', ')}${uncaged.length > 8 ? ` and ${uncaged.length - 8} more` : ''} did not exist when ${state.name} was created, so it could write ${uncaged.length === 1 ? 'it' : 'them'}; the host runs or loads such files (git hooks and config, tasks, compose files, .envrc, the policy). Read ${uncaged.length === 1 ? 'it' : 'them'} before you use ${uncaged.length === 1 ? 'it' : 'them'}, then "paddock apply ${state.name}" (a new container, its state kept) protects ${uncaged.length === 1 ? 'it' : 'them'}.`);
  }
  for (const n of plan.notes) notes.push(n);
  return notes;
}

/** Re-expands the workspace's hide globs for an existing sandbox (at start) and says what is not hidden. */
export async function hidingNotesFor(engine: SandboxEngine, nameOrId: string): Promise<string[]> {
  const state = await hidingStateOf(engine, nameOrId);
  const workspace = (await engine.get(nameOrId)).workspace;
  if (!workspace || !existsSync(workspace)) return [];
  let loaded;
  try {
    loaded = loadPolicy(workspace);
  } catch (err) {
    return [`The policy cannot be read, so hiding was not re-checked: ${describeError(err)}`];
  }
  return hidingNotes(planMounts(workspace, loaded.policy), state, loaded);
}

/**
 * For a sandbox that kept running, before its agent is started: hidden paths that show content now,
 * found by the same checks as `paddock verify` (`early`: its helper, started before the lookups;
 * `plan`: the workspace's mount plan when the caller has just made it from the same policy file).
 * Fails closed: a path one of its own mounts hides that reads (a file replaced on the host by
 * rename detaches its mount, and the guard inside did not stop the sandbox), or a check that could
 * not run, refuses. Paths hidden only since it was made are notes (as at a start).
 */
export async function runningHidingNotes(engine: SandboxEngine, sandbox: { readonly id: string; readonly name: string }, early?: EarlyCheck, plan?: KnownPlan): Promise<string[]> {
  let report;
  try {
    report = await verifySandbox(engine, sandbox.id, { early, plan });
    trace('the running sandbox\'s hidden paths checked');
  } catch (err) {
    throw new PaddockError(`The check of ${sandbox.name}'s hidden paths could not run (${err instanceof Error ? err.message : String(err)}), so its agent was not started.`,
      `Run it again; if this repeats, restart it ("paddock stop ${sandbox.name}", then run again): hiding is applied at every start.`);
  }
  const leaks = report.failures.filter((f) => f.check === 'hidden-file' || f.check === 'hidden-folder' || f.check === 'hidden-alias');
  const lost = leaks.filter((l) => l.lost);
  if (lost.length) {
    throw new PaddockError(`Hidden paths are readable in ${report.sandbox}: ${lost.slice(0, 5).map((l) => l.path).join(', ')}${lost.length > 5 ? ` and ${lost.length - 5} more` : ''} (replaced on the host while it ran, which detaches a hiding mount), so its agent was not started.`,
      `Restart it ("paddock stop ${report.sandbox}", then run again): hiding is applied at every start. "paddock verify ${report.sandbox}" shows each path.`);
  }
  if (!leaks.length) return [];
  return [`Hidden paths are readable in ${report.sandbox}: ${leaks.slice(0, 5).map((l) => l.path).join(', ')}${leaks.length > 5 ? ` and ${leaks.length - 5} more` : ''} (hidden only since it was made). "paddock apply ${report.sandbox}" hides them (a new container, its state kept); "paddock verify ${report.sandbox}" shows why.`];
}
