import type { Readable, Writable } from 'node:stream';
import type Docker from 'dockerode';
import { engineSource, PaddockError } from '../core/errors.js';
import { CONTAINER_NAME, LABELS } from '../core/naming.js';
import { shownControls } from '../core/terminalText.js';
import { execBaseEnv } from './agentUser.js';
import { connect, engineHttpFor, resolveEndpoint, type EndpointInputs, type EngineEndpoint } from './connection.js';
import { inspectOrUndefined, runExec, textSink, writeDemuxed, type EngineExec, type EngineHttp } from './docker.js';
import { withoutRuntimeWaitFailure } from './runtime.js';
import { REMOVED_CAUSE, REMOVED_OUTSIDE, stopCause, withoutStartAdvice } from './stopCause.js';
import { applyInitialSize, sizedArgv } from './tty.js';
import type { SandboxDetails, SandboxStatus } from './types.js';

// The part of the engine that `paddock exec` needs: the connection, one inspect, the exec. It
// imports no policy, egress or template code (zod, yaml, picomatch...), so the CLI's exec loads
// about a fifth of what the whole engine (./engine.ts, which extends this class) loads; and its
// inspect and exec go through the lean EngineHttp (./docker.ts), so dockerode is not even evaluated.

/** The init's refusal to start in an image without awk, which every guard inside needs (templates/base/paddock-init). */
export const NO_AWK_LINE = 'paddock: no awk in this image';

export interface ExecOptions {
  readonly user?: string;
  readonly workdir?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly tty?: boolean;
  readonly stdin?: Readable;
  readonly stdout?: Writable;
  readonly stderr?: Writable;
  /** Terminal size, and a way to follow resizes: call the returned function with new sizes. */
  readonly size?: { rows: number; cols: number };
  readonly onResizer?: (resize: (rows: number, cols: number) => void) => void;
}

/** Why a sandbox stopped itself: its guard's message, and the paths it names ("PATH (hidden)"). */
export interface StopReason {
  readonly text: string;
  readonly paths: readonly string[];
  /** The init's guard said it, as the log's last words (a cause Paddock found elsewhere is not in the log). */
  readonly inLog?: true;
}

/** What running a command in a sandbox needs to know of it (a SandboxDetails is one). */
export type ExecTarget = Pick<SandboxDetails, 'id' | 'name' | 'workspace' | 'status'> & { readonly runtime?: string };

export function statusOf(state: string | undefined): SandboxStatus {
  switch (state) {
    case 'running': return 'running';
    case 'created': return 'created';
    case 'paused': return 'paused';
    case 'restarting': return 'restarting';
    case 'removing': return 'removing';
    case 'dead': return 'dead';
    default: return 'stopped';
  }
}

/** The engine named by the inputs (see ./connection.ts), without the rest of the engine's code. */
export function connectClient(inputs: EndpointInputs = {}): SandboxClient {
  return new SandboxClient(undefined, resolveEndpoint(inputs));
}

export class SandboxClient {
  #docker: Docker | undefined;
  /** inspect and exec's client (undefined for a TLS engine: dockerode then). */
  readonly engineHttp: EngineHttp | undefined;

  /** `docker`: the engine's dockerode client, or undefined to make it when first used. */
  constructor(docker: Docker | undefined, readonly endpoint: EngineEndpoint) {
    this.#docker = docker;
    this.engineHttp = engineHttpFor(endpoint);
  }

  /** dockerode, for everything but inspect and exec (loaded and connected on first use). */
  get docker(): Docker {
    return (this.#docker ??= connect(this.endpoint));
  }

  /** Fails with a message that says how to start an engine when none answers. */
  async ping(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (err: any) {
      const from = engineSource(this.endpoint.source);
      const how = this.endpoint.source === 'default'
        ? 'Start Docker (Docker Desktop, or "sudo systemctl start docker" on Linux), or point DOCKER_HOST / a Docker context at an engine.'
        : `Check ${this.endpoint.source === 'setting' ? 'that address' : from}, or start that engine.`;
      throw new PaddockError(`No Docker engine answers at ${this.endpoint.host} (${from}): ${err?.code ?? err?.message ?? err}.`, how);
    }
  }

  /**
   * A sandbox's container from one inspect, or undefined when no container has that name or id; a
   * container Paddock did not create is an error.
   */
  async inspectSandbox(nameOrId: string): Promise<Docker.ContainerInspectInfo | undefined> {
    if (!CONTAINER_NAME.test(nameOrId)) return undefined;
    const info = this.engineHttp ? await this.engineHttp.inspectContainer(nameOrId) : await inspectOrUndefined(this.docker.getContainer(nameOrId));
    if (!info) return undefined;
    if (info.Config.Labels?.[LABELS.sandbox] !== '1') {
      throw new PaddockError(`"${nameOrId}" is a container, but not a Paddock sandbox.`, 'Paddock only manages the containers it created; run "paddock ls".');
    }
    return info;
  }

  /** A sandbox to run commands in, from one inspect (see inspectSandbox). */
  async execTarget(nameOrId: string): Promise<ExecTarget | undefined> {
    const info = await this.inspectSandbox(nameOrId);
    return info && {
      name: info.Name.replace(/^\//, ''),
      id: info.Id,
      workspace: info.Config.Labels?.[LABELS.workspace] ?? '',
      status: statusOf(info.State.Status),
      runtime: info.HostConfig.Runtime ?? '',
    };
  }

  /** Runs argv in a running sandbox (named, or as execTarget() or find() returned it) and returns its exit code. */
  async exec(target: string | ExecTarget, argv: readonly string[], options: ExecOptions = {}): Promise<number> {
    const sandbox = typeof target === 'string' ? await this.execTarget(target) : target;
    if (!sandbox) throw new PaddockError(`No sandbox named "${target}".`, 'Run "paddock ls" to see the sandboxes.');
    if (sandbox.status !== 'running') {
      const why = await this.stopReason(sandbox.id);
      if (why?.text === REMOVED_OUTSIDE) throw new PaddockError(`Sandbox ${sandbox.name} was ${REMOVED_CAUSE}.`, 'Make a new one with "paddock run" or "paddock create".');
      throw new PaddockError(`Sandbox ${sandbox.name} is ${sandbox.status}${why ? ` (${withoutStartAdvice(why.text, sandbox.name)})` : ''}.`, `Start it with "paddock start ${sandbox.name}".`);
    }
    const tty = !!options.tty;
    const user = options.user ?? 'agent';
    const create = {
      Cmd: tty && options.size ? sizedArgv(argv, options.size.rows, options.size.cols) : [...argv],
      User: user,
      WorkingDir: options.workdir ?? sandbox.workspace,
      Env: Object.entries({ ...execBaseEnv(user), ...options.env }).map(([k, v]) => `${k}=${v}`),
      ...(tty && options.size ? { ConsoleSize: [options.size.rows, options.size.cols] } : {}),
    } as Docker.ExecCreateOptions;
    // gVisor's own words for a command lost with its stopped sandbox are left out: why it stopped is said by Paddock.
    // Under gVisor the engine may keep such a command's stream open for ever, with those words or with
    // none (seen with the docker CLI too: about 1 in 6 guard stops under load). So an exec there looks
    // at its sandbox every second (after the words at once, then every 200 ms for 2 s) and ends, as
    // killed (137), once the sandbox has lost the command: gone, stopped, or frozen after the words.
    // The words alone end nothing (the agent can print them too). runc ends the stream with the sandbox.
    const lost = new AbortController();
    let execEnded = false;
    let wordsCame = false;
    let quickLooks = 0;
    let lookNow: (() => void) | undefined;
    const confirmLost = () => { wordsCame = true; quickLooks = 10; lookNow?.(); };
    if (!endsWithItsSandbox(sandbox.runtime)) {
      void (async () => {
        while (!lost.signal.aborted && !execEnded) {
          await new Promise<void>((resolve) => { lookNow = resolve; setTimeout(resolve, quickLooks > 0 ? 200 : 1000).unref(); });
          lookNow = undefined;
          if (lost.signal.aborted || execEnded) return;
          if (quickLooks > 0) quickLooks--;
          const info = await this.inspectSandbox(sandbox.id).catch(() => 'engine not answering' as const);
          if (info === 'engine not answering') continue;
          if (!info?.State.Running || (wordsCame && info.State.Paused)) return lost.abort();
        }
      })();
    }
    const stdout = withoutRuntimeWaitFailure(options.stdout ?? process.stdout, confirmLost);
    const stderr = withoutRuntimeWaitFailure(options.stderr ?? process.stderr, confirmLost);
    const io = {
      stdout: stdout.stream, stderr: stderr.stream, stdin: options.stdin, tty, signal: lost.signal,
      onStarted: async (exec: Docker.Exec | EngineExec) => {
        if (tty && options.size) await applyInitialSize(exec, options.size.rows, options.size.cols);
        options.onResizer?.((rows, cols) => { exec.resize({ h: rows, w: cols }).catch(() => {}); });
      },
    };
    const end = await (this.engineHttp ? runExec(this.engineHttp, sandbox.id, create, io) : runExec(this.docker, sandbox.id, create, io))
      .finally(() => { execEnded = true; });
    if (lost.signal.aborted) return 137;
    if (end.streamError) throw end.streamError;
    return end.exitCode ?? 0;
  }

  /** Runs argv and collects its output (for checks and tests). */
  async execCapture(nameOrId: string, argv: readonly string[], options: Omit<ExecOptions, 'stdout' | 'stderr'> = {}): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    const out = textSink();
    const err = textSink();
    const exitCode = await this.exec(nameOrId, argv, { ...options, stdout: out.sink, stderr: err.sink });
    return { exitCode, stdout: out.text(), stderr: err.text() };
  }

  /**
   * Why a stopped sandbox stopped, when Paddock stopped it: its init's guard (templates/base/paddock-init)
   * ends it when the host lifts a protecting mount, and says so as its last words, "paddock:
   * protection lifted: PATH (hidden|read-only)... replaced or removed on the host, ...", or when the
   * agent writes a git redirection (a commondir), "paddock: blocked: PATH... written in the sandbox ...",
   * or a symlink in a caged git dir, "paddock: blocked: symlink PATH (to TARGET)... written in the sandbox ...",
   * or when a path its hide rules name appeared where no mount hides it ("paddock: new secret: ...", and
   * at start "paddock: not hidden: ...").
   */
  async stopReason(nameOrId: string, removed?: { readonly name: string; readonly id?: string }): Promise<StopReason | undefined> {
    for (const line of (await this.logsText(nameOrId, 5)).trim().split('\n').reverse()) {
      if (line.startsWith('paddock: ready')) break; // started again since
      const lifted = /^paddock: (protection lifted: (.*) replaced or removed on the host.*)$/.exec(line);
      if (lifted) return { inLog: true, text: lifted[1], paths: lifted[2].split(/(?<=\)) /) };
      const blocked = /^paddock: (blocked: (.*) written in the sandbox would make git on the host.*)$/.exec(line);
      // A symlink in a git dir: "blocked: symlink PATH (to TARGET), PATH (to TARGET)... written in the sandbox ...".
      if (blocked?.[2].startsWith('symlink ')) return { inLog: true, text: blocked[1], paths: [...blocked[2].slice('symlink '.length).matchAll(/(?:^|, )(\/.*?) \(to /g)].map((m) => m[1]) };
      if (blocked) return { inLog: true, text: blocked[1], paths: blocked[2].trim().split(' ') };
      // Its guard of secrets that appear (./newSecretsRules.ts): "new secret: PATH (hide "RULE") appeared ...", "not hidden: PATH (hide "RULE"), ... appeared after ...".
      const secret = /^paddock: ((?:new secret|not hidden): (.*) appeared (?:in the workspace|after this container).*)$/.exec(line);
      if (secret) return { inLog: true, text: secret[1], paths: [...secret[2].matchAll(/(?:^|, )(.+?) \(hide "/g)].map((m) => m[1]) };
      if (line.startsWith('paddock: the watch for new secrets failed') || line.startsWith('paddock: cannot watch the workspace for new secrets')) return { inLog: true, text: line.slice('paddock: '.length), paths: [] };
      // Its refusal to start with no awk, which every guard inside needs.
      if (line.startsWith(NO_AWK_LINE)) return { inLog: true, text: line.slice('paddock: '.length), paths: [] };
    }
    const cause = await stopCause(this.docker, nameOrId, removed).catch(() => undefined); // OOM, an engine restart (./stopCause.ts)
    return cause ? { text: cause, paths: [] } : undefined;
  }

  /** The log's last lines. They hold names the agent chose (a file, a symlink's target): their control characters are shown, never obeyed. */
  protected async logsText(id: string, tail: number): Promise<string> {
    try {
      const buffer = (await this.docker.getContainer(id).logs({ stdout: true, stderr: true, tail } as any)) as unknown as Buffer;
      const out = textSink();
      writeDemuxed(buffer, out.sink, out.sink);
      return shownControls(out.text());
    } catch {
      return '(no log)';
    }
  }
}

/** Whether an exec's stream ends by itself when its sandbox stops: runc's (the engine's default name, or its containerd shim's). */
function endsWithItsSandbox(runtime: string | undefined): boolean {
  return runtime !== undefined && /^(?:|runc|io\.containerd\.runc\.v\d+)$/.test(runtime);
}
