// Notices during an attached `paddock run` (src/cli/sessionNotices.ts): drawn on the bottom row
// when the agent's output is quiet, cursor kept, never wrapped; plain lines when not interactive.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newQuestionLines, openQuestionLines, SessionNotices } from '../../../src/cli/sessionNotices.js';
import type { QuestionsFile } from '../../../src/core/networkQuestions.js';

/** A terminal stream that records what is written and when. */
function fakeTerminal(rows = 20, columns = 60) {
  const writes: string[] = [];
  const stream = { rows, columns, write: (chunk: unknown, cb?: () => void) => { writes.push(String(chunk)); cb?.(); return true; } } as unknown as NodeJS.WriteStream;
  return { stream, writes, text: () => writes.join('') };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const write = (notices: SessionNotices, text: string) => new Promise<void>((r) => notices.stdout.write(text, () => r()));

describe('SessionNotices', () => {
  it('interactive: waits for the agent\'s output to be quiet, then draws one row at the bottom with the cursor saved and restored, cut to the width', async () => {
    const err = fakeTerminal(20, 40);
    const out = fakeTerminal(20, 40);
    const notices = new SessionNotices(true, err.stream, out.stream, { quietMs: 150, maxWaitMs: 10_000, tickMs: 20 });
    try {
      notices.say('paddock: the sandbox asks to reach docs.example.test:443 — answer with "paddock network allow sb docs.example.test"');
      // The agent keeps drawing: nothing is written between its writes.
      for (let i = 0; i < 5; i++) {
        await write(notices, `frame ${i}\x1b[1A`);
        await sleep(40);
        assert.equal(err.writes.length, 0, 'not while the agent writes');
      }
      await sleep(300);
      assert.equal(err.writes.length, 1);
      const drawn = err.writes[0];
      assert.ok(drawn.startsWith('\x1b7\x1b[20;1H\x1b[2K\x1b[7m'), JSON.stringify(drawn));
      assert.ok(drawn.endsWith('\x1b[27m\x1b8'));
      const visible = drawn.slice('\x1b7\x1b[20;1H\x1b[2K\x1b[7m'.length, -'\x1b[27m\x1b8'.length);
      assert.equal([...visible].length, 39, 'one column spare: the row never wraps');
      assert.ok(visible.endsWith('…'));
      assert.equal(out.text(), 'frame 0\x1b[1Aframe 1\x1b[1Aframe 2\x1b[1Aframe 3\x1b[1Aframe 4\x1b[1A', 'the agent\'s output passes unchanged');
    } finally {
      notices.close();
    }
    assert.match(err.writes.at(-1)!, /^paddock: the sandbox asks to reach docs\.example\.test:443 .*docs\.example\.test"\n$/, 'after the session, the whole line');
  });

  it('interactive: an agent that never pauses gets the row right after one of its writes, after the longest wait', async () => {
    const err = fakeTerminal();
    const out = fakeTerminal();
    const notices = new SessionNotices(true, err.stream, out.stream, { quietMs: 1000, maxWaitMs: 100, tickMs: 20 });
    notices.say('paddock: x');
    for (let i = 0; i < 8 && !err.writes.length; i++) {
      await write(notices, 'spinner');
      await sleep(30);
    }
    notices.close();
    assert.match(err.writes[0], /\x1b7.*paddock: x.*\x1b8/);
  });

  it('not interactive: a plain line on stderr at once, nothing again at the end', () => {
    const err = fakeTerminal();
    const notices = new SessionNotices(false, err.stream, fakeTerminal().stream);
    notices.say('paddock: hello');
    assert.deepEqual(err.writes, ['paddock: hello\n']);
    notices.close();
    assert.equal(err.writes.length, 1);
  });

  it('a question is not printed again by close (the caller prints those still open)', () => {
    const err = fakeTerminal();
    const notices = new SessionNotices(true, err.stream, fakeTerminal().stream);
    notices.say('paddock: q', false);
    notices.say('paddock: bridge', true);
    notices.close();
    assert.deepEqual(err.writes, ['paddock: bridge\n']);
  });
});

describe('question lines', () => {
  const file = (over: Partial<QuestionsFile> = {}): QuestionsFile => ({
    version: 1, sandbox: 'sb', startedAt: '2026-01-01T00:00:00Z', mode: 'refuse', holdSeconds: 30, quiet: false, writtenAt: '',
    questions: [{ host: 'docs.example.test', port: 443, method: 'CONNECT', askedAt: '', lastAt: '', requests: 1 }], ...over,
  });

  it('says each host once per run of the proxy, with the command that answers it', () => {
    const said = new Set<string>();
    const lines = newQuestionLines(file(), said);
    assert.deepEqual(lines, ['paddock: the sandbox asks to reach docs.example.test:443 — answer with "paddock network allow sb docs.example.test" (--save keeps it; "paddock network deny" refuses it)']);
    assert.deepEqual(newQuestionLines(file(), said), []);
    assert.equal(newQuestionLines(file({ startedAt: '2026-01-02T00:00:00Z' }), said).length, 1, 'a new run asks anew');
  });

  it('for the status row, a new question\'s line names every open one (the newest first); piped, only the new ones', () => {
    const two = file({ questions: [...file().questions, { host: 'registry.example.test', port: 80, method: 'GET', askedAt: '', lastAt: '', requests: 1 }] });
    const said = new Set<string>();
    newQuestionLines(file(), said, true);
    assert.deepEqual(newQuestionLines(two, said, true), ['paddock: the sandbox asks to reach registry.example.test:80, docs.example.test:443 — answer with "paddock network allow sb HOST" (--save keeps it; "paddock network deny" refuses it)']);
    const piped = new Set<string>();
    newQuestionLines(file(), piped);
    assert.match(newQuestionLines(two, piped)[0], /reach registry\.example\.test:80 — answer with "paddock network allow sb registry\.example\.test"/);
    assert.equal(openQuestionLines(two).length, 2, 'after the session: one line each');
  });

  it('a flood is said once; "deny all others" silences everything', () => {
    const said = new Set<string>();
    const flood = { hosts: 40, examples: ['a.test', 'b.test'], since: 't' };
    assert.match(newQuestionLines(file({ questions: [], flood }), said)[0], /tried 40 more unknown hosts \(a\.test, b\.test\).*paddock network pending sb/);
    assert.deepEqual(newQuestionLines(file({ questions: [], flood }), said), []);
    assert.deepEqual(newQuestionLines(file({ quiet: true }), new Set()), []);
    assert.deepEqual(openQuestionLines(file({ quiet: true })), []);
    assert.equal(openQuestionLines(file()).length, 1);
  });
});
