import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';

/**
 * Plain TCP relaying in the egress proxy: ports published for the sandbox (host -> sandbox), and the
 * bridge relay (sandbox -> the Paddock bridge on the host, where a Unix socket cannot be mounted).
 */

/** Joins two sockets until either side ends; an error on one closes both. */
export function pipeBoth(a: Socket, b: Socket): void {
  a.pipe(b).pipe(a);
  const drop = () => { a.destroy(); b.destroy(); };
  a.on('error', drop).on('close', drop);
  b.on('error', drop).on('close', drop);
}

/**
 * The bridge relay's target, "HOST:PORT", written by the host while a bridge runs for the sandbox
 * (empty or missing otherwise). Read at every connection: the bridge's port changes when it restarts.
 * Only the host can write it (its folder is mounted read-only into the proxy, not into the sandbox).
 */
export function readRelayTarget(file: string): { host: string; port: number } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
  const m = /^([A-Za-z0-9.-]+|\[[0-9a-fA-F:.]+\]):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}
