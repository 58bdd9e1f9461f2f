import { Writable } from 'node:stream';
import { PaddockError } from '../core/errors.js';

/**
 * What a container runtime means for a sandbox's network and sockets, read from the engine's
 * `docker info` (Runtimes: path and runtimeArgs of each).
 *
 * gVisor (runsc) matters twice: it reaches host Unix sockets (the bridge's) only with
 * --host-uds=open|all, and with --network=none (the only way Debian's runsc runs here) the sandbox
 * has no network at all, so its egress proxy is reached through a Unix socket instead.
 */
export interface RuntimeTraits {
  readonly name: string;
  readonly gvisor: boolean;
  /** The sandbox has no network interface (only loopback). */
  readonly networkNone: boolean;
  /** Host Unix sockets mounted into the sandbox can be connected to. */
  readonly hostUnixSockets: boolean;
  /** The engine runs on this machine's kernel (see engineSharesHostKernel); unknown when not asked. */
  readonly sharesHostKernel?: boolean;
}

/**
 * Whether a host-side replace of a hidden path lifts its mount with an unmount the sandbox sees
 * (findmnt --poll): runc and crun on this machine's kernel. Unknown or known otherwise (gVisor keeps
 * its mount and shows the new file; a VM's shared folders): no, and the guard inside looks by timer.
 */
export function unmountEventsFor(runtime: RuntimeTraits): boolean {
  return runtime.sharesHostKernel === true && !runtime.gvisor && /^(runc|crun|io\.containerd\.runc\.v2)$/.test(runtime.name);
}

/**
 * A local unix:// endpoint on Linux, not Docker Desktop's VM (its OperatingSystem says "Docker
 * Desktop"): containers share this machine's kernel, so a host Unix socket in a bind-mounted folder
 * can be connected to from inside. npipe/tcp/ssh endpoints are not local sockets.
 */
export function engineSharesHostKernel(endpointHost: string, operatingSystem: string): boolean {
  return process.platform === 'linux' && endpointHost.startsWith('unix://') && !/docker desktop/i.test(operatingSystem);
}

export interface EngineRuntimes {
  readonly [name: string]: { readonly path?: string; readonly runtimeArgs?: readonly string[] } | undefined;
}

/** Flags as runsc reads them: "--flag=value", "-flag=value", "--flag value". */
function flag(args: readonly string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const m = /^--?([a-z-]+)(?:=(.*))?$/.exec(args[i]);
    if (!m || m[1] !== name) continue;
    return m[2] ?? (args[i + 1] !== undefined && !args[i + 1].startsWith('-') ? args[i + 1] : 'true');
  }
  return undefined;
}

export function runtimeTraits(name: string | undefined, runtimes: EngineRuntimes | undefined): RuntimeTraits {
  const runtime = name || 'runc';
  const entry = runtimes?.[runtime];
  const args = entry?.runtimeArgs ?? [];
  const gvisor = /(^|\/)runsc$/.test(entry?.path ?? '') || runtime === 'runsc';
  if (!gvisor) return { name: runtime, gvisor: false, networkNone: false, hostUnixSockets: true };
  const uds = flag(args, 'host-uds');
  return {
    name: runtime, gvisor: true,
    networkNone: flag(args, 'network') === 'none',
    hostUnixSockets: uds === 'open' || uds === 'all' || flag(args, 'fsgofer-host-uds') === 'true',
  };
}

/**
 * What to tell a user whose gVisor runtime leaves the sandbox cut off. With its own network, gVisor
 * reaches the proxy normally and the bridge over the TCP relay; with --network=none it needs host
 * Unix sockets for both.
 */
export function gvisorSocketNote(traits: RuntimeTraits): string | undefined {
  if (!traits.gvisor || traits.hostUnixSockets || !traits.networkNone) return undefined;
  return `The ${traits.name} runtime (gVisor) runs with --network=none and does not let sandboxes connect to host Unix sockets, so this sandbox has no network (not even its egress proxy) and no MCP bridge. Add "--host-uds=open" to its runtimeArgs in /etc/docker/daemon.json and reload dockerd.`;
}

/**
 * gVisor's (runsc's) own words when the sandbox a command runs in stops under it (its guard, an OOM
 * kill, a stop): "waiting on pid 411: waiting on PID 411 in sandbox "<id>": urpc method
 * "containerManager.WaitPID" failed: EOF", written into the command's output. runc says nothing
 * there; Paddock says why the sandbox stopped once it has (the guard's line, ./stopCause.ts).
 */
const RUNSC_WAIT_FAILED = /(?:waiting on pid \d+: )?waiting on PID \d+ in sandbox "[0-9a-f]+": urpc method "containerManager\.\w+" failed: [^\r\n]*(?:\r*\n)?/g;

/**
 * `out` without gVisor's words for a command lost with its sandbox (RUNSC_WAIT_FAILED; one write of
 * runsc's, so a chunk holds it whole); `lost()` says whether they came, and `onLost` is called when
 * they do (the engine keeps such a command's stream open: the caller ends it).
 */
export function withoutRuntimeWaitFailure(out: Writable, onLost: () => void = () => {}): { readonly stream: Writable; lost(): boolean } {
  let lost = false;
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      if (!chunk.includes('urpc method')) return out.write(chunk) ? done() : out.once('drain', () => done());
      RUNSC_WAIT_FAILED.lastIndex = 0;
      const rest = chunk.toString().replace(RUNSC_WAIT_FAILED, () => { lost = true; return ''; });
      if (lost) onLost();
      if (!rest) return done();
      return out.write(rest) ? done() : out.once('drain', () => done());
    },
  });
  return { stream, lost: () => lost };
}

/**
 * A start the engine refused, in words. "id already in use": containerd still holds the container's
 * last run, which did not end cleanly (seen under gVisor when the sandbox was stopped while a command
 * ran in it and the run that stopped it was killed): every start fails so until the engine restarts,
 * and a new container (an apply, the state kept) is the way out.
 */
export function startFailure(sandbox: string, cause: string): PaddockError {
  if (/\bid already in use\b/i.test(cause)) {
    return new PaddockError(`Sandbox ${sandbox} cannot start: the engine still holds its last run, which did not end cleanly ("id already in use").`,
      `Run "paddock apply ${sandbox}": a new container, with the sandbox's state kept (a restart of the Docker engine frees the old one too).`);
  }
  return new PaddockError(`Sandbox ${sandbox} failed to start: ${cause}`, `Check the image and runtime, or make a new container with "paddock apply ${sandbox}" (state kept).`);
}
