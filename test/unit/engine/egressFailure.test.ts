// The words for a failed network or proxy creation, from the errors the engine really sends (copied
// from dockerd 20.10's answers; exhausting the shared engine's address pools for real would break
// every other sandbox on it). The cleanup of such a failed create is tested for real in
// test/integration/engine/repair.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PaddockError } from '../../../src/core/errors.js';
import { explainEgressFailure, egressSpecLabel, egressSpecOf } from '../../../src/engine/egress.js';

/** An error as dockerode makes it from an engine answer. */
const engineError = (statusCode: number, message: string) => Object.assign(new Error(`(HTTP code ${statusCode}) unexpected - ${message}`), { statusCode, json: { message } });

describe('explainEgressFailure', () => {
  it('no address pool left (a 404 naming a network) is the real cause, with how to add pools, not "the network does not exist"', () => {
    const said = explainEgressFailure(engineError(404, 'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network'));
    assert.ok(said instanceof PaddockError);
    assert.equal(said.message, "Docker has no free address range left for the sandbox's network (each sandbox has its own; the engine said: could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network). Nothing was created.");
    assert.match(said.hint ?? '', /"default-address-pools": \[\{"base": "10\.201\.0\.0\/16", "size": 24\}\].*daemon\.json|daemon\.json.*"default-address-pools"/);
    assert.match(said.hint ?? '', /docker network prune/);
    assert.doesNotMatch(said.message, /does not exist/);
  });

  it('a missing way-out network and a missing proxy image are said as such', () => {
    const network = explainEgressFailure(engineError(404, 'network corp-egress not found'));
    assert.match((network as Error).message, /^The network ".*" for the egress proxy does not exist\. Nothing was created\.$/);
    const image = explainEgressFailure(engineError(404, 'No such image: nothing:here'));
    assert.equal((image as Error).message, 'The image for the egress proxy is not on the engine (the engine said: No such image: nothing:here). Nothing was created.');
  });

  it('anything else is passed on as the engine said it', () => {
    const other = engineError(500, 'driver failed programming external connectivity');
    assert.equal(explainEgressFailure(other), other);
  });
});

describe('the proxy spec recorded on the sandbox', () => {
  it('round-trips ports and transport, and a label that is not Paddock\'s reads as none', () => {
    const label = egressSpecLabel({ ports: [{ containerPort: 8080, hostPort: 0, protocol: 'tcp' }], viaSockets: false });
    assert.deepEqual(egressSpecOf(label), { ports: [{ containerPort: 8080, hostPort: 0, protocol: 'tcp' }], viaSockets: false });
    assert.equal(egressSpecOf({ 'dev.paddock.egress-spec': '{"ports": "8080"}' }), undefined);
    assert.equal(egressSpecOf({}), undefined);
  });
});

describe('notes are text', () => {
  it('a stream frame header or an escape in a quoted message does not reach the terminal', async () => {
    const { printable } = await import('../../../src/engine/repair.js');
    assert.equal(printable('\x01\x00\x00\x00\x00\x00\x00\x2aOCI runtime exec failed\x1b[31m: x\n\ty'), '*OCI runtime exec failed[31m: x\n\ty');
  });
});
