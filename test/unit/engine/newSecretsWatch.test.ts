// The host's watch for secrets that appear while a sandbox runs (src/engine/newSecretsWatch.ts):
// a symlink appearing at a hidden name counts like a file (red team 1a, 1b): a later write to the
// name lands in the link's target, which no mount hides.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { guardRules } from '../../../src/core/hideGuardRules.js';
import { watchNewPaths } from '../../../src/engine/newSecretsWatch.js';
import type { SandboxDetails } from '../../../src/engine/types.js';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('watchNewPaths and symlinks', () => {
  let ws: string;
  let seen: string[];
  let stop: () => void;
  before(() => {
    ws = realpathSync(mkdtempSync(join(tmpdir(), 'paddock-newsecretswatch-')));
    mkdirSync(join(ws, 'docs/vault'), { recursive: true });
    writeFileSync(join(ws, 'docs/notes.txt'), '');
    seen = [];
    const rules = guardRules(['**/.env', '**/.env.*', '!**/.env.example', '**/secrets'], false);
    stop = watchNewPaths({ workspace: ws } as SandboxDetails, rules, () => false, (paths) => seen.push(...paths));
  });
  after(() => {
    stop();
    rmSync(ws, { recursive: true, force: true });
  });
  const until = async (path: string) => {
    for (let i = 0; i < 100 && !seen.includes(path); i++) await wait(20);
    return seen.includes(path);
  };

  it('a file link and a folder link at hidden names are reported', async () => {
    symlinkSync('docs/notes.txt', join(ws, '.env.local'));
    symlinkSync('docs/vault', join(ws, 'secrets'));
    assert.ok(await until(join(ws, '.env.local')), `seen: ${seen.join(' ')}`);
    assert.ok(await until(join(ws, 'secrets')), `seen: ${seen.join(' ')}`);
  });

  it('a link at a visible name is not', async () => {
    symlinkSync('docs/notes.txt', join(ws, 'notes-link.txt'));
    writeFileSync(join(ws, '.env.example'), '');
    await wait(300);
    assert.deepEqual(seen.filter((p) => p.endsWith('notes-link.txt') || p.endsWith('.env.example')), []);
  });

  it('a folder moved in with a link at a hidden name inside is reported', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'paddock-newsecretswatch-in-'));
    symlinkSync('../docs/notes.txt', join(outside, '.env'));
    renameSync(outside, join(ws, 'moved'));
    assert.ok(await until(join(ws, 'moved/.env')), `seen: ${seen.join(' ')}`);
  });
});
