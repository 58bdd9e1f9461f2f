import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readRelayTarget } from '../../../src/proxy/relay.js';

describe('bridge relay target (written by the host, read by the proxy at each connection)', () => {
  const withFile = (content: string | undefined, check: (file: string) => void) => {
    const dir = mkdtempSync(join(tmpdir(), 'pbt-relay-'));
    try {
      const file = join(dir, 'bridge');
      if (content !== undefined) writeFileSync(file, content);
      check(file);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('reads host:port, by name or address', () => {
    withFile('host.docker.internal:41234\n', (f) => assert.deepEqual(readRelayTarget(f), { host: 'host.docker.internal', port: 41234 }));
    withFile('172.17.0.1:80', (f) => assert.deepEqual(readRelayTarget(f), { host: '172.17.0.1', port: 80 }));
    withFile('[::1]:9000', (f) => assert.deepEqual(readRelayTarget(f), { host: '::1', port: 9000 }));
  });

  it('no bridge running (missing or empty file) and anything malformed mean no target', () => {
    withFile(undefined, (f) => assert.equal(readRelayTarget(f), undefined));
    withFile('', (f) => assert.equal(readRelayTarget(f), undefined));
    for (const bad of ['host.docker.internal', 'host:0', 'host:70000', 'a b:1', 'host:12\nevil:13', 'user@host:1', 'http://host:1']) {
      withFile(bad, (f) => assert.equal(readRelayTarget(f), undefined, bad));
    }
  });
});
