import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type Docker from 'dockerode';
import { engineHostGateway } from '../engine/hostGateway.js';
import { policyInForce, type PolicyInForce } from '../engine/approvedPolicy.js';
import { planMounts } from '../core/hiding.js';
import { hiddenFileSecrets } from '../core/masking.js';
import type { Policy } from '../core/policy.js';
import type { SandboxEngine } from '../engine/engine.js';
import type { SandboxDetails } from '../engine/types.js';
import { engineSharesHostKernel, gvisorSocketNote, runtimeTraits, type RuntimeTraits } from '../engine/runtime.js';
import { engineFacts } from '../engine/engineFacts.js';
import { BRIDGE_RELAY_PORT, PROXY_HOST } from '../proxy/addresses.js';
import { bridgeRouteOf } from '../engine/egress.js';
import { bridgeRelayTarget, setBridgeRelayTarget } from '../engine/egressFiles.js';
import { AuditLog } from './audit.js';
import type { Admission } from './admission.js';
import { BridgeAlreadyRunning, BridgeHttpServer, MCP_PATH, type Listen, type SessionTimeouts } from './server.js';
import { BridgeService, type BridgeRules } from './service.js';
import { bridgePaths, readToken, refreshShim, SANDBOX_SOCKET, shimSource, writeSecretFile, type BridgePaths } from '../engine/stateFolder.js';
import { createBridgeServer } from './tools.js';
import { ensureAgentHome } from '../engine/agentHome.js';

export type TransportKind = 'unix' | 'tcp';

/**
 * Which transport a sandbox gets. A host Unix socket can be bind-mounted only when the engine runs
 * on this machine's kernel (Linux, local unix:// endpoint). Docker Desktop runs the engine in a VM
 * (its OperatingSystem says "Docker Desktop"), and npipe/tcp/ssh endpoints are not local sockets:
 * those get a TCP listener that the sandbox's egress proxy relays to as host.docker.internal.
 */
export function chooseTransport(endpointHost: string, operatingSystem: string, override = process.env.PADDOCK_BRIDGE_TRANSPORT, runtime?: RuntimeTraits): TransportKind {
  if (override === 'unix' || override === 'tcp') return override;
  if (!engineOnThisKernel(endpointHost, operatingSystem)) return 'tcp';
  // gVisor connects to host sockets only with --host-uds; with its own network, the relay works without.
  return runtime?.gvisor && !runtime.hostUnixSockets && !runtime.networkNone ? 'tcp' : 'unix';
}

const engineOnThisKernel = engineSharesHostKernel;

/** Hidden files bigger than this are data, not secrets to learn (a database dump). */
const MAX_HIDDEN_FILE = 256 * 1024;
/** Files read from inside hidden folders, at most (a hidden node_modules stays cheap). */
const MAX_HIDDEN_FOLDER_FILES = 200;

/**
 * Values of the workspace's hidden files, and of the files in its hidden folders: exact strings
 * the masker must never let through. A hidden file's whole content counts, whatever its syntax
 * (a plain token file, a key, .env lines with inline comments, netrc, pgpass, JSON, YAML).
 */
export function hiddenSecretValues(workspace: string, policy: Policy): string[] {
  return readHidden(workspace, policy).values;
}

/** The hidden values, and what they were read from: each file and folder, with its mtime and size then. */
interface HiddenRead {
  readonly values: string[];
  readonly watched: readonly string[];
  readonly signature: string;
}

/** What changes when a file is written, replaced or truncated, or a folder gains or loses a file. */
function signatureOf(paths: readonly string[]): string {
  let signature = '';
  for (const path of paths) {
    const st = statSync(path, { throwIfNoEntry: false });
    signature += st ? `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}|` : '-|';
  }
  return signature;
}

function readHidden(workspace: string, policy: Policy): HiddenRead {
  let plan;
  try {
    plan = planMounts(workspace, policy);
  } catch {
    return { values: [], watched: [], signature: '' };
  }
  const files: { path: string; size: number }[] = [];
  const watched: string[] = [];
  const learn = (path: string) => {
    const st = statSync(path, { throwIfNoEntry: false });
    if (st?.isFile() && st.size <= MAX_HIDDEN_FILE) files.push({ path, size: st.size });
  };
  let folderFiles = 0;
  const walk = (dir: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    watched.push(dir);
    for (const e of entries) {
      if (folderFiles >= MAX_HIDDEN_FOLDER_FILES) return;
      if (e.isDirectory() && depth < 6) walk(`${dir}/${e.name}`, depth + 1);
      else if (e.isFile()) {
        folderFiles++;
        learn(`${dir}/${e.name}`);
      }
    }
  };
  for (const entry of plan.hidden) {
    if (entry.kind === 'file') {
      watched.push(entry.path);
      learn(entry.path);
    } else walk(entry.path, 0);
  }
  watched.push(...files.map((f) => f.path).filter((p) => !watched.includes(p)));
  // Taken before the files are read: a write while they are read shows as a change next time.
  const signature = signatureOf(watched);
  // Smallest files first: the masker keeps at most MAX_KNOWN_VALUES values, first come first kept,
  // so a .env's few values go before the thousands of a state file or a folder of data (./service.ts
  // puts the containers' secret env values before all of these).
  files.sort((a, b) => a.size - b.size);
  const values: string[] = [];
  for (const { path } of files) {
    try {
      values.push(...hiddenFileSecrets(readFileSync(path, 'utf8')));
    } catch {
      // unreadable: nothing to learn from it
    }
  }
  return { values, watched, signature };
}

/**
 * How long one look at the hidden files serves: a call masks its arguments and then its output, and
 * calls come in bursts. A stat costs about 4 µs of CPU here, so 200 hidden files (the folder cap)
 * cost 0.7 ms a look; a workspace's few .env files, tens of µs.
 */
const HIDDEN_LOOK_MS = 200;

/** One array for no values: the service rebuilds its masker when it gets another one. */
const NO_VALUES: readonly string[] = [];

/**
 * The bridge's rules for a policy. The workspace's hidden values are read when the masker first
 * needs them (the first call), not when the bridge host starts: planning the mounts again and reading
 * the hidden files cost ~35 ms of CPU on a cold `paddock run`'s path, before the agent's first command.
 * After that, each look (at most one per HIDDEN_LOOK_MS) stats the files and folders they were read
 * from and reads them again when one changed: a value the user adds to a hidden .env mid-session is
 * masked from the next call on. (The sandbox cannot write them: they are hidden from it.) A new
 * array then tells the service (./service.ts) to build its masker again.
 */
export function rulesFor(policy: Policy, workspace?: string): BridgeRules {
  let known: HiddenRead | undefined;
  let lookedAt = 0;
  return {
    bridge: policy.bridge,
    tier: policy.tier,
    get knownSecrets() {
      if (!workspace) return NO_VALUES;
      const now = Date.now();
      if (known && now - lookedAt < HIDDEN_LOOK_MS) return known.values;
      lookedAt = now;
      if (!known || signatureOf(known.watched) !== known.signature) known = readHidden(workspace, policy);
      return known.values;
    },
  };
}

/** Whether the engine runs on another machine, where nothing reaches this machine's bridge. */
export function isRemoteEngine(endpointHost: string): boolean {
  const m = /^(?:tcp|ssh|https?):\/\/(?:[^@/]*@)?(\[[^\]]+\]|[^:/]+)/.exec(endpointHost);
  return !!m && !/^(localhost|127\.[\d.]+|\[::1\])$/i.test(m[1]);
}

/**
 * Where the TCP listener binds. Engines in a VM (Docker Desktop and its kind) forward
 * host.docker.internal to the host's loopback, so loopback it is. An engine on this machine's kernel
 * resolves host-gateway to the default bridge's own address: that one address (never all
 * interfaces) is what the proxy can reach. Undefined when that address cannot be found.
 */
async function tcpListenHost(docker: Docker, engineOnThisKernel: boolean): Promise<string | undefined> {
  if (!engineOnThisKernel) return '127.0.0.1';
  return engineHostGateway(docker);
}

export interface HostedBridge {
  readonly sandbox: string;
  readonly transport: TransportKind;
  /** Where host-side clients connect ("unix:PATH" or "http://ADDRESS:PORT/mcp"). */
  readonly url: string;
  readonly token: string;
  readonly audit: AuditLog;
  readonly paths: BridgePaths;
  /** False when another process (VS Code, another terminal) already hosts this sandbox's bridge. */
  readonly hosting: boolean;
  /** Agent sessions open on this host now (0 when another process hosts the bridge). */
  readonly sessionCount: number;
  readonly notes: readonly string[];
  /** Rules the user applied since (a policy apply, a save in VS Code): open sessions follow at once, with no restart. */
  setPolicy(policy: Policy): void;
  close(): Promise<void>;
}

/**
 * Hosts the bridge of one sandbox until close(): listens where the sandbox can reach it, writes the
 * endpoint for paddock-mcp, refreshes the shim, and registers it in the agents' configs inside.
 */
export async function hostSandboxBridge(engine: SandboxEngine, sandboxOrName: string | SandboxDetails, options: { policy?: Policy; inForce?: PolicyInForce; admission?: Admission; sessionTimeouts?: SessionTimeouts } = {}): Promise<HostedBridge> {
  // A caller that has just started the sandbox passes its details, which saves reading them again.
  const sandbox = typeof sandboxOrName === 'string' ? await engine.get(sandboxOrName) : sandboxOrName;
  const paths = bridgePaths(sandbox.name);
  const notes: string[] = [];
  const token = readToken(paths);
  const mounted = sandbox.mounts.some((m) => m.target === '/run/paddock');
  if (!token || !mounted) {
    throw new BridgeUnavailable(sandbox.name, `Sandbox ${sandbox.name} was created without the bridge folder.`);
  }
  // The agents' configs: written by the init at this start already, or now (an exec) while the bridge gets ready.
  const registering = sandbox.status === 'running'
    ? ensureAgentHome(engine.docker, sandbox).catch((err) => `could not register the bridge in the agents' configs: ${err?.message ?? err}`)
    : Promise.resolve(undefined);
  // The rules the user approved, never a file the sandbox could have written (see approvedPolicy.ts).
  // (A caller that has just read it passes it: reading the file and the approval again cost a cold run ~10-40 ms.)
  const inForce = options.policy ? undefined : options.inForce ?? policyInForce(sandbox);
  if (inForce?.note) notes.push(inForce.note);
  else if (inForce?.pending || inForce?.pendingError) notes.push(pendingPolicyNote(sandbox.name, sandbox.workspace, inForce.pendingError));
  const policy = options.policy ?? inForce!.policy;
  let service = new BridgeService(engine.docker, rulesFor(policy, sandbox.workspace));
  // Sessions reach the service through this, so rules applied later (setPolicy) reach open sessions too.
  const current = new Proxy({} as BridgeService, { get: (_target, prop) => { const v = Reflect.get(service, prop, service); return typeof v === 'function' ? v.bind(service) : v; } });
  const audit = new AuditLog(paths.audit);
  // The engine's OS and runtimes, kept for a local daemon (./engineFacts.ts): `docker info` took 40-170 ms of a cold run.
  const facts = await engineFacts(engine.docker, engine.endpoint.host).catch(() => undefined);
  const operatingSystem = facts?.operatingSystem ?? '';
  const runtime = runtimeTraits(sandbox.runtime, facts?.runtimes);
  const transport = chooseTransport(engine.endpoint.host, operatingSystem, undefined, runtime);
  const cutOff = gvisorSocketNote(runtime);
  if (cutOff) notes.push(cutOff);
  const server = new BridgeHttpServer(token, () => createBridgeServer(current, audit, sandbox.name, options.admission), options.sessionTimeouts);
  const owner = { uid: sandbox.user.uid, gid: sandbox.user.gid };
  const route = transport === 'tcp' ? await bridgeRouteOf(engine.docker, sandbox.name) : undefined;
  if (transport === 'tcp' && isRemoteEngine(engine.endpoint.host)) {
    notes.push(`The engine (${engine.endpoint.host}) runs on another machine: its sandboxes cannot reach this machine's bridge. Run Paddock on the engine's machine to use the bridge.`);
  } else if (route === 'proxy-without-relay') {
    notes.push(`Sandbox ${sandbox.name} was created by an older Paddock whose egress proxy has no bridge relay: "paddock apply ${sandbox.name}" gives it one (a new container, its state kept).`);
  }
  const tcpHost = transport === 'tcp' ? await tcpListenHost(engine.docker, engineOnThisKernel(engine.endpoint.host, operatingSystem)) : undefined;
  if (transport === 'tcp' && !tcpHost) {
    notes.push('Paddock could not find the address of the engine\'s default bridge (no docker0 interface and no gateway in "docker network inspect bridge"), so sandboxes cannot reach the bridge over TCP. Use an engine whose default bridge is on this machine, or gVisor with --host-uds=open (Unix sockets).');
  }
  const where: Listen = transport === 'unix'
    ? { kind: 'unix', path: paths.socket, owner }
    : { kind: 'tcp', host: tcpHost ?? '127.0.0.1', port: 0 };
  let url: string;
  try {
    url = await server.listen(where);
  } catch (err) {
    if (err instanceof BridgeAlreadyRunning) {
      await registering;
      return { sandbox: sandbox.name, transport, url: `unix:${paths.socket}`, token, audit, paths, hosting: false, sessionCount: 0, notes: ['The bridge of this sandbox is already hosted by another Paddock process.'], setPolicy: () => {}, close: async () => {} };
    }
    throw err;
  }
  // Over TCP the sandbox (alone on an internal network) goes through its proxy's relay; only a sandbox
  // without a proxy (made before egress existed) dials host.docker.internal itself.
  const relayTarget = `host.docker.internal:${server.port}`;
  if (route === 'relay') setBridgeRelayTarget(sandbox.name, relayTarget);
  const inside = transport === 'unix' ? `unix:${SANDBOX_SOCKET}`
    : route === 'relay' ? `http://${PROXY_HOST}:${BRIDGE_RELAY_PORT}${MCP_PATH}` : `http://${relayTarget}${MCP_PATH}`;
  writeSecretFile(paths.endpoint, `${inside}\n`, owner);
  if (!existsSync(shimSource())) notes.push(`The bridge shim ${shimSource()} is missing, so agents cannot connect: reinstall Paddock (from a source checkout, "npm run build" makes it).`);
  refreshShim(paths, owner);
  const registered = await registering;
  if (registered) notes.push(registered);
  return {
    sandbox: sandbox.name, transport, url, token, audit, paths, hosting: true, notes,
    get sessionCount() { return server.sessionCount; },
    setPolicy: (next) => { service = new BridgeService(engine.docker, rulesFor(next, sandbox.workspace)); },
    close: async () => {
      await server.close();
      writeSecretFile(paths.endpoint, '', owner);
      // Another host may have taken over the relay since: leave its target alone.
      if (route === 'relay' && bridgeRelayTarget(sandbox.name) === relayTarget) setBridgeRelayTarget(sandbox.name, undefined);
    },
  };
}

/** The note for a policy file that differs from the rules in force: it waits for the user. */
export function pendingPolicyNote(sandbox: string, workspace: string, error?: string): string {
  return error
    ? `The policy file of ${workspace} does not load (${error.split('\n')[0]}); ${sandbox} keeps the rules it has.`
    : `The policy file of ${workspace} changed since it was last applied to ${sandbox}, not by a save in VS Code or "paddock policy apply" (the sandbox may have written it): ${sandbox} keeps the approved rules. Review the file, then run "paddock policy apply ${workspace}" to use it.`;
}

export class BridgeUnavailable extends Error {
  constructor(readonly sandbox: string, reason: string) {
    super(reason);
  }
}
