/**
 * Sets a fresh exec's terminal size. Engines before API 1.42 ignore ConsoleSize at create, and a
 * resize sent before the process has started fails; like the docker CLI, retry briefly, or the
 * program starts on a 0x0 terminal.
 */
export async function applyInitialSize(exec: { resize(size: { h: number; w: number }): Promise<unknown> }, rows: number, cols: number): Promise<void> {
  if (!(rows > 0 && cols > 0)) return;
  for (let attempt = 1; attempt <= 10; attempt++) {
    try {
      await exec.resize({ h: rows, w: cols });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, attempt * 10));
    }
  }
}

/**
 * The argv that starts `argv` on a terminal of the given size. The size is set from inside, before
 * the program starts: on engines without ConsoleSize support a resize sent from outside races with
 * the program's start, and short programs read a 0x0 terminal (the docker CLI has the same race).
 */
export function sizedArgv(argv: readonly string[], rows: number, cols: number): string[] {
  if (!(rows > 0 && cols > 0)) return [...argv];
  return ['/bin/sh', '-c', `stty rows ${Math.floor(rows)} cols ${Math.floor(cols)} 2>/dev/null; exec "$@"`, 'paddock-tty', ...argv];
}
