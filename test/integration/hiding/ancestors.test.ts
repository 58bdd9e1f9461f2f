// Class D of issue 11, from the attacker's side: renaming or replacing a folder above a protected
// path would carry its mount away ("mv .git .git-old && mkdir .git && write .git/config"; "mv config
// config2" above a hidden config/secret.pem). Every such folder is a mount point in the sandbox, so
// the rename fails, for the agent and for root, under runc and under gVisor.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanup, docker, makeWorkspace, paddock, paddockOk } from '../../support/sandbox.js';

const SECRET = 'ANCESTORSECRET';
const runtimes = ['runc', ...(docker(['info', '--format', '{{json .Runtimes}}']).stdout.includes('"runsc"') ? ['runsc'] : [])];

const FILES = {
  '.env': `TOKEN=${SECRET}-root\n`,
  'config/secret.pem': `-----BEGIN PRIVATE KEY-----\n${SECRET}-pem\n`,
  'config/app.yml': 'port: 1\n',
  'deep/a/b/.env': `TOKEN=${SECRET}-deep\n`,
  'docker-compose.yml': 'services: {}\n',
  'svc/compose.yaml': 'services: {}\n',
  '.git/config': '[core]\n\tbare = false\n',
  '.git/hooks/pre-commit': '#!/bin/sh\nexit 0\n',
  '.git/HEAD': 'ref: refs/heads/main\n',
};

// Each attack renames (or removes) a folder above a protected path, then tries to use the freed name.
const ATTACKS: readonly { name: string; script: string }[] = [
  { name: 'mv .git away and write a fresh .git/config', script: 'mv .git .git-old && mkdir .git && printf "[core]\\n\\tfsmonitor = touch /tmp/pwned\\n" > .git/config' },
  { name: 'mv the folder above a hidden file', script: 'mv config config2' },
  { name: 'mv a folder two levels above a hidden file', script: 'mv deep deep2' },
  { name: 'mv the direct parent of a hidden file, deeper down', script: 'mv deep/a/b deep/a/b2' },
  { name: 'mv the folder above a compose file', script: 'mv svc svc2 && mkdir svc && echo "services: {evil: {image: x}}" > svc/compose.yaml' },
  { name: 'rm -rf the folder above a hidden file', script: 'rm -rf config' },
  { name: 'rm -rf a folder two levels above a hidden file', script: 'rm -rf deep' },
  { name: 'rename .git with another program than mv', script: 'perl -e \'rename(".git", ".git-old") or die "$!"\' 2>/dev/null || node -e \'require("fs").renameSync(".git", ".git-old")\'' },
];

for (const runtime of runtimes) {
  describe(`renaming a folder above a protected path fails (${runtime})`, () => {
    let ws: string;
    let sb: string;
    before(async () => {
      ws = makeWorkspace(FILES, `paddock-ancestors-${runtime}-`);
      sb = (await paddockOk(['create', 'shell', ws, '--runtime', runtime])).stdout.trim();
      await paddockOk(['start', sb]);
    });
    after(async () => { if (ws) await cleanup(ws); });

    for (const user of ['agent', 'root']) {
      it(`as ${user}: every attack fails and nothing protected moves or becomes readable or writable`, async () => {
        for (const attack of ATTACKS) {
          const r = await paddock(['exec', '-u', user, sb, '--', 'sh', '-c', attack.script]);
          assert.notEqual(r.code, 0, `${attack.name} succeeded as ${user}: ${r.stdout}${r.stderr}`);
        }
        // echo, not ls: this engine's gVisor answers statx with EINVAL.
        const look = await paddockOk(['exec', '-u', user, sb, '--', 'sh', '-c', 'cat .env config/secret.pem deep/a/b/.env; echo * .*; echo x >> .git/config || echo config-ro; echo x >> svc/compose.yaml || echo compose-ro; touch .git/hooks/post-checkout || echo hooks-ro']);
        assert.ok(!look.stdout.includes(SECRET), look.stdout);
        assert.doesNotMatch(look.stdout, /\.git-old|config2|deep2|svc2|cfg-link/);
        assert.match(look.stdout, /config-ro[\s\S]*compose-ro[\s\S]*hooks-ro/);
        // The host's files are as they were.
        assert.equal(readFileSync(join(ws, '.git', 'config'), 'utf8'), FILES['.git/config']);
        assert.equal(readFileSync(join(ws, 'svc', 'compose.yaml'), 'utf8'), FILES['svc/compose.yaml']);
        assert.equal(readFileSync(join(ws, 'config', 'secret.pem'), 'utf8'), FILES['config/secret.pem']);
      });
    }

    it('the folders above stay usable: the agent writes and renames files in them', async () => {
      // echo, not ls: this engine's gVisor answers statx with EINVAL.
      const r = await paddockOk(['exec', sb, '--', 'sh', '-c', 'echo new > config/new.yml && mv config/new.yml config/renamed.yml && mkdir config/sub && mv config/sub config/sub2 && echo config/*']);
      assert.match(r.stdout, /renamed\.yml/);
      assert.match(r.stdout, /sub2/);
      assert.equal(readFileSync(join(ws, 'config', 'renamed.yml'), 'utf8'), 'new\n');
    });

    it('after a restart everything is still protected, and verify agrees', async () => {
      await paddockOk(['stop', sb]);
      await paddockOk(['start', sb]);
      const look = await paddockOk(['exec', sb, '--', 'sh', '-c', 'cat .env config/secret.pem deep/a/b/.env']);
      assert.equal(look.stdout, '');
      const v = await paddock(['verify', sb, '--json']);
      assert.equal(JSON.parse(v.stdout).ok, true, v.stdout + v.stderr);
    });
  });
}
