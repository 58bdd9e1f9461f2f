import { shortHash } from './naming.js';
import type { Policy } from './policy.js';

/** On a sandbox: the hash of the policy sections only a new container changes (containerPolicyHash). */
export const CONTAINER_POLICY_LABEL = 'dev.paddock.container-policy-hash';

/**
 * The policy sections that are fixed in the container (hide rules, the cage, env, limits, ports):
 * a change to them needs an apply. Network and bridge rules apply live and are left out.
 */
export function containerPolicyHash(policy: Pick<Policy, 'hide' | 'readOnly' | 'env' | 'resources' | 'ports'>): string {
  const sorted = (o: Readonly<Record<string, unknown>>) => Object.keys(o).sort().map((k) => [k, o[k]]);
  return shortHash(JSON.stringify([policy.hide, policy.readOnly, sorted(policy.env), sorted(policy.resources), policy.ports]), 16);
}

/**
 * Whether a sandbox's container was made from other container sections than `policy` has. Sandboxes
 * made before the container label compare the whole policy's hash (`wholeHash`).
 */
export function containerSectionsChanged(created: { readonly containerPolicyHash?: string; readonly policyHash?: string }, policy: Policy, wholeHash: string): boolean {
  if (created.containerPolicyHash) return created.containerPolicyHash !== containerPolicyHash(policy);
  return !!created.policyHash && created.policyHash !== wholeHash;
}
