import type Docker from 'dockerode';
import type { PublishedPort } from './types.js';

function portsOf(bindingMap: Record<string, unknown> | undefined | null): PublishedPort[] {
  const ports: PublishedPort[] = [];
  for (const [key, bindings] of Object.entries(bindingMap ?? {})) {
    const [port, protocol] = key.split('/');
    for (const b of (bindings as { HostIp: string; HostPort: string }[] | null) ?? []) {
      ports.push({ containerPort: Number(port), protocol, hostIp: b.HostIp, hostPort: Number(b.HostPort) || 0 });
    }
  }
  return ports;
}

/** A container's published ports: the live bindings once it runs (with the ports Docker chose), the requested ones before. */
export function publishedPorts(info: Docker.ContainerInspectInfo): PublishedPort[] {
  const live = portsOf(info.NetworkSettings?.Ports);
  return live.length ? live : portsOf(info.HostConfig?.PortBindings);
}

/** The published ports in a container listing (GET /containers/json): the live bindings of a running container. */
export function listedPorts(ports: Docker.ContainerInfo['Ports'] | undefined): PublishedPort[] {
  return (ports ?? []).filter((p) => p.PublicPort).map((p) => ({ containerPort: p.PrivatePort, protocol: p.Type, hostIp: p.IP ?? '', hostPort: p.PublicPort! }));
}
