// Reads what the Sandboxes tree shows from the engine. No `vscode` import: the refresh
// benchmark runs it in plain node.
import picomatch from 'picomatch';
import { describeError } from '../core/errors.js';
import { loadPolicy, type Policy } from '../core/policy.js';
import type { SandboxEngine } from '../engine/engine.js';
import type { SandboxView } from './treeModel.js';

/** Reads every sandbox with its details, its workspace's policy and the containers its bridge may reach. */
export async function loadViews(engine: SandboxEngine): Promise<SandboxView[]> {
  const list = await engine.list();
  const details = await Promise.all(list.map((s) => engine.get(s.id).catch(() => undefined)));
  // A sandbox its own guard stopped says so in its log (one read per stopped sandbox).
  const stoppedBecause = await Promise.all(details.map((d) => (d && d.status !== 'running' ? engine.stopReason(d.id).then((why) => why?.text, () => undefined) : undefined)));
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
  const running = needsContainers ? await engine.runningContainerNames() : [];
  return details.flatMap((d, i) => (d ? [{ d, why: stoppedBecause[i] }] : [])).map(({ d, why }) => {
    const p = policies.get(d.workspace)!;
    const stopped = why ? { stoppedBecause: why } : {};
    if (!p.policy) return { details: d, policyError: p.error, ...stopped };
    const globs = p.policy.bridge.containers;
    const matches = globs.length ? picomatch(globs as string[]) : () => false;
    return {
      details: d, ...stopped,
      network: { policy: p.policy.network.policy, allow: p.policy.network.allow, deny: p.policy.network.deny },
      bridgeContainers: running.filter((name) => matches(name)).sort(),
    };
  });
}
