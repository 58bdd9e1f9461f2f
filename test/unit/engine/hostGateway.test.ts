// The address host-gateway names, found without the IPAM Gateway field that Debian's dockerd leaves
// out on its first start (issue: the bridge's TCP listener fell back to loopback and never answered).
import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, it } from 'node:test';
import { hostGatewayAddress } from '../../../src/engine/hostGateway.js';

const v4 = (address: string): NetworkInterfaceInfo => ({ address, family: 'IPv4', internal: false, netmask: '255.255.0.0', mac: '02:42:00:00:00:00', cidr: `${address}/16` });
const loopback: NetworkInterfaceInfo = { address: '127.0.0.1', family: 'IPv4', internal: true, netmask: '255.0.0.0', mac: '00:00:00:00:00:00', cidr: '127.0.0.1/8' };
const firstStart = { Options: { 'com.docker.network.bridge.name': 'docker0' }, IPAM: { Config: [{ Subnet: '172.17.0.0/16' }] } };

describe('host-gateway address of an engine on this kernel', () => {
  it('reads the bridge interface when the engine reports a subnet but no Gateway (first dockerd start)', () => {
    assert.equal(hostGatewayAddress(firstStart, { lo: [loopback], docker0: [v4('172.17.0.1')], eth0: [v4('10.0.0.5')] }), '172.17.0.1');
  });

  it('follows a bridge configured with another name and address (bip)', () => {
    const custom = { Options: { 'com.docker.network.bridge.name': 'br-dev' }, IPAM: { Config: [{ Subnet: '10.99.0.0/24' }] } };
    assert.equal(hostGatewayAddress(custom, { 'br-dev': [v4('10.99.0.7')], docker0: [v4('172.17.0.1')] }), '10.99.0.7');
  });

  it('ignores an address of the interface outside the bridge subnet', () => {
    assert.equal(hostGatewayAddress(firstStart, { docker0: [v4('192.168.5.1'), v4('172.17.0.1')] }), '172.17.0.1');
  });

  it('uses the reported Gateway when the interface is not visible (engine in another namespace)', () => {
    const reported = { IPAM: { Config: [{ Subnet: '172.18.0.0/16', Gateway: '172.18.0.1' }] } };
    assert.equal(hostGatewayAddress(reported, { lo: [loopback] }), '172.18.0.1');
  });

  it('has no answer rather than a wrong one (never loopback, never another interface)', () => {
    assert.equal(hostGatewayAddress(firstStart, { lo: [loopback], eth0: [v4('10.0.0.5')] }), undefined);
    assert.equal(hostGatewayAddress(undefined, { lo: [loopback] }), undefined);
  });
});
