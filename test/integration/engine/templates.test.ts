// Templates are built on first use, reused while unchanged, rebuilt when their content changes.
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cleanup, docker, engine, makeWorkspace, paddockOk, REPO } from '../../support/sandbox.js';

describe('template images', () => {
  const templates = join(mkdtempSync(join(tmpdir(), 'paddock-templates-')), 'templates');
  cpSync(join(REPO, 'templates'), templates, { recursive: true });
  // A unique marker keeps this test's images apart from everyone else's.
  appendFileSync(join(templates, 'shell', 'Dockerfile'), `RUN echo ${process.pid}-${Date.now()} > /etc/paddock-test-marker\n`);
  const env = { PADDOCK_TEMPLATES_DIR: templates };
  const ws = makeWorkspace();
  const images = new Set<string>();
  after(async () => {
    await cleanup(ws);
    for (const image of images) docker(['rmi', '-f', image]);
    rmSync(join(templates, '..'), { recursive: true, force: true });
  });

  async function imageOfNewSandbox(): Promise<{ image: string; stderr: string; templateHash: string }> {
    // A new sandbox each time (--recreate is an apply now, whose image keeps the old one's state).
    for (const s of await engine().list({ workspace: ws })) await paddockOk(['rm', s.name]);
    const r = await paddockOk(['create', 'shell', ws, '--json'], { env });
    const sandbox = JSON.parse(r.stdout);
    images.add(sandbox.image);
    return { image: sandbox.image, stderr: r.stderr, templateHash: sandbox.templateHash };
  }

  it('builds on first use with progress, reuses while unchanged, rebuilds when the template changes', async () => {
    const first = await imageOfNewSandbox();
    assert.match(first.stderr, /Building template shell → paddock-shell:[0-9a-f]{12}/);
    assert.match(first.stderr, /Step \d+\/\d+ : RUN echo/);
    assert.match(first.image, /^paddock-shell:[0-9a-f]{12}$/);
    assert.match(first.templateHash, /^[0-9a-f]{64}$/, 'the sandbox carries the template hash');
    const labels = JSON.parse(docker(['image', 'inspect', first.image]).stdout)[0].Config.Labels;
    assert.equal(labels['dev.paddock.template-hash'], first.templateHash);

    const again = await imageOfNewSandbox();
    assert.equal(again.image, first.image);
    assert.doesNotMatch(again.stderr, /Building template shell/, 'an unchanged template is not rebuilt');

    appendFileSync(join(templates, 'shell', 'Dockerfile'), 'RUN echo changed > /etc/paddock-test-changed\n');
    const changed = await imageOfNewSandbox();
    assert.notEqual(changed.image, first.image);
    assert.match(changed.stderr, /Building template shell/);
    assert.equal((await paddockOk(['exec', ws, '--', 'cat', '/etc/paddock-test-changed'])).stdout, 'changed\n');
  });

  it('a run on an older sandbox points out that the template changed', async () => {
    appendFileSync(join(templates, 'shell', 'Dockerfile'), 'RUN true\n');
    const r = await paddockOk(['run', 'shell', ws, '--', '-c', 'true'], { env });
    assert.match(r.stderr, /template changed since .* was created; apply it \("paddock apply .*"\) to use the new image/);
    const sandbox = JSON.parse((await paddockOk(['inspect', ws, '--json'], { env })).stdout);
    images.add(sandbox.image);
  });
});
