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
