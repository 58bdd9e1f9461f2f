import { execFile } from 'node:child_process';
import { existsSync, realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { Writable } from 'node:stream';
import type Docker from 'dockerode';
import { PaddockError } from '../core/errors.js';
import { parseProviderList, type KeyInjectionPlan } from '../core/credentials.js';
import { CONTAINER_NAME, LABELS, defaultSandboxName, shortHash } from '../core/naming.js';
import type { Limits, PortMapping } from '../core/options.js';
import { prepareBridgeDir, removeBridgeDir } from './stateFolder.js';
import type { NetworkPolicy } from '../core/policy.js';
import { DEFAULT_NETWORK } from '../core/policy-defaults.js';
import { shownControls } from '../core/terminalText.js';
import { createEgress, egressPortsOf, egressShapeFor, egressSpecOf, egressStateOf, pruneEgress, removeEgress, startEgress, stopEgress } from './egress.js';
import { removeSandboxAndState } from './teardown.js';
import { rememberFolder } from './repair.js';
import { refreshInjectedKeys } from './egressFiles.js';
import { clearSessionRules, networkInForce } from './liveRules.js';
import { initScript } from './assets.js';
import { engineMessage, inspectOrUndefined, isAlreadyInState, isConflict, isNotFound, startAndWaitForMarker, writeDemuxed } from './docker.js';
import { publishedPorts } from './ports.js';
import { engineSharesHostKernel, runtimeTraits, startFailure, unmountEventsFor, type RuntimeTraits } from './runtime.js';
import { connect, resolveEndpoint, type EndpointInputs } from './connection.js';
import { engineFacts } from './engineFacts.js';
import { NO_AWK_LINE, SandboxClient, statusOf } from './sandboxClient.js';
import { listSandboxes } from './listing.js';
import { publishesThroughProxy } from './egressSpec.js';
import type { SandboxDetails, SandboxSummary } from './types.js';
export type { ExecOptions, ExecTarget, StopReason } from './sandboxClient.js';

export { PADDOCK_VERSION } from '../core/version.js';
import { PADDOCK_VERSION } from '../core/version.js';
import { recordUserStop } from './stopCause.js';
import { refuseSandboxEnv } from './rootExec.js';
import { trace, traceInit, tracing } from './trace.js';
import { GUARDED_ENV, guardedPlan } from './guardPlan.js';
import { AGENT_HOME_WRITTEN, handAgentHomeToInit, keepAgentKeyEnv, recordAgentHome } from './agentHome.js';
const READY_MARKER = 'paddock: ready';

export interface CreateSpec {
  readonly workspace: string;
  readonly agent: string;
  readonly image: string;
  readonly name?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly limits: Limits;
  readonly ports?: readonly PortMapping[];
  readonly runtime?: string;
  /** Mounts on top of the workspace (hidden secrets, read-only configs), from the mount plan. */
  readonly extraMounts?: readonly Docker.MountConfig[number][];
  readonly policyHash?: string;
  readonly templateHash?: string;
  /** Egress rules for the sandbox's proxy (default: the default policy's). */
  readonly network?: NetworkPolicy;
  /** API keys its proxy injects, and the variables that point the agents at it (planKeyInjection). */
  readonly keys?: KeyInjectionPlan;
  /** The runtime's traits, when the caller has read them already (runtimeTraits()). */
  readonly runtimeTraits?: RuntimeTraits;
  /** More labels (a task's: LABELS.task...). */
  readonly labels?: Readonly<Record<string, string>>;
  /** The network its egress goes out through (an apply keeps the sandbox's); default: PADDOCK_EGRESS_NETWORK of this process (./egressNetwork.ts). */
  readonly egressNetwork?: string;
}

/** The host's git identity, so commits made in the sandbox carry the user's name (one git process: a create starts it beside its engine requests). */
export async function hostGitIdentity(cwd: string): Promise<{ name?: string; email?: string }> {
  const lines = await new Promise<string[]>((resolveLines) => {
    execFile('git', ['config', '--null', '--get-regexp', '^user\\.(name|email)$'], { cwd, encoding: 'utf8' }, (err, stdout) => resolveLines(err ? [] : stdout.split('\0')));
  });
  // "KEY\nVALUE" each; the last of a key wins, as with git config --get.
  const values = new Map<string, string>();
  for (const line of lines) {
    const at = line.indexOf('\n');
    if (at > 0) values.set(line.slice(0, at).toLowerCase(), line.slice(at + 1));
  }
  return { name: values.get('user.name') || undefined, email: values.get('user.email') || undefined };
}

/**
 * The sandbox engine: every sandbox is a labelled container, so the CLI, the extension and a
 * restarted editor all read the same state from Docker. Nothing is stored anywhere else.
 */
export class SandboxEngine extends SandboxClient {
  /** The sweep of removed sandboxes' leftover egress a create started: start() ends only after it (a CLI exits then). */
  private pruning?: Promise<unknown>;

  static connect(inputs: EndpointInputs = {}): SandboxEngine {
    const endpoint = resolveEndpoint(inputs);
    return new SandboxEngine(connect(endpoint), endpoint);
  }

  /**
   * What a runtime (default: the engine's) means for the sandbox's network and sockets, from
   * `docker info` (kept for a local daemon while it runs: ./engineFacts.ts). A runtime the engine does
   * not have is refused with the ones it has.
   */
  async runtimeTraits(runtime?: string): Promise<RuntimeTraits> {
    let facts = await engineFacts(this.docker, this.endpoint.host);
    // A runtime the kept facts lack is asked about again (one added since, by a daemon reload) before it is refused.
    if (runtime && !(runtime in facts.runtimes)) facts = await engineFacts(this.docker, this.endpoint.host, { fresh: true });
    const runtimes = facts.runtimes;
    if (runtime && !(runtime in runtimes)) {
      throw new PaddockError(`The engine has no runtime "${runtime}".`, `Available runtimes: ${Object.keys(runtimes).sort().join(', ')}. (gVisor is "runsc", Kata "kata" or "kata-runtime", once registered in the engine's daemon.json.)`);
    }
    return { ...runtimeTraits(runtime || facts.defaultRuntime, runtimes), sharesHostKernel: engineSharesHostKernel(this.endpoint.host, facts.operatingSystem) };
  }

  async runtimes(): Promise<{ names: string[]; default: string }> {
    const info = await this.docker.info();
    return { names: Object.keys(info.Runtimes ?? {}).sort(), default: info.DefaultRuntime ?? 'runc' };
  }

  /** The engine's version (paddock info). */
  async version(): Promise<{ version: string; apiVersion: string; os: string }> {
    const v = await this.docker.version();
    return { version: v.Version, apiVersion: v.ApiVersion, os: v.Os };
  }

  /** Names of the running containers that are not sandboxes: those a bridge could be allowed to reach. */
  async runningContainerNames(): Promise<string[]> {
    const running = await this.docker.listContainers({ all: false });
    return running.filter((c) => c.Labels?.[LABELS.sandbox] !== '1').map((c) => (c.Names[0] ?? '').replace(/^\//, ''));
  }

  /** How a sandbox reaches the network: through its proxy, directly (made before egress), or not at all (its proxy was removed). */
  egressState(name: string): Promise<'proxied' | 'unproxied' | 'proxy-missing'> {
    return egressStateOf(this.docker, name);
  }

  /** The network rules a sandbox's proxy enforces now: its live rules (./liveRules.ts), or the ones it was created with. */
  async enforcedNetwork(name: string): Promise<Pick<NetworkPolicy, 'policy' | 'allow' | 'deny'>> {
    return (await networkInForce(this.docker, name)).network;
  }

  list(filter: { workspace?: string; agent?: string } = {}): Promise<SandboxSummary[]> {
    return listSandboxes(this.docker, filter);
  }

  /** Finds a sandbox by name or id (prefix); only Paddock's containers count. */
  async get(nameOrId: string): Promise<SandboxDetails> {
    const info = await this.inspectSandbox(nameOrId);
    if (!info) throw new PaddockError(`No sandbox named "${nameOrId}".`, 'Run "paddock ls" to see the sandboxes.');
    const details = detailsOf(info);
    // Behind an egress proxy of its own that publishes ports, the proxy has them (a shared one publishes none).
    const proxied = publishesThroughProxy(info.Config.Labels ?? {}) ? await egressPortsOf(this.docker, details.name) : undefined;
    return proxied ? { ...details, ports: proxied } : details;
  }

  /**
   * A sandbox's details from one inspect, or undefined when no container has that name or id; a
   * container Paddock did not create is an error. Its ports are the container's own (behind an
   * egress proxy: none; get() reads the proxy's).
   */
  async find(nameOrId: string): Promise<SandboxDetails | undefined> {
    const info = await this.inspectSandbox(nameOrId);
    return info && detailsOf(info);
  }

  /** The one sandbox of (workspace, agent), if any. */
  async findFor(workspace: string, agent: string): Promise<SandboxSummary | undefined> {
    const [found] = await this.list({ workspace, agent });
    return found;
  }

  async create(spec: CreateSpec, onProgress: (line: string) => void = () => {}): Promise<SandboxDetails> {
    const workspace = checkWorkspace(spec.workspace);
    const name = spec.name ?? defaultSandboxName(workspace, spec.agent);
    refuseSandboxEnv(spec.env ?? {}); // loader and PADDOCK_* variables would reach the init, which runs as root (./rootExec.ts)
    if (!CONTAINER_NAME.test(name)) throw new PaddockError(`"${name}" is not a valid sandbox name.`, 'Use letters, digits, "_", "." and "-", starting with a letter or digit.');
    // Leftover egress of removed sandboxes goes meanwhile: only a proxy and network of the sandbox's
    // own (their names are the sandbox's) wait for it. Its three listings one after another were the
    // create's last wait in the shared shape, so there the next start waits for it instead (once ready).
    const pruning = pruneEgress(this.docker).catch(() => []);
    this.pruning = pruning;
    // What create needs to know, asked side by side (start-up time is the sum otherwise).
    const [taken, existing, runtime, templateHash, git] = await Promise.all([
      this.exists(name),
      this.docker.listContainers({ all: true, filters: { label: [`${LABELS.sandbox}=1`, `${LABELS.workspace}=${workspace}`, `${LABELS.agent}=${spec.agent}`] } }),
      // The runtime decides how the sandbox reaches its proxy (an unknown one stops here).
      spec.runtimeTraits ?? this.runtimeTraits(spec.runtime),
      // Which template content the sandbox was made from, so a changed template can be pointed out.
      spec.templateHash ?? this.docker.getImage(spec.image).inspect().then((i) => i.Config?.Labels?.[LABELS.templateHash], () => undefined),
      hostGitIdentity(workspace),
    ]);
    if (taken) throw new PaddockError(`The name "${name}" is already taken by a container.`, `Choose another --name, or remove it with "paddock rm ${name}".`);
    if (existing.length) {
      const other = (existing[0].Names[0] ?? existing[0].Id).replace(/^\//, '');
      throw new PaddockError(`Workspace ${workspace} already has a ${spec.agent} sandbox (${other}).`, `Use "paddock run ${spec.agent} ${workspace}" to use it, or "paddock rm ${other}" first.`);
    }

    const owner = statSync(realpathSync(workspace));
    // The MCP bridge's folder (socket, token, shim) at /run/paddock, read-only; the only door out besides the network.
    const bridge = prepareBridgeDir(name, { uid: owner.uid, gid: owner.gid });
    const userEnv = spec.env ?? {};
    const envNames = Object.keys(userEnv).sort();
    // Its only way out is its egress proxy: the engine's shared service through its socket folder (no
    // network interface but loopback), or a proxy of its own on its own internal network (./egress.ts).
    const shared = egressShapeFor(runtime, spec.ports ?? []) === 'shared';
    if (!shared) await pruning;
    const egress = await createEgress(this.docker, name, {
      network: spec.network ?? DEFAULT_NETWORK, fallbackImage: spec.image, ports: spec.ports, keys: spec.keys?.keys, viaSockets: shared || runtime.networkNone, shared, upstream: spec.egressNetwork,
    }).catch((err) => { removeBridgeDir(name); throw err; }); // a failed create leaves nothing behind
    const env: Record<string, string> = {
      ...userEnv,
      PADDOCK_UID: String(owner.uid),
      PADDOCK_GID: String(owner.gid),
      PADDOCK_WORKSPACE: workspace,
      PADDOCK_SANDBOX: name,
      PADDOCK_AGENT: spec.agent,
      ...(git.name ? { PADDOCK_GIT_NAME: git.name } : {}),
      ...(git.email ? { PADDOCK_GIT_EMAIL: git.email } : {}),
      ...egress.env,
      ...spec.keys?.sandboxEnv,
      ...(tracing ? { PADDOCK_TRACE: '1' } : {}),
      // The kernel says when a protecting mount goes (the mounts guard then waits on that event alone,
      // no process while idle); gVisor, and a VM's shared folders, may show a replaced file without one.
      ...(unmountEventsFor(runtime) ? { PADDOCK_UNMOUNT_EVENTS: '1' } : {}),
      // What the init's guard must find mounted, from this create's plan (set even when empty: an init
      // without it is one made by an older Paddock, ./guardPlan.ts). An apply's create sets its own.
      [GUARDED_ENV]: guardedPlan(workspace, spec.extraMounts ?? []),
    };
    keepAgentKeyEnv(name, env); // what the agents' configs take from it (./agentHome.ts)
    onProgress(`Creating sandbox ${name}`);
    try {
      await this.docker.createContainer({
        name,
        Image: spec.image,
        Hostname: `paddock-${spec.agent}`.slice(0, 63),
        WorkingDir: workspace,
        Cmd: ['/bin/sh', '-c', initScript()],
        Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
        Labels: {
          ...spec.labels, // first: they never replace Paddock's own
          [LABELS.sandbox]: '1',
          [LABELS.workspace]: workspace,
          [LABELS.agent]: spec.agent,
          [LABELS.envHash]: envHash(userEnv),
          [LABELS.envNames]: envNames.join(','),
          [LABELS.createdBy]: `paddock ${PADDOCK_VERSION}`,
          [LABELS.runtime]: runtime.name,
          ...egress.labels, // its proxy's ports and transport, to make a removed proxy again (./repair.ts)
          ...(spec.keys?.keys.length ? { [LABELS.injectedKeys]: spec.keys.keys.map((k) => k.provider).join(',') } : {}),
          ...(spec.policyHash ? { [LABELS.policyHash]: spec.policyHash } : {}),
          ...(templateHash ? { [LABELS.templateHash]: templateHash } : {}),
        },
        HostConfig: {
          // Only the workspace, at its own path. No home folder, no ~/.ssh, no Docker socket.
          Mounts: [
            { Type: 'bind', Source: realpathSync(workspace), Target: workspace, ReadOnly: false },
            ...(spec.extraMounts ?? []),
            bridge.mount,
            ...(egress.sockets ? [egress.sockets.mount] : []),
          ],
          NetworkMode: egress.network,
          ...(egress.sockets ? { ExtraHosts: egress.sockets.extraHosts } : {}),
          ...(egress.dnsOptions.length ? { DnsOptions: egress.dnsOptions } : {}),
          Init: true,
          NanoCpus: spec.limits.nanoCpus,
          Memory: spec.limits.memoryBytes,
          MemorySwap: spec.limits.memoryBytes,
          PidsLimit: spec.limits.pids,
          Runtime: spec.runtime,
          // The init script needs these to create the agent user; the agent itself runs unprivileged.
          CapDrop: ['ALL'],
          CapAdd: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'SETUID', 'SETGID', 'KILL', 'NET_BIND_SERVICE'],
          SecurityOpt: ['no-new-privileges:true'],
          RestartPolicy: { Name: 'no' },
        },
      });
    } catch (err: any) {
      await removeEgress(this.docker, name).catch(() => {});
      if (!isConflict(err)) removeBridgeDir(name); // on a conflict the folder may be the other container's
      if (isConflict(err)) throw new PaddockError(`The name "${name}" is already taken by a container.`, 'Choose another --name.');
      if (isNotFound(err)) throw new PaddockError(`The image "${spec.image}" is not on the engine.`, 'Build it, pull it, or choose another --template.');
      throw err;
    } finally {
      if (!shared) await pruning;
    }
    return this.get(name);
  }

  async exists(nameOrId: string): Promise<boolean> {
    if (!CONTAINER_NAME.test(nameOrId)) return false;
    return !!(await inspectOrUndefined(this.docker.getContainer(nameOrId)));
  }

  /**
   * Starts a sandbox (if it is not running) and waits until its agent user is ready. A caller that
   * has just read the sandbox passes its details, which saves reading it again.
   */
  async start(sandboxOrName: string | SandboxDetails): Promise<SandboxDetails> {
    const sandbox = typeof sandboxOrName === 'string' ? await this.get(sandboxOrName) : sandboxOrName;
    // Keys are read from the environment of whoever starts it: a rotated key takes effect now.
    refreshInjectedKeys(sandbox.name, sandbox.injectedKeys, process.env);
    // Rules given for one run (paddock network allow|deny without --save) end with it.
    if (sandbox.status !== 'running' && sandbox.status !== 'paused') clearSessionRules(sandbox.name);
    // Its egress proxy too (also when the sandbox runs: the proxy may have been stopped alone). The
    // two start side by side: the sandbox's init needs no network, and start-up time is the sum otherwise.
    const egress = startEgress(this.docker, sandbox.name, sandbox.sharedEgress ? { image: sandbox.image, fresh: sandbox.status !== 'running' && sandbox.status !== 'paused' } : undefined);
    egress.catch(() => {}); // awaited below; this only keeps an early failure from being "unhandled"
    if (sandbox.status === 'running') {
      await egress;
      return sandbox;
    }
    if (sandbox.status === 'paused') {
      await egress;
      await this.docker.getContainer(sandbox.id).unpause();
      return this.get(sandbox.id);
    }
    rememberFolder(sandbox); // the folder this start binds: a later run checks it with a stat, not an exec (./repair.ts)
    // The init writes the agents' configs beside its other steps; a host that serves the sandbox execs only when it did not.
    let agentHome: string | undefined;
    try {
      agentHome = handAgentHomeToInit(sandbox);
    } catch { /* the bridge host writes them by an exec, and says so if that fails too */ }
    const { outcome, output } = await startAndWaitForMarker(this.docker.getContainer(sandbox.id), READY_MARKER, 60_000,
      (err) => startFailure(sandbox.name, engineMessage(err)));
    traceInit(output);
    trace(`sandbox ${sandbox.name}: ${outcome}`);
    await egress;
    trace('egress service ready');
    await this.pruning;
    this.pruning = undefined;
    if (outcome !== 'ready') {
      const logs = await this.logsText(sandbox.id, 20);
      // The init's own refusal of a secret no mount hides: said once, with its fix, not as a log dump.
      const unhidden = /^paddock: not hidden: (.+?) appeared after this container was made/m.exec(logs)?.[1];
      // A symlink at a hidden name (the init names it "; a symlink to TARGET"): the apply's plan hides its target when that exists.
      const link = unhidden?.includes('; a symlink ') ? ' For a symlink that is its target; one whose target does not exist cannot be hidden: remove the link or make the target first.' : '';
      if (unhidden) throw new PaddockError(`Sandbox ${sandbox.name} did not start: ${unhidden} appeared after it was made, and no mount hides it.`, `Run "paddock apply ${sandbox.name}": a new container hides it, with the sandbox's state kept.${link}`);
      if (logs.split('\n').some((line) => line.startsWith(NO_AWK_LINE))) {
        throw new PaddockError(`Sandbox ${sandbox.name} did not start: its image has no awk, so the guards inside it (hidden paths replaced on the host, secrets that appear, git redirection) cannot run.`,
          `Add awk to the image (busybox has one; in its Dockerfile "RUN apt-get install -y mawk" or "RUN apk add gawk"), then run "paddock apply ${sandbox.name}" (state kept).`);
      }
      throw new PaddockError(`Sandbox ${sandbox.name} did not become ready (${outcome}).`, `Its log ends with:\n    ${logs.trim().split('\n').join('\n    ')}`);
    }
    const started = await this.get(sandbox.id);
    if (agentHome && output.includes(AGENT_HOME_WRITTEN)) recordAgentHome(started, agentHome);
    return started;
  }

  /** Stops a sandbox and its egress; a caller that has just read the sandbox passes its details. */
  async stop(sandboxOrName: string | SandboxDetails, timeoutSeconds = 5): Promise<void> {
    const sandbox = typeof sandboxOrName === 'string' ? await this.get(sandboxOrName) : sandboxOrName;
    if (sandbox.status === 'running' || sandbox.status === 'paused' || sandbox.status === 'restarting') {
      await recordUserStop(this.docker, sandbox); // so that ls and start tell it from an engine restart
      await this.docker.getContainer(sandbox.id).stop({ t: timeoutSeconds }).catch((err) => {
        if (!isAlreadyInState(err)) throw err;
      });
    }
    await stopEgress(this.docker, sandbox.name, sandbox.sharedEgress);
  }

  /** Removes a sandbox and its state. The workspace itself is a bind mount and is never touched. */
  async remove(sandboxOrName: string | SandboxDetails): Promise<void> {
    await removeSandboxAndState(this.docker, typeof sandboxOrName === 'string' ? await this.get(sandboxOrName) : sandboxOrName);
  }

  /** Removes every Paddock sandbox on this engine. Returns their names. */
  async reset(): Promise<string[]> {
    const all = await this.list();
    for (const s of all) await removeSandboxAndState(this.docker, s);
    await pruneEgress(this.docker);
    return all.map((s) => s.name);
  }

  async logs(nameOrId: string, options: { follow?: boolean; tail?: number; stdout?: Writable; stderr?: Writable } = {}): Promise<void> {
    const sandbox = await this.get(nameOrId);
    const container = this.docker.getContainer(sandbox.id);
    // The init's lines hold names the agent chose (a file, a symlink's target): control characters are shown, never obeyed.
    const stdout = controlsShown(options.stdout ?? process.stdout);
    const stderr = controlsShown(options.stderr ?? process.stderr);
    if (options.follow) {
      const stream = (await container.logs({ follow: true, stdout: true, stderr: true, tail: options.tail ?? 'all' } as any)) as unknown as NodeJS.ReadableStream;
      this.docker.modem.demuxStream(stream, stdout, stderr);
      await new Promise<void>((r) => { stream.on('end', r); stream.on('close', r); });
    } else {
      const buffer = (await container.logs({ follow: false, stdout: true, stderr: true, tail: options.tail ?? 'all' } as any)) as unknown as Buffer;
      writeDemuxed(buffer, stdout, stderr);
    }
  }
}

/** A stream that writes its text to `target` with control characters shown (../core/terminalText.ts); UTF-8 split across writes stays whole. */
function controlsShown(target: Writable): Writable {
  const decoder = new StringDecoder('utf8');
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      const text = decoder.write(chunk);
      if (text) target.write(shownControls(text));
      done();
    },
  });
}

export function envHash(env: Readonly<Record<string, string>>): string {
  return shortHash(JSON.stringify(Object.entries(env).sort(([a], [b]) => a.localeCompare(b))), 16);
}

/** Resolves and checks a workspace folder; a missing one is an error, never created. */
export function checkWorkspace(path: string): string {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new PaddockError(`The workspace ${abs} does not exist.`, 'Pass an existing folder (Paddock never creates or deletes workspaces).');
  if (!statSync(abs).isDirectory()) throw new PaddockError(`The workspace ${abs} is not a folder.`, 'Pass the project folder, not a file.');
  return abs;
}

function detailsOf(info: Docker.ContainerInspectInfo): SandboxDetails {
  const labels = info.Config.Labels ?? {};
  const env = new Map((info.Config.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  const ports = publishedPorts(info);
  return {
    name: info.Name.replace(/^\//, ''),
    id: info.Id,
    workspace: labels[LABELS.workspace] ?? '',
    agent: labels[LABELS.agent] ?? '',
    status: statusOf(info.State.Status),
    runtime: info.HostConfig.Runtime || 'runc',
    image: info.Config.Image,
    created: new Date(info.Created).toISOString(),
    startedAt: info.State.Running ? info.State.StartedAt : undefined,
    ports,
    mounts: (info.Mounts ?? []).map((m: any) => ({ type: m.Type, source: m.Source ?? '', target: m.Destination, readOnly: m.RW === false }))
      .concat(Object.keys(info.HostConfig.Tmpfs ?? {}).map((t) => ({ type: 'tmpfs', source: '', target: t, readOnly: /\bro\b/.test(info.HostConfig.Tmpfs![t]) }))),
    envNames: (labels[LABELS.envNames] ?? '').split(',').filter(Boolean),
    limits: { cpus: (info.HostConfig.NanoCpus ?? 0) / 1e9, memoryBytes: info.HostConfig.Memory ?? 0, pids: info.HostConfig.PidsLimit ?? 0 },
    user: { uid: Number(env.get('PADDOCK_UID') ?? 0), gid: Number(env.get('PADDOCK_GID') ?? 0) },
    templateHash: labels[LABELS.templateHash],
    policyHash: labels[LABELS.policyHash],
    createdBy: labels[LABELS.createdBy],
    injectedKeys: parseProviderList(labels[LABELS.injectedKeys]),
    sharedEgress: !!egressSpecOf(labels)?.shared,
  };
}
