// What the task tests share: a state folder of their own (tasks, git identity), git run with it,
// and the removal of a repository's task sandboxes after a run.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup, engine } from '../../support/sandbox.js';

export interface TaskTestState {
  /** The test's own folder: its tasks live in tasks/, its git identity in gitconfig. */
  readonly state: string;
  readonly tasksDir: string;
  /** The CLI's and git's environment: PADDOCK_TASKS_DIR and a global git config of the test's own. */
  readonly env: NodeJS.ProcessEnv;
  /** git in a folder; throws with git's message when it fails. */
  git(args: readonly string[], cwd: string): string;
  /** Removes the repository's task sandboxes (only those: other tests may run), the repository and the state folder. */
  removeAll(workspace: string | undefined): Promise<void>;
}

export function taskTestState(prefix: string): TaskTestState {
  const state = mkdtempSync(join(tmpdir(), prefix));
  const gitconfig = join(state, 'gitconfig');
  // The user's git identity and (as root, with a workspace of uid 1000) safe.directory.
  writeFileSync(gitconfig, '[user]\n\tname = Paddock Test\n\temail = paddock-test@example.invalid\n[safe]\n\tdirectory = *\n[init]\n\tdefaultBranch = main\n');
  const tasksDir = join(state, 'tasks');
  const env = { ...process.env, GIT_CONFIG_GLOBAL: gitconfig, PADDOCK_TASKS_DIR: tasksDir };
  return {
    state, tasksDir, env,
    git(args, cwd) {
      const r = spawnSync('git', args, { cwd, env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
      return r.stdout.trim();
    },
    async removeAll(workspace) {
      if (workspace) {
        const e = engine();
        for (const c of await e.docker.listContainers({ all: true, filters: { label: [`dev.paddock.task-source=${workspace}`] } })) await e.remove(c.Id).catch(() => {});
        await cleanup(workspace);
      }
      rmSync(state, { recursive: true, force: true });
    },
  };
}
