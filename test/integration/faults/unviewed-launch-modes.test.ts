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
  const dockerApi = (): Docker => engine().docker;

  before(() => {
    for (const [name, args] of [[runcTarget, []], [noPerlTarget, ['--runtime', 'runsc', '-v', '/dev/null:/usr/bin/perl:ro']]] as const) {
      const r = docker(['run', '-d', '--name', name, ...args, BASE_IMAGE, 'sh', '-c', 'exec sleep 2147483647']);
      assert.equal(r.code, 0, r.stderr);
    }
  });
  after(() => { docker(['rm', '-f', runcTarget, noPerlTarget]); });

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
    const id = (await dockerApi().getContainer(target).inspect()).Id;
    const call = randomUUID();
    const options = await unviewedExecOptions(dockerApi(), id, argv, { user: '', workdir: '/', env: [] }, call);
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
});
