import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { egressPaths } from './egressFiles.js';
import { writeSecretFile } from './stateFolder.js';

// The network a sandbox's egress goes out through (its "way out", PADDOCK_EGRESS_NETWORK), kept from
// create like its other options: a later start from a process without the variable, or with another
// one, does not move the sandbox's traffic to another network. Only an apply changes it (./apply.ts).

/** The way out this process gives a new sandbox: PADDOCK_EGRESS_NETWORK, else Docker's default bridge. */
export function processEgressNetwork(env: NodeJS.ProcessEnv = process.env): string {
  return env.PADDOCK_EGRESS_NETWORK || 'bridge';
}

/** In the sandbox's network state folder on the host (never mounted into the sandbox). */
function recordFile(sandbox: string): string {
  return join(egressPaths(sandbox).dir, 'egress-network');
}

/** The way out recorded at the sandbox's create (or last apply); undefined for sandboxes made before the record. */
export function recordedEgressNetwork(sandbox: string): string | undefined {
  try {
    return readFileSync(recordFile(sandbox), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Records the way out of a sandbox being created (its network state folder exists). */
export function recordEgressNetwork(sandbox: string, network: string): void {
  writeSecretFile(recordFile(sandbox), `${network}\n`);
}

/** The sandbox's way out: as recorded, else (made before the record) this process's. */
export function egressNetworkOf(sandbox: string): string {
  return recordedEgressNetwork(sandbox) ?? processEgressNetwork();
}
