import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Policy } from '../core/policy.js';
import type { SandboxEngine } from '../engine/engine.js';
import type { SandboxDetails } from '../engine/types.js';
import { BridgeUnavailable, hostSandboxBridge, type HostedBridge } from '../bridge/host.js';
import { approvedFile, policyInForce, readApprovedPolicy } from '../engine/approvedPolicy.js';
import { breachExposure, guardHiddenPaths, protectedAgainMessage, type HidingBreach } from '../engine/hidingGuard.js';
import { readQuestions } from '../engine/networkQuestions.js';
import type { Writable } from 'node:stream';
import { followQuestions, SessionNotices } from './sessionNotices.js';
import { log } from './format.js';


/** The end of a resume's message when `paddock run` starts the agent again in the new container. */
export const AGENT_STARTS_AGAIN = 'The agent starts again in it (its home is kept: sign-in, history, config).';

/**
 * What the user reads when the session ends because a protected path was replaced on the host
 * (`reattach`: the caller starts the agent again in the resumed sandbox).
 */
export function breachMessage(b: HidingBreach, reattach = false): string {
  const what = b.paths.map((p) => `"${p}"`).join(', ');
  const exposed = breachExposure(b);
  if (b.cause === 'appeared' || b.action === 'resumed') return protectedAgainMessage(b, undefined, reattach && b.action === 'resumed' && b.resumed ? AGENT_STARTS_AGAIN : undefined);
  if (b.action === 'stopped') return `paddock: ${what} was replaced on the host, which would have made it ${exposed} in ${b.sandbox}; Paddock stopped the sandbox. Run again to continue: protection is applied at every start.`;
  return `paddock: ${what} was replaced on the host and may be ${exposed} in ${b.sandbox}: ${b.action === 'paused' ? 'Paddock paused it but could not stop it' : 'Paddock could not pause or stop it'}${b.error ? ` (${b.error})` : ''}. Stop it now: paddock stop ${b.sandbox}`;
}

/** What an attached session passes to the agent's exec: its output goes through `stdout` (see SessionNotices). */
export interface AgentSession {
  readonly stdout: Writable;
}

export interface BridgeOptions {
  /**
   * The guard resumed the sandbox (a new container, state kept) after the session's container was
   * ended: the caller starts the agent again in `sandbox` (the message says so instead of "run it again").
   */
  readonly onResumed?: (sandbox: SandboxDetails) => void;
}

/**
 * Runs `fn` (an attached agent session) with the sandbox's bridge hosted by this process, so the
 * agent's paddock-mcp has someone to talk to, and its hidden paths guarded (src/engine/hidingGuard.ts).
 * Questions about unknown hosts and the bridge following a new policy are said in the terminal
 * without breaking the agent's screen (./sessionNotices.ts).
 * A sandbox from before the bridge existed just runs without it (with a note).
 */
export async function withBridge<T>(engine: SandboxEngine, sandbox: SandboxDetails, fn: (session: AgentSession) => Promise<T>, options: BridgeOptions = {}): Promise<T> {
  const notices = new SessionNotices(!!(process.stdin.isTTY && process.stdout.isTTY && process.stderr.isTTY));
  const say = (line: string, again?: boolean) => notices.say(line, again);
  // After a breach the guard applies (state kept) and starts the sandbox again; its steps are said here (\r: the terminal may still be raw).
  const guard = guardHiddenPaths(engine, sandbox, (b) => {
    log(`\r\n${breachMessage(b, !!options.onResumed)}`);
    if (b.action === 'resumed' && b.resumed) options.onResumed?.(b.resumed.sandbox);
  }, { resume: true, onProgress: (line) => { if (/^(Applying|Saving|Starting)/.test(line)) log(`\r  ${line}\r`); } });
  let close = async () => {};
  try {
    const hosted = await hostFollowingPolicy(engine, sandbox, { say });
    for (const note of hosted.first.notes) log(`note: ${note}`);
    close = hosted.close;
  } catch (err) {
    if (!(err instanceof BridgeUnavailable)) {
      guard.close();
      throw err;
    }
    log(`note: ${err.message} The MCP bridge is not available in it; "paddock apply ${sandbox.name}" gives it one (its state is kept).`);
  }
  const questions = followQuestions(() => readQuestions(sandbox.name), say, notices.interactive);
  let open: string[] = [];
  try {
    return await fn({ stdout: notices.stdout });
  } finally {
    open = questions.close();
    // The session may have ended because the guard stopped the sandbox: let it say so first.
    await guard.settled();
    guard.close();
    await close();
    notices.close();
    // The overlay may have been drawn over: what still waits for an answer, as plain lines.
    if (notices.interactive) for (const line of open) log(line);
  }
}

/** The parts of a policy the bridge is built from: its rules, the tier, and the hide rules (what it masks). */
function bridgeRulesKey(policy: Policy): string {
  return JSON.stringify([policy.bridge, policy.tier, policy.hide]);
}

export interface FollowingBridge {
  /** The hosting (its notes; `hosting` false when another process hosts the bridge). */
  readonly first: HostedBridge;
  close(): Promise<void>;
}

/**
 * Hosts the sandbox's bridge and, while it runs, gives it the new rules whenever the user approves a
 * policy whose bridge, tier or hide rules differ (`paddock policy apply`, a save in VS Code): the
 * approval record is written only by those user acts, in the sandbox's host folder where the
 * sandbox cannot write, so a policy file the sandbox wrote changes nothing here. Open sessions
 * follow at once (no restart: no call of the agent fails). When another process hosts the bridge,
 * that one follows the policy and this one does nothing.
 */
export async function hostFollowingPolicy(engine: SandboxEngine, sandbox: SandboxDetails, events: { say: (line: string) => void }): Promise<FollowingBridge> {
  const inForce = policyInForce(sandbox);
  let key = bridgeRulesKey(inForce.policy);
  const hosted = await hostSandboxBridge(engine, sandbox, { inForce });
  if (!hosted.hosting) return { first: hosted, close: hosted.close };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const follow = () => {
    const inForce = policyInForce(sandbox);
    const next = bridgeRulesKey(inForce.policy);
    if (next === key) return;
    key = next;
    hosted.setPolicy(inForce.policy);
    const by = readApprovedPolicy(sandbox.name)?.source === 'editor' ? 'saved in VS Code' : '"paddock policy apply"';
    events.say(`paddock: the bridge of ${sandbox.name} now uses the policy ${inForce.hash} (${by}).`);
  };
  const file = approvedFile(sandbox.name);
  let watcher: FSWatcher | undefined;
  try {
    // The folder, not the file: the record is replaced by a rename.
    watcher = watch(dirname(file), (_event, name) => {
      if (name !== basename(file)) return;
      clearTimeout(timer);
      // One approval writes the file once; settle in case a writer does more.
      timer = setTimeout(follow, 100);
    });
    watcher.on('error', () => {});
  } catch (err) {
    events.say(`note: the bridge of ${sandbox.name} cannot watch for policy changes (${err instanceof Error ? err.message : String(err)}): a changed policy applies to it from the next "paddock run".`);
  }
  return {
    first: hosted,
    close: async () => {
      clearTimeout(timer);
      watcher?.close();
      await hosted.close();
    },
  };
}
