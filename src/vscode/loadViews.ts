// Reads what the Sandboxes tree shows from the engine. No `vscode` import: the refresh
// benchmark runs it in plain node.
import { isInside } from '../core/paths.js';
import { describeError } from '../core/errors.js';
import { rulesInForce } from '../core/liveRules.js';
import { loadPolicy, type Policy } from '../core/policy.js';
import { AllowedContainers } from '../bridge/allowedContainers.js';
import type { SandboxEngine } from '../engine/engine.js';
import { networkInForce } from '../engine/liveRules.js';
import { readApprovedPolicy } from '../engine/approvedPolicy.js';
import { containerPolicyDiffers } from '../engine/apply.js';
import { taskAt } from '../engine/tasks.js';
import type { EnforcedNetwork, SandboxView } from './treeModel.js';

const COMPOSE_PROJECT = 'com.docker.compose.project';
const COMPOSE_DIR = 'com.docker.compose.project.working_dir';

/** The rules the sandbox's egress proxy runs with, each with where it came from; undefined with the reason when they cannot be read. */
async function enforcedOf(engine: SandboxEngine, name: string): Promise<{ enforced?: EnforcedNetwork; error?: string }> {
  try {
    const inForce = await networkInForce(engine.docker, name);
    if (inForce.live) return { enforced: { policy: inForce.live.base.policy, rules: rulesInForce(inForce.live), changedAt: inForce.live.changedAt } };
    // A proxy made before live rules runs with the rules it was created with.
    const n = inForce.network;
    return { enforced: { policy: n.policy, rules: [...n.deny.map((rule) => ({ list: 'deny' as const, rule, from: 'policy' as const })), ...n.allow.map((rule) => ({ list: 'allow' as const, rule, from: 'policy' as const }))] } };
  } catch (err) {
    return { error: describeError(err) };
  }
}

/** Running compose projects whose files are in the workspace (offered when the bridge reaches nothing). */
function composeProjectsIn(all: readonly { Labels?: Record<string, string>; State: string }[], workspace: string): string[] {
  const projects = new Set<string>();
  for (const c of all) {
    const project = c.Labels?.[COMPOSE_PROJECT];
    const dir = c.Labels?.[COMPOSE_DIR];
    if (project && dir && c.State === 'running' && isInside(dir, workspace)) projects.add(project);
  }
  return [...projects].sort();
}

/** Reads every sandbox with its details, the rules its proxy enforces, its workspace's policy and the containers its bridge may reach. */
export async function loadViews(engine: SandboxEngine): Promise<SandboxView[]> {
  const list = await engine.list();
  const details = await Promise.all(list.map((s) => engine.get(s.id).catch(() => undefined)));
  // A sandbox its own guard stopped says so in its log (one read per stopped sandbox).
  const stoppedBecause = await Promise.all(details.map((d) => (d && d.status !== 'running' ? engine.stopReason(d.id).then((why) => why?.text, () => undefined) : undefined)));
  const enforced = await Promise.all(details.map((d) => (d ? enforcedOf(engine, d.name) : undefined)));
  // Whose policy governs a sandbox: its workspace's, or for a task's sandbox the task's workspace's
  // (never the copy in the task's folder, which the task's agent can write).
  const home = details.map((d) => (d ? taskAt(d.workspace)?.source ?? d.workspace : ''));
  const policies = new Map<string, { policy?: Policy; error?: string }>();
  for (const [i, d] of details.entries()) {
    if (!d || policies.has(home[i])) continue;
    try {
      policies.set(home[i], { policy: loadPolicy(home[i]).policy });
    } catch (err) {
      policies.set(home[i], { error: describeError(err) });
    }
  }
  // Made from other hide rules, cage, env, limits or ports than the file has: an apply (a new container, state kept) is due.
  const applyDue = await Promise.all(details.map((d, i) => (d && policies.get(home[i])?.policy ? containerPolicyDiffers(engine, d.id, policies.get(home[i])!.policy!).catch(() => false) : false)));
  // The bridge's own matching (names, globs, compose projects; never Paddock's containers), once per workspace.
  const bridge = new Map<string, { containers: string[]; composeProjects: string[] }>();
  const all = policies.size ? await engine.docker.listContainers({ all: true }) : [];
  await Promise.all([...policies].map(async ([workspace, p]) => {
    const containers = p.policy?.bridge.containers.length ? (await new AllowedContainers(engine.docker, p.policy.bridge).list()).map((c) => c.name) : [];
    bridge.set(workspace, { containers, composeProjects: composeProjectsIn(all, workspace) });
  }));
  // A policy file that does not load: the bridge keeps the rules last applied (approvedPolicy.ts), if any.
  const keptReach = await Promise.all(details.map(async (d, i) => {
    const approved = d && policies.get(home[i])?.error ? readApprovedPolicy(d.name) : undefined;
    return approved?.policy.bridge.containers.length ? (await new AllowedContainers(engine.docker, approved.policy.bridge).list().catch(() => [])).map((c) => c.name) : [];
  }));
  return details.flatMap((d, i) => (d ? [{ d, why: stoppedBecause[i], inForce: enforced[i], kept: keptReach[i], due: applyDue[i], from: home[i] }] : [])).map(({ d, why, inForce, kept, due, from }) => {
    const p = policies.get(from)!;
    const b = bridge.get(from);
    const extra = {
      ...(why ? { stoppedBecause: why } : {}),
      ...(due ? { containerPolicyChanged: true } : {}),
      ...(inForce?.enforced ? { enforced: inForce.enforced } : { enforcedError: inForce?.error }),
      composeProjects: b?.composeProjects ?? [],
    };
    if (!p.policy) return { details: d, policyError: p.error, bridgeContainers: kept, ...extra };
    return {
      details: d, ...extra,
      network: { policy: p.policy.network.policy, allow: p.policy.network.allow, deny: p.policy.network.deny },
      bridgeContainers: b?.containers ?? [],
    };
  });
}
