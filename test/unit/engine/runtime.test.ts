import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseTransport } from '../../../src/bridge/host.js';
import { gvisorSocketNote, runtimeTraits, unmountEventsFor } from '../../../src/engine/runtime.js';

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

describe('whether the guard inside may wait on unmount events alone', () => {
  it('only runc or crun on this machine\'s kernel: gVisor, a VM, an unknown runtime or an unasked kernel get the timed looks', () => {
    const local = (name: string) => ({ ...runtimeTraits(name, { [name]: {} }), sharesHostKernel: true });
    assert.equal(unmountEventsFor(local('runc')), true);
    assert.equal(unmountEventsFor(local('crun')), true);
    assert.equal(unmountEventsFor(local('runsc')), false, 'gVisor keeps the mount and shows the replaced file');
    assert.equal(unmountEventsFor(local('kata')), false, 'a VM\'s shared folders');
    assert.equal(unmountEventsFor({ ...local('runc'), sharesHostKernel: false }), false, 'Docker Desktop: the host\'s files reach the VM through a shared folder');
    assert.equal(unmountEventsFor(runtimeTraits('runc', { runc: {} })), false, 'not known to share the kernel');
  });
});
