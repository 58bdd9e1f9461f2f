/**
 * Finds many literals in one pass over the text (Aho-Corasick with a full transition table, ASCII
 * letters case-folded). The masker uses it to find the few lines worth running rules on: a regex
 * alternation of a few hundred keywords is 5-10 times slower in V8 than this loop.
 */
export class KeywordScanner {
  /** Transition table, indexed by row + class, where a state's row is state * classes; holds rows, ~row for a state with output. */
  private readonly delta: Int32Array;
  /** Class of every UTF-16 code unit (0: in no keyword). */
  private readonly classOf: Uint8Array | Uint16Array;
  /** Per row: 0, or 1 + the index of the values that end there (through suffix links too). */
  private readonly output: Int32Array;
  private readonly outputs: number[][] = [];

  /** `entries`: a literal (matched case-insensitively for ASCII) and the value a hit on it reports. */
  constructor(entries: readonly (readonly [keyword: string, value: number])[]) {
    const fold = (ch: string) => ch.toLowerCase();
    // Character classes: every distinct (folded) character of a keyword gets one; the rest share class 0.
    let classes = 1;
    const classOf = new Map<string, number>();
    for (const [keyword] of entries) {
      for (const ch of fold(keyword)) if (!classOf.has(ch)) classOf.set(ch, classes++);
    }
    this.classOf = classes < 256 ? new Uint8Array(65536) : new Uint16Array(65536);
    for (const [ch, cls] of classOf) {
      for (const variant of new Set([ch, ch.toUpperCase()])) {
        if (variant.length === 1) this.classOf[variant.charCodeAt(0)] = cls;
      }
    }
    // The trie.
    const children: Map<number, number>[] = [new Map()];
    const values: Set<number>[] = [new Set()];
    for (const [keyword, value] of entries) {
      if (!keyword) continue;
      let state = 0;
      for (const ch of fold(keyword)) {
        const cls = classOf.get(ch)!;
        let next = children[state].get(cls);
        if (next === undefined) {
          next = children.length;
          children.push(new Map());
          values.push(new Set());
          children[state].set(cls, next);
        }
        state = next;
      }
      values[state].add(value);
    }
    // Breadth first: failure links give the full transition table and the inherited outputs.
    const delta = new Int32Array(children.length * classes);
    const fail = new Int32Array(children.length);
    const queue: number[] = [];
    for (const [cls, next] of children[0]) {
      delta[cls] = next * classes;
      queue.push(next);
    }
    for (let head = 0; head < queue.length; head++) {
      const state = queue[head];
      for (const v of values[fail[state]]) values[state].add(v);
      for (let cls = 0; cls < classes; cls++) {
        const next = children[state].get(cls);
        if (next === undefined) {
          delta[state * classes + cls] = delta[fail[state] * classes + cls];
        } else {
          fail[next] = delta[fail[state] * classes + cls] / classes;
          delta[state * classes + cls] = next * classes;
          queue.push(next);
        }
      }
    }
    this.delta = delta;
    this.output = new Int32Array(children.length * classes);
    const known = new Map<string, number>();
    values.forEach((set, state) => {
      if (!set.size) return;
      const list = [...set].sort((a, b) => a - b);
      const key = list.join(',');
      let index = known.get(key);
      if (index === undefined) {
        index = this.outputs.length;
        this.outputs.push(list);
        known.set(key, index);
      }
      this.output[state * classes] = index + 1;
    });
    // A transition into a state with output is stored as ~row (negative): the scan loop tests the sign, not a second table.
    for (let i = 0; i < delta.length; i++) if (this.output[delta[i]] !== 0) delta[i] = ~delta[i];
  }

  /** Row of the automaton after the last character firstHit() looked at. */
  private row = 0;

  /** Index of the last character of the first hit in text[from, to), or -1. */
  firstHit(text: string, from: number, to: number): number {
    const { delta, classOf } = this;
    let row = 0;
    for (let i = from; i < to; i++) {
      row = delta[row + classOf[text.charCodeAt(i)]];
      if (row < 0) {
        this.row = ~row;
        return i;
      }
    }
    return -1;
  }

  /**
   * The values (ascending, each once) of the hit firstHit() just returned (at `hit`) and of every
   * later hit up to `to`. No keyword holds a line break, so a line's hits are all found from its first.
   */
  hitsAfter(text: string, hit: number, to: number): number[] {
    const { delta, classOf, output, outputs } = this;
    let row = this.row;
    let found = outputs[output[row] - 1];
    let merged = false;
    for (let i = hit + 1; i < to; i++) {
      row = delta[row + classOf[text.charCodeAt(i)]];
      if (row < 0) {
        row = ~row;
        const more = outputs[output[row] - 1];
        if (more === found) continue;
        if (!merged) {
          found = [...found];
          merged = true;
        }
        for (const v of more) if (!found.includes(v)) found.push(v);
      }
    }
    return merged ? found.sort((a, b) => a - b) : found;
  }

  /** The values (ascending, each once) of every hit in text[from, to). */
  hitsIn(text: string, from: number, to: number): number[] {
    const hit = this.firstHit(text, from, to);
    return hit < 0 ? [] : this.hitsAfter(text, hit, to);
  }
}
