// How a command run without the physical view is kept stoppable where the PID namespace cannot be
// made: on runc (Docker's seccomp profile refuses an unprivileged user namespace) the launcher is a
// child subreaper, so a process that clears its environment, calls setsid and is orphaned by a
// double fork is still killed by the stop; in a target without perl the command runs as docker exec
// runs it, found by its mark alone, and the note says what may escape. The bridge's own functions
// (unviewedExecOptions, stopMarkedCall, markOnlyNote) on a real engine; the runsc targets that have
// perl are in unviewed-calls-stopped.test.ts, through the bridge.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type Docker from 'dockerode';
import { markOnlyNote, stopMarkedCall, unviewedExecOptions } from '../../../src/bridge/stopCall.js';
import { runExec } from '../../../src/engine/docker.js';
import { docker, engine } from '../../support/sandbox.js';
import { BASE_IMAGE, dockerAsync, suffix } from '../bridge/support.js';

const ESCAPE = 'touch /tmp/started-plain; (env -i setsid /bin/sh -c \'(/bin/sh -c "touch /tmp/started-detached; sleep 30; touch /tmp/ran-detached" &)\' &); (sleep 30; touch /tmp/ran-plain) & sleep 30; touch /tmp/ran-main';
const SAME_AS_DOCKER = ['sh', '-c', 'id; pwd; env | grep -v -e ^PADDOCK_BRIDGE_CALL= | sort; echo to-stderr >&2; exit 3'];

describe('commands run without the view where no PID namespace can be made', () => {
  const runcTarget = `pbt-launch-runc-${suffix}`;
  const noPerlTarget = `pbt-launch-noperl-${suffix}`;
  // Runs as uid 1000 with a folder of its own first on its PATH (as node_modules/.bin or ~/.local/bin can be).
  const userPathTarget = `pbt-launch-userpath-${suffix}`;
  const dockerApi = (): Docker => engine().docker;

  before(() => {
    for (const [name, args] of [[runcTarget, []], [noPerlTarget, ['--runtime', 'runsc', '-v', '/dev/null:/usr/bin/perl:ro']],
      [userPathTarget, ['--user', '1000:1000', '-e', 'PATH=/tmp/mine:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']]] as const) {
      const r = docker(['run', '-d', '--name', name, ...args, BASE_IMAGE, 'sh', '-c', 'exec sleep 2147483647']);
      assert.equal(r.code, 0, r.stderr);
    }
  });
  after(() => { docker(['rm', '-f', runcTarget, noPerlTarget, userPathTarget]); });

  const inTarget = async (target: string, file: string) => (await dockerAsync(['exec', target, 'test', '-e', `/tmp/${file}`])).code === 0;
  const sleepers = async (target: string) => Number((await dockerAsync(['exec', target, 'sh', '-c', 'grep -a -l "sleep [3]0" /proc/[0-9]*/cmdline 2>/dev/null | wc -l'])).stdout.trim());
  const until = async (what: string, ok: () => Promise<boolean>, ms = 60_000) => {
    for (const deadline = Date.now() + ms; !(await ok());) {
      assert.ok(Date.now() < deadline, what);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  /** Runs `argv` as the bridge would (its launcher and mark), cancels it once `startedFile` exists, and stops it. */
  async function runAndStop(target: string, argv: string[], startedFile: string): Promise<boolean> {
    const info = await dockerApi().getContainer(target).inspect();
    const id = info.Id;
    const call = randomUUID();
    const options = await unviewedExecOptions(dockerApi(), id, argv, { user: info.Config.User, workdir: '/', env: info.Config.Env ?? [] }, call);
    const cancel = new AbortController();
    let exec: Docker.Exec | undefined;
    const running = runExec(dockerApi(), id, options, { stdout: new PassThrough().resume(), stderr: new PassThrough().resume(), signal: cancel.signal, onStarted: (e) => { exec = e; } });
    await until(`${startedFile} appears`, () => inTarget(target, startedFile));
    cancel.abort();
    await running;
    return stopMarkedCall(dockerApi(), id, call, exec);
  }

  it('on runc the launcher is a subreaper: a process that cleared its environment and was orphaned after setsid is killed with the command', async () => {
    const started = Date.now();
    const id = (await dockerApi().getContainer(runcTarget).inspect()).Id;
    assert.equal(await runAndStop(runcTarget, ['sh', '-c', ESCAPE], 'started-detached'), true);
    assert.equal(markOnlyNote(id, ''), '');
    await until('no process of the call is left', async () => await sleepers(runcTarget) === 0, 10_000);
    await new Promise((r) => setTimeout(r, Math.max(0, started + 33_000 - Date.now())));
    for (const file of ['ran-main', 'ran-plain', 'ran-detached']) assert.equal(await inTarget(runcTarget, file), false, `/tmp/${file} never appears`);
  });

  it('on runc a root command that kills its launcher (same uid) and leaves an orphan that cleared its environment after setsid: the stop kills it too', async () => {
    const started = Date.now();
    // The orphan is made first, then the launcher (the command's parent) is killed: the orphan is re-parented to the target's init, out of the launcher's tree, without the mark.
    const killLauncher = 'touch /tmp/started-killer; (env -i setsid /bin/sh -c \'(/bin/sh -c "touch /tmp/started-orphan; sleep 30; touch /tmp/ran-orphan" &)\' &); while [ ! -e /tmp/started-orphan ]; do sleep 0.1; done; kill -9 $PPID; sleep 30; touch /tmp/ran-killer';
    assert.equal(await runAndStop(runcTarget, ['sh', '-c', killLauncher], 'started-orphan'), true);
    await until('no process of the call is left', async () => await sleepers(runcTarget) === 0, 10_000);
    await new Promise((r) => setTimeout(r, Math.max(0, started + 33_000 - Date.now())));
    for (const file of ['ran-orphan', 'ran-killer']) assert.equal(await inTarget(runcTarget, file), false, `/tmp/${file} never appears`);
    // An ordinary root command still runs as docker exec runs it (same ids, capabilities and exit code).
    const id = (await dockerApi().getContainer(runcTarget).inspect()).Id;
    const asRoot = ['sh', '-c', 'id; grep ^Cap /proc/self/status; touch /root/made-by-root && chown 1000 /root/made-by-root && kill -0 1 && echo signalled-init; exit 4'];
    const options = await unviewedExecOptions(dockerApi(), id, asRoot, { user: '', workdir: '/', env: [] }, randomUUID());
    const out = new PassThrough(); const chunks: Buffer[] = []; out.on('data', (b: Buffer) => chunks.push(b));
    const end = await runExec(dockerApi(), id, options, { stdout: out, stderr: new PassThrough().resume() });
    const direct = await dockerAsync(['exec', runcTarget, ...asRoot]);
    assert.deepEqual([end.exitCode, Buffer.concat(chunks).toString()], [direct.code, direct.stdout]);
  });

  it('in a target without perl the command runs as docker exec runs it, the stop kills what kept the mark, and the note says one that cleared it may still run', async () => {
    const id = (await dockerApi().getContainer(noPerlTarget).inspect()).Id;
    const options = await unviewedExecOptions(dockerApi(), id, SAME_AS_DOCKER, { user: '', workdir: '/', env: [] }, randomUUID());
    const out = new PassThrough(); const err = new PassThrough();
    const chunks: Buffer[][] = [[], []];
    out.on('data', (b: Buffer) => chunks[0].push(b)); err.on('data', (b: Buffer) => chunks[1].push(b));
    const end = await runExec(dockerApi(), id, options, { stdout: out, stderr: err });
    const direct = await dockerAsync(['exec', noPerlTarget, ...SAME_AS_DOCKER]);
    assert.deepEqual([end.exitCode, ...chunks.map((c) => Buffer.concat(c).toString())], [direct.code, direct.stdout, direct.stderr]);
    assert.match(markOnlyNote(id, ''), /^ \(found by their mark only: it has no perl to keep the command's processes together \(.+\), so one that cleared its environment may still run\)$/);

    assert.equal(await runAndStop(noPerlTarget, ['sh', '-c', 'touch /tmp/started-marked; (sleep 30; touch /tmp/ran-marked) & sleep 30; touch /tmp/ran-main'], 'started-marked'), true);
    await until('no process of the call is left', async () => await sleepers(noPerlTarget) === 0, 10_000);
  });

  it('what the bridge runs as root in the target (launcher, probe, stopper) never comes from a folder on the PATH its user can write', async () => {
    // The target's user plants perl, sh, grep and sleep in its own folder first on the PATH: each notes who ran it, then does the real thing.
    const plant = 'mkdir -p /tmp/mine && for p in perl sh grep sleep cat; do real=$(command -v $p); printf "#!/bin/sh\\nid -u > /tmp/planted-$p-ran-as-\\$(id -u)\\nexec $real \\"\\$@\\"\\n" > /tmp/mine/$p; chmod +x /tmp/mine/$p; done';
    const planted = await dockerAsync(['exec', userPathTarget, '/bin/sh', '-c', plant]);
    assert.equal(planted.code, 0, planted.stderr);
    assert.equal((await dockerAsync(['exec', userPathTarget, 'sleep', '0'])).code, 0);
    assert.equal(await inTarget(userPathTarget, 'planted-sleep-ran-as-1000'), true, 'the planted programs run for the target\'s user');

    assert.equal(await runAndStop(userPathTarget, ['sh', '-c', 'touch /tmp/started-user; sleep 30'], 'started-user'), true);
    const ranAsRoot = await dockerAsync(['exec', userPathTarget, '/bin/sh', '-c', 'ls /tmp | grep -- -ran-as-0 || true']);
    assert.equal(ranAsRoot.stdout.trim(), '', 'no planted program ran as root');
    // The command itself found its PATH as docker exec gives it: the planted sh ran, as the user.
    assert.equal(await inTarget(userPathTarget, 'planted-sh-ran-as-1000'), true);
    await until('no process of the call is left', async () => await sleepers(userPathTarget) === 0, 10_000);
  });
});
