import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PaddockError } from '../../../src/core/errors.js';
import { defaultPolicy, loadPolicy, parsePolicy, policyHash } from '../../../src/core/policy.js';
import { policyJsonSchema } from '../../../src/core/policy-schema-json.js';

const ISSUE_EXAMPLE = `version: 1
hide: ["**/.env", "**/.env.*", "!**/.env.example", "**/secrets/**"]
readOnly: [".paddock", ".claude", ".gemini", ".codex", ".vscode", ".devcontainer"]
tier: moderate                 # strict | moderate | permissive
bridge:
  containers: ["demo-*"]
  permissions: { logs: true, inspect: true, stats: true, exec: true, files: false, lifecycle: false }
  exec:
    "demo-api": ["npm test", "echo *"]
    "*": ["ls"]
  deny: ["rm", "sh", "bash"]
  blockedPaths: ["/app/.env", "**/*.pem", "/proc/*/environ"]
network:
  policy: deny
  allow: ["*.example.com", "localhost:5432"]
  deny: []
env: { NODE_ENV: development }
resources: { cpus: 2, memory: 4g, pids: 512 }
ports: [3000]
`;

describe('policy file', () => {
  it('accepts the documented example as it is', () => {
    const { policy, issues } = parsePolicy(ISSUE_EXAMPLE);
    assert.deepEqual(issues, []);
    assert.equal(policy!.tier, 'moderate');
    assert.deepEqual(policy!.bridge.exec['demo-api'], ['npm test', 'echo *']);
    assert.equal(policy!.resources.memory, '4g');
  });
  it('has safe defaults: .env hidden, .env.example visible, no lifecycle or file access over the bridge', () => {
    const p = defaultPolicy();
    assert.ok(p.hide.includes('**/.env') && p.hide.includes('!**/.env.example'));
    assert.equal(p.bridge.permissions.files, false);
    assert.equal(p.bridge.permissions.lifecycle, false);
    assert.equal(p.network.policy, 'deny');
  });
  it('points at the exact place of each mistake', () => {
    const { policy, issues } = parsePolicy('version: 1\ntier: mild\nbridge:\n  exec:\n    api: [1]\n  foo: 2\n');
    assert.equal(policy, undefined);
    assert.deepEqual(issues.map((i) => [i.range.line, i.range.col]), [[2, 7], [5, 11], [6, 3]]);
    assert.match(issues[2].message, /Unknown key "foo" in bridge/);
  });
  it('reports broken YAML with its line', () => {
    const { issues } = parsePolicy('hide: [unclosed\n');
    assert.ok(issues.length > 0);
    assert.equal(issues[0].range.line >= 1, true);
  });
  it('a broken file is an error naming file, line and what to do; the defaults apply without a file', () => {
    const ws = mkdtempSync(join(tmpdir(), 'paddock-policy-'));
    assert.equal(loadPolicy(ws).file, undefined);
    mkdirSync(join(ws, '.paddock'));
    writeFileSync(join(ws, '.paddock', 'policy.yaml'), 'tier: everything\n');
    assert.throws(() => loadPolicy(ws), (e: PaddockError) => e.message.includes('policy.yaml:1:7') && /Nothing was changed/.test(e.hint!));
    assert.equal(readFileSync(join(ws, '.paddock', 'policy.yaml'), 'utf8'), 'tier: everything\n');
  });
  it('hash changes with the policy and ignores key order', () => {
    const a = parsePolicy('tier: strict\nports: [1]\n').policy!;
    const b = parsePolicy('ports: [1]\ntier: strict\n').policy!;
    assert.equal(policyHash(a), policyHash(b));
    assert.notEqual(policyHash(a), policyHash(defaultPolicy()));
  });
  it('the shipped JSON schema is generated from the same schema object (run npm run schema)', () => {
    const shipped = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'resources', 'policy.schema.json'), 'utf8'));
    assert.deepEqual(shipped, policyJsonSchema());
  });
});
