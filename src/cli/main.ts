import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { connectionFailure, describeError, engineLost, PaddockError } from '../core/errors.js';
import { PADDOCK_VERSION } from '../core/version.js';
import type { SandboxEngine } from '../engine/engine.js';
import type { SandboxDetails } from '../engine/types.js';
import { registerBridgeCommands } from './bridge.js';
import { ExitWith, registerLifecycleCommands } from './lifecycle.js';
import { registerNetworkCommands } from './network.js';
import { registerHidingCommands } from './policy.js';
import { registerTaskCommands } from './tasks.js';

// The `paddock` command: global options, the engine connection and sandbox lookup every command
// shares, and the commands of lifecycle.ts, policy.ts, bridge.ts and network.ts. Commands load
// what they use when they run (the bundle is split at these imports): `--version` and `--help`
// load no engine client.

const engineModule = () => import('../engine/engine.js');

/** The engine this command talks to, so that losing it mid-way is told as that (see main). */
let connectedEngine: SandboxEngine | undefined;

async function engineFrom(cmd: Command): Promise<SandboxEngine> {
  const opts = cmd.optsWithGlobals() as { host?: string; context?: string };
  const { SandboxEngine } = await engineModule();
  try {
    return (connectedEngine = SandboxEngine.connect({ host: opts.host, context: opts.context }));
  } catch (err) {
    throw new PaddockError(describeError(err));
  }
}

/** A sandbox given by name or id, or by its workspace folder when that has exactly one (one inspect for a name). */
async function findSandbox(engine: SandboxEngine, ref: string): Promise<SandboxDetails> {
  let found: SandboxDetails | undefined;
  try {
    found = await engine.find(ref);
  } catch (err) {
    if (err instanceof PaddockError) throw err;
    await engine.ping(); // when no engine answers, this says how to start one
    throw err;
  }
  if (found) return found;
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

export function buildProgram(argv: readonly string[] = process.argv): Command {
  const program = new Command('paddock')
    .description('Run AI coding agents (Claude Code, Gemini CLI, Codex, a shell) in sandboxes that see your project at its real path, but not its secrets.')
    .version(PADDOCK_VERSION, '-v, --version')
    .option('-H, --host <url>', 'Docker engine (unix://, tcp://, ssh://); default: DOCKER_HOST, then the current Docker context')
    .option('--context <name>', 'Docker context to use')
    .showHelpAfterError();

  registerLifecycleCommands(program, { engineFrom, findSandbox, resolveSandbox }, argv);
  registerHidingCommands(program, { engineFrom, resolveSandbox });
  registerBridgeCommands(program, { engineFrom, resolveSandbox });
  registerNetworkCommands(program, { engineFrom, resolveSandbox });
  registerTaskCommands(program, { engineFrom });

  return program;
}

/**
 * A broken connection (connect ENOENT, ECONNRESET, socket hang up...) is told as the engine
 * stopping when the engine no longer answers a ping; when it does, the error is some other socket's.
 */
async function engineLostOr(err: unknown): Promise<unknown> {
  const failure = err instanceof PaddockError ? undefined : connectionFailure(err);
  if (!failure || !connectedEngine) return err;
  const timeout = new Promise<boolean>((r) => setTimeout(() => r(false), 3000).unref());
  const answers = await Promise.race([connectedEngine.docker.ping().then(() => true, () => false), timeout]);
  return answers ? err : engineLost(failure, connectedEngine.endpoint.host);
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram(argv).parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof ExitWith) return err.code;
    err = await engineLostOr(err);
    process.stderr.write(`paddock: ${describeError(err)}\n`);
    return err instanceof PaddockError ? err.exitCode : 1;
  }
}
