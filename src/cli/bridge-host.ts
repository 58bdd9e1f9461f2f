import type { SandboxEngine } from '../engine/engine.js';
import type { SandboxDetails } from '../engine/types.js';
import { BridgeUnavailable, hostSandboxBridge } from '../bridge/host.js';
import { breachExposure, guardHiddenPaths, type HidingBreach } from '../engine/hidingGuard.js';

const log = (line: string) => process.stderr.write(`${line}\n`);

/** What the user reads when the session ends because a protected path was replaced on the host. */
export function breachMessage(b: HidingBreach): string {
  const what = b.paths.map((p) => `"${p}"`).join(', ');
  const exposed = breachExposure(b);
  if (b.action === 'stopped') return `paddock: ${what} was replaced on the host, which would have made it ${exposed} in ${b.sandbox}; Paddock stopped the sandbox. Run again to continue: protection is applied at every start.`;
  return `paddock: ${what} was replaced on the host and may be ${exposed} in ${b.sandbox}: ${b.action === 'paused' ? 'Paddock paused it but could not stop it' : 'Paddock could not pause or stop it'}${b.error ? ` (${b.error})` : ''}. Stop it now: paddock stop ${b.sandbox}`;
}

/**
 * Runs `fn` (an attached agent session) with the sandbox's bridge hosted by this process, so the
 * agent's paddock-mcp has someone to talk to, and its hidden paths guarded (src/engine/hidingGuard.ts).
 * A sandbox from before the bridge existed just runs without it (with a note).
 */
export async function withBridge<T>(engine: SandboxEngine, sandbox: SandboxDetails, fn: () => Promise<T>): Promise<T> {
  const guard = guardHiddenPaths(engine, sandbox, (b) => log(`\r\n${breachMessage(b)}`));
  let close = async () => {};
  try {
    const hosted = await hostSandboxBridge(engine, sandbox.id);
    for (const note of hosted.notes) log(`note: ${note}`);
    close = hosted.close;
  } catch (err) {
    if (!(err instanceof BridgeUnavailable)) {
      guard.close();
      throw err;
    }
    log(`note: ${err.message} The MCP bridge is not available in it; recreate it (--recreate) to get it.`);
  }
  try {
    return await fn();
  } finally {
    // The session may have ended because the guard stopped the sandbox: let it say so first.
    await guard.settled();
    guard.close();
    await close();
  }
}
