import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { domainToASCII } from 'node:url';

/**
 * Egress rules: which hosts a sandbox may reach through its proxy. Pure: the proxy, the CLI and
 * tests share it. Every decision is made on a normalised target, so spellings of the same host
 * (case, trailing dot, Unicode, IPv4 in hex/octal/decimal, IPv4-mapped IPv6) cannot slip past a rule.
 *
 * Rule forms (network.allow / network.deny in .paddock/policy.yaml):
 *   example.com        that host only (any port)
 *   *.example.com      any subdomain, at any depth; NOT example.com itself (list both to allow both)
 *   example.com:443    that host on that port only (also *.example.com:443)
 *   10.0.0.0/8, 10.1.2.3, [fd00::1]:8080, fd00::/8
 *                      addresses: match IP literals, and the addresses names resolve to
 * A deny rule wins over any allow rule; hosts no rule names get network.policy (deny by default).
 */

export type EgressTarget =
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'ip'; readonly ip: string; readonly family: 4 | 6 };

export interface CompiledRule {
  /** As written in the policy. */
  readonly text: string;
  readonly kind: 'name' | 'wildcard' | 'cidr';
  /** name: the host; wildcard: the suffix without "*."; cidr: the network address. */
  readonly host: string;
  readonly prefix?: number;
  readonly family?: 4 | 6;
  readonly port?: number;
}

export interface EgressRules {
  readonly policy: 'allow' | 'deny';
  readonly allow: readonly CompiledRule[];
  readonly deny: readonly CompiledRule[];
}

export interface EgressDecision {
  readonly allowed: boolean;
  /** Which rule decided: "allow example.com", "deny *.evil.test", "policy deny", "private address 10.0.0.0/8"... */
  readonly rule: string;
}

export class EgressRuleError extends Error {}

/** Characters that never belong in a host: userinfo, paths, queries, fragments, escapes, spaces. */
const FORBIDDEN = /[@/\\?#%\s<>^|"'`{}]/;
const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

/**
 * Normalises a host as a client wrote it (CONNECT authority, URL host, Host header, rule) the way
 * the WHATWG URL parser does (what browsers and curl agree on): lower case, IDN to punycode,
 * IPv4 in any inet_aton form to dotted decimal, IPv6 compressed. Trailing dots are dropped.
 */
export function normalizeHost(raw: string): EgressTarget {
  let host = raw.trim();
  if (!host) throw new EgressRuleError('empty host');
  if (FORBIDDEN.test(host)) throw new EgressRuleError(`"${raw}" is not a host name (it contains "${FORBIDDEN.exec(host)![0].trim() || 'a space'}")`);
  if (host.startsWith('[') && host.endsWith(']')) {
    if (!isIPv6(host.slice(1, -1))) throw new EgressRuleError(`"${raw}": only IPv6 addresses go in brackets`);
    host = host.slice(1, -1);
  }
  if (isIPv6(host)) return ipv6Target(host);
  if (host.includes(':') || host.includes('[') || host.includes(']')) throw new EgressRuleError(`"${raw}" is not a host name`);
  let parsed: string;
  try {
    parsed = new URL(`http://${host}/`).hostname;
  } catch {
    throw new EgressRuleError(`"${raw}" is not a valid host name`);
  }
  if (parsed.startsWith('[')) return ipv6Target(parsed.slice(1, -1));
  if (isIPv4(parsed)) return { kind: 'ip', ip: parsed, family: 4 };
  const name = parsed.replace(/\.+$/, '');
  // The URL parser already mapped Unicode to punycode; domainToASCII confirms it is a valid IDN.
  if (!name || domainToASCII(name) !== name || name.length > 253 || !name.split('.').every((l) => LABEL.test(l))) {
    throw new EgressRuleError(`"${raw}" is not a valid host name`);
  }
  // "1.2.3.4." was handled above; a name whose last label is numeric would be read as an address by some resolvers.
  if (/^(0x[0-9a-f]*|\d+)$/.test(name.split('.').pop()!)) throw new EgressRuleError(`"${raw}" is neither a host name nor an IP address`);
  return { kind: 'name', name };
}

function ipv6Target(text: string): EgressTarget {
  const zone = text.indexOf('%');
  if (zone >= 0) throw new EgressRuleError(`"${text}": IPv6 zone ids are not allowed`);
  const canonical = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  // IPv4-mapped (::ffff:a.b.c.d) reaches the IPv4 host: decide on that.
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (mapped) {
    const hi = parseInt(mapped[1], 16);
    const lo = parseInt(mapped[2], 16);
    return { kind: 'ip', ip: `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, family: 4 };
  }
  return { kind: 'ip', ip: canonical, family: 6 };
}

export function targetText(target: EgressTarget): string {
  return target.kind === 'name' ? target.name : target.family === 6 ? `[${target.ip}]` : target.ip;
}

/** Splits "host:port" / "[v6]:port" / "host"; the port must be 1..65535 when present. */
export function splitHostPort(text: string, defaultPort?: number): { host: string; port?: number } {
  let host = text;
  let port: string | undefined;
  const v6 = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
  if (v6) {
    host = v6[1];
    port = v6[2];
  } else if (text.split(':').length === 2) {
    [host, port] = text.split(':');
  } else if (text.includes(':') && !isIPv6(text)) {
    throw new EgressRuleError(`"${text}" is not host:port`);
  }
  if (port === undefined) return { host, port: defaultPort };
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) throw new EgressRuleError(`"${text}": the port must be a number from 1 to 65535`);
  return { host, port: Number(port) };
}

/** Compiles one rule; throws EgressRuleError with what is wrong. */
export function compileRule(text: string): CompiledRule {
  const raw = text.trim();
  if (!raw) throw new EgressRuleError('empty rule');
  const cidr = /^\[?([0-9a-fA-F:.]+)\]?\/(\d{1,3})$/.exec(raw);
  if (cidr) {
    const target = normalizeHost(cidr[1]);
    const prefix = Number(cidr[2]);
    if (target.kind !== 'ip') throw new EgressRuleError(`"${raw}": a CIDR needs an IP address before the "/"`);
    if (prefix > (target.family === 4 ? 32 : 128)) throw new EgressRuleError(`"${raw}": the prefix length is too long for IPv${target.family}`);
    return { text: raw, kind: 'cidr', host: target.ip, prefix, family: target.family };
  }
  if (raw === '*' || raw.startsWith('*:')) throw new EgressRuleError(`"${raw}": to allow every host, set network.policy to allow`);
  const wildcard = raw.startsWith('*.');
  const { host, port } = splitHostPort(wildcard ? raw.slice(2) : raw);
  if (host.includes('*')) throw new EgressRuleError(`"${raw}": "*" is only allowed as the first label ("*.example.com")`);
  const target = normalizeHost(host);
  if (target.kind === 'ip') {
    if (wildcard) throw new EgressRuleError(`"${raw}": wildcards apply to names, not addresses (use a CIDR such as 10.0.0.0/8)`);
    return { text: raw, kind: 'cidr', host: target.ip, prefix: target.family === 4 ? 32 : 128, family: target.family, port };
  }
  return { text: raw, kind: wildcard ? 'wildcard' : 'name', host: target.name, port };
}

/** Compiles the network section of a policy; `errors` lists every bad rule (the rules list skips them). */
export function compileEgressRules(network: { policy: 'allow' | 'deny'; allow: readonly string[]; deny: readonly string[] }): EgressRules & { errors: string[] } {
  const errors: string[] = [];
  const compile = (list: readonly string[], key: string) => list.flatMap((text, i) => {
    try {
      return [compileRule(text)];
    } catch (err) {
      errors.push(`network.${key}[${i}]: ${(err as Error).message}`);
      return [];
    }
  });
  return { policy: network.policy, allow: compile(network.allow, 'allow'), deny: compile(network.deny, 'deny'), errors };
}

function inCidr(ip: string, family: 4 | 6, rule: CompiledRule): boolean {
  if (rule.family !== family) return false;
  const list = new BlockList();
  list.addSubnet(rule.host, rule.prefix!, family === 4 ? 'ipv4' : 'ipv6');
  return list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

export function ruleMatches(rule: CompiledRule, target: EgressTarget, port: number): boolean {
  if (rule.port !== undefined && rule.port !== port) return false;
  if (target.kind === 'ip') return rule.kind === 'cidr' && inCidr(target.ip, target.family, rule);
  if (rule.kind === 'name') return target.name === rule.host;
  if (rule.kind === 'wildcard') return target.name.endsWith(`.${rule.host}`);
  return false;
}

/** The decision on what the client asked for (a name or an IP literal). Deny wins, then allow, then the policy. */
export function decide(rules: EgressRules, target: EgressTarget, port: number): EgressDecision {
  const denied = rules.deny.find((r) => ruleMatches(r, target, port));
  if (denied) return { allowed: false, rule: `deny ${denied.text}` };
  const allowed = rules.allow.find((r) => ruleMatches(r, target, port));
  if (allowed) return { allowed: true, rule: `allow ${allowed.text}` };
  return { allowed: rules.policy === 'allow', rule: `policy ${rules.policy}` };
}

/** Address ranges a name must never lead to unless an allow rule names the address (DNS rebinding, metadata services, the host). */
const SPECIAL_RANGES: readonly (readonly [string, number, 4 | 6, string])[] = [
  ['0.0.0.0', 8, 4, 'this network'],
  ['10.0.0.0', 8, 4, 'private'],
  ['100.64.0.0', 10, 4, 'shared address space'],
  ['127.0.0.0', 8, 4, 'loopback'],
  ['169.254.0.0', 16, 4, 'link-local'],
  ['172.16.0.0', 12, 4, 'private'],
  ['192.0.0.0', 24, 4, 'IETF protocol assignments'],
  ['192.168.0.0', 16, 4, 'private'],
  ['198.18.0.0', 15, 4, 'benchmarking'],
  ['224.0.0.0', 4, 4, 'multicast'],
  ['240.0.0.0', 4, 4, 'reserved'],
  ['::', 128, 6, 'unspecified'],
  ['::1', 128, 6, 'loopback'],
  ['64:ff9b::', 96, 6, 'NAT64'],
  ['fc00::', 7, 6, 'unique local'],
  ['fe80::', 10, 6, 'link-local'],
  ['ff00::', 8, 6, 'multicast'],
];

/** The special range an address is in ("private 10.0.0.0/8"), or undefined for a public address. */
export function specialRange(ip: string, family: 4 | 6): string | undefined {
  for (const [net, prefix, fam, label] of SPECIAL_RANGES) {
    if (fam === family && inCidr(ip, family, { text: '', kind: 'cidr', host: net, prefix, family: fam })) return `${label} ${net}/${prefix}`;
  }
  return undefined;
}

/**
 * The decision on an address the proxy is about to connect to (a resolved name, or an IP literal
 * that passed `decide`). Address deny rules apply; a loopback, private, link-local... address is
 * refused unless an allow rule names it by address: a name decision never reaches them alone.
 */
export function decideAddress(rules: EgressRules, address: string, port: number): EgressDecision {
  const target = normalizeHost(address);
  if (target.kind !== 'ip') return { allowed: false, rule: 'not an address' };
  const denied = rules.deny.find((r) => r.kind === 'cidr' && ruleMatches(r, target, port));
  if (denied) return { allowed: false, rule: `deny ${denied.text}` };
  const special = specialRange(target.ip, target.family);
  if (!special) return { allowed: true, rule: 'public address' };
  const allowed = rules.allow.find((r) => r.kind === 'cidr' && ruleMatches(r, target, port));
  if (allowed) return { allowed: true, rule: `allow ${allowed.text}` };
  return { allowed: false, rule: `${special} address` };
}
