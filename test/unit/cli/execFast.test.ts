import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFastExec } from '../../../src/cli/execFast.js';

// `paddock exec`'s fast path takes one shape of command line; everything else is left to the
// whole exec (commander's rules, help, errors), so a line it reads must mean what commander reads.

const line = (...args: string[]) => parseFastExec(['node', 'paddock', ...args]);

describe('paddock exec fast path: the command lines it takes', () => {
  it('NAME -- COMMAND, with -u/-w/-e in either spelling and the global engine options before exec', () => {
    assert.deepEqual(line('exec', 'box', '--', 'ls', '-la', '--', 'x'), { inputs: {}, ref: 'box', user: undefined, workdir: undefined, env: {}, command: ['ls', '-la', '--', 'x'] });
    assert.deepEqual(line('-H', 'unix:///s.sock', '--context=ctx', 'exec', '-u', 'root', 'box', '--workdir=/tmp', '-e', 'A=1=2', '--', 'id'),
      { inputs: { host: 'unix:///s.sock', context: 'ctx' }, ref: 'box', user: 'root', workdir: '/tmp', env: { A: '1=2' }, command: ['id'] });
  });

  it('-e NAME alone passes the host\'s value, or nothing when the host has none (as docker exec and paddock create do)', () => {
    process.env.PADDOCK_TEST_FROM_HOST = 'from the host';
    delete process.env.PADDOCK_TEST_NOT_SET;
    try {
      assert.deepEqual(line('exec', 'box', '--env', 'PADDOCK_TEST_FROM_HOST', '-e', 'PADDOCK_TEST_NOT_SET', '--', 'env')?.env, { PADDOCK_TEST_FROM_HOST: 'from the host' });
    } finally {
      delete process.env.PADDOCK_TEST_FROM_HOST;
    }
    assert.equal(line('exec', 'box', '-e', 'NOT A NAME=1', '--', 'env'), undefined, 'a bad name is left to the whole exec, which says what is wrong');
  });

  it('leaves every other shape to the whole exec', () => {
    for (const args of [
      ['exec', 'box'], // no command
      ['exec', 'box', '--'], // an empty one
      ['exec', 'box', 'ls'], // a command without --
      ['exec', '--', 'ls'], // no sandbox
      ['exec', 'box', '--help'],
      ['exec', '-h'],
      ['--version', 'exec', 'box', '--', 'ls'],
      ['exec', '-uroot', 'box', '--', 'id'], // joined short options: commander's
      ['exec', '-u', '-w', 'box', '--', 'id'], // an option's value that looks like an option
      ['exec', 'box', '-u'], // a value missing
      ['exec', '-H', 'tcp://x:2375', 'box', '--', 'id'], // global options after the command
      ['exec', '--tty', 'box', '--', 'id'], // an option exec does not have
      ['ls', 'exec', '--', 'x'], // another command
    ]) assert.equal(line(...args), undefined, args.join(' '));
  });
});
