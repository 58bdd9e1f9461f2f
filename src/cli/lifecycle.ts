import type { Command } from 'commander';
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Writable } from 'node:stream';
import { isatty } from 'node:tty';
import { AGENT_IDS, agentArgv, getAgent } from '../core/agents.js';
import { engineSource, PaddockError } from '../core/errors.js';
import { parseEnvAssignments } from '../core/options.js';
import { PADDOCK_VERSION } from '../core/version.js';
import { assetRoot } from '../engine/assets.js';
import type { SandboxEngine } from '../engine/engine.js';
import type { ExecTarget, SandboxClient } from '../engine/sandboxClient.js';
import { gvisorSocketNote } from '../engine/runtime.js';
import { withStopCauses } from '../engine/stopCause.js';
import type { PreparedSandbox, SandboxRequest } from '../engine/sandboxes.js';
import type { SandboxDetails, SandboxSummary } from '../engine/types.js';
import type { EarlyCheck } from '../engine/verify.js';
import { attach } from './attach.js';
import { writeExecNotes } from './execNotes.js';
import { formatTable, humanBytes, log, since } from './format.js';
import { taskRequestFrom, withTaskOptions } from './tasks.js';

// The sandbox's life: run, create, apply, ls, inspect, exec, logs, stop, start, rm, reset, info, demo.

/** Thrown to leave with a given exit code (exec passes the command's code through). */
export class ExitWith extends Error {
  constructor(readonly code: number) { super(`exit ${code}`); }
}


// These commands load what they use when they run (the bundle is split at these imports): `exec`
// loads no MCP SDK or policy schema.
const engineModule = () => import('../engine/engine.js');
const sandboxesModule = () => import('../engine/sandboxes.js');
const bridgeHostModule = () => import('./bridge-host.js');

/** Hosts the sandbox's bridge and guards its hiding around an agent session (see ./bridge-host.ts). */
async function withBridge<T>(engine: SandboxEngine, sandbox: SandboxDetails, body: (session: { stdout: Writable }) => Promise<T>, options?: { onResumed?: (sandbox: SandboxDetails) => void }): Promise<T> {
  return (await bridgeHostModule()).withBridge(engine, sandbox, body, options);
}

/**
 * Splits a command's operands at `--`: what comes after it belongs to the agent or command, even
 * when it looks like an option. Commander merges both sides into `cmd.args`, so the split is
 * taken from the raw argv.
 */
function splitAtDashes(cmd: Command, argv: readonly string[]): { before: string[]; after: string[] } {
  const at = argv.indexOf('--');
  const after = at < 0 ? [] : argv.slice(at + 1);
  return { before: cmd.args.slice(0, cmd.args.length - after.length), after };
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Options shared by `run` and `create`: everything fixed when a sandbox is created. */
function withCreateOptions(cmd: Command): Command {
  return cmd
    .option('--name <name>', 'sandbox name (default: paddock-AGENT-FOLDER-HASH)')
    .option('-e, --env <K=V>', 'environment variable (repeatable; K alone passes the host value)', collect, [])
    .option('--env-file <file>', 'read environment variables from a file (repeatable)', collect, [])
    .option('--cpus <n>', 'CPU limit (default 2)')
    .option('--memory <size>', 'memory limit, e.g. 4g (default 4g)')
    .option('--pids <n>', 'process limit (default 1024)')
    .option('-p, --publish <port>', 'publish a port on 127.0.0.1: PORT or HOSTPORT:PORT (repeatable)', collect, [])
    .option('--runtime <name>', 'container runtime: runc, runsc (gVisor), kata... as listed by "paddock info"')
    .option('--template <image>', 'use this image instead of building the agent template')
    // No default here: a sandbox keeps the base image it was created with (an apply that names none too).
    .option('--base-image <image>', 'base image of the templates (default: debian:bookworm-slim, or what the sandbox was created with)')
    .option('--ca-cert <file>', 'extra CA certificate to trust in builds and the sandbox (repeatable; default: the host\'s extra CAs, or those the sandbox was created with)', collect, [])
    .option('--no-host-ca', 'do not add the host\'s extra CA certificates')
    .option('--rebuild', 'rebuild the template image even if it is up to date')
    .option('--apply', 'apply these options and the policy to the existing sandbox: a new container that keeps its state (installed packages, the agent\'s home)')
    .option('--recreate', 'the same as --apply (its former name; the state is kept too)')
    .option('--no-inject-keys', 'do not keep the host\'s API keys outside the sandbox for its proxy to inject (pass them with -e to put them inside)');
}

function requestFrom(agent: string, workspace: string | undefined, o: any): SandboxRequest {
  const caCertificates: string[] | undefined = o.caCert.length ? o.caCert : o.hostCa === false ? [] : undefined;
  return {
    agent, workspace: workspace ?? process.cwd(), name: o.name, env: o.env, envFiles: o.envFile,
    cpus: o.cpus, memory: o.memory, pids: o.pids, ports: o.publish, runtime: o.runtime, template: o.template, recreate: !!(o.apply || o.recreate), injectKeys: o.injectKeys !== false,
    templateOptions: { baseImage: o.baseImage, caCertificates, rebuild: !!o.rebuild, onProgress: progressPrinter() },
  };
}

/** Build logs are long: show step lines, and everything when PADDOCK_VERBOSE is set. */
function progressPrinter(): (line: string) => void {
  const verbose = !!process.env.PADDOCK_VERBOSE;
  return (line) => {
    if (verbose || /^(Building|Step \d+\/\d+|Successfully|Creating|Starting|Applying|Saving|Waiting)/.test(line)) log(`  ${line}`);
  };
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/**
 * Prepares the sandbox of an agent session; when it needs a recreate and a person is at the
 * terminal, asks. The bridge host loads while the engine starts the sandbox.
 */
async function prepareSession(engine: SandboxEngine, request: SandboxRequest, earlyCheck?: EarlyCheck) {
  const { prepareSandbox, RecreateNeeded, STARTING_SANDBOX } = await sandboxesModule();
  const printer = progressPrinter();
  const progress = (line: string) => {
    // The bridge host (the MCP SDK, zod: the largest part of the CLI) compiles while the engine
    // starts the sandbox, not after it.
    if (line === STARTING_SANDBOX) bridgeHostModule().catch(() => {}); // a failure shows where it is used
    printer(line);
  };
  const offer = request.recreate ? undefined : await applyOffer(engine, request);
  if (offer && (await confirm(offer))) request = { ...request, recreate: true };
  // The check of a sandbox that kept running (a helper container, started as the command began when
  // it could be: ./runEarly.ts) goes on while the bridge is hosted: see startSession.
  const options = { deferRunningCheck: true, earlyCheck };
  try {
    return await prepareSandbox(engine, request, progress, options);
  } catch (err) {
    if (err instanceof RecreateNeeded && (await confirm(`${err.message}\nApply changes to ${err.sandbox} now (keeps state)?`))) {
      return prepareSandbox(engine, { ...request, recreate: true }, progress, options);
    }
    throw err;
  }
}

/**
 * An agent session in a prepared sandbox: its bridge hosted, then the notes of the running
 * sandbox's check (made meanwhile; its refusal ends the session before the agent starts), then the agent attached. When the hiding guard ends the
 * container and resumes the sandbox in a new one (a secret appeared, a hidden file was replaced:
 * src/engine/hidingGuard.ts), the agent is started again there, with its bridge and guard, and
 * the guard's line says why. Returns the last session's exit code.
 */
async function startSession(engine: SandboxEngine, prepared: PreparedSandbox, argv: string[]): Promise<number> {
  let sandbox: SandboxDetails | undefined = prepared.sandbox;
  let laterNotes = prepared.laterNotes;
  try {
    for (;;) {
      const current: SandboxDetails = sandbox;
      sandbox = undefined;
      const code = await withBridge(engine, current, async (session) => {
        for (const note of (await laterNotes) ?? []) log(`note: ${note}`);
        laterNotes = undefined;
        return attach(engine, current.id, argv, session);
      }, { onResumed: (next) => { sandbox = next; } });
      if (!sandbox) return code;
    }
  } finally {
    await prepared.laterNotes?.catch(() => {}); // a failed hosting does not leave the check's helper container behind
  }
}

/**
 * At a terminal, before a session or a start: when the sandbox's container no longer matches its
 * policy file (hide rules, cage, env, limits, ports; files to hide that appeared), the question
 * that offers to apply the changes. Undefined when nothing differs or no one can answer.
 */
async function applyOffer(engine: SandboxEngine, target: SandboxRequest | SandboxDetails): Promise<string | undefined> {
  if (!process.stdin.isTTY) return undefined;
  let id: string | undefined;
  if ('id' in target) id = target.id;
  else {
    const ws = resolve(target.workspace);
    if (!existsSync(ws)) return undefined;
    id = (await engine.findFor(ws, target.agent))?.id;
  }
  if (!id) return undefined;
  const pending = await (await import('../engine/apply.js')).pendingApply(engine, id).catch(() => undefined);
  if (!pending?.reasons.length) return undefined;
  return `${pending.sandbox}: ${pending.reasons.join('; ')}.\nApply changes (keeps state: installed packages, the agent's home)?`;
}

/** The request that applies the policy (and the options in `o`) to an existing sandbox; a task's sandbox stays its task's. */
async function applyRequest(engine: SandboxEngine, sandbox: SandboxDetails, o: any): Promise<SandboxRequest> {
  const { workspace: source, task } = await (await import('../engine/apply.js')).applySource(engine, sandbox);
  const request = { ...requestFrom(sandbox.agent, source, { ...o, name: sandbox.name }), recreate: true };
  return task ? taskRequestFrom(engine, request, { task }) : request;
}

function printSandboxes(list: SandboxSummary[], json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
    return;
  }
  if (!list.length) {
    process.stdout.write('No sandboxes. Start one with "paddock run claude [WORKSPACE]".\n');
    return;
  }
  process.stdout.write(formatTable(['NAME', 'AGENT', 'STATUS', 'RUNTIME', 'PORTS', 'CREATED', 'WORKSPACE'], list.map((s) => [
    s.name, s.agent, s.status, s.runtime, s.ports.map((p) => `${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.protocol}`).join(', ') || '-',
    since(s.created), s.workspace,
  ])));
}

/** What the lifecycle commands need from main.ts (engine connection and sandbox lookup). */
export interface LifecycleContext {
  readonly clientFrom: (cmd: Command) => Promise<SandboxClient>;
  readonly engineFrom: (cmd: Command) => Promise<SandboxEngine>;
  readonly findSandbox: (engine: SandboxEngine, ref: string) => Promise<SandboxDetails>;
  readonly findExecTarget: (client: SandboxClient, ref: string, cmd: Command) => Promise<ExecTarget>;
  readonly resolveSandbox: (engine: SandboxEngine, ref: string) => Promise<string>;
  /** `run`'s check of a running sandbox, started before the command table loaded (bin/paddock, ./runEarly.ts). */
  readonly earlyCheck?: EarlyCheck;
}

/** `argv` is the raw command line: what follows `--` goes to the agent or command as it is. */
export function registerLifecycleCommands(program: Command, ctx: LifecycleContext, argv: readonly string[]): void {
  const { clientFrom, engineFrom, findSandbox, findExecTarget, resolveSandbox } = ctx;
  withTaskOptions(withCreateOptions(program.command('run')
    .description('Create the sandbox of AGENT for WORKSPACE if needed, start it, and attach a terminal to the agent')
    .argument('<agent>', `one of ${AGENT_IDS.join(', ')}`)
    .argument('[workspace]', 'project folder (default: current folder)')
    .argument('[agentArgs...]', 'arguments for the agent, after --')
    .option('--no-auto-approve', 'start the agent in its normal, prompting mode')))
    .action(async (agentName: string, workspace: string | undefined, _rest: string[], o: any, cmd: Command) => {
      getAgent(agentName);
      const { before, after: agentArgs } = splitAtDashes(cmd, argv);
      if (before.length > 2) throw new PaddockError(`Unexpected argument "${before[2]}".`, 'Put arguments for the agent after --, e.g. paddock run claude . -- -p "hello".');
      const engine = await engineFrom(cmd);
      const prepared = await prepareSession(engine, await taskRequestFrom(engine, requestFrom(agentName, workspace, o), o), ctx.earlyCheck);
      for (const note of prepared.notes) log(`note: ${note}`);
      log(`${prepared.created ? 'Created' : prepared.applied ? 'Applied changes to' : 'Using'} sandbox ${prepared.sandbox.name} (${prepared.sandbox.workspace})`);
      throw new ExitWith(await startSession(engine, prepared, agentArgv(prepared.agent, agentArgs, o.autoApprove)));
    });

  withTaskOptions(withCreateOptions(program.command('create')
    .description('Create (and start) the sandbox of AGENT for WORKSPACE without attaching')
    .argument('<agent>', `one of ${AGENT_IDS.join(', ')}`)
    .argument('[workspace]', 'project folder (default: current folder)')
    .option('--json', 'print the sandbox as JSON')))
    .action(async (agentName: string, workspace: string | undefined, o: any, cmd: Command) => {
      getAgent(agentName);
      const engine = await engineFrom(cmd);
      await engine.ping();
      const request = await taskRequestFrom(engine, requestFrom(agentName, workspace, o), o);
      const ws = (await engineModule()).checkWorkspace(request.workspace);
      const existing = await engine.findFor(ws, agentName);
      if (existing && !o.recreate && !o.apply) {
        throw new PaddockError(`Workspace ${ws} already has a ${agentName} sandbox (${existing.name}).`, `Use "paddock run ${agentName} ${ws}", or "paddock apply ${existing.name}" to apply changed options (keeps its state).`);
      }
      const prepared = await (await sandboxesModule()).prepareSandbox(engine, { ...request, workspace: ws }, progressPrinter());
      for (const note of prepared.notes) log(`note: ${note}`);
      if (o.json) process.stdout.write(`${JSON.stringify(prepared.sandbox, null, 2)}\n`);
      else process.stdout.write(`${prepared.sandbox.name}\n`);
    });

  withCreateOptions(program.command('apply')
    .description('Apply the policy file and the given options to a sandbox: a new container that keeps its state (installed packages, the agent\'s home, caches); hiding is expanded again and the cage re-applied')
    .argument('<sandbox>', `a sandbox name or id, or an agent (${AGENT_IDS.join(', ')}) followed by [workspace]`)
    .argument('[workspace]', 'with an agent: the project folder (default: current folder)')
    .option('--json', 'print the sandbox as JSON'))
    .action(async (ref: string, workspace: string | undefined, o: any, cmd: Command) => {
      const engine = await engineFrom(cmd);
      await engine.ping();
      let sandbox: SandboxDetails;
      if ((AGENT_IDS as readonly string[]).includes(ref)) {
        const ws = (await engineModule()).checkWorkspace(workspace ?? process.cwd());
        const found = await engine.findFor(ws, ref);
        if (!found) throw new PaddockError(`Workspace ${ws} has no ${ref} sandbox to apply changes to.`, `Create it with "paddock run ${ref} ${ws}".`);
        sandbox = await engine.get(found.id);
      } else {
        if (workspace) throw new PaddockError(`Unexpected argument "${workspace}".`, 'A workspace follows an agent ("paddock apply claude ."), not a sandbox name.');
        sandbox = await findSandbox(engine, ref);
      }
      const started = Date.now();
      const prepared = await (await sandboxesModule()).prepareSandbox(engine, await applyRequest(engine, sandbox, o), progressPrinter());
      for (const note of prepared.notes) log(`note: ${note}`);
      log(`Applied changes to ${prepared.sandbox.name} in ${((Date.now() - started) / 1000).toFixed(1)} s (its state is kept)`);
      if (o.json) process.stdout.write(`${JSON.stringify(prepared.sandbox, null, 2)}\n`);
      else process.stdout.write(`${prepared.sandbox.name}\n`);
    });

  program.command('ls').alias('list')
    .description('List sandboxes')
    .option('--json', 'print a JSON array')
    .option('-w, --workspace <folder>', 'only the sandboxes of this workspace')
    .action(async (o: any, cmd: Command) => {
      // The engine connection and the listing alone: no egress, policy or template code to load.
      const [client, { listSandboxes }] = await Promise.all([clientFrom(cmd), import('../engine/listing.js')]);
      await client.ping();
      const list = await listSandboxes(client.docker, { workspace: o.workspace ? resolve(o.workspace) : undefined });
      printSandboxes(o.json ? list : await withStopCauses(client, list), !!o.json);
    });

  program.command('inspect')
    .description('Show a sandbox: mounts, environment variable names (never values), limits, ports')
    .argument('<sandbox>', 'name, id, or workspace folder')
    .option('--json', 'print JSON')
    .action(async (ref: string, o: any, cmd: Command) => {
      const engine = await engineFrom(cmd);
      const d = await engine.get(await resolveSandbox(engine, ref));
      if (o.json) {
        process.stdout.write(`${JSON.stringify(d, null, 2)}\n`);
        return;
      }
      const lines = [
        `Name:      ${d.name}`, `Id:        ${d.id.slice(0, 12)}`, `Agent:     ${d.agent}`, `Workspace: ${d.workspace}`,
        `Status:    ${d.status}${d.startedAt ? ` (up ${since(d.startedAt, '')})` : ''}`, `Runtime:   ${d.runtime}`, `Image:     ${d.image}`,
        `User:      agent (uid ${d.user.uid}, gid ${d.user.gid})`,
        `Limits:    ${d.limits.cpus} CPUs, ${humanBytes(d.limits.memoryBytes)} memory, ${d.limits.pids} processes`,
        `Ports:     ${d.ports.map((p) => `${p.hostIp}:${p.hostPort} -> ${p.containerPort}/${p.protocol}`).join(', ') || 'none'}`,
        `Env:       ${d.envNames.join(', ') || 'none'}`,
        `API keys:  ${d.injectedKeys.length ? `${d.injectedKeys.join(', ')} (injected by the egress proxy; not in the sandbox)` : 'none injected'}`,
        'Mounts:', ...d.mounts.map((m) => `  ${m.target}  (${m.type}${m.readOnly ? ', read-only' : ''}${m.source && m.type === 'bind' ? ` from ${m.source}` : ''})`),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });

  program.command('exec')
    .description('Run a command in a running sandbox as the agent user; its exit code is passed through')
    .argument('<sandbox>', 'name, id, or workspace folder')
    .argument('[command...]', 'the command, after --')
    .option('-u, --user <user>', 'run as this user instead of "agent" (e.g. root to install packages)')
    .option('-w, --workdir <dir>', 'working directory (default: the workspace)')
    .option('-e, --env <K=V>', 'environment variable for this command (repeatable; K alone passes the host value)', collect, [])
    .action(async (ref: string, _command: string[], o: any, cmd: Command) => {
      // The engine connection alone: the rest of the engine loads only when a failure needs a note.
      const engine = await clientFrom(cmd);
      const sandbox = await findExecTarget(engine, ref, cmd);
      const env = parseEnvAssignments(o.env as string[]); // `-e K` alone passes the host's value, as for create
      const { before, after } = splitAtDashes(cmd, argv);
      const command = after.length ? after : before.slice(1);
      if (!command.length) throw new PaddockError('No command given.', 'Put the command after --, e.g. paddock exec SANDBOX -- ls -la.');
      const code = await attach(engine, sandbox, command, { user: o.user, workdir: o.workdir, env });
      await writeExecNotes(engine, sandbox, code); // the memory kill, a replaced workspace, a removed proxy
      throw new ExitWith(code);
    });

  program.command('logs')
    .description('Show the output of a sandbox\'s main process')
    .argument('<sandbox>', 'name, id, or workspace folder')
    .option('-f, --follow', 'keep following')
    .option('-n, --tail <lines>', 'only the last lines')
    .action(async (ref: string, o: any, cmd: Command) => {
      const engine = await engineFrom(cmd);
      const name = await resolveSandbox(engine, ref);
      await engine.logs(name, { follow: !!o.follow, tail: o.tail ? Number(o.tail) : undefined });
      // What the log cannot show: the kernel's memory kill, a stop from outside Paddock (on stderr).
      // A guard's stop is the log's own last line, above: nothing is said after it.
      const why = await engine.stopReason(name).catch(() => undefined);
      if (why && !why.inLog) process.stderr.write(`paddock: ${name}: ${why.text}\n`);
    });

  program.command('stop')
    .description('Stop sandboxes (their state is kept)')
    .argument('<sandbox...>', 'names, ids, or workspace folders')
    .action(async (refs: string[], _o: any, cmd: Command) => {
      const engine = await engineFrom(cmd);
      for (const ref of refs) {
        const sandbox = await findSandbox(engine, ref);
        await engine.stop(sandbox);
        process.stdout.write(`${sandbox.name}\n`);
      }
    });

  program.command('start')
    .description('Start stopped sandboxes')
    .argument('<sandbox...>', 'names, ids, or workspace folders')
    .action(async (refs: string[], _o: any, cmd: Command) => {
      const engine = await engineFrom(cmd);
      for (const ref of refs) {
        const sandbox = await findSandbox(engine, ref);
        const offer = await applyOffer(engine, sandbox);
        if (offer && (await confirm(offer))) {
          const prepared = await (await sandboxesModule()).prepareSandbox(engine, await applyRequest(engine, sandbox, { hostCa: true, caCert: [], env: [], envFile: [], publish: [] }), progressPrinter());
          for (const note of prepared.notes) log(`note: ${note}`);
          process.stdout.write(`${prepared.sandbox.name}\n`);
          continue;
        }
        for (const note of await (await import('../engine/startNotes.js')).startNotes(engine, sandbox)) log(`note: ${note}`);
        process.stdout.write(`${(await engine.start(sandbox.id)).name}\n`);
      }
    });

  program.command('rm').alias('remove')
    .description('Remove sandboxes and their state (the workspace on the host is never touched)')
    .argument('<sandbox...>', 'names, ids, or workspace folders')
    .action(async (refs: string[], _o: any, cmd: Command) => {
      const engine = await engineFrom(cmd);
      for (const ref of refs) {
        const d = await findSandbox(engine, ref);
        await engine.remove(d);
        process.stdout.write(`${d.name}\n`);
      }
    });

  program.command('reset')
    .description('Remove every Paddock sandbox on this engine (workspaces are never touched)')
    .option('-y, --yes', 'do not ask')
    .action(async (o: any, cmd: Command) => {
      const engine = await engineFrom(cmd);
      await engine.ping();
      const count = (await engine.list()).length;
      if (!count) {
        process.stdout.write('No sandboxes to remove.\n');
        return;
      }
      if (!o.yes && !(await confirm(count === 1 ? 'Remove the one Paddock sandbox and its state?' : `Remove all ${count} Paddock sandboxes and their state?`))) {
        throw new PaddockError('Nothing removed.', 'Add --yes to confirm without a prompt.');
      }
      for (const name of await engine.reset()) process.stdout.write(`${name}\n`);
    });

  program.command('info')
    .description('Show the Docker engine Paddock uses and the runtimes it offers')
    .option('--json', 'print JSON')
    .action(async (o: any, cmd: Command) => {
      const engine = await engineFrom(cmd);
      await engine.ping();
      const version = await engine.version();
      const runtimes = await engine.runtimes();
      const traits = await Promise.all(runtimes.names.map((r) => engine.runtimeTraits(r)));
      const gvisor = traits.filter((t) => t.gvisor).map((t) => ({ name: t.name, network: t.networkNone ? 'none (egress over Unix sockets)' : 'own', hostUnixSockets: t.hostUnixSockets }));
      const info = { paddock: PADDOCK_VERSION, engine: { host: engine.endpoint.host, source: engine.endpoint.source, ...version }, runtimes: { ...runtimes, gvisor } };
      if (o.json) process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
      else {
        process.stdout.write(`Paddock ${PADDOCK_VERSION}\nEngine:   ${info.engine.host} (${engineSource(info.engine.source)}), Docker ${version.version}, API ${version.apiVersion}\nRuntimes: ${runtimes.names.map((r) => (r === runtimes.default ? `${r} (default)` : r)).join(', ')}\n`);
        for (const g of gvisor) process.stdout.write(`gVisor:   ${g.name}: network ${g.network}; host Unix sockets ${g.hostUnixSockets ? 'allowed' : 'not allowed (no --host-uds)'}\n`);
        for (const t of traits) {
          const note = gvisorSocketNote(t);
          if (note) process.stdout.write(`note: ${note}\n`);
        }
      }
    });

  withCreateOptions(program.command('demo')
    .description('Run an agent in a sandbox on the embedded demo workspace (copied to ~/.cache/paddock/demo)')
    .option('--agent <agent>', `agent to run: ${AGENT_IDS.join(', ')}`, 'claude')
    .argument('[agentArgs...]', 'arguments for the agent, after --')
    .option('--no-auto-approve', 'start the agent in its normal, prompting mode'))
    .action(async (_rest: string[], o: any, cmd: Command) => {
      const { after: agentArgs } = splitAtDashes(cmd, argv);
      const agent = getAgent(o.agent);
      const workspace = demoWorkspace();
      const engine = await engineFrom(cmd);
      const prepared = await prepareSession(engine, requestFrom(agent.id, workspace, o));
      log(`${prepared.created ? 'Created' : 'Using'} sandbox ${prepared.sandbox.name} on the demo workspace ${workspace}`);
      // Without a terminal an agent leaves its screen for a one-shot mode that wants a prompt, and its own error says little of why.
      if (!isatty(0) && !agentArgs.length && agent.id !== 'shell') {
        log(`note: there is no terminal here, so ${agent.label} runs without its screen and needs a prompt, on standard input or as its arguments after "--". Run the demo in a terminal to use it as you would.`);
      }
      throw new ExitWith(await startSession(engine, prepared, agentArgv(prepared.agent, agentArgs, o.autoApprove)));
    });
}

/** The demo workspace lives outside the installation, so an agent's edits never touch Paddock's files. */
function demoWorkspace(): string {
  const target = process.env.PADDOCK_DEMO_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'paddock', 'demo');
  if (!existsSync(target)) {
    mkdirSync(target, { recursive: true });
    cpSync(join(assetRoot(), 'examples', 'demo'), target, { recursive: true });
  }
  return target;
}
