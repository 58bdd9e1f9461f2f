// When Paddock builds a new image for a template, the older images of that template that nothing
// uses go: not one a container (a stopped sandbox) uses, not one built within the last day (another
// Paddock process may be about to use it), not one the user tagged or a sandbox named (--base-image).
// The build says what it removed in one line. Real engine and builds (a workspace's own template: only this test's workspace's
// images are of its family, so nothing else on the engine is touched); "two days later" is the
// builder's clock.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LABELS } from '../../../src/core/naming.js';
import { writeCreateOptions } from '../../../src/engine/createOptions.js';
import { KEEP_RECENT_MS } from '../../../src/engine/imagePrune.js';
import { bridgePaths, removeBridgeDir } from '../../../src/engine/stateFolder.js';
import { TemplateBuilder } from '../../../src/engine/templates.js';
import { docker, engine } from '../../support/sandbox.js';
import { BASE_IMAGE, suffix } from '../bridge/support.js';

describe('older template images are removed when a new one is built', () => {
  const workspace = mkdtempSync(join(tmpdir(), 'pbt-images-'));
  const dockerfileDir = join(workspace, '.paddock');
  mkdirSync(dockerfileDir);
  const stopped = `pbt-images-stopped-${suffix}`;
  const userTag = `pbt-images-user-${suffix}:kept`;
  // A sandbox made with --base-image naming one of the images (its container runs another image).
  const namer = `pbt-images-namer-${suffix}`;
  const tags: string[] = [];

  after(() => {
    docker(['rm', '-f', stopped, namer]);
    removeBridgeDir(namer);
    docker(['rmi', userTag, ...tags]);
    rmSync(workspace, { recursive: true, force: true });
  });

  /** Builds the workspace's template with `version` in its Dockerfile; returns its tag and what the build said. */
  async function build(version: number, clock?: () => number): Promise<{ tag: string; lines: string[] }> {
    writeFileSync(join(dockerfileDir, 'Dockerfile'), `FROM ${BASE_IMAGE}\nLABEL pbt.images.version=${version}\n`);
    const lines: string[] = [];
    const tag = await new TemplateBuilder(engine().docker, clock).ensureWorkspaceImage(dockerfileDir, BASE_IMAGE, { onProgress: (l) => lines.push(l) });
    tags.push(tag);
    return { tag, lines };
  }
  const exists = (ref: string) => docker(['image', 'inspect', ref]).code === 0;

  it('keeps what a stopped sandbox uses, what is from the last day, what the user tagged and what a sandbox named as its base image; removes the rest, and says so in one line', async () => {
    const v1 = await build(1);
    assert.equal(docker(['create', '--name', stopped, v1.tag, 'true']).code, 0);
    const v2 = await build(2);
    assert.ok(!v2.lines.some((l) => /older image/.test(l)), v2.lines.join('\n'));
    const v3 = await build(3);
    assert.ok(!v3.lines.some((l) => /older image/.test(l)), 'v2 is from the last day: kept');
    assert.ok(exists(v1.tag) && exists(v2.tag));
    const v4 = await build(4);
    assert.equal(docker(['tag', v4.tag, userTag]).code, 0);
    mkdirSync(bridgePaths(namer).dir, { recursive: true, mode: 0o700 });
    writeCreateOptions(namer, { version: 1, given: { baseImage: v3.tag }, policyThen: { env: {} } });
    assert.equal(docker(['create', '--name', namer, '--label', `${LABELS.sandbox}=${namer}`, BASE_IMAGE, 'true']).code, 0);

    // Two days later: v2 goes; v1 (the stopped container's), v3 (a sandbox's --base-image), v4 (tagged by the user) and v5 stay.
    const v5 = await build(5, () => Date.now() + 2 * KEEP_RECENT_MS);
    const said = v5.lines.filter((l) => /older image/.test(l));
    assert.equal(said.length, 1, v5.lines.join('\n'));
    assert.equal(said[0], `Removed 1 older image of template workspace: ${v2.tag} (kept 1 in use, 2 named by you)`);
    assert.deepEqual([v1.tag, v2.tag, v3.tag, v4.tag, v5.tag].map(exists), [true, false, true, true, true]);
    assert.equal(docker(['start', '-a', stopped]).code, 0, 'the stopped sandbox starts again from its image');
  });
});
