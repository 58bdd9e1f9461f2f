import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { devNull, homedir, tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type Docker from 'dockerode';
import { PaddockError } from '../core/errors.js';
import { compileGlobs, decidingRule, planMounts } from '../core/hiding.js';
import { LABELS, shortHash, slug } from '../core/naming.js';
import { loadPolicy } from '../core/policy.js';
import type { SandboxEngine } from './engine.js';
import type { SandboxRequest } from './sandboxes.js';
import { parseStatus } from './taskStatus.js';
import type { SandboxStatus } from './types.js';

/**
 * Parallel tasks: many agents on one repository, each on its own branch in its own folder with its
 * own sandbox. A task's folder is a clone of the workspace's repository that shares its objects
 * (git clone --shared: the main repository's object store as a read-only alternate), at
 * <root>/<repo>-<hash>/<NAME>, outside the workspace and at the same path in the sandbox. Not a
 * linked worktree: a linked worktree commits into the main repository's own object store and ref
 * folders, which would have to be writable in the sandbox, and then its agent could corrupt objects
 * the host checks out, and move refs/heads/main or another task's branch. In a shared clone its
 * branch, refs and new objects are its own; the main repository's objects are mounted read-only,
 * nothing else of the workspace is mounted; commits reach the main repository only when the user
 * merges (pushed from the clone, which the host's git treats as untrusted: see taskGit).
 *
 * What a task is lives outside its folder, where no sandbox can write: <root>/<repo>-<hash>/<NAME>.json
 * (source workspace, branch, base commit, base as given), and refs/paddock/tasks/<NAME>/base in the
 * main repository (keeps the base's objects from being pruned). Its sandbox carries the same in labels.
 */

export interface TaskRecord {
  readonly name: string;
  /** The repository's top folder (the main workspace). */
  readonly source: string;
  /** The task's folder: its own working tree, the sandbox's workspace. */
  readonly path: string;
  readonly branch: string;
  /** The base commit. */
  readonly base: string;
  /** The base as the user gave it (or the branch checked out then). */
  readonly baseRef: string;
  readonly created: string;
}

export interface TaskState extends TaskRecord {
  readonly agent?: string;
  readonly sandbox?: string;
  readonly status: SandboxStatus | 'none';
  /** Commits on the task's branch that its base does not have (undefined: the folder is gone). */
  readonly ahead?: number;
  /** Files that differ from the base: committed, uncommitted and untracked. */
  readonly changedFiles?: number;
  /** Files with uncommitted (or untracked) changes. */
  readonly uncommitted?: number;
}

const TASK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,39}$/;
const REF_PREFIX = 'refs/paddock/tasks';

/** Where tasks live: PADDOCK_TASKS_DIR, else $XDG_DATA_HOME/paddock/tasks (~/.local/share/paddock/tasks). */
export function tasksRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PADDOCK_TASKS_DIR) return resolve(env.PADDOCK_TASKS_DIR);
  return join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'paddock', 'tasks');
}

/** The folder of one repository's tasks: readable name plus a hash of its path. */
export function repoTasksDir(source: string, root = tasksRoot()): string {
  return join(root, `${slug(basename(source))}-${shortHash(source, 8)}`);
}

export function taskFolder(source: string, name: string, root = tasksRoot()): string {
  return join(repoTasksDir(source, root), name);
}

export function checkTaskName(name: string): string {
  if (!TASK_NAME.test(name) || name.includes('..') || name.endsWith('.lock') || name.endsWith('.')) {
    throw new PaddockError(`"${name}" is not a valid task name.`, 'Use up to 40 letters, digits, "_", "." and "-", starting with a letter or digit (it names a folder, a branch and a sandbox).');
  }
  return name;
}

// ---- git, run without a shell ---------------------------------------------------------------

interface GitResult { readonly code: number; readonly stdout: string; readonly stderr: string }

function runGit(args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<GitResult> {
  return new Promise((resolveResult, reject) => {
    execFile('git', [...args], {
      cwd: options.cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: options.timeoutMs ?? 0, killSignal: 'SIGKILL',
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C', ...options.env },
    }, (err: any, stdout, stderr) => {
      if (err?.code === 'ENOENT' && typeof err.code === 'string') {
        reject(new PaddockError('git is not installed (or not on PATH).', 'Install git: tasks are git branches.'));
        return;
      }
      if (err?.killed && options.timeoutMs) {
        resolveResult({ code: 1, stdout, stderr: `${stderr}git ${args.filter((a) => !a.includes('=')).slice(0, 3).join(' ')} did not finish in ${Math.round(options.timeoutMs / 1000)} s in ${options.cwd} and was stopped (a file git opens there could be a FIFO the sandbox made)\n` });
        return;
      }
      resolveResult({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

async function gitOk(args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv }, what: string): Promise<string> {
  const r = await runGit(args, options);
  if (r.code !== 0) throw new PaddockError(`${what} failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ')}`, `The command was: git ${args.join(' ')} (in ${options.cwd}).`);
  return r.stdout;
}

/** git in the main workspace: the user's own repository, trusted as the user's git would. */
export function mainGit(source: string, args: readonly string[]): Promise<GitResult> {
  return runGit(args, { cwd: source });
}

/**
 * The settings of the user's own git config (system, global, and the files they include) that a
 * task's git still reads: what decides which files show as changed (line endings, ignore and
 * attributes files, case and Unicode) and which folders git trusts. None of them starts a program.
 */
const KEPT_USER_GIT_SETTINGS = new Set(['core.autocrlf', 'core.eol', 'core.safecrlf', 'core.excludesfile', 'core.attributesfile', 'core.ignorecase', 'core.precomposeunicode', 'core.quotepath', 'safe.directory']);

let keptUserSettings: Promise<string[]> | undefined;
/** KEPT_USER_GIT_SETTINGS as the user set them, as `-c` arguments; read once per process. */
function userGitSettingsKept(): Promise<string[]> {
  keptUserSettings ??= runGit(['config', '--null', '--includes', '--list'], { cwd: tmpdir(), env: { GIT_DIR: join(tmpdir(), 'paddock-no-repository') } }).then((r) =>
    r.stdout.split('\0').flatMap((entry) => {
      const at = entry.indexOf('\n');
      const key = at < 0 ? entry : entry.slice(0, at);
      return KEPT_USER_GIT_SETTINGS.has(key.toLowerCase()) ? ['-c', `${key}=${at < 0 ? 'true' : entry.slice(at + 1)}`] : [];
    }));
  return keptUserSettings;
}

/**
 * How long one git run in a task's folder may take (PADDOCK_TASK_GIT_TIMEOUT_MS, default 2 minutes):
 * the sandbox can make any file git opens there a FIFO (.git/index, a ref, a .gitignore), and git's
 * open then waits for a writer for ever, which held `paddock tasks`, `merge`, `discard` (even
 * --force) and the editor's view of every task.
 */
function taskGitTimeoutMs(): number {
  const set = Number(process.env.PADDOCK_TASK_GIT_TIMEOUT_MS);
  return Number.isFinite(set) && set > 0 ? set : 120_000;
}

/**
 * git in a task's folder, which its sandbox wrote: the git dir is named (GIT_DIR and GIT_COMMON_DIR,
 * so a "commondir" file the sandbox planted cannot hand git another config), and the settings that
 * run programs are switched off on the command line, which wins over any file. The user's own config
 * is not read (only KEPT_USER_GIT_SETTINGS of it, passed on the command line): the task's
 * .gitattributes could otherwise name a filter or driver it defines (git-lfs's, git-crypt's) and make
 * the host run it on the task's files. `forPush` keeps the user's config: a push reads no working tree
 * (no filter runs), and the git that receives it, in the user's own repository, needs that config
 * (safe.directory, receive.*), which the command line does not reach.
 */
export async function taskGit(task: Pick<TaskRecord, 'path'>, args: readonly string[], env: { GIT_INDEX_FILE?: string } = {}, forPush = false): Promise<GitResult> {
  const gitDir = join(task.path, '.git');
  const st = lstatSync(gitDir, { throwIfNoEntry: false });
  if (!st?.isDirectory()) {
    throw new PaddockError(`${gitDir} is not a git folder any more (replaced or removed).`, 'Discard the task (paddock discard NAME --force) and start it again.');
  }
  const safe = ['-c', 'core.fsmonitor=false', '-c', 'core.hooksPath=/dev/null', '-c', 'core.sshCommand=false', '-c', 'diff.external=', '-c', 'core.pager=cat'];
  const userConfig = forPush ? {} : { GIT_CONFIG_GLOBAL: devNull, GIT_CONFIG_NOSYSTEM: '1' };
  return runGit([...(forPush ? [] : await userGitSettingsKept()), ...safe, ...args], {
    cwd: task.path, timeoutMs: taskGitTimeoutMs(),
    env: { GIT_DIR: gitDir, GIT_COMMON_DIR: gitDir, GIT_WORK_TREE: task.path, GIT_CEILING_DIRECTORIES: dirname(task.path), ...userConfig, ...env },
  });
}

export interface RepositoryInfo {
  /** The top folder of the working tree (real path). */
  readonly top: string;
  /** The object store the tasks share read-only (real path). */
  readonly objectDirs: readonly string[];
  /**
   * The object stores it borrows from (its objects/info/alternates, real paths): never mounted. That
   * file is in .git/objects, which the workspace's own sandbox writes, so a line there could name any
   * folder of the host (the home folder) for a task's sandbox to read.
   */
  readonly borrowed: readonly string[];
}

/** The repository of a workspace folder; an error that says so when it is not one. */
export async function repositoryOf(workspace: string): Promise<RepositoryInfo> {
  const abs = resolve(workspace);
  if (!existsSync(abs)) throw new PaddockError(`The workspace ${abs} does not exist.`, 'Pass an existing folder.');
  const r = await runGit(['rev-parse', '--path-format=absolute', '--show-toplevel', '--git-common-dir'], { cwd: abs });
  if (r.code !== 0) {
    const dubious = /dubious ownership/.test(r.stderr);
    throw new PaddockError(dubious ? `git refuses ${abs}: it belongs to another user (${r.stderr.trim().split('\n')[0]}).` : `${abs} is not a git repository.`,
      dubious ? `Run paddock as the folder's owner, or add it to git's safe.directory.` : 'Tasks are branches of a git repository: run "git init" and commit, or pass the repository\'s folder.');
  }
  const [top, commonDir] = r.stdout.trim().split('\n');
  if (!top) throw new PaddockError(`${abs} is inside a bare git repository or a .git folder.`, 'Pass the working tree of the repository.');
  const objects = realpathSync(join(commonDir, 'objects'));
  // Objects the repository itself borrows (its own alternates): a task's sandbox would need them.
  const borrowed = (readText(join(objects, 'info', 'alternates')) ?? '').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
    .map((l) => (isAbsolute(l) ? l : resolve(objects, l))).filter((p) => existsSync(p)).map((p) => realpathSync(p));
  return { top: realpathSync(top), objectDirs: [objects], borrowed };
}

/**
 * The repository a command means: the workspace's, or when the folder is a task's, the
 * repository the task was made from (read from the task's record, outside the folder).
 */
export async function sourceOf(workspace: string, root = tasksRoot()): Promise<string> {
  const abs = resolve(workspace);
  const rel = relative(root, abs);
  if (existsSync(root) && rel && !rel.startsWith('..') && !isAbsolute(rel)) {
    const [repoDir, name] = rel.split('/');
    const record = name ? readRecord(join(root, repoDir, `${name}.json`)) : undefined;
    if (record) return record.source;
  }
  return (await repositoryOf(abs)).top;
}

/**
 * The task whose folder `path` is, from its record (outside the folder), or undefined: a request
 * for that folder (the editor's Recreate of a task's sandbox) is then the task's, with the
 * workspace's policy, never one the folder itself holds.
 */
export function taskAt(path: string, root = tasksRoot()): TaskRecord | undefined {
  const abs = resolve(path);
  const rel = relative(root, abs);
  if (!rel || rel.startsWith('..') || isAbsolute(rel)) return undefined;
  const [repoDir, name, ...rest] = rel.split('/');
  if (!name || rest.length) return undefined;
  const record = readRecord(join(root, repoDir, `${name}.json`));
  return record?.path === abs ? record : undefined;
}

// ---- records -----------------------------------------------------------------------------

function readText(path: string): string | undefined {
  try { return readFileSync(path, 'utf8'); } catch { return undefined; }
}

/**
 * A task's record, when it is one Paddock could have written there: its name, folder and repository
 * are those its own file name and place say (the folder <dir>/<NAME>, the repository the one whose
 * path hashes to <dir>), its base a commit id and its branch no option. The tasks folder is outside
 * every workspace only by default: a sandbox whose workspace holds it (the home folder) can write
 * the records, and a record naming another folder had discard remove that folder, another repository
 * had merge merge into it, and a base "--output=FILE" had the host's git diff write FILE.
 */
export function readRecord(file: string): TaskRecord | undefined {
  const text = readText(file);
  if (!text) return undefined;
  let r: TaskRecord;
  try {
    r = JSON.parse(text) as TaskRecord;
  } catch {
    return undefined;
  }
  if (!r || typeof r !== 'object') return undefined;
  const dir = dirname(file);
  const name = basename(file).replace(/\.json$/, '');
  const fields = [r.name, r.path, r.source, r.branch, r.base, r.baseRef, r.created];
  if (fields.some((f) => typeof f !== 'string')) return undefined;
  if (r.name !== name || !TASK_NAME.test(name) || r.path !== join(dir, name)) return undefined;
  if (!lstatSync(dir, { throwIfNoEntry: false })?.isDirectory()) return undefined; // a symbolic link to a folder elsewhere
  if (!isAbsolute(r.source) || resolve(r.source) !== r.source || repoTasksDir(r.source, dirname(dir)) !== dir) return undefined;
  if (existsSync(r.source) && realpathSync(r.source) !== r.source) return undefined;
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(r.base) || r.branch.startsWith('-')) return undefined;
  return r;
}

const recordFile = (source: string, name: string) => join(repoTasksDir(source), `${name}.json`);

/** The tasks of a repository, as recorded at creation. */
export function taskRecords(source: string): TaskRecord[] {
  const dir = repoTasksDir(source);
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
  return files.map((f) => readRecord(join(dir, f))).filter((r): r is TaskRecord => !!r && r.source === source).sort((a, b) => a.name.localeCompare(b.name));
}

export function findTask(source: string, name: string): TaskRecord {
  const record = readRecord(recordFile(source, checkTaskName(name)));
  if (!record) throw new PaddockError(`${source} has no task "${name}".`, `Run "paddock tasks ${source}" to see its tasks (or pass the repository with -w).`);
  return record;
}

// ---- create ------------------------------------------------------------------------------

export interface CreateTaskOptions {
  readonly workspace: string;
  readonly name: string;
  /** Branch, tag or commit of the repository (default: HEAD). */
  readonly base?: string;
  /** Default: paddock/NAME. */
  readonly branch?: string;
  /** Copy the workspace's uncommitted changes (tracked and untracked, never a hidden file). */
  readonly carryChanges?: boolean;
  readonly onProgress?: (line: string) => void;
}

export interface CreatedTask {
  readonly task: TaskRecord;
  /** Files copied by --carry-changes, and those left out because the policy hides them. */
  readonly carried: readonly string[];
  readonly notCarried: readonly string[];
  /**
   * Changes left out because a folder on their path is a symbolic link, in the workspace or in the
   * task's checkout of its base: copying would read or write a file outside both folders.
   */
  readonly throughLinks: readonly string[];
}

export async function createTask(options: CreateTaskOptions): Promise<CreatedTask> {
  const name = checkTaskName(options.name);
  const repo = await repositoryOf(options.workspace);
  const source = repo.top;
  const { policy } = loadPolicy(source);
  if (compileGlobs(policy.hide).some((r) => !r.negated && r.test('.git')) || planMounts(source, policy).hidden.some((h) => h.relative === '.git')) {
    throw new PaddockError(`The policy of ${source} hides .git (the repository's history), and a task's sandbox needs the repository's objects.`, 'Run the agent without --task, or remove .git from "hide" in .paddock/policy.yaml.');
  }
  const path = taskFolder(source, name);
  const branch = options.branch ?? `paddock/${name}`;
  if (existsSync(path) || existsSync(recordFile(source, name)) || (await mainGit(source, ['rev-parse', '-q', '--verify', `${REF_PREFIX}/${name}/base`])).code === 0) {
    throw new PaddockError(`The task name "${name}" is taken in ${source} (${path}).`, `Choose another --task name, continue it with "paddock run AGENT ${source} --task ${name}" (without --base or --carry-changes), or "paddock discard ${name}" first.`);
  }
  if ((await runGit(['check-ref-format', '--branch', branch], { cwd: source })).code !== 0) {
    throw new PaddockError(`"${branch}" is not a valid branch name.`, 'Choose another --branch.');
  }
  const head = await mainGit(source, ['rev-parse', '-q', '--verify', 'HEAD^{commit}']);
  if (head.code !== 0 && !options.base) throw new PaddockError(`${source} has no commits yet, so a task has nothing to start from.`, 'Commit something first, or pass --base.');
  const baseArg = options.base ?? 'HEAD';
  const resolved = await mainGit(source, ['rev-parse', '-q', '--verify', '--end-of-options', `${baseArg}^{commit}`]);
  if (resolved.code !== 0) throw new PaddockError(`"${baseArg}" is not a commit of ${source}.`, 'Pass a branch, tag or commit of the repository as --base (e.g. --base main).');
  const base = resolved.stdout.trim();
  const baseRef = options.base ?? ((await mainGit(source, ['symbolic-ref', '-q', '--short', 'HEAD'])).stdout.trim() || 'HEAD');

  const record: TaskRecord = { name, source, path, branch, base, baseRef, created: new Date().toISOString() };
  mkdirSync(repoTasksDir(source), { recursive: true });
  // Written with O_EXCL: two creates of one name at once end with one task.
  try {
    writeFileSync(recordFile(source, name), `${JSON.stringify(record, null, 2)}\n`, { flag: 'wx' });
  } catch (err: any) {
    if (err?.code === 'EEXIST') throw new PaddockError(`The task name "${name}" is taken in ${source}.`, 'Choose another --task name.');
    throw err;
  }
  try {
    options.onProgress?.(`Creating task ${name}: branch ${branch} from ${baseRef} (${base.slice(0, 12)}) in ${path}`);
    await gitOk(['update-ref', `${REF_PREFIX}/${name}/base`, base], { cwd: source }, 'Pinning the base commit');
    await gitOk(['clone', '--shared', '--no-checkout', '--quiet', '--', source, path], { cwd: dirname(path) }, 'Cloning the repository');
    await gitOk(['checkout', '-q', '-b', branch, base], { cwd: path, env: { GIT_DIR: join(path, '.git'), GIT_WORK_TREE: path } }, 'Checking out the base');
    let carried: string[] = [];
    let notCarried: string[] = [];
    let throughLinks: string[] = [];
    if (options.carryChanges) ({ carried, notCarried, throughLinks } = await carryChanges(source, path, policy.hide));
    await skipHiddenFiles(path, policy);
    handToOwner(source, path);
    return { task: record, carried, notCarried, throughLinks };
  } catch (err) {
    await removeTaskFiles(record).catch(() => {});
    throw err;
  }
}

/**
 * Whether every folder on the way from `root` to `rel` (not `rel` itself) is a real folder or does
 * not exist yet: no symbolic link (nor a file) that would make a read or write of `rel` leave `root`.
 */
export function linkFreePath(root: string, rel: string): boolean {
  const parts = rel.split('/').filter(Boolean);
  let at = root;
  for (const part of parts.slice(0, -1)) {
    at = join(at, part);
    const st = lstatSync(at, { throwIfNoEntry: false });
    if (!st) return true;
    if (!st.isDirectory()) return false;
  }
  return true;
}

/**
 * Copies the workspace's uncommitted changes (modified, added, deleted, untracked but not ignored)
 * into a fresh task folder, file by file; a path the workspace's policy hides (or inside a hidden
 * folder, or another name of a hidden file) is never copied. The workspace is the sandbox's (its
 * agent wrote its files and index) and so is the base's checkout (a branch an agent made): a change
 * whose path goes through a symbolic link on either side is left out, never read or written there.
 */
async function carryChanges(source: string, path: string, hide: readonly string[]): Promise<{ carried: string[]; notCarried: string[]; throughLinks: string[] }> {
  const status = await gitOk(['status', '--porcelain=v1', '-z', '--untracked-files=all', '--no-renames'], { cwd: source }, 'Reading the uncommitted changes');
  const plan = planMounts(source, { hide, readOnly: [] });
  const hiddenPaths = plan.hidden.map((h) => h.relative);
  const rules = compileGlobs(hide, { backupForms: true });
  const isHidden = (rel: string) => {
    if (hiddenPaths.some((h) => rel === h || rel.startsWith(`${h}/`))) return true;
    const rule = decidingRule(rules, rel); // also for a deleted path, which no plan lists
    return !!rule && !rule.negated;
  };
  const carried: string[] = [];
  const notCarried: string[] = [];
  const throughLinks: string[] = [];
  for (const entry of status.split('\0').filter(Boolean)) {
    const rel = entry.slice(3);
    if (isHidden(rel)) { notCarried.push(rel); continue; }
    if (!linkFreePath(source, rel) || !linkFreePath(path, rel)) { throughLinks.push(rel); continue; }
    const from = join(source, rel);
    const to = join(path, rel);
    const st = lstatSync(from, { throwIfNoEntry: false });
    rmSync(to, { force: true, recursive: false });
    if (st) {
      mkdirSync(dirname(to), { recursive: true });
      if (st.isSymbolicLink()) symlinkSync(readlinkSync(from), to);
      else if (st.isFile()) copyFileSync(from, to);
      else continue; // a submodule or a folder git reports as one entry: not carried
    } else if (existsSync(to)) unlinkSync(to);
    carried.push(rel);
  }
  return { carried, notCarried, throughLinks };
}

/**
 * Tracked files the policy hides are empty (or gone) in the sandbox; marked skip-worktree in the
 * task's index, git there neither shows them as changed nor commits the empty version (git commit -a).
 */
async function skipHiddenFiles(path: string, policy: { hide: readonly string[]; readOnly: readonly string[] }): Promise<void> {
  const hidden = planMounts(path, policy).hidden.map((h) => h.relative).filter((rel) => rel !== '.git');
  if (!hidden.length) return;
  const env = { GIT_DIR: join(path, '.git'), GIT_WORK_TREE: path };
  const tracked = (await gitOk(['ls-files', '-z', '--', ...hidden.map((h) => `:(literal)${h}`)], { cwd: path, env }, 'Listing hidden files')).split('\0').filter(Boolean);
  if (tracked.length) await gitOk(['update-index', '--skip-worktree', '--', ...tracked], { cwd: path, env }, 'Marking hidden files');
}

/** As root (a CI, a root shell), the folder goes to the workspace's owner: the sandbox's agent runs as that user. */
function handToOwner(source: string, path: string): void {
  if (process.getuid?.() !== 0) return;
  const owner = statSync(source);
  if (owner.uid === 0) return;
  const walk = (p: string) => {
    const st = lstatSync(p);
    try { lchownSync(p, owner.uid, owner.gid); } catch { /* best effort: a file that vanished */ }
    if (st.isDirectory()) for (const child of readdirSync(p)) walk(join(p, child));
  };
  walk(path);
}

/**
 * A repository that borrows objects (objects/info/alternates) gets no task sandbox: what the file
 * names would have to be mounted, and the workspace's sandbox can write that file (a line naming
 * the home folder put all of it, read-only, in the next task's sandbox).
 */
export function refuseBorrowedObjects(source: string, repo: RepositoryInfo): void {
  if (!repo.borrowed.length) return;
  throw new PaddockError(`The repository ${source} borrows objects from ${repo.borrowed.join(', ')} (.git/objects/info/alternates), and a task's sandbox does not mount them: that file is in .git/objects, which the workspace's own sandbox can write, so it could name any folder of yours.`,
    'If you made it (git clone --shared or --reference), make the repository self-contained: git repack -a -d, then remove .git/objects/info/alternates. If you did not, an agent wrote it: remove it.');
}

/** The mount a task's sandbox adds: the repository's object store, read-only, at its own path. */
export function taskMounts(repo: RepositoryInfo): Docker.MountConfig {
  return repo.objectDirs.map((dir) => ({ Type: 'bind', Source: dir, Target: dir, ReadOnly: true, BindOptions: { Propagation: 'rprivate' } }) as Docker.MountConfig[number]);
}

export function taskLabels(task: TaskRecord): Record<string, string> {
  return { [LABELS.task]: task.name, [LABELS.taskSource]: task.source, [LABELS.taskBranch]: task.branch, [LABELS.taskBase]: task.base };
}

// ---- list --------------------------------------------------------------------------------

interface TaskSandbox { readonly name: string; readonly id: string; readonly agent: string; readonly status: SandboxStatus }

async function taskSandboxes(engine: SandboxEngine, source: string, name?: string): Promise<Map<string, TaskSandbox[]>> {
  const labels = [`${LABELS.sandbox}=1`, `${LABELS.taskSource}=${source}`, ...(name ? [`${LABELS.task}=${name}`] : [])];
  const containers = await engine.docker.listContainers({ all: true, filters: { label: labels } });
  const out = new Map<string, TaskSandbox[]>();
  for (const c of containers) {
    const task = c.Labels[LABELS.task] ?? '';
    const status = (c.State === 'exited' ? 'stopped' : c.State) as SandboxStatus;
    out.set(task, [...(out.get(task) ?? []), { name: (c.Names[0] ?? c.Id).replace(/^\//, ''), id: c.Id, agent: c.Labels[LABELS.agent] ?? '', status }]);
  }
  return out;
}

export type TaskProgress = Pick<TaskState, 'ahead' | 'changedFiles' | 'uncommitted'>;

/**
 * Reads what a task's folder holds against its base: commits ahead, files changed, files not
 * committed. One git status per task (which names the commit HEAD is at); what the commits changed
 * (a commit count and a tree-to-tree diff) is read again only when HEAD moved, so a long-lived
 * reader (the editor's) runs one git per task while agents edit files. --no-optional-locks: the
 * host's read never takes the task's index.lock, which would fail an agent's "git add" or commit
 * made at that moment.
 */
export class TaskProgressReader {
  private readonly committed = new Map<string, { readonly key: string; readonly ahead?: number; readonly files: readonly string[] }>();

  /** remember: keep what commits changed between reads (a reader used once runs its three git at once instead). */
  constructor(private readonly remember = true) {}

  async read(task: TaskRecord): Promise<TaskProgress> {
    if (!existsSync(join(task.path, '.git'))) {
      this.committed.delete(task.path);
      return {};
    }
    const statusRun = taskGit(task, ['--no-optional-locks', 'status', '--porcelain=v2', '-z', '--branch', '--untracked-files=all', '--no-renames']);
    const commits = (tip: string | undefined, head: string | undefined) => Promise.all([
      taskGit(task, ['rev-list', '--count', `${task.base}..${tip ?? `refs/heads/${task.branch}`}`, '--']),
      head ? taskGit(task, ['diff', '--no-ext-diff', '--no-textconv', '--no-renames', '--name-only', '-z', task.base, head, '--']) : undefined,
    ]).then(([ahead, diff]) => ({ ahead: ahead.code === 0 ? Number(ahead.stdout.trim()) : undefined, files: diff?.code === 0 ? diff.stdout.split('\0').filter(Boolean) : [] }));
    // Used once: the commits are read at once with the status (HEAD as it is then).
    const once = this.remember ? undefined : commits(undefined, 'HEAD');
    const status = await statusRun;
    const working = status.code === 0 ? parseStatus(status.stdout) : undefined;
    let known: { ahead?: number; files: readonly string[] };
    if (once) known = await once;
    else {
      // On the task's branch, HEAD is its tip: what its commits changed is known while HEAD stays.
      const tip = working?.branch === task.branch ? working.head : undefined;
      const key = `${task.base} ${tip}`;
      const kept = tip ? this.committed.get(task.path) : undefined;
      known = kept?.key === key ? kept : await commits(tip, working?.head);
      if (tip) this.committed.set(task.path, { key, ...known });
    }
    if (!working) return { ahead: known.ahead };
    const changed = new Set([...known.files, ...working.uncommitted]);
    return { ahead: known.ahead, changedFiles: changed.size, uncommitted: working.uncommitted.length };
  }

  /** Forgets the tasks not listed (discarded ones). */
  keepOnly(paths: ReadonlySet<string>): void {
    for (const path of this.committed.keys()) if (!paths.has(path)) this.committed.delete(path);
  }
}

const progressOf = (task: TaskRecord) => new TaskProgressReader(false).read(task);

export interface ListTasksOptions {
  /** A reader kept between listings (the editor's): commits are read again only for tasks whose HEAD moved. */
  readonly reader?: TaskProgressReader;
  /**
   * The progress last read of a task whose folder did not change since (the editor's file watcher
   * tells): returned as is, without running git. Undefined: read it.
   */
  readonly unchanged?: (task: TaskRecord) => TaskProgress | undefined;
}

/** The tasks of a repository: one listing of the engine's containers, and one or three git runs per task read. */
export async function listTasks(engine: SandboxEngine, source: string, options: ListTasksOptions = {}): Promise<TaskState[]> {
  const reader = options.reader ?? new TaskProgressReader(false);
  const [records, sandboxes] = await Promise.all([Promise.resolve(taskRecords(source)), taskSandboxes(engine, source)]);
  return Promise.all(records.map(async (r) => {
    const [sandbox] = sandboxes.get(r.name) ?? [];
    return { ...r, agent: sandbox?.agent, sandbox: sandbox?.name, status: sandbox?.status ?? 'none', ...(options.unchanged?.(r) ?? (await reader.read(r))) };
  }));
}

// ---- diff --------------------------------------------------------------------------------

/**
 * The task's work against its base: committed and uncommitted changes, untracked files (not
 * ignored) as new, in one diff. The untracked files are marked intent-to-add in a copy of the
 * task's index in a folder of Paddock's own, so one git diff shows them however many there are;
 * the task's own index is never written. No external diff programs or text conversions run (the
 * folder is the sandbox's).
 */
export async function taskDiff(task: TaskRecord, options: { stat?: boolean } = {}): Promise<string> {
  const scratch = mkdtempSync(join(tmpdir(), 'paddock-task-diff-'));
  try {
    const index = join(scratch, 'index');
    // The sandbox writes the folder: its index is copied only when it is a plain file (never a link's target).
    const own = lstatSync(join(task.path, '.git', 'index'), { throwIfNoEntry: false });
    if (own?.isFile()) copyFileSync(join(task.path, '.git', 'index'), index);
    const withCopy = { GIT_INDEX_FILE: index };
    const marked = await taskGit(task, ['add', '--intent-to-add', '--ignore-errors', '--', '.'], withCopy);
    if (marked.code !== 0) throw new PaddockError(`Cannot list the new files of task ${task.name}: ${marked.stderr.trim()}`, `Check the task's folder with "git status" (in ${task.path}).`);
    const diff = await taskGit(task, ['diff', '--no-ext-diff', '--no-textconv', '--no-color', ...(options.stat ? ['--stat'] : []), task.base, '--'], withCopy);
    if (diff.code !== 0) throw new PaddockError(`Cannot diff task ${task.name}: ${diff.stderr.trim()}`, 'Check the task folder with git status.');
    return diff.stdout;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

// ---- merge -------------------------------------------------------------------------------

export type MergeOutcome =
  | { readonly kind: 'merged'; readonly into: string; readonly commit: string; readonly commits: number; readonly squash: boolean; readonly uncommittedLeft: number }
  | { readonly kind: 'up-to-date'; readonly into: string; readonly uncommittedLeft: number }
  | { readonly kind: 'conflict'; readonly into: string; readonly files: readonly string[]; readonly ref: string };

async function tipOf(task: TaskRecord): Promise<string> {
  const r = await taskGit(task, ['rev-parse', '-q', '--verify', `refs/heads/${task.branch}^{commit}`]);
  if (r.code !== 0) throw new PaddockError(`Task ${task.name} has no branch ${task.branch} any more.`, `Create it again in the task (git switch -c ${task.branch}), or discard the task.`);
  return r.stdout.trim();
}

/**
 * Brings the task's branch into the main repository as refs/paddock/tasks/NAME/head: pushed from
 * the task's folder (git run as taskGit runs it) into the main repository, whose git checks every
 * object it receives.
 */
async function importTip(task: TaskRecord, tip: string): Promise<string> {
  const ref = `${REF_PREFIX}/${task.name}/head`;
  const r = await taskGit(task, ['push', '--quiet', '--no-verify', '--force', task.source, `${tip}:${ref}`], {}, true);
  if (r.code !== 0) throw new PaddockError(`Cannot bring task ${task.name}'s commits into ${task.source}: ${r.stderr.trim().split('\n').slice(-2).join(' ')}`, 'Check both repositories with "git fsck".');
  return ref;
}

/**
 * Merges the task's branch into the branch checked out in the main workspace. The workspace must
 * have no uncommitted changes to tracked files; the merge is computed first without touching
 * anything (git merge-tree), so a conflict changes nothing; a merge that still fails is aborted.
 */
export async function mergeTask(task: TaskRecord, options: { squash?: boolean } = {}): Promise<MergeOutcome> {
  const source = task.source;
  const into = (await mainGit(source, ['symbolic-ref', '-q', '--short', 'HEAD'])).stdout.trim();
  if (!into) throw new PaddockError(`${source} has no branch checked out (detached HEAD), so there is nothing to merge into.`, 'Check out the branch to merge into (git switch BRANCH), then merge again.');
  const dirty = (await gitOk(['status', '--porcelain=v1', '--untracked-files=no'], { cwd: source }, 'Reading the workspace\'s status')).trim();
  if (dirty) throw new PaddockError(`${source} has uncommitted changes (${dirty.split('\n').length} file(s)), and a merge must not mix with them.`, `Commit or stash them (git stash), then run "paddock merge ${task.name}" again.`);
  if (existsSync(join(source, '.git', 'MERGE_HEAD'))) throw new PaddockError(`${source} is in the middle of a merge.`, 'Finish it (git commit) or abort it (git merge --abort) first.');
  const tip = await tipOf(task);
  const uncommittedLeft = (await progressOf(task)).uncommitted ?? 0;
  const ref = await importTip(task, tip);
  if ((await mainGit(source, ['merge-base', '--is-ancestor', tip, 'HEAD'])).code === 0) return { kind: 'up-to-date', into, uncommittedLeft };
  const trial = await mainGit(source, ['merge-tree', '--write-tree', '--name-only', '--no-messages', 'HEAD', tip]);
  if (trial.code === 1) {
    const lines = trial.stdout.split('\n');
    return { kind: 'conflict', into, ref, files: [...new Set(lines.slice(1, lines.indexOf('') < 0 ? undefined : lines.indexOf('')).filter(Boolean))] };
  }
  if (trial.code !== 0) throw new PaddockError(`Cannot compute the merge of task ${task.name}: ${trial.stderr.trim()}`, 'git 2.38 or newer is needed (git merge-tree --write-tree).');
  const commits = Number((await gitOk(['rev-list', '--count', `HEAD..${tip}`], { cwd: source }, 'Counting commits')).trim());
  const message = `Merge task ${task.name} (${task.branch})`;
  const steps = options.squash
    ? [['merge', '--squash', '--quiet', tip], ['commit', '--quiet', '-m', `Task ${task.name} (${task.branch}, ${commits} commit${commits === 1 ? '' : 's'} squashed)`]]
    : [['merge', '--quiet', '--no-edit', '-m', message, tip]];
  for (const step of steps) {
    const r = await mainGit(source, step);
    if (r.code !== 0) {
      // Put the workspace back as it was: it had no uncommitted changes to tracked files.
      await mainGit(source, options.squash ? ['reset', '--merge'] : ['merge', '--abort']);
      throw new PaddockError(`Merging task ${task.name} into ${into} failed, and was undone: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ')}`, `Merge by hand to see why: git merge ${ref} (in ${source}).`);
    }
  }
  if (options.squash) await gitOk(['update-ref', `${REF_PREFIX}/${task.name}/merged`, tip], { cwd: source }, 'Recording the squash merge');
  return { kind: 'merged', into, commit: (await gitOk(['rev-parse', 'HEAD'], { cwd: source }, 'Reading HEAD')).trim(), commits, squash: !!options.squash, uncommittedLeft };
}

// ---- discard -----------------------------------------------------------------------------

export interface DiscardCheck {
  /** Commits of the task's branch that no branch, tag or remote of the repository has (0 after a squash merge of this tip). */
  readonly unmerged: number;
  readonly uncommitted: number;
  readonly sandboxes: readonly string[];
}

/** What discarding would lose. */
export async function discardCheck(engine: SandboxEngine, task: TaskRecord): Promise<DiscardCheck> {
  const sandboxes = ((await taskSandboxes(engine, task.source, task.name)).get(task.name) ?? []).map((s) => s.name);
  if (!existsSync(join(task.path, '.git'))) return { unmerged: 0, uncommitted: 0, sandboxes };
  const tip = await tipOf(task).catch(() => undefined);
  let unmerged = 0;
  if (tip && tip !== task.base) {
    const squashed = (await mainGit(task.source, ['rev-parse', '-q', '--verify', `${REF_PREFIX}/${task.name}/merged`])).stdout.trim();
    if (squashed !== tip) {
      await importTip(task, tip);
      unmerged = Number((await gitOk(['rev-list', '--count', tip, '--not', '--branches', '--tags', '--remotes'], { cwd: task.source }, 'Counting unmerged commits')).trim());
    }
  }
  return { unmerged, uncommitted: (await progressOf(task)).uncommitted ?? 0, sandboxes };
}

/** Removes the task's sandbox, folder (with its branch) and the main repository's refs of it. */
export async function discardTask(engine: SandboxEngine, task: TaskRecord): Promise<void> {
  for (const sandbox of (await taskSandboxes(engine, task.source, task.name)).get(task.name) ?? []) await engine.remove(sandbox.id);
  await removeTaskFiles(task);
}

async function removeTaskFiles(task: TaskRecord): Promise<void> {
  // The folder of the repository's tasks is one Paddock made: a symbolic link there (a sandbox whose
  // workspace holds the tasks folder can make one, with a record beside its target) would have the
  // removal reach <target>/NAME, a folder of the user's.
  const folder = dirname(task.path);
  const st = lstatSync(folder, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) {
    throw new PaddockError(`${folder} is not the folder Paddock made for the tasks of ${task.source} (${st.isSymbolicLink() ? 'a symbolic link' : 'not a folder'}): nothing was removed.`, 'Look at what it is, and remove it by hand.');
  }
  rmSync(task.path, { recursive: true, force: true });
  const refs = await mainGit(task.source, ['for-each-ref', '--format=%(refname)', `${REF_PREFIX}/${task.name}/`]);
  for (const ref of refs.stdout.split('\n').filter(Boolean)) await mainGit(task.source, ['update-ref', '-d', ref]);
  rmSync(recordFile(task.source, task.name), { force: true });
}

// ---- run / create --------------------------------------------------------------------------

export interface TaskOptions {
  readonly task: string;
  readonly base?: string;
  readonly branch?: string;
  readonly carryChanges?: boolean;
}

/**
 * A sandbox request turned into a task's: the task is created (or, given only its name, continued),
 * and the request points at its folder, with the workspace's policy, the task's labels and the
 * read-only object store. One task has one sandbox, of one agent.
 */
export async function taskRequest(engine: SandboxEngine, request: SandboxRequest, options: TaskOptions, onProgress: (line: string) => void = () => {}): Promise<{ request: SandboxRequest; created?: CreatedTask }> {
  const name = checkTaskName(options.task);
  const source = await sourceOf(request.workspace);
  refuseBorrowedObjects(source, await repositoryOf(source));
  const existing = readRecord(recordFile(source, name));
  let created: CreatedTask | undefined;
  if (existing) {
    if (options.base || options.branch || options.carryChanges) {
      throw new PaddockError(`The task name "${name}" is taken in ${source} (${existing.path}, branch ${existing.branch}).`, `Choose another --task name, continue it without --base, --branch or --carry-changes, or "paddock discard ${name}" first.`);
    }
    const other = ((await taskSandboxes(engine, source, name)).get(name) ?? []).find((s) => s.agent !== request.agent);
    if (other) throw new PaddockError(`Task ${name} runs ${other.agent} (sandbox ${other.name}); a task has one sandbox.`, `Use "paddock run ${other.agent} --task ${name}", or start another task for ${request.agent}.`);
    if (!existsSync(existing.path)) throw new PaddockError(`The folder of task ${name} (${existing.path}) is gone.`, `Discard the task ("paddock discard ${name} --force") and start it again.`);
  } else {
    created = await createTask({ workspace: source, name, base: options.base, branch: options.branch, carryChanges: options.carryChanges, onProgress });
  }
  const task = existing ?? created!.task;
  const repo = await repositoryOf(source);
  refuseBorrowedObjects(source, repo);
  return { request: { ...request, workspace: task.path, task: { source, labels: taskLabels(task), mounts: taskMounts(repo) } }, created };
}
