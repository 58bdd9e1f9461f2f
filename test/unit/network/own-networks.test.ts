import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ownNetworkRefusal, type OwnNetworks } from '../../../src/proxy/ownNetworks.js';

const networks: OwnNetworks = {
  subnets: [{ cidr: '172.17.0.3/16', family: 'ipv4' }, { cidr: '192.168.176.2/20', family: 'ipv4' }, { cidr: 'fd00:1::3/64', family: 'ipv6' }],
  gateways: ['172.17.0.1'],
};

describe('the proxy\'s own networks', () => {
  it('refuses addresses in its networks: other proxies, the sandbox network, IPv4-mapped forms', () => {
    for (const address of ['172.17.0.5', '172.17.255.254', '192.168.176.9', '::ffff:172.17.0.5', 'fd00:1::9']) {
      assert.match(ownNetworkRefusal(address, networks) ?? '', /own network/, address);
    }
  });
  it('leaves the gateway (the host) and other addresses to the rules', () => {
    for (const address of ['172.17.0.1', '172.18.0.5', '10.0.0.1', '8.8.8.8', 'fd00:2::1', '127.0.0.1']) {
      assert.equal(ownNetworkRefusal(address, networks), undefined, address);
    }
  });
});
