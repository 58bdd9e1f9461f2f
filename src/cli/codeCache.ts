import { readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire, wrap } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

// `paddock run` loads about 3 MB of JavaScript (the engine, policy, the bridge host and its MCP SDK),
// and compiling it was the largest part of a warm run's own CPU. Node 22.1+ keeps compiled modules
// on disk (module.enableCompileCache); Node 20 has no such cache for modules, but V8 takes a code
// cache for a script. So bin/paddock loads `run` from one CommonJS bundle (dist/cli/run.cjs) through
// this file, with the V8 code cache of its last run kept beside it.
//
// The cache is code: it lives beside the bundle, so only whoever can rewrite the bundle can rewrite
// it (never the state folder or anything a sandbox mounts). V8 checks a cache against its own
// version and flags but of the source only its length, so the cache's name carries the bundle's
// inode, mtime and size: a rebuilt bundle never takes the cache of another, and a process that
// started before a rebuild writes none for the new one. It is written whole (renamed into place),
// after the command, and only when there was none that V8 accepted.

export interface CachedBundle<T> {
  readonly exports: T;
  /** V8 took the kept cache (false: there was none, or it was refused). */
  readonly accepted: boolean;
  /** Writes the cache of what has been compiled so far, when the kept one was not accepted; false when it could not. */
  keep(): boolean;
}

/** The cache file of a bundle as it is now (its name changes with every build of the bundle). */
export function cacheFileOf(file: string): string {
  const st = statSync(file);
  return `${file}.${st.ino}-${Math.floor(st.mtimeMs)}-${st.size}-v8-${process.versions.v8}.cache`;
}

/** Loads a CommonJS bundle as require would, compiling it with its kept V8 code cache when there is one. */
export function loadWithCodeCache<T = Record<string, unknown>>(file: string): CachedBundle<T> {
  const cacheFile = cacheFileOf(file);
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cacheFile);
  } catch { /* none yet */ }
  const script = new Script(wrap(readFileSync(file, 'utf8')), { filename: file, cachedData });
  const accepted = !!cachedData && !script.cachedDataRejected;
  const module = { exports: {} as T };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
  return {
    exports: module.exports,
    accepted,
    keep() {
      if (accepted) return true;
      const part = `${cacheFile}.${process.pid}`;
      try {
        if (cacheFileOf(file) !== cacheFile) return false; // rebuilt meanwhile: this cache is of the old one
        writeFileSync(part, script.createCachedData(), { mode: 0o644 });
        renameSync(part, cacheFile);
        return true;
      } catch {
        try { unlinkSync(part); } catch { /* never written */ }
        return false; // a read-only installation: every run compiles, as before
      }
    },
  };
}
