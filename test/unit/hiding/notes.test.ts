import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { defaultPolicyText } from '../../../src/cli/policy.js';
import { containerPolicyHash } from '../../../src/core/containerPolicy.js';
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
      // The hide rules for the init's guard of paths that appear later, read-only (src/engine/newSecretsRules.ts).
      { Type: 'bind', Source: mounts[3].Source, Target: '/run/paddock-hide', ReadOnly: true },
    ]);
    assert.match(readFileSync(join(mounts[3].Source!, 'rules'), 'utf8'), /^nocase\t[01]\n\+\t.*\t\*\*\/\.env\n/);
  });
});

describe('notes at start', () => {
  it('names secret files that appeared since creation, with the apply that hides them and keeps the state', () => {
    const ws = tree({ files: { '.env': 'a' } });
    const atCreate = planMounts(ws, defaultPolicy());
    writeFileSync(join(ws, 'prod.pem'), 'k');
    const [note] = hidingNotes(planMounts(ws, defaultPolicy()), { name: 'sb', policyHash: policyHash(defaultPolicy()), mountedTargets: atCreate.mounts.map((m) => m.target) }, { policy: defaultPolicy(), hash: policyHash(defaultPolicy()) });
    assert.match(note, /^Not hidden until applied: prod\.pem \(rule "\*\*\/\*\.pem"\)/);
    assert.match(note, /"paddock apply sb" makes a new container that hides it and keeps the sandbox.s state/);
  });

  it('says the policy changed when only the hash differs (a sandbox made before the container label), and nothing when all matches', () => {
    const ws = tree({ files: { '.env': 'a' } });
    const plan = planMounts(ws, defaultPolicy());
    const targets = plan.mounts.map((m) => m.target);
    assert.match(hidingNotes(plan, { name: 'sb', policyHash: 'old', mountedTargets: targets }, { policy: defaultPolicy(), hash: 'new' })[0], /policy's hide rules, cage, env, limits or ports changed .*"paddock apply sb"/);
    assert.deepEqual(hidingNotes(plan, { name: 'sb', policyHash: 'same', mountedTargets: targets }, { policy: defaultPolicy(), hash: 'same' }), []);
  });

  it('a network rule added since create needs no apply (it is live); a new hide rule does', () => {
    const ws = tree({ files: { '.env': 'a' } });
    const created = defaultPolicy();
    const plan = planMounts(ws, created);
    const state = { name: 'sb', policyHash: policyHash(created), containerPolicyHash: containerPolicyHash(created), mountedTargets: plan.mounts.map((m) => m.target) };
    const withHost = { ...created, network: { ...created.network, allow: [...created.network.allow, 'docs.example.test'] } };
    assert.deepEqual(hidingNotes(plan, state, { policy: withHost, hash: policyHash(withHost) }), []);
    const withHide = { ...created, hide: [...created.hide, 'notes/**'] };
    assert.match(hidingNotes(plan, state, { policy: withHide, hash: policyHash(withHide) })[0], /"paddock apply sb"/);
  });

  it('the policy file written while unprotected is named, unless it holds exactly what the user approved', () => {
    const text = 'version: 1\nnetwork:\n  allow: [docs.example.test]\n';
    const ws = tree({ files: { '.env': 'a' } });
    const atCreate = planMounts(ws, defaultPolicy());
    mkdirSync(join(ws, '.paddock'));
    writeFileSync(join(ws, '.paddock/policy.yaml'), text);
    const plan = planMounts(ws, defaultPolicy());
    const state = { name: 'sb', containerPolicyHash: containerPolicyHash(defaultPolicy()), mountedTargets: atCreate.mounts.map((m) => m.target), readOnlyTargets: atCreate.readOnly.map((c) => c.path) };
    const current = { policy: defaultPolicy(), hash: policyHash(defaultPolicy()) };
    assert.deepEqual(hidingNotes(plan, { ...state, approvedPolicyTexts: [text] }, current), []);
    assert.match(hidingNotes(plan, { ...state, approvedPolicyTexts: ['version: 1\n'] }, current)[0], /^Written while unprotected: \.paddock did not exist/);
    assert.match(hidingNotes(plan, state, current)[0], /^Written while unprotected: \.paddock did not exist/);
    // Anything else the sandbox put beside the approved policy (a template the host builds) is named.
    writeFileSync(join(ws, '.paddock/Dockerfile'), 'FROM x\n');
    assert.match(hidingNotes(plan, { ...state, approvedPolicyTexts: [text] }, current)[0], /^Written while unprotected: \.paddock did not exist/);
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
