import type { EndpointInputs } from '../engine/connection.js';
import type { ExecTarget } from '../engine/sandboxClient.js';
import { writeExecNotes } from './execNotes.js';
import { lifecycleProgram, reportFailure, runProgram } from './program.js';

// `paddock exec`, the command scripts and the editor run most (bin/paddock picks this entry for
// it): the lifecycle commands alone, without the other tables' modules (a dozen files less to load).
// bin/paddock tries the fast path first (./execFast.ts); what it leaves to this entry is below.

export function main(argv: string[]): Promise<number> {
  return runProgram(lifecycleProgram(argv).program, argv);
}

/**
 * The end of a command the fast path ran, when it failed: the notes of a failed command
 * (./execNotes.ts), or why its connection broke, as this entry says them.
 */
export async function finishFastExec(inputs: EndpointInputs, sandbox: ExecTarget, outcome: { code: number } | { error: unknown }): Promise<number> {
  const client = (await import('../engine/sandboxClient.js')).connectClient(inputs);
  if ('error' in outcome) return reportFailure(outcome.error, client);
  await writeExecNotes(client, sandbox, outcome.code).catch(() => undefined);
  return outcome.code;
}
