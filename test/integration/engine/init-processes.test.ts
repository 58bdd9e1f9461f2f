// How many processes the sandbox's init (templates/base/paddock-init) starts before "paddock: ready"
// at a first start (issue 14). On two busy cores each short process of the start costs its fork, its
// exec and a wait for a CPU, so their number is what a cold start pays under load. Counted in the
// sandbox's own PID namespace, where pids are handed out one after another: the first exec after the
// start gets the pid after every process (and thread) started before it. With a hidden .env (its
// guards and the watch for new secrets run) the init started 78-84 before it said ready on
// 2026-12-02, where it starts 44-49 now; the bound leaves room for the looks that repeat while the
// forwarders come up, which a loaded machine makes more of.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { prepareSandbox } from '../../../src/engine/sandboxes.js';
import { cleanup, engine, makeWorkspace } from '../../support/sandbox.js';

const BOUND = 64;

describe('the init\'s processes before ready', () => {
  const e = engine();
  let ws: string;
  let name: string;
  before(async () => {
    // The trace adds processes of its own to each step.
    delete process.env.PADDOCK_TRACE;
    ws = makeWorkspace({
      '.env': 'API_TOKEN=init-processes\n',
      'package.json': '{ "name": "demo", "version": "1.0.0" }\n',
      'README.md': '# demo\n',
      'src/greet.js': 'module.exports = (n) => `hello ${n}`;\n',
    }, 'paddock-initprocs-');
    name = (await prepareSandbox(e, { agent: 'shell', workspace: ws })).sandbox.name;
  });
  after(async () => {
    if (ws) await cleanup(ws);
  });

  it(`a first start with a hidden .env starts at most ${BOUND}`, async (t) => {
    const r = await e.execCapture(name, ['sh', '-c', 'echo $$']);
    assert.equal(r.exitCode, 0, r.stderr);
    const before = Number(r.stdout.trim()) - 1;
    assert.ok(Number.isInteger(before) && before > 2, `the first exec's pid: ${r.stdout}`);
    t.diagnostic(`${before} processes before the first exec`);
    assert.ok(before <= BOUND, `${before} processes started in the sandbox before its first exec (at most ${BOUND})`);
    // And the start did what those processes are for: the .env reads empty, the agent has its home.
    assert.equal((await e.execCapture(name, ['cat', `${ws}/.env`])).stdout, '');
    assert.equal((await e.execCapture(name, ['sh', '-c', 'id -un; test -O "$HOME/.npmrc" && echo owns-home'])).stdout, 'agent\nowns-home\n');
  });
});
