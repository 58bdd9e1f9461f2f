// Which egress shape a new sandbox gets: the shared service only where host Unix sockets reach into
// the sandbox and no port is published; a network and proxy of its own everywhere else.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { egressShapeFor } from '../../../src/engine/egress.js';
import type { RuntimeTraits } from '../../../src/engine/runtime.js';

const runc: RuntimeTraits = { name: 'runc', gvisor: false, networkNone: false, hostUnixSockets: true, sharesHostKernel: true };
const port = [{ containerPort: 3000, hostPort: 3000, protocol: 'tcp' as const }];

describe('egressShapeFor', () => {
  it('shares the service on an engine on this kernel, with runc or a gVisor that reaches host sockets', () => {
    assert.equal(egressShapeFor(runc, [], {}), 'shared');
    assert.equal(egressShapeFor({ ...runc, name: 'runsc', gvisor: true, networkNone: true }, [], {}), 'shared');
  });

  it('keeps a proxy of its own on Docker Desktop or a remote engine, for published ports, VM runtimes, gVisor without host sockets, or when asked', () => {
    assert.equal(egressShapeFor({ ...runc, sharesHostKernel: false }, [], {}), 'own');
    assert.equal(egressShapeFor({ ...runc, sharesHostKernel: undefined }, [], {}), 'own');
    assert.equal(egressShapeFor(runc, port, {}), 'own');
    assert.equal(egressShapeFor({ ...runc, name: 'kata-runtime' }, [], {}), 'own');
    assert.equal(egressShapeFor({ ...runc, name: 'runsc', gvisor: true, hostUnixSockets: false }, [], {}), 'own');
    assert.equal(egressShapeFor(runc, [], { PADDOCK_EGRESS_SHAPE: 'own' }), 'own');
  });
});
