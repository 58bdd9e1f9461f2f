// Live diagnostics: the analysis reads unsaved editor text (the overlay) instead of the disk,
// so a squiggle follows typing in an agent config or an edit in the policy editor before save.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { analyzeWorkspace } from '../../../src/core/drift/index.js';
import { applyPolicyEdit } from '../../../src/core/policyYamlEdit.js';
import { removeTrees, tree } from '../hiding/support.js';

after(removeTrees);

const SETTINGS = '{ "permissions": { "deny": ["Read(./config/app.secret)"] } }\n';
const POLICY = '# ours\nversion: 1\nhide:\n  - "**/.env"\n';
const denied = (ws: string, overlay?: Map<string, string>) =>
  analyzeWorkspace(ws, { scanContent: false, git: false, overlay }).findings.filter((f) => f.rule === 'denied-but-visible');

describe('analysis of unsaved edits', () => {
  it('an unsaved hide rule in the policy (as the policy editor or a quick fix makes it) clears the finding; the disk alone does not', () => {
    const ws = tree({ files: { '.claude/settings.json': SETTINGS, '.paddock/policy.yaml': POLICY, 'config/app.secret': 'x' } });
    assert.equal(denied(ws).length, 1);
    const edited = applyPolicyEdit(POLICY, { op: 'add', path: ['hide'], value: 'config/app.secret' }).text;
    assert.equal(denied(ws, new Map([[join(ws, '.paddock/policy.yaml'), edited]])).length, 0);
  });

  it('a deny rule typed into .claude/settings.json but not saved is checked, at its place in the unsaved text', () => {
    const ws = tree({ files: { '.paddock/policy.yaml': POLICY, 'config/app.secret': 'x', '.claude/settings.json': '{}\n' } });
    assert.equal(denied(ws).length, 0);
    const typed = `\n\n${SETTINGS}`;
    const [f] = denied(ws, new Map([[join(ws, '.claude/settings.json'), typed]]));
    assert.ok(f);
    assert.equal(f.range.line, 3);
    assert.equal(typed.slice(f.range.start, f.range.end), '"Read(./config/app.secret)"');
  });
});
