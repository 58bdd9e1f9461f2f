import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { defaultPolicyText } from '../../../src/cli/policy.js';
import { planMounts } from '../../../src/core/hiding.js';
import { defaultPolicy, parsePolicy, policyHash } from '../../../src/core/policy.js';
import { dockerMounts, hidingNotes } from '../../../src/engine/hiding.js';
import { removeTrees, tree } from './support.js';

after(removeTrees);

describe('the mount plan as Docker mounts', () => {
  it('files: /dev/null bound read-only; folders: empty read-only tmpfs (mode 0555); cage: read-only binds', () => {
    const ws = tree({ files: { '.env': 'a', 'secrets/x': 'b', '.claude/settings.json': '{}' } });
    const mounts = dockerMounts(planMounts(ws, defaultPolicy()));
    assert.deepEqual(mounts, [
      { Type: 'bind', Source: join(ws, '.claude'), Target: join(ws, '.claude'), ReadOnly: true, BindOptions: { Propagation: 'rprivate' } },
      { Type: 'bind', Source: '/dev/null', Target: join(ws, '.env'), ReadOnly: true, BindOptions: { Propagation: 'rprivate' } },
      { Type: 'tmpfs', Target: join(ws, 'secrets'), ReadOnly: true, TmpfsOptions: { SizeBytes: 4096, Mode: 0o555 } },
    ]);
  });
});

describe('notes at start', () => {
  it('names secret files that appeared since creation, with the recreate hint', () => {
    const ws = tree({ files: { '.env': 'a' } });
    const atCreate = planMounts(ws, defaultPolicy());
    writeFileSync(join(ws, 'prod.pem'), 'k');
    const [note] = hidingNotes(planMounts(ws, defaultPolicy()), { name: 'sb', policyHash: policyHash(defaultPolicy()), mountedTargets: atCreate.mounts.map((m) => m.target) }, policyHash(defaultPolicy()));
    assert.match(note, /^Not hidden until recreate: prod\.pem \(rule "\*\*\/\*\.pem"\)/);
    assert.match(note, /--recreate/);
  });

  it('says the policy changed when only the hash differs, and nothing when all matches', () => {
    const ws = tree({ files: { '.env': 'a' } });
    const plan = planMounts(ws, defaultPolicy());
    const targets = plan.mounts.map((m) => m.target);
    assert.match(hidingNotes(plan, { name: 'sb', policyHash: 'old', mountedTargets: targets }, 'new')[0], /policy changed/);
    assert.deepEqual(hidingNotes(plan, { name: 'sb', policyHash: 'same', mountedTargets: targets }, 'same'), []);
  });
});

describe('policy init text', () => {
  it('parses to exactly the defaults, and explains each section in comments', () => {
    const text = defaultPolicyText();
    assert.deepEqual(parsePolicy(text).policy, defaultPolicy());
    for (const key of ['hide:', 'readOnly:', 'tier:', 'bridge:', 'network:', 'env:', 'resources:', 'ports:']) assert.match(text, new RegExp(`^${key}`, 'm'));
    assert.ok(text.split('\n').filter((l) => l.trim().startsWith('#')).length >= 5);
  });
});
