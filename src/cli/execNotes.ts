import type { ExecTarget, SandboxClient } from '../engine/sandboxClient.js';

/**
 * After a command in a sandbox failed, what the user should know on stderr: the kernel's memory
 * kill for a SIGKILL (137), or a replaced workspace, a removed proxy (../engine/repair.ts).
 */
export async function writeExecNotes(engine: SandboxClient, sandbox: ExecTarget, code: number): Promise<void> {
  if (code === 0) return;
  // SIGKILL: the OOM killer, or the sandbox stopped under the command (its guard's words first, ../engine/sandboxClient.ts stopReason).
  const killed = code === 137 ? (await engine.stopReason(sandbox.id, sandbox).catch(() => undefined))?.text : undefined;
  if (killed) process.stderr.write(`paddock: ${killed}\n`);
  const failed = killed ? undefined : await (await import('../engine/repair.js')).execFailureNote(engine, sandbox, code);
  if (failed) process.stderr.write(`paddock: ${failed}\n`);
}
