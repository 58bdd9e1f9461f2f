// A stopped sandbox says why: stopped by the user (nothing more), ended outside Paddock (an
// engine or machine restart ends it the same way a `docker stop` does; the shared engine is not
// restarted here), or killed by the kernel at its memory limit (exec, ls, start, logs and the tree);
// a sandbox removed outside Paddock under a command says that it is gone.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanup, docker, engine, makeWorkspace, paddock, paddockOk } from '../../support/sandbox.js';

const statusOf = async (name: string) => {
  const ls = await paddockOk(['ls']);
  return ls.stdout.split('\n').find((l) => l.startsWith(`${name} `)) ?? '';
};

describe('why a sandbox stopped', () => {
  const ws = makeWorkspace({ 'a.txt': 'a\n' });
  let name: string;
  before(async () => {
    name = (await paddockOk(['create', 'shell', ws, '--memory', '96m'])).stdout.trim();
  });
  after(() => cleanup(ws));

  it('a stop by the user is a plain stop', async () => {
    await paddockOk(['stop', name]);
    assert.match(await statusOf(name), /\bstopped\s/);
    assert.doesNotMatch(await statusOf(name), /outside|memory/);
    const start = await paddockOk(['start', name]);
    assert.doesNotMatch(start.stderr, /had stopped/);
  });

  it('a stop outside Paddock (as an engine restart does) is said in ls, exec and start', async () => {
    assert.equal(docker(['stop', '-t', '1', name]).code, 0);
    assert.match(await statusOf(name), /stopped \(engine restart or docker stop\)/);
    const exec = await paddock(['exec', name, '--', 'true']);
    assert.match(exec.stderr, /is stopped \(stopped outside Paddock .*engine or machine restart.*; its state is kept\)\.\n.*→ Start it with "paddock start /);
    assert.equal(exec.stderr.split('paddock start').length - 1, 1, `the action is said once: ${exec.stderr}`);
    assert.match((await paddockOk(['logs', name])).stderr, /stopped outside Paddock/);
    const start = await paddockOk(['start', name]);
    assert.match(start.stderr, new RegExp(`${name} had stopped: stopped outside Paddock .*; its state is kept\n`));
    assert.doesNotMatch(start.stderr, /brings it back/, 'the start under way is not advised again');
    assert.match(await statusOf(name), /\brunning\s/);
  });

  it('a process killed at the memory limit is said by exec and ls, with how to raise it', async () => {
    // Grows a shell variable past the 96 MiB limit (no swap: Paddock sets swap = memory).
    const exec = await paddock(['exec', name, '--', 'sh', '-c', 'x=a; while :; do x="$x$x"; done']);
    assert.equal(exec.code, 137);
    assert.match(exec.stderr, /paddock: a process in it was killed by the kernel at the memory limit \(96 MiB\): raise it with "docker update --memory 8g --memory-swap 8g/);
    assert.match(await statusOf(name), /running \(a process hit the memory limit\)/);
    assert.match((await engine().stopReason(name))?.text ?? '', /memory limit/);
    assert.match((await paddockOk(['logs', name])).stderr, /paddock: .*: a process in it was killed by the kernel at the memory limit/);
  });

  it('a guard\'s stop is said by the log itself: logs adds no "outside Paddock" after it', async () => {
    // The agent writes a file the default rules hide: the init's guard stops the sandbox, saying so.
    const exec = await paddock(['exec', name, '--', 'sh', '-c', `echo KEY=1 > ${ws}/.env; sleep 20`]);
    assert.equal(exec.code, 137);
    const logs = await paddockOk(['logs', name]);
    assert.match(logs.stderr + logs.stdout, /paddock: new secret: .*\.env/);
    // Nothing of Paddock's own after it ("outside Paddock", or the memory kill of the case above).
    assert.doesNotMatch(logs.stderr, new RegExp(`paddock: ${name}: `));
    rmSync(join(ws, '.env'));
    await paddockOk(['start', name]); // for the cases below
  });

  /** Runs a long command in the sandbox, and once it runs, removes the sandbox with REMOVE; resolves with the command's end. */
  const removedUnder = async (sandbox: string, remove: () => Promise<unknown> | unknown) => {
    const exec = paddock(['exec', sandbox, '--', 'sh', '-c', 'exec sleep 60']);
    // The command runs once a sleep shows in the sandbox's processes.
    for (let i = 0; i < 100 && !/sleep 60/.test(docker(['top', sandbox]).stdout); i++) await new Promise((r) => setTimeout(r, 100));
    await remove();
    return exec;
  };

  it('Paddock\'s own removal under a running command is not said as one from outside', async () => {
    const other = makeWorkspace({ 'b.txt': 'b\n' });
    try {
      const otherName = (await paddockOk(['create', 'shell', other])).stdout.trim();
      const ended = await removedUnder(otherName, () => paddockOk(['rm', otherName]));
      assert.equal(ended.code, 137);
      assert.doesNotMatch(ended.stderr, /outside Paddock/);
    } finally {
      cleanup(other);
    }
  });

  // Last: it removes the sandbox.
  it('a removal outside Paddock under a running command is said as a removal, with no start advised', async () => {
    const ended = await removedUnder(name, () => assert.equal(docker(['rm', '-f', name]).code, 0));
    assert.equal(ended.code, 137);
    assert.match(ended.stderr, /paddock: removed outside Paddock \(by "docker rm -f" or another tool\), and its state with it; "paddock run" or "paddock create" makes a new sandbox\n/);
    assert.doesNotMatch(ended.stderr, /paddock start|state is kept|stopped outside/);
  });
});
