// What a sandbox's environment may not set for its whole life: anything the init, which runs as
// root, would take as more than a value.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PaddockError } from '../../../src/core/errors.js';
import { refuseSandboxEnv } from '../../../src/engine/rootExec.js';

function refusal(env: Record<string, string>): PaddockError | undefined {
  try {
    refuseSandboxEnv(env);
    return undefined;
  } catch (err) {
    assert.ok(err instanceof PaddockError);
    return err;
  }
}

describe('refuseSandboxEnv', () => {
  it('lets ordinary variables through, and names that only contain PADDOCK', () => {
    assert.equal(refusal({ FOO: '1', MY_PADDOCK_FLAG: 'x', paddock_lower: 'y', DEBUG: '' }), undefined);
  });

  it('refuses a PADDOCK_ variable the init reads (the guard would drop its timed looks on gVisor), naming it and how to pass it to one command', () => {
    const err = refusal({ FOO: '1', PADDOCK_UNMOUNT_EVENTS: '1' });
    assert.ok(err);
    assert.match(err.message, /^PADDOCK_UNMOUNT_EVENTS cannot be set for a sandbox: PADDOCK_\* variables are Paddock's own/);
    assert.match(err.hint ?? '', /paddock exec SANDBOX -- env PADDOCK_UNMOUNT_EVENTS=/);
  });

  it('refuses every PADDOCK_ name at once, including ones the init sets itself and ones no version uses yet', () => {
    const err = refusal({ PADDOCK_WORKSPACE: '/', PADDOCK_TRACE: '1', PADDOCK_SOMETHING_NEW: 'x' });
    assert.match(err?.message ?? '', /^PADDOCK_SOMETHING_NEW, PADDOCK_TRACE, PADDOCK_WORKSPACE cannot be set/);
  });

  it('still refuses loader variables first, with their own reason', () => {
    const err = refusal({ LD_PRELOAD: '/tmp/x.so', PADDOCK_TRACE: '1' });
    assert.match(err?.message ?? '', /^LD_PRELOAD cannot be set for a whole sandbox: the sandbox's own root helpers would load code/);
  });
});
