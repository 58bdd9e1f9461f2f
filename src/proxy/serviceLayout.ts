import { join } from 'node:path';

/**
 * The shared egress service's folder (the host's network state folder, src/engine/egressFiles.ts,
 * mounted read-write into the service and into no sandbox), shared by the host side
 * (src/engine/egressService.ts) and the service (./service.ts):
 *   <root>/serve/<id>.json       one per running sandbox, written by the host: {sandbox, run, network,
 *                                upstream}; served only by the service of that upstream network.
 *                                The service serves the sandbox while it exists, and anew when `run` changes.
 *   <root>/<id>/net/             the sandbox's sockets (proxy.sock, keys.sock, relay.sock): the only
 *                                part of the root mounted into that sandbox (read-only)
 *   <root>/<id>/log/serving.json the service's answer: {run} once it listens for that run
 *   <root>/<id>/...              its log, keys, rules and relay target, as for a proxy of its own
 */
export const SERVE_FOLDER = 'serve';
export const SERVING_FILE = 'serving.json';
/** A sandbox folder's name: 12 hex digits (a hash of the sandbox name). */
export const SANDBOX_FOLDER = /^[0-9a-f]{12}$/;

export interface Registration {
  readonly sandbox: string;
  /** A new value for each start of the sandbox: questions and session state belong to one run. */
  readonly run: string;
  /** The rules until the live rules file is read. */
  readonly network: { policy: 'allow' | 'deny'; allow: string[]; deny: string[] };
  /**
   * The network the sandbox goes out through: only the service on that network serves it (services
   * of other networks share the state folder). Absent in older registrations: Docker's default bridge.
   */
  readonly upstream?: string;
}

/** The way out a registration asks for. */
export function upstreamOf(registration: Registration): string {
  return registration.upstream || 'bridge';
}

export function sandboxFiles(root: string, id: string): { dir: string; log: string; questions: string; rules: string; keys: string; relayTarget: string; sockets: string; serving: string } {
  const dir = join(root, id);
  return {
    dir, log: join(dir, 'log', 'egress.jsonl'), questions: join(dir, 'log', 'questions.json'), serving: join(dir, 'log', SERVING_FILE),
    rules: join(dir, 'keys', 'rules.json'), keys: join(dir, 'keys', 'keys.json'), relayTarget: join(dir, 'relay', 'bridge'), sockets: join(dir, 'net'),
  };
}
