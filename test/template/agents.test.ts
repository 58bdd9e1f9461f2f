// Builds the real agent templates from the local base image and runs each agent's CLI inside.
// Slow (npm installs of the agent CLIs), so it is its own tier; CI runs it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cleanup, engine, makeWorkspace, paddock, paddockOk } from '../support/sandbox.js';

describe('agent templates', () => {
  const demoDir = join(mkdtempSync(join(tmpdir(), 'paddock-demo-')), 'demo');
  after(async () => {
    const e = engine();
    for (const s of await e.list({ workspace: demoDir })) await e.remove(s.id);
    rmSync(join(demoDir, '..'), { recursive: true, force: true });
  });

  it('the quick start: `paddock demo` builds the claude template and runs Claude Code in the demo workspace', async () => {
    const r = await paddock(['demo', '--', '--version'], { env: { PADDOCK_DEMO_DIR: demoDir }, timeoutMs: 900_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\d+\.\d+\.\d+.*Claude Code/m);
    assert.match(r.stderr, new RegExp(`on the demo workspace ${demoDir}`));
    assert.ok(statSync(join(demoDir, 'src', 'greet.js')).isFile(), 'the demo workspace was laid out');
    const pwd = await paddockOk(['exec', demoDir, '--', 'pwd']);
    assert.equal(pwd.stdout.trim(), demoDir);
    assert.doesNotMatch(r.stderr, /no terminal here/, 'arguments for the agent: no note');
  });

  it('the demo without a terminal and without arguments says why the agent wants a prompt', async () => {
    const r = await paddock(['demo'], { env: { PADDOCK_DEMO_DIR: demoDir }, timeoutMs: 300_000 });
    assert.match(r.stderr, /^note: there is no terminal here, so Claude Code runs without its screen and needs a prompt, on standard input or as its arguments after "--"\. Run the demo in a terminal/m);
  });

  for (const [agent, pattern] of [['gemini', /^\d+\.\d+\.\d+/m], ['codex', /codex-cli \d+\.\d+\.\d+/]] as const) {
    it(`the ${agent} template builds and its CLI runs`, async () => {
      const ws = makeWorkspace({ 'README.md': 'x\n' });
      try {
        const r = await paddock(['run', agent, ws, '--', '--version'], { timeoutMs: 900_000 });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, pattern);
      } finally {
        await cleanup(ws);
      }
    });
  }
});
