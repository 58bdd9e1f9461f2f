import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { cacheFileOf } from '../../../src/cli/codeCache.js';

// `paddock run` is compiled with the V8 code cache of its last run, kept beside its bundle
// (src/cli/codeCache.ts). Each load is a new node process, as each `paddock run` is: a cache
// only counts when another process takes it.

const LOADER = resolve(__dirname, '../../../src/cli/codeCache.ts');
const dir = mkdtempSync(join(tmpdir(), 'paddock-code-cache-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Loads `file` in a new process, calls its greet(), then keeps the cache; says what happened. */
function loadInNewProcess(file: string, between = ''): { accepted: boolean; greeting: string; kept: boolean } {
  const script = `const { loadWithCodeCache } = require(${JSON.stringify(LOADER)});
    const bundle = loadWithCodeCache(${JSON.stringify(file)});
    const greeting = bundle.exports.greet('paddock');
    ${between}
    process.stdout.write(JSON.stringify({ accepted: bundle.accepted, greeting, kept: bundle.keep() }));`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout);
}

function writeBundle(file: string, greeting: string): void {
  // Enough functions that V8 has something to cache; greet() runs, so it is compiled when the cache is made.
  const filler = Array.from({ length: 200 }, (_, i) => `exports.f${i} = (x) => x * ${i} + ${JSON.stringify(greeting)}.length;`).join('\n');
  writeFileSync(file, `${filler}\nexports.greet = (name) => ${JSON.stringify(greeting)} + ', ' + name;\n`);
}

describe('paddock run\'s V8 code cache', () => {
  it('the first run writes it beside the bundle, the next one takes it and runs the same code', () => {
    const file = join(dir, 'first.cjs');
    writeBundle(file, 'hello');
    const first = loadInNewProcess(file);
    assert.deepEqual(first, { accepted: false, greeting: 'hello, paddock', kept: true });
    assert.ok(existsSync(cacheFileOf(file)), 'the cache is beside the bundle');
    assert.deepEqual(loadInNewProcess(file), { accepted: true, greeting: 'hello, paddock', kept: true });
  });

  it('a rebuilt bundle of the same length never runs on the old build\'s cache (V8 itself checks only the length)', () => {
    const file = join(dir, 'rebuilt.cjs');
    writeBundle(file, 'hello');
    loadInNewProcess(file);
    const oldCache = cacheFileOf(file);
    // A build swaps a new file in (a new inode), here with a body of the very same length.
    writeBundle(`${file}.new`, 'howdy');
    renameSync(`${file}.new`, file);
    assert.notEqual(cacheFileOf(file), oldCache);
    assert.deepEqual(loadInNewProcess(file), { accepted: false, greeting: 'howdy, paddock', kept: true });
    assert.deepEqual(loadInNewProcess(file), { accepted: true, greeting: 'howdy, paddock', kept: true });
  });

  it('a process that started before a rebuild writes no cache for the new bundle', () => {
    const file = join(dir, 'during.cjs');
    writeBundle(file, 'hello');
    const swap = `require('node:fs').writeFileSync(${JSON.stringify(`${file}.new`)}, require('node:fs').readFileSync(${JSON.stringify(file)}, 'utf8').replaceAll('hello', 'howdy'));
      require('node:fs').renameSync(${JSON.stringify(`${file}.new`)}, ${JSON.stringify(file)});`;
    assert.deepEqual(loadInNewProcess(file, swap), { accepted: false, greeting: 'hello, paddock', kept: false });
    assert.deepEqual(readdirSync(dir).filter((name) => name.startsWith('during.cjs.')), [], 'no cache, and no part of one, is left');
    assert.deepEqual(loadInNewProcess(file), { accepted: false, greeting: 'howdy, paddock', kept: true });
  });
});
