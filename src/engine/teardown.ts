import type Docker from 'dockerode';
import { isGoneOrGoing } from './docker.js';
import { removeEgress } from './egress.js';
import { removeStateImages } from './apply.js';
import { removeBridgeDir } from './stateFolder.js';
import { recordRemoval } from './stopCause.js';

/**
 * Removes a sandbox and everything it owns: its container (with its anonymous volumes), its egress
 * proxy and internal network, its network folder (proxy log, injected keys, sockets) and its bridge
 * folder (token, socket, shim, audit log). The workspace is a bind mount and is never touched.
 * `paddock rm` and `paddock reset` both come through here, so neither leaves a sandbox's state behind.
 */
export async function removeSandboxAndState(docker: Docker, sandbox: { readonly id: string; readonly name: string }): Promise<void> {
  recordRemoval(sandbox); // a command that ends with it does not call this a removal from outside Paddock
  // Already gone (removed by another process meanwhile): its state goes all the same.
  await docker.getContainer(sandbox.id).remove({ force: true, v: true }).catch((err) => { if (!isGoneOrGoing(err)) throw err; });
  await removeEgress(docker, sandbox.name);
  await removeStateImages(docker, sandbox.name); // what applies kept of its state (./apply.ts)
  removeBridgeDir(sandbox.name);
}
