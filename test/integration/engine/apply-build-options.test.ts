// An apply keeps what the sandbox's template was built with (src/engine/createOptions.ts): a sandbox
// created with --base-image and --ca-cert is applied (paddock apply without them, after the CA file
// is gone) onto the same template, so its installed state is kept whole; a plain run builds
// nothing and calls nothing changed. Real engine, a base image built here from the local
// debian:bookworm-slim (nothing is pulled), this machine's test CA (test/support/ca.ts), the
// templates as committed (PADDOCK_TEMPLATES_DIR: edits others make to templates/ meanwhile change no
// hash here). The images are kept for the next run (the same base, CA and templates build the same
// hashes), and those of an earlier run are removed: a new base each run built the base template
// from scratch (apt, Node), over ten minutes under load.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { baseTemplateOf, testCertificates } from '../../support/ca.js';
import { cleanup, docker, makeWorkspace, paddock, paddockOk, REPO } from '../../support/sandbox.js';

describe('paddock apply keeps the template build options (--base-image, --ca-cert)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'paddock-apply-build-'));
  const baseTag = 'paddock-test-base:apply-build';
  const certs = testCertificates();
  const kept = join(certs, '..', 'apply-build-images.json');
  let ws: string;
  let name: string;
  let agentImage: string;
  const exec = async (script: string, user?: string) => (await paddockOk(['exec', ...(user ? ['-u', user] : []), name, '--', 'sh', '-c', script])).stdout;

  before(async () => {
    // A copy of the CA, removed before the apply: the kept content must do.
    copyFileSync(join(certs, 'corp-ca.pem'), join(dir, 'corp-ca.pem'));
    const archive = spawnSync('sh', ['-c', `git -C "${REPO}" archive HEAD templates | tar -x -C "${dir}"`], { encoding: 'utf8' });
    assert.equal(archive.status, 0, archive.stderr);
    process.env.PADDOCK_TEMPLATES_DIR = join(dir, 'templates');
    // Another base image, from the one on the engine: no network needed (the layer cache gives the same image each run).
    writeFileSync(join(dir, 'Dockerfile'), 'FROM debian:bookworm-slim\nRUN echo corp-base > /etc/paddock-test-base\n');
    const built = docker(['build', '-q', '-t', baseTag, dir]);
    assert.equal(built.code, 0, built.stderr);
    // .crt: *.pem is hidden by the default policy.
    ws = makeWorkspace({ 'leaf.crt': readFileSync(join(certs, 'leaf.pem'), 'utf8'), 'notes/todo.txt': 'x\n', 'README.md': '# app\n' });
    const created = JSON.parse((await paddockOk(['create', 'shell', ws, '--base-image', baseTag, '--ca-cert', join(dir, 'corp-ca.pem'), '--json'], { timeoutMs: 1_500_000 })).stdout);
    name = created.name;
    agentImage = created.image;
    await exec('echo installed > /usr/local/lib/apply-state-marker', 'root');
  });

  after(async () => {
    if (ws) await cleanup(ws);
    // This run's templates are kept for the next; an earlier run's (another base template) go.
    const images = agentImage ? [agentImage, ...[baseTemplateOf(agentImage) ?? []].flat()] : [];
    const earlier: string[] = existsSync(kept) ? JSON.parse(readFileSync(kept, 'utf8')) : [];
    for (const image of earlier.filter((i) => !images.includes(i))) docker(['rmi', image]);
    if (images.length) writeFileSync(kept, JSON.stringify(images));
    delete process.env.PADDOCK_TEMPLATES_DIR;
    rmSync(dir, { recursive: true, force: true });
  });

  it('the sandbox is built on the base image with the CA', async () => {
    assert.equal((await exec('cat /etc/paddock-test-base')).trim(), 'corp-base');
    assert.match(await exec('openssl verify -CAfile /etc/ssl/certs/ca-certificates.crt leaf.crt'), /leaf\.crt: OK/);
  });

  it('a plain run builds nothing and says nothing changed in the template', async () => {
    const run = await paddockOk(['run', 'shell', ws], { timeoutMs: 300_000 });
    assert.doesNotMatch(run.stderr, /Building template/);
    assert.doesNotMatch(run.stderr, /template changed/);
  });

  it('an apply without the options (the CA file gone since) keeps them, says so, and keeps the whole state', async () => {
    rmSync(join(dir, 'corp-ca.pem'));
    const applied = await paddock(['apply', name], { timeoutMs: 600_000 });
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stderr, new RegExp(`Kept the options ${name} was created with: --base-image ${baseTag.replace(/[.:]/g, '\\$&')}, --ca-cert ${join(dir, 'corp-ca.pem').replace(/[.]/g, '\\.')}`));
    assert.doesNotMatch(applied.stderr, /Building template/, 'the template is the one the sandbox was built from');
    assert.doesNotMatch(applied.stderr, /template of .* changed/);
    // The layer kind of apply: a system file installed in the old container is there.
    assert.equal((await exec('cat /usr/local/lib/apply-state-marker')).trim(), 'installed');
    assert.equal((await exec('cat /etc/paddock-test-base')).trim(), 'corp-base');
    assert.match(await exec('openssl verify -CAfile /etc/ssl/certs/ca-certificates.crt leaf.crt'), /leaf\.crt: OK/);
  });
});
