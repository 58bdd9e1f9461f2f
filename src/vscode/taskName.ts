// The check of a new task's name as the editor asks for it. Pure (no `vscode` import); apart from
// taskModel.ts, which the light activation bundle loads, because it uses the engine's rule.
import { checkTaskName } from '../engine/tasks.js';

/** Why a new task's name cannot be used (the CLI's rule, and not a task of the repository yet), or undefined. */
export function taskNameProblem(name: string, taken: Iterable<string>): string | undefined {
  if (!name) return 'Name the task (it names a folder, a branch and a sandbox).';
  try {
    checkTaskName(name);
  } catch (err) {
    const e = err as { message: string; hint?: string };
    return `${e.message} ${e.hint ?? ''}`.trim();
  }
  for (const t of taken) if (t === name) return `The repository has a task "${name}" already: continue it from the Sandboxes view, or choose another name.`;
  return undefined;
}
