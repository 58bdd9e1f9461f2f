// The base of the UI's long-lived objects: everything they registered goes with them, once, and
// nothing registered late is left behind.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DisposableOwner, type DisposableLike } from '../../../src/vscode/lifecycle.js';

/** A subclass that exposes register() and isDisposed to the test. */
class Owner extends DisposableOwner {
  own<T extends DisposableLike>(d: T): T {
    return this.register(d);
  }
  get gone(): boolean {
    return this.isDisposed;
  }
}

/** A fake disposable that records when it was disposed. */
function fake(name: string, log: string[], fail?: Error): DisposableLike {
  return {
    dispose: () => {
      log.push(name);
      if (fail) throw fail;
    },
  };
}

describe('DisposableOwner', () => {
  it('disposes what it owns once, in the order registered', () => {
    const log: string[] = [];
    const owner = new Owner();
    owner.own(fake('listener', log));
    owner.own(fake('watcher', log));
    owner.own(fake('channel', log));
    assert.deepEqual(log, [], 'nothing is disposed before the owner');
    assert.equal(owner.gone, false);
    owner.dispose();
    assert.deepEqual(log, ['listener', 'watcher', 'channel']);
    assert.equal(owner.gone, true);
    owner.dispose();
    assert.deepEqual(log, ['listener', 'watcher', 'channel'], 'a second dispose does nothing');
  });

  it('returns what it registers, so a field is created and owned in one line', () => {
    const owner = new Owner();
    const d = fake('item', []);
    assert.equal(owner.own(d), d);
  });

  it('disposes at once what is registered after it was disposed (a late start leaks nothing)', () => {
    const log: string[] = [];
    const owner = new Owner();
    owner.dispose();
    const late = owner.own(fake('late', log));
    assert.deepEqual(log, ['late']);
    assert.ok(late);
    owner.dispose();
    assert.deepEqual(log, ['late'], 'and only once');
  });

  it('disposes at once what a disposable registers while the owner is being disposed', () => {
    const log: string[] = [];
    const owner = new Owner();
    owner.own({ dispose: () => { log.push('first'); owner.own(fake('registered meanwhile', log)); } });
    owner.own(fake('second', log));
    owner.dispose();
    assert.deepEqual(log, ['first', 'registered meanwhile', 'second']);
  });

  it('disposes the rest when one throws, then throws its error', () => {
    const log: string[] = [];
    const owner = new Owner();
    const broken = new Error('channel already closed');
    owner.own(fake('a', log));
    owner.own(fake('b', log, broken));
    owner.own(fake('c', log));
    assert.throws(() => owner.dispose(), (err) => err === broken);
    assert.deepEqual(log, ['a', 'b', 'c']);
  });

  it('throws all the errors together when several throw', () => {
    const log: string[] = [];
    const owner = new Owner();
    owner.own(fake('a', log, new Error('one')));
    owner.own(fake('b', log, new Error('two')));
    assert.throws(() => owner.dispose(), (err) => err instanceof AggregateError && err.errors.map((e: Error) => e.message).join() === 'one,two');
    assert.deepEqual(log, ['a', 'b']);
  });
});
