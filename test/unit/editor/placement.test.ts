// Where drift findings appear in the editor.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { analyzeWorkspace, type Finding } from '../../../src/core/drift/index.js';
import { placeFindings, samePlace } from '../../../src/vscode/drift/placement.js';
import { removeTrees, tree } from '../hiding/support.js';

after(removeTrees);

describe('drift findings in the editor', () => {
  it('a Claude deny rule the policy lacks is placed on the rule itself (0-based), with its fixes', () => {
    const settings = '{\n  "permissions": {\n    "deny": ["Read(./config/prod.json)"]\n  }\n}\n';
    const ws = tree({ files: { '.claude/settings.json': settings, 'config/prod.json': '{}', '.paddock/policy.yaml': 'version: 1\nhide: ["**/.env"]\n' } });
    const placed = placeFindings(ws, analyzeWorkspace(ws, { scanContent: false }).findings);
    const p = placed.find((x) => x.finding.rule === 'denied-but-visible');
    assert.ok(p);
    assert.equal(p.file, join(ws, '.claude/settings.json'));
    const line = settings.split('\n')[2];
    assert.deepEqual(p.place, { line: 2, character: line.indexOf('"Read'), endLine: 2, endCharacter: line.indexOf('"]') + 1 });
    assert.equal(p.finding.fixes[0].kind, 'add-hide');
    assert.equal(samePlace({ ...p.place }, p.message, p), true);
    assert.equal(samePlace({ ...p.place, endCharacter: p.place.endCharacter + 1 }, p.message, p), false);
    assert.equal(samePlace(p.place, `${p.message}.`, p), false);
  });

  it('a finding about a missing policy file goes to the secret it is about (recreate), or is left out', () => {
    const ws = tree({ files: { 'late/.env': 'A=1' } });
    const range = { start: 0, end: 0, line: 1, col: 1, endLine: 1, endCol: 1 };
    const recreate: Finding = { file: join(ws, '.paddock/policy.yaml'), range, severity: 'error', rule: 'recreate-needed', message: 'Not hidden until applied', paths: ['late/.env'], fixes: [{ kind: 'recreate-sandbox', title: 'Apply to sandbox x (state kept)', sandbox: 'x' }] };
    const absent: Finding = { ...recreate, rule: 'cage-absent', severity: 'info', message: 'cage', paths: ['.vscode'], fixes: [] };
    const placed = placeFindings(ws, [recreate, absent]);
    assert.deepEqual(placed.map((p) => [p.file, p.finding.rule]), [[join(ws, 'late/.env'), 'recreate-needed']]);
  });

  it('"hidden, but git has it" shows without a policy file too: on the secret itself, with the fix that creates one', () => {
    const ws = tree({ files: { 'config/server.pem': '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n' } });
    const git = (...args: string[]) => execFileSync('git', ['-C', ws, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], { stdio: 'pipe' });
    git('init', '-q');
    git('add', '.');
    git('commit', '-qm', 'key');
    const analysis = analyzeWorkspace(ws, { scanContent: false });
    assert.equal(analysis.policyExists, false);
    const placed = placeFindings(ws, analysis.findings).filter((p) => p.finding.rule === 'hidden-in-git');
    assert.deepEqual(placed.map((p) => [p.file, p.place.line]), [[join(ws, 'config/server.pem'), 0]]);
    assert.equal(placed[0].finding.fixes[0].kind, 'add-hide');
  });
});
