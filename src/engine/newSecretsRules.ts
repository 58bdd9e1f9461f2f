import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type Docker from 'dockerode';
import { guardRules, guardRulesText, type GuardRule, type GuardRules } from '../core/hideGuardRules.js';
import type { MountPlan } from '../core/hiding.js';
import { bridgeRoot } from './stateFolder.js';
import type { SandboxDetails } from './types.js';

/**
 * Secrets that appear while a sandbox runs (issue 12 §4; README "Secrets that appear later").
 * A path that did not exist at create has no mount over it, and nothing can add one to a running
 * container. So every sandbox's init gets its hide rules (this mount: read-only, from the host's
 * state folder, where the sandbox cannot write) and watches the workspace for new paths that match
 * them; the moment one appears it freezes every process and stops the sandbox
 * (templates/base/paddock-init, watch_new_secrets). A host process that serves the sandbox then
 * applies (a new container with the path hidden, its state kept) and starts it again
 * (./hidingGuard.ts, ./newSecrets.ts).
 */

/** Where the init finds the rules: a folder, so the mount point is not a file Docker makes in /run. */
export const SANDBOX_HIDE_RULES_DIR = '/run/paddock-hide';

/** The host folder of a rules text: named by its hash, so sandboxes with the same rules share it and it never changes. */
function rulesFolder(text: string, root = bridgeRoot()): string {
  return join(dirname(root), 'hide-rules', createHash('sha256').update(text).digest('hex').slice(0, 16));
}

/** The read-only mount of the plan's hide rules for the init's guard (none for a plan made without them). */
export function hideRulesMount(plan: MountPlan): Docker.MountConfig[number] | undefined {
  if (!plan.hideRules) return undefined;
  const text = guardRulesText(guardRules(plan.hideRules.hide, plan.hideRules.caseInsensitive));
  const folder = rulesFolder(text);
  const file = join(folder, 'rules');
  if (!existsSync(file)) {
    mkdirSync(folder, { recursive: true, mode: 0o755 });
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, text, { mode: 0o644 });
    renameSync(temporary, file);
  }
  return { Type: 'bind', Source: folder, Target: SANDBOX_HIDE_RULES_DIR, ReadOnly: true } as Docker.MountConfig[number];
}

/** The rules a sandbox was created with (what its init watches for), read back from its mount; undefined for one made before them. */
export function rulesOf(details: SandboxDetails): GuardRules | undefined {
  const mount = details.mounts.find((m) => m.target === SANDBOX_HIDE_RULES_DIR);
  if (!mount?.source) return undefined;
  let text: string;
  try {
    text = readFileSync(join(mount.source, 'rules'), 'utf8');
  } catch {
    return undefined;
  }
  const rules: GuardRule[] = [];
  let caseInsensitive = false;
  for (const line of text.split('\n')) {
    const [kind, ere, pattern] = line.split('\t');
    if (kind === 'nocase') caseInsensitive = ere === '1';
    else if ((kind === '+' || kind === '-') && ere) rules.push({ positive: kind === '+', ere, pattern: pattern ?? ere });
  }
  return { rules, caseInsensitive, skipped: [] };
}
