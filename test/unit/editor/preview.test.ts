// The policy editor's live preview: how many paths each hide rule hides, with samples.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { computeHidePreview } from '../../../src/vscode/policyEditor/preview.js';
import { removeTrees, tree } from '../hiding/support.js';

after(removeTrees);

describe('hide preview', () => {
  it('counts per rule (the last matching rule decides), files inside hidden folders, and "!" re-includes', () => {
    const ws = tree({ files: {
      '.env': 'A=1', 'api/.env': 'B=2', '.env.example': 'A=', 'secrets/a.txt': 'x', 'secrets/b/c.txt': 'y', 'src/app.ts': '', 'config/app.secret': 's',
    } });
    const hide = ['**/.env', '**/.env.*', '!**/.env.example', 'secrets/**', 'config/*.secret', 'nothing/here'];
    const p = computeHidePreview(ws, hide, [], 3);
    assert.equal(p.version, 3);
    const by = Object.fromEntries(p.rules.map((r) => [r.pattern, r]));
    assert.equal(by['**/.env'].count, 2);
    assert.deepEqual([...by['**/.env'].samples].sort(), ['.env', 'api/.env']);
    assert.equal(by['**/.env.*'].count, 0);
    assert.equal(by['!**/.env.example'].count, 1, 're-included .env.example');
    assert.deepEqual(by['secrets/**'], { pattern: 'secrets/**', index: 3, count: 1, files: 2, samples: ['secrets/'] });
    assert.equal(by['config/*.secret'].count, 1);
    assert.equal(by['nothing/here'].count, 0);
    assert.equal(p.hiddenPaths, 4);
    assert.equal(p.hiddenFiles, 5);
    assert.equal(p.scannedFiles, 7);
  });

  it('removing a rule from the list changes the counts the editor shows', () => {
    const ws = tree({ files: { '.env': 'A=1', 'config/app.secret': 's' } });
    assert.equal(computeHidePreview(ws, ['**/.env', 'config/*.secret'], [], 1).hiddenPaths, 2);
    assert.equal(computeHidePreview(ws, ['config/*.secret'], [], 2).hiddenPaths, 1);
  });
});
