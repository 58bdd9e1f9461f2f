import type { PortMapping } from '../core/options.js';

// The labels of a sandbox's egress and what its spec label records, apart from the rest of the
// egress code (./egress.ts), so that listing sandboxes (./listing.ts) loads no proxy or policy code.

export const EGRESS_LABELS = {
  /** On the proxy container and the network: the sandbox they belong to. */
  for: 'dev.paddock.egress-for',
  /** On the proxy container. */
  proxy: 'dev.paddock.egress-proxy',
  /** On the network. */
  network: 'dev.paddock.egress-network',
  /** On the proxy container: the ports it publishes as asked (JSON), for listings without an inspect. */
  ports: 'dev.paddock.egress-ports',
  /** On the sandbox container: its proxy's ports and transport (JSON), to make a removed proxy again. */
  spec: 'dev.paddock.egress-spec',
} as const;

/** What the sandbox's spec label records: its proxy's ports and transport, and whether it is served by the shared service. */
export interface EgressSpec {
  readonly ports: readonly PortMapping[];
  /** It reaches its proxy over Unix sockets in its folder (no network of its own). */
  readonly viaSockets: boolean;
  readonly shared?: boolean;
}

/** The label on the sandbox container that records its proxy's ports and transport (not its rules: those live in rules.json). */
export function egressSpecLabel(spec: EgressSpec): Record<string, string> {
  return { [EGRESS_LABELS.spec]: JSON.stringify({ ports: spec.ports, viaSockets: spec.viaSockets, ...(spec.shared ? { shared: true } : {}) }) };
}

/** The recorded ports and transport; undefined for sandboxes made before the label (or a label not Paddock's). */
export function egressSpecOf(labels: Readonly<Record<string, string>> | undefined): EgressSpec | undefined {
  try {
    const spec = JSON.parse(labels?.[EGRESS_LABELS.spec] ?? '');
    if (!Array.isArray(spec?.ports) || typeof spec.viaSockets !== 'boolean') return undefined;
    const ports = (spec.ports as PortMapping[]).filter((p) => Number.isInteger(p?.containerPort) && Number.isInteger(p?.hostPort) && p.protocol === 'tcp');
    return { ports: ports.map((p) => ({ containerPort: p.containerPort, hostPort: p.hostPort, protocol: 'tcp' })), viaSockets: spec.viaSockets, ...(spec.shared === true ? { shared: true } : {}) };
  } catch {
    return undefined;
  }
}

/** Whether a sandbox's published ports are its own proxy's (its spec label says so; a sandbox without the label may have any). */
export function publishesThroughProxy(labels: Readonly<Record<string, string>>): boolean {
  const spec = egressSpecOf(labels);
  return !spec || (!spec.shared && spec.ports.length > 0);
}
