// A dead part: the sandbox's egress proxy removed behind Paddock's back (docker rm -f). Until the
// next start the sandbox has no network, and the commands that need the proxy say so and how to fix
// it; the start makes the proxy again and keeps the sandbox's state (more faults: ../engine/repair.test.ts).
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
    // Proxies of their own (as on Docker Desktop, remote engines, with published ports): the shared
    // service is made again at every start instead (egress-scale.test.ts).
    process.env.PADDOCK_EGRESS_SHAPE = 'own';
    sb = (await paddockOk(['create', 'shell', ws])).stdout.trim();
    await paddockOk(['exec', '-u', 'root', sb, '--', 'sh', '-c', 'echo kept > /opt/state-marker']);
    assert.equal(docker(['rm', '-f', egressNames(sb).proxy]).code, 0);
    await paddockOk(['stop', sb]);
  });
  after(async () => {
    delete process.env.PADDOCK_EGRESS_SHAPE;
    if (ws) await cleanup(ws);
  });

  it('network log says the sandbox has no network and that a start makes the proxy again', async () => {
    const log = await paddock(['network', 'log', sb]);
    assert.notEqual(log.code, 0);
    assert.equal(log.stderr, `paddock: The egress proxy of ${sb} was removed outside Paddock: the sandbox has no network, and there is nothing to log or check.\n  → "paddock start ${sb}" makes it again (the sandbox's state is kept).\n`);
  });

  it('start makes it again, says so, and keeps the sandbox\'s state and the workspace', async () => {
    const files = readdirSync(ws).sort();
    const start = await paddockOk(['start', sb]);
    assert.ok(start.stderr.includes(`note: ${sb}: its egress proxy ${egressNames(sb).proxy} was removed: made again with its network rules.`), start.stderr);
    assert.doesNotMatch(start.stderr, /removed outside Paddock/);
    const r = await paddockOk(['run', 'shell', ws, '--', '-c', 'echo $HTTPS_PROXY; cat /opt/state-marker']);
    assert.equal(r.stdout, 'http://paddock-egress:3128\nkept\n');
    assert.doesNotMatch(r.stderr, /removed/);
    assert.equal(docker(['inspect', '-f', '{{.State.Running}}', egressNames(sb).proxy]).stdout.trim(), 'true');
    assert.deepEqual(readdirSync(ws).sort(), files);
  });
});
