import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { BlockList, isIPv4 } from 'node:net';
import type Docker from 'dockerode';

/** What `docker network inspect bridge` says that matters here. */
export interface DefaultBridgeFacts {
  readonly Options?: Record<string, string>;
  readonly IPAM?: { readonly Config?: ReadonlyArray<{ readonly Subnet?: string; readonly Gateway?: string }> };
}

const DEFAULT_BRIDGE_INTERFACE = 'docker0';

function inSubnet(address: string, subnet: string | undefined): boolean {
  const m = subnet && /^([\d.]+)\/(\d+)$/.exec(subnet);
  if (!m) return false;
  const list = new BlockList();
  list.addSubnet(m[1], Number(m[2]), 'ipv4');
  return list.check(address, 'ipv4');
}

/**
 * The address that `host-gateway` names for containers of an engine on this machine's kernel: the
 * default bridge's own address. The bridge interface (docker0, or the name the engine reports)
 * carries it and is what dockerd reads too; the IPAM `Gateway` field is only a second source,
 * because Debian's dockerd leaves it out on its first start after installation. Undefined when
 * neither answers (an engine in another network namespace): callers then say so.
 */
export function hostGatewayAddress(bridge: DefaultBridgeFacts | undefined, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>): string | undefined {
  const subnets = (bridge?.IPAM?.Config ?? []).map((c) => c.Subnet).filter((s): s is string => !!s && s.includes('.'));
  const name = bridge?.Options?.['com.docker.network.bridge.name'] || DEFAULT_BRIDGE_INTERFACE;
  const onInterface = (interfaces[name] ?? [])
    .filter((i) => i.family === 'IPv4' && !i.internal)
    .map((i) => i.address);
  const fromInterface = onInterface.find((a) => subnets.some((s) => inSubnet(a, s))) ?? (subnets.length ? undefined : onInterface[0]);
  if (fromInterface) return fromInterface;
  return (bridge?.IPAM?.Config ?? []).map((c) => c.Gateway).find((g): g is string => !!g && isIPv4(g));
}

/** hostGatewayAddress for the engine behind `docker`, asking it for its default bridge. */
export async function engineHostGateway(docker: Docker): Promise<string | undefined> {
  const bridge = await docker.getNetwork('bridge').inspect().catch(() => undefined) as DefaultBridgeFacts | undefined;
  return hostGatewayAddress(bridge, networkInterfaces());
}
