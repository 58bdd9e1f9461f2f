import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEarlyRun } from '../../../src/cli/runEarly.js';

// bin/paddock starts a warm run's check before the command table loads, for one shape of `run`
// command line; every other one (a task, an apply, options that change the sandbox) checks the usual way.

const line = (...args: string[]) => parseEarlyRun(['node', 'paddock', ...args]);

describe('paddock run: the command lines whose check starts early', () => {
  it('run AGENT [WORKSPACE], --no-auto-approve, the agent\'s arguments after --, the global engine options before run', () => {
    assert.deepEqual(line('run', 'claude'), { inputs: {}, agent: 'claude', workspace: undefined });
    assert.deepEqual(line('run', 'shell', '/w', '--', '-c', '--task', 'x'), { inputs: {}, agent: 'shell', workspace: '/w' });
    assert.deepEqual(line('-H', 'unix:///s.sock', '--context=ctx', 'run', '--no-auto-approve', 'codex', '.'), { inputs: { host: 'unix:///s.sock', context: 'ctx' }, agent: 'codex', workspace: '.' });
  });

  it('leaves every other line to the usual way', () => {
    for (const args of [
      ['run'], // no agent
      ['run', 'shell', '/w', 'extra'], // commander says what is wrong
      ['run', 'shell', '--task', 'fix'], // another workspace
      ['run', 'shell', '--apply'], ['run', 'shell', '-e', 'A=1'], ['run', 'shell', '--name', 'x'],
      ['exec', 'box', '--', 'true'], ['create', 'shell'],
      ['--debug', 'run', 'shell'], ['-H', 'run', 'shell'], // an unknown global option, a missing value
    ]) assert.equal(line(...args), undefined, args.join(' '));
  });
});
