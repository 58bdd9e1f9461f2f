import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { liveRulesFrom, mergeLiveRules, parseLiveRules, withBase, withSessionRule, type LiveRules } from '../core/liveRules.js';
import type { Policy } from '../core/policy.js';
import { parseEgressLog, readNewLines } from '../proxy/log.js';
import { inspectOrUndefined } from './docker.js';
import { checkNetworkPolicy, EGRESS_LABELS, egressNames, enforcedNetworkOf, sharedEgressOf } from './egress.js';
import { egressPaths } from './egressFiles.js';
import { hostPackageSources, packageSourceRules } from './packageSources.js';
import { writeSecretFile } from './stateFolder.js';

/**
 * The host side of a sandbox's live network rules (the format: src/core/liveRules.ts). The file is
 * in the proxy's keys folder (0700, mounted read-only into the proxy, never into the sandbox), so
 * nothing the sandbox writes reaches it; it is only written here, atomically (a temporary file
 * renamed into place), from user actions: create, an approved policy, `paddock network allow|deny`.
 */

/** The file on the host; the proxy sees it as PADDOCK_EGRESS_RULES (its keys folder, see ./egress.ts). */
export function liveRulesFile(sandbox: string): string {
  return join(egressPaths(sandbox).keysDir, 'rules.json');
}

/** The sandbox's live rules as the host last wrote them; undefined when there is no file (or no proxy folder). */
export function readLiveRules(sandbox: string): LiveRules | undefined {
  const file = liveRulesFile(sandbox);
  if (!existsSync(file)) return undefined;
  try {
    return parseLiveRules(readFileSync(file, 'utf8'));
  } catch {
    return undefined; // never written so by the host: the next write replaces it
  }
}

/** Writes the rules when the sandbox has a proxy folder; false when it has none (no proxy, or removed). */
export function writeLiveRules(sandbox: string, rules: LiveRules): boolean {
  if (!existsSync(egressPaths(sandbox).keysDir)) return false;
  writeSecretFile(liveRulesFile(sandbox), `${JSON.stringify(rules, null, 2)}\n`);
  return true;
}

type NetworkSection = Pick<Policy['network'], 'policy' | 'allow' | 'deny'> & Partial<Pick<Policy['network'], 'ask' | 'askHoldSeconds'>>;

/** At create: the policy's network section and the registries added to it, kept apart (the session part is empty). */
export function writeCreatedRules(sandbox: string, network: NetworkSection, registries: readonly string[]): boolean {
  return writeLiveRules(sandbox, liveRulesFrom(network, registries, 'create'));
}

/**
 * Puts an approved policy's network section in force for a sandbox (running or not: a stopped
 * proxy reads it when it starts). The machine's package registries are added when the policy's
 * hostRegistries is on: the ones found at create are kept, and read from the machine when there are none.
 * The session part is kept.
 */
export async function pushApprovedNetwork(sandbox: string, network: Policy['network'], source: string): Promise<{ written: boolean; rules?: LiveRules }> {
  checkNetworkPolicy(network); // a bad rule is refused here, with its place, before anything is written
  if (!existsSync(egressPaths(sandbox).keysDir)) return { written: false };
  const current = readLiveRules(sandbox);
  let registries: readonly string[] = [];
  if (network.hostRegistries) registries = current?.base.registries.length ? current.base.registries : packageSourceRules(await hostPackageSources());
  const rules = withBase(current, network, registries, source);
  return { written: writeLiveRules(sandbox, rules), rules };
}

/** Adds a rule for this run of the sandbox only. Needs the rules file (created with the sandbox, or by an earlier push). */
export function addSessionRule(sandbox: string, list: 'allow' | 'deny', rule: string, fallback: NetworkSection): LiveRules {
  const current = readLiveRules(sandbox) ?? liveRulesFrom(fallback, [], 'create');
  const next = withSessionRule(current, list, rule, `network ${list} (this run)`);
  writeLiveRules(sandbox, next);
  return next;
}

/** "Deny all others": no more questions about unknown hosts from this sandbox until it stops (they are refused). */
export function setSessionQuiet(sandbox: string, fallback: NetworkSection): LiveRules {
  const current = readLiveRules(sandbox) ?? liveRulesFrom(fallback, [], 'create');
  const next: LiveRules = { ...current, session: { ...current.session, quiet: true }, changedAt: new Date().toISOString(), source: 'deny all others (this run)' };
  writeLiveRules(sandbox, next);
  return next;
}

/** At each start of a stopped sandbox: session rules are for one run only. */
export function clearSessionRules(sandbox: string): void {
  const current = readLiveRules(sandbox);
  if (!current || (!current.session.allow.length && !current.session.deny.length && !current.session.quiet)) return;
  writeLiveRules(sandbox, { ...current, session: { allow: [], deny: [] }, changedAt: new Date().toISOString(), source: 'start (session rules cleared)' });
}

/** Whether the sandbox's proxy follows a live rules file (proxies made before it keep their create-time rules). */
export async function proxyFollowsLiveRules(docker: Docker, sandbox: string): Promise<boolean> {
  if (await sharedEgressOf(docker, sandbox)) return true; // the shared service follows every sandbox's file
  const info = await inspectOrUndefined(docker.getContainer(egressNames(sandbox).proxy));
  return info?.Config.Labels?.[EGRESS_LABELS.for] === sandbox && !!info.Config.Env?.some((e) => e.startsWith('PADDOCK_EGRESS_RULES='));
}

/** The rules the sandbox's proxy enforces: the live file when its proxy follows one, else the ones it was created with. */
export async function networkInForce(docker: Docker, sandbox: string): Promise<{ network: NetworkSection; live?: LiveRules }> {
  const live = (await proxyFollowsLiveRules(docker, sandbox)) ? readLiveRules(sandbox) : undefined;
  if (live) return { network: mergeLiveRules(live), live };
  return { network: await enforcedNetworkOf(docker, sandbox) };
}

/**
 * Waits until the proxy logs that the rules written at `changedAt` are in force (it logs every
 * change it applies). Returns the milliseconds from `since`, or undefined when the proxy did not
 * confirm in time (stopped, or refused the file: the log then says why).
 */
export async function waitUntilInForce(sandbox: string, changedAt: string, since: number, timeoutMs = 3000): Promise<number | undefined> {
  const log = egressPaths(sandbox).log;
  // Only the log's end can hold it (a line cut in half there is skipped by the parser).
  let cursor: ReturnType<typeof readNewLines>['next'] = { offset: existsSync(log) ? Math.max(0, statSync(log).size - 256 * 1024) : 0 };
  for (;;) {
    const next = readNewLines(log, cursor);
    cursor = next.next;
    if (parseEgressLog(next.text).some((e) => e.decision === 'rules' && e.change?.changedAt === changedAt)) return Date.now() - since;
    if (Date.now() - since > timeoutMs) return undefined;
    await new Promise((r) => setTimeout(r, 20));
  }
}
