// The pure parts of applying changes with the state kept (src/engine/apply.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KEY_PLACEHOLDER, KEY_PROVIDERS, planKeyInjection } from '../../../src/core/credentials.js';
import { defaultPolicy } from '../../../src/core/policy.js';
import { LABELS } from '../../../src/core/naming.js';
import { KEY_INJECTION_BASE } from '../../../src/proxy/addresses.js';
import { commitConfig, containerPolicyHash, maxStateLayers, runLeftovers, STATE_LABELS, STATE_SPACE_RESERVE, stateSpaceProblem, withCarriedKeys } from '../../../src/engine/apply.js';

describe('commitConfig', () => {
  const template = { Env: ['PATH=/usr/bin:/bin', 'LANG=C.UTF-8'], Labels: { [LABELS.template]: 'shell', [LABELS.templateHash]: 'abc' }, Cmd: ['bash'] } as any;
  const container = { Env: ['PATH=/usr/bin:/bin', 'LANG=C.UTF-8', 'OLD=1', 'ANTHROPIC_API_KEY=placeholder', 'PADDOCK_UID=1000'], Labels: { [LABELS.sandbox]: '1', [LABELS.injectedKeys]: 'anthropic', [LABELS.task]: 't' } } as any;
  const config = commitConfig(template, container, 'sb') as any;

  it('keeps the template\'s variables and makes every other old one a bare name (Docker unsets those)', () => {
    assert.deepEqual(config.Env, ['PATH=/usr/bin:/bin', 'LANG=C.UTF-8', 'OLD', 'ANTHROPIC_API_KEY', 'PADDOCK_UID']);
  });
  it('empties the old container\'s labels and the template label, and names the sandbox', () => {
    assert.equal(config.Labels[LABELS.injectedKeys], '');
    assert.equal(config.Labels[LABELS.task], '');
    assert.equal(config.Labels[LABELS.template], '', 'a state image is never taken for a template');
    assert.equal(config.Labels[LABELS.templateHash], 'abc');
    assert.equal(config.Labels[STATE_LABELS.of], 'sb');
    assert.deepEqual(config.Cmd, ['bash']);
  });
});

describe('runLeftovers', () => {
  it('lists what was added under /run, top-most only, without Paddock\'s own mounts and files', () => {
    const changes = [
      { Path: '/run', Kind: 0 }, { Path: '/run/postgresql', Kind: 1 }, { Path: '/run/postgresql/pid', Kind: 1 },
      { Path: '/run/paddock', Kind: 1 }, { Path: '/run/paddock-net', Kind: 1 }, { Path: '/run/paddock-netfwd.log', Kind: 1 },
      { Path: '/run/lock', Kind: 0 }, { Path: '/run/lock/x.lock', Kind: 1 }, { Path: '/run/gone', Kind: 2 }, { Path: '/tmp/keep', Kind: 1 },
      { Path: '/var/run/old.pid', Kind: 1 },
    ];
    assert.deepEqual(runLeftovers(changes), ['/run/lock/x.lock', '/run/postgresql', '/var/run/old.pid']);
  });
});

describe('withCarriedKeys', () => {
  const old = { anthropic: { provider: 'anthropic', source: 'ANTHROPIC_API_KEY', value: 'sk-old', upstream: 'https://api.anthropic.com', header: 'x-api-key' } } as any;
  it('keeps a key the old sandbox had injected when this process lacks it', () => {
    const plan = withCarriedKeys(planKeyInjection({}, {}, KEY_INJECTION_BASE), old, {})!;
    assert.deepEqual(plan.keys.map((k) => k.provider), ['anthropic']);
    assert.equal(plan.sandboxEnv[KEY_PROVIDERS.anthropic.sandboxKeyEnv], KEY_PLACEHOLDER);
    assert.equal(plan.sandboxEnv[KEY_PROVIDERS.anthropic.baseUrlEnv], `${KEY_INJECTION_BASE}/anthropic`);
  });
  it('takes the host\'s key when it has one, and none when the sandbox sets the variable itself or keys are off', () => {
    const fresh = withCarriedKeys(planKeyInjection({ ANTHROPIC_API_KEY: 'sk-new' }, {}, KEY_INJECTION_BASE), old, {})!;
    assert.deepEqual(fresh.keys.map((k) => k.value), ['sk-new']);
    assert.equal(withCarriedKeys(planKeyInjection({}, { ANTHROPIC_API_KEY: 'mine' }, KEY_INJECTION_BASE), old, { ANTHROPIC_API_KEY: 'mine' })!.keys.length, 0);
    assert.equal(withCarriedKeys(undefined, old, {}), undefined);
  });
});

describe('containerPolicyHash', () => {
  it('changes with hide rules, env, limits and ports, not with network rules', () => {
    const base = defaultPolicy();
    const h = containerPolicyHash(base);
    assert.equal(containerPolicyHash({ ...base, network: { ...base.network, allow: ['example.com'] } } as any), h);
    assert.notEqual(containerPolicyHash({ ...base, hide: [...base.hide, 'secrets/**'] }), h);
    assert.notEqual(containerPolicyHash({ ...base, env: { A: '1' } }), h);
    assert.notEqual(containerPolicyHash({ ...base, resources: { cpus: 1 } }), h);
    assert.notEqual(containerPolicyHash({ ...base, ports: [3000] }), h);
  });
});

describe('maxStateLayers', () => {
  it('is 100 by default and never above what Docker allows', () => {
    assert.equal(maxStateLayers({}), 100);
    assert.equal(maxStateLayers({ PADDOCK_APPLY_MAX_LAYERS: '3' }), 3);
    assert.equal(maxStateLayers({ PADDOCK_APPLY_MAX_LAYERS: '500' }), 120);
    assert.equal(maxStateLayers({ PADDOCK_APPLY_MAX_LAYERS: 'x' }), 100);
  });
});

describe('stateSpaceProblem', () => {
  const GB = 1024 ** 3;
  it('refuses, before anything is saved, a layer whose files at full size do not fit the engine\'s free disk (a sparse file counts whole)', () => {
    const refused = stateSpaceProblem(200 * GB, 60 * GB, { kind: 'layer' }, 'sb');
    assert.match(refused!.message, /would write 200\.0 GB .* 60\.0 GB free\. Nothing was changed/);
    assert.match(refused!.hint!, /paddock start sb.*find \/ -xdev -size \+1G/);
  });
  it('counts a new template\'s copy of the home twice, a squash\'s template once more, and keeps a reserve', () => {
    assert.equal(stateSpaceProblem(10 * GB, 12 * GB, { kind: 'layer' }, 'sb'), undefined);
    assert.ok(stateSpaceProblem(10 * GB, 12 * GB, { kind: 'home' }, 'sb'));
    assert.ok(stateSpaceProblem(10 * GB, 12 * GB, { kind: 'layer', squashBytes: 2 * GB }, 'sb'));
    assert.ok(stateSpaceProblem(10 * GB, 10 * GB + STATE_SPACE_RESERVE - 1, { kind: 'layer' }, 'sb'));
  });
  it('says nothing when the size or the engine\'s free disk cannot be told (a remote engine)', () => {
    assert.equal(stateSpaceProblem(undefined, 1, { kind: 'layer' }, 'sb'), undefined);
    assert.equal(stateSpaceProblem(1e15, undefined, { kind: 'layer' }, 'sb'), undefined);
  });
});
