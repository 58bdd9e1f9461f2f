// A dead part: the sandbox's egress proxy removed behind Paddock's back (docker rm -f). The sandbox
// then has no network at all; every command says so and how to fix it, and --recreate does.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { egressNames } from '../../../src/engine/egress.js';
import { cleanup, docker, makeWorkspace, paddock, paddockOk } from '../../support/sandbox.js';

describe('a sandbox whose egress proxy was removed outside Paddock', () => {
  let ws: string;
  let sb: string;

  before(async () => {
    ws = makeWorkspace({ 'README.md': '# dead proxy\n' }, 'paddock-dead-proxy-');
    sb = (await paddockOk(['create', 'shell', ws])).stdout.trim();
    assert.equal(docker(['rm', '-f', egressNames(sb).proxy]).code, 0);
    await paddockOk(['stop', sb]);
  });
  after(async () => {
    if (ws) await cleanup(ws);
  });

  it('start, run and network log say the sandbox has no network and that --recreate fixes it', async () => {
    const start = await paddockOk(['start', sb]);
    assert.match(start.stderr, /The egress proxy of .* was removed outside Paddock, so the sandbox has no network .*--recreate/);
    const run = await paddock(['run', 'shell', ws, '--', '-c', 'true']);
    assert.match(run.stderr, /was removed outside Paddock/);
    const log = await paddock(['network', 'log', sb]);
    assert.notEqual(log.code, 0);
    assert.match(log.stderr, /removed outside Paddock: the sandbox has no network.*\n.*--recreate/);
  });

  it('--recreate brings the proxy back and leaves the workspace as it was', async () => {
    const files = readdirSync(ws).sort();
    const r = await paddockOk(['run', 'shell', ws, '--recreate', '--', '-c', 'echo $HTTPS_PROXY']);
    assert.match(r.stdout, /^http:\/\/paddock-egress:3128$/m);
    assert.doesNotMatch(r.stderr, /removed outside Paddock/);
    assert.equal(docker(['inspect', '-f', '{{.State.Running}}', egressNames(sb).proxy]).stdout.trim(), 'true');
    assert.deepEqual(readdirSync(ws).sort(), files);
  });
});
