import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PathMatcher } from '../../../src/core/bridgeExecRules.js';
import { DEFAULT_BLOCKED_PATHS, defaultPolicy } from '../../../src/core/policy.js';
import { BridgeService } from '../../../src/bridge/service.js';
import type Docker from 'dockerode';

// The bridge's path masks are compiled on their first use, not when a bridge host starts (that
// compile was on a `paddock run`'s path between "ready" and the agent's start). A pattern picomatch
// refuses to compile (longer than its 64 KiB limit) shows when the compile happens.
const uncompilable = `**/${'x'.repeat(70_000)}`;

describe('bridge path masks are compiled on first use', () => {
  it('a bridge is built without compiling its blocked paths', () => {
    const policy = defaultPolicy();
    const rules = { bridge: { ...policy.bridge, blockedPaths: [...policy.bridge.blockedPaths, uncompilable] }, tier: policy.tier };
    const service = new BridgeService({} as Docker, rules);
    // The first check compiles them (and here fails: no path is answered without its masks).
    assert.throws(() => service.blocked.match('/app/README.md'), /maximum allowed length/);
  });

  it('the first match already applies every pattern, and later ones too', () => {
    const matcher = new PathMatcher([...DEFAULT_BLOCKED_PATHS]);
    assert.equal(matcher.match('/app/.env')?.pattern, '**/.env');
    assert.equal(matcher.match('/app/src/index.ts'), undefined);
    assert.ok(matcher.match('/app/secrets/db/pass.txt'));
    assert.ok(matcher.checkArgument('.env.local~', '/app'), 'a backup form of a blocked name');
  });
});
