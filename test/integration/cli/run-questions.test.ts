// A question about an unknown host while `paddock run` is attached (src/cli/sessionNotices.ts), on
// the real engine and proxy: in a real terminal (script(1) gives the session a pseudo-terminal) it is
// drawn on the bottom row with the cursor saved and restored, the agent's shell keeps working, and
// after the session the questions still open are printed as plain lines; with piped output it is
// a plain line on stderr. The hosts exist nowhere (*.test): the proxy asks and never resolves them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cleanup, makeWorkspace, paddock, paddockOk, runInTerminal, textWithin } from '../../support/sandbox.js';

const policy = ['version: 1', 'network:', '  policy: deny', '  hostRegistries: false', ''].join('\n');
const ROWS = 30;

describe('paddock run says a network question in the terminal', () => {
  let ws: string;
  let sandbox: string;

  before(async () => {
    ws = makeWorkspace({ '.paddock/policy.yaml': policy, 'README.md': '# app\n' });
    sandbox = (await paddockOk(['create', 'shell', ws])).stdout.trim();
  });
  after(async () => { if (ws) await cleanup(ws); });

  it('in a terminal: on the bottom row, cursor kept, the shell unharmed; after the session, what is still open', async () => {
    const { session, screen, type, exited } = runInTerminal(ws, ROWS, 220);
    try {
      await textWithin(screen, /Using sandbox[\s\S]*[#$] $/, 'shell prompt', 180_000);
      type('curl -s -m 10 -o /dev/null http://unknown-tty.test/; curl -s -m 10 -o /dev/null http://unknown-open.test/; echo CURL-DONE');
      // Both questions on the row at last (the first may be drawn alone first).
      const overlay = new RegExp(`\\x1b7\\x1b\\[${ROWS};1H\\x1b\\[2K\\x1b\\[7m(paddock: the sandbox asks to reach (unknown-(tty|open)\\.test:80, ){1}unknown-(tty|open)\\.test:80 — answer with "paddock network allow ${sandbox} HOST"[^\\x1b]*)\\x1b\\[27m\\x1b8`);
      const drawn = await textWithin(screen, overlay, 'the question on the bottom row');
      // Never inside one of the agent's escape sequences.
      assert.doesNotMatch(screen().slice(0, drawn.index), /\x1b(\[[0-9;?]*)?$/);
      assert.ok([...drawn[1]].length <= 219, 'cut to the width');
      await textWithin(screen, /\rCURL-DONE\r*\n/, 'curl to finish');

      // The overlay reached the screen, never the agent's input: the shell runs the next command as typed.
      type('echo AFTER-$((40+2))');
      await textWithin(screen, /AFTER-42/, 'the shell to answer');
      assert.doesNotMatch(screen(), /command not found|paddock: the sandbox asks.*: not found/);

      // The user answers one question from another terminal; the other stays open.
      await paddockOk(['network', 'allow', sandbox, 'unknown-tty.test']);
      await new Promise((r) => setTimeout(r, 1500)); // the proxy drops the answered question from its book
      const before = screen().length;
      type('exit');
      assert.equal(await exited, 0);
      const tail = screen().slice(before);
      assert.match(tail, new RegExp(`\\npaddock: the sandbox asks to reach unknown-open\\.test:80 — answer with "paddock network allow ${sandbox} unknown-open\\.test" \\(--save keeps it; "paddock network deny" refuses it\\)\\r?\\n`));
      assert.doesNotMatch(tail, /unknown-tty\.test/, 'an answered question is not repeated');
    } finally {
      if (session.exitCode === null) session.kill('SIGKILL');
    }
  });

  it('with piped output: one plain line on stderr, no terminal sequences', async () => {
    const r = await paddock(['run', 'shell', ws, '--', '-c', 'curl -s -m 10 -o /dev/null http://unknown-pipe.test/; sleep 3']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.split('\n').filter((l) => l.includes('unknown-pipe.test'));
    assert.deepEqual(lines, [`paddock: the sandbox asks to reach unknown-pipe.test:80 — answer with "paddock network allow ${sandbox} unknown-pipe.test" (--save keeps it; "paddock network deny" refuses it)`]);
    assert.doesNotMatch(r.stderr, /\x1b/);
  });
});
