import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostControlOf } from '../../../src/bridge/hostControl.js';

describe('hostControlOf: a project container that holds the host', () => {
  it('names the engine socket, privileged mode, breakout capabilities, host namespaces and host folders', () => {
    assert.deepEqual(hostControlOf({ Mounts: [{ Source: '/var/run/docker.sock', Destination: '/var/run/docker.sock' }] }), ['the engine\'s socket is mounted (/var/run/docker.sock)']);
    assert.deepEqual(hostControlOf({ Mounts: [{ Source: '/srv/sockets/podman.sock', Destination: '/tmp/engine' }] }), ['the engine\'s socket is mounted (/srv/sockets/podman.sock)']);
    assert.deepEqual(hostControlOf({ Mounts: [{ Source: '/tmp/x', Destination: '/run/containerd/containerd.sock' }] }), ['the engine\'s socket is mounted (/tmp/x)']);
    assert.deepEqual(hostControlOf({ HostConfig: { Privileged: true } }), ['it runs privileged']);
    assert.deepEqual(hostControlOf({ HostConfig: { CapAdd: ['NET_ADMIN', 'SYS_ADMIN'] } }), ['it has SYS_ADMIN']);
    assert.deepEqual(hostControlOf({ HostConfig: { CapAdd: ['CAP_DAC_READ_SEARCH'] } }), ['it has CAP_DAC_READ_SEARCH']);
    assert.deepEqual(hostControlOf({ HostConfig: { PidMode: 'host', CapAdd: ['SYS_PTRACE'] } }), ['it has SYS_PTRACE', 'it shares the host\'s processes (pid: host)']);
    assert.deepEqual(hostControlOf({ HostConfig: { NetworkMode: 'host' } }), ['it shares the host\'s network (network_mode: host)']);
    for (const source of ['/', '/var/run/', '/run', '/etc', '/home', '/proc']) assert.equal(hostControlOf({ Mounts: [{ Source: source, Destination: '/host' }] }).length, 1, source);
    assert.deepEqual(hostControlOf({ Mounts: [{ Source: '/Users/alice', Destination: '/h' }] }, '/Users/alice'), ['the host user\'s home is mounted (/Users/alice)']);
    assert.deepEqual(hostControlOf({ Mounts: [{ Source: '/Users', Destination: '/h' }] }, '/Users/alice'), ['the host user\'s home is mounted (/Users)']);
  });

  it('says nothing of an ordinary service: the project folder, named volumes, a capability for its own network, its own namespaces', () => {
    assert.deepEqual(hostControlOf({
      HostConfig: { Privileged: false, CapAdd: ['NET_ADMIN', 'SYS_PTRACE'], PidMode: '', NetworkMode: 'pbt_default' },
      Mounts: [{ Source: '/home/alice/project', Destination: '/app' }, { Source: '/var/lib/docker/volumes/db/_data', Destination: '/var/lib/postgresql/data' }, { Source: '/home/alice/project/run', Destination: '/run/app' }],
    }, '/home/alice'), []);
    assert.deepEqual(hostControlOf({}), []);
  });
});
