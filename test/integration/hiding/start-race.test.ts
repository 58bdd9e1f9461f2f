// A secret written while the sandbox's init is still starting (issue 14 made the init's steps run
// side by side: the watch for new secrets and the look at the workspace now run while the agent
// user, its git identity and the forwarders are made). From the attacker's side: whenever during
// the start the file lands, before the container runs, while the watch is set up, during the look,
// or after "ready", the start is refused or the sandbox stops itself, naming the file.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { prepareSandbox } from '../../../src/engine/sandboxes.js';
import { cleanup, docker, engine, makeWorkspace, stopsWithin } from '../../support/sandbox.js';

const SECRET = 'STARTRACEMARK';
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a secret written while the sandbox starts', () => {
  const e = engine();
  let ws: string;
  let name: string;
  before(async () => {
    // Enough files that the look at the workspace takes a while, so writes land in every step.
    const files: Record<string, string> = { 'README.md': '# app\n' };
    for (let i = 0; i < 1500; i++) files[`src/m${i % 30}/f${i}.ts`] = `export const n = ${i};\n`;
    ws = makeWorkspace(files, 'paddock-startrace-');
    name = (await prepareSandbox(e, { agent: 'shell', workspace: ws })).sandbox.name;
    await e.stop(name);
  });
  after(async () => {
    if (ws) await cleanup(ws);
  });

  for (const delayMs of [0, 150, 400, 800, 1500, 2500]) {
    it(`written ${delayMs} ms after the start began: refused or stopped, never running with it`, async () => {
      rmSync(join(ws, '.env'), { force: true });
      const starting = e.start(name).then(() => 'ready' as const, (err: Error & { hint?: string }) => `${err.message} ${err.hint ?? ''}`);
      await wait(delayMs);
      writeFileSync(join(ws, '.env'), `API_TOKEN=${SECRET}\n`);
      const outcome = await starting;
      if (outcome === 'ready') {
        // Written after "ready" (or while the watch held before it): the watch stops the sandbox.
        assert.ok(await stopsWithin(name, 20_000), 'the sandbox stopped itself');
        assert.match(docker(['logs', name]).stderr, new RegExp(`paddock: new secret: ${join(ws, '.env')}`));
      } else {
        assert.match(outcome, new RegExp(`(did not start|not hidden|new secret): ${join(ws, '.env')}`), outcome);
        assert.ok(await stopsWithin(name, 20_000), 'not left running');
      }
    });
  }
});
