// Interactive use: a real pseudo-terminal on the host side, a real TTY in the sandbox.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI, cleanup, makeWorkspace, paddockOk, REPO } from '../../support/sandbox.js';

interface Step { resize?: [number, number]; send?: string; expect?: string }

function drive(steps: Step[], args: string[]): { ok: boolean; exit: number; output: string; failed: Step | null } {
  const script = join(makeWorkspace(), 'steps.json');
  writeFileSync(script, JSON.stringify(steps));
  const r = spawnSync('python3', [join(REPO, 'test', 'support', 'pty-drive.py'), script, '--', process.execPath, CLI, ...args], { encoding: 'utf8', timeout: 180_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

describe('agent terminals', () => {
  let ws: string;
  let name: string;
  before(async () => {
    ws = makeWorkspace({ 'hello.txt': 'hi\n' });
    name = (await paddockOk(['create', 'shell', ws])).stdout.trim();
  });
  after(() => cleanup(ws));

  it('run attaches a TTY that follows the terminal size and resizes, and returns the exit code', () => {
    const report = drive([
      { expect: '\\$ ' },
      { send: 'stty size; tty\r' }, { expect: '24 80\\s+/dev/pts/' },
      { resize: [40, 132] },
      { send: 'stty size\r' }, { expect: '40 132' },
      { send: 'pwd\r' }, { expect: ws.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') },
      { send: 'exit 5\r' },
    ], ['run', 'shell', ws, '--', '--norc', '--noprofile', '-i']);
    assert.ok(report.ok, `stuck at ${JSON.stringify(report.failed)}; terminal showed:\n${report.output}`);
    assert.equal(report.exit, 5);
  });

  it('colours reach the terminal: TERM is passed and escape sequences come through untouched', () => {
    const report = drive([
      { expect: '\\$ ' },
      { send: 'echo "term=$TERM"; printf "\\033[31mred\\033[0m\\n"\r' }, { expect: '\\x1b\\[31mred\\x1b\\[0m' },
      { send: 'exit\r' },
    ], ['exec', name, '--', 'bash', '--norc', '--noprofile', '-i']);
    assert.ok(report.ok, `stuck at ${JSON.stringify(report.failed)}; terminal showed:\n${report.output}`);
    assert.match(report.output, /term=(xterm|screen|tmux|vt100|linux)/);
    assert.equal(report.exit, 0);
  });
});
