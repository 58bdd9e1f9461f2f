// `paddock run` stays with the user when the hiding guard resumes its sandbox (issue 12 §4): a
// secret that appears in the workspace while the agent works ends the container, the guard applies
// (a new container that hides it, state kept) and run starts the agent again in the new container,
// with one line that says why. Real engine, the CLI as a user runs it: the agent's input piped, and
// in a real terminal (script(1) gives the session a pseudo-terminal: raw mode off and on again).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI, cleanup, docker, makeWorkspace, paddockOk, runInTerminal, textWithin } from '../../support/sandbox.js';

describe('paddock run re-attaches the agent after a resume', () => {
  let ws: string;
  let name: string;

  before(async () => {
    ws = makeWorkspace({ '.env.example': 'API_TOKEN=\n', 'README.md': '# app\n' });
    name = (await paddockOk(['create', 'shell', ws])).stdout.trim();
  });
  after(async () => { if (ws) await cleanup(ws); });

  it('a secret that appears mid-session: the agent starts again in the new container, its home kept, the secret unreadable', async () => {
    const firstId = docker(['inspect', '-f', '{{.Id}}', name]).stdout.trim();
    const run = spawn(process.execPath, [CLI, 'run', 'shell', ws], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    run.stdout.on('data', (c) => { out += c; });
    run.stderr.on('data', (c) => { err += c; });
    const exited = new Promise<number | null>((r) => run.on('exit', r));
    try {
      await textWithin(() => err, /Using sandbox/, 'the session', 180_000);
      run.stdin.write('echo kept-home > ~/reattach-marker; echo FIRST-DONE\n');
      await textWithin(() => out, /FIRST-DONE/, 'the first session to answer', 60_000);

      // The user makes a .env from the example, then fills it in.
      writeFileSync(join(ws, '.env'), '');
      writeFileSync(join(ws, '.env'), 'API_TOKEN=reattach-secret-42\n');

      const line = await textWithin(() => err, /paddock: .*\.env.* appeared in the workspace where no mount hid it in .*; .*then applied: a new container hides it, with the sandbox's state kept[^\n]*\. The agent starts again in it \(its home is kept: sign-in, history, config\)\./, 'the line that says why the session restarted', 300_000);
      assert.doesNotMatch(line[0], /run it again/);
      const secondId = docker(['inspect', '-f', '{{.Id}}', name]).stdout.trim();
      assert.notEqual(secondId, firstId, 'a new container');

      // The agent runs again, in the new container: its input reaches it, its home is the old one's.
      run.stdin.write('echo "[$(cat ~/reattach-marker)] [$(cat .env)]"; echo SECOND-DONE\n');
      await textWithin(() => out, /SECOND-DONE/, 'the restarted agent to answer', 120_000);
      assert.match(out, /\[kept-home\] \[\]/, 'the home is kept and the new .env reads empty');
      assert.doesNotMatch(out, /reattach-secret-42/);

      run.stdin.write('exit 7\n');
      assert.equal(await exited, 7, 'run exits with the code of the agent it re-attached');
      assert.equal((err.match(/The agent starts again in it/g) ?? []).length, 1, 'one line says it');
      assert.equal(docker(['inspect', '-f', '{{.State.Running}}', name]).stdout.trim(), 'true');
    } finally {
      run.kill('SIGKILL');
    }
  });

  it('in a terminal: the agent shell comes back after the resume and takes what is typed', async () => {
    const { session, screen, type, exited } = runInTerminal(ws, 30, 200);
    try {
      await textWithin(screen, /Using sandbox[\s\S]*[#$] $/, 'the shell prompt', 180_000);
      type('echo tty-home > ~/tty-marker; echo FIRST-$((20+1))');
      await textWithin(screen, /FIRST-21/, 'the first shell to answer', 60_000);
      writeFileSync(join(ws, 'deploy-key.pem'), 'PRIVATE-KEY-tty-77\n');
      const restarted = await textWithin(screen, /The agent starts again in it \(its home is kept: sign-in, history, config\)\./, 'the line that says why', 300_000);
      await textWithin(() => screen().slice(restarted.index), /[#$] $/, 'the new shell\'s prompt', 120_000);
      type('echo "[$(cat ~/tty-marker)] [$(cat deploy-key.pem)] SECOND-$((40+2))"');
      await textWithin(screen, /\[tty-home\] \[\] SECOND-42/, 'the restarted shell to answer with the home kept and the key hidden', 120_000);
      assert.doesNotMatch(screen(), /PRIVATE-KEY-tty-77/);
      type('exit 5');
      assert.equal(await exited, 5);
    } finally {
      session.kill('SIGKILL');
    }
  });
});
