import { shownControls } from '../core/terminalText.js';

/** A line on stderr. Its words may quote the sandbox's (a file name, a log line): control characters are shown, not obeyed. */
export const log = (line: string): void => { process.stderr.write(`${shownControls(line)}\n`); };

/** Plain-text table with columns padded to their widest cell. */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

export function humanBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}

/** "3 minutes ago" style age of an ISO date, relative to now. */
export function since(iso: string, suffix = ' ago', now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  const steps: [number, string][] = [[86400, 'day'], [3600, 'hour'], [60, 'minute'], [1, 'second']];
  for (const [size, name] of steps) {
    if (seconds >= size) {
      const n = Math.floor(seconds / size);
      return `${n} ${name}${n === 1 ? '' : 's'}${suffix}`;
    }
  }
  return `just now`;
}
