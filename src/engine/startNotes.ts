import { egressNote, egressStateOf } from './egress.js';
import type { SandboxEngine } from './engine.js';
import { hidingNotesFor, NOT_HIDDEN_NOTE } from './hiding.js';
import { printable, repairSandbox } from './repair.js';
import { withSandboxLock } from './sandboxLock.js';
import { withoutStartAdvice } from './stopCause.js';

/**
 * What the user should know before a sandbox starts again: that its guard had stopped it (and
 * why), what its hide rules match now that they did not before (they are expanded again at every
 * start), and what was missing and is made again (./repair.ts). Read before the start, which would clear the first.
 * `paddock start` prints them; VS Code's Start shows them like its other notes.
 */
export async function startNotes(engine: SandboxEngine, sandbox: { readonly id: string; readonly name: string; readonly status: string }): Promise<string[]> {
  const details = await engine.get(sandbox.id);
  // What is missing of it is made again first (./repair.ts), under the lock a create of it takes.
  const notes = await withSandboxLock(details.workspace, details.agent, () => repairSandbox(engine, details));
  const stopped = sandbox.status === 'running' ? undefined : await engine.stopReason(sandbox.id);
  // The start under way is what "paddock start NAME brings it back" advises; said again there, it
  // read as a promise that a start failing for another cause (gVisor's "id already in use") then broke.
  if (stopped) notes.push(`${sandbox.name} had stopped${stopped.paths.length ? ' itself' : ''}: ${withoutStartAdvice(stopped.text, sandbox.name)}`);
  // A guard's stop for a new secret already names it and its fix: the same secret is not said twice.
  const hiding = await hidingNotesFor(engine, sandbox.id);
  notes.push(...(stopped?.paths.length ? hiding.filter((n) => !n.startsWith(NOT_HIDDEN_NOTE)) : hiding));
  const egress = egressNote(await egressStateOf(engine.docker, sandbox.name), sandbox.name);
  if (egress) notes.push(egress);
  // Notes quote what engines and processes said: bytes that are not text (a stream's frame header,
  // an escape sequence) never reach the terminal or the editor.
  return notes.map(printable);
}
