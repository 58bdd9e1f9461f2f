import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { describeError, engineSource, PaddockError } from '../../../src/core/errors.js';
import { resolveEndpoint } from '../../../src/engine/connection.js';
import { SandboxClient } from '../../../src/engine/sandboxClient.js';

function dockerConfig(current: string | undefined, contexts: Record<string, { host: string; tls?: boolean }>): string {
  const dir = mkdtempSync(join(tmpdir(), 'paddock-dockercfg-'));
  if (current) writeFileSync(join(dir, 'config.json'), JSON.stringify({ currentContext: current }));
  for (const [name, c] of Object.entries(contexts)) {
    const id = createHash('sha256').update(name).digest('hex');
    mkdirSync(join(dir, 'contexts', 'meta', id), { recursive: true });
    writeFileSync(join(dir, 'contexts', 'meta', id, 'meta.json'), JSON.stringify({ Name: name, Endpoints: { docker: { Host: c.host, SkipTLSVerify: false } } }));
    if (c.tls) {
      mkdirSync(join(dir, 'contexts', 'tls', id, 'docker'), { recursive: true });
      writeFileSync(join(dir, 'contexts', 'tls', id, 'docker', 'ca.pem'), 'CA');
    }
  }
  return dir;
}

describe('engine endpoint resolution (as the docker CLI does it)', () => {
  it('uses the platform socket when nothing is configured', () => {
    assert.deepEqual(resolveEndpoint({ env: {}, dockerConfigDir: dockerConfig(undefined, {}) }), { host: 'unix:///var/run/docker.sock', source: 'default' });
  });
  it('prefers DOCKER_HOST over the current context', () => {
    const dir = dockerConfig('remote', { remote: { host: 'ssh://me@big-box' } });
    assert.equal(resolveEndpoint({ env: { DOCKER_HOST: 'tcp://127.0.0.1:2375' }, dockerConfigDir: dir }).host, 'tcp://127.0.0.1:2375');
  });
  it('follows the current context of config.json, with its TLS material', () => {
    const dir = dockerConfig('remote', { remote: { host: 'tcp://10.0.0.5:2376', tls: true } });
    const ep = resolveEndpoint({ env: {}, dockerConfigDir: dir });
    assert.equal(ep.host, 'tcp://10.0.0.5:2376');
    assert.equal(ep.source, 'context remote');
    assert.equal(ep.tls?.ca, 'CA');
    assert.equal(ep.tls?.verify, true);
  });
  it('lets DOCKER_CONTEXT and an explicit context win', () => {
    const dir = dockerConfig('a', { a: { host: 'unix:///a.sock' }, b: { host: 'unix:///b.sock' } });
    assert.equal(resolveEndpoint({ env: { DOCKER_CONTEXT: 'b' }, dockerConfigDir: dir }).host, 'unix:///b.sock');
    assert.equal(resolveEndpoint({ env: { DOCKER_HOST: 'unix:///x.sock' }, context: 'a', dockerConfigDir: dir }).host, 'unix:///a.sock');
    assert.equal(resolveEndpoint({ env: {}, host: 'unix:///explicit.sock', dockerConfigDir: dir }).host, 'unix:///explicit.sock');
  });
  it('says how to list contexts when the named one does not exist', () => {
    assert.throws(() => resolveEndpoint({ env: { DOCKER_CONTEXT: 'nope' }, dockerConfigDir: dockerConfig(undefined, {}) }), /context "nope" does not exist/);
  });
  it('a context that does not exist: its name, that it does not exist, and on a line of its own how to see the contexts (no hashed path)', () => {
    let thrown: unknown;
    try { resolveEndpoint({ env: {}, context: 'nosuch', dockerConfigDir: dockerConfig(undefined, { other: { host: 'unix:///o.sock' } }) }); } catch (err) { thrown = err; }
    assert.ok(thrown instanceof PaddockError, `a PaddockError (message and fix), not ${String(thrown)}`);
    assert.equal(thrown.message, 'Docker context "nosuch" does not exist.');
    assert.match(thrown.hint ?? '', /^"docker context ls" lists the contexts/);
    const text = describeError(thrown);
    assert.equal(text.split('\n').length, 2, text);
    assert.doesNotMatch(text, /meta\.json|[0-9a-f]{64}/, 'no file path');
    assert.equal(text.match(/nosuch/g)?.length, 1, 'the name once');
  });
});

describe('what chose the engine, in words', () => {
  it('one wording for --host / the setting, in paddock info and when the engine does not answer', async () => {
    assert.equal(engineSource('setting'), '--host or the paddock.dockerHost setting');
    assert.equal(engineSource('DOCKER_HOST'), 'DOCKER_HOST');
    assert.equal(engineSource('context remote'), 'context remote');
    const client = new SandboxClient(undefined, { host: `unix://${join(tmpdir(), 'paddock-no-engine.sock')}`, source: 'setting' });
    await assert.rejects(client.ping(), (err: PaddockError) => {
      assert.match(err.message, /^No Docker engine answers at unix:\/\/.*paddock-no-engine\.sock \(--host or the paddock\.dockerHost setting\): ENOENT\.$/);
      assert.equal(err.hint, 'Check that address, or start that engine.');
      return true;
    });
  });
});
