// Under gVisor a host rename over a read-only path (git rewriting .git/config, an editor's safe save
// of the compose file) comes with no unmount event, and gVisor keeps listing the lifted mount until a
// lookup in the sandbox reaches the new file: the guard's once-a-second look at the mount list alone
// left an untouched one unnoticed for as long as nobody touched it, and the agent's own write (its
// lookup) then landed on the host before the next look. The guard inside now tests every 250 ms that
// each read-only path still refuses a write (the test is itself the lookup), so the sandbox stops on
// its own, with nothing written, and says which. Hidden folders (read-only tmpfs) and files raise no
// false alarm. gVisor only: under runc the rename's unmount event wakes the guard (hiding/guard.test.ts).
import assert from 'node:assert/strict';
import { chownSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { prepareSandbox } from '../../../src/engine/sandboxes.js';
import { OWNER, cleanup, docker, engine, isRunning, makeWorkspace, paddock, stopsWithin } from '../../support/sandbox.js';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
const gvisor = 'runsc' in JSON.parse(docker(['info', '--format', '{{json .Runtimes}}']).stdout || '{}');

if (gvisor) describe('gVisor: a read-only path replaced on the host while nothing in the sandbox touches it', () => {
  const e = engine();
  let ws: string;
  let name: string;
  before(async () => {
    ws = makeWorkspace({ 'docker-compose.yml': 'services: {}\n', '.env': 'TOKEN=ROLEAK\n', 'secrets/key.txt': 'ROLEAK\n', 'src/app.js': '1\n' }, 'paddock-gvisor-ro-');
    name = (await prepareSandbox(e, { agent: 'shell', workspace: ws, runtime: 'runsc' })).sandbox.name;
  });
  after(async () => {
    if (ws) await cleanup(ws);
  });

  it('hidden files and folders and read-only paths raise no alarm while they hold', async () => {
    await wait(2_000); // eight of the guard's 250 ms looks
    assert.ok(isRunning(name), 'still running');
    const r = await paddock(['exec', name, '--', 'sh', '-c', `cat ${join(ws, '.env')}; ls -A ${join(ws, 'secrets')}; echo "  evil: {}" >> ${join(ws, 'docker-compose.yml')} && echo wrote`]);
    assert.equal(r.stdout, '', `hidden and read-only: ${r.stdout}`);
  });

  it('the sandbox stops by itself and says which; the host file keeps what the host wrote', async () => {
    const compose = join(ws, 'docker-compose.yml');
    const saved = 'services:\n  api: {}\n';
    writeFileSync(`${compose}.tmp-save`, saved);
    chownSync(`${compose}.tmp-save`, OWNER.uid, OWNER.gid); // the agent's uid: only the mount kept it from writing
    renameSync(`${compose}.tmp-save`, compose);
    // The old guard never noticed an untouched one (minutes); 20 s is room for a loaded machine.
    const stopped = await stopsWithin(name, 20_000);
    if (!stopped) {
      const wrote = await paddock(['exec', name, '--', 'sh', '-c', `echo "  evil: {}" >> ${compose}`]);
      assert.fail(`the sandbox ran on with the replaced compose file unguarded (a write from inside: exit ${wrote.code}; the host file now: ${JSON.stringify(readFileSync(compose, 'utf8'))})`);
    }
    const why = (await e.stopReason(name))?.text ?? '';
    assert.match(why, /^protection lifted: .* replaced or removed on the host, which lifted its mount; .*start it again to protect it/, why);
    assert.ok(why.includes(`${compose} (read-only)`), why);
    assert.equal(readFileSync(compose, 'utf8'), saved, 'nothing written from inside');
    // The next start makes it read-only again.
    await e.start(name);
    assert.notEqual((await paddock(['exec', name, '--', 'sh', '-c', `echo "  evil: {}" >> ${compose}`])).code, 0, 'read-only again');
    assert.equal(readFileSync(compose, 'utf8'), saved);
  });
});
