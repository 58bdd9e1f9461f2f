// Every command explains itself, and the CLI is usable before any engine is reachable.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildProgram } from '../../../src/cli/main.js';
import { paddock } from '../../support/sandbox.js';

function commandPaths(): string[][] {
  const paths: string[][] = [];
  const walk = (cmd: ReturnType<typeof buildProgram>, prefix: string[]) => {
    for (const sub of cmd.commands) {
      if (sub.name() === 'help') continue;
      paths.push([...prefix, sub.name()]);
      walk(sub, [...prefix, sub.name()]);
    }
  };
  walk(buildProgram(), []);
  return paths;
}

describe('paddock --help', () => {
  const paths = commandPaths();

  it('covers the docker-sandbox-like command set', () => {
    const top = new Set(paths.filter((p) => p.length === 1).map((p) => p[0]));
    for (const name of ['run', 'create', 'ls', 'inspect', 'exec', 'logs', 'stop', 'start', 'rm', 'reset', 'info', 'demo']) assert.ok(top.has(name), name);
  });

  for (const path of commandPaths()) {
    it(`paddock ${path.join(' ')} --help describes the command without touching Docker`, async () => {
      const r = await paddock([...path, '--help'], { env: { DOCKER_HOST: 'unix:///tmp/paddock-no-engine-for-help.sock' } });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^Usage: paddock ${path.join(' ')}`, 'm'));
      assert.ok(r.stdout.split('\n').length >= 3, 'more than a usage line');
    });
  }

  it('an unknown command or option says so and shows the help', async () => {
    const r = await paddock(['sandboxes']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unknown command 'sandboxes'/);
    const o = await paddock(['ls', '--jsn']);
    assert.equal(o.code, 1);
    assert.match(o.stderr, /unknown option '--jsn'[\s\S]*(Did you mean|Usage)/);
  });
});
