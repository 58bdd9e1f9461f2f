// The hide rules as the sandbox's init evaluates them (src/core/hideGuardRules.ts): the same
// decision as the mount plan's RuleSet for every path, backups and "!" exceptions included, so the
// guard inside never stops a sandbox for a path its next mount plan would leave visible, and never
// lets one through that the plan hides.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RuleSet } from '../../../src/core/hiding.js';
import { globToEre, guardDecision, guardRules, guardRulesText } from '../../../src/core/hideGuardRules.js';
import { DEFAULT_HIDE } from '../../../src/core/policy-defaults.js';

const PATHS = [
  '.env', 'api/.env', 'api/.env.local', '.env.example', 'api/.env.example', '.env.example~', '.env~', '#.env#', '.#.env', '.env.swp', '.env.SWP',
  '.env.~3~', 'config/new.pem', 'config/new.pem.bak', 'config/.new.pem.swp', 'config/new.pemx', 'README.md', 'src/app.js', 'id_rsa', 'id_rsa.pub',
  'home/.ssh/id_ed25519', 'secrets', 'secrets/a/b.txt', 'secrets.bak/x', 'app/secrets/deep/file', 'my-secrets/x', '.secrets/k', 'credentials.json',
  'gcp/credentials-prod.json', 'gcp/service-account.json', '.npmrc', 'a/.aws/credentials', '.aws/config', 'infra/prod.tfstate', 'infra/prod.tfvars',
  'node_modules/pkg/test/key.pem', 'docs/keys.md', 'store.p12', 'x.pfx', 'tls.key', 'tls.keys', '.docker/config.json', 'weird name/.env', 'ünï/.env',
  'deploy/prod/token.txt', 'deploy/dev/token.txt', 'deploy/prod/README.md', 'notes/a.secret', 'notes/b.SECRET', 'dir.v2/x.ini', 'a+b/c.ini',
];

function sameAsPlan(hide: string[], paths = PATHS): void {
  const set = new RuleSet(hide, { caseInsensitive: false, backupForms: true });
  const rules = guardRules(hide, false);
  assert.deepEqual(rules.skipped, []);
  for (const rel of paths) {
    const index = set.decide(rel);
    const planHides = index >= 0 && !hide[index].startsWith('!');
    const decided = guardDecision(rules, rel);
    assert.equal(!!decided?.positive, planHides, `${rel}: the plan ${planHides ? 'hides' : 'shows'} it (rule ${hide[index] ?? 'none'}), the guard's rule is ${decided?.pattern ?? 'none'}`);
  }
}

describe('hide rules for the init\'s guard', () => {
  it('decide every path as the mount plan does, with the default list', () => {
    sameAsPlan([...DEFAULT_HIDE]);
  });

  it('decide as the plan with braces, classes, ?, extglobs, folders, anchored and "!" rules', () => {
    sameAsPlan(['deploy/*/token.txt', '!deploy/dev/**', 'notes/*.{secret,SECRET}', 'config/*.p[eE]m', 'tls.ke?', '/secrets/', '**/.env', '!api/.env', 'dir.v2/*.ini', 'a+b/*.ini', '@(store|x).p12']);
  });

  it('refuses what it cannot translate exactly, in the direction that never stops a sandbox the plan would not hide anything for', () => {
    assert.equal(globToEre('!(a).pem'), undefined);
    assert.equal(globToEre('x/{1..3}.key'), undefined);
    const rules = guardRules(['**/.env', '**/*.pem', '!!(public).pem', 'keys/*.key', 'x/!(a).key'], false);
    // The negative extglob could re-include any .env or .pem: the rules before it go; the positive one after it goes alone.
    assert.deepEqual(rules.rules.map((r) => r.pattern), ['keys/*.key']);
    assert.deepEqual(rules.skipped, ['**/.env', '**/*.pem', '!!(public).pem', 'x/!(a).key']);
  });

  it('compares in lower case on hosts whose file systems ignore case', () => {
    const rules = guardRules(['**/Secret.TXT'], true);
    assert.equal(guardDecision(rules, 'a/SECRET.txt')?.positive, true);
    assert.equal(guardDecision(guardRules(['**/Secret.TXT'], false), 'a/SECRET.txt'), undefined);
  });

  it('writes a line per rule: sign, regex, pattern', () => {
    const text = guardRulesText(guardRules(['**/.env', '!**/.env.example'], false));
    const lines = text.trimEnd().split('\n');
    assert.equal(lines[0], 'nocase\t0');
    assert.match(lines[1], /^\+\t\(\.\*\/\)\?\(.*\t\*\*\/\.env$/);
    assert.equal(lines[2], '-\t(.*/)?\\.env\\.example\t!**/.env.example');
  });
});
