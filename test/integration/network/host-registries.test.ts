// A new sandbox may reach the package registries its host is configured with (npm, pip, apt), read
// at create time, so a company mirror needs no policy edit; `hostRegistries: false` turns it off.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { cleanup, makeWorkspace, paddockOk } from '../../support/sandbox.js';

const mirrors = {
  PADDOCK_NPM_REGISTRY: 'https://npm.corp.test/',
  PADDOCK_APT_MIRROR: 'http://apt.corp.test:8081/debian',
  PADDOCK_PIP_INDEX: 'https://pypi.corp.test/simple',
};

describe('the host\'s package registries in the egress rules', () => {
  const withDefaults = makeWorkspace({ 'README.md': '# a\n' });
  const optedOut = makeWorkspace({ 'README.md': '# b\n', '.paddock/policy.yaml': 'version: 1\nnetwork:\n  hostRegistries: false\n' });
  after(async () => {
    await cleanup(withDefaults);
    await cleanup(optedOut);
  });

  it('allows the configured npm registry, pip index and apt mirror (with its port), and nothing else new', async () => {
    const sb = (await paddockOk(['create', 'shell', withDefaults], { env: mirrors })).stdout.trim();
    assert.match((await paddockOk(['network', 'check', sb, 'npm.corp.test'])).stdout, /^ALLOW npm\.corp\.test:443 \(rule: allow npm\.corp\.test\)/);
    assert.match((await paddockOk(['network', 'check', sb, 'pypi.corp.test'])).stdout, /^ALLOW pypi\.corp\.test:443/);
    assert.match((await paddockOk(['network', 'check', sb, 'apt.corp.test:8081'])).stdout, /^ALLOW apt\.corp\.test:8081 \(rule: allow apt\.corp\.test:8081\)/);
    assert.match((await paddockOk(['network', 'check', sb, 'apt.corp.test:443'])).stdout, /^DENY /, 'only the mirror\'s own port');
    assert.match((await paddockOk(['network', 'check', sb, 'other.corp.test'])).stdout, /^DENY /);
  });

  it('adds none when the policy sets hostRegistries: false', async () => {
    const sb = (await paddockOk(['create', 'shell', optedOut], { env: mirrors })).stdout.trim();
    assert.match((await paddockOk(['network', 'check', sb, 'npm.corp.test'])).stdout, /^DENY /);
  });
});
