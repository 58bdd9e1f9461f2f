import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseTransport } from '../../../src/bridge/host.js';
import { PassThrough } from 'node:stream';
import { gvisorSocketNote, runtimeTraits, startFailure, unmountEventsFor, withoutRuntimeWaitFailure } from '../../../src/engine/runtime.js';

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

describe('the words after a runtime loses a command with its sandbox', () => {
  const seen = '\u0000waiting on pid 4154: waiting on PID 4154 in sandbox "a8fbc85879815257325bf028e5cf0bfcecdb66c796afb6a978b8e3bb888bfbe2": urpc method "containerManager.WaitPID" failed: EOF\r\r\n';
  const through = async (chunks: readonly string[]) => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c) => { text += c; });
    let called = 0;
    const filter = withoutRuntimeWaitFailure(out, () => { called++; });
    for (const c of chunks) await new Promise<void>((r) => filter.stream.write(c, () => r()));
    return { text, lost: filter.lost(), called };
  };
  it('gVisor\'s "urpc method ... failed" line (as its terminal showed it) is left out, and said to the caller', async () => {
    const r = await through(['$ sleep 600\r\n', seen]);
    assert.deepEqual(r, { text: '$ sleep 600\r\n\u0000', lost: true, called: 1 });
  });
  it('what a command writes passes as it is, also text that only mentions urpc', async () => {
    const r = await through(['urpc method docs: see README\n', 'a\r\nb']);
    assert.deepEqual(r, { text: 'urpc method docs: see README\na\r\nb', lost: false, called: 0 });
  });
  it('a start the engine refuses with "id already in use" says why and the way out, once', () => {
    const err = startFailure('sb', 'id already in use');
    assert.equal(err.message, 'Sandbox sb cannot start: the engine still holds its last run, which did not end cleanly ("id already in use").');
    assert.match(err.hint ?? '', /^Run "paddock apply sb": a new container, with the sandbox's state kept/);
    assert.equal(startFailure('sb', 'no such image').message, 'Sandbox sb failed to start: no such image');
  });
});
