// The physical view reuses its walk of the target's tree while nothing in it changed
// (./src/bridge/viewPrologue.ts). From the attacker's side: with a saved walk in place, the target
// changes what the walk found (a new hard link to a blocked file, a new blocked file with a link,
// a folder swapped, a symlink swapped, a restart, a policy that blocks more) and the next call
// still reads nothing it must not.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { docker } from '../../support/sandbox.js';
import { callTool, connectBridge, PROJECT, rulesFor, startFixture, suffix, type Connected, type Fixture } from './support.js';

let fx: Fixture;
let b: Connected;
/** In /app/.env (blocked); no masking rule knows it, so only physical absence hides it. */
const MARKER = `quince${randomBytes(6).toString('hex')}`;
const LATE = `medlar${randomBytes(6).toString('hex')}`;
const PLAIN = `damson${randomBytes(6).toString('hex')}`;
const restartable = `pbt-api-restart-${suffix}`;

const sh = (container: string, script: string) => {
  const r = docker(['exec', container, 'sh', '-c', script]);
  assert.equal(r.code, 0, r.stderr);
};
const helperOf = (container: string) => `paddock-bridge-view-${docker(['inspect', '-f', '{{.Id}}', container]).stdout.trim().slice(0, 12)}`;

/** Calls until the view helper of `container` holds a complete saved walk, so the next call reuses it. */
async function walkSaved(client: Connected['client'], container: string): Promise<void> {
  for (let i = 0; i < 40; i++) {
    const r = await callTool(client, 'exec_command', { container, command: ['cat', '/etc/hostname'] });
    assert.equal(r.isError, false, r.text);
    // A walk is saved only when no folder changed in the 2 s before it.
    const saved = docker(['exec', helperOf(container), 'sh', '-c', 'for f in /run/paddock-view/*; do tail -c 1 "$f"; done']);
    if (saved.stdout.includes('E')) return;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  assert.fail(`no walk of ${container} was saved`);
}

before(async () => {
  fx = await startFixture();
  sh(fx.api, [`echo ${MARKER} > /app/.env`, `echo ${PLAIN} > /app/plain.txt`, 'ln /app/plain.txt /tmp/plain-link', 'mkdir -p /srv/box /srv/v1 /srv/v2 /srv/one', `echo ${PLAIN} > /srv/one/data.txt`,
    `echo ${PLAIN} > /srv/box/notes.txt`, `echo ${PLAIN} > /srv/v1/notes.txt`, 'ln /app/.env /srv/v2/notes.txt', 'ln -s /srv/v1 /srv/current'].join(' && '));
  const run = docker(['run', '-d', '--name', restartable, '--label', `com.docker.compose.project=${PROJECT}`, 'debian:bookworm-slim', 'sh', '-c',
    `mkdir -p /app && echo ${MARKER} > /app/.env && exec sleep 2147483647`]);
  assert.equal(run.code, 0, run.stderr);
  b = await connectBridge(fx, rulesFor(fx, { tier: 'permissive' }));
});
after(async () => {
  await b?.close();
  docker(['rm', '-f', restartable]);
  fx?.cleanup();
});

const read = async (client: Connected['client'], container: string, argv: string[]) => {
  const r = await callTool(client, 'exec_command', { container, command: argv });
  assert.ok(!r.text.includes(MARKER) && !r.text.includes(LATE), `${argv.join(' ')} leaked: ${r.text}`);
  return r;
};
const emptyRead = async (container: string, path: string) => {
  const r = await read(b.client, container, ['wc', '-c', path]);
  assert.equal(r.isError, false, r.text);
  assert.match(r.text, new RegExp(`^0 ${path}`, 'm'), `${path} is not empty in the view: ${r.text}`);
};

describe('a saved walk of the target is never trusted past a change (permissive tier)', () => {
  it('a hard link to a blocked file made after the walk was saved reads as empty', async () => {
    await walkSaved(b.client, fx.api);
    const control = await read(b.client, fx.api, ['cat', '/tmp/plain-link']);
    assert.match(control.text, new RegExp(PLAIN), 'the control (a hard link to a plain file) shows its content');
    sh(fx.api, 'ln /app/.env /srv/late-notes.txt');
    await emptyRead(fx.api, '/srv/late-notes.txt');
    await read(b.client, fx.api, ['cat', '/srv/late-notes.txt']);
  });

  it('a new blocked file (in a new folder) and a link to it, made after the walk was saved, read as empty', async () => {
    await walkSaved(b.client, fx.api);
    sh(fx.api, `mkdir -p /app/late/deeper && echo ${LATE} > /app/late/deeper/.env && ln /app/late/deeper/.env /tmp/late-link`);
    await emptyRead(fx.api, '/tmp/late-link');
    await read(b.client, fx.api, ['cat', '/tmp/late-link']);
  });

  it('a folder swapped for one that holds a link to a blocked file reads as empty', async () => {
    await walkSaved(b.client, fx.api);
    assert.match((await read(b.client, fx.api, ['cat', '/srv/box/notes.txt'])).text, new RegExp(PLAIN));
    sh(fx.api, 'mv /srv/box /srv/box.old && mkdir /srv/box && ln /app/.env /srv/box/notes.txt');
    await emptyRead(fx.api, '/srv/box/notes.txt');
  });

  it('a symlink swapped to a folder that holds a link to a blocked file reads as empty', async () => {
    await walkSaved(b.client, fx.api);
    assert.match((await read(b.client, fx.api, ['cat', '/srv/current/notes.txt'])).text, new RegExp(PLAIN));
    sh(fx.api, 'ln -sfn /srv/v2 /srv/current.new && mv -T /srv/current.new /srv/current');
    await emptyRead(fx.api, '/srv/current/notes.txt');
  });

  it('a file with one name that gets a blocked second name in a folder read again reads as empty under its old name', async () => {
    await walkSaved(b.client, fx.api);
    assert.match((await read(b.client, fx.api, ['cat', '/srv/one/data.txt'])).text, new RegExp(PLAIN));
    // /srv/one is not read again (unchanged); the new name is in a new folder, the secret written through it.
    sh(fx.api, `mkdir -p /app/fresh && ln /srv/one/data.txt /app/fresh/.env && echo ${LATE} >> /app/fresh/.env`);
    await emptyRead(fx.api, '/srv/one/data.txt');
  });

  it('while a folder of the target changes all the time, a new link elsewhere still reads as empty', async () => {
    await walkSaved(b.client, fx.api);
    sh(fx.api, 'mkdir -p /var/busy && (while :; do touch /var/busy/f$(date +%N); rm -f /var/busy/f*; sleep 0.1; done) >/dev/null 2>&1 & echo $! > /tmp/busy.pid');
    try {
      for (let i = 0; i < 3; i++) assert.equal((await callTool(b.client, 'exec_command', { container: fx.api, command: ['true'] })).isError, false);
      sh(fx.api, 'ln /app/.env /srv/busy-notes.txt && ln /app/.env /var/busy/kept-notes.txt');
      await emptyRead(fx.api, '/srv/busy-notes.txt');
      await emptyRead(fx.api, '/var/busy/kept-notes.txt');
    } finally {
      sh(fx.api, 'kill $(cat /tmp/busy.pid)');
    }
  });

  it('after the target restarts, a link made before any call reads as empty', async () => {
    await walkSaved(b.client, restartable);
    assert.equal(docker(['restart', '-t', '1', restartable]).code, 0);
    sh(restartable, 'ln /app/.env /tmp/after-restart');
    await emptyRead(restartable, '/tmp/after-restart');
  });

  it('a policy that blocks more does not reuse the walk made for the old one', async () => {
    await walkSaved(b.client, fx.api);
    const base = rulesFor(fx, { tier: 'permissive' });
    const stricter = await connectBridge(fx, { ...base, bridge: { ...base.bridge, blockedPaths: [...base.bridge.blockedPaths, '**/plain.txt'] } });
    try {
      const r = await callTool(stricter.client, 'exec_command', { container: fx.api, command: ['wc', '-c', '/tmp/plain-link'] });
      assert.equal(r.isError, false, r.text);
      assert.match(r.text, /^0 \/tmp\/plain-link/m, `the hard link of a newly blocked file is readable: ${r.text}`);
      // The old policy's bridge still sees it (its own walk), so the difference is the policy's.
      assert.match((await read(b.client, fx.api, ['cat', '/tmp/plain-link'])).text, new RegExp(PLAIN));
    } finally {
      await stricter.close();
    }
  });
});
