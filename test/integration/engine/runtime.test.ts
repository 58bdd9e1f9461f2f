// Runtime choice: gVisor (runsc) where the engine offers it. CI's engine always does
// (scripts/ensure-engine.sh registers Debian's runsc); elsewhere the error path is what a user sees.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cleanup, docker, makeWorkspace, paddock, paddockOk } from '../../support/sandbox.js';

describe('runtimes', () => {
  let ws: string;
  let runtimes: string[];
  before(async () => {
    ws = makeWorkspace({ 'file.txt': 'visible\n' });
    runtimes = JSON.parse((await paddockOk(['info', '--json'])).stdout).runtimes.names;
  });
  after(() => cleanup(ws));

  it('--runtime runsc runs the sandbox under gVisor when the engine has it, or says which runtimes exist', async () => {
    if (runtimes.includes('runsc')) {
      const name = (await paddockOk(['create', 'shell', ws, '--runtime', 'runsc'])).stdout.trim();
      assert.equal(JSON.parse(docker(['inspect', name]).stdout)[0].HostConfig.Runtime, 'runsc');
      const kernel = await paddockOk(['exec', name, '--', 'dmesg']);
      assert.match(kernel.stdout, /gVisor/);
      assert.equal((await paddockOk(['exec', name, '--', 'cat', 'file.txt'])).stdout, 'visible\n');
      assert.equal((await paddockOk(['exec', name, '--', 'pwd'])).stdout.trim(), ws);
      const listed = JSON.parse((await paddockOk(['ls', '--json', '-w', ws])).stdout);
      assert.equal(listed[0].runtime, 'runsc');
    } else {
      const r = await paddock(['create', 'shell', ws, '--runtime', 'runsc']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`no runtime "runsc"[\\s\\S]*Available runtimes: ${runtimes.join(', ')}`));
    }
  });
});
