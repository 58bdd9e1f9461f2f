// A project's container can hold the host: the engine's socket mounted (Traefik, Portainer, a CI
// runner, docker-in-docker setups), --privileged, the host's root or system folders mounted, the
// host's process or network namespace. A command the bridge runs there on the agent's behalf then
// acts on the host (`docker run -v /:/h …`, writing ~/.bashrc, signalling host processes), past
// every rule of the sandbox. The bridge runs only exactly whitelisted commands in such a container.

/** The parts of a container's inspect that say whether it holds the host. */
export interface HostControlFacts {
  readonly HostConfig?: {
    readonly Privileged?: boolean;
    readonly CapAdd?: readonly string[] | null;
    readonly PidMode?: string;
    readonly NetworkMode?: string;
  };
  readonly Mounts?: readonly { readonly Source?: string; readonly Destination?: string }[] | null;
}

const ENGINE_SOCKET = /(^|\/)(docker|containerd|podman|crio|cri-dockerd|buildkitd)\.sock$/;
/** Host folders whose mount gives the host away: its root, what holds the engine's socket, devices, kernel and system files. */
const HOST_FOLDERS = new Set(['/', '/var/run', '/run', '/var/run/docker', '/run/docker', '/run/containerd', '/var/lib/docker', '/proc', '/sys', '/dev', '/etc', '/root', '/boot', '/usr', '/lib/modules', '/home']);
/** Capabilities that break out of a container (mounts, modules, raw devices, file handles) or reach other processes. */
const BREAKOUT_CAPS = /^(CAP_)?(ALL|SYS_ADMIN|SYS_MODULE|SYS_RAWIO|DAC_READ_SEARCH|SYS_BOOT)$/i;

const trimmed = (path: string) => (path.length > 1 ? path.replace(/\/+$/, '') : path);

/**
 * Why a command in this container could act on the host, in a few words each (empty when nothing
 * says so). `home`: the host user's home folder, whose mount (or an ancestor's) gives its dotfiles.
 */
export function hostControlOf(facts: HostControlFacts, home?: string): string[] {
  const reasons: string[] = [];
  const host = facts.HostConfig ?? {};
  if (host.Privileged) reasons.push('it runs privileged');
  const caps = (host.CapAdd ?? []).filter((c) => BREAKOUT_CAPS.test(c) || (host.PidMode === 'host' && /^(CAP_)?SYS_PTRACE$/i.test(c)));
  if (caps.length) reasons.push(`it has ${caps.join(', ')}`);
  if (host.PidMode === 'host') reasons.push('it shares the host\'s processes (pid: host)');
  if (host.NetworkMode === 'host') reasons.push('it shares the host\'s network (network_mode: host)');
  const homePath = home && trimmed(home);
  for (const m of facts.Mounts ?? []) {
    const source = m.Source ? trimmed(m.Source) : '';
    if (ENGINE_SOCKET.test(source) || ENGINE_SOCKET.test(m.Destination ?? '')) reasons.push(`the engine's socket is mounted (${source || m.Destination})`);
    else if (HOST_FOLDERS.has(source)) reasons.push(`the host's ${source} is mounted`);
    else if (homePath && source && (homePath === source || homePath.startsWith(`${source}/`))) reasons.push(`the host user's home is mounted (${source})`);
  }
  return reasons;
}
