// The mounts guard inside knows what the create mounted (PADDOCK_GUARDED, src/engine/guardPlan.ts),
// not only what it finds at its first look. From the attacker's side: the host renames new files over
// a read-only cage file (the compose file) and a hidden file (a symlink's target, which no hide rule
// names, so no other guard looks at it) right after the container starts, before the init's guard
// looked at the mounts (under runc the container's CPUs cut to 1% meanwhile, so the look surely comes
// after: no hook in the init; gVisor, which cannot change them, starts slowly enough by itself). The
// old guard never listed those mounts, and the sandbox ran with the secret readable and, under runc,
// the cage file writable (gVisor keeps a replaced file's mount); now it stops, says which, and the
// next start protects them again.
import assert from 'node:assert/strict';
import { chownSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { prepareSandbox } from '../../../src/engine/sandboxes.js';
import { OWNER, cleanup, docker, engine, isRunning, makeWorkspace, paddock, stopsWithin } from '../../support/sandbox.js';

const LEAK = 'PLANLEAK';
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
const runtimes = ['runc', ...('runsc' in JSON.parse(docker(['info', '--format', '{{json .Runtimes}}']).stdout || '{}') ? ['runsc'] : [])];

for (const runtime of runtimes) {
  describe(`a protecting mount lifted before the guard's first look, under ${runtime}`, () => {
    const e = engine();
    let ws: string;
    let name: string;
    before(async () => {
      ws = makeWorkspace({ 'config/app.txt': `TOKEN=${LEAK}-original\n`, 'docker-compose.yml': 'services: {}\n' }, `paddock-guardplan-${runtime}-`);
      symlinkSync('config/app.txt', join(ws, '.env')); // .env is hidden, so its target is too
      name = (await prepareSandbox(e, { agent: 'shell', workspace: ws, runtime })).sandbox.name;
      assert.equal((await paddock(['exec', name, '--', 'cat', join(ws, 'config/app.txt')])).stdout, '', 'the target is hidden');
      await e.stop(name);
    });
    after(async () => {
      if (ws) await cleanup(ws);
    });

    it('a rename over a cage file and over a hidden file as the container starts: the sandbox stops and says which, never runs with them open', async (t) => {
      const compose = join(ws, 'docker-compose.yml');
      const secret = join(ws, 'config/app.txt');
      const slowed = runtime === 'runc';
      if (slowed) assert.equal(docker(['update', '--cpus', '0.01', name]).code, 0);
      const starting = e.start(name).then(() => 'ready', (err: Error & { hint?: string }) => `${err.message} ${err.hint ?? ''}`);
      try {
        for (let i = 0; i < 3000 && !isRunning(name); i++) await wait(10);
        // As the workspace's owner would save them (the agent's uid): only the mount kept the agent from writing.
        for (const [file, text] of [[compose, 'services:\n  api: {}\n'], [secret, `TOKEN=${LEAK}-replaced\n`]]) {
          writeFileSync(`${file}.tmp-save`, text);
          chownSync(`${file}.tmp-save`, OWNER.uid, OWNER.gid);
          renameSync(`${file}.tmp-save`, file);
        }
      } finally {
        if (slowed) docker(['update', '--cpus', '2', name]);
      }
      const outcome = await starting;
      if (outcome === 'ready') {
        // The attacker's view, had it kept running: the cage file writable, the secret readable.
        const wrote = await paddock(['exec', name, '--', 'sh', '-c', `echo "  evil: {}" >> ${compose}`]);
        const read = await paddock(['exec', name, '--', 'cat', secret]);
        assert.ok(await stopsWithin(name, 20_000), `the sandbox stopped itself (it ran on: compose write exit ${wrote.code}, secret read "${read.stdout.trim()}")`);
      } else {
        assert.ok(await stopsWithin(name, 20_000), `not left running (the start said: ${outcome})`);
      }
      const why = (await e.stopReason(name))?.text ?? '';
      t.diagnostic(`${runtime}: the start said ${outcome}; the sandbox: ${why}`);
      assert.match(why, /^protection lifted: .* replaced or removed on the host, which lifted its mount; .*start it again to protect it/, why);
      assert.ok(why.includes(`${secret} (hidden)`), why);
      if (runtime === 'runc') assert.ok(why.includes(`${compose} (read-only)`), why);
      // The next start protects both again.
      await e.start(name);
      assert.notEqual((await paddock(['exec', name, '--', 'sh', '-c', `echo "  evil: {}" >> ${compose}`])).code, 0, 'read-only again');
      assert.equal((await paddock(['exec', name, '--', 'cat', secret])).stdout, '', 'hidden again');
    });
  });
}
