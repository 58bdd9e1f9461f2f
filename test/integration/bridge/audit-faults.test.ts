// The bridge audit on a full disk (a real tmpfs mounted for the audit folder): a call whose start
// cannot be written does not run, the agent is told why, no torn line is left, and once space is
// freed calls run and are audited again.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuditLog, readAudit } from '../../../src/bridge/audit.js';
import { BridgeHttpServer } from '../../../src/bridge/server.js';
import { BridgeService } from '../../../src/bridge/service.js';
import { createBridgeServer } from '../../../src/bridge/tools.js';
import { docker } from '../../support/sandbox.js';
import { callTool, clientFor, rulesFor, startFixture, type Fixture } from './support.js';

const TOKEN = randomBytes(24).toString('base64url');

const PAGE = 4096;

/**
 * Fills the tmpfs to the last page, with the audit file ending `room` bytes before a page boundary
 * (tmpfs allocates whole pages, so those bytes still fit and the rest of a line does not). The
 * padding is blank lines, which readers skip.
 */
function fill(dir: string, auditFile: string, room: number): void {
  const size = statSync(auditFile).size;
  appendFileSync(auditFile, '\n'.repeat((PAGE - ((size + room) % PAGE)) % PAGE));
  for (let i = 0; ; i++) {
    try {
      writeFileSync(join(dir, `ballast-${i}`), Buffer.alloc(PAGE));
    } catch (err: any) {
      if (err.code !== 'ENOSPC') throw err;
      rmSync(join(dir, `ballast-${i}`), { force: true });
      return;
    }
  }
}

function freeSpace(dir: string): void {
  for (const f of readdirSync(dir)) if (f.startsWith('ballast-')) rmSync(join(dir, f));
}

describe('bridge audit on a full disk', () => {
  let fixture: Fixture;
  let mount: string;
  let sockDir: string;
  let server: BridgeHttpServer;
  let client: Awaited<ReturnType<typeof clientFor>>;
  let auditFile: string;
  const marker = (n: number) => `/tmp/audit-fault-ran-${n}`;
  const ran = (n: number) => docker(['exec', fixture.api, 'test', '-e', marker(n)]).code === 0;

  before(async () => {
    fixture = await startFixture();
    mount = mkdtempSync(join(tmpdir(), 'pbt-auditfs-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mount]);
    sockDir = mkdtempSync(join(tmpdir(), 'pbt-sock-'));
    auditFile = join(mount, 'audit.jsonl');
    const service = new BridgeService(fixture.docker, rulesFor(fixture, { exec: { [fixture.api]: ['touch *'] } }));
    server = new BridgeHttpServer(TOKEN, () => createBridgeServer(service, new AuditLog(auditFile), 'test'));
    await server.listen({ kind: 'unix', path: join(sockDir, 'bridge.sock') });
    client = await clientFor(join(sockDir, 'bridge.sock'), TOKEN);
  });

  after(async () => {
    await client?.close().catch(() => {});
    await server?.close();
    if (mount) execFileSync('umount', [mount]);
    rmSync(mount, { recursive: true, force: true });
    rmSync(sockDir, { recursive: true, force: true });
    fixture?.cleanup();
  });

  it('runs and audits a call while there is room', async () => {
    const r = await callTool(client, 'exec_command', { container: fixture.api, command: `touch ${marker(1)}` });
    assert.equal(r.isError, false, r.text);
    assert.ok(ran(1));
    assert.deepEqual(readAudit(auditFile).map((e) => [e.tool, e.decision]), [['exec_command', 'allowed']]);
  });

  it('refuses a call whose audit cannot be written, runs nothing and says why', async () => {
    fill(mount, auditFile, 0);
    const sizeBefore = statSync(auditFile).size;
    const r = await callTool(client, 'exec_command', { container: fixture.api, command: `touch ${marker(2)}` });
    assert.equal(r.isError, true);
    assert.match(r.text, /cannot write its audit log .*ENOSPC/);
    assert.match(r.text, /nothing ran/);
    assert.match(r.text, /free space/);
    assert.equal(ran(2), false, 'the command must not run unaudited');
    assert.equal(statSync(auditFile).size, sizeBefore, 'no torn line left');
  });

  it('leaves no torn line when the disk fills in the middle of a line', async () => {
    freeSpace(mount);
    fill(mount, auditFile, 60); // less than one audit line fits
    const sizeBefore = statSync(auditFile).size;
    const r = await callTool(client, 'exec_command', { container: fixture.api, command: `touch ${marker(3)}` });
    assert.equal(r.isError, true, r.text);
    assert.equal(ran(3), false);
    assert.equal(statSync(auditFile).size, sizeBefore);
    assert.ok(readFileSync(auditFile, 'utf8').endsWith('\n'));
  });

  it('runs and audits again once space is freed; bridge log reads every call', async () => {
    freeSpace(mount);
    const r = await callTool(client, 'exec_command', { container: fixture.api, command: `touch ${marker(4)}` });
    assert.equal(r.isError, false, r.text);
    assert.ok(ran(4));
    assert.deepEqual(readAudit(auditFile).map((e) => e.args.command), [`touch ${marker(1)}`, `touch ${marker(4)}`]);
  });
});
