// The init's rule awk (templates/base/paddock-init, hide_awk) run on the host against a real tree:
// what the start's scan refuses and what the watch reports for a folder moved in. Symlinks at hidden
// names (red team 1a): a write to the name lands in the link's target, so a link whose target no mount
// hides is refused at start like an unhidden file, and one inside a moved-in folder stops the watch.
// (A target a mount hides is not here: no mounts on the host; test/integration/hiding/new-secret-links.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { guardRules, guardRulesText } from '../../../src/core/hideGuardRules.js';

const init = readFileSync(join(__dirname, '..', '..', '..', 'templates', 'base', 'paddock-init'), 'utf8');
const program = /\nhide_awk='\n([\s\S]*?)\n'\nhide_awk\(\) \{/.exec(init)?.[1];

describe('hide_awk (the init\'s rules) and symlinks at hidden names', () => {
  let root: string;
  let ws: string;
  let rules: string;
  const awk = (mode: 'scan' | 'watch', input: string) => {
    const r = spawnSync('awk', ['-v', `mode=${mode}`, '-v', `ws=${ws}`, '-v', `rules=${rules}`, '-v', 'unmount_events=1', program!], { input, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  before(() => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'paddock-hideawk-')));
    ws = join(root, 'ws');
    mkdirSync(join(ws, 'docs/vault'), { recursive: true });
    writeFileSync(join(ws, 'docs/notes.txt'), '');
    writeFileSync(join(root, 'outside.txt'), '');
    rules = join(root, 'rules');
    writeFileSync(rules, guardRulesText(guardRules(['**/.env', '**/.env.*', '!**/.env.example', '**/secrets'], false)));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('finds the program in paddock-init', () => assert.ok(program && program.includes('mode == "scan"')));

  it('scan: a link at a hidden name to a visible file, a visible folder or nothing is refused, with what it is', () => {
    symlinkSync('docs/notes.txt', join(ws, '.env.local'));
    symlinkSync('docs/vault', join(ws, 'secrets'));
    symlinkSync('docs/not-yet', join(ws, '.env'));
    try {
      const answer = awk('scan', [join(ws, '.env.local'), join(ws, 'secrets'), join(ws, '.env'), join(ws, 'docs/notes.txt')].join('\n') + '\n');
      assert.equal(answer, [
        `${ws}/.env.local (hide "**/.env.*"; a symlink to ${ws}/docs/notes.txt that no mount hides)`,
        `${ws}/secrets (hide "**/secrets"; a symlink to ${ws}/docs/vault that no mount hides)`,
        `${ws}/.env (hide "**/.env"; a symlink to ${ws}/docs/not-yet that no mount hides)`,
      ].join(', '));
    } finally {
      for (const n of ['.env.local', 'secrets', '.env']) rmSync(join(ws, n));
    }
  });

  it('scan: a link at a hidden name that leads out of the workspace is let be (the sandbox has no such host file); a real file is refused as before', () => {
    symlinkSync(join(root, 'outside.txt'), join(ws, '.env.local'));
    writeFileSync(join(ws, '.env'), 'K=1\n');
    try {
      assert.equal(awk('scan', `${join(ws, '.env.local')}\n${join(ws, '.env')}\n`), `${ws}/.env (hide "**/.env")`);
    } finally {
      rmSync(join(ws, '.env.local'));
      rmSync(join(ws, '.env'));
    }
  });

  it('watch: a symlink at a hidden name is reported (the shell stops on it), also inside a folder moved in', () => {
    mkdirSync(join(ws, 'moved'));
    symlinkSync('../docs/notes.txt', join(ws, 'moved/.env'));
    try {
      const out = awk('watch', `CREATE ${join(ws, '.env.staging')}\nCREATE,ISDIR ${join(ws, 'moved')}\n`);
      assert.equal(out, 'HIDE\t.env.staging\t**/.env.*\nHIDE\tmoved/.env\t**/.env\nFAIL\tthe watch ended\n');
    } finally {
      rmSync(join(ws, 'moved'), { recursive: true });
    }
  });
});
