// The words after a gVisor (runsc) sandbox is stopped under a running command (issue 16). Real
// engine, real CLI, the shell template under runsc:
// - a gVisor sandbox frozen and killed under a command (what the host guard does when a hidden file
//   is replaced on the host): the command's terminal showed runsc's own "waiting on PID N in sandbox
//   ...: urpc method "containerManager.WaitPID" failed: EOF" and `paddock exec` (or the agent's
//   session in `paddock run`) then waited for ever; now it ends as killed (137) and says why;
// - a gVisor sandbox frozen and killed while a command runs in it (the host guard's steps, which a
//   killed `paddock run` left there before its apply made a new container) cannot start again on
//   this engine ("id already in use": containerd keeps its last run): `paddock start` says that and
//   the one way out, `paddock apply` (state kept), which then works.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { CLI, cleanup, docker, isRunning, makeWorkspace, paddock, paddockOk, textWithin } from '../../support/sandbox.js';

const gvisor = 'runsc' in JSON.parse(docker(['info', '--format', '{{json .Runtimes}}']).stdout || '{}');

if (gvisor) describe('gVisor: the words after its sandbox is stopped under a command', () => {
  let ws: string;
  let name: string;
  before(async () => {
    ws = makeWorkspace({ '.env': 'TOKEN=GVWORDS\n', 'src/app.js': '1\n' }, 'paddock-gvisor-words-');
    name = (await paddockOk(['create', 'shell', ws, '--runtime', 'runsc'])).stdout.trim();
  });
  after(async () => {
    if (ws) await cleanup(ws);
  });

  it('frozen and killed under a command in a terminal (the host guard\'s steps): the command ends (137) with why, not runsc\'s words', async () => {
    // In a terminal runsc writes its words into the command's terminal, and the engine kept the
    // command's stream open: paddock exec printed them and then waited for ever.
    const exec = spawn('script', ['-qfec', `stty rows 30 cols 200; ${process.execPath} ${CLI} exec ${name} -- sleep 600; echo EXIT=$?`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    exec.stdout.on('data', (c) => { screen += c; });
    exec.stderr.on('data', (c) => { screen += c; });
    try {
      await textWithin(() => docker(['exec', name, 'ps', '-eo', 'args']).stdout, /^sleep 600$/m, 'the command to run', 60_000);
      assert.equal(docker(['pause', name]).code, 0, 'pause');
      docker(['kill', name]);
      await textWithin(() => screen, /EXIT=\d+/, 'paddock exec to end', 60_000);
    } finally {
      exec.kill('SIGKILL');
    }
    assert.match(screen, /EXIT=137/, screen);
    assert.match(screen, new RegExp(`paddock: stopped outside Paddock \\(exit code 137\\)`), screen);
    assert.doesNotMatch(screen, /urpc|WaitPID|waiting on PID/, 'runsc\'s own words');
  });

  it('frozen and killed under a command: start says why it cannot start and what to do, and that works', async () => {
    // The sandbox as the test above left it.
    assert.equal(isRunning(name), false);
    const start = await paddock(['start', name]);
    if (start.code === 0) {
      // An engine that cleans up after such a kill: nothing to say, the sandbox runs.
      assert.ok(isRunning(name), start.stderr);
    } else {
      assert.match(start.stderr, new RegExp(`paddock: Sandbox ${name} cannot start: the engine still holds its last run, which did not end cleanly \\("id already in use"\\)\\.\\n  → Run "paddock apply ${name}": a new container, with the sandbox's state kept`), start.stderr);
      assert.doesNotMatch(start.stderr, /Check the image and runtime/);
      const applied = await paddock(['apply', name]);
      assert.equal(applied.code, 0, applied.stderr);
      assert.ok(isRunning(name), 'running after the apply');
    }
  });
});
