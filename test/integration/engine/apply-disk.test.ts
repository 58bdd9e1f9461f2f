// An apply saves the sandbox's changes as an image, every file at its full size (the engine's tar has
// no holes): a sparse file the agent made, which takes nothing in the sandbox, would be written whole
// and fill the engine's disk. The apply refuses before saving anything (src/engine/apply.ts
// stateSpaceProblem), and the sandbox keeps its state.
import assert from 'node:assert/strict';
import { statfsSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { stateImages } from '../../../src/engine/apply.js';
import { cleanup, docker, engine, makeWorkspace, paddock, paddockOk } from '../../support/sandbox.js';

describe('apply: a sparse file larger than the engine\'s free disk', () => {
  let ws: string;
  after(async () => { if (ws) await cleanup(ws); });

  it('is refused before anything is saved; the sandbox and its files stay', async () => {
    const root = docker(['info', '--format', '{{.DockerRootDir}}']).stdout.trim();
    const disk = statfsSync(root);
    const huge = disk.bavail * disk.bsize + 50 * 1024 ** 3;
    ws = makeWorkspace({ 'README.md': '# app\n' });
    const name = (await paddockOk(['create', 'shell', ws])).stdout.trim();
    await paddockOk(['exec', name, '--', 'sh', '-c', `echo kept > ~/note && truncate -s ${huge} ~/sparse && du -k ~/sparse`]);
    const applied = await paddock(['create', 'shell', ws, '--recreate', '-e', 'MODE=fast']);
    assert.notEqual(applied.code, 0, applied.stderr);
    assert.match(applied.stderr, /Not applied: saving the state of .* would write .* GB .*sparse file counts whole.* Nothing was changed/);
    assert.equal((await stateImages(engine().docker, name)).length, 0, 'nothing was saved');
    await paddockOk(['start', name]);
    assert.equal((await paddockOk(['exec', name, '--', 'sh', '-c', 'cat ~/note; stat -c %s ~/sparse'])).stdout, `kept\n${huge}\n`);
    assert.notEqual((await paddock(['exec', name, '--', 'printenv', 'MODE'])).code, 0, 'the old container, unchanged');
  });
});
