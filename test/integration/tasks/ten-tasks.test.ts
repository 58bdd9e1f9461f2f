// Ten tasks of one repository at once, each with a running shell sandbox, through the real CLI, the
// real engine and real git (issue 15's scale section): created one right after another (the last
// three at the same moment), each agent (driven by exec) committing its own change; `paddock tasks
// --json` lists all ten with branch, commits ahead, changed files and status; `paddock diff --stat`
// shows each task's own files; all ten are discarded (one by one, and several in one command),
// leaving no container, folder, ref or state folder, and the main workspace as it was. The times
// are printed (this machine is shared and loaded: they are not asserted).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { egressPaths } from '../../../src/engine/egressFiles.js';
import { lockFile } from '../../../src/engine/sandboxLock.js';
import { bridgePaths } from '../../../src/engine/stateFolder.js';
import { repoTasksDir } from '../../../src/engine/tasks.js';
import { docker, engine, makeWorkspace, OWNER, paddock, paddockOk } from '../../support/sandbox.js';
import { taskTestState } from './taskRepo.js';

const asRoot = process.getuid?.() === 0;
const COUNT = 10;
const names = Array.from({ length: COUNT }, (_, i) => `t${String(i + 1).padStart(2, '0')}`);

/** Task i commits i % 3 + 1 new files, in i % 2 + 1 commits, and leaves one file uncommitted when i is a multiple of 4. */
function planOf(i: number): { files: string[]; commits: number; uncommitted?: string } {
  const files = Array.from({ length: (i % 3) + 1 }, (_, k) => `work/${names[i]}-${k}.txt`);
  return { files, commits: (i % 2) + 1, uncommitted: i % 4 === 0 ? `draft-${names[i]}.txt` : undefined };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

describe('ten tasks of one repository, each with a running sandbox', { timeout: 1_800_000 }, () => {
  const { env, tasksDir, ...test } = taskTestState('paddock-ten-tasks-');
  const ok = (args: string[]) => paddockOk(args, { env });
  let ws: string;
  let head: string;
  const sandboxOf: Record<string, string> = {};
  const pathOf: Record<string, string> = {};

  const git = (args: string[], cwd = ws) => test.git(args, cwd);
  const tasksJson = async () => JSON.parse((await ok(['tasks', ws, '--json'])).stdout) as any[];

  before(async () => {
    ws = makeWorkspace({ 'README.md': '# ten tasks\n', 'src/app.txt': 'app\n', '.env': 'API_TOKEN=tracked-secret-value\n' });
    git(['init', '-q']);
    git(['add', '-A']);
    git(['commit', '-qm', 'initial']);
    head = git(['rev-parse', 'HEAD']);
    if (asRoot) spawnSync('chown', ['-R', `${OWNER.uid}:${OWNER.gid}`, ws]);
  });

  after(() => test.removeAll(ws));

  it('creates ten tasks one right after another (the last three at the same moment), each with its own running sandbox', async () => {
    const times: string[] = [];
    const create = async (name: string) => {
      const started = Date.now();
      const created = await paddock(['create', 'shell', ws, '--task', name], { env });
      assert.equal(created.code, 0, `create ${name}: ${created.stderr}`);
      times.push(`${name} ${seconds(Date.now() - started)}`);
      sandboxOf[name] = created.stdout.trim();
    };
    for (const name of names.slice(0, COUNT - 3)) await create(name);
    // Three at once: their names, records, base refs and sandbox locks must not collide.
    await Promise.all(names.slice(COUNT - 3).map(create));
    console.log(`create, one after another, then three at once: ${times.join(', ')}`);
    assert.equal(new Set(Object.values(sandboxOf)).size, COUNT, `sandbox names collide: ${JSON.stringify(sandboxOf)}`);
    const running = await engine().docker.listContainers({ filters: { label: [`dev.paddock.task-source=${ws}`] } });
    assert.deepEqual(running.map((c) => c.Labels['dev.paddock.task']).sort(), names);
  });

  it('lets each task\'s agent commit its own change in its own sandbox', async () => {
    const started = Date.now();
    await Promise.all(names.map(async (name, i) => {
      const plan = planOf(i);
      const script = [
        'set -e', 'mkdir -p work',
        // The first commit adds the first file; a second commit (when planned) adds the rest.
        `echo "${name} 0" > ${plan.files[0]}`, `git add ${plan.files[0]}`, `git commit -qm "${name}: first"`,
        ...plan.files.slice(1).map((f, k) => `echo "${name} ${k + 1}" > ${f}`),
        ...(plan.files.length > 1 || plan.commits > 1 ? [`git add -A work`, `git commit -q --allow-empty -m "${name}: second"`] : []),
        ...(plan.uncommitted ? [`echo draft > ${plan.uncommitted}`] : []),
        'git status --porcelain',
      ].join('\n');
      const r = await paddock(['exec', sandboxOf[name], '--', 'sh', '-c', script], { env });
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      assert.equal(r.stdout, plan.uncommitted ? `?? ${plan.uncommitted}\n` : '', `${name}: the hidden .env must not show as changed`);
    }));
    console.log(`ten agents committing at once: ${seconds(Date.now() - started)}`);
  });

  it('lists all ten with branch, commits ahead, changed files and running status', async () => {
    const started = Date.now();
    const tasks = await tasksJson();
    console.log(`paddock tasks --json with ${COUNT} tasks: ${seconds(Date.now() - started)}`);
    assert.deepEqual(tasks.map((t) => t.name), names);
    for (const [i, t] of tasks.entries()) {
      const plan = planOf(i);
      const expectedCommits = plan.files.length > 1 || plan.commits > 1 ? 2 : 1;
      assert.equal(t.branch, `paddock/${t.name}`);
      assert.equal(t.base, head);
      assert.equal(t.ahead, expectedCommits, `${t.name} ahead`);
      assert.equal(t.changedFiles, plan.files.length + (plan.uncommitted ? 1 : 0), `${t.name} changed files`);
      assert.equal(t.uncommitted, plan.uncommitted ? 1 : 0, `${t.name} uncommitted`);
      assert.equal(t.status, 'running', `${t.name} status`);
      assert.equal(t.agent, 'shell');
      assert.equal(t.sandbox, sandboxOf[t.name]);
      pathOf[t.name] = t.path;
    }
    const table = (await ok(['tasks', ws])).stdout;
    for (const name of names) assert.match(table, new RegExp(`^${name}\\s+shell\\s+paddock/${name}\\s`, 'm'));
  });

  it('lists and diffs the tasks without writing their git index (an agent\'s commit at that moment would find it locked)', async () => {
    // A tracked file with a new modification time (same content) makes a plain git status refresh and rewrite the index.
    const file = join(pathOf[names[0]], 'README.md');
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const index = join(pathOf[names[0]], '.git', 'index');
    const before = statSync(index);
    const tasks = await tasksJson();
    assert.equal(tasks[0].uncommitted, planOf(0).uncommitted ? 1 : 0, 'a touched file is not a change');
    let after = statSync(index);
    assert.deepEqual([after.ino, after.mtimeMs], [before.ino, before.mtimeMs], 'the listing rewrote the task\'s index');
    // Nor does diff, which shows the untracked draft through a copy of the index.
    assert.match((await ok(['diff', names[0], '-w', ws])).stdout, /\+draft/);
    after = statSync(index);
    assert.deepEqual([after.ino, after.mtimeMs], [before.ino, before.mtimeMs], 'diff rewrote the task\'s index');
  });

  it('shows each task\'s own files in diff --stat, and only those', async () => {
    const started = Date.now();
    const stats = await Promise.all(names.map((name) => ok(['diff', name, '--stat', '-w', ws])));
    console.log(`paddock diff --stat of ${COUNT} tasks at once: ${seconds(Date.now() - started)}`);
    for (const [i, name] of names.entries()) {
      const plan = planOf(i);
      const text = stats[i].stdout;
      for (const f of plan.files) assert.match(text, new RegExp(`${f.replace(/\./g, '\\.')} +\\| 1 \\+`), `${name}: ${text}`);
      if (plan.uncommitted) assert.match(text, new RegExp(`${plan.uncommitted.replace(/\./g, '\\.')} +\\| 1 \\+`), `${name}: ${text}`);
      // One summary: the untracked draft is counted with the committed files.
      const total = plan.files.length + (plan.uncommitted ? 1 : 0);
      assert.match(text, new RegExp(`^ ${total} files? changed, ${total} insertions?\\(\\+\\)$`, 'm'), `${name}: ${text}`);
      assert.equal(text.match(/ changed, /g)?.length, 1, `${name}: ${text}`);
      for (const other of names.filter((n) => n !== name)) assert.doesNotMatch(text, new RegExp(other), `${name} shows ${other}'s work`);
    }
  });

  it('discards all ten: sandboxes, folders, branches and state go; the workspace stays as it was', async () => {
    // Several at once: one task with unmerged work stops them all, before anything is removed.
    const refused = await paddock(['discard', ...names.slice(0, 3), '--yes', '-w', ws], { env });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /Task t01 has 1 commit\(s\) that no branch, tag or remote of .* has and 1 uncommitted file\(s\) \(and 2 more task\(s\) would lose work: t02, t03\)\. Nothing was discarded\./);
    assert.deepEqual((await tasksJson()).map((t) => t.name), names);
    let started = Date.now();
    for (const name of names.slice(0, 5)) await ok(['discard', name, '--force', '--yes', '-w', ws]);
    console.log(`discard 5 tasks, one command each: ${seconds(Date.now() - started)}`);
    started = Date.now();
    const together = await ok(['discard', ...names.slice(5), '--force', '--yes', '-w', ws]);
    console.log(`discard 5 tasks in one command: ${seconds(Date.now() - started)}`);
    assert.deepEqual(together.stdout.trim().split('\n').map((l) => l.split(' ')[2]), names.slice(5));
    assert.deepEqual(await tasksJson(), []);
    const e = engine();
    assert.deepEqual(await e.docker.listContainers({ all: true, filters: { label: [`dev.paddock.task-source=${ws}`] } }), []);
    for (const name of names) {
      const sandbox = sandboxOf[name];
      assert.equal(await e.exists(sandbox), false, sandbox);
      // Nothing named after the sandbox stays: its egress proxy or network (own shape), its state folders.
      assert.equal(docker(['ps', '-aq', '--filter', `name=${sandbox}`]).stdout.trim(), '', `${sandbox}: containers left`);
      assert.equal(docker(['network', 'ls', '-q', '--filter', `name=${sandbox}`]).stdout.trim(), '', `${sandbox}: networks left`);
      assert.equal(existsSync(bridgePaths(sandbox).dir), false, `${sandbox}: bridge state folder left`);
      assert.equal(existsSync(egressPaths(sandbox).dir), false, `${sandbox}: network state folder left`);
      assert.equal(existsSync(lockFile(pathOf[name], 'shell')), false, `${sandbox}: lock file left`);
      assert.equal(existsSync(pathOf[name]), false, `${name}: folder left`);
    }
    // No task folder or record, no ref of a task in the main repository, and no commit or file of theirs.
    const repoDir = repoTasksDir(ws, tasksDir);
    assert.deepEqual(existsSync(repoDir) ? readdirSync(repoDir) : [], []);
    assert.equal(git(['for-each-ref', 'refs/paddock']), '');
    assert.equal(git(['branch', '--list', 'paddock/*']), '');
    assert.equal(git(['rev-parse', 'HEAD']), head);
    assert.equal(git(['status', '--porcelain', '--untracked-files=all']), '');
    assert.equal(existsSync(join(ws, 'work')), false);
  });
});
