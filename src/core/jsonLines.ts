// Reading and writing JSON-lines logs (the bridge audit, the egress log) so that a crash or a full
// disk mid-write never hides the entries after it: writers start a new line after a torn one and
// cut back what they could not finish; readers recover an entry glued behind a torn fragment.
import { closeSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';

/** Every entry starts with this (both logs put `time` first), which is where a reader resyncs. */
const ENTRY_START = '{"time":';

/**
 * The JSON values on one line: the whole line, or, when it does not parse (a torn entry with a
 * whole one after it, written by a writer that did not start a new line), the last entry on it
 * that does.
 */
export function parseLogLine(line: string): unknown | undefined {
  const text = line.trim();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    for (let at = text.lastIndexOf(ENTRY_START); at > 0; at = text.lastIndexOf(ENTRY_START, at - 1)) {
      try {
        return JSON.parse(text.slice(at));
      } catch {
        // not an entry's start (the marker inside a value): look further left
      }
    }
    return undefined;
  }
}

/** The entries of a log's text that `accept` takes; torn lines are skipped or recovered. */
export function parseLogText<T>(text: string, accept: (value: any) => boolean): T[] {
  const entries: T[] = [];
  for (const line of text.split('\n')) {
    const value = parseLogLine(line);
    if (value && typeof value === 'object' && accept(value)) entries.push(value as T);
  }
  return entries;
}

/**
 * Appends one line to an open log (opened "a+", so it can be read) whole or not at all: a line is
 * put after a torn last one on a new line, and a write the disk could not finish (ENOSPC, EDQUOT)
 * is cut back before the error is thrown, so the file never ends in a torn line of ours.
 * Returns the bytes written.
 */
export function appendWholeLine(fd: number, line: string): number {
  const { size } = fstatSync(fd);
  let text = line.endsWith('\n') ? line : `${line}\n`;
  if (size > 0) {
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    if (last[0] !== 0x0a) text = `\n${text}`;
  }
  const bytes = Buffer.from(text);
  let written = 0;
  try {
    while (written < bytes.length) written += writeSync(fd, bytes, written);
  } catch (err) {
    try {
      ftruncateSync(fd, size);
    } catch {
      // the torn tail stays; the next writer starts a new line after it and readers skip it
    }
    throw err;
  }
  return written;
}

/** Opens `file`, appends one whole line (see appendWholeLine) and closes it. */
export function appendLineToFile(file: string, line: string, mode = 0o600): void {
  const fd = openSync(file, 'a+', mode);
  try {
    appendWholeLine(fd, line);
  } finally {
    closeSync(fd);
  }
}
