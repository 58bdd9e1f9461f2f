import type { Command } from 'commander';
import { createInterface } from 'node:readline/promises';
import { PaddockError } from '../core/errors.js';
import { shownControls } from '../core/terminalText.js';
import type { SandboxEngine } from '../engine/engine.js';
import type { SandboxRequest } from '../engine/sandboxes.js';
import type { TaskRecord, TaskState } from '../engine/tasks.js';
import { formatTable, log } from './format.js';

// Parallel tasks (src/engine/tasks.ts): the --task options of run and create, and the commands
// tasks, diff, merge and discard.

const tasksModule = () => import('../engine/tasks.js');

/** The options `run` and `create` take to work on a task instead of the workspace itself. */
export function withTaskOptions(cmd: Command): Command {
  return cmd
    .option('--task <name>', 'work on a task: its own branch, in its own folder (a clone sharing the repository\'s objects), with its own sandbox')
    .option('--base <ref>', 'with --task: the branch, tag or commit the task starts from (default: HEAD)')
    .option('--branch <name>', 'with --task: the task\'s branch (default: paddock/NAME)')
    .option('--carry-changes', 'with --task: copy the workspace\'s uncommitted changes into the task (never a hidden file)');
}

/** The request of `run`/`create`, made a task's when --task is given (the task is created or continued). */
export async function taskRequestFrom(engine: SandboxEngine, request: SandboxRequest, o: { task?: string; base?: string; branch?: string; carryChanges?: boolean }): Promise<SandboxRequest> {
  if (!o.task) {
    const stray = o.base ? '--base' : o.branch ? '--branch' : o.carryChanges ? '--carry-changes' : undefined;
    if (stray) throw new PaddockError(`${stray} applies to a task only.`, `Add --task NAME, e.g. paddock run ${request.agent} --task fix-login ${stray}${stray === '--carry-changes' ? '' : ' VALUE'}.`);
    return request;
  }
  const { request: taskRequest, created } = await (await tasksModule()).taskRequest(engine, request, { task: o.task, base: o.base, branch: o.branch, carryChanges: o.carryChanges }, (line) => log(`  ${line}`));
  if (created) {
    log(`Task ${created.task.name}: branch ${created.task.branch} from ${created.task.baseRef} in ${created.task.path}`);
    if (created.carried.length) log(`  carried ${created.carried.length} uncommitted file(s) from the workspace`);
    if (created.notCarried.length) log(`  not carried (hidden by the policy): ${created.notCarried.join(', ')}`);
    if (created.throughLinks.length) log(`  not carried (a folder on the way is a symbolic link, in the workspace or in the task's checkout): ${created.throughLinks.join(', ')}`);
  } else {
    log(`Continuing task ${o.task} in ${taskRequest.workspace}`);
  }
  return taskRequest;
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/** A diff is the sandbox's text: on a terminal, control characters are shown, not obeyed. */
function printable(text: string): string {
  return process.stdout.isTTY ? shownControls(text) : text;
}

function printTasks(tasks: readonly TaskState[], source: string, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(tasks, null, 2)}\n`);
    return;
  }
  if (!tasks.length) {
    process.stdout.write(`No tasks in ${source}. Start one with "paddock run AGENT ${source} --task NAME".\n`);
    return;
  }
  const count = (n: number | undefined) => (n === undefined ? '?' : String(n));
  process.stdout.write(formatTable(['NAME', 'AGENT', 'BRANCH', 'BASE', 'AHEAD', 'CHANGED', 'SANDBOX', 'WORKTREE'], tasks.map((t) => [
    t.name, t.agent ?? '-', t.branch, `${t.baseRef} (${t.base.slice(0, 8)})`, count(t.ahead),
    t.changedFiles === undefined ? '?' : `${t.changedFiles}${t.uncommitted ? ` (${t.uncommitted} uncommitted)` : ''}`,
    t.sandbox ? `${t.status} (${t.sandbox})` : 'none', t.path,
  ])));
}

export interface TaskCommandsContext {
  readonly engineFrom: (cmd: Command) => Promise<SandboxEngine>;
}

export function registerTaskCommands(program: Command, ctx: TaskCommandsContext): void {
  const locate = async (name: string, o: { workspace?: string }): Promise<TaskRecord> => {
    const tasks = await tasksModule();
    return tasks.findTask(await tasks.sourceOf(o.workspace ?? process.cwd()), name);
  };
  const workspaceOption = (cmd: Command) => cmd.option('-w, --workspace <folder>', 'the repository the task belongs to (default: the current folder\'s)');

  program.command('tasks')
    .description('List the tasks of a repository: branch, base, commits ahead, changed files, sandbox, folder')
    .argument('[workspace]', 'the repository (or one of its task folders; default: current folder)')
    .option('--json', 'print a JSON array')
    .action(async (workspace: string | undefined, o: any, cmd: Command) => {
      const tasks = await tasksModule();
      const source = await tasks.sourceOf(workspace ?? process.cwd());
      const engine = await ctx.engineFrom(cmd);
      await engine.ping();
      printTasks(await tasks.listTasks(engine, source), source, !!o.json);
    });

  workspaceOption(program.command('diff')
    .description('Show a task\'s changes against its base: commits, uncommitted and untracked files')
    .argument('<task>', 'task name')
    .option('--stat', 'only the files and line counts'))
    .action(async (name: string, o: any) => {
      const task = await locate(name, o);
      const text = await (await tasksModule()).taskDiff(task, { stat: !!o.stat });
      process.stdout.write(text ? printable(text) : `Task ${task.name} has no changes against ${task.baseRef} (${task.base.slice(0, 8)}).\n`);
    });

  workspaceOption(program.command('merge')
    .description('Merge a task\'s branch into the branch checked out in its repository (a conflict changes nothing)')
    .argument('<task>', 'task name')
    .option('--squash', 'one commit with all of the task\'s changes'))
    .action(async (name: string, o: any) => {
      const task = await locate(name, o);
      const outcome = await (await tasksModule()).mergeTask(task, { squash: !!o.squash });
      const left = 'uncommittedLeft' in outcome && outcome.uncommittedLeft
        ? `note: ${outcome.uncommittedLeft} uncommitted file(s) in the task were not merged; commit them in the task and merge again.` : undefined;
      if (outcome.kind === 'conflict') {
        throw new PaddockError(`Task ${task.name} conflicts with ${outcome.into} in: ${outcome.files.join(', ')}. Nothing was changed in ${task.source}.`,
          `Resolve it in the task (have its agent merge ${outcome.into} in), or merge by hand in ${task.source}: git merge ${outcome.ref}`);
      }
      if (outcome.kind === 'up-to-date') process.stdout.write(`${outcome.into} already has every commit of task ${task.name}.\n`);
      else process.stdout.write(`Merged task ${task.name} into ${outcome.into}${outcome.squash ? ' as one commit' : ''}: ${outcome.commits} commit(s), now at ${outcome.commit.slice(0, 12)}.\n`);
      if (left) log(left);
    });

  workspaceOption(program.command('discard')
    .description('Remove tasks: their sandboxes, folders and branches (refuses to lose unmerged work without --force)')
    .argument('<task...>', 'task names (several: all are checked before any is removed)')
    .option('--force', 'discard even commits no branch has, and uncommitted changes')
    .option('-y, --yes', 'do not ask'))
    .action(async (names: string[], o: any, cmd: Command) => {
      const tasks = await tasksModule();
      const found = [];
      for (const name of new Set(names)) found.push(await locate(name, o));
      const engine = await ctx.engineFrom(cmd);
      await engine.ping();
      // Every task is checked first: one that would lose work without --force stops them all, before anything is removed.
      const checked = await Promise.all(found.map(async (task) => ({ task, check: await tasks.discardCheck(engine, task) })));
      const plans = checked.map(({ task, check }) => ({
        task, check, losing: [
          check.unmerged ? `${check.unmerged} commit(s) that no branch, tag or remote of ${task.source} has` : '',
          check.uncommitted ? `${check.uncommitted} uncommitted file(s)` : '',
        ].filter(Boolean),
      }));
      const refused = o.force ? [] : plans.filter((p) => p.losing.length);
      if (refused.length) {
        const { task, check, losing } = refused[0];
        const others = refused.length > 1 ? ` (and ${refused.length - 1} more task(s) would lose work: ${refused.slice(1).map((p) => p.task.name).join(', ')})` : '';
        const nothing = plans.length > 1 ? ' Nothing was discarded.' : '';
        throw new PaddockError(`Task ${task.name} has ${losing.join(' and ')}${others}.${nothing}`, `Merge it first ("paddock merge ${task.name}"), or add --force to lose ${losing.length > 1 || check.unmerged > 1 || check.uncommitted > 1 || refused.length > 1 ? 'them' : 'it'}.`);
      }
      if (!o.yes) {
        const what = plans.map(({ task, check, losing }) => `${task.name} (${[check.sandboxes.length ? `sandbox ${check.sandboxes.join(', ')}` : '', `folder ${task.path}`, `branch ${task.branch}`, ...losing].filter(Boolean).join(', ')})`).join('; ');
        if (!process.stdin.isTTY) throw new PaddockError(`Discarding task${plans.length > 1 ? 's' : ''} ${plans.map((p) => p.task.name).join(', ')} needs a confirmation, and there is no terminal to ask.`, 'Add --yes to confirm.');
        if (!(await confirm(`Discard task${plans.length > 1 ? 's' : ''} ${what}?`))) throw new PaddockError('Nothing discarded.', 'Add --yes to confirm without a prompt.');
      }
      for (const { task, check } of plans) {
        await tasks.discardTask(engine, task);
        process.stdout.write(`Discarded task ${task.name}${check.sandboxes.length ? ` and sandbox ${check.sandboxes.join(', ')}` : ''}.\n`);
      }
    });
}
