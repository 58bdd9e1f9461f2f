import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { engineFacts, localDaemonKey } from '../../../src/engine/engineFacts.js';

/** A rootless-style local daemon (socket and pid file under XDG_RUNTIME_DIR), its pid this process's own. */
function setting() {
  const dir = mkdtempSync(join(tmpdir(), 'paddock-facts-'));
  const run = join(dir, 'run');
  const config = join(dir, 'config');
  mkdirSync(run);
  mkdirSync(join(config, 'docker'), { recursive: true });
  writeFileSync(join(run, 'docker.pid'), `${process.pid}\n`);
  const env = { XDG_RUNTIME_DIR: run, XDG_CONFIG_HOME: config, PADDOCK_BRIDGE_DIR: join(dir, 'state', 'bridge'), HOME: dir };
  let asked = 0;
  let runtimes: Record<string, unknown> = { runc: { path: 'runc' } };
  const docker = { info: async () => { asked++; return { Runtimes: runtimes, DefaultRuntime: 'runc', OperatingSystem: 'Debian' }; } } as unknown as Docker;
  return {
    dir, env, docker, host: `unix://${run}/docker.sock`,
    get asked() { return asked; },
    setRuntimes(next: Record<string, unknown>) { runtimes = next; },
    done: () => rmSync(dir, { recursive: true, force: true }),
  };
}

test('a local daemon is asked once while it runs unchanged; the answer is kept', async () => {
  const s = setting();
  try {
    const first = await engineFacts(s.docker, s.host, { env: s.env });
    const second = await engineFacts(s.docker, s.host, { env: s.env });
    assert.equal(s.asked, 1);
    assert.deepEqual(second, first);
    assert.equal(second.defaultRuntime, 'runc');
  } finally {
    s.done();
  }
});

test('a daemon.json changed since (a runtime added, then a reload) is asked again', async () => {
  const s = setting();
  try {
    await engineFacts(s.docker, s.host, { env: s.env });
    s.setRuntimes({ runc: { path: 'runc' }, runsc: { path: '/usr/bin/runsc' } });
    writeFileSync(join(s.env.XDG_CONFIG_HOME, 'docker', 'daemon.json'), '{"runtimes":{"runsc":{"path":"/usr/bin/runsc"}}}');
    const facts = await engineFacts(s.docker, s.host, { env: s.env });
    assert.equal(s.asked, 2);
    assert.ok('runsc' in facts.runtimes);
  } finally {
    s.done();
  }
});

test('another daemon (a restart: another pid) is asked again', async () => {
  const s = setting();
  try {
    await engineFacts(s.docker, s.host, { env: s.env });
    writeFileSync(join(s.env.XDG_RUNTIME_DIR, 'docker.pid'), `${process.ppid}\n`);
    await engineFacts(s.docker, s.host, { env: s.env });
    assert.equal(s.asked, 2);
  } finally {
    s.done();
  }
});

test('a daemon that cannot be told (no pid file, a dead pid, a remote or unknown socket) is asked every time', async () => {
  const s = setting();
  try {
    for (const host of ['tcp://10.0.0.5:2376', 'ssh://me@build', `unix://${s.dir}/elsewhere.sock`]) {
      assert.equal(localDaemonKey(host, s.env), undefined, host);
      await engineFacts(s.docker, host, { env: s.env });
      await engineFacts(s.docker, host, { env: s.env });
    }
    assert.equal(s.asked, 6);
    writeFileSync(join(s.env.XDG_RUNTIME_DIR, 'docker.pid'), '2147483646\n'); // no such process
    assert.equal(localDaemonKey(s.host, s.env), undefined);
  } finally {
    s.done();
  }
});

test('a cache file written for another daemon, or unreadable, is not believed; fresh always asks', async () => {
  const s = setting();
  try {
    const file = join(s.dir, 'state', 'engine-facts.json');
    mkdirSync(join(s.dir, 'state'), { recursive: true });
    writeFileSync(file, JSON.stringify({ key: 'another daemon', facts: { runtimes: { evil: {} }, defaultRuntime: 'evil', operatingSystem: '' } }));
    assert.equal((await engineFacts(s.docker, s.host, { env: s.env })).defaultRuntime, 'runc');
    writeFileSync(file, '{not json');
    await engineFacts(s.docker, s.host, { env: s.env });
    await engineFacts(s.docker, s.host, { env: s.env, fresh: true });
    assert.equal(s.asked, 3);
  } finally {
    s.done();
  }
});
