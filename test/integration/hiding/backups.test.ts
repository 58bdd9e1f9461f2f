// Editor backups, swap files and merge leftovers of hidden files, in a real sandbox with the default
// hide list (no policy file) and with a user rule: every one reads empty, for the agent and for root.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { cleanup, makeWorkspace, paddock, paddockOk } from '../../support/sandbox.js';

const LEAK = 'BACKUPLEAK';
const BACKUPS = [
  '.env~', '.env.swp', '.env.swo', '.env.swx', '.#.env', '#.env#', '.env.bak', '.env.orig', '.env.save', '.env.old', '.env.~1~', '.env.BAK',
  'api/.env.local~', 'api/#.env.local#', '.ssh/id_rsa~', '.ssh/.id_rsa.swp', 'certs/server.pem.bak', 'certs/#server.pem#',
  'credentials.json.swp', '.credentials.json.swp', 'gcp/service-account.json.orig', '.npmrc~', 'infra/prod.tfvars.bak', 'secrets.bak/db.txt',
  '.env.example~', '#.env.example#', 'custom/token.txt~', 'custom/.token.txt.swp',
];
const ORIGINALS = ['.env', 'api/.env.local', '.ssh/id_rsa', 'certs/server.pem', 'credentials.json', 'gcp/service-account.json', '.npmrc', 'infra/prod.tfvars', 'secrets/db.txt'];

describe('backups of hidden files in a real sandbox', () => {
  const made: string[] = [];
  const files = (extra: Record<string, string>, secrets = [...BACKUPS, ...ORIGINALS]) => ({
    ...Object.fromEntries(secrets.map((p) => [p, `${LEAK} ${p}\n`])),
    '.env.example': 'TOKEN=put-yours-here\n', 'src/app.js': 'console.log(1)\n', 'notes.md~': 'draft\n', ...extra,
  });
  let defaults: string;
  let custom: string;
  let wsDefaults: string;
  let wsCustom: string;

  before(async () => {
    wsDefaults = makeWorkspace(files({}, [...BACKUPS, ...ORIGINALS].filter((p) => !p.startsWith('custom/'))));
    // A user rule: its backups are hidden too, and the defaults still apply below it.
    wsCustom = makeWorkspace(files({ '.paddock/policy.yaml': 'version: 1\nhide: ["**/.env", "**/.env.*", "!**/.env.example", "**/*.pem", "**/id_rsa*", "**/secrets/**", "**/credentials*.json", "**/service-account*.json", "**/.npmrc", "**/*.tfvars", "custom/token.txt"]\n' }));
    made.push(wsDefaults, wsCustom);
    defaults = (await paddockOk(['create', 'shell', wsDefaults])).stdout.trim();
    custom = (await paddockOk(['create', 'shell', wsCustom])).stdout.trim();
  });
  after(async () => { for (const ws of made) await cleanup(ws); });

  it('every backup form of a hidden file reads empty (default hide list), for the agent and root', async () => {
    for (const user of ['agent', 'root']) {
      // One exec reads them all: each path, then what it read (nothing, for a /dev/null mount).
      const paths = BACKUPS.filter((p) => !p.startsWith('custom/'));
      const script = paths.map((p) => `printf '%s:' '${p}'; cat '${join(wsDefaults, p)}'; echo`).join('; ');
      const r = await paddock(['exec', '-u', user, defaults, '--', 'sh', '-c', script]);
      assert.deepEqual(r.stdout.trimEnd().split('\n'), paths.map((p) => `${p}:`), `as ${user}: ${r.stderr}`);
      const sweep = await paddock(['exec', '-u', user, defaults, '--', 'sh', '-c', `find ${wsDefaults} -type f -exec cat {} + 2>/dev/null; ls -A ${wsDefaults}/secrets.bak`]);
      assert.doesNotMatch(sweep.stdout, new RegExp(LEAK), `a sweep of the workspace as ${user}`);
    }
  });

  it('a user rule hides its backups too', async () => {
    for (const path of ['custom/token.txt~', 'custom/.token.txt.swp', '.env~', 'secrets.bak/db.txt']) {
      const r = await paddock(['exec', custom, '--', 'cat', join(wsCustom, path)]);
      assert.equal(r.stdout, '', path);
    }
  });

  it('does not over-hide: .env.example and ordinary backups stay readable', async () => {
    assert.equal((await paddockOk(['exec', defaults, '--', 'cat', '.env.example'])).stdout, 'TOKEN=put-yours-here\n');
    assert.equal((await paddockOk(['exec', defaults, '--', 'cat', 'notes.md~'])).stdout, 'draft\n');
    assert.equal((await paddockOk(['exec', defaults, '--', 'cat', 'src/app.js'])).stdout, 'console.log(1)\n');
  });

  it('paddock verify checks the backups too and passes', async () => {
    const r = await paddock(['verify', defaults, '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout);
    const checked = JSON.stringify(report);
    for (const path of ['.env~', '#.env#', 'certs/server.pem.bak']) assert.ok(checked.includes(path), `verify names ${path}`);
  });
});
