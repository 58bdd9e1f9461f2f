import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { connectionFailure, describeError, engineLost, PaddockError } from '../core/errors.js';
import { shownControls } from '../core/terminalText.js';
import { PADDOCK_VERSION } from '../core/version.js';
import type { SandboxEngine } from '../engine/engine.js';
import type { ExecTarget, SandboxClient } from '../engine/sandboxClient.js';
import type { SandboxDetails } from '../engine/types.js';
import type { EarlyCheck } from '../engine/verify.js';
import { ExitWith, registerLifecycleCommands } from './lifecycle.js';
import { trace } from '../engine/trace.js';

// What every `paddock` command shares: global options, the engine connection, sandbox lookup, the
// lifecycle commands (lifecycle.ts) and the handling of errors. Two entries build on it: main.ts
// (every command) and main-exec.ts (`exec` alone, see bin/paddock). Commands load what they use
// when they run (the bundle is split at these imports): `--version` and `--help` load no engine client.

const engineModule = () => import('../engine/engine.js');
const clientModule = () => import('../engine/sandboxClient.js');

/** The engine this command talks to, so that losing it mid-way is told as that (see main). */
let connectedEngine: SandboxClient | undefined;

/**
 * The engine connection alone (../engine/sandboxClient.ts): enough to find a sandbox and run a
 * command in it, so `exec` loads no policy, egress or template code.
 */
async function clientFrom(cmd: Command): Promise<SandboxClient> {
  const opts = cmd.optsWithGlobals() as { host?: string; context?: string };
  const { connectClient } = await clientModule();
  try {
    return (connectedEngine = connectClient({ host: opts.host, context: opts.context }));
  } catch (err) {
    throw new PaddockError(describeError(err));
  }
}

async function engineFrom(cmd: Command): Promise<SandboxEngine> {
  const [client, { SandboxEngine }] = await Promise.all([clientFrom(cmd), engineModule()]);
  return (connectedEngine = new SandboxEngine(client.docker, client.endpoint));
}

/** A lookup whose failure is not Paddock's own asks the engine first: when none answers, that is said, with how to start one. */
async function lookUp<T>(client: SandboxClient, find: () => Promise<T>): Promise<T> {
  try {
    return await find();
  } catch (err) {
    if (err instanceof PaddockError) throw err;
    await client.ping();
    throw err;
  }
}

/** A sandbox given by name or id, or by its workspace folder when that has exactly one (one inspect for a name). */
async function findSandbox(engine: SandboxEngine, ref: string): Promise<SandboxDetails> {
  return (await lookUp(engine, () => engine.find(ref))) ?? sandboxOfFolder(engine, ref);
}

/** What `exec` needs of a sandbox: one inspect for a name, without the rest of the engine; a workspace folder as findSandbox. */
async function findExecTarget(client: SandboxClient, ref: string, cmd: Command): Promise<ExecTarget> {
  return (await lookUp(client, () => client.execTarget(ref))) ?? sandboxOfFolder(await engineFrom(cmd), ref);
}

/** The one sandbox of a workspace folder given instead of a name. */
async function sandboxOfFolder(engine: SandboxEngine, ref: string): Promise<SandboxDetails> {
  const path = resolve(ref);
  if (existsSync(path)) {
    const inWorkspace = await engine.list({ workspace: path });
    const only = inWorkspace.length === 1 ? await engine.find(inWorkspace[0].id) : undefined;
    if (only) return only;
    if (inWorkspace.length > 1) throw new PaddockError(`Workspace ${path} has ${inWorkspace.length} sandboxes.`, `Name one: ${inWorkspace.map((s) => s.name).join(', ')}.`);
  }
  throw new PaddockError(`No sandbox named "${ref}".`, 'Run "paddock ls" to see the sandboxes.');
}

async function resolveSandbox(engine: SandboxEngine, ref: string): Promise<string> {
  return (await findSandbox(engine, ref)).name;
}

/** The command line's global options and the lifecycle commands, and what the other commands' tables need from here. */
export function lifecycleProgram(argv: readonly string[], earlyCheck?: EarlyCheck): { program: Command; engineFrom: typeof engineFrom; resolveSandbox: typeof resolveSandbox } {
  const program = new Command('paddock')
    .description('Run AI coding agents (Claude Code, Gemini CLI, Codex, a shell) in sandboxes that see your project at its real path, but not its secrets.')
    .version(PADDOCK_VERSION, '-v, --version')
    .option('-H, --host <url>', 'Docker engine (unix://, tcp://, ssh://); default: DOCKER_HOST, then the current Docker context')
    .option('--context <name>', 'Docker context to use')
    .showHelpAfterError()
    .hook('preAction', (_program, action) => trace(`paddock ${action.name()}: modules loaded, command parsed`));

  registerLifecycleCommands(program, { clientFrom, engineFrom, findSandbox, findExecTarget, resolveSandbox, earlyCheck }, argv);
  return { program, engineFrom, resolveSandbox };
}

/**
 * A broken connection (connect ENOENT, ECONNRESET, socket hang up...) is told as the engine
 * stopping when the engine no longer answers a ping; when it does, the error is some other socket's.
 */
async function engineLostOr(err: unknown, engine: SandboxClient | undefined): Promise<unknown> {
  const failure = err instanceof PaddockError ? undefined : connectionFailure(err);
  if (!failure || !engine) return err;
  const timeout = new Promise<boolean>((r) => setTimeout(() => r(false), 3000).unref());
  const answers = await Promise.race([engine.docker.ping().then(() => true, () => false), timeout]);
  return answers ? err : engineLost(failure, engine.endpoint.host);
}

/** Says on stderr why a command failed (a lost engine as that) and returns its exit code. */
export async function reportFailure(err: unknown, engine: SandboxClient | undefined = connectedEngine): Promise<number> {
  err = await engineLostOr(err, engine);
  // A message may quote the sandbox's words (a path, a log line): control characters are shown, not obeyed.
  process.stderr.write(`paddock: ${shownControls(describeError(err))}\n`);
  return err instanceof PaddockError ? err.exitCode : 1;
}

/** Runs the command line with a program built from lifecycleProgram; returns the exit code. */
export async function runProgram(program: Command, argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof ExitWith) return err.code;
    return reportFailure(err);
  }
}
