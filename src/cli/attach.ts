import { fstatSync, statSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { isatty } from 'node:tty';
import type { ExecTarget, SandboxClient } from '../engine/sandboxClient.js';

// Running a command in a sandbox on this process's terminal: `paddock exec` (./lifecycle.ts, and
// its fast path ./execFast.ts) and `paddock run` on a running sandbox. What happens after the
// command, once it failed, is ./execNotes.ts.

/**
 * Whether this process's input is /dev/null (`< /dev/null`, a service, a CI step): then the command
 * gets none either, as `docker exec` without -i gives it, and node's stdin stream is never made (for
 * a file it loads node's file streams, fs/promises and readline: 3-15 ms of a `paddock exec`).
 */
function inputIsDevNull(): boolean {
  try {
    const input = fstatSync(0);
    return input.isCharacterDevice() && input.rdev === statSync('/dev/null').rdev;
  } catch {
    return false;
  }
}

/** Attaches the terminal to argv in the sandbox: raw TTY with resize when interactive, plain pipes otherwise. */
export async function attach(engine: SandboxClient, sandbox: string | ExecTarget, argv: string[], extra: { user?: string; workdir?: string; env?: Record<string, string>; stdout?: Writable } = {}): Promise<number> {
  // isatty(0), not process.stdin.isTTY: reading that makes the stdin stream.
  const inputIsTerminal = isatty(0);
  const interactive = inputIsTerminal && !!process.stdout.isTTY;
  if (!interactive) {
    return engine.exec(sandbox, argv, { ...extra, stdin: inputIsTerminal || inputIsDevNull() ? undefined : process.stdin });
  }
  // No resume() here: a flowing stdin without a consumer drops keystrokes; the exec's pipe resumes it.
  process.stdin.setRawMode(true);
  let onResize: (() => void) | undefined;
  try {
    return await engine.exec(sandbox, argv, {
      ...extra,
      env: { TERM: process.env.TERM ?? 'xterm-256color', COLORTERM: process.env.COLORTERM ?? '', ...extra.env },
      tty: true, stdin: process.stdin, size: { rows: process.stdout.rows, cols: process.stdout.columns },
      onResizer: (resize) => {
        onResize = () => resize(process.stdout.rows, process.stdout.columns);
        process.stdout.on('resize', onResize);
      },
    });
  } finally {
    if (onResize) process.stdout.off('resize', onResize);
    process.stdin.setRawMode(false);
    process.stdin.pause();
  }
}
