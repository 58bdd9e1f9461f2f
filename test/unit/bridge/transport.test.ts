import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AuditLog, formatAuditEntry, readAudit } from '../../../src/bridge/audit.js';
import { chooseTransport, isRemoteEngine } from '../../../src/bridge/host.js';
import { isWildcardAddress } from '../../../src/bridge/server.js';
import { parseSince } from '../../../src/bridge/service.js';
import { bridgePaths, prepareBridgeDir, readToken, removeBridgeDir } from '../../../src/engine/stateFolder.js';

describe('transport choice', () => {
  it('a local Linux engine gets the Unix socket', () => {
    assert.equal(chooseTransport('unix:///var/run/docker.sock', 'Debian GNU/Linux 12 (bookworm)', undefined), process.platform === 'linux' ? 'unix' : 'tcp');
  });
  it('Docker Desktop (engine in a VM) gets loopback TCP, also on its Linux flavour', () => {
    assert.equal(chooseTransport('unix:///home/u/.docker/desktop/docker.sock', 'Docker Desktop', undefined), 'tcp');
    assert.equal(chooseTransport('npipe:////./pipe/docker_engine', 'Docker Desktop', undefined), 'tcp');
  });
  it('non-socket endpoints get TCP; an explicit override wins', () => {
    assert.equal(chooseTransport('tcp://10.0.0.5:2376', 'Ubuntu', undefined), 'tcp');
    assert.equal(chooseTransport('ssh://me@host', 'Ubuntu', undefined), 'tcp');
    assert.equal(chooseTransport('tcp://x:1', 'Ubuntu', 'unix'), 'unix');
  });
  it('an engine on another machine is told apart from one on this machine', () => {
    for (const remote of ['tcp://10.0.0.5:2376', 'ssh://me@build-box', 'ssh://me@build-box:2222', 'tcp://[2001:db8::1]:2376']) assert.equal(isRemoteEngine(remote), true, remote);
    for (const local of ['unix:///var/run/docker.sock', 'npipe:////./pipe/docker_engine', 'tcp://127.0.0.1:2375', 'tcp://localhost:2375', 'ssh://me@localhost', 'tcp://[::1]:2375']) assert.equal(isRemoteEngine(local), false, local);
  });
  it('a TCP listener never binds a wildcard address, however it is spelled', () => {
    for (const wild of ['0.0.0.0', '::', '[::]', '', ' ', '0', '::ffff:0.0.0.0']) assert.equal(isWildcardAddress(wild), true, JSON.stringify(wild));
    for (const one of ['127.0.0.1', '172.17.0.1', '::1']) assert.equal(isWildcardAddress(one), false, one);
  });
});

describe('per-sandbox bridge folder', () => {
  it('is private, has a fresh token per creation, and mounts read-only at /run/paddock', () => {
    const root = mkdtempSync(join(tmpdir(), 'pbt-root-'));
    try {
      const a = prepareBridgeDir('sbx-one', undefined, root);
      assert.equal(a.mount.Target, '/run/paddock');
      assert.equal(a.mount.ReadOnly, true);
      assert.equal(statSync(a.paths.dir).mode & 0o777, 0o700);
      assert.equal(statSync(a.paths.mountDir).mode & 0o777, 0o700);
      assert.equal(statSync(a.paths.token).mode & 0o777, 0o600);
      const first = readToken(a.paths)!;
      assert.ok(first.length >= 40);
      const again = prepareBridgeDir('sbx-one', undefined, root);
      assert.notEqual(readToken(again.paths), first, 'a recreated sandbox gets a new token');
      assert.notEqual(bridgePaths('sbx-two', root).dir, a.paths.dir);
      assert.ok(a.paths.socket.length < 100);
      removeBridgeDir('sbx-one', root);
      assert.throws(() => statSync(a.paths.dir));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('logs since and the audit log', () => {
  it('parses durations, ISO times and Unix seconds', () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    assert.equal(parseSince('10m', now), now / 1000 - 600);
    assert.equal(parseSince('2h', now), now / 1000 - 7200);
    assert.equal(parseSince('1700000000', now), 1700000000);
    assert.equal(parseSince('2026-01-01T11:00:00Z', now), now / 1000 - 3600);
    assert.throws(() => parseSince('soon', now), /duration/);
  });

  it('writes JSON lines and formats them for people', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbt-audit-'));
    try {
      const log = new AuditLog(join(dir, 'a.jsonl'));
      const seen: string[] = [];
      const stop = log.onEntry((e) => seen.push(e.tool));
      log.record({ time: '2026-01-01T00:00:00.000Z', sandbox: 's', tool: 'exec_command', args: { container: 'api', command: 'cat .env' }, decision: 'denied', rule: 'blocked path: **/.env', durationMs: 3, masked: 0, message: 'Denied by blocked path' });
      stop();
      log.record({ time: '2026-01-01T00:00:01.000Z', sandbox: 's', tool: 'get_logs', args: { container: 'api' }, decision: 'allowed', rule: 'permission logs', durationMs: 5, masked: 2 });
      assert.deepEqual(seen, ['exec_command']);
      const entries = readAudit(join(dir, 'a.jsonl'));
      assert.equal(entries.length, 2);
      assert.match(formatAuditEntry(entries[0]), /denied\s+exec_command\s+container=api command=cat \.env\s+\[blocked path: \*\*\/\.env\]/);
      assert.match(formatAuditEntry(entries[1]), /masked=2/);
      assert.equal(readFileSync(join(dir, 'a.jsonl'), 'utf8').split('\n').filter(Boolean).length, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
