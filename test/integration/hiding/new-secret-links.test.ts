// Symlinks at hidden names (red team 1a, 1b), on the real engine. A link the agent plants at a name
// the rules hide sends the user's later write (cp .env.example .env.local) into its target, which no
// mount hides; and an agent can rename a new secret away the moment it appears and leave a link in
// its place before the guard looks. The init's guard stops on the event itself, whatever is at the
// path when it looks; the start refuses a link whose target no mount hides; a link whose target the
// mount plan hides (src/core/hiding.ts: a hidden name that is a symlink hides its target) starts.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { prepareSandbox } from '../../../src/engine/sandboxes.js';
import { cleanup, docker, engine, isRunning, makeWorkspace, stopsWithin } from '../../support/sandbox.js';

const SECRET = 'LINKSECRETMARK';
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
const logsOf = (name: string) => docker(['logs', name]).stderr;

/** The agent of 1b: renames NAME away the moment it exists and leaves a link to it, then reads it. */
const SNATCH = `
const fs = require('fs');
const [name, keep, ready] = process.argv.slice(1);
fs.writeFileSync(ready, 'looping');
for (;;) { try { fs.renameSync(name, keep); } catch { continue; } fs.symlinkSync(keep, name); break; }
fs.appendFileSync(ready, '\\nsnatched');
setTimeout(() => fs.appendFileSync(ready, '\\nread: ' + fs.readFileSync(keep, 'utf8')), 8000);
`;

describe('symlinks at hidden names', () => {
  const e = engine();
  let ws: string;
  let name: string;
  before(async () => {
    ws = makeWorkspace({ '.env.example': 'API_TOKEN=fill-me-in\n', 'docs/notes.txt': '', 'docs/vault/readme.md': '# vault\n', 'config/real.env': `TOKEN=${SECRET}\n` }, 'paddock-newsecret-links-');
    // A legitimate setup: .env is a link to a file in the workspace, secrets a link to a folder.
    symlinkSync('config/real.env', join(ws, '.env'));
    mkdirSync(join(ws, 'private'));
    writeFileSync(join(ws, 'private/db.txt'), `db=${SECRET}\n`);
    symlinkSync('private', join(ws, 'secrets'));
    name = (await prepareSandbox(e, { agent: 'shell', workspace: ws })).sandbox.name;
  });
  after(async () => {
    if (ws) await cleanup(ws);
  });

  it('a link at a hidden name whose target the plan hides starts, and starts again; the target reads empty', async () => {
    assert.ok(isRunning(name));
    const read = await e.execCapture(name, ['sh', '-c', `cat ${join(ws, 'config/real.env')} .env; ls -A ${join(ws, 'private')}`]);
    assert.equal(read.stdout, '', read.stderr);
    await e.stop(name);
    await e.start(name);
    assert.ok(isRunning(name), 'started again: the start\'s scan lets a link whose target is hidden be');
  });

  it('the agent plants .env.local -> docs/notes.txt: the sandbox stops at once and says it was a symlink', async () => {
    const r = await e.execCapture(name, ['sh', '-c', 'ln -s docs/notes.txt .env.local && sleep 30']).catch((err) => err);
    assert.ok(await stopsWithin(name, 15_000), 'stopped');
    assert.ok(r instanceof Error || r.exitCode !== 0, 'the agent\'s command was killed');
    assert.match(logsOf(name), new RegExp(`paddock: new secret: ${join(ws, '.env.local')} \\(hide "\\*\\*/\\.env\\.\\*"\\) appeared in the workspace \\(a symlink when the guard looked.*\\) while the sandbox ran.*"paddock apply ${name}"`));
    assert.equal((await e.stopReason(name))?.paths[0], join(ws, '.env.local'));
  });

  it('the next start refuses the link (its target is visible); the apply hides the target and starts', async () => {
    await assert.rejects(e.start(name), (err: Error & { hint?: string }) => {
      assert.match(err.message, new RegExp(`^Sandbox ${name} did not start: ${join(ws, '.env.local')} \\(hide "\\*\\*/\\.env\\.\\*"; a symlink to ${join(ws, 'docs/notes.txt')} that no mount hides\\) appeared after it was made`));
      assert.match(err.hint ?? '', /For a symlink that is its target/);
      return true;
    });
    const applied = await prepareSandbox(e, { agent: 'shell', workspace: ws, recreate: true });
    assert.equal(applied.applied, true);
    writeFileSync(join(ws, '.env.local'), `STRIPE=${SECRET}\n`); // the user's write, through the link
    assert.equal((await e.execCapture(name, ['cat', join(ws, 'docs/notes.txt')])).stdout, '', 'the target is hidden now');
    assert.ok(isRunning(name));
  });

  it('a folder link secrets2 -> docs/vault planted at a hidden name stops it too', async () => {
    const r = await e.execCapture(name, ['sh', '-c', 'mkdir -p deep && ln -s ../docs/vault deep/secrets && sleep 30']).catch((err) => err);
    assert.ok(await stopsWithin(name, 15_000), 'stopped');
    assert.ok(r instanceof Error || r.exitCode !== 0);
    assert.match(logsOf(name), new RegExp(`new secret: ${join(ws, 'deep/secrets')} \\(hide "[^"]*secrets[^"]*"\\) appeared in the workspace \\(a symlink`));
    rmSync(join(ws, 'deep'), { recursive: true });
    await e.start(name);
  });

  /** 1b: the agent's loop is running, the user creates .env.staging; `slowGuard` holds the guard's freeze back (below). Returns the agent's log. */
  async function snatchRace(slowGuard: boolean): Promise<string> {
    const ready = join(ws, 'docs/snatch.log');
    for (const p of ['.env.staging', '.cache-a1', 'docs/snatch.log']) rmSync(join(ws, p), { force: true });
    if (!isRunning(name)) await e.start(name);
    const started = docker(['exec', '-d', '-u', 'agent', '-w', ws, name, 'node', '-e', SNATCH, '.env.staging', '.cache-a1', ready]);
    assert.equal(started.code, 0, started.stderr);
    for (let i = 0; i < 300 && !existsSync(ready); i++) await wait(100);
    assert.ok(existsSync(ready), 'the agent loops');
    if (slowGuard) {
      // A guard that is slow to freeze (a loaded machine), made certain: a root process holds the
      // freeze's turn (/run/paddock-freezing) for 3 s, so the agent's rename always comes first.
      const held = docker(['exec', '-u', 'root', name, 'sh', '-c', 'sleep 3 & echo $! > /run/paddock-freezing']);
      assert.equal(held.code, 0, held.stderr);
    }
    await wait(200);
    writeFileSync(join(ws, '.env.staging'), `AWS_SECRET=${SECRET}\n`);
    assert.ok(await stopsWithin(name, 20_000), 'stopped');
    assert.match(logsOf(name), new RegExp(`new secret: ${join(ws, '.env.staging')} \\(hide "\\*\\*/\\.env\\.\\*"\\) appeared in the workspace`));
    return readFileSync(ready, 'utf8');
  }

  it('1b: the user creates .env.staging, the agent renames it away within ms and leaves a link: the sandbox stops all the same', async (t) => {
    const log = await snatchRace(false);
    t.diagnostic(`the agent's log: ${JSON.stringify(log)}`);
    assert.ok(!log.includes(SECRET), `the agent read the secret: ${log}`);
  });

  it('1b with the guard held back until the agent has put its link in place: the event stops the sandbox, the link at the look does not thaw it', async (t) => {
    const log = await snatchRace(true);
    t.diagnostic(`the agent's log: ${JSON.stringify(log)}`);
    assert.match(log, /snatched/, 'the agent won the race, as it can on a loaded machine');
    assert.ok(!log.includes(SECRET), `the agent read the secret (it reads 8 s after its rename): ${log}`);
  });
});
