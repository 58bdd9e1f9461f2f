// Reads what the Sandboxes tree shows from the engine. No `vscode` import: the refresh
// benchmark runs it in plain node.
import picomatch from 'picomatch';
import { describeError } from '../core/errors.js';
import { LABELS } from '../core/naming.js';
import { loadPolicy, type Policy } from '../core/policy.js';
import type { SandboxEngine } from '../engine/engine.js';
import type { SandboxView } from './treeModel.js';

/** Reads every sandbox with its details, its workspace's policy and the containers its bridge may reach. */
export async function loadViews(engine: SandboxEngine): Promise<SandboxView[]> {
  const list = await engine.list();
  const details = await Promise.all(list.map((s) => engine.get(s.id).catch(() => undefined)));
  const policies = new Map<string, { policy?: Policy; error?: string }>();
  for (const d of details) {
    if (!d || policies.has(d.workspace)) continue;
    try {
      policies.set(d.workspace, { policy: loadPolicy(d.workspace).policy });
    } catch (err) {
      policies.set(d.workspace, { error: describeError(err) });
    }
  }
  const needsContainers = [...policies.values()].some((p) => p.policy?.bridge.containers.length);
  const running = needsContainers
    ? (await engine.docker.listContainers({ all: false })).filter((c) => c.Labels?.[LABELS.sandbox] !== '1').map((c) => (c.Names[0] ?? '').replace(/^\//, ''))
    : [];
  return details.filter((d): d is NonNullable<typeof d> => !!d).map((d) => {
    const p = policies.get(d.workspace)!;
    if (!p.policy) return { details: d, policyError: p.error };
    const globs = p.policy.bridge.containers;
    const matches = globs.length ? picomatch(globs as string[]) : () => false;
    return {
      details: d,
      network: { policy: p.policy.network.policy, allow: p.policy.network.allow, deny: p.policy.network.deny },
      bridgeContainers: running.filter((name) => matches(name)).sort(),
    };
  });
}
