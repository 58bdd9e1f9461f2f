import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type Docker from 'dockerode';
import { connectionFailure, PaddockError } from '../core/errors.js';
import type { SandboxEngine } from './engine.js';
import { applyInitialSize, sizedArgv } from './tty.js';
import { execBaseEnv } from './agentUser.js';

/** A live TTY process in a sandbox, for editors' terminals: write keys, read output, resize, kill. */
export interface TerminalSession {
  /** Keys typed by the user (already encoded by the terminal emulator). */
  write(data: string): void;
  /** Resolves once the engine applied the size (the process gets SIGWINCH). */
  resize(rows: number, cols: number): Promise<void>;
  /** Resolves with the process's exit code once it has ended. */
  readonly exit: Promise<number>;
  /** Hangs up the process (SIGHUP, then SIGKILL), as closing a terminal window does. */
  kill(): Promise<void>;
}

export interface TerminalSessionOptions {
  readonly user?: string;
  readonly workdir?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly size?: { rows: number; cols: number };
  /** Output, decoded as UTF-8 without splitting characters across chunks. */
  readonly onData: (text: string) => void;
}

/**
 * Starts argv on a TTY in a running sandbox and hands back a handle (the CLI's `exec` waits
 * instead). The process writes its pid to a file first, so that kill() can hang it up even on a
 * remote engine, where host pids mean nothing.
 */
export async function openTerminalSession(engine: SandboxEngine, nameOrId: string, argv: readonly string[], options: TerminalSessionOptions): Promise<TerminalSession> {
  const sandbox = await engine.get(nameOrId);
  if (sandbox.status !== 'running') {
    throw new PaddockError(`Sandbox ${sandbox.name} is ${sandbox.status}.`, `Start it first ("paddock start ${sandbox.name}").`);
  }
  const user = options.user ?? 'agent';
  // A root session keeps its pid file where only root writes (the agent could otherwise point
  // kill() at another process, such as the sandbox's guard).
  const rootSession = user === 'root' || user === '0' || user.startsWith('0:') || user.startsWith('root:');
  const pidFile = `${rootSession ? '/run' : '/tmp'}/.paddock-terminal-${randomBytes(6).toString('hex')}`;
  const container = engine.docker.getContainer(sandbox.id);
  const size = options.size;
  const exec = await container.exec({
    Cmd: ['/bin/sh', '-c', 'echo $$ > "$0"; exec "$@"', pidFile, ...(size ? sizedArgv(argv, size.rows, size.cols) : argv)],
    User: user,
    WorkingDir: options.workdir ?? sandbox.workspace,
    Env: Object.entries({ ...execBaseEnv(user), TERM: 'xterm-256color', COLORTERM: 'truecolor', ...options.env }).map(([k, v]) => `${k}=${v}`),
    Tty: true,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    ...(size ? { ConsoleSize: [size.rows, size.cols] } : {}),
  } as Docker.ExecCreateOptions);
  const stream = (await exec.start({ hijack: true, stdin: true, Tty: true })) as unknown as Duplex;
  const decoder = new StringDecoder('utf8');
  stream.on('data', (chunk: Buffer) => {
    const text = decoder.write(chunk);
    if (text) options.onData(text);
  });
  const resize = async (rows: number, cols: number): Promise<void> => {
    if (rows > 0 && cols > 0) await exec.resize({ h: rows, w: cols }).catch(() => {});
  };
  if (size) await applyInitialSize(exec, size.rows, size.cols);

  const exit = new Promise<number>((resolve, reject) => {
    let done = false;
    const finish = async () => {
      if (done) return;
      done = true;
      const rest = decoder.end();
      if (rest) options.onData(rest);
      try {
        resolve((await exec.inspect()).ExitCode ?? 0);
      } catch (err) {
        if (connectionFailure(err)) reject(err); // the engine went away: the caller says so
        else resolve(-1); // the sandbox went away with the process
      }
    };
    stream.on('end', finish);
    stream.on('close', finish);
    stream.on('error', finish);
  });

  let killed = false;
  return {
    write(data) {
      if (!stream.destroyed) stream.write(data);
    },
    resize,
    exit,
    async kill() {
      if (killed) return;
      killed = true;
      // Absolute system programs (kill is the shell's own): the session may be root's, and the
      // agent can put a program of the same name earlier in PATH (see rootExec.ts).
      const script = `p=$(/bin/cat ${pidFile} 2>/dev/null) && case "$p" in ''|*[!0-9]*) false;; esac && { kill -HUP "$p" 2>/dev/null; /bin/sleep 1; kill -KILL "$p" 2>/dev/null; }; /bin/rm -f ${pidFile}; true`;
      const ended = await Promise.race([exit.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 50))]);
      if (!ended) await engine.execCapture(sandbox.id, ['/bin/sh', '-c', script], { user }).catch(() => undefined);
      stream.destroy();
    },
  };
}
