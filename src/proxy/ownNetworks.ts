// The egress proxy never connects into the networks it sits on, whatever the rules say: Docker's
// default bridge (or PADDOCK_EGRESS_NETWORK) holds every other sandbox's egress proxy, and after an
// engine restart containers get new addresses, so a rule that allowed an address by IP can come to
// name another sandbox's proxy. Computed from the proxy's live interfaces at each decision, so no
// list of addresses can go stale. The gateways (the host's end of those networks) stay decided by
// the rules: that is how a user reaches a service published on the host.
import { readFileSync } from 'node:fs';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { networkInterfaces } from 'node:os';

export interface OwnNetworks {
  readonly subnets: readonly { readonly cidr: string; readonly family: 'ipv4' | 'ipv6' }[];
  readonly gateways: readonly string[];
}

/** The default gateways of this network namespace, from /proc/net/route (IPv4, little-endian hex). */
function routeGateways(table = '/proc/net/route'): string[] {
  let text: string;
  try {
    text = readFileSync(table, 'utf8');
  } catch {
    return [];
  }
  const gateways: string[] = [];
  for (const line of text.split('\n').slice(1)) {
    const hex = line.trim().split(/\s+/)[2];
    if (!hex || !/^[0-9A-F]{8}$/i.test(hex) || hex === '00000000') continue;
    const n = Number.parseInt(hex, 16);
    gateways.push([n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.'));
  }
  return gateways;
}

/**
 * Subnets the host named as the outside (PADDOCK_EGRESS_NETWORK, a network the user chose as the
 * proxies' way out, e.g. the tests' local stand-in internet): left to the rules like any address.
 */
export const OUTSIDE_SUBNETS_VARIABLE = 'PADDOCK_EGRESS_OUTSIDE';

function inAny(address: string, family: 'ipv4' | 'ipv6', cidrs: readonly string[]): boolean {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [network, prefix] = cidr.split('/');
    const f = isIPv4(network) ? 'ipv4' : 'ipv6';
    if (f === family) list.addSubnet(network, Number(prefix), f);
  }
  return list.check(address, family);
}

function outsideSubnets(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env[OUTSIDE_SUBNETS_VARIABLE] ?? '').split(',').filter((c) => /^[\da-f.:]+\/\d+$/i.test(c));
}

/** The subnets of this process's interfaces (but loopback and the outside) and its gateways. */
export function ownNetworks(env: NodeJS.ProcessEnv = process.env): OwnNetworks {
  const outside = outsideSubnets(env);
  const subnets: { cidr: string; family: 'ipv4' | 'ipv6' }[] = [];
  for (const entries of Object.values(networkInterfaces())) {
    // Loopback is left to the rules: it reaches only the proxy's own ports, which the sandbox reaches anyway.
    for (const e of entries ?? []) {
      const family = e.family === 'IPv4' ? 'ipv4' : 'ipv6';
      if (e.cidr && !e.internal && !inAny(e.address, family, outside)) subnets.push({ cidr: e.cidr, family });
    }
  }
  return { subnets, gateways: routeGateways() };
}

/**
 * Why the proxy must not connect to `address` (an address in one of its own networks, other than
 * a gateway), or undefined. IPv4-mapped IPv6 addresses are checked as the IPv4 address they are.
 */
export function ownNetworkRefusal(address: string, networks: OwnNetworks = ownNetworks()): string | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const ip = mapped ?? address;
  const family = isIPv4(ip) ? 'ipv4' : isIPv6(ip) ? 'ipv6' : undefined;
  if (!family || networks.gateways.includes(ip)) return undefined;
  for (const subnet of networks.subnets) {
    if (subnet.family === family && inAny(ip, family, [subnet.cidr])) return `the proxy's own network ${subnet.cidr} (other sandboxes' proxies live there; never reachable, whatever the rules)`;
  }
  return undefined;
}

/** The same, read from the engine's view of the proxy container (for `paddock network check` on the host). */
export function ownNetworksOf(networks: Record<string, { IPAddress?: string; IPPrefixLen?: number; Gateway?: string; GlobalIPv6Address?: string; GlobalIPv6PrefixLen?: number; IPv6Gateway?: string }>, proxyEnv: readonly string[] = []): OwnNetworks {
  const subnets: { cidr: string; family: 'ipv4' | 'ipv6' }[] = [];
  const gateways: string[] = [];
  const outside = outsideSubnets(Object.fromEntries(proxyEnv.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])));
  for (const n of Object.values(networks)) {
    if (n.IPAddress && inAny(n.IPAddress, 'ipv4', outside)) continue;
    if (n.IPAddress && n.IPPrefixLen) subnets.push({ cidr: `${n.IPAddress}/${n.IPPrefixLen}`, family: 'ipv4' });
    if (n.GlobalIPv6Address && n.GlobalIPv6PrefixLen) subnets.push({ cidr: `${n.GlobalIPv6Address}/${n.GlobalIPv6PrefixLen}`, family: 'ipv6' });
    for (const g of [n.Gateway, n.IPv6Gateway]) if (g) gateways.push(g);
  }
  return { subnets, gateways };
}
