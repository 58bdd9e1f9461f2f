// The hiding guard: while `paddock run` serves a sandbox, a hidden file the host replaces by rename
// (an editor's safe write) would become readable inside, because the kernel detaches the mount
// that covered the old inode. The guard notices, freezes and stops the sandbox, and says why.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bridgePaths } from '../../../src/engine/stateFolder.js';
import { CLI, cleanup, docker, isRunning, makeWorkspace, paddock, paddockOk, stopsWithin } from '../../support/sandbox.js';

const LEAK = 'GUARDLEAK';
// Editors' temporary files here have names no hide rule matches: one named like the secret (.env.tmp-save)
// stops the sandbox by itself the moment it appears (test/integration/hiding/new-secrets.test.ts).
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('hiding guard during a session', () => {
  let ws: string;
  let sb: string;

  before(async () => {
    ws = makeWorkspace({ '.env': `TOKEN=${LEAK}-original\n`, 'README.md': '# guard\n' }, 'paddock-guard-');
    sb = (await paddockOk(['create', 'shell', ws])).stdout.trim();
  });
  after(async () => {
    if (ws) await cleanup(ws);
  });

  it('an in-place write keeps the sandbox running (same inode, still hidden); a replace by rename freezes it, applies (state kept) and starts it again with the new file hidden, and says so', async (t) => {
    // The session: an agent that would read .env every 100 ms and print what it sees.
    const session = spawn(process.execPath, [CLI, 'run', 'shell', ws, '--', '-c', 'while true; do cat .env; sleep 0.1; done'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    // When each sighting of the replaced content came, and how much the agent had printed when it was started again.
    let renamedAt = 0;
    const sightings: number[] = [];
    let printedBeforeRestart = -1;
    session.stdout.on('data', (c) => {
      stdout += c;
      if (String(c).includes(`${LEAK}-replaced`)) sightings.push(Date.now() - renamedAt);
    });
    session.stderr.on('data', (c) => {
      stderr += c;
      if (printedBeforeRestart < 0 && /The agent starts again in it/.test(stderr)) printedBeforeRestart = stdout.length;
    });
    const exited = new Promise<number | null>((r) => session.on('close', r));
    try {
      for (let i = 0; i < 100 && !existsSync(bridgePaths(sb).socket); i++) await wait(100);
      assert.ok(existsSync(bridgePaths(sb).socket), `the session started: ${stderr}`);

      appendFileSync(join(ws, '.env'), `MORE=${LEAK}-appended\n`);
      await wait(1500);
      assert.ok(isRunning(sb), 'an in-place write is no breach');

      writeFileSync(join(ws, 'editor-save-tmp'), `TOKEN=${LEAK}-replaced\n`);
      renameSync(join(ws, 'editor-save-tmp'), join(ws, '.env'));
      renamedAt = Date.now();
      // The session goes on: once the apply is done, paddock run starts the agent again in the new container.
      for (let i = 0; i < 3000 && !/The agent starts again in it/.test(stderr) && session.exitCode === null; i++) await wait(100);
      assert.match(stderr, /"[^"]*\/\.env" was replaced or removed on the host, which lifted its mount in .*; (Paddock froze it|its own guard froze every process) at once, then applied: a new container hides it, with the sandbox's state kept .* The agent starts again in it \(its home is kept/);
      await wait(1500);
      assert.equal(session.exitCode, null, `the agent runs again in the same paddock run: ${stderr}`);
      assert.ok(!stdout.includes(`${LEAK}-original`) && !stdout.includes(`${LEAK}-appended`), 'nothing hidden was read before the replace');
      // Between the rename and the freeze the new file is readable (README: "A short window remains"):
      // measured. What must hold: the agent started again in the new container never reads it.
      t.diagnostic(`the reader saw the replaced file ${sightings.length} time(s)${sightings.length ? `, the last ${sightings[sightings.length - 1]} ms after the rename` : ''}`);
      assert.ok(printedBeforeRestart >= 0, 'the restart was seen');
      assert.ok(!stdout.slice(printedBeforeRestart).includes(`${LEAK}-replaced`), 'the new file is hidden in the new container');
      assert.ok(isRunning(sb), 'resumed');
    } finally {
      session.kill('SIGKILL');
      await exited;
    }
    const r = await paddock(['exec', sb, '--', 'cat', '.env']);
    assert.equal(r.stdout, '');
  });
});

describe('the guard inside the sandbox (no Paddock process serving it)', () => {
  let ws: string;
  let sb: string;
  before(async () => {
    ws = makeWorkspace({ '.env': `TOKEN=${LEAK}-original\n`, 'docker-compose.yml': 'services: {}\n' }, 'paddock-guard-inside-');
    sb = (await paddockOk(['create', 'shell', ws])).stdout.trim();
    await paddockOk(['start', sb]);
  });
  after(async () => {
    if (ws) await cleanup(ws);
  });

  it('a hidden file replaced by rename stops the sandbox at once, and its log says why', async () => {
    appendFileSync(join(ws, '.env'), `MORE=${LEAK}-appended\n`);
    await wait(1000);
    assert.ok(isRunning(sb), 'an in-place write is no breach');
    writeFileSync(join(ws, 'editor-save-tmp'), `TOKEN=${LEAK}-replaced\n`);
    renameSync(join(ws, 'editor-save-tmp'), join(ws, '.env'));
    assert.ok(await stopsWithin(sb, 10_000), 'the sandbox stopped itself');
    assert.match(docker(['logs', sb]).stderr, new RegExp(`protection lifted: ${join(ws, '.env')} \\(hidden\\) replaced or removed on the host.*start it again to protect it`));
    // Where the user notices: exec says why the sandbox is stopped, and start says so once more.
    const exec = await paddock(['exec', sb, '--', 'true']);
    assert.equal(exec.code, 1);
    assert.match(exec.stderr, new RegExp(`Sandbox ${sb} is stopped \\(protection lifted: ${join(ws, '.env')} \\(hidden\\) replaced or removed on the host`));
    assert.match(exec.stderr, new RegExp(`paddock start ${sb}`));
    const start = await paddockOk(['start', sb]);
    assert.match(start.stderr, new RegExp(`note: ${sb} had stopped itself: protection lifted: ${join(ws, '.env')}`));
    assert.equal((await paddock(['exec', sb, '--', 'cat', '.env'])).stdout, '', 'hidden again');
  });

  it('a read-only file replaced by rename (an editor\'s save of the compose file) stops it too: it would have been writable', async () => {
    const compose = join(ws, 'docker-compose.yml');
    assert.notEqual((await paddock(['exec', sb, '--', 'sh', '-c', `echo "  evil: {}" >> ${compose}`])).code, 0, 'read-only before');
    writeFileSync(`${compose}.tmp-save`, 'services:\n  api: {}\n');
    renameSync(`${compose}.tmp-save`, compose);
    assert.ok(await stopsWithin(sb, 10_000), 'the sandbox stopped itself');
    assert.match(docker(['logs', sb]).stderr, new RegExp(`protection lifted: ${compose} \\(read-only\\) replaced or removed on the host`));
    await paddockOk(['start', sb]);
    assert.notEqual((await paddock(['exec', sb, '--', 'sh', '-c', `echo "  evil: {}" >> ${compose}`])).code, 0, 'read-only again');
    assert.equal((await paddockOk(['exec', sb, '--', 'cat', compose])).stdout, 'services:\n  api: {}\n', 'and it shows the new content');
  });

  it('a hidden file removed on the host stops it too: its mount went with it, and a file put there later would be readable', async () => {
    rmSync(join(ws, '.env'));
    assert.ok(await stopsWithin(sb, 10_000), 'the sandbox stopped itself');
    assert.match(docker(['logs', sb]).stderr, new RegExp(`protection lifted: ${join(ws, '.env')} \\(hidden\\) replaced or removed on the host`));
    writeFileSync(join(ws, '.env'), `TOKEN=${LEAK}-recreated\n`);
    await paddockOk(['start', sb]);
    assert.equal((await paddock(['exec', sb, '--', 'cat', '.env'])).stdout, '', 'hidden again at the next start');
  });

  it('a stale turn to freeze (a guard that died before writing its pid, or a full disk) does not keep the guard from ending the sandbox', async () => {
    const lifted = () => docker(['logs', sb]).stderr.split('protection lifted:').length - 1;
    const liftedBefore = lifted();
    // The turn's file, made empty as root: what a holder that died, or a write that failed, leaves.
    assert.equal(docker(['exec', '-u', '0', sb, 'sh', '-c', ': > /run/paddock-freezing']).code, 0);
    writeFileSync(join(ws, 'editor-save-tmp'), `TOKEN=${LEAK}-after-stale-turn\n`);
    renameSync(join(ws, 'editor-save-tmp'), join(ws, '.env'));
    assert.ok(await stopsWithin(sb, 20_000), 'the sandbox stopped itself');
    assert.equal(lifted(), liftedBefore + 1, 'the guard said why, once more');
  });
});

describe('the guard inside, in an image without findmnt', () => {
  let ws: string;
  let sb: string;
  before(async () => {
    ws = makeWorkspace({ '.env': `TOKEN=${LEAK}-original\n`, '.paddock/Dockerfile': 'ARG PADDOCK_AGENT_IMAGE\nFROM ${PADDOCK_AGENT_IMAGE}\nRUN rm /usr/bin/findmnt\n' }, 'paddock-guard-nofindmnt-');
    sb = (await paddockOk(['create', 'shell', ws])).stdout.trim();
    await paddockOk(['start', sb]);
  });
  after(async () => {
    if (ws) await cleanup(ws);
  });

  it('checks on a timer instead (hidden files every 250 ms, the mount list every second), and still stops the sandbox when a hidden file is replaced', async () => {
    writeFileSync(join(ws, 'editor-save-tmp'), `TOKEN=${LEAK}-replaced\n`);
    renameSync(join(ws, 'editor-save-tmp'), join(ws, '.env'));
    assert.ok(await stopsWithin(sb, 5_000), 'stopped within 5 s');
    assert.match(docker(['logs', sb]).stderr, new RegExp(`protection lifted: ${join(ws, '.env')} \\(hidden\\) replaced or removed on the host`));
  });
});
