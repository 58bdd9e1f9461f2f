import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import type Docker from 'dockerode';
import picomatch from 'picomatch';
import type { PathMatcher } from '../core/bridgeExecRules.js';
import { LABELS } from '../core/naming.js';
import { execCollect, isConflict, isNotFound } from '../engine/docker.js';
import { paddockBaseImage } from '../engine/egress.js';
import type { TargetContainer } from './allowedContainers.js';
import { stopUntilEnded } from './stopCall.js';
import { VIEW_PROLOGUE, VIEW_READY, VIEW_STOPPER, VIEW_WALKS } from './viewPrologue.js';

/** Labels of a view helper: Paddock's own (so no bridge ever reaches it) and the target it serves. */
const VIEW_OF = 'dev.paddock.bridge-view-of';

export type ViewAvailability =
  | { readonly ok: true; readonly helperId: string }
  | { readonly ok: false; readonly reason: string; readonly fix: string };

/** What the prologue needs of the target besides the command: its user, folder and environment. */
export interface ViewTarget {
  readonly user: string;
  readonly workdir: string;
  readonly env: readonly string[];
}

/**
 * Physical blocked paths for the bridge: every command (and read_file/list_files) runs in a view of
 * the target container where blocked paths are absent (./viewPrologue.ts). The view is built by a
 * helper container per target, from Paddock's base image, sharing the target's PID namespace, with
 * SYS_ADMIN (mount namespaces) and SYS_PTRACE (to join the target's namespaces); the
 * command itself never holds more than docker exec would give it.
 */
export class PhysicalViews {
  private readonly helpers = new Map<string, Promise<ViewAvailability>>();
  /** Made on the first view, not with the bridge (picomatch's compile was on a `paddock run`'s path before the agent's start). */
  private compiled?: { patterns: readonly string[]; walkKey: string };

  constructor(private readonly docker: Docker, private readonly blocked: PathMatcher) {}

  /** The blocked globs, backup forms included, as regular expressions for the prologue (picomatch's output is valid Perl). */
  get patterns(): readonly string[] {
    return this.compile().patterns;
  }

  /** Names the prologue's saved walk for these patterns in the helper: another policy never reuses it. */
  private get walkKey(): string {
    return this.compile().walkKey;
  }

  private compile(): { patterns: readonly string[]; walkKey: string } {
    if (!this.compiled) {
      const patterns = this.blocked.globs.flatMap((pattern) => {
        const variants = pattern.endsWith('/**') ? [pattern, pattern.slice(0, -3)] : [pattern];
        return variants.map((v) => picomatch.makeRe(v.startsWith('/') || v.startsWith('**') ? v : `**/${v}`, { dot: true }).source);
      });
      this.compiled = { patterns, walkKey: createHash('sha256').update(JSON.stringify(patterns)).digest('hex').slice(0, 32) };
    }
    return this.compiled;
  }

  /**
   * The helper for `c`, created (or re-created after the target restarted) on first use, then the
   * one known is given without asking the engine (an inspect on every call took 7-171 ms under load,
   * README "Load"): a helper found gone when a call uses it is made again by `withHelper`.
   */
  async forTarget(c: TargetContainer, info: Docker.ContainerInspectInfo): Promise<ViewAvailability> {
    const runtime = info.HostConfig.Runtime || 'runc';
    if (runtime !== 'runc') {
      return { ok: false, reason: `${c.name} runs under ${runtime}, whose namespaces a helper container cannot join`, fix: `run ${c.name} under runc, or whitelist the exact commands you need (entries without " *")` };
    }
    const key = `${c.id}@${info.State.StartedAt}`;
    let helper = this.helpers.get(key);
    if (!helper) {
      helper = this.ensureHelper(c, info).catch((err: any) => ({
        ok: false as const,
        reason: `its helper container could not be started (${String(err?.message ?? err).split('\n')[0].slice(0, 200)})`,
        fix: 'an engine that allows SYS_ADMIN for a container (not rootless, no policy refusing it) is needed, or whitelist the exact commands you need (entries without " *")',
      }));
      this.helpers.set(key, helper);
    }
    const result = await helper;
    if (!result.ok && this.helpers.get(key) === helper) this.helpers.delete(key); // try again next time: the cause may be fixed
    return result;
  }

  /**
   * Runs `use` with the view of `c`. When the engine refuses to start a process in the helper
   * because it is gone or stopped (removed by hand, or its target's PID namespace ended), nothing
   * ran: the helper is made again and `use` runs once more. `use` says, by returning from `ran`,
   * whether its process had started when it failed; then it is never run again.
   */
  async withHelper<T>(c: TargetContainer, info: Docker.ContainerInspectInfo, use: (view: ViewAvailability, ran: () => void) => Promise<T>): Promise<T> {
    const view = await this.forTarget(c, info);
    let started = false;
    try {
      return await use(view, () => { started = true; });
    } catch (err) {
      if (!view.ok || started || !helperGone(err)) throw err;
      // Forgotten unless another call already put a new helper in its place.
      const key = `${c.id}@${info.State.StartedAt}`;
      const known = this.helpers.get(key);
      const knownView = known && await known;
      if (this.helpers.get(key) === known && knownView?.ok && knownView.helperId === view.helperId) this.helpers.delete(key);
      return use(await this.forTarget(c, info), () => {});
    }
  }

  private async ensureHelper(c: TargetContainer, info: Docker.ContainerInspectInfo): Promise<ViewAvailability> {
    const name = `paddock-bridge-view-${c.id.slice(0, 12)}`;
    const existing = await this.docker.getContainer(name).inspect().catch((err) => (isNotFound(err) ? undefined : Promise.reject(err)));
    // A helper from before the target (re)started shares a PID namespace that is gone.
    if (existing && existing.State.Running && existing.State.StartedAt >= info.State.StartedAt && existing.Config.Labels?.[VIEW_OF] === c.id) {
      return { ok: true, helperId: existing.Id };
    }
    if (existing) await this.docker.getContainer(existing.Id).remove({ force: true }).catch(() => {});
    const image = await paddockBaseImage(this.docker);
    if (!image) return { ok: false, reason: 'there is no Paddock base image on the engine to build the view with', fix: 'create a sandbox once (it builds the base image), or whitelist the exact commands you need (entries without " *")' };
    const create = () => this.docker.createContainer({
      name, Image: image, Entrypoint: ['sleep'], Cmd: ['infinity'], User: '0:0', WorkingDir: '/',
      Env: ['PATH=/usr/bin:/bin'],
      Labels: { [VIEW_OF]: c.id, [LABELS.createdBy]: 'paddock' },
      NetworkDisabled: true,
      HostConfig: {
        PidMode: `container:${c.id}`, NetworkMode: 'none', Runtime: 'runc', ReadonlyRootfs: true,
        CapAdd: ['SYS_ADMIN', 'SYS_PTRACE'],
        SecurityOpt: ['no-new-privileges:true'],
        // Where the prologue keeps its walk of the target's tree between calls (./viewPrologue.ts).
        Tmpfs: { [VIEW_WALKS]: 'rw,noexec,nosuid,nodev,mode=0700,size=64m' },
        // Commands run in the helper's cgroup: give it the target's own limits.
        Memory: info.HostConfig.Memory || 0, PidsLimit: info.HostConfig.PidsLimit || 0, NanoCpus: info.HostConfig.NanoCpus || 0, CpuShares: info.HostConfig.CpuShares || 0,
        AutoRemove: true, // it ends with the target's PID namespace; nothing is left behind
      },
    });
    let helper: Docker.Container | undefined;
    // A conflict is another bridge's helper made just now (used), or the old one still going away
    // after the target restarted (removed, then made again).
    for (let attempt = 0; !helper; attempt++) {
      try {
        helper = await create();
      } catch (err) {
        if (!isConflict(err)) throw err;
        const other = await this.docker.getContainer(name).inspect().catch(() => undefined);
        if (other && other.Config.Labels?.[VIEW_OF] === c.id && (other.State.Running ? other.State.StartedAt >= info.State.StartedAt : other.State.Status === 'created')) {
          helper = this.docker.getContainer(other.Id);
        } else {
          if (attempt >= 20) throw err;
          if (other) await this.docker.getContainer(other.Id).remove({ force: true }).catch(() => {});
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
    }
    await helper.start().catch((err: any) => (err?.statusCode === 304 ? undefined : Promise.reject(err)));
    return { ok: true, helperId: (await helper.inspect()).Id };
  }

  /**
   * docker exec options that run `argv` (mode exec; exec-ready also says on stderr when the view is
   * built, see viewReadySignal) or read one file (mode read) in the view.
   * `call` names the run for stop(): a random id per call, or '-' for one nobody stops.
   */
  execOptions(mode: 'exec' | 'exec-ready' | 'read', target: ViewTarget, argv: readonly string[], maxBytes = 0, call = '-'): Docker.ExecCreateOptions {
    return {
      Cmd: ['perl', '-e', VIEW_PROLOGUE, call, mode, target.user, target.workdir, String(maxBytes), this.walkKey,
        String(this.patterns.length), ...this.patterns, String(target.env.length), ...target.env, '--', ...argv],
      User: '0:0', WorkingDir: '/', Env: ['PATH=/usr/bin:/bin', 'PERL5LIB=', 'PERL5OPT='],
    };
  }

  /**
   * Kills the command a call started in `helperId` with every process it left (VIEW_STOPPER), and
   * waits until the engine says the call's exec has ended. The stopper runs again while it has not
   * (the call may have been cancelled as its process was starting). False when it did not end in time.
   */
  stop(helperId: string, call: string, exec: Docker.Exec | undefined, timeoutMs = 15_000): Promise<boolean> {
    return stopUntilEnded(() => execCollect(this.docker, helperId, { Cmd: ['perl', '-e', VIEW_STOPPER, call], User: '0:0', WorkingDir: '/', Env: ['PATH=/usr/bin:/bin', 'PERL5LIB=', 'PERL5OPT='] }, { timeoutMs: 10_000 }), exec, timeoutMs);
  }
}

/**
 * The stderr of a command run in mode exec-ready, for `sink`: the prologue's VIEW_READY taken off its
 * front, and `ready()` true once it has come (the view is built: an exit code of 125 is then the
 * command's own, not the prologue's). Only the
 * stream's first bytes are looked at, so the same bytes written by the command (which runs only after
 * the prologue wrote them) are passed on as its output and signal nothing. A stream that starts
 * otherwise (the prologue failed before, with a "paddock-view:" line) is passed on whole and never
 * signals. `end` passes on what was held back while the start was still undecided.
 */
export function viewReadySignal(sink: Writable): { readonly stderr: Writable; ready(): boolean; end(): void } {
  const marker = Buffer.from(VIEW_READY);
  let head: Buffer | undefined = Buffer.alloc(0);
  let ready = false;
  const pass = (b: Buffer) => { if (b.length) sink.write(b); };
  const decide = (chunk: Buffer) => {
    if (!head) return pass(chunk);
    head = Buffer.concat([head, chunk]);
    const n = Math.min(head.length, marker.length);
    if (!head.subarray(0, n).equals(marker.subarray(0, n))) {
      const held = head;
      head = undefined;
      pass(held);
    } else if (head.length >= marker.length) {
      const rest = head.subarray(marker.length);
      head = undefined;
      ready = true;
      pass(rest);
    }
  };
  const stderr = new Writable({ write(chunk: Buffer, _encoding, done) { decide(chunk); done(); } });
  return {
    stderr,
    ready: () => ready,
    end: () => {
      const held = head;
      head = undefined;
      if (held) pass(held);
    },
  };
}

/** The engine refused a process in a container because it is gone (404) or not running (409). */
function helperGone(err: unknown): boolean {
  return isNotFound(err) || (isConflict(err) && /not running|is paused|restarting/i.test(String((err as { message?: string })?.message ?? '')));
}

/** The exit code and stderr line of a prologue that could not set up the view (nothing ran). */
export const VIEW_FAILED_EXIT = 125;
export function viewFailure(stderr: string): string | undefined {
  return /^paddock-view: (.*)$/m.exec(stderr)?.[1];
}

