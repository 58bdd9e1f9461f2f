// The guard's detection, with real files and folder watches and a stand-in engine that records
// what it is asked to do (the integration tier runs it against a real sandbox).
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { SandboxEngine } from '../../../src/engine/engine.js';
import { breachExposure, guardHiddenPaths, hiddenPathsOf, protectedAgainMessage, readOnlyPathsOf, type HidingBreach } from '../../../src/engine/hidingGuard.js';
import type { SandboxDetails } from '../../../src/engine/types.js';
import { guardRules, guardRulesText } from '../../../src/core/hideGuardRules.js';
import { SANDBOX_HIDE_RULES_DIR } from '../../../src/engine/newSecretsRules.js';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

function setUp() {
  const ws = mkdtempSync(join(tmpdir(), 'pbt-guard-'));
  mkdirSync(join(ws, 'secrets'));
  writeFileSync(join(ws, '.env'), 'A=1\n');
  writeFileSync(join(ws, 'notes.txt'), 'not hidden\n');
  writeFileSync(join(ws, 'compose.yaml'), 'services: {}\n');
  const details = {
    id: 'c0ffee', name: 'sbx', workspace: ws,
    mounts: [
      { type: 'bind', source: ws, target: ws, readOnly: false },
      { type: 'bind', source: '/dev/null', target: join(ws, '.env'), readOnly: true },
      { type: 'tmpfs', source: '', target: join(ws, 'secrets'), readOnly: true },
      { type: 'bind', source: join(ws, '.paddock'), target: join(ws, '.paddock'), readOnly: true },
      { type: 'bind', source: join(ws, 'compose.yaml'), target: join(ws, 'compose.yaml'), readOnly: true },
      { type: 'bind', source: '/dev/null', target: '/etc/elsewhere', readOnly: true },
    ],
  } as unknown as SandboxDetails;
  const calls: string[] = [];
  const engine = {
    docker: { getContainer: (id: string) => ({ pause: async () => { calls.push(`pause ${id}`); } }) },
    stop: async (id: string) => { calls.push(`stop ${id}`); },
  } as unknown as SandboxEngine;
  const breaches: HidingBreach[] = [];
  const guard = guardHiddenPaths(engine, details, (b) => breaches.push(b));
  return { ws, details, calls, breaches, guard, done: () => { guard.close(); rmSync(ws, { recursive: true, force: true }); } };
}

describe('hiding guard', () => {
  it('knows the hidden paths: /dev/null files and tmpfs folders in the workspace, not the cage or the workspace itself', () => {
    const t = setUp();
    try {
      assert.deepEqual(hiddenPathsOf(t.details), [join(t.ws, '.env'), join(t.ws, 'secrets')]);
      assert.deepEqual(readOnlyPathsOf(t.details), [join(t.ws, '.paddock'), join(t.ws, 'compose.yaml')], 'the cage, not the workspace or hidden paths');
    } finally {
      t.done();
    }
  });

  it('a write in place, or a change to another file, is no breach', async () => {
    const t = setUp();
    try {
      appendFileSync(join(t.ws, '.env'), 'B=2\n');
      writeFileSync(join(t.ws, 'notes.txt'), 'changed\n');
      renameSync(join(t.ws, 'notes.txt'), join(t.ws, 'notes2.txt'));
      await wait(300);
      assert.deepEqual(t.breaches, []);
      assert.deepEqual(t.calls, []);
    } finally {
      t.done();
    }
  });

  it('a file replaced by rename: pause first, then stop, then report', async () => {
    const t = setUp();
    try {
      writeFileSync(join(t.ws, '.env.swp'), 'A=new\n');
      renameSync(join(t.ws, '.env.swp'), join(t.ws, '.env'));
      for (let i = 0; i < 50 && !t.breaches.length; i++) await wait(20);
      assert.deepEqual(t.calls, ['pause c0ffee', 'stop c0ffee']);
      assert.deepEqual(t.breaches, [{ sandbox: 'sbx', paths: [join(t.ws, '.env')], readOnly: [], action: 'stopped', cause: 'replaced', seenBy: 'host' }]);
      assert.equal(breachExposure(t.breaches[0]), 'readable');
    } finally {
      t.done();
    }
  });

  it('deleted then created again (a new inode) is a breach; a folder replaced by rename too', async () => {
    const t = setUp();
    try {
      unlinkSync(join(t.ws, '.env'));
      await wait(200);
      assert.equal(t.breaches.length, 0, 'gone: nothing readable yet');
      writeFileSync(join(t.ws, '.env'), 'A=again\n');
      for (let i = 0; i < 50 && !t.breaches.length; i++) await wait(20);
      assert.deepEqual(t.breaches.map((b) => b.paths), [[join(t.ws, '.env')]]);
    } finally {
      t.done();
    }
    const u = setUp();
    try {
      mkdirSync(join(u.ws, 'secrets.new'));
      rmSync(join(u.ws, 'secrets'), { recursive: true });
      renameSync(join(u.ws, 'secrets.new'), join(u.ws, 'secrets'));
      for (let i = 0; i < 50 && !u.breaches.length; i++) await wait(20);
      assert.deepEqual(u.breaches.map((b) => b.paths), [[join(u.ws, 'secrets')]]);
    } finally {
      u.done();
    }
  });

  it('a read-only file replaced by rename is a breach too: it would be writable inside', async () => {
    const t = setUp();
    try {
      writeFileSync(join(t.ws, 'compose.yaml.tmp'), 'services: { api: {} }\n');
      renameSync(join(t.ws, 'compose.yaml.tmp'), join(t.ws, 'compose.yaml'));
      for (let i = 0; i < 50 && !t.breaches.length; i++) await wait(20);
      assert.deepEqual(t.breaches, [{ sandbox: 'sbx', paths: [join(t.ws, 'compose.yaml')], readOnly: [join(t.ws, 'compose.yaml')], action: 'stopped', cause: 'replaced', seenBy: 'host' }]);
      assert.equal(breachExposure(t.breaches[0]), 'writable');
    } finally {
      t.done();
    }
  });

  it('settled() looks once more, so a session that ends right after a replace still reports it', async () => {
    const t = setUp();
    try {
      t.guard.close(); // no folder events from here on: only the last look can see it
      const again = guardHiddenPaths({ docker: { getContainer: () => ({ pause: async () => {} }) }, stop: async () => {} } as unknown as SandboxEngine, t.details, (b) => t.breaches.push(b));
      writeFileSync(join(t.ws, '.env.swp'), 'A=new\n');
      renameSync(join(t.ws, '.env.swp'), join(t.ws, '.env'));
      await again.settled();
      assert.deepEqual(t.breaches.map((b) => b.paths), [[join(t.ws, '.env')]]);
      again.close();
    } finally {
      t.done();
    }
  });
});

describe('hiding guard: paths the hide rules name that appear', () => {
  function withRules() {
    const ws = mkdtempSync(join(tmpdir(), 'pbt-guard-new-'));
    mkdirSync(join(ws, 'secrets'));
    mkdirSync(join(ws, 'src/deep'), { recursive: true });
    mkdirSync(join(ws, 'node_modules/pkg'), { recursive: true });
    writeFileSync(join(ws, '.env.example'), 'A=\n');
    const rulesDir = mkdtempSync(join(tmpdir(), 'pbt-guard-rules-'));
    writeFileSync(join(rulesDir, 'rules'), guardRulesText(guardRules(['**/.env', '!**/.env.example', '**/*.pem', '**/secrets/**'], false)));
    const details = {
      id: 'c0ffee', name: 'sbx', workspace: ws,
      mounts: [
        { type: 'bind', source: ws, target: ws, readOnly: false },
        { type: 'tmpfs', source: '', target: join(ws, 'secrets'), readOnly: true },
        { type: 'bind', source: rulesDir, target: SANDBOX_HIDE_RULES_DIR, readOnly: true },
      ],
    } as unknown as SandboxDetails;
    const calls: string[] = [];
    const engine = {
      docker: { getContainer: (id: string) => ({ pause: async () => { calls.push(`pause ${id}`); } }) },
      stop: async (id: string) => { calls.push(`stop ${id}`); },
    } as unknown as SandboxEngine;
    const breaches: HidingBreach[] = [];
    const guard = guardHiddenPaths(engine, details, (b) => breaches.push(b));
    const settle = async () => { for (let i = 0; i < 50 && !breaches.length; i++) await wait(20); };
    return { ws, calls, breaches, settle, done: () => { guard.close(); rmSync(ws, { recursive: true, force: true }); rmSync(rulesDir, { recursive: true, force: true }); } };
  }

  it('a new .env freezes first, then stops, and says it appeared', async () => {
    const t = withRules();
    try {
      writeFileSync(join(t.ws, '.env'), 'TOKEN=x\n');
      await t.settle();
      assert.deepEqual(t.calls, ['pause c0ffee', 'stop c0ffee']);
      assert.deepEqual(t.breaches.map((b) => [b.cause, b.paths]), [['appeared', [join(t.ws, '.env')]]]);
    } finally {
      t.done();
    }
  });

  it('a folder made with a key deep inside is found (the new folders are watched and searched)', async () => {
    const t = withRules();
    try {
      mkdirSync(join(t.ws, 'src/deep/new/er'), { recursive: true });
      writeFileSync(join(t.ws, 'src/deep/new/er/server.pem'), 'k');
      await t.settle();
      assert.deepEqual(t.breaches.map((b) => b.paths), [[join(t.ws, 'src/deep/new/er/server.pem')]]);
    } finally {
      t.done();
    }
  });

  it('what the rules re-include, what a hiding mount covers, node_modules, and files no rule names are no breach', async () => {
    const t = withRules();
    try {
      writeFileSync(join(t.ws, 'src/.env.example'), 'B=\n');
      writeFileSync(join(t.ws, 'secrets/new-key.pem'), 'k'); // under the tmpfs: the sandbox sees an empty folder
      writeFileSync(join(t.ws, 'node_modules/pkg/test.pem'), 'k'); // checked at the next start, not watched
      writeFileSync(join(t.ws, 'src/deep/app.js'), '1');
      await wait(400);
      assert.deepEqual(t.breaches, []);
      assert.deepEqual(t.calls, []);
    } finally {
      t.done();
    }
  });
});

describe('the message after a resume', () => {
  it('leaves out the apply\'s "unchanged" note and ends each note inside the parentheses without its full stop', () => {
    const breach = (notes: string[]): HidingBreach => ({ sandbox: 'sb', paths: ['late/.env'], readOnly: [], action: 'resumed', cause: 'appeared', seenBy: 'host', resumed: { sandbox: {} as SandboxDetails, notes } });
    // Seen in VS Code: "… and runs (sb: environment, limits, ports and runtime unchanged.). The agent's session ended …"
    assert.match(protectedAgainMessage(breach(['sb: environment, limits, ports and runtime unchanged.'])), /, and runs\. The agent's session ended/);
    assert.match(protectedAgainMessage(breach(['Changed in sb: env FOO added.', 'The template of sb changed.'])), /and runs \(Changed in sb: env FOO added; The template of sb changed\)\. The agent/);
  });

  it('says a read-only path is made read-only again, not hidden (seen after git rewrote .git/config by rename)', () => {
    const replaced = (readOnly: string[], action: HidingBreach['action']): HidingBreach => ({ sandbox: 'sb', paths: ['/w/.git/config'], readOnly, action, cause: 'replaced', seenBy: 'host', resumed: { sandbox: {} as SandboxDetails, notes: [] } });
    assert.match(protectedAgainMessage(replaced(['/w/.git/config'], 'resumed')), /a new container makes it read-only again, with the sandbox's state kept/);
    assert.match(protectedAgainMessage(replaced(['/w/.git/config'], 'stopped')), /"paddock apply sb" makes it read-only again and keeps/);
    assert.match(protectedAgainMessage(replaced([], 'resumed')), /a new container hides it, with/);
  });
});
