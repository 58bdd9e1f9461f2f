import { randomUUID } from 'node:crypto';
import { homedir } from 'node:os';
import { posix } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type Docker from 'dockerode';
import { extract } from 'tar-stream';
import { CommandSyntaxError, decideExec, PathMatcher, splitCommand, argumentPaths } from '../core/bridgeExecRules.js';
import { isSecretName, Masker, maskArgv, type MaskStats } from '../core/masking.js';
import { connectionFailure } from '../core/errors.js';
import { compileLinePattern, LogPatternError, SEARCH_BUDGET_MS, searchLines, type LinePattern } from '../core/logSearch.js';
import { treeReadOf } from '../core/treeReads.js';
import type { BridgePolicy, Tier } from '../core/policy.js';
import { execCollect, isAlreadyInState, isNotFound, runExec } from '../engine/docker.js';
import { AllowedContainers, type TargetContainer } from './allowedContainers.js';
import { BridgeDenied, CallCancelled } from './denied.js';
import { hostControlOf } from './hostControl.js';
import { maskLogs } from './maskedLogs.js';
import { execAs, isFolder, PathGuard } from './pathGuard.js';
import { markOnlyNote, stopMarkedCall, unviewedExecOptions } from './stopCall.js';
import { PhysicalViews, VIEW_FAILED_EXIT, viewFailure, viewReadySignal, type ViewTarget } from './physicalView.js';

export { BridgeDenied, CallCancelled, CLIENT_GONE } from './denied.js';
export type { TargetContainer } from './allowedContainers.js';

export type Permission = keyof BridgePolicy['permissions'];

/** What the bridge enforces: the `bridge:` and `tier:` parts of .paddock/policy.yaml. */
export interface BridgeRules {
  readonly bridge: BridgePolicy;
  readonly tier: Tier;
  /** Exact values known to be secret (hidden .env files of the workspace). */
  readonly knownSecrets?: readonly string[];
}

const OUTPUT_LIMIT = 256 * 1024;
const KNOWN_SECRETS_TTL_MS = 5_000;

/** The bridge's work: which containers, which commands, and Docker calls with masked output. */
export class BridgeService {
  readonly blocked: PathMatcher;
  private readonly reach: AllowedContainers;
  private readonly guard: PathGuard;
  private readonly views: PhysicalViews;
  /** Built on first use (its keyword tables take tens of ms): a bridge host starts with no call to mask. */
  private maskerBuilt?: Masker;
  private secretsAt = 0;
  private secretsFor = '';
  private refreshing?: Promise<Masker>;
  /** The hidden files' values the masker was built with (./host.ts gives a new array when a file changed). */
  private hiddenUsed?: readonly string[];
  /** The containers whose env the masker was built with. */
  private refreshedIds = new Set<string>();

  constructor(readonly docker: Docker, readonly rules: BridgeRules) {
    this.blocked = new PathMatcher(rules.bridge.blockedPaths);
    this.reach = new AllowedContainers(docker, rules.bridge);
    this.guard = new PathGuard(docker, this.blocked);
    this.views = new PhysicalViews(docker, this.blocked);
  }

  private get masker(): Masker {
    this.maskerBuilt ??= new Masker({ knownSecrets: this.rules.knownSecrets });
    return this.maskerBuilt;
  }

  // ---- policy --------------------------------------------------------------------------------

  requirePermission(permission: Permission): void {
    if (!this.rules.bridge.permissions[permission]) {
      throw new BridgeDenied(`permission ${permission}`, `the "${permission}" permission is off.`, `set bridge.permissions.${permission}: true in .paddock/policy.yaml.`);
    }
  }

  /** The containers the policy allows (./allowedContainers.ts). */
  containers(): Promise<TargetContainer[]> {
    return this.reach.list();
  }

  /** Resolves `container` (name, compose service, or id prefix) among the allowed ones, or denies. */
  target(ref: string): Promise<TargetContainer> {
    return this.reach.resolve(ref);
  }

  /** Whitelist entries of bridge.exec whose key matches the container's name or compose service. */
  whitelistFor(c: TargetContainer): string[] {
    return this.reach.execWhitelistFor(c);
  }

  // ---- masking -------------------------------------------------------------------------------

  /**
   * The masker with today's known secrets: the workspace's hidden values plus the values of
   * secret-named env vars of every allowed container (one container's logs often print another's).
   */
  currentMasker(target?: TargetContainer): Promise<Masker> {
    // The hidden files' values are looked at on every call (a stat of each file, ./host.ts): a new array means one changed.
    // A target the last refresh did not see (just created, or made again with new env) is refreshed for at once.
    const fresh = this.rules.knownSecrets === this.hiddenUsed && Date.now() - this.secretsAt < KNOWN_SECRETS_TTL_MS
      && (!target || this.refreshedIds.has(target.id));
    if (fresh) return Promise.resolve(this.masker);
    // One refresh at a time: under load, every call arriving while it runs waits for the same one
    // instead of asking the engine again.
    // With the engine gone, the values known so far still mask (nothing new can come from it); the
    // call then answers that the engine stopped answering. Any other failure still fails the call.
    this.refreshing ??= this.refreshMasker().catch((err) => { if (connectionFailure(err)) return this.masker; throw err; })
      .finally(() => { this.refreshing = undefined; });
    return this.refreshing;
  }

  private async refreshMasker(): Promise<Masker> {
    const hidden = this.rules.knownSecrets;
    // The containers' secret env values first: the masker keeps the first MAX_KNOWN_VALUES values
    // (./masking.ts), and these are the ones a container's output prints most; the hidden files'
    // values follow, smallest files first (./host.ts), so a big state file cannot push them out.
    const values = new Set<string>();
    const containers = await this.containers();
    for (const c of containers) {
      const info = await this.docker.getContainer(c.id).inspect().catch(() => undefined);
      for (const e of info?.Config.Env ?? []) {
        const eq = e.indexOf('=');
        if (eq > 0 && isSecretName(e.slice(0, eq))) values.add(e.slice(eq + 1));
      }
    }
    for (const v of hidden ?? []) values.add(v);
    this.hiddenUsed = hidden;
    this.refreshedIds = new Set(containers.map((c) => c.id));
    const key = [...values].sort().join('\0');
    if (key !== this.secretsFor) {
      this.maskerBuilt = new Masker({ knownSecrets: values });
      this.secretsFor = key;
    }
    this.secretsAt = Date.now();
    return this.masker;
  }

  /**
   * Masks with the masker as it is, without asking the engine for fresh secret values: for a
   * refusal that must answer at once while the engine is slow (the values are at most a few seconds old).
   */
  maskNow(text: string, stats: MaskStats): string {
    return this.masker.mask(text, stats);
  }

  /** `truncated`: the text was cut short, so its end may hold the start of a secret (it is cut before it). */
  async mask(text: string, stats: MaskStats, truncated = false, target?: TargetContainer): Promise<string> {
    return (await this.currentMasker(target)).mask(text, stats, { truncated });
  }

  // ---- tools ---------------------------------------------------------------------------------

  /** The target's state, folder, user and environment: the inspect its name was resolved with moments ago (./allowedContainers.ts), else a new one. */
  private async workdirOf(c: TargetContainer): Promise<{ workdir: string; user: string; running: boolean; env: string[]; info: Docker.ContainerInspectInfo }> {
    const info = this.reach.takeInspect(c) ?? await this.docker.getContainer(c.id).inspect();
    return { workdir: info.Config.WorkingDir || '/', user: info.Config.User || '', running: !!info.State.Running, env: info.Config.Env ?? [], info };
  }

  async logs(c: TargetContainer, options: { tail?: number; since?: string; timestamps?: boolean }, stats: MaskStats): Promise<string> {
    const since = parseSince(options.since);
    const tail = options.tail ?? 100;
    // One entry more: the first may be the end of a long line cut by the engine (./maskedLogs.ts).
    const buffer = (await this.docker.getContainer(c.id).logs({
      stdout: true, stderr: true, follow: false, timestamps: !!options.timestamps,
      tail: tail + 1, ...(since !== undefined ? { since } : {}),
    } as any)) as unknown as Buffer;
    return maskLogs(buffer, await this.currentMasker(c), stats, !!options.timestamps, tail);
  }

  async searchLogs(c: TargetContainer, options: { pattern: string; context?: number; tail?: number; since?: string; ignoreCase?: boolean }, stats: MaskStats): Promise<string> {
    let pattern: LinePattern;
    try {
      pattern = compileLinePattern(options.pattern, options.ignoreCase !== false);
    } catch (err) {
      if (err instanceof LogPatternError) throw new BridgeDenied('invalid pattern', err.reason, err.fix);
      throw err;
    }
    // Search the masked text: a pattern must not work as an oracle for a secret's characters.
    const lines = (await this.logs(c, { tail: options.tail ?? 5000, since: options.since }, stats)).split('\n');
    const { shown, searchedLines } = searchLines(lines, pattern, Math.min(options.context ?? 2, 20));
    const partial = searchedLines === undefined ? '' : `(The search stopped after ${SEARCH_BUDGET_MS / 1000} s, at line ${searchedLines} of ${lines.length}: narrow it with tail or since.)\n`;
    if (!shown.length) return `${partial}No line of ${c.name}'s log${partial ? ' searched' : ''} matches /${options.pattern}/.`;
    let out = '';
    let last = -2;
    for (const i of shown) {
      if (i !== last + 1 && out) out += '--\n';
      out += `${i + 1}: ${lines[i]}\n`;
      last = i;
    }
    return partial + out;
  }

  async inspect(c: TargetContainer, stats: MaskStats): Promise<string> {
    const info = this.reach.takeInspect(c) ?? await this.docker.getContainer(c.id).inspect();
    const masker = await this.currentMasker(c);
    const env = (info.Config.Env ?? []).map((e) => {
      const eq = e.indexOf('=');
      const name = eq < 0 ? e : e.slice(0, eq);
      if (eq < 0) return e;
      if (isSecretName(name)) {
        stats.count++;
        stats.rules['secret-env'] = (stats.rules['secret-env'] ?? 0) + 1;
        return `${name}=[MASKED]`;
      }
      return `${name}=${masker.mask(e.slice(eq + 1), stats)}`;
    });
    const view = {
      name: c.name, id: info.Id.slice(0, 12), image: info.Config.Image, created: info.Created,
      state: { status: info.State.Status, running: info.State.Running, startedAt: info.State.StartedAt, exitCode: info.State.ExitCode, restartCount: info.RestartCount, health: (info.State as any).Health?.Status },
      command: maskArgv([...(Array.isArray(info.Config.Entrypoint) ? info.Config.Entrypoint : info.Config.Entrypoint ? [info.Config.Entrypoint] : []), ...(info.Config.Cmd ?? [])], stats),
      workingDir: info.Config.WorkingDir || '/', user: info.Config.User || 'root',
      env,
      ports: info.NetworkSettings?.Ports ?? {},
      networks: Object.fromEntries(Object.entries(info.NetworkSettings?.Networks ?? {}).map(([n, v]: [string, any]) => [n, { ip: v.IPAddress, aliases: v.Aliases }])),
      mounts: (info.Mounts ?? []).map((m: any) => ({ type: m.Type, destination: m.Destination, readOnly: m.RW === false })),
      labels: info.Config.Labels ?? {},
      restartPolicy: info.HostConfig.RestartPolicy?.Name,
    };
    return masker.mask(JSON.stringify(view, null, 2), stats);
  }

  async stats(c: TargetContainer): Promise<string> {
    const s: any = await this.docker.getContainer(c.id).stats({ stream: false });
    const cpuDelta = (s.cpu_stats?.cpu_usage?.total_usage ?? 0) - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
    const sysDelta = (s.cpu_stats?.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
    const cpus = s.cpu_stats?.online_cpus ?? s.cpu_stats?.cpu_usage?.percpu_usage?.length ?? 1;
    const cache = s.memory_stats?.stats?.inactive_file ?? s.memory_stats?.stats?.cache ?? 0;
    const net = Object.values(s.networks ?? {}).reduce((acc: { rx: number; tx: number }, n: any) => ({ rx: acc.rx + n.rx_bytes, tx: acc.tx + n.tx_bytes }), { rx: 0, tx: 0 });
    const blk = (s.blkio_stats?.io_service_bytes_recursive ?? []).reduce((acc: { read: number; write: number }, e: any) => ({
      read: acc.read + (/read/i.test(e.op) ? e.value : 0), write: acc.write + (/write/i.test(e.op) ? e.value : 0),
    }), { read: 0, write: 0 });
    return JSON.stringify({
      container: c.name,
      cpuPercent: sysDelta > 0 ? Math.round((cpuDelta / sysDelta) * cpus * 10000) / 100 : 0,
      memory: { usageBytes: Math.max(0, (s.memory_stats?.usage ?? 0) - cache), limitBytes: s.memory_stats?.limit ?? 0 },
      network: { rxBytes: net.rx, txBytes: net.tx },
      blockIo: { readBytes: blk.read, writeBytes: blk.write },
      pids: s.pids_stats?.current ?? 0,
    }, null, 2);
  }

  /**
   * Checks a command and runs it as an argv in the container. Returns the decision's rule with the output.
   * When `cancelled` aborts while it runs (its client cancelled it or went away), the command is
   * stopped in the target with every process it started, and CallCancelled says whether it was.
   */
  /**
   * `started` is told once the engine has started the process (in a physical view the prologue then
   * builds the view, inside RunInLane's threshold). Timed from the view's ready line instead, a
   * waiting exec could wait the build plus the whole threshold, past its wait budget (./admission.ts).
   */
  async exec(c: TargetContainer, command: string | readonly string[], timeoutSeconds: number, stats: MaskStats, cancelled?: AbortSignal, started?: () => void): Promise<{ rule: string; text: string; exitCode: number | null }> {
    let argv: string[];
    if (typeof command === 'string') {
      try {
        argv = splitCommand(command);
      } catch (err) {
        if (err instanceof CommandSyntaxError) throw new BridgeDenied('shell syntax', `${err.message}.`, 'pass the command as plain words (or an array); pipes, redirections and substitutions are never run.');
        throw err;
      }
    } else {
      argv = [...command].map(String);
    }
    const { workdir, user, running, env, info } = await this.workdirOf(c);
    const decision = decideExec({ argv, container: c.name, workdir, tier: this.rules.tier, whitelist: this.whitelistFor(c), deny: this.rules.bridge.deny, blockedPaths: this.blocked });
    if (!decision.allowed) throw new BridgeDenied(decision.rule, decision.reason ?? 'refused.', decision.hint);
    // A container that holds the host (./hostControl.ts) runs only what the user whitelisted word for word.
    const control = decision.exact ? [] : hostControlOf(info, homedir());
    if (control.length) {
      throw new BridgeDenied('host control', `a command in ${c.name} could act on the host (${control.join('; ')}), so only commands whitelisted exactly (no trailing " *") run there.`,
        `Whitelist the exact command under bridge.exec."${c.name}" in .paddock/policy.yaml, or remove that from the container.`);
    }
    if (!running) throw new BridgeDenied('container state', `${c.name} is not running.`, 'start it (start_container needs the lifecycle permission).');
    // Symlinks: an argument that leads to a blocked path through a link is refused too.
    const pieces = [...new Set(argv.slice(1).flatMap((a) => argumentPaths(a)).filter((p) => p && !p.startsWith('-') && p.length < 4096))]
      .map((p) => posix.resolve(workdir, p));
    if (pieces.length > 64) throw new BridgeDenied('too many arguments', 'more than 64 path-like arguments cannot be checked.', 'split the command.');
    await Promise.all(pieces.map((p) => this.guard.checkPath(c, p)));
    const tree = treeReadOf(argv, workdir);
    if (tree) await this.guard.checkTree(c, tree, user, workdir);

    const masker = await this.currentMasker(c);
    const out = collectMasked(masker.stream(stats));
    const err = collectMasked(masker.stream(stats));
    const call = randomUUID();
    let exec: Docker.Exec | undefined;
    // Blocked paths are physical where the view can be built; elsewhere only exact whitelist entries run.
    // A helper found gone before the process started is made again, and the command tried once more (./physicalView.ts).
    const { view, ready, exitCode, cut } = await this.views.withHelper(c, info, async (view, ran) => {
      if (!view.ok && !decision.exact) {
        throw new BridgeDenied('no physical view', `blocked paths cannot be made absent in ${c.name}: ${view.reason}. Without that, only commands whitelisted exactly (no trailing " *") run there.`, `${view.fix}.`);
      }
      // Without a view the command runs straight in the target, marked so its processes can be found.
      const [id, options] = view.ok ? [view.helperId, this.views.execOptions('exec-ready', { user, workdir, env }, argv, 0, call)] : [c.id, await unviewedExecOptions(this.docker, c.id, argv, { user, workdir, env }, call)];
      if (cancelled?.aborted) throw new CallCancelled(cancelled, 'nothing had started');
      // The view's ready line tells whether an exit code of 125 is the prologue's or the command's.
      const ready = view.ok ? viewReadySignal(err.sink) : undefined;
      const end = await runExec(this.docker, id, options, { stdout: out.sink, stderr: ready?.stderr ?? err.sink, timeoutMs: timeoutSeconds * 1000, signal: cancelled, onStarted: (e) => { ran(); exec = e; started?.(); } });
      return { view, ready, ...end };
    });
    ready?.end();
    let stopFailure = '';
    const stop = () => (view.ok ? this.views.stop(view.helperId, call, exec) : stopMarkedCall(this.docker, c.id, call, exec))
      .catch((e: any) => { stopFailure = ` (${String(e?.message ?? e).split('\n')[0].slice(0, 200)})`; return false; });
    if (cut === 'aborted' && cancelled) {
      const stopped = await stop();
      throw new CallCancelled(cancelled, stopped ? `stopped in ${c.name}: its processes were killed${view.ok ? '' : markOnlyNote(c.id, user)}` : `stopping it in ${c.name} failed${stopFailure}, so it may still run`);
    }
    // Past its timeout nobody reads the command's output any more: it is stopped the same way.
    const stoppedAtTimeout = cut === 'time' ? await stop() : false;
    const stdout = out.finish(!!cut);
    const stderr = err.finish(!!cut);
    // Once the view said it was built, the command ran: an exit code of 125 is its own.
    const failure = exitCode === VIEW_FAILED_EXIT && !ready?.ready() ? viewFailure(stderr) : undefined;
    if (failure) throw view.ok ? viewDenial(c, failure) : launcherDenial(c, failure);
    let text = stdout;
    if (stderr) text += `${text && !text.endsWith('\n') ? '\n' : ''}--- stderr ---\n${stderr}`;
    const timedOut = `none: stopped waiting after ${timeoutSeconds}s, ${stoppedAtTimeout ? `and stopped the command in ${c.name} (its processes were killed${view.ok ? '' : markOnlyNote(c.id, user)})` : 'the process may still run'}`;
    text += `${text && !text.endsWith('\n') ? '\n' : ''}[exit code ${exitCode ?? timedOut}]`;
    return { rule: decision.rule, text, exitCode };
  }

  async listFiles(c: TargetContainer, path: string, stats: MaskStats): Promise<string> {
    const { workdir, user, running, env, info } = await this.workdirOf(c);
    if (!running) throw new BridgeDenied('container state', `${c.name} is not running.`, 'start it first.');
    const abs = posix.resolve(workdir, path || '.');
    const real = await this.guard.checkPath(c, abs, path);
    // `ls` as an argv (never a shell), in the physical view when there is one; entries that are
    // blocked, or link to blocked paths, are left out as well.
    const argv = ['ls', '-la', '--', real];
    // A read: tried once more on a new helper if the known one is found gone (./physicalView.ts).
    const { stdout, stderr, exitCode } = await this.views.withHelper(c, info, (view) => (view.ok
      ? execCollect(this.docker, view.helperId, this.views.execOptions('exec', { user, workdir, env }, argv))
      : execCollect(this.docker, c.id, execAs(argv, user, workdir))));
    const failure = exitCode === VIEW_FAILED_EXIT ? viewFailure(stderr) : undefined;
    if (failure) throw viewDenial(c, failure);
    if (exitCode !== 0) throw new BridgeDenied('list failed', `ls ${real} failed in ${c.name}: ${(await this.mask(stderr, stats, false, c)).trim() || `exit code ${exitCode}`}`);
    const lines = stdout.split('\n').filter((line) => {
      if (!line || /^total \d+/.test(line)) return !!line;
      const m = /^[bcdlps-][rwxsStT-]{9}\S*\s+\d+\s+\S+\s+\S+\s+(?:\d+,\s*)?\d+\s+\S+\s+\S+\s+\S+\s(.*)$/.exec(line);
      if (!m) return false; // unparsable: leave it out rather than risk a blocked name
      const [name, target] = m[1].split(' -> ');
      if (name === '.' || name === '..') return true;
      const full = posix.join(real, name);
      return !this.blocked.match(full) && !(target && this.blocked.match(posix.resolve(real, target)));
    });
    return this.mask(`${real}:\n${lines.join('\n')}\n`, stats, false, c);
  }

  async readFile(c: TargetContainer, path: string, maxBytes: number, stats: MaskStats): Promise<string> {
    const { workdir, user, running, env, info } = await this.workdirOf(c);
    const abs = posix.resolve(workdir, path);
    const real = await this.guard.checkPath(c, abs, path);
    const viewed = running ? await this.views.withHelper(c, info, async (view) => (view.ok ? { text: await this.readInView(c, view.helperId, { user, workdir, env }, abs, real, maxBytes, stats) } : undefined)) : undefined;
    if (viewed) return viewed.text;
    const st = await this.guard.stat(c, real);
    if (!st) throw new BridgeDenied('not found', `${abs} does not exist in ${c.name}.`);
    if (isFolder(st)) throw new BridgeDenied('not a file', `${abs} is a folder.`, 'use list_files for folders.');
    const [entry] = await this.readArchive(c, real, maxBytes);
    if (!entry) throw new BridgeDenied('not found', `${abs} does not exist in ${c.name}.`);
    if (entry.type === 'directory') throw new BridgeDenied('not a file', `${abs} is a folder.`, 'use list_files for folders.');
    if (entry.type !== 'file') throw new BridgeDenied('not a file', `${abs} is a ${entry.type}.`);
    const data = entry.data!;
    if (data.subarray(0, 8192).includes(0)) return `${abs}: binary file, ${entry.size} bytes (not shown).`;
    const text = await this.mask(data.toString('utf8'), stats, entry.size > data.length, c);
    return entry.size > data.length ? `${text}\n[truncated: showing ${data.length} of ${entry.size} bytes]` : text;
  }

  /**
   * Reads a file in the physical view, as the container's user: blocked files (and other hard links
   * to them) read as empty there. The prologue prints the size on a line of its own, then the bytes.
   */
  private async readInView(c: TargetContainer, helperId: string, target: ViewTarget, abs: string, real: string, maxBytes: number, stats: MaskStats): Promise<string> {
    const { stdout, stderr, exitCode } = await execCollect(this.docker, helperId, this.views.execOptions('read', target, [real], maxBytes), { maxBytes: maxBytes + 64 });
    const failure = exitCode === VIEW_FAILED_EXIT ? viewFailure(stderr) : undefined;
    if (failure) throw viewDenial(c, failure);
    if (exitCode === 2) throw new BridgeDenied('not a file', `${abs} is not a file.`, 'use list_files for folders.');
    if (exitCode !== 0) throw new BridgeDenied('read failed', `${abs} could not be read in ${c.name}: ${(await this.mask(stderr, stats, false, c)).trim() || `exit code ${exitCode}`}`);
    const nl = stdout.indexOf('\n');
    const size = Number(stdout.slice(0, nl));
    const data = stdout.slice(nl + 1);
    if (data.slice(0, 8192).includes('\0')) return `${abs}: binary file, ${size} bytes (not shown).`;
    const text = await this.mask(data, stats, size > Buffer.byteLength(data), c);
    return size > Buffer.byteLength(data) ? `${text}\n[truncated: showing ${Buffer.byteLength(data)} of ${size} bytes]` : text;
  }

  /** Reads a path through the engine's archive API: the container needs no tools, nothing runs in it. */
  private async readArchive(c: TargetContainer, path: string, maxBytes = OUTPUT_LIMIT): Promise<ArchiveEntry[]> {
    let tar: Readable;
    try {
      tar = (await this.docker.getContainer(c.id).getArchive({ path })) as unknown as Readable;
    } catch (err: any) {
      if (isNotFound(err)) throw new BridgeDenied('not found', `${path} does not exist in ${c.name}.`);
      throw err;
    }
    const base = posix.basename(path);
    const entries: ArchiveEntry[] = [];
    const ex = extract();
    const limit = maxBytes;
    await new Promise<void>((resolveAll, reject) => {
      ex.on('entry', (header, body, next) => {
        // Names are relative to the parent of `path`: "app", "app/x", "app/sub/y".
        const rel = header.name === base ? '.' : header.name.startsWith(`${base}/`) ? header.name.slice(base.length + 1).replace(/\/$/, '') : header.name;
        const wanted = entries.length === 0;
        const chunks: Buffer[] = [];
        let size = 0;
        body.on('data', (chunk: any) => {
          if (wanted && size < limit) chunks.push(chunk.subarray(0, limit - size));
          size += chunk.length;
        });
        body.on('end', () => {
          if (wanted) entries.push({ name: rel, type: header.type ?? 'file', size: header.size ?? size, linkname: header.linkname ?? undefined, data: Buffer.concat(chunks) });
          next();
        });
        body.resume();
      });
      ex.on('finish', resolveAll);
      ex.on('error', reject);
      tar.on('error', reject);
      tar.pipe(ex);
    });
    return entries;
  }

  async lifecycle(c: TargetContainer, action: 'start' | 'stop' | 'restart'): Promise<string> {
    const container = this.docker.getContainer(c.id);
    try {
      if (action === 'start') await container.start();
      else if (action === 'stop') await container.stop({ t: 10 });
      else await container.restart({ t: 10 });
    } catch (err: any) {
      if (!isAlreadyInState(err)) throw err;
    }
    const info = await container.inspect();
    return `${c.name} is ${info.State.Status}.`;
  }

  /** The policy as the agent may see it (no secrets in it). */
  describePolicy(): Record<string, unknown> {
    const { bridge, tier } = this.rules;
    return {
      tier,
      tiers: { strict: 'no commands', moderate: 'whitelisted commands only', permissive: 'anything except bridge.deny and interpreters (a deny list: not sound; only the physical view and masking hold)' },
      physicalView: 'commands, read_file and list_files run in a view of the container where blocked paths are absent (empty files, empty folders, no other processes in /proc); where that view cannot be built, only exactly whitelisted commands run',
      containers: bridge.containers,
      permissions: bridge.permissions,
      exec: bridge.exec,
      prefixEntries: 'an entry ending in " *" lets the agent add any argument; refused in every tier: options that run commands or write files (also abbreviated or in a cluster), npm/npx/yarn/pnpm option words before "--", and env/sudo variable assignments the entry does not spell out. A linter, test runner or build tool given any argument can still run code: prefer exact entries for them',
      deny: bridge.deny,
      blockedPaths: this.blocked.patterns,
      alwaysBlocked: '/proc/*/environ, /proc/*/root, /proc/self, /dev/fd and similar are blocked regardless of policy',
      masking: 'every output is masked (passwords, tokens, keys, URL credentials, JWTs, private keys, known secret values)',
      editedIn: '.paddock/policy.yaml (by a person; the sandbox cannot change it)',
    };
  }
}

/** A command run without the view (./callLauncher.ts) whose launcher could not keep its processes together. */
function launcherDenial(c: TargetContainer, failure: string): BridgeDenied {
  return new BridgeDenied('no launcher', `the launcher that keeps the command's processes where a stop finds them could not be set up in ${c.name} (${failure}); nothing ran.`, `call again; if it persists, the target may have no room for another process (its pids or memory limit): restart it (docker restart ${c.name}).`);
}

function viewDenial(c: TargetContainer, failure: string): BridgeDenied {
  return new BridgeDenied('no physical view', `the view of ${c.name} without its blocked paths could not be set up (${failure}); nothing ran.`, 'check that the target runs under runc on an engine that allows SYS_ADMIN for a helper container; report it if it persists.');
}

interface ArchiveEntry {
  readonly name: string;
  readonly type: string;
  readonly size: number;
  readonly linkname?: string;
  readonly data?: Buffer;
}

/** A sink for one output stream: decoded as UTF-8, masked as it streams, capped at OUTPUT_LIMIT (cut before any partial secret). */
function collectMasked(masker: ReturnType<Masker['stream']>): { sink: PassThrough; finish: (truncated: boolean) => string } {
  const sink = new PassThrough();
  const decoder = new StringDecoder('utf8');
  let text = '';
  let dropped = 0;
  const add = (s: string) => {
    if (text.length < OUTPUT_LIMIT) text += masker.cut(s, OUTPUT_LIMIT - text.length);
    dropped += Math.max(0, s.length - Math.max(0, OUTPUT_LIMIT - text.length));
  };
  sink.on('data', (chunk: Buffer) => add(masker.push(decoder.write(chunk))));
  return {
    sink,
    finish: (truncated) => {
      add(masker.push(decoder.end()) + masker.end({ truncated }));
      return dropped ? `${text}\n[truncated: ${dropped} more characters]` : text;
    },
  };
}

/** `since`: a duration ("10m", "2h", "30s", "1d"), an ISO time, or Unix seconds. */
export function parseSince(since: string | undefined, now = Date.now()): number | undefined {
  if (since === undefined || since === '') return undefined;
  const duration = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/.exec(since.trim());
  if (duration) {
    const seconds = Number(duration[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[duration[2] as 's' | 'm' | 'h' | 'd'];
    return Math.floor(now / 1000 - seconds);
  }
  if (/^\d+$/.test(since.trim())) return Number(since.trim());
  const time = Date.parse(since);
  if (Number.isNaN(time)) throw new BridgeDenied('invalid since', `"${since}" is not a duration (10m, 2h), an ISO time or Unix seconds.`);
  return Math.floor(time / 1000);
}
