import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseTransport } from '../../../src/bridge/host.js';
import { gvisorSocketNote, runtimeTraits } from '../../../src/engine/runtime.js';

const RUNTIMES = {
  runc: { path: 'runc' },
  runsc: { path: '/usr/bin/runsc', runtimeArgs: ['--network=none'] },
  'runsc-uds': { path: '/usr/local/bin/runsc', runtimeArgs: ['--network=none', '--host-uds=open'] },
  'runsc-net': { path: '/usr/bin/runsc' },
  'runsc-old': { path: '/usr/bin/runsc', runtimeArgs: ['-network', 'none', '-fsgofer-host-uds'] },
  kata: { path: '/usr/bin/kata-runtime' },
};

describe('runtime traits from docker info', () => {
  it('runc and VM runtimes have a network and reach host sockets', () => {
    for (const name of ['runc', 'kata', undefined]) {
      assert.deepEqual(runtimeTraits(name, RUNTIMES), { name: name ?? 'runc', gvisor: false, networkNone: false, hostUnixSockets: true });
    }
  });
  it('gVisor: network and host-socket access follow its flags, in every spelling runsc accepts', () => {
    assert.deepEqual(runtimeTraits('runsc', RUNTIMES), { name: 'runsc', gvisor: true, networkNone: true, hostUnixSockets: false });
    assert.deepEqual(runtimeTraits('runsc-uds', RUNTIMES), { name: 'runsc-uds', gvisor: true, networkNone: true, hostUnixSockets: true });
    assert.deepEqual(runtimeTraits('runsc-net', RUNTIMES), { name: 'runsc-net', gvisor: true, networkNone: false, hostUnixSockets: false });
    assert.deepEqual(runtimeTraits('runsc-old', RUNTIMES), { name: 'runsc-old', gvisor: true, networkNone: true, hostUnixSockets: true });
  });
  it('a cut-off gVisor sandbox gets a note that says what to add to daemon.json', () => {
    assert.match(gvisorSocketNote(runtimeTraits('runsc', RUNTIMES))!, /no network .* and no MCP bridge.*--host-uds=open.*daemon\.json/);
    assert.equal(gvisorSocketNote(runtimeTraits('runsc-uds', RUNTIMES)), undefined);
    assert.equal(gvisorSocketNote(runtimeTraits('runsc-net', RUNTIMES)), undefined);
    assert.equal(gvisorSocketNote(runtimeTraits('runc', RUNTIMES)), undefined);
  });
  it('the bridge takes the TCP relay under a gVisor that has a network but no host sockets', () => {
    const local = 'unix:///var/run/docker.sock';
    const os = 'Debian GNU/Linux 12';
    if (process.platform !== 'linux') return;
    assert.equal(chooseTransport(local, os, undefined, runtimeTraits('runsc-net', RUNTIMES)), 'tcp');
    assert.equal(chooseTransport(local, os, undefined, runtimeTraits('runsc-uds', RUNTIMES)), 'unix');
    assert.equal(chooseTransport(local, os, undefined, runtimeTraits('runc', RUNTIMES)), 'unix');
  });
});
