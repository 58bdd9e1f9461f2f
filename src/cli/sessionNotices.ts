import { Writable } from 'node:stream';
import type { Question, QuestionsFile } from '../core/networkQuestions.js';

/**
 * What Paddock has to tell the user while `paddock run` is attached to an agent: a question about
 * an unknown host, the bridge following a new policy. The terminal belongs to the agent then (raw
 * mode, often a full-screen TUI that moves the cursor relative to where it left it), so a plain
 * line would shift its screen under it and garble the next redraw. Instead:
 * - interactive (stdout and stderr are the terminal): the notice is drawn on the bottom row, as a
 *   status line, with the cursor saved before and restored after (the agent's cursor and its
 *   relative moves stay right), cut to the width (never wraps, never scrolls). It is drawn when the
 *   agent's output has been quiet for a moment, so never inside an escape sequence or a frame being
 *   drawn; an agent that never pauses gets it right after one of its writes ends, after a few
 *   seconds. The agent's next redraw of that row replaces it;
 * - when the session ends and the terminal is back to normal, the notices are printed again as
 *   plain lines (the overlay may have been drawn over, or cut): the questions still open then;
 * - not interactive (output piped): a plain line on stderr at once.
 */
export class SessionNotices {
  /** The agent's output goes through here, so the notices know when it is quiet. */
  readonly stdout: Writable;
  private lastOutput = Date.now();
  private waiting: string | undefined;
  private waitingSince = 0;
  private readonly shown: string[] = [];
  private readonly timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    readonly interactive: boolean,
    private readonly terminal: NodeJS.WriteStream = process.stderr,
    private readonly output: NodeJS.WriteStream = process.stdout,
    private readonly timing = { quietMs: 400, maxWaitMs: 5000, tickMs: 100 },
  ) {
    this.stdout = new Writable({
      write: (chunk, _encoding, done) => {
        this.lastOutput = Date.now();
        output.write(chunk, () => {
          done();
          // An agent that never pauses: draw right after one of its writes, not in the middle of one.
          if (this.waiting !== undefined && Date.now() - this.waitingSince >= this.timing.maxWaitMs) this.draw();
        });
      },
    });
    if (interactive) {
      this.timer = setInterval(() => {
        if (this.waiting !== undefined && Date.now() - this.lastOutput >= this.timing.quietMs) this.draw();
      }, this.timing.tickMs);
      this.timer.unref();
    }
  }

  /** A notice: one line, starting with "paddock: ". `again`: printed again after the session (a question says it itself, if still open). */
  say(line: string, again = true): void {
    if (again) this.shown.push(line);
    if (!this.interactive) {
      this.terminal.write(`${line}\n`);
      return;
    }
    if (this.waiting === undefined) this.waitingSince = Date.now();
    this.waiting = line; // the newest one: the others are printed at the end
  }

  private draw(): void {
    const line = this.waiting;
    if (line === undefined) return;
    this.waiting = undefined;
    const rows = this.output.rows || 24;
    const cols = this.output.columns || 80;
    // DECSC, to the bottom row, clear it, inverse text cut to the width (one column spare: no pending wrap), DECRC.
    this.terminal.write(`\x1b7\x1b[${rows};1H\x1b[2K\x1b[7m${cut(line, cols - 1)}\x1b[27m\x1b8`);
  }

  /** After the session, with the terminal restored: each notice as a plain line. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.interactive) for (const line of this.shown) this.terminal.write(`${line}\n`);
    this.shown.length = 0;
    this.waiting = undefined;
  }
}

function cut(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text : `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
}

/** One line for one or more questions: the command names the host when there is one. */
function questionLine(sandbox: string, questions: readonly Question[]): string {
  const host = questions.length === 1 ? questions[0].host : 'HOST';
  return `paddock: the sandbox asks to reach ${questions.map((q) => `${q.host}:${q.port}`).join(', ')} — answer with "paddock network allow ${sandbox} ${host}" (--save keeps it; "paddock network deny" refuses it)`;
}

/** The lines for the questions a sandbox's proxy still waits on, one each. */
export function openQuestionLines(file: QuestionsFile | undefined): string[] {
  return !file || file.quiet ? [] : file.questions.map((q) => questionLine(file.sandbox, [q]));
}

/**
 * The line for what a sandbox's proxy asks that was not said yet (`said` keeps what was, per proxy
 * run), and one for a flood. `allOpen`: the questions line names every open question, not only the
 * new ones (a status row shows one line at a time: the newest must not hide the others).
 */
export function newQuestionLines(file: QuestionsFile | undefined, said: Set<string>, allOpen = false): string[] {
  if (!file || file.quiet) return [];
  const lines: string[] = [];
  const fresh = file.questions.filter((q) => !said.has(`${file.startedAt} ${q.host}`));
  for (const q of fresh) said.add(`${file.startedAt} ${q.host}`);
  if (fresh.length) lines.push(questionLine(file.sandbox, allOpen ? [...fresh, ...file.questions.filter((q) => !fresh.includes(q))] : fresh));
  if (file.flood) {
    const key = `${file.startedAt} flood ${file.flood.since}`;
    if (!said.has(key)) {
      said.add(key);
      lines.push(`paddock: the sandbox tried ${file.flood.hosts} more unknown host${file.flood.hosts === 1 ? '' : 's'} (${file.flood.examples.join(', ')}), refused without a question — "paddock network pending ${file.sandbox}" lists them; --deny-others stops the questions`);
    }
  }
  return lines;
}

/**
 * Follows the questions file of a sandbox's proxy (polled: it is written by the proxy in a container,
 * where file events may not reach this machine) and says each new question once.
 */
export function followQuestions(read: () => QuestionsFile | undefined, say: (line: string, again: boolean) => void, allOpen: boolean, everyMs = 1000): { close(): string[] } {
  const said = new Set<string>();
  // Questions already waiting when the session starts are said too: the user has not answered them.
  const look = () => {
    for (const line of newQuestionLines(read(), said, allOpen)) say(line, false);
  };
  look();
  const timer = setInterval(look, everyMs);
  timer.unref();
  return {
    /** Stops, and returns the lines of the questions still open. */
    close: () => {
      clearInterval(timer);
      return openQuestionLines(read());
    },
  };
}
