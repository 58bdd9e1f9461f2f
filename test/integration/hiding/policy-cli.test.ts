// `paddock policy check` and `paddock policy init` through the built CLI, on workspaces made here.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parsePolicy, defaultPolicy } from '../../../src/core/policy.js';
import { makeWorkspace, paddock, paddockOk } from '../../support/sandbox.js';

const made: string[] = [];
const workspace = (files: Record<string, string>) => {
  const ws = makeWorkspace(files, 'paddock-policy-');
  made.push(ws);
  return ws;
};
after(() => { for (const ws of made) rmSync(ws, { recursive: true, force: true }); });
// Assembled at run time so the repository holds no credential-looking text.
const PRIVATE_KEY = ['-----BEGIN ', 'OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END ', 'OPENSSH PRIVATE KEY-----\n'].join('');

describe('paddock policy check', () => {
  it('exits 1 and names a credential no rule hides, at its line', async () => {
    const ws = workspace({ 'deploy/id_deploy': PRIVATE_KEY, 'src/app.js': '1\n' });
    const r = await paddock(['policy', 'check', ws, '--no-engine']);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /error\s+deploy\/id_deploy:1:1 .*a private key.*\[secret-not-hidden\]/);
    assert.match(r.stdout, /fix: Hide "deploy\/id_deploy"/);
    assert.match(r.stderr, /A secret would be visible/);
  });

  it('shows the control characters of file names the agent may have chosen, and keeps each finding on its line', async () => {
    const ws = workspace({ 'deploy/id_\x1b]0;owned\x07\nerror   fake:1:1': PRIVATE_KEY, '.env.\u202eprod': 'A=1\n' });
    const r = await paddock(['policy', 'check', ws, '--no-engine']);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /error\s+deploy\/id_\^\[\]0;owned\^G\^Jerror {3}fake:1:1:1:1 .*\[secret-not-hidden\]/);
    assert.match(r.stdout, /\.env\.<U\+202E>prod/);
    assert.doesNotMatch(r.stdout, /[\x1b\x07\u202e]/);
    assert.doesNotMatch(r.stdout, /^error {3}fake/m, 'no line of its own');
  });

  it('exits 1 for a Claude deny rule the policy lacks, with the rule\'s place; --json gives the findings as data', async () => {
    const settings = '{\n  "permissions": {\n    "deny": [\n      "Read(./config/prod.json)"\n    ]\n  }\n}\n';
    const ws = workspace({ '.claude/settings.json': settings, 'config/prod.json': '{"debug": false}\n' });
    const r = await paddock(['policy', 'check', ws, '--json', '--no-engine', '--no-content']);
    assert.equal(r.code, 1);
    const report = JSON.parse(r.stdout);
    assert.equal(report.secretVisible, true);
    const f = report.findings.find((x: any) => x.rule === 'denied-but-visible');
    assert.equal(f.file, join(ws, '.claude/settings.json'));
    assert.deepEqual([f.range.line, f.range.col], [4, 7]);
    assert.equal(settings.slice(f.range.start, f.range.end), '"Read(./config/prod.json)"');
    assert.deepEqual(f.fixes[0], { kind: 'add-hide', title: 'Hide "config/prod.json" in Paddock policy (creates .paddock/policy.yaml with the defaults and this rule)', file: join(ws, '.paddock/policy.yaml'), pattern: 'config/prod.json' });
  });

  it('exits 0 on a consistent workspace and lists what it hides', async () => {
    const ws = workspace({ '.env': 'A=1\n', 'secrets/x': 'y', '.env.example': 'A=\n', '.claude/settings.json': '{"permissions": {"deny": ["Read(./**/.env)", "Read(./**/secrets/**)"]}}' });
    const r = await paddock(['policy', 'check', ws, '--no-engine']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Hidden:\s*\n\s+\.env\s+\(\*\*\/\.env\)\n\s+secrets\/\s+\(\*\*\/secrets\/\*\*\)/);
    assert.doesNotMatch(r.stdout, /\.env\.example/);
    assert.match(r.stdout, /0 errors/);
  });

  it('a broken policy file is an error at its line, and nothing is changed', async () => {
    const broken = 'version: 1\nhide: "not a list"\n';
    const ws = workspace({ '.paddock/policy.yaml': broken });
    const r = await paddock(['policy', 'check', ws, '--no-engine']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /error\s+\.paddock\/policy\.yaml:2:\d+ .*hide/);
    assert.match(r.stdout, /^Scanned:\s+1 file in 1 folder$/m);
    // The cause is the file, not a secret: the message says so and how to fix it.
    assert.match(r.stderr, /\.paddock\/policy\.yaml is not valid/);
    assert.doesNotMatch(r.stderr, /secret would be visible/);
    assert.equal(readFileSync(join(ws, '.paddock/policy.yaml'), 'utf8'), broken);
  });

  it('a missing workspace is a clear error', async () => {
    const r = await paddock(['policy', 'check', '/nonexistent/paddock-ws', '--no-engine']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /does not exist/);
  });
});

describe('paddock policy init', () => {
  it('writes a commented policy equal to the defaults, and never overwrites one', async () => {
    const ws = workspace({});
    const r = await paddockOk(['policy', 'init', ws]);
    const file = join(ws, '.paddock/policy.yaml');
    assert.equal(r.stdout.trim(), file);
    const text = readFileSync(file, 'utf8');
    assert.match(text, /^# Paddock sandbox policy/);
    assert.deepEqual(parsePolicy(text).policy, defaultPolicy());
    writeFileSync(file, 'version: 1\n# mine\n');
    const again = await paddock(['policy', 'init', ws]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists/);
    assert.equal(readFileSync(file, 'utf8'), 'version: 1\n# mine\n');
    assert.ok(existsSync(file));
  });
});
