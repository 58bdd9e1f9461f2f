// The machine's package sources are read once and reused while nothing they came from changed
// (asking npm costs a create 0.3-0.6 s); a changed override is read again at once.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { hostPackageSources } from '../../../src/engine/packageSources.js';

describe('host package sources, cached', () => {
  const dir = mkdtempSync(join(tmpdir(), 'paddock-sources-'));
  const cache = join(dir, 'package-sources.json');
  after(() => rmSync(dir, { recursive: true, force: true }));
  const env = (npm: string) => ({ PADDOCK_NPM_REGISTRY: npm, PADDOCK_APT_MIRROR: 'http://apt.corp.test/debian', PADDOCK_PIP_INDEX: 'https://pypi.corp.test/simple' });

  it('reuses a reading while the overrides and files are the same, and reads again when one changes', async () => {
    assert.equal((await hostPackageSources(env('https://a.corp.test/'), cache)).npmRegistry, 'https://a.corp.test/');
    const stored = JSON.parse(readFileSync(cache, 'utf8'));
    assert.equal(stored.sources.npmRegistry, 'https://a.corp.test/');
    assert.equal((await hostPackageSources(env('https://a.corp.test/'), cache)).npmRegistry, 'https://a.corp.test/');
    assert.equal((await hostPackageSources(env('https://b.corp.test/'), cache)).npmRegistry, 'https://b.corp.test/', 'a changed override is read again');
    assert.deepEqual((await hostPackageSources(env('https://b.corp.test/'), cache)).pipIndexes, ['https://pypi.corp.test/simple']);
  });
});
