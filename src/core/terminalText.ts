// Text the sandbox chose (a file name in a guard's stop line, a symlink's target, a diff) reaches
// the user's terminal. Control characters there would be obeyed: an escape sequence can retitle the
// window, write the clipboard (OSC 52), move the cursor over earlier lines, or hide text; a carriage
// return or a bidi override can make a line read as another. They are shown instead.

// C0 controls but tab and newline, DEL, C1 controls, and the bidi embeddings, overrides and isolates.
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with every control character but tab and newline shown as what it is (`^[`, `^M`, `<U+202E>`). */
export function shownControls(text: string): string {
  return text.replace(CONTROLS, (c) => {
    const code = c.charCodeAt(0);
    if (code < 0x20 || code === 0x7f) return `^${String.fromCharCode(code ^ 0x40)}`;
    return `<U+${code.toString(16).toUpperCase().padStart(4, '0')}>`;
  });
}

/** `text` on one line: control characters shown as by shownControls, and newlines and tabs too (`^J`, `^I`). */
export function shownOnOneLine(text: string): string {
  return shownControls(text).replace(/[\n\t]/g, (c) => (c === '\n' ? '^J' : '^I'));
}
