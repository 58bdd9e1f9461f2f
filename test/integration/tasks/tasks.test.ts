// Parallel tasks through the real CLI, the real engine and real git: two tasks of one repository side
// by side, each agent (the shell agent, driven by exec) committing in its own sandbox; tasks, diff,
// merge (clean, conflicting, refused on a dirty workspace), discard; hiding and the cage seen from
// inside a task's sandbox.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { engine, makeWorkspace, OWNER, paddock, paddockOk } from '../../support/sandbox.js';
import { taskTestState } from './taskRepo.js';

const asRoot = process.getuid?.() === 0;

describe('parallel tasks of one repository', () => {
  const { state, env, ...test } = taskTestState('paddock-tasks-test-');
  const run = (args: string[]) => paddock(args, { env });
  const ok = (args: string[]) => paddockOk(args, { env });
  let ws: string;
  let initial: string;
  const sandboxOf: Record<string, string> = {};
  const pathOf: Record<string, string> = {};

  const git = (args: string[], cwd = ws) => test.git(args, cwd);
  const inTask = (task: string, script: string) => run(['exec', sandboxOf[task], '--', 'sh', '-c', script]);
  const tasksJson = async () => JSON.parse((await ok(['tasks', ws, '--json'])).stdout) as any[];

  before(async () => {
    ws = makeWorkspace({ 'README.md': '# project\n', 'shared.txt': 'line one\n', '.env': 'API_TOKEN=tracked-secret-value\n' });
    git(['init', '-q']);
    git(['add', '-A']);
    git(['commit', '-qm', 'initial']);
    initial = git(['rev-parse', 'HEAD']);
    if (asRoot) spawnSync('chown', ['-R', `${OWNER.uid}:${OWNER.gid}`, ws]);
    for (const task of ['alpha', 'beta']) {
      const created = await ok(['create', 'shell', ws, '--task', task]);
      sandboxOf[task] = created.stdout.trim();
    }
    for (const t of await tasksJson()) pathOf[t.name] = t.path;
  });

  after(() => test.removeAll(ws));

  it('gives each task its own folder outside the workspace, at the same path inside its sandbox, with git working there', async () => {
    assert.deepEqual(Object.keys(pathOf).sort(), ['alpha', 'beta']);
    for (const task of ['alpha', 'beta']) {
      assert.ok(pathOf[task].startsWith(join(state, 'tasks')) && !pathOf[task].startsWith(ws), pathOf[task]);
      assert.equal((await inTask(task, 'pwd')).stdout.trim(), pathOf[task]);
      assert.equal((await inTask(task, 'git branch --show-current')).stdout.trim(), `paddock/${task}`);
    }
    const alpha = await inTask('alpha', 'echo "line one, alpha" > shared.txt && echo alpha > alpha.txt && git add -A && git commit -qm "alpha work" && git log --format=%s -1 && git status --porcelain');
    assert.equal(alpha.code, 0, alpha.stderr);
    assert.equal(alpha.stdout, 'alpha work\n'); // committed, and nothing left over (the hidden .env does not show as changed)
    const beta = await inTask('beta', 'echo beta > beta.txt && git add beta.txt && git commit -qm "beta work"');
    assert.equal(beta.code, 0, beta.stderr);
    // The main workspace is untouched until a merge.
    assert.equal(existsSync(join(ws, 'alpha.txt')) || existsSync(join(ws, 'beta.txt')), false);
  });

  it('lists both tasks with agent, branch, base, commits ahead, changed files, sandbox and folder', async () => {
    const tasks = await tasksJson();
    const byName = Object.fromEntries(tasks.map((t) => [t.name, t]));
    assert.equal(byName.alpha.ahead, 1);
    assert.equal(byName.alpha.changedFiles, 2);
    assert.equal(byName.beta.ahead, 1);
    assert.equal(byName.beta.changedFiles, 1);
    for (const t of tasks) {
      assert.equal(t.agent, 'shell');
      assert.equal(t.status, 'running');
      assert.equal(t.base, initial);
      assert.equal(t.baseRef, 'main');
      assert.equal(t.sandbox, sandboxOf[t.name]);
    }
    const table = (await ok(['tasks', ws])).stdout;
    assert.match(table, /alpha\s+shell\s+paddock\/alpha\s+main \(\w{8}\)\s+1\s+2\s+running/);
  });

  it('shows each task\'s own changes in diff', async () => {
    const alpha = (await ok(['diff', 'alpha', '-w', ws])).stdout;
    assert.match(alpha, /\+line one, alpha/);
    assert.match(alpha, /alpha\.txt/);
    assert.doesNotMatch(alpha, /beta/);
    const stat = (await ok(['diff', 'beta', '--stat', '-w', ws])).stdout;
    assert.match(stat, /beta\.txt \| 1 \+/);
    // Uncommitted and untracked work counts too; run from the task's own folder, the task is found.
    await inTask('beta', 'echo draft > draft.txt');
    const fromTask = await paddockOk(['diff', 'beta', '--stat'], { env, cwd: pathOf.beta });
    assert.match(fromTask.stdout, /draft\.txt/);
    await inTask('beta', 'rm draft.txt');
  });

  it('hides a tracked secret inside the task\'s sandbox, which the fresh folder does contain', async () => {
    assert.equal(readFileSync(join(pathOf.alpha, '.env'), 'utf8'), 'API_TOKEN=tracked-secret-value\n');
    const read = await inTask('alpha', 'cat .env; echo "[end]"');
    assert.equal(read.stdout, '[end]\n');
  });

  it('cannot write the main repository (hooks, config, objects, refs) or reach another task from inside a task', async () => {
    const mainGit = join(ws, '.git');
    const before = git(['rev-parse', 'refs/heads/main']);
    const betaBefore = git(['rev-parse', 'refs/heads/paddock/beta'], pathOf.beta);
    const attempts = [
      `echo '#!/bin/sh' > ${mainGit}/hooks/post-merge`,
      `echo '[core] fsmonitor = evil' >> ${mainGit}/config`,
      `touch ${mainGit}/objects/planted`,
      `git --git-dir=${mainGit} update-ref refs/heads/main HEAD`,
      `echo HEAD > ${mainGit}/refs/heads/main`,
      `ls ${pathOf.beta}`,
      `git --git-dir=${pathOf.beta}/.git update-ref refs/heads/paddock/beta HEAD`,
      // The task's own hooks and config are the cage too (the host's git runs them).
      'echo "#!/bin/sh" > .git/hooks/post-checkout',
      'echo "[core] fsmonitor = evil" >> .git/config',
    ];
    for (const attempt of attempts) {
      const r = await inTask('alpha', attempt);
      assert.notEqual(r.code, 0, `succeeded from inside: ${attempt}`);
    }
    assert.equal(existsSync(join(mainGit, 'hooks', 'post-merge')), false);
    assert.doesNotMatch(readFileSync(join(mainGit, 'config'), 'utf8'), /evil/);
    assert.equal(git(['rev-parse', 'refs/heads/main']), before);
    assert.equal(git(['rev-parse', 'refs/heads/paddock/beta'], pathOf.beta), betaBefore);
  });

  it('runs nothing a task planted when the host reads the task (a commondir pointing at another config)', async () => {
    const marker = join(state, 'planted-ran');
    // Planted from the host side with the task's sandbox stopped: a running sandbox's guard moves a new
    // commondir aside at once (hiding/git-redirect.test.ts); this is about what is left for Paddock's
    // own git commands, e.g. one written in the guard's reaction time or by an image without inotifywait.
    await ok(['stop', sandboxOf.alpha]);
    const planted = spawnSync('sh', ['-c', `mkdir -p evil && cp -r .git/refs .git/HEAD evil/ && ln -s ${pathOf.alpha}/.git/objects evil/objects && printf '[core]\\n\\trepositoryformatversion = 0\\n\\tfsmonitor = "touch ${marker}; false"\\n' > evil/config && echo ../evil > .git/commondir`], { cwd: pathOf.alpha, encoding: 'utf8' });
    assert.equal(planted.status, 0, planted.stderr);
    try {
      // Control: git finding the folder by itself does run it.
      const control = spawnSync('git', ['status'], { cwd: pathOf.alpha, env, encoding: 'utf8' });
      assert.equal(existsSync(marker), true, `the planted config is not live; the test proves nothing: ${control.stderr}`);
      rmSync(marker);
      await ok(['tasks', ws]);
      await ok(['diff', 'alpha', '-w', ws]);
      assert.equal(existsSync(marker), false, 'the planted fsmonitor ran on the host');
    } finally {
      rmSync(join(pathOf.alpha, 'evil'), { recursive: true, force: true });
      rmSync(join(pathOf.alpha, '.git', 'commondir'), { force: true });
      await ok(['start', sandboxOf.alpha]);
    }
  });

  it('runs none of the user\'s own git filters on what a task wrote (its .gitattributes naming one)', async () => {
    // The user's global config defines a filter, as git-lfs or git-crypt do; the task can name it for its files.
    const marker = join(state, 'user-filter-ran');
    appendFileSync(join(state, 'gitconfig'), `[filter "userfilter"]\n\tclean = "touch ${marker}; cat"\n\tsmudge = cat\n`);
    const planted = await inTask('alpha', 'echo "*.dat filter=userfilter" > .gitattributes && echo data > notes.dat && echo "line one, alpha, again" > shared.txt');
    assert.equal(planted.code, 0, planted.stderr);
    try {
      // Control: the host's git in the task's folder does run it.
      spawnSync('git', ['hash-object', '--path=notes.dat', 'notes.dat'], { cwd: pathOf.alpha, env, encoding: 'utf8' });
      assert.equal(existsSync(marker), true, 'the filter is not live; the test proves nothing');
      rmSync(marker);
      await ok(['tasks', ws]);
      const diff = await ok(['diff', 'alpha', '-w', ws]);
      assert.match(diff.stdout, /notes\.dat/, 'the task\'s file still shows in its diff');
      assert.equal(existsSync(marker), false, 'the user\'s filter ran on the task\'s files');
    } finally {
      await inTask('alpha', 'rm -f .gitattributes notes.dat && git checkout -q -- shared.txt');
    }
  });

  it('merges both tasks into the branch checked out in the workspace', async () => {
    const alpha = await ok(['merge', 'alpha', '-w', ws]);
    assert.match(alpha.stdout, /Merged task alpha into main/);
    const beta = await ok(['merge', 'beta', '--squash', '-w', ws]);
    assert.match(beta.stdout, /as one commit/);
    assert.equal(readFileSync(join(ws, 'alpha.txt'), 'utf8'), 'alpha\n');
    assert.equal(readFileSync(join(ws, 'beta.txt'), 'utf8'), 'beta\n');
    assert.equal(git(['status', '--porcelain']), '');
  });

  it('reports a conflicting task and leaves the workspace as it was', async () => {
    const gamma = await ok(['create', 'shell', ws, '--task', 'gamma', '--base', initial]);
    sandboxOf.gamma = gamma.stdout.trim();
    const edit = await inTask('gamma', 'echo "line one, gamma" > shared.txt && git commit -qam "gamma work"');
    assert.equal(edit.code, 0, edit.stderr);
    const head = git(['rev-parse', 'HEAD']);
    const merge = await run(['merge', 'gamma', '-w', ws]);
    assert.equal(merge.code, 1);
    assert.match(merge.stderr, /conflicts with main in: shared\.txt\. Nothing was changed/);
    assert.equal(git(['rev-parse', 'HEAD']), head);
    assert.equal(git(['status', '--porcelain']), '');
    assert.equal(existsSync(join(ws, '.git', 'MERGE_HEAD')), false);
    assert.equal(readFileSync(join(ws, 'shared.txt'), 'utf8'), 'line one, alpha\n');
  });

  it('refuses to merge into a workspace with uncommitted changes, and says how to go on', async () => {
    writeFileSync(join(ws, 'README.md'), '# edited\n');
    try {
      const r = await run(['merge', 'gamma', '-w', ws]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /has uncommitted changes/);
      assert.match(r.stderr, /Commit or stash them/);
    } finally {
      git(['checkout', '--', 'README.md']);
    }
  });

  it('refuses to discard unmerged work without --force, and discards it with --force', async () => {
    const noTerminal = await run(['discard', 'alpha', '-w', ws]);
    assert.equal(noTerminal.code, 1);
    assert.match(noTerminal.stderr, /needs a confirmation.*\n.*--yes/);
    const refused = await run(['discard', 'gamma', '--yes', '-w', ws]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /1 commit\(s\) that no branch, tag or remote .* has/);
    assert.ok(existsSync(pathOf.alpha));
    const forced = await ok(['discard', 'gamma', '--force', '--yes', '-w', ws]);
    assert.match(forced.stdout, /Discarded task gamma and sandbox/);
    // Merged work (a merge and a squash merge) goes without --force.
    await ok(['discard', 'alpha', '--yes', '-w', ws]);
    await ok(['discard', 'beta', '--yes', '-w', ws]);
    assert.deepEqual(await tasksJson(), []);
    for (const task of ['alpha', 'beta']) assert.equal(existsSync(pathOf[task]), false);
    const e = engine();
    for (const name of Object.values(sandboxOf)) assert.equal(await e.exists(name), false, name);
    assert.equal(git(['for-each-ref', 'refs/paddock']), '');
  });

  it('carries uncommitted changes into a new task, but never a hidden file', async () => {
    writeFileSync(join(ws, 'README.md'), '# work in progress\n');
    writeFileSync(join(ws, 'notes.txt'), 'untracked notes\n');
    writeFileSync(join(ws, '.env.local'), 'LOCAL_TOKEN=untracked-secret\n');
    try {
      const created = await run(['create', 'shell', ws, '--task', 'carry', '--carry-changes']);
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stderr, /not carried \(hidden by the policy\): \.env\.local/);
      const path = (await tasksJson()).find((t) => t.name === 'carry').path;
      assert.equal(readFileSync(join(path, 'README.md'), 'utf8'), '# work in progress\n');
      assert.equal(readFileSync(join(path, 'notes.txt'), 'utf8'), 'untracked notes\n');
      assert.equal(existsSync(join(path, '.env.local')), false);
      await ok(['discard', 'carry', '--force', '--yes', '-w', ws]);
    } finally {
      git(['checkout', '--', 'README.md']);
      rmSync(join(ws, 'notes.txt'));
      rmSync(join(ws, '.env.local'));
    }
  });

  it('names the cause and the fix: not a repository, a name taken, an option without --task', async () => {
    const plain = makeWorkspace({ 'a.txt': 'a\n' });
    try {
      const r = await run(['tasks', plain]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /is not a git repository\.\n.*git init/);
    } finally {
      rmSync(plain, { recursive: true, force: true });
    }
    const created = await ok(['create', 'shell', ws, '--task', 'delta']);
    sandboxOf.delta = created.stdout.trim();
    const taken = await run(['create', 'shell', ws, '--task', 'delta', '--base', 'main']);
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /task name "delta" is taken/);
    const stray = await run(['create', 'shell', ws, '--base', 'main']);
    assert.equal(stray.code, 1);
    assert.match(stray.stderr, /--base applies to a task only/);
    await ok(['discard', 'delta', '--yes', '-w', ws]);
  });
});
