import { PaddockError } from '../core/errors.js';
import { rulesInForce } from '../core/liveRules.js';
import { approvePolicy, policyInForce } from './approvedPolicy.js';
import type { SandboxEngine } from './engine.js';
import { egressStateOf } from './egress.js';
import { addSessionRule, networkInForce, proxyFollowsLiveRules, pushApprovedNetwork, readLiveRules, waitUntilInForce } from './liveRules.js';
import { saveNetworkRule, type SavedRule } from './policyNetworkEdit.js';

/** What one `network allow|deny` (CLI) or Allow (editor) did. */
export interface NetworkRuleChange {
  readonly sandbox: string;
  readonly running: boolean;
  readonly saved?: SavedRule;
  /** Sandboxes whose approved policy became the saved file (with save). */
  readonly approvedFor: readonly string[];
  /** The deny rule that still wins over an added allow rule. */
  readonly overriddenBy?: string;
  /** Milliseconds until the running proxy confirmed the rule; undefined when it did not within 3 s (or is not running). */
  readonly inForceAfterMs?: number;
}

/**
 * Whether a sandbox's proxy follows live rules, or a PaddockError when it has none: a proxy removed
 * by hand is made again by a start (./repair.ts); one from before live rules needs an apply (state kept).
 */
export async function liveRulesOf(engine: SandboxEngine, sandbox: { readonly name: string }): Promise<{ live: boolean; apply: string }> {
  const apply = `Apply the policy to it in a new container, which keeps its state ("paddock apply ${sandbox.name}").`;
  const state = await egressStateOf(engine.docker, sandbox.name);
  if (state === 'unproxied') throw new PaddockError(`Sandbox ${sandbox.name} has no egress proxy (it was created before Paddock had one): its traffic is not filtered.`, `${apply} Then its network rules apply.`);
  if (state === 'proxy-missing') throw new PaddockError(`The egress proxy of ${sandbox.name} was removed outside Paddock: the sandbox has no network.`, `Run "paddock start ${sandbox.name}": it makes the proxy again (the sandbox's state is kept).`);
  return { live: await proxyFollowsLiveRules(engine.docker, sandbox.name), apply };
}

/**
 * Puts one allow or deny rule in force for a sandbox, a user action: for this run of the sandbox
 * (live rules' session part), or with `save` also written into .paddock/policy.yaml and approved
 * for the workspace's sandboxes that ran the file as it was. The rule must already be checked
 * (checkRuleText). Waits for a running proxy to confirm it.
 */
export async function changeNetworkRule(engine: SandboxEngine, nameOrId: string, list: 'allow' | 'deny', rule: string, options: { save?: boolean; source?: string } = {}): Promise<NetworkRuleChange> {
  const sandbox = await engine.get(nameOrId);
  const { live: followsLive, apply } = await liveRulesOf(engine, sandbox);
  if (!followsLive) throw new PaddockError(`The egress proxy of ${sandbox.name} was made before rules could change live: it keeps the rules it was created with.`, `${apply} Nothing was changed.`);
  const running = sandbox.status === 'running';
  if (!options.save && !running) {
    throw new PaddockError(`Sandbox ${sandbox.name} is not running, and a rule for this run lasts only while it runs.`, 'Start it first, or save the rule into the policy.');
  }
  const source = options.source ?? `network ${list}`;
  const started = Date.now();
  let changedAt: string | undefined;
  const approvedFor: string[] = [];
  let saved: SavedRule | undefined;
  if (options.save) {
    saved = saveNetworkRule({ name: sandbox.name, workspace: sandbox.workspace, policyHash: sandbox.policyHash }, list, rule);
    // The workspace's sandboxes that ran this policy take the new one (it is the same user action);
    // a sandbox with another approved policy keeps it (its own `policy apply` decides).
    for (const s of await engine.list({ workspace: sandbox.workspace })) {
      const details = s.name === sandbox.name ? sandbox : await engine.get(s.id);
      const before = policyInForce({ name: details.name, workspace: details.workspace, policyHash: details.policyHash });
      if (details.name !== sandbox.name && before.hash !== saved.previousHash) continue;
      approvePolicy(details.name, saved.loaded, options.source ? 'editor' : 'cli');
      const pushed = await pushApprovedNetwork(details.name, saved.loaded.policy.network, `${source} --save`);
      if (details.name === sandbox.name) changedAt = pushed.rules?.changedAt;
      approvedFor.push(details.name);
    }
  } else {
    const fallback = (await networkInForce(engine.docker, sandbox.name)).network;
    changedAt = addSessionRule(sandbox.name, list, rule, fallback).changedAt;
  }
  const live = readLiveRules(sandbox.name);
  const overriddenBy = list === 'allow' && live ? rulesInForce(live).find((r) => r.list === 'allow' && r.rule === rule && r.overriddenBy)?.overriddenBy : undefined;
  const inForceAfterMs = running && changedAt ? await waitUntilInForce(sandbox.name, changedAt, started) : undefined;
  return { sandbox: sandbox.name, running, saved, approvedFor, overriddenBy, inForceAfterMs };
}
