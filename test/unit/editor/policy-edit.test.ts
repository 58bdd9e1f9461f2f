// Edits of .paddock/policy.yaml made by the policy editor and the drift quick fixes: the result
// means what was asked (checked by parsing it), and everything else in the file — comments,
// blank lines, quoting, flow or block style, key order — is left byte for byte as it was.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDocument } from 'yaml';
import { defaultPolicyText } from '../../../src/cli/policy.js';
import { editorModel } from '../../../src/core/policyEditorModel.js';
import { applyPolicyEdit, minimalEdit, type PolicyEdit } from '../../../src/core/policyYamlEdit.js';
import { DEFAULT_HIDE, DEFAULT_NETWORK_ALLOW, defaultPolicy, parsePolicy } from '../../../src/core/policy.js';

const USER_FILE = `# Team policy: reviewed by security, do not reorder.
version: 1

hide:
  - "**/.env"        # local env files
  - '!**/.env.example'
  # fixtures with real-looking keys
  - fixtures/keys/**

tier: moderate   # strict | moderate | permissive
bridge:
  containers: ["demo-*"]   # compose project
  permissions: { logs: true, inspect: true, stats: true, exec: true, files: false, lifecycle: false }
  exec:
    "demo-api": ["npm test", "echo *"]
    "*": ["ls"]
network:
  policy: deny
  allow: ["*.example.com", "localhost:5432"]
  deny: []
`;

/** The lines of `after` that are not in `before` and vice versa (a line diff by content). */
function changedLines(before: string, after: string): { removed: string[]; added: string[] } {
  const a = before.split('\n');
  const b = after.split('\n');
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  let j = 0;
  while (j < a.length - i && j < b.length - i && a[a.length - 1 - j] === b[b.length - 1 - j]) j++;
  return { removed: a.slice(i, a.length - j), added: b.slice(i, b.length - j) };
}

const data = (text: string) => parseDocument(text).toJS();
const apply = (text: string, edit: PolicyEdit) => applyPolicyEdit(text, edit);

describe('policy edits keep comments and layout', () => {
  it('adding a hide rule to a block list adds one line in the list\'s style, after the last rule', () => {
    const r = apply(USER_FILE, { op: 'add', path: ['hide'], value: 'config/*.secret' });
    assert.equal(r.layoutKept, true);
    assert.deepEqual(changedLines(USER_FILE, r.text), { removed: [], added: ['  - config/*.secret'] });
    assert.deepEqual(data(r.text).hide, ['**/.env', '!**/.env.example', 'fixtures/keys/**', 'config/*.secret']);
    assert.ok(r.text.includes('# fixtures with real-looking keys\n  - fixtures/keys/**\n  - config/*.secret\n'));
  });

  it('a new entry is quoted like its neighbour when the value needs quotes', () => {
    const r = apply(USER_FILE, { op: 'add', path: ['hide'], value: '**/*.p12' });
    // "**" cannot be a plain YAML scalar (it reads as an alias); the last item is plain, yaml quotes it.
    assert.deepEqual(data(r.text).hide.at(-1), '**/*.p12');
    assert.deepEqual(changedLines(USER_FILE, r.text).removed, []);
  });

  it('removing a rule removes its line only; the comment above the next rule stays', () => {
    const r = apply(USER_FILE, { op: 'remove', path: ['hide'], index: 1 });
    assert.deepEqual(changedLines(USER_FILE, r.text), { removed: ["  - '!**/.env.example'"], added: [] });
    assert.deepEqual(data(r.text).hide, ['**/.env', 'fixtures/keys/**']);
  });

  it('removing a rule with a trailing comment removes the comment with it', () => {
    const r = apply(USER_FILE, { op: 'remove', path: ['hide'], index: 0 });
    assert.deepEqual(changedLines(USER_FILE, r.text), { removed: ['  - "**/.env"        # local env files'], added: [] });
  });

  it('replacing a rule keeps its quoting style and its comment', () => {
    const r = apply(USER_FILE, { op: 'replace', path: ['hide'], index: 0, value: '**/.env.local' });
    assert.deepEqual(changedLines(USER_FILE, r.text), { removed: ['  - "**/.env"        # local env files'], added: ['  - "**/.env.local"        # local env files'] });
  });

  it('flow lists get ", value" before the bracket, and lose an entry with its comma', () => {
    const added = apply(USER_FILE, { op: 'add', path: ['network', 'allow'], value: 'api.internal:8443' });
    assert.deepEqual(changedLines(USER_FILE, added.text), { removed: ['  allow: ["*.example.com", "localhost:5432"]'], added: ['  allow: ["*.example.com", "localhost:5432", "api.internal:8443"]'] });
    const first = apply(USER_FILE, { op: 'remove', path: ['network', 'allow'], index: 0 });
    assert.ok(first.text.includes('  allow: ["localhost:5432"]\n'));
    const last = apply(USER_FILE, { op: 'remove', path: ['network', 'allow'], index: 1 });
    assert.ok(last.text.includes('  allow: ["*.example.com"]\n'));
    const empty = apply(USER_FILE, { op: 'add', path: ['network', 'deny'], value: '10.0.0.0/8' });
    assert.ok(empty.text.includes('  deny: ["10.0.0.0/8"]\n'));
  });

  it('setting the tier changes the word only; the comment after it stays where it was', () => {
    const r = apply(USER_FILE, { op: 'set', path: ['tier'], value: 'strict' });
    assert.deepEqual(changedLines(USER_FILE, r.text), { removed: ['tier: moderate   # strict | moderate | permissive'], added: ['tier: strict   # strict | moderate | permissive'] });
    assert.deepEqual(r.edit, { start: USER_FILE.indexOf('moderate   #'), end: USER_FILE.indexOf('moderate   #') + 'moderate'.length, text: 'strict' });
  });

  it('a permission inside a flow mapping flips in place', () => {
    const r = apply(USER_FILE, { op: 'set', path: ['bridge', 'permissions', 'files'], value: true });
    assert.ok(r.text.includes('permissions: { logs: true, inspect: true, stats: true, exec: true, files: true, lifecycle: false }'));
    assert.equal(changedLines(USER_FILE, r.text).added.length, 1);
  });

  it('command whitelists: add a container entry, add and remove its commands, remove the entry', () => {
    let text = apply(USER_FILE, { op: 'addExec', key: 'demo-web' }).text;
    assert.deepEqual(changedLines(USER_FILE, text), { removed: [], added: ['    demo-web: []'] });
    text = apply(text, { op: 'add', path: ['bridge', 'exec', 'demo-web'], value: 'npm run lint' }).text;
    assert.deepEqual(data(text).bridge.exec['demo-web'], ['npm run lint']);
    text = apply(text, { op: 'remove', path: ['bridge', 'exec', 'demo-api'], index: 1 }).text;
    assert.deepEqual(data(text).bridge.exec['demo-api'], ['npm test']);
    text = apply(text, { op: 'removeExec', key: 'demo-api' }).text;
    assert.deepEqual(Object.keys(data(text).bridge.exec), ['*', 'demo-web']);
    assert.ok(text.startsWith('# Team policy: reviewed by security, do not reorder.\nversion: 1\n\nhide:\n  - "**/.env"        # local env files\n'));
    assert.deepEqual(parsePolicy(text).issues, []);
  });

  it('removing the last entry of a block list leaves an empty list, not null', () => {
    const text = 'version: 1\nhide:\n  - a\nnetwork:\n  allow:\n    - example.com\n';
    const r = apply(text, { op: 'remove', path: ['network', 'allow'], index: 0 });
    assert.equal(r.text, 'version: 1\nhide:\n  - a\nnetwork:\n  allow: []\n');
    assert.deepEqual(parsePolicy(r.text).issues, []);
  });

  it('the whole commented file of "paddock policy init" survives every kind of edit with only the edited line changed', () => {
    const text = defaultPolicyText();
    const edits: PolicyEdit[] = [
      { op: 'add', path: ['hide'], value: 'config/*.secret' },
      { op: 'remove', path: ['hide'], index: 3 },
      { op: 'set', path: ['tier'], value: 'permissive' },
      { op: 'set', path: ['network', 'policy'], value: 'allow' },
      { op: 'add', path: ['bridge', 'containers'], value: 'demo-*' },
      { op: 'remove', path: ['bridge', 'deny'], index: 0 },
      { op: 'add', path: ['network', 'deny'], value: '169.254.169.254' },
    ];
    for (const edit of edits) {
      const r = apply(text, edit);
      assert.equal(r.layoutKept, true, JSON.stringify(edit));
      const diff = changedLines(text, r.text);
      assert.ok(diff.removed.length + diff.added.length <= 2, `${JSON.stringify(edit)} changed ${JSON.stringify(diff)}`);
      assert.deepEqual(parsePolicy(r.text).issues, [], JSON.stringify(edit));
    }
  });
});

describe('policy edits where the file says nothing: defaults become explicit', () => {
  it('adding a host to a missing network.allow keeps the default hosts (the agent keeps its model API)', () => {
    const text = 'version: 1\n# my rules\nhide: ["**/.env"]  # keep\n';
    const r = apply(text, { op: 'add', path: ['network', 'allow'], value: 'example.com' });
    // Kept as defaults (network.defaults: true), not copied into the file: they follow Paddock's updates.
    assert.deepEqual(data(r.text).network, { defaults: true, allow: ['example.com'] });
    assert.deepEqual(parsePolicy(r.text).policy!.network.allow, [...DEFAULT_NETWORK_ALLOW, 'example.com']);
    assert.ok(r.text.startsWith(text), 'what was there is untouched; the section is appended');
  });

  it('unticking one default hide rule in a file without a hide list keeps every other default', () => {
    const text = 'version: 1\ntier: strict\n';
    const index = DEFAULT_HIDE.indexOf('**/*.pem');
    const r = apply(text, { op: 'remove', path: ['hide'], index });
    assert.deepEqual(data(r.text).hide, DEFAULT_HIDE.filter((h) => h !== '**/*.pem'));
    assert.ok(r.text.startsWith(text));
  });

  it('a whitelist for a container in a file without a bridge section creates the section', () => {
    const r = apply('version: 1\n', { op: 'add', path: ['bridge', 'exec', 'demo-api'], value: 'npm test' });
    assert.deepEqual(data(r.text), { version: 1, bridge: { exec: { 'demo-api': ['npm test'] } } });
    assert.deepEqual(parsePolicy(r.text).issues, []);
  });

  it('an empty or comments-only file gets the key appended after the comments', () => {
    const r = apply('# nothing yet\n', { op: 'set', path: ['tier'], value: 'strict' });
    assert.equal(r.text, '# nothing yet\ntier: strict\n');
    assert.equal(apply('', { op: 'add', path: ['hide'], value: 'a' }).text.split('\n')[0], 'hide:');
  });
});

describe('policy edits that cannot be made change nothing and say why', () => {
  it('broken YAML: an error that says to fix it in the text editor', () => {
    assert.throws(() => apply('hide: [a\n', { op: 'add', path: ['hide'], value: 'b' }), /not valid YAML.*/s);
  });
  it('a list that is not a list, a section that is not a mapping, an index out of range, an empty value', () => {
    assert.throws(() => apply('hide: nope\n', { op: 'add', path: ['hide'], value: 'b' }), /hide is not a list/);
    assert.throws(() => apply('network: 5\n', { op: 'add', path: ['network', 'allow'], value: 'b' }), /network is not a section/);
    assert.throws(() => apply('hide: [a]\n', { op: 'remove', path: ['hide'], index: 3 }), /no entry 4 in hide/);
    assert.throws(() => apply('hide: [a]\n', { op: 'add', path: ['hide'], value: '  ' }), /empty entry/);
    assert.throws(() => apply('- a\n- b\n', { op: 'set', path: ['tier'], value: 'strict' }), /not a YAML mapping/);
  });
  it('adding a rule that is already there is no change at all', () => {
    const r = apply(USER_FILE, { op: 'add', path: ['hide'], value: 'fixtures/keys/**' });
    assert.equal(r.text, USER_FILE);
    assert.equal(r.edit, undefined);
  });
});

describe('minimalEdit', () => {
  it('is the one replacement between the common prefix and suffix', () => {
    assert.deepEqual(minimalEdit('abcXYZdef', 'abc12def'), { start: 3, end: 6, text: '12' });
    assert.deepEqual(minimalEdit('aaa', 'aaaa'), { start: 3, end: 3, text: 'a' });
    assert.equal(minimalEdit('same', 'same'), undefined);
  });
});

describe('editorModel', () => {
  it('shows each part from the file or marks it as the default', () => {
    const m = editorModel(USER_FILE);
    assert.deepEqual(m.syntaxErrors, []);
    assert.deepEqual(m.issues, []);
    assert.deepEqual(m.lists.hide, { items: ['**/.env', '!**/.env.example', 'fixtures/keys/**'], explicit: true });
    assert.equal(m.lists.readOnly.explicit, false);
    assert.deepEqual(m.exec, [{ container: 'demo-api', commands: ['npm test', 'echo *'] }, { container: '*', commands: ['ls'] }]);
    assert.deepEqual(m.tier, { value: 'moderate', explicit: true });
    assert.equal(m.permissions.files, false);
  });
  it('shows every bridge permission the schema has, with its default when the file says nothing', () => {
    assert.deepEqual(editorModel('version: 1\n').permissions, defaultPolicy().bridge.permissions);
  });
  it('broken YAML gives the errors with line and column; a schema problem is an issue at its place', () => {
    const broken = editorModel('version: 1\nhide: [a\n');
    assert.ok(broken.syntaxErrors.length > 0);
    assert.equal(broken.syntaxErrors[0].line >= 2, true);
    const bad = editorModel('version: 1\ntier: lax\n');
    assert.deepEqual(bad.syntaxErrors, []);
    assert.equal(bad.issues.length, 1);
    assert.equal(bad.issues[0].line, 2);
    assert.deepEqual(bad.tier, { value: 'moderate', explicit: false });
  });
});
