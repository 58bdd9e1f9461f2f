// Blocked paths are physical: many spellings of one blocked file (and a blocked folder) through
// exec_command, read_file and list_files, from the attacker's side. Each comes back refused or
// empty, and the secret (a value the masker does not know, so only physical absence hides it) never
// appears. Ordinary commands still work, and the view's cost per exec is measured against raw exec.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_BLOCKED_PATHS } from '../../../src/core/policy.js';
import { docker } from '../../support/sandbox.js';
import { callTool, connectBridge, dockerAsync, rulesFor, SECRETS, startFixture, type Connected, type Fixture } from './support.js';

let fx: Fixture;
let b: Connected;
/** In /app/.env and /app/secrets/db.txt; no masking rule knows it. */
const MARKER = `marmalade${randomBytes(6).toString('hex')}`;
/** The same kind of value in a file that is not blocked: proves the output would show it. */
const VISIBLE = `gooseberry${randomBytes(6).toString('hex')}`;

before(async () => {
  fx = await startFixture();
  // What an app (or an earlier foothold) left in the target: links to the blocked file and folder,
  // a hard link, a copy of cat under another name.
  const setup = [
    `echo ${MARKER} >> /app/.env`, `echo ${MARKER} >> /app/secrets/db.txt`, `echo ${VISIBLE} > /app/visible.txt`,
    'ln /app/.env /tmp/hard-env', 'ln /app/secrets/db.txt /tmp/hard-db', 'ln -s /app/.env /tmp/soft-env', 'ln -s /app /tmp/appdir',
    'cp /bin/cat /tmp/kitty', 'mkdir -p /srv/data', 'ln /app/.env /srv/data/notes.txt',
  ].join(' && ');
  const r = docker(['exec', fx.api, 'sh', '-c', setup]);
  assert.equal(r.code, 0, r.stderr);
  b = await connectBridge(fx, rulesFor(fx, { tier: 'permissive' }));
});
after(async () => { await b?.close(); fx?.cleanup(); });

const exec = (command: string | string[]) => callTool(b.client, 'exec_command', { container: fx.api, command });
const body = (text: string) => text.replace(/\[exit code[^\]]*\]\s*$/, '');
const leaks = (text: string) => text.includes(MARKER) || text.includes(SECRETS.secretFile) || text.includes(SECRETS.dbPassword);

describe('blocked paths are physical (permissive tier)', () => {
  it('shows a value that is not blocked (the control: the output would carry the marker)', async () => {
    const r = await exec('cat /app/visible.txt');
    assert.equal(r.isError, false, r.text);
    assert.match(r.text, new RegExp(VISIBLE));
  });

  const spellings = [
    '/app/.env', '.env', './.env', '../app/.env', '//app//.env', '/app/./.env', '/app/sub/../.env', 'sub/../.env',
    '/proc/self/root/app/.env', '/proc/1/root/app/.env', '/proc/1/cwd/.env', '/proc/thread-self/root/app/.env',
    '/proc/1/task/1/root/app/.env', '/proc/self/task/1/cwd/.env', '/tmp/soft-env', '/app/link-to-env', '/tmp/appdir/.env',
    '/tmp/hard-env', '/srv/data/notes.txt', '/tmp/hard-db', '/app/secrets/db.txt', '/app/sub/secretsdir/db.txt', '/tmp/appdir/secrets/db.txt',
    '/app/[.]env', '/app/.en?', '/app/secrets/*',
  ];
  const readers = (p: string): (string | string[])[] => [
    ['cat', p], ['head', '-c', '4096', p], ['tail', '-n', '5', p], ['grep', '-a', '', p], ['sort', p], ['base64', p],
    ['timeout', '5', 'cat', p], ['env', 'cat', p], ['nice', 'cat', p], ['nohup', 'cat', p], ['stdbuf', '-o0', 'cat', p],
    ['/tmp/kitty', p], ['dd', `if=${p}`, 'status=none'], ['grep', `--fil=${p}`, 'x'], ['sort', `--files0-fro=${p}`],
  ];

  it('refuses or empties every spelling of a blocked file through exec_command, and the secret never appears', async () => {
    let empty = 0;
    let refused = 0;
    for (const p of spellings) {
      for (const argv of readers(p)) {
        const r = await exec(argv);
        assert.ok(!leaks(r.text), `${JSON.stringify(argv)} leaked: ${r.text}`);
        if (r.isError) refused++;
        else empty++;
      }
    }
    // Both layers are at work: the argument checks refuse the spellings they see, the view empties the rest.
    assert.ok(refused > 0 && empty > 0, `refused ${refused}, empty ${empty}`);
  });

  it('empties blocked files the argument checks cannot see (hard links, a renamed cat, wrappers): they read as 0 bytes', async () => {
    for (const argv of [['wc', '-c', '/tmp/hard-env'], ['wc', '-c', '/srv/data/notes.txt'], ['/tmp/kitty', '/tmp/hard-db'], ['timeout', '5', 'wc', '-c', '/tmp/hard-db'], ['env', 'wc', '-c', '/tmp/hard-env']]) {
      const r = await exec(argv);
      assert.equal(r.isError, false, `${argv.join(' ')}: ${r.text}`);
      const out = body(r.text).trim();
      assert.ok(out === '' || /^0 /.test(out), `${argv.join(' ')} read something: ${out}`);
    }
  });

  it('backups of blocked names (an editor\'s .env~, #.env#, a secrets.bak/ copy) are absent too, also to a recursive grep', async () => {
    const made = docker(['exec', fx.api, 'sh', '-c', `cp /app/.env /app/.env~ && cp /app/.env '/app/#.env#' && cp /app/.env /app/.env.swp && cp -r /app/secrets /app/secrets.bak`]);
    assert.equal(made.code, 0, made.stderr);
    for (const argv of [['grep', '-ra', MARKER, '/app'], ['/tmp/kitty', '/app/.env~'], ['wc', '-c', '/app/#.env#'], ['cat', '/app/secrets.bak/db.txt'], ['find', '/app', '-name', '*.swp', '-size', '+0']]) {
      const r = await exec(argv);
      assert.ok(!leaks(r.text), `${JSON.stringify(argv)} leaked: ${r.text}`);
      assert.ok(r.isError || !/\.swp|[1-9]\d* \/app/.test(body(r.text)), `${JSON.stringify(argv)} saw content: ${r.text}`);
    }
  });

  it('changes of directory (-C, --directory, abbreviations) reach an empty folder', async () => {
    for (const argv of [['tar', '-C', '/app/sub', '-cf', '-', 'secretsdir/db.txt'], ['tar', '--dir=/tmp/appdir', '-cf', '-', 'secrets'], ['tar', '-C/tmp', '-cf', '-', 'hard-db'], ['git', '-C', '/tmp/appdir', 'show', 'HEAD:.env']]) {
      const r = await exec(argv);
      assert.ok(!leaks(r.text), `${argv.join(' ')} leaked: ${r.text}`);
    }
  });

  it('the target\'s own processes are absent: no other process\'s environment, root or cwd', async () => {
    const r = await exec(['ls', '/proc']);
    assert.equal(r.isError, false, r.text);
    const pids = body(r.text).split('\n').filter((l) => /^\d+$/.test(l));
    assert.ok(pids.length <= 3, `the view shows only its own processes: ${pids.join(' ')}`);
    const ps = await exec(['grep', '-a', '-r', 'DB_PASSWORD', '/proc/1/environ']);
    assert.ok(!leaks(ps.text), ps.text);
  });

  it('read_file and list_files: every spelling refused or empty', async () => {
    for (const path of spellings.filter((p) => !/[[*?]/.test(p))) {
      const r = await callTool(b.client, 'read_file', { container: fx.api, path });
      assert.ok(!leaks(r.text), `read_file ${path} leaked: ${r.text}`);
      assert.ok(r.isError || r.text.trim() === '', `read_file ${path}: ${r.text}`);
    }
    const visible = await callTool(b.client, 'read_file', { container: fx.api, path: '/app/visible.txt' });
    assert.match(visible.text, new RegExp(VISIBLE));
    for (const path of ['/app/secrets', '/tmp/appdir/secrets', '/app/sub/secretsdir', '/proc/1/root/app/secrets']) {
      const r = await callTool(b.client, 'list_files', { container: fx.api, path });
      assert.ok(r.isError || !/db\.txt/.test(r.text), `list_files ${path}: ${r.text}`);
    }
  });

  it('ordinary commands still work (and the view\'s cost per exec is printed, measured against raw docker exec)', async () => {
    const r = await exec('ls -la /app');
    assert.equal(r.isError, false, r.text);
    assert.match(r.text, /package\.json/);
    const n = 8;
    let t = performance.now();
    for (let i = 0; i < n; i++) assert.equal((await exec('echo hi')).isError, false);
    const viaBridge = (performance.now() - t) / n;
    t = performance.now();
    for (let i = 0; i < n; i++) assert.equal((await dockerAsync(['exec', fx.api, 'echo', 'hi'])).code, 0);
    const raw = (performance.now() - t) / n;
    console.log(`# exec_command "echo hi" through the view: ${viaBridge.toFixed(0)} ms; raw docker exec: ${raw.toFixed(0)} ms; extra ${(viaBridge - raw).toFixed(0)} ms`);
  });
});

// Red team #3: a pattern that names a parent folder (/app/conf/credentials.json) matched by path only,
// so renaming the parent (here with mv under another name, which no argument check knows) took the
// file out of the pattern for the next call. Every folder above a blocked path is now a mount point
// in the view, which cannot be renamed.
describe('the folders above a blocked path cannot be moved away from its pattern', () => {
  let v: Connected;
  before(async () => {
    const setup = [`mkdir -p /app/conf /app/plain`, `echo ${MARKER} > /app/conf/credentials.json`, 'echo x > /app/plain/a.txt', 'cp /bin/mv /tmp/mover'].join(' && ');
    const r = docker(['exec', fx.api, 'sh', '-c', setup]);
    assert.equal(r.code, 0, r.stderr);
    v = await connectBridge(fx, rulesFor(fx, { tier: 'permissive', blockedPaths: [...DEFAULT_BLOCKED_PATHS, '/app/conf/credentials.json'] }));
  });
  after(async () => { await v?.close(); });
  const vexec = (command: string | string[]) => callTool(v.client, 'exec_command', { container: fx.api, command });

  it('a renamed mv cannot move the parent, and the file stays empty in the next call', async () => {
    const before = await vexec('cat /app/conf/credentials.json');
    assert.ok(!leaks(before.text), before.text);
    const move = await vexec(['/tmp/mover', '/app/conf', '/app/moved']);
    assert.ok(!/\[exit code 0\]/.test(move.text), `the parent was moved: ${move.text}`);
    assert.match(move.text, /busy/i);
    for (const p of ['/app/moved/credentials.json', '/app/conf/credentials.json']) {
      const r = await vexec(['cat', p]);
      assert.ok(!leaks(r.text), `${p}: ${r.text}`);
    }
    assert.equal(docker(['exec', fx.api, 'test', '-f', '/app/conf/credentials.json']).code, 0, 'the folder is where it was');
  });

  it('folders with nothing blocked below them still move', async () => {
    const move = await vexec(['/tmp/mover', '/app/plain', '/app/plain2']);
    assert.match(move.text, /\[exit code 0\]/, move.text);
    const r = await vexec('cat /app/plain2/a.txt');
    assert.match(r.text, /^x/);
  });
});
