// Follows audit logs as they grow, for the editor's "Bridge Activity" (the CLI's `bridge log -f`
// re-reads its one file instead). File watches, no polling: the bridge root is watched for
// sandbox folders that appear or go (a sandbox created or recreated), each followed log's folder
// for appends. Only the new bytes of a log are read.
import { closeSync, existsSync, mkdirSync, openSync, readSync, statSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { AuditLineSplitter, type AuditSource } from './activity.js';
import type { AuditEntry } from './audit.js';

interface Followed {
  source: AuditSource;
  offset: number;
  ino?: number;
  decoder: StringDecoder;
  splitter: AuditLineSplitter;
  watcher?: FSWatcher;
}

export class AuditFollower {
  private readonly followed = new Map<string, Followed>();
  private rootWatcher?: FSWatcher;
  private closed = false;

  /**
   * `onEntry` gets every entry appended after a log is followed, and, when a log is first
   * followed, its last `backlog` entries (so the view opens with recent history).
   */
  constructor(root: string, private readonly onEntry: (entry: AuditEntry, source: AuditSource) => void, private readonly backlog = 20) {
    mkdirSync(root, { recursive: true, mode: 0o700 });
    this.rootWatcher = this.watchDir(root, () => this.rearm());
  }

  get sources(): AuditSource[] {
    return [...this.followed.values()].map((f) => f.source);
  }

  /** Follows exactly these logs (new ones start with their backlog; dropped ones stop). */
  setSources(sources: readonly AuditSource[]): void {
    if (this.closed) return;
    const wanted = new Map(sources.map((s) => [s.file, s]));
    for (const [file, f] of this.followed) {
      if (wanted.has(file)) continue;
      f.watcher?.close();
      this.followed.delete(file);
    }
    for (const source of wanted.values()) {
      if (this.followed.has(source.file)) continue;
      const f: Followed = { source, offset: 0, decoder: new StringDecoder('utf8'), splitter: new AuditLineSplitter() };
      this.followed.set(source.file, f);
      const entries = this.readNew(f);
      for (const e of entries.slice(-this.backlog)) this.onEntry(e, source);
      this.arm(f);
    }
  }

  /** Reads what was appended to every followed log (the watches call this; tests may too). */
  poll(): void {
    for (const f of this.followed.values()) this.emitNew(f);
  }

  private watchDir(dir: string, onChange: () => void): FSWatcher | undefined {
    try {
      const w = watch(dir, { persistent: false }, onChange);
      w.on('error', () => w.close());
      return w;
    } catch {
      return undefined; // the folder is gone: the root watch re-arms when it is back
    }
  }

  private arm(f: Followed): void {
    f.watcher?.close();
    f.watcher = existsSync(dirname(f.source.file)) ? this.watchDir(dirname(f.source.file), () => this.emitNew(f)) : undefined;
  }

  /** A sandbox folder appeared or went: watch the folders again (a recreated folder is a new inode). */
  private rearm(): void {
    if (this.closed) return;
    for (const f of this.followed.values()) {
      this.arm(f);
      this.emitNew(f);
    }
  }

  private emitNew(f: Followed): void {
    if (this.closed) return;
    for (const e of this.readNew(f)) this.onEntry(e, f.source);
  }

  private readNew(f: Followed): AuditEntry[] {
    let size: number;
    let ino: number;
    try {
      ({ size, ino } = statSync(f.source.file));
    } catch {
      f.offset = 0; // removed (sandbox removed or recreated): a new log starts from its beginning
      f.ino = undefined;
      f.splitter.reset();
      return [];
    }
    if (f.ino !== ino || size < f.offset) {
      if (f.ino !== undefined) {
        f.offset = 0;
        f.splitter.reset();
        f.decoder = new StringDecoder('utf8');
      }
      f.ino = ino;
    }
    if (size <= f.offset) return [];
    const fd = openSync(f.source.file, 'r');
    try {
      const buffer = Buffer.alloc(size - f.offset);
      const n = readSync(fd, buffer, 0, buffer.length, f.offset);
      f.offset += n;
      return f.splitter.push(f.decoder.write(buffer.subarray(0, n)));
    } finally {
      closeSync(fd);
    }
  }

  close(): void {
    this.closed = true;
    this.rootWatcher?.close();
    for (const f of this.followed.values()) f.watcher?.close();
    this.followed.clear();
  }
}
