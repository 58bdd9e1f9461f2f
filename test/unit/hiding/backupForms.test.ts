// Editor backups, swap files and merge leftovers of a hidden name are hidden with it, by the default
// rules and by the user's own; "!" exceptions do not re-include them.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { backupBases, backupOrigins } from '../../../src/core/backupForms.js';
import { compileGlobs, decidingRule, RuleSet, scanWorkspace } from '../../../src/core/hiding.js';
import { DEFAULT_HIDE } from '../../../src/core/policy-defaults.js';
import { removeTrees, tree } from './support.js';

after(removeTrees);

/** Every backup form an editor or tool makes of `name` in folder `dir` ('' for the root). */
function forms(dir: string, name: string): string[] {
  const at = (n: string) => (dir ? `${dir}/${n}` : n);
  const vimSwap = name.startsWith('.') ? name : `.${name}`;
  return [
    `${name}~`, `${name}.~1~`, `${name}.~12~`, `${name}.bak`, `${name}.backup`, `${name}.bk`, `${name}.old`, `${name}.orig`, `${name}.rej`,
    `${name}.save`, `${name}.sav`, `${name}.tmp`, `${name}.dpkg-old`, `${name}.dpkg-dist`, `${name}.rpmsave`, `${name}.rpmnew`,
    `${name}___jb_tmp___`, `${name}___jb_old___`,
    `${vimSwap}.swp`, `${vimSwap}.swo`, `${vimSwap}.swn`, `${vimSwap}.swa`, `${vimSwap}.swx`,
    `#${name}#`, `.#${name}`,
  ].map(at);
}

const HIDDEN_NAMES: [string, string][] = [
  ['', '.env'], ['api', '.env'], ['api', '.env.local'], ['', 'id_rsa'], ['home/.ssh', 'id_ed25519'], ['certs', 'server.pem'],
  ['keys', 'tls.key'], ['', 'credentials.json'], ['gcp', 'service-account-prod.json'], ['', '.npmrc'], ['', '.netrc'],
  ['.aws', 'credentials'], ['infra', 'prod.tfstate'], ['infra', 'prod.tfvars'], ['', 'store.p12'],
];

describe('backup forms of hidden names', () => {
  it('every default hide rule hides every backup and swap form of each name it hides', () => {
    const all = HIDDEN_NAMES.flatMap(([dir, name]) => [dir ? `${dir}/${name}` : name, ...forms(dir, name)]);
    const ws = tree({ files: Object.fromEntries([...all, 'src/app.js', '.env.example', 'README.md', 'api/server.js'].map((p) => [p, 'x\n'])) });
    const scan = scanWorkspace(ws, { hide: [...DEFAULT_HIDE], readOnly: [] }, { caseInsensitive: false });
    const hidden = new Set(scan.plan.hidden.map((h) => h.relative));
    assert.deepEqual(all.filter((p) => !hidden.has(p)), [], 'visible backups of hidden files');
    assert.deepEqual([...scan.visibleFiles].sort(), ['.env.example', 'README.md', 'api/server.js', 'src/app.js']);
  });

  it('covers the user\'s own rules too, and a copied folder of a hidden folder', () => {
    const ws = tree({
      files: {
        'config/master.key': 'k', 'config/master.key~': 'k', 'config/#master.key#': 'k', 'config/.master.key.swp': 'k',
        'vault/token': 't', 'vault.bak/token': 't', 'vault~/token': 't', 'vaultage/notes.md': 'n', 'config/app.yml': 'a',
      },
    });
    const scan = scanWorkspace(ws, { hide: ['config/master.key', 'vault/'], readOnly: [] }, { caseInsensitive: false });
    assert.deepEqual(scan.plan.hidden.map((h) => `${h.relative}${h.kind === 'dir' ? '/' : ''}`).sort(),
      ['config/#master.key#', 'config/.master.key.swp', 'config/master.key', 'config/master.key~', 'vault.bak/', 'vault/', 'vault~/']);
    assert.deepEqual([...scan.visibleFiles].sort(), ['config/app.yml', 'vaultage/notes.md']);
    // the backup is reported under the rule that hid it (previews and counts by rule stay right)
    assert.equal(scan.plan.hidden.find((h) => h.relative === 'config/master.key~')?.rule, 'config/master.key');
  });

  it('"!" exceptions re-include only the named file: backups of .env.example stay hidden', () => {
    const ws = tree({ files: { '.env.example': 'x', '.env.example~': 'x', '.env.example.bak': 'x', '#.env.example#': 'x', '.#.env.sample': 'x', '.env.sample': 'x' } });
    const scan = scanWorkspace(ws, { hide: [...DEFAULT_HIDE], readOnly: [] }, { caseInsensitive: false });
    assert.deepEqual([...scan.visibleFiles].sort(), ['.env.example', '.env.sample']);
  });

  it('a later "!" rule that names a backup explicitly still wins (the user decides)', () => {
    const ws = tree({ files: { 'notes.txt': 'x', 'notes.txt~': 'x', 'notes.txt.bak': 'x' } });
    const scan = scanWorkspace(ws, { hide: ['notes.txt', '!notes.txt.bak'], readOnly: [] }, { caseInsensitive: false });
    assert.deepEqual(scan.visibleFiles, ['notes.txt.bak']);
  });

  it('does not hide look-alikes that are not backups', () => {
    const ws = tree({ files: { 'envelope.txt': 'x', 'my.env.js': 'x', 'pem-notes.md': 'x', 'swap.env.txt': 'x', 'id_rsa_notes': 'k' } });
    const scan = scanWorkspace(ws, { hide: ['**/.env', '**/*.pem'], readOnly: [] }, { caseInsensitive: false });
    assert.equal(scan.plan.hidden.length, 0);
  });

  it('read-only (cage) rules do not grow backup forms', () => {
    const ws = tree({ files: { '.vscode/settings.json': '{}', '.vscode~/settings.json': '{}' } });
    const scan = scanWorkspace(ws, { hide: [], readOnly: ['.vscode'] }, { caseInsensitive: false });
    assert.deepEqual(scan.plan.readOnly.map((c) => c.relative), ['.vscode']);
  });

  it('compileGlobs and RuleSet agree on every form (the walk and the re-checks use both)', () => {
    const rules = compileGlobs([...DEFAULT_HIDE], { caseInsensitive: false, backupForms: true });
    const set = new RuleSet([...DEFAULT_HIDE], { caseInsensitive: false, backupForms: true });
    const paths = [...HIDDEN_NAMES.flatMap(([dir, name]) => forms(dir, name)), '.env.example', '.env.example~', 'src/a.js', 'secrets.bak/x', 'a/secrets~'];
    for (const p of paths) assert.equal(decidingRule(rules, p)?.index ?? -1, set.decide(p), p);
  });

  it('undoes each form once, on any name along the path, and leaves ordinary names alone', () => {
    assert.deepEqual(backupBases('.env~'), ['.env']);
    assert.deepEqual(backupBases('#.env#'), ['.env']);
    assert.deepEqual(backupBases('.#.env'), ['.env']);
    assert.deepEqual(backupBases('.server.pem.swp').sort(), ['.server.pem', 'server.pem']);
    assert.deepEqual(backupBases('.env.BAK'), ['.env']);
    assert.deepEqual(backupBases('.env.~3~').sort(), ['.env', '.env.~3']);
    assert.deepEqual(backupBases('a.bak.~2~').sort(), ['a.bak', 'a.bak.~2'].sort());
    for (const plain of ['.env', 'README.md', 'swap', '~', '#', '.#', 'app.js', '.swp']) assert.deepEqual(backupBases(plain), [], plain);
    assert.deepEqual(backupOrigins('vault.bak/token'), ['vault']);
    assert.deepEqual(backupOrigins('a/b/.env~'), ['a/b/.env']);
    const rules = compileGlobs(['x..y', '**/docker-compose*.{yml,yaml}'], { caseInsensitive: false, backupForms: true });
    for (const p of ['x..y~', '#x..y#', '.x..y.swp', 'docker-compose.prod.yml.bak', '#docker-compose.yaml#']) assert.ok(decidingRule(rules, p), p);
    assert.equal(decidingRule(rules, 'x.y~'), undefined);
  });
});
