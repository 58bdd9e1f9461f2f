// The policy editor's message protocol: the host accepts only well-formed edits on the paths
// the editor edits, whatever the webview sends.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LIST_PATHS, PERMISSION_KEYS } from '../../../src/core/policyYamlEdit.js';
import { parseWebviewMessage } from '../../../src/vscode/policyEditor/protocol.js';

const edit = (e: unknown) => parseWebviewMessage({ type: 'edit', requestId: 7, edit: e });

describe('policy editor protocol', () => {
  it('accepts every edit the editor makes, on every list it shows', () => {
    for (const path of LIST_PATHS) {
      assert.equal(edit({ op: 'add', path, value: 'x' }).ok, true, path.join('.'));
      assert.equal(edit({ op: 'remove', path, index: 0 }).ok, true, path.join('.'));
      assert.equal(edit({ op: 'replace', path, index: 2, value: 'y' }).ok, true, path.join('.'));
    }
    assert.equal(edit({ op: 'add', path: ['bridge', 'exec', 'demo-api'], value: 'npm test' }).ok, true);
    for (const key of PERMISSION_KEYS) assert.equal(edit({ op: 'set', path: ['bridge', 'permissions', key], value: false }).ok, true);
    assert.equal(edit({ op: 'set', path: ['tier'], value: 'strict' }).ok, true);
    assert.equal(edit({ op: 'set', path: ['network', 'policy'], value: 'allow' }).ok, true);
    assert.equal(edit({ op: 'addExec', key: 'demo-*' }).ok, true);
    assert.equal(edit({ op: 'removeExec', key: 'demo-*' }).ok, true);
    assert.deepEqual(parseWebviewMessage({ type: 'ready' }), { ok: true, message: { type: 'ready' } });
    assert.deepEqual(parseWebviewMessage({ type: 'openText' }), { ok: true, message: { type: 'openText' } });
    const parsed = edit({ op: 'add', path: ['hide'], value: 'config/*.secret' });
    assert.deepEqual(parsed, { ok: true, message: { type: 'edit', requestId: 7, edit: { op: 'add', path: ['hide'], value: 'config/*.secret' } } });
  });

  it('rejects edits of keys the editor does not edit (env, resources, ports, version) and values of the wrong kind', () => {
    const rejected: unknown[] = [
      { op: 'add', path: ['env'], value: 'X=1' },
      { op: 'set', path: ['version'], value: '2' },
      { op: 'set', path: ['resources', 'memory'], value: '64g' },
      { op: 'add', path: ['ports'], value: '22' },
      { op: 'add', path: ['hide', 'extra'], value: 'x' },
      { op: 'set', path: ['tier'], value: 'anything-goes' },
      { op: 'set', path: ['network', 'policy'], value: true },
      { op: 'set', path: ['bridge', 'permissions', 'root'], value: true },
      { op: 'set', path: ['bridge', 'permissions', 'files'], value: 'yes' },
      { op: 'remove', path: ['hide'], index: -1 },
      { op: 'remove', path: ['hide'], index: 1.5 },
      { op: 'add', path: ['hide'], value: '' },
      { op: 'add', path: ['hide'], value: 'x', extra: 1 },
      { op: 'delete', path: ['hide'] },
      { op: 'add', path: ['bridge', 'exec', ''], value: 'ls' },
      null, 'add', 42,
    ];
    for (const e of rejected) {
      const r = edit(e);
      assert.equal(r.ok, false, JSON.stringify(e));
      if (!r.ok) assert.match(r.error, /Rejected edit from the policy editor/);
    }
  });

  it('rejects malformed envelopes', () => {
    for (const m of [undefined, null, {}, { type: 'edit' }, { type: 'edit', requestId: -1, edit: {} }, { type: 'eval', code: '1' }, { type: 'ready', extra: true }]) {
      const r = parseWebviewMessage(m);
      assert.equal(r.ok, false, JSON.stringify(m));
      if (!r.ok) assert.match(r.error, /Malformed message/);
    }
  });
});
