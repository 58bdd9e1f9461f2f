// The policy editor never changes meaning by accident (issue 13): a hide rule switched off keeps
// its place in the file (commented out) and is shown off when reopened; delete and move are
// explicit; an entry is checked as it is typed with create's rules; one added host does not copy
// the built-in list into the file, and the engine and proxy see the same merged list.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileEgressRules } from '../../../src/core/egress.js';
import { decidingRule, compileGlobs } from '../../../src/core/hiding.js';
import { DEFAULT_NETWORK_ALLOW, parsePolicy, policyHash } from '../../../src/core/policy.js';
import { checkEntry, editorModel } from '../../../src/core/policyEditorModel.js';
import { editHideRule, hideRulesOf } from '../../../src/core/policyHideRules.js';
import { applyPolicyEdit } from '../../../src/core/policyYamlEdit.js';

const FILE = `version: 1
# order matters: the last matching rule wins
hide:
  - "**/.env"
  - "**/.env.*"    # every variant
  - "!**/.env.example"
tier: moderate
`;

const hidden = (text: string, path: string) => {
  const rule = decidingRule(compileGlobs(parsePolicy(text).policy!.hide, { caseInsensitive: false }), path);
  return !!rule && !rule.negated;
};

describe('hide rules in the policy editor', () => {
  it('switching a rule off comments it out in place; on again restores the file byte for byte', () => {
    const off = editHideRule(FILE, 1, '**/.env.*', 'off');
    assert.equal(off, FILE.replace('  - "**/.env.*"    # every variant', '  # - "**/.env.*"    # every variant  # off'));
    assert.deepEqual(hideRulesOf(off), [{ pattern: '**/.env', on: true }, { pattern: '**/.env.*', on: false }, { pattern: '!**/.env.example', on: true }]);
    assert.deepEqual(parsePolicy(off).policy!.hide, ['**/.env', '!**/.env.example']);
    assert.deepEqual(editorModel(off).hideRules.map((r) => `${r.on ? 'on' : 'off'} ${r.pattern}`), ['on **/.env', 'off **/.env.*', 'on !**/.env.example'], 'reopened: shown off, at its place');
    const on = editHideRule(off, 1, '**/.env.*', 'on');
    assert.equal(on, FILE);
    // The bug this replaces: re-adding at the end put "**/.env.*" after "!**/.env.example" and hid the example.
    assert.equal(hidden(on, '.env.example'), false);
    assert.equal(hidden(applyPolicyEdit(applyPolicyEdit(FILE, { op: 'remove', path: ['hide'], index: 1 }).text, { op: 'add', path: ['hide'], value: '**/.env.*' }).text, '.env.example'), true);
  });

  it('moves a rule up or down past the next rule (on or off), and deletes explicitly', () => {
    const up = editHideRule(FILE, 2, '!**/.env.example', 'up');
    assert.deepEqual(hideRulesOf(up)!.map((r) => r.pattern), ['**/.env', '!**/.env.example', '**/.env.*']);
    assert.equal(hidden(up, '.env.example'), true, 'the order decides; the editor shows it');
    assert.equal(editHideRule(FILE, 2, '!**/.env.example', 'down'), FILE, 'the last rule cannot move down');
    const off = editHideRule(FILE, 1, '**/.env.*', 'off');
    const down = editHideRule(off, 0, '**/.env', 'down');
    assert.deepEqual(hideRulesOf(down), [{ pattern: '**/.env.*', on: false }, { pattern: '**/.env', on: true }, { pattern: '!**/.env.example', on: true }]);
    const deleted = editHideRule(off, 1, '**/.env.*', 'delete');
    assert.deepEqual(hideRulesOf(deleted)!.map((r) => r.pattern), ['**/.env', '!**/.env.example']);
    assert.match(deleted, /# order matters/);
  });

  it('with every rule off the list is written [] (never null), and switching one on drops it', () => {
    let text = FILE;
    for (const p of ['**/.env', '**/.env.*', '!**/.env.example']) text = editHideRule(text, hideRulesOf(text)!.findIndex((r) => r.pattern === p), p, 'off');
    assert.match(text, /^hide: \[\]$/m);
    assert.deepEqual(parsePolicy(text).policy!.hide, []);
    const one = editHideRule(text, 2, '!**/.env.example', 'on');
    assert.deepEqual(parsePolicy(one).policy!.hide, ['!**/.env.example']);
    assert.match(one, /^hide:$/m);
  });

  it('a file without a hide list gets the defaults written as a list first; a flow list becomes one rule per line', () => {
    const off = editHideRule('version: 1\n', 0, '**/.env', 'off');
    assert.equal(hideRulesOf(off)![0].on, false);
    assert.equal(hideRulesOf(off)!.length, parsePolicy('version: 1\n').policy!.hide.length);
    const flow = editHideRule('version: 1\nhide: ["a", "b"]\ntier: strict\n', 0, 'a', 'off');
    assert.equal(flow, 'version: 1\nhide:\n  # - "a"  # off\n  - "b"\ntier: strict\n');
  });

  it('refuses a rule that moved meanwhile (the page is older than the file), changing nothing', () => {
    assert.throws(() => editHideRule(FILE, 0, '**/.env.*', 'off'), /no longer at that place/);
  });
});

describe('entries checked as they are typed, with create\'s rules', () => {
  it('network rules: a URL or path is refused with what to write; bad hosts and ports as the proxy refuses them', () => {
    assert.match(checkEntry(['network', 'allow'], 'https://bad host/path')!, /host only, not a URL/);
    assert.match(checkEntry(['network', 'allow'], 'https://api.example.com/v1')!, /"api\.example\.com"/);
    assert.match(checkEntry(['network', 'deny'], 'example.com/admin')!, /has a path/);
    assert.match(checkEntry(['network', 'allow'], 'exa mple.com')!, /not a host name/);
    assert.match(checkEntry(['network', 'allow'], 'example.com:99999')!, /port/);
    for (const ok of ['api.example.com', '*.example.com', 'db.internal:5432', '10.0.0.0/8']) assert.equal(checkEntry(['network', 'allow'], ok), undefined, ok);
  });

  it('hide and read-only globs stay in the workspace; every list passes the schema', () => {
    assert.match(checkEntry(['hide'], '/etc/passwd')!, /relative to the workspace/);
    assert.match(checkEntry(['readOnly'], '../other')!, /leaves the workspace/);
    assert.equal(checkEntry(['hide'], '!config/*.example'), undefined);
    assert.equal(checkEntry(['bridge', 'containers'], 'shop'), undefined);
    assert.match(checkEntry(['bridge', 'containers'], '  ')!, /Type a value/);
  });
});

describe('network defaults stay defaults', () => {
  it('adding one host writes defaults: true and the host, not the built-in list', () => {
    const result = applyPolicyEdit('version: 1\n', { op: 'add', path: ['network', 'allow'], value: 'api.example.com' });
    const text = result.text;
    assert.equal(text, 'version: 1\nnetwork:\n  defaults: true\n  allow:\n    - api.example.com\n');
    // The one replacement the editor applies to its document turns the original into this text.
    const e = result.edit!;
    assert.equal('version: 1\n'.slice(0, e.start) + e.text + 'version: 1\n'.slice(e.end), text);
    const policy = parsePolicy(text).policy!;
    assert.deepEqual(policy.network.allow, [...DEFAULT_NETWORK_ALLOW, 'api.example.com'], 'the engine and the proxy get the merged list');
    assert.deepEqual(compileEgressRules(policy.network).errors, []);
    const model = editorModel(text).networkAllow;
    assert.deepEqual({ defaults: model.defaults, own: model.own }, { defaults: true, own: ['api.example.com'] });
    assert.deepEqual(model.builtIn, [...DEFAULT_NETWORK_ALLOW]);
  });

  it('a file written before the key keeps its meaning: its allow list is complete (never widened)', () => {
    const old = 'version: 1\nnetwork:\n  allow: ["github.com"]\n';
    assert.deepEqual(parsePolicy(old).policy!.network.allow, ['github.com']);
    assert.equal(editorModel(old).networkAllow.defaults, false);
    // And one with no network section still gets the built-in hosts, with the same hash as before the key existed.
    assert.deepEqual(parsePolicy('version: 1\n').policy!.network.allow, [...DEFAULT_NETWORK_ALLOW]);
    assert.equal(policyHash(parsePolicy('version: 1\n').policy!), policyHash(parsePolicy(`version: 1\nnetwork:\n  allow: ${JSON.stringify(DEFAULT_NETWORK_ALLOW)}\n`).policy!));
  });

  it('the built-in list can be switched off: only the file\'s hosts remain', () => {
    const text = 'version: 1\nnetwork:\n  defaults: true\n  allow: [api.example.com]\n';
    const off = applyPolicyEdit(text, { op: 'set', path: ['network', 'defaults'], value: false }).text;
    assert.deepEqual(parsePolicy(off).policy!.network.allow, ['api.example.com']);
  });
});
