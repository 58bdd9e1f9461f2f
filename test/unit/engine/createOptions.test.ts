// The options a sandbox was created with, kept across applies (src/engine/createOptions.ts), and
// what an apply tells the user changed (settingChanges in src/engine/apply.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultPolicy } from '../../../src/core/policy.js';
import { settingChanges } from '../../../src/engine/apply.js';
import { givenOptions, keepCreateOptions, recordOf } from '../../../src/engine/createOptions.js';

const policy = (over: Partial<{ env: Record<string, string>; resources: Record<string, unknown>; ports: (string | number)[] }> = {}) => ({ ...defaultPolicy(), ...over }) as any;

describe('keepCreateOptions', () => {
  const created = givenOptions({ cpus: '1', memory: '2g', ports: ['3000'], template: 'my/img:1', injectKeys: false }, { FOO: '1', BAR: 'b' });
  const record = recordOf(created, policy({ env: { BAR: 'from-policy' }, resources: { cpus: 2 } }));

  it('keeps every option given at create when the apply gives none and the policy did not change them', () => {
    const kept = keepCreateOptions('sb', record, givenOptions({}, {}), policy({ env: { BAR: 'from-policy' }, resources: { cpus: 2 } }));
    assert.deepEqual(kept.given, { env: { FOO: '1', BAR: 'b' }, cpus: '1', memory: '2g', ports: ['3000'], template: 'my/img:1', injectKeys: false });
    assert.match(kept.notes.join('\n'), /Kept the options sb was created with: -e FOO, -e BAR, --cpus 1, --memory 2g, -p 3000, --template my\/img:1, --no-inject-keys/);
  });

  it('an option given again wins; the others stay', () => {
    const kept = keepCreateOptions('sb', record, givenOptions({ cpus: '3' }, { FOO: '9' }), policy({ env: { BAR: 'from-policy' }, resources: { cpus: 2 } }));
    assert.equal(kept.given.cpus, '3');
    assert.deepEqual(kept.given.env, { BAR: 'b', FOO: '9' });
    assert.equal(kept.given.memory, '2g');
  });

  it('the policy wins where it changed the same thing since create, and the user is told', () => {
    const now = policy({ env: { BAR: 'new-policy', FOO: 'set-by-policy' }, resources: { cpus: 2, memory: '8g' }, ports: [8080] });
    const kept = keepCreateOptions('sb', record, givenOptions({}, {}), now);
    assert.deepEqual(kept.given.env, undefined, 'FOO and BAR are the policy\'s now');
    assert.equal(kept.given.cpus, '1', 'resources.cpus did not change: --cpus 1 stays');
    assert.equal(kept.given.memory, undefined);
    assert.equal(kept.given.ports, undefined);
    assert.match(kept.notes.join('\n'), /The policy changed env FOO, env BAR, resources\.memory, ports since sb was given them at create/);
  });

  it('a policy section removed since create counts as a change too (the defaults apply)', () => {
    const kept = keepCreateOptions('sb', record, givenOptions({}, {}), policy({ env: {}, resources: {} }));
    assert.equal(kept.given.env?.BAR, undefined);
    assert.equal(kept.given.cpus, undefined);
    assert.equal(kept.given.env?.FOO, '1');
  });

  it('a sandbox made before the record: only this apply\'s options, and a note that says so', () => {
    const kept = keepCreateOptions('sb', undefined, givenOptions({ memory: '1g' }, {}), policy());
    assert.deepEqual(kept.given, { memory: '1g' });
    assert.match(kept.notes[0], /created before Paddock kept the options/);
  });
});

describe('settingChanges', () => {
  const base = { limits: { cpus: 2, memoryBytes: 4 * 1024 ** 3, pids: 1024 }, ports: [], runtime: 'runc', env: ['PATH=/bin', 'FOO=1', 'OLD=x'] } as any;

  it('names env variables (never values), limits, ports and runtime that changed', () => {
    const now = { limits: { cpus: 1, memoryBytes: 4 * 1024 ** 3, pids: 1024 }, ports: [{ containerPort: 3000, protocol: 'tcp', hostPort: 49000, hostIp: '127.0.0.1' }], runtime: 'runsc', env: ['PATH=/bin', 'FOO=secret-2', 'NEW=y', 'OLD'] } as any;
    const text = settingChanges(base, now, 'sb');
    assert.equal(text, 'Changed in sb: env NEW added; env FOO changed; env OLD removed; CPUs 2 -> 1; port 3000/tcp published; runtime runc -> runsc.');
    assert.doesNotMatch(text, /secret-2/);
  });

  it('says when nothing of these changed', () => {
    assert.match(settingChanges(base, base, 'sb'), /unchanged/);
  });
});
