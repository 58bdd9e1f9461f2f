import type Docker from 'dockerode';
import { LABELS } from '../core/naming.js';
import { publishesThroughProxy } from './egressSpec.js';
import { listedPorts } from './ports.js';
import { statusOf } from './sandboxClient.js';
import type { SandboxSummary } from './types.js';

// Listing sandboxes (paddock ls, the editor's tree): one list request for Paddock's sandboxes, and
// only what that cannot answer asked besides. Loads no egress, policy or template code (the CLI's
// ls starts from the engine connection alone, as exec does).

export async function listSandboxes(docker: Docker, filter: { workspace?: string; agent?: string } = {}): Promise<SandboxSummary[]> {
  const labels = [`${LABELS.sandbox}=1`];
  if (filter.workspace) labels.push(`${LABELS.workspace}=${filter.workspace}`);
  if (filter.agent) labels.push(`${LABELS.agent}=${filter.agent}`);
  const containers = await docker.listContainers({ all: true, filters: { label: labels } });
  // Sandboxes made before the runtime label need an inspect.
  const runtimes = await Promise.all(containers.map(async (c) => c.Labels[LABELS.runtime] || ((await docker.getContainer(c.Id).inspect()).HostConfig.Runtime ?? 'runc')));
  // Only a sandbox behind a proxy of its own that publishes ports (or one older than the spec
  // label) has its ports on another container: the proxies are listed only then.
  const proxied = containers.some((c) => publishesThroughProxy(c.Labels)) ? await (await import('./egress.js')).egressPorts(docker) : new Map<string, never>();
  return containers.map((c, i) => ({
    name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
    id: c.Id,
    workspace: c.Labels[LABELS.workspace] ?? '',
    agent: c.Labels[LABELS.agent] ?? '',
    status: statusOf(c.State),
    runtime: runtimes[i] || 'runc',
    image: c.Image,
    created: new Date(c.Created * 1000).toISOString(),
    ports: proxied.get((c.Names[0] ?? c.Id).replace(/^\//, '')) ?? listedPorts(c.Ports),
  })).sort((a, b) => a.name.localeCompare(b.name));
}
