import type { SandboxEngine } from '../engine/engine.js';
import { BridgeUnavailable, hostSandboxBridge } from '../bridge/host.js';

const log = (line: string) => process.stderr.write(`${line}\n`);

/**
 * Runs `fn` (an attached agent session) with the sandbox's bridge hosted by this process, so the
 * agent's paddock-mcp has someone to talk to. A sandbox from before the bridge existed just
 * runs without it (with a note).
 */
export async function withBridge<T>(engine: SandboxEngine, sandboxId: string, fn: () => Promise<T>): Promise<T> {
  let close = async () => {};
  try {
    const hosted = await hostSandboxBridge(engine, sandboxId);
    for (const note of hosted.notes) log(`note: ${note}`);
    close = hosted.close;
  } catch (err) {
    if (!(err instanceof BridgeUnavailable)) throw err;
    log(`note: ${err.message} The MCP bridge is not available in it; recreate it (--recreate) to get it.`);
  }
  try {
    return await fn();
  } finally {
    await close();
  }
}
