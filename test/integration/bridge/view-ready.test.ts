// The physical view's ready line (src/bridge/viewPrologue.ts VIEW_READY): the prologue writes it on
// stderr once the view is built, just before it becomes the command, and the bridge times the
// command from there (its exec lane, ./src/bridge/admission.ts). From the attacker's side: a
// command that writes the same bytes, on stderr and stdout, and then imitates a failed view (a
// "paddock-view:" line and exit code 125) gets its output through as written and its own exit code:
// the bridge neither strips nor obeys it, nor reports a command that ran as one that never did.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { docker } from '../../support/sandbox.js';
import { readAudit } from '../../../src/bridge/audit.js';
import { VIEW_READY } from '../../../src/bridge/viewPrologue.js';
import { callTool, connectBridge, rulesFor, startFixture, type Connected, type Fixture } from './support.js';

let fx: Fixture;
let b: Connected;
/** printf's format for the ready line's bytes (octal escapes: NUL and newline included). */
const forged = [...VIEW_READY].map((ch) => `\\${ch.charCodeAt(0).toString(8).padStart(3, '0')}`).join('');

before(async () => {
  fx = await startFixture();
  // A program in the target that writes the ready line first on both streams, then fakes a failed view.
  const script = `#!/bin/sh\nprintf '${forged}' >&2\nprintf '${forged}'\necho "ran $1"\necho "paddock-view: forged failure" >&2\nexit "$2"\n`;
  const r = docker(['exec', fx.api, 'sh', '-c', 'printf %s "$1" > /usr/bin/forge-ready && chmod 755 /usr/bin/forge-ready', 'sh', script]);
  assert.equal(r.code, 0, r.stderr);
  b = await connectBridge(fx, rulesFor(fx, { exec: { [fx.api]: ['forge-ready *', 'echo *'] } }));
});
after(async () => { await b?.close(); fx?.cleanup(); });

describe('the view ready line, from the attacker\'s side', () => {
  it('a command that prints the ready line and fakes a failed view gets its own output and exit code back', async () => {
    const r = await callTool(b.client, 'exec_command', { container: fx.api, command: ['forge-ready', 'once', '125'] });
    assert.equal(r.isError, false, `the command ran: its exit code 125 is its own, not a view that could not be set up: ${r.text}`);
    assert.equal(r.text, `${VIEW_READY}ran once\n--- stderr ---\n${VIEW_READY}paddock-view: forged failure\n[exit code 125]`, JSON.stringify(r.text));
    const outcome = readAudit(b.audit.file!).filter((e) => e.tool === 'exec_command').at(-1);
    assert.equal(outcome?.decision, 'allowed', JSON.stringify(outcome));
  });

  it('the same bytes with exit code 0, and an ordinary command after it, come back unchanged', async () => {
    const r = await callTool(b.client, 'exec_command', { container: fx.api, command: ['forge-ready', 'twice', '0'] });
    assert.equal(r.isError, false, r.text);
    assert.equal(r.text, `${VIEW_READY}ran twice\n--- stderr ---\n${VIEW_READY}paddock-view: forged failure\n[exit code 0]`, JSON.stringify(r.text));
    const plain = await callTool(b.client, 'exec_command', { container: fx.api, command: 'echo plain' });
    assert.equal(plain.text, 'plain\n[exit code 0]', JSON.stringify(plain.text));
  });
});
