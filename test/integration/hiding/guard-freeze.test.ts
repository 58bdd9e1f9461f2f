// The inside mounts guard freezes first (templates/base/paddock-init, freeze_all): from the moment the
// host's rename lifts a hidden file's mount, the new file is readable, so every process in the
// sandbox is stopped (SIGSTOP: it cannot be caught or ignored) before the guard says why and ends
// the sandbox. From the attacker's side, under runc and gVisor: readers in tight loops that ignore
// every signal they can, and processes forking as fast as they can while the guard fires. What must
// hold: the sandbox ends (it is never left frozen while it counts as running), it says why, and the
// next start hides the file again. The window (what the readers saw before the freeze) is measured.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI, cleanup, docker, engine, isRunning, makeWorkspace, paddock, paddockOk, stopsWithin } from '../../support/sandbox.js';

const LEAK = 'FREEZELEAK';
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
const runtimes = ['runc', ...('runsc' in JSON.parse(docker(['info', '--format', '{{json .Runtimes}}']).stdout || '{}') ? ['runsc'] : [])];

/**
 * The agent: two readers of .env (one with the shell's own read, no process per read; one cat a
 * read), two loops that fork as fast as they can, all ignoring every signal a process may ignore.
 * Prints "up" once everything runs, and each line it reads.
 */
const AGENT = [
  "trap '' HUP INT QUIT TERM TSTP TTIN TTOU CONT USR1 USR2",
  'for _ in 1 2; do (while :; do (:) & wait $!; done) & done',
  '(while :; do cat .env; done) &',
  'echo up',
  'while :; do while IFS= read -r line; do echo "$line"; done < .env; done',
].join('\n');

for (const runtime of runtimes) {
  describe(`the mounts guard freezes first, under ${runtime}`, () => {
    let ws: string;
    let sb: string;
    before(async () => {
      ws = makeWorkspace({ '.env': `TOKEN=${LEAK}-original\n`, 'README.md': '# freeze\n' }, `paddock-freeze-${runtime}-`);
      sb = (await paddockOk(['create', 'shell', ws, '--runtime', runtime])).stdout.trim();
      await paddockOk(['start', sb]);
    });
    after(async () => { if (ws) await cleanup(ws); });

    it('tight-loop readers that ignore every signal they can and processes forking fast: a replace by rename ends the sandbox, says so, and the window is measured', async (t) => {
      const agent = spawn(process.execPath, [CLI, 'exec', sb, '--', 'sh', '-c', AGENT], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let renamedAt = 0;
      const sightings: number[] = [];
      agent.stdout.on('data', (c) => {
        stdout += c;
        if (renamedAt && String(c).includes(`${LEAK}-replaced`)) sightings.push(Date.now() - renamedAt);
      });
      const exited = new Promise<number | null>((r) => agent.on('close', r));
      try {
        for (let i = 0; i < 600 && !stdout.includes('up'); i++) await wait(100);
        assert.ok(stdout.includes('up'), 'the agent runs');
        await wait(1000);
        assert.ok(!stdout.includes(`${LEAK}-original`), 'hidden before the replace');
        writeFileSync(join(ws, 'editor-save-tmp'), `TOKEN=${LEAK}-replaced\n`);
        renameSync(join(ws, 'editor-save-tmp'), join(ws, '.env'));
        renamedAt = Date.now();
        assert.ok(await stopsWithin(sb, 20_000), 'the sandbox ended: not left frozen while it counts as running');
        const code = await Promise.race([exited, wait(20_000).then(() => 'still running')]);
        assert.notEqual(code, 'still running', 'the agent\'s exec ended with the sandbox');
      } finally {
        agent.kill('SIGKILL');
        await exited;
      }
      const reads = stdout.split(`${LEAK}-replaced`).length - 1;
      t.diagnostic(`${runtime}: the readers saw the replaced file ${reads} time(s)${sightings.length ? `, the last ${sightings[sightings.length - 1]} ms after the rename (host clock, through the exec's stream)` : ''}`);
      const why = await engine().stopReason(sb);
      assert.match(why?.text ?? '', new RegExp(`^protection lifted: ${join(ws, '.env')} \\(hidden\\) replaced or removed on the host, which lifted its mount; every process was frozen at once`));
      await paddockOk(['start', sb]);
      assert.equal((await paddockOk(['exec', sb, '--', 'cat', '.env'])).stdout, '', 'hidden again at the next start');
    });

    // An editor's safe write: .env.tmp-save appears (a name the hide rules cover, so the watch for new
    // secrets fires) and is renamed over .env a moment later (so the mounts guard fires). Two guards
    // that froze each other at once would both stay frozen, and the sandbox with them.
    it('two guards firing at once (a temp file named like the secret, renamed over it) end the sandbox every time', async () => {
      for (let round = 1; round <= 3; round++) {
        if (!isRunning(sb)) await paddockOk(['start', sb]);
        writeFileSync(join(ws, '.env.tmp-save'), `TOKEN=${LEAK}-round${round}\n`);
        renameSync(join(ws, '.env.tmp-save'), join(ws, '.env'));
        assert.ok(await stopsWithin(sb, 20_000), `round ${round}: the sandbox ended, not left frozen`);
        assert.match((await engine().stopReason(sb))?.text ?? '', /^(protection lifted|new secret): /, `round ${round}: it says why`);
      }
      const r = await paddock(['start', sb]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await paddockOk(['exec', sb, '--', 'cat', '.env'])).stdout, '', 'hidden again');
    });
  });
}

// A false alarm: an unmount that lifts nothing guarded. The host renames a new file over
// /etc/hostname in the container's own file system (Docker binds a file of its own there), which
// detaches that mount inside, as a rename over any mount point does: the guard
// wakes, freezes every process, finds every guarded mount in place and thaws. Only what this freeze
// stopped: a process the agent had stopped itself (a job suspended with Ctrl-Z, a debugger's
// inferior, kill -STOP) stays stopped. runc only: gVisor keeps its mounts (no unmount to wake on),
// and its status files do not say which stop signal is pending, so there the thaw continues all.
describe('a false alarm of the mounts guard, under runc', () => {
  let ws: string;
  let sb: string;
  before(async () => {
    ws = makeWorkspace({ '.env': `TOKEN=${LEAK}-original\n` }, 'paddock-falsealarm-');
    sb = (await paddockOk(['create', 'shell', ws, '--runtime', 'runc'])).stdout.trim();
    await paddockOk(['start', sb]);
  });
  after(async () => { if (ws) await cleanup(ws); });

  it('thaws what the freeze stopped and leaves a process the agent had stopped itself stopped', async () => {
    const started = await paddockOk(['exec', sb, '--', 'sh', '-c', 'sleep 600 & s=$!; sleep 600 & r=$!; kill -STOP $s; echo $s $r']);
    const [stopped, running] = started.stdout.trim().split(' ');
    const state = (pid: string) => docker(['exec', sb, 'sh', '-c', `sed -n 's/^State:[[:space:]]*\\(.\\).*/\\1/p' /proc/${pid}/status`]).stdout.trim();
    const hostnameMounted = () => docker(['exec', sb, 'grep', '-c', ' /etc/hostname ', '/proc/self/mountinfo']).stdout.trim() !== '0';
    for (let i = 0; i < 50 && state(stopped) !== 'T'; i++) await wait(100);
    assert.deepEqual([state(stopped), state(running)], ['T', 'S'], 'the agent stopped one of its processes');
    assert.ok(hostnameMounted());
    const hostname = `${docker(['inspect', '-f', '{{.GraphDriver.Data.MergedDir}}', sb]).stdout.trim()}/etc/hostname`;
    writeFileSync(`${hostname}.paddock-test`, 'paddock-falsealarm\n');
    renameSync(`${hostname}.paddock-test`, hostname);
    for (let i = 0; i < 100 && hostnameMounted(); i++) await wait(100);
    assert.ok(!hostnameMounted(), 'the rename lifted the /etc/hostname mount: the guard wakes');
    await wait(3000);
    assert.ok(isRunning(sb), 'nothing guarded was lost: the sandbox runs on');
    assert.equal(state(running), 'S', 'what the freeze stopped runs again');
    assert.equal(state(stopped), 'T', 'the process the agent had stopped stays stopped');
    assert.equal((await paddockOk(['exec', sb, '--', 'cat', '.env'])).stdout, '', 'still hidden');
  });
});
