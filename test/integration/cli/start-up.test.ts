// What `paddock exec`'s fast path loads of Node before it runs the command (README "Start-up"): no
// node:crypto (36 of Node's modules) unless a hash is made, as for a Docker context other than the
// default one, which still works. Through the real CLI (bin/paddock, dist/) and engine.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI, cleanup, engine, makeWorkspace, paddockOk, REPO } from '../../support/sandbox.js';

/** Runs the CLI with a preload that writes, at exit, the Node modules the process loaded. */
function runListingModules(args: string[], env: NodeJS.ProcessEnv): { code: number | null; stdout: string; stderr: string; modules: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'paddock-start-up-'));
  try {
    const preload = join(dir, 'modules.cjs');
    const list = join(dir, 'modules.json');
    // fs is loaded before any user code; the preload loads nothing else.
    writeFileSync(preload, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(list)}, JSON.stringify(process.moduleLoadList)));\n`);
    const r = spawnSync(process.execPath, ['--require', preload, CLI, ...args], { cwd: REPO, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, modules: JSON.parse(readFileSync(list, 'utf8')) as string[] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const loadsCrypto = (modules: string[]) => modules.includes('NativeModule crypto');

describe('paddock exec: what its fast path loads', () => {
  let ws: string;
  let name: string;
  let config: string;

  before(async () => {
    ws = makeWorkspace({ 'marker.txt': 'start-up\n' });
    name = (await paddockOk(['create', 'shell', ws])).stdout.trim();
    // A Docker context (as `docker context create` writes it) for the same engine.
    config = mkdtempSync(join(tmpdir(), 'paddock-docker-config-'));
    const meta = join(config, 'contexts', 'meta', createHash('sha256').update('paddock-start-up').digest('hex'));
    mkdirSync(meta, { recursive: true });
    writeFileSync(join(meta, 'meta.json'), JSON.stringify({ Name: 'paddock-start-up', Metadata: {}, Endpoints: { docker: { Host: engine().endpoint.host, SkipTLSVerify: false } } }));
  });
  after(async () => {
    await cleanup(ws);
    rmSync(config, { recursive: true, force: true });
  });

  it('runs the command without loading node:crypto', () => {
    const r = runListingModules(['exec', name, '--', 'cat', 'marker.txt'], process.env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'start-up\n');
    assert.ok(r.modules.includes('NativeModule http'), 'the list is of the process that ran the exec');
    assert.equal(loadsCrypto(r.modules), false, 'node:crypto was loaded');
  });

  it('loads it when a Docker context must be found (its folder is a hash of its name), and the exec works', () => {
    const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: config };
    delete env.DOCKER_HOST;
    delete env.DOCKER_CONTEXT;
    const r = runListingModules(['--context', 'paddock-start-up', 'exec', name, '--', 'cat', 'marker.txt'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'start-up\n');
    assert.equal(loadsCrypto(r.modules), true);
  });
});
