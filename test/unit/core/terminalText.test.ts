import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { shownControls } from '../../../src/core/terminalText.js';

describe('shownControls: the sandbox\'s text on the user\'s terminal', () => {
  it('shows escape sequences, carriage returns, C1 controls and bidi overrides as what they are', () => {
    assert.equal(shownControls('a\x1b]52;c;aWQ=\x07b'), 'a^[]52;c;aWQ=^Gb');
    assert.equal(shownControls('safe\rEVIL'), 'safe^MEVIL');
    assert.equal(shownControls('x\u009b31mred'), 'x<U+009B>31mred');
    assert.equal(shownControls('file\u202etxt.exe\u2066'), 'file<U+202E>txt.exe<U+2066>');
    assert.equal(shownControls('del\x7f nul\x00'), 'del^? nul^@');
  });
  it('keeps tabs, newlines and ordinary Unicode', () => {
    const text = 'paddock: new secret: /w/.env.prod\t(hide "**/.env.*")\nnäme ✓ 名前';
    assert.equal(shownControls(text), text);
  });
});
