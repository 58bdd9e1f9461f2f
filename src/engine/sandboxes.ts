import { existsSync, readFileSync } from 'node:fs';
import type Docker from 'dockerode';
import { join } from 'node:path';
import { getAgent, type AgentSpec } from '../core/agents.js';
import { PaddockError } from '../core/errors.js';
import { loadPolicy, type LoadedPolicy, type Policy } from '../core/policy.js';
import { planMounts } from '../core/hiding.js';
import { dockerMounts, hidingNotes, hidingStateOf, runningHidingNotes } from './hiding.js';
import { hostKeyFor, KEY_PROVIDER_IDS, KEY_PROVIDERS, planKeyInjection, providerVariables } from '../core/credentials.js';
import { KEY_INJECTION_BASE } from '../proxy/addresses.js';
import { checkNetworkPolicy, egressNote, egressStateOf } from './egress.js';
import { gvisorSocketNote } from './runtime.js';
import { parseEnvAssignments, parseEnvFile, parsePort, resolveLimits } from '../core/options.js';
import { checkWorkspace, envHash, type SandboxEngine } from './engine.js';
import { approvePolicy, readApprovedPolicy, readWorkspaceApproval } from './approvedPolicy.js';
import { writeCreatedRules } from './liveRules.js';
import { withSandboxLock } from './sandboxLock.js';
import { repairSandbox } from './repair.js';
import { hostPackageSources, packageSourceRules } from './packageSources.js';
import { TemplateBuilder, type TemplateOptions } from './templates.js';
import type { SandboxDetails, SandboxSummary } from './types.js';
import type { EarlyCheck } from './verify.js';
import { trace } from './trace.js';
import { buildOptionsFor, givenOptions, keepCreateOptions, readCreateOptions, recordOf, writeCreateOptions, type GivenOptions } from './createOptions.js';
import { CONTAINER_POLICY_LABEL, containerPolicyHash, keepState, templateChanged, withStateNote, type KeptState } from './apply.js';

/** Everything a user can say about a sandbox when creating or running one. */
export interface SandboxRequest {
  readonly agent: string;
  readonly workspace: string;
  readonly name?: string;
  /** `K=V` (or `K` to pass the host's value). */
  readonly env?: readonly string[];
  readonly envFiles?: readonly string[];
  readonly cpus?: string | number;
  readonly memory?: string | number;
  readonly pids?: string | number;
  readonly ports?: readonly (string | number)[];
  readonly runtime?: string;
  /** An image to use as it is, instead of building a template. */
  readonly template?: string;
  readonly templateOptions?: TemplateOptions;
  /** Apply the request and policy to an existing sandbox: a new container that keeps its state (./apply.ts). */
  readonly recreate?: boolean;
  /**
   * Keep the host's API keys (ANTHROPIC_API_KEY, OPENAI_API_KEY, GEMINI_API_KEY...) outside the
   * sandbox and have its egress proxy inject them (default true; applies when the sandbox is created).
   */
  readonly injectKeys?: boolean;
  /** A task's sandbox (./tasks.ts): the workspace whose policy, approvals and .paddock/Dockerfile apply, and its labels and mounts. */
  readonly task?: { readonly source: string; readonly labels: Readonly<Record<string, string>>; readonly mounts: Docker.MountConfig };
}

/** Thrown when a sandbox exists but was created with other settings; `recreate` resolves it. */
export class RecreateNeeded extends PaddockError {
  constructor(readonly sandbox: string, readonly reason: string) {
    super(`Sandbox ${sandbox} was created with ${reason}; changes take effect when they are applied (a new container that keeps the sandbox's state).`,
      `Run "paddock apply ${sandbox}" with these options, or add --apply (--recreate), or drop the changed options.`);
  }
}

export interface PreparedSandbox {
  readonly sandbox: SandboxDetails;
  readonly agent: AgentSpec;
  readonly created: boolean;
  /** Notes for the user (e.g. the template changed since the sandbox was created). */
  readonly notes: string[];
  /** The changes were applied to an existing sandbox: a new container with its state. */
  readonly applied?: boolean;
  /**
   * With `deferRunningCheck`: the notes of the check of a sandbox that kept running (hidden paths
   * readable now), still under way; the caller awaits them before the agent starts. Rejects when the
   * agent must not start (a hiding mount lost, or the check could not run: ./hiding.ts).
   */
  readonly laterNotes?: Promise<string[]>;
}

export interface PrepareOptions {
  /**
   * Return before the check of a sandbox that kept running (a helper container) ends, as
   * `laterNotes`: the caller does its own start-up work meanwhile (the CLI hosts the bridge).
   */
  readonly deferRunningCheck?: boolean;
  /** That check's helper, started as the command began (src/cli/runEarly.ts). */
  readonly earlyCheck?: EarlyCheck;
}

function readEnv(request: SandboxRequest): Record<string, string> {
  let env: Record<string, string> = {};
  for (const file of request.envFiles ?? []) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      throw new PaddockError(`Cannot read the env file ${file}.`, 'Check the --env-file path.');
    }
    env = { ...env, ...parseEnvFile(text, file) };
  }
  return { ...env, ...parseEnvAssignments(request.env ?? []) };
}

/**
 * The sandbox's environment, limits and ports: the policy's env, resources and ports are defaults;
 * options given on the command line (or kept from create) win. The agent's own variables (e.g.
 * IS_SANDBOX) count as part of the sandbox's environment.
 */
function effectiveOptions(agent: AgentSpec, policy: Policy, given: GivenOptions) {
  const resources = policy.resources;
  return {
    env: { ...agent.env, ...policy.env, ...given.env },
    limits: resolveLimits({ cpus: given.cpus ?? resources.cpus, memory: given.memory ?? resources.memory, pids: given.pids ?? resources.pids }),
    ports: (given.ports?.length ? given.ports : policy.ports).map(parsePort),
  };
}

/** Builds (or reuses) the image a request needs. */
export async function imageFor(engine: SandboxEngine, agent: AgentSpec, workspace: string, request: SandboxRequest): Promise<string> {
  const builder = new TemplateBuilder(engine.docker);
  if (request.template) {
    if (!(await builder.imageId(request.template))) {
      throw new PaddockError(`The template image "${request.template}" is not on the engine.`, `Build or pull it first ("docker pull ${request.template}").`);
    }
    return request.template;
  }
  const image = await builder.ensureAgentImage(agent.template, request.templateOptions);
  const custom = join(workspace, '.paddock');
  if (existsSync(join(custom, 'Dockerfile'))) return builder.ensureWorkspaceImage(custom, image, request.templateOptions);
  return image;
}

/** The progress line prepareSandbox reports as the engine starts the sandbox (its longest wait). */
export const STARTING_SANDBOX = 'Starting sandbox';

/**
 * Finds the one sandbox of (workspace, agent) or creates it, then starts it. Reuse keeps the
 * sandbox's state; options that only apply at creation are compared and, when they differ,
 * the caller is told that a recreate is needed rather than silently ignored.
 */
export async function prepareSandbox(engine: SandboxEngine, request: SandboxRequest, onProgress: (line: string) => void = () => {}, options: PrepareOptions = {}): Promise<PreparedSandbox> {
  const agent = getAgent(request.agent);
  const workspace = checkWorkspace(request.workspace);
  // Two processes asking at once (terminals, the editor and the CLI) end with one sandbox: the later one reuses it.
  return withSandboxLock(workspace, agent.id, () => prepareUnlocked(engine, request, onProgress, options), { onWait: onProgress });
}

async function prepareUnlocked(engine: SandboxEngine, request: SandboxRequest, onProgress: (line: string) => void, options: PrepareOptions): Promise<PreparedSandbox> {
  const agent = getAgent(request.agent);
  const workspace = checkWorkspace(request.workspace);
  // A broken policy file stops here, before anything is built or created.
  const policySource = request.task?.source ?? workspace;
  const policy = loadPolicy(policySource);
  // Bad options stop here, before anything is built; an apply adds the kept ones below.
  let given = givenOptions(request, readEnv(request));
  let { env, limits, ports } = effectiveOptions(agent, policy.policy, given);
  // Hide globs are expanded again at every create and start.
  const plan = planMounts(workspace, policy.policy);
  // Bad network rules stop here too, before anything is built or created.
  checkNetworkPolicy(policy.policy.network, policy.file);
  trace(`policy read, ${plan.mounts.length} hiding mounts planned`);
  // The workspace's sandboxes (this agent's, and the others whose approvals a new one is checked
  // against) are asked beside the ping: when the engine is down, the ping's error is the one said.
  const listing = engine.list({ workspace });
  listing.catch(() => {}); // awaited below; this only keeps an early failure from being "unhandled"
  await engine.ping();
  // An unknown runtime stops here, before anything is built.
  const asked = request.runtime ? await engine.runtimeTraits(request.runtime) : undefined;
  const notes: string[] = [];

  const ofWorkspace = await listing;
  let existing = ofWorkspace.find((s) => s.agent === agent.id);
  // A new sandbox needs the engine's default runtime (docker info, the slowest lookup): asked while the image is checked.
  const defaultRuntime = asked || (existing && !request.recreate) ? undefined : engine.runtimeTraits();
  defaultRuntime?.catch(() => {}); // awaited below; this only keeps an early failure from being "unhandled"
  if (existing && request.name && existing.name !== request.name) {
    throw new PaddockError(`Workspace ${workspace} already has a ${agent.id} sandbox named ${existing.name}.`, `Use that name, or "paddock rm ${existing.name}" first.`);
  }
  if (existing && request.recreate) {
    // An apply keeps what the sandbox was created with unless given again or changed in the policy (./createOptions.ts).
    const kept = keepCreateOptions(existing.name, readCreateOptions(existing.name), given, policy.policy);
    given = kept.given;
    notes.push(...kept.notes);
    ({ env, limits, ports } = effectiveOptions(agent, policy.policy, given));
  }
  if (!existing || request.recreate) await refuseUnapprovedPolicy(engine, policySource, policy, policySource === workspace ? ofWorkspace : undefined);
  // A new sandbox is allowed the machine's package registries: read them while the image is made.
  const registries = policy.policy.network.hostRegistries && (!existing || request.recreate)
    ? hostPackageSources().then(packageSourceRules) : Promise.resolve([]);
  // A sandbox created from --template (or another base image, CA) is compared with that image, not the agent's default template.
  const createdWith = existing ? readCreateOptions(existing.name)?.given : undefined;
  const image = await imageFor(engine, agent, policySource, { ...request, template: given.template ?? createdWith?.template, templateOptions: buildOptionsFor(request.templateOptions, given, createdWith) });
  trace(`image ${image} checked`);
  let details = existing && (await engine.get(existing.id));
  // What is missing of it (proxy, network, folders, token, keys) is made again, its state kept (./repair.ts).
  if (details && !request.recreate) {
    const repaired = await repairSandbox(engine, details);
    notes.push(...repaired);
    if (repaired.length) details = await engine.get(details.id); // one note per repair: nothing changed without one
  }
  let kept: KeptState | undefined;
  if (details) {
    const reasons: string[] = [];
    const envGiven = (request.env?.length ?? 0) + (request.envFiles?.length ?? 0) > 0;
    if (envGiven && (await labelOf(engine, details.id, 'dev.paddock.env-hash')) !== envHash(env)) reasons.push('other environment variables');
    if (request.runtime && request.runtime !== details.runtime) reasons.push(`runtime ${details.runtime} (asked: ${request.runtime})`);
    if (request.cpus !== undefined && limits.nanoCpus / 1e9 !== details.limits.cpus) reasons.push(`${details.limits.cpus} CPUs`);
    if (request.memory !== undefined && limits.memoryBytes !== details.limits.memoryBytes) reasons.push('another memory limit');
    if (request.pids !== undefined && limits.pids !== details.limits.pids) reasons.push('another pids limit');
    const havePorts = new Set(details.ports.map((p) => `${p.containerPort}/${p.protocol}`));
    if (ports.some((p) => !havePorts.has(`${p.containerPort}/${p.protocol}`))) reasons.push('other published ports');
    if (reasons.length && !request.recreate) throw new RecreateNeeded(details.name, reasons.join(', '));
    if (request.recreate) {
      onProgress(`Applying changes to ${details.name} (its state is kept)`);
      kept = await keepState(engine, details, image, onProgress);
      existing = undefined;
      details = undefined;
    } else if (await templateChanged(engine, details, image)) {
      notes.push(`The ${agent.id} template changed since ${details.name} was created; apply it ("paddock apply ${details.name}") to use the new image (the agent's home is kept).`);
    }
  }
  const injectKeys = request.injectKeys !== false && given.injectKeys !== false;
  if (!details) {
    const runtime = asked ?? await (defaultRuntime ?? engine.runtimeTraits());
    const cutOff = gvisorSocketNote(runtime);
    if (cutOff) notes.push(cutOff);
    const keys = injectKeys ? planKeyInjection(process.env, env, KEY_INJECTION_BASE) : undefined;
    const spec = { workspace, agent: agent.id, image, name: request.name, env, limits, ports, runtime: request.runtime, runtimeTraits: runtime, policyHash: policy.hash, extraMounts: [...dockerMounts(plan), ...(request.task?.mounts ?? [])], labels: { ...request.task?.labels, [CONTAINER_POLICY_LABEL]: containerPolicyHash(policy.policy) }, network: withRules(policy.policy.network, await registries), keys };
    details = kept ? await engine.create(await kept.adapt(spec), onProgress).catch((err) => { throw withStateNote(err, kept!.failed()); }) : await engine.create(spec, onProgress);
    await kept?.created(details);
    // Creating the sandbox approves the policy it is created with (see approvedPolicy.ts).
    approvePolicy(details.name, policy, 'create', workspace);
    writeCreateOptions(details.name, recordOf(given, policy.policy));
    // Its proxy follows these rules from its first start; approvals and `paddock network` change them live.
    writeCreatedRules(details.name, policy.policy.network, await registries);
    if (keys) notes.push(...keys.notes, ...keys.keys.map((k) => `${k.source} stays on the host: the sandbox's egress proxy adds it to requests for ${new URL(k.upstream).host}; the agent sees only a placeholder.`));
  } else if (injectKeys) {
    notes.push(...missedKeyNotes(details, env));
  }
  const created = !existing;
  // A sandbox that kept running may have lost a hiding mount (a file replaced on the host): check from
  // outside, started now (its start below changes nothing in the container), with the plan just made
  // when it is of this workspace's own policy file (a task's sandbox checks against its own folder's).
  const wasRunning = !created && details.status === 'running';
  const runningCheck = wasRunning ? runningHidingNotes(engine, details, options.earlyCheck, policySource === workspace ? { workspace, plan } : undefined) : undefined;
  runningCheck?.catch(() => {}); // awaited by the caller, or below; this only keeps an early failure from being "unhandled"
  if (!created) notes.push(...hidingNotes(plan, await hidingStateOf(engine, details.id), policy));
  else notes.push(...plan.notes);
  // The shared egress service is made again at every start: only a proxy of its own can be missing.
  const egress = created || details.sharedEgress ? undefined : egressNote(await egressStateOf(engine.docker, details.name), details.name);
  if (egress) notes.push(egress);
  onProgress(STARTING_SANDBOX);
  trace('starting');
  const sandbox = await engine.start(details);
  trace('started');
  if (kept) notes.push(...(await kept.started(sandbox)));
  if (runningCheck && options.deferRunningCheck) return { sandbox, agent, created: created && !kept, notes, applied: !!kept, laterNotes: runningCheck };
  if (runningCheck) notes.push(...(await runningCheck));
  return { sandbox, agent, created: created && !kept, notes, applied: !!kept };
}

/**
 * A sandbox of this workspace may have written its policy file (where .paddock did not exist when
 * it was created), also one removed since: a file that no sandbox of the workspace runs with, that
 * differs from the workspace's last approval, and that the user did not apply, does not become a
 * new sandbox's cage by itself. The workspace's first sandbox ever takes the file as it is (running
 * create is the user's action, and no sandbox could have written it).
 */
async function refuseUnapprovedPolicy(engine: SandboxEngine, workspace: string, policy: LoadedPolicy, listed?: readonly SandboxSummary[]): Promise<void> {
  const others = listed ?? await engine.list({ workspace });
  const approved = others.map((s) => readApprovedPolicy(s.name)?.hash).filter((h): h is string => !!h);
  const last = readWorkspaceApproval(workspace);
  if (last) approved.push(last.hash);
  if (!approved.length || approved.includes(policy.hash)) return;
  const since = others.length ? `it was last applied to the sandboxes of ${workspace} (${others.map((s) => s.name).join(', ')})` : `it was last approved for ${workspace} (${last!.at.slice(0, 16).replace('T', ' ')} UTC, by ${last!.source === 'cli' ? 'paddock policy apply' : last!.source === 'editor' ? 'a save in VS Code' : 'creating a sandbox'}; a sandbox removed since could have written it)`;
  throw new PaddockError(
    `${policy.file ?? 'The policy'} changed since ${since}, not by a save in VS Code or "paddock policy apply": a sandbox could have written it, so Paddock does not build a new sandbox's cage from it by itself.`,
    `Review the file, then run "paddock policy apply ${workspace}" (or save it in VS Code) and run this again.`,
  );
}

function withRules<N extends { allow: readonly string[] }>(network: N, extra: readonly string[]): N {
  return extra.length ? { ...network, allow: [...new Set([...network.allow, ...extra])] } : network;
}

/** Keys the host has now that an existing sandbox was created without (they need a recreate). */
function missedKeyNotes(details: SandboxDetails, env: Readonly<Record<string, string>>): string[] {
  const notes: string[] = [];
  for (const id of KEY_PROVIDER_IDS) {
    if (details.injectedKeys.includes(id)) continue;
    const provider = KEY_PROVIDERS[id];
    const key = hostKeyFor(provider, process.env);
    const own = providerVariables(provider).some((n) => n in env || details.envNames.includes(n));
    if (key && !own) notes.push(`${key.source} is set on the host, but ${details.name} was created without it; "paddock apply ${details.name}" (its state is kept) has its proxy inject the key.`);
  }
  return notes;
}

async function labelOf(engine: SandboxEngine, id: string, label: string): Promise<string | undefined> {
  return (await engine.docker.getContainer(id).inspect()).Config.Labels?.[label];
}
