// search_logs through the real bridge, against a real container whose log has lines that make a
// backtracking engine take exponential time: the agent's pattern must not stall the bridge.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { docker } from '../../support/sandbox.js';
import { callTool, connectBridge, rulesFor, startFixture, suffix, BASE_IMAGE, type Connected, type Fixture } from './support.js';

let fx: Fixture;
let b: Connected;
const noisy = `pbt-api-noisy-${suffix}`;

before(async () => {
  fx = await startFixture();
  // 300 lines of 5000 "a" then "b" (what "(a+)+$" needs to backtrack forever), then a marker.
  const script = 'line=$(head -c 5000 /dev/zero | tr "\\0" a)b; i=0; while [ $i -lt 300 ]; do echo "$line"; i=$((i+1)); done; echo "noisy: ERROR disk full"; echo done; exec sleep 2147483647';
  const r = docker(['run', '-d', '--name', noisy, BASE_IMAGE, 'sh', '-c', script]);
  assert.equal(r.code, 0, r.stderr);
  for (let i = 0; !docker(['logs', '--tail', '1', noisy]).stdout.includes('done'); i++) {
    assert.ok(i < 200, 'the noisy container did not log');
    await new Promise((r) => setTimeout(r, 50));
  }
  b = await connectBridge(fx, rulesFor(fx));
});
after(async () => {
  await b?.close();
  docker(['rm', '-f', noisy]);
  fx?.cleanup();
});

describe('search_logs with attacker-chosen patterns (real bridge, real container)', () => {
  it('answers catastrophic-backtracking patterns promptly, and the bridge keeps serving', async () => {
    for (const pattern of ['(a+)+$', '(a|aa)+$', '(.*a){30}$', '^(a+)+c']) {
      const started = Date.now();
      const r = await callTool(b.client, 'search_logs', { container: noisy, pattern, tail: 1000 });
      const ms = Date.now() - started;
      assert.equal(r.isError, false, `${pattern}: ${r.text}`);
      assert.ok(ms < 5000, `${pattern} took ${ms} ms`);
      if (pattern === '^(a+)+c') assert.match(r.text, /No line/);
      else assert.match(r.text, /^1: a{5000}b$/m, pattern);
    }
    // A request made meanwhile is answered (the event loop was never held).
    const other = await callTool(b.client, 'list_containers');
    assert.equal(other.isError, false);
  });

  it('still finds ordinary patterns with their context', async () => {
    const r = await callTool(b.client, 'search_logs', { container: noisy, pattern: 'error\\s+disk', context: 1 });
    assert.equal(r.isError, false, r.text);
    assert.match(r.text, /^301: noisy: ERROR disk full$/m);
    assert.match(r.text, /^302: done$/m);
  });

  it('refuses a backreference with the reason and the fix', async () => {
    const r = await callTool(b.client, 'search_logs', { container: noisy, pattern: '(a)\\1' });
    assert.equal(r.isError, true);
    assert.match(r.text, /Denied by invalid pattern/);
    assert.match(r.text, /RE2 syntax/);
  });
});
