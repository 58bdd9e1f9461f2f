import type { Command } from 'commander';
import type { EarlyCheck } from '../engine/verify.js';
import { registerBridgeCommands } from './bridge.js';
import { registerImageCommands } from './images.js';
import { registerNetworkCommands } from './network.js';
import { registerHidingCommands } from './policy.js';
import { lifecycleProgram, runProgram } from './program.js';
import { registerTaskCommands } from './tasks.js';

// The `paddock` command with all its commands: the lifecycle ones (program.ts, lifecycle.ts), and
// those of policy.ts, bridge.ts, network.ts and tasks.ts. `paddock exec` starts from main-exec.ts instead.

export function buildProgram(argv: readonly string[] = process.argv, earlyCheck?: EarlyCheck): Command {
  const { program, engineFrom, resolveSandbox } = lifecycleProgram(argv, earlyCheck);
  registerHidingCommands(program, { engineFrom, resolveSandbox });
  registerBridgeCommands(program, { engineFrom, resolveSandbox });
  registerNetworkCommands(program, { engineFrom, resolveSandbox });
  registerTaskCommands(program, { engineFrom });
  registerImageCommands(program, { engineFrom });
  return program;
}

/** `earlyCheck`: `paddock run`'s check of a running sandbox, started by bin/paddock before this entry loaded (./runEarly.ts). */
export function main(argv: string[], earlyCheck?: EarlyCheck): Promise<number> {
  return runProgram(buildProgram(argv, earlyCheck), argv);
}
