import { lifecycleProgram, runProgram } from './program.js';

// `paddock exec`, the command scripts and the editor run most (bin/paddock picks this entry for
// it): the lifecycle commands alone, without the other tables' modules (a dozen files less to load).

export function main(argv: string[]): Promise<number> {
  return runProgram(lifecycleProgram(argv).program, argv);
}
