// A crash or a full disk mid-write leaves a torn last line in the bridge audit or the egress log:
// the entries written after it must still be read (by `paddock bridge log`, `paddock network log`
// and the editor's Bridge Activity), and Paddock's own writers never leave one.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AuditLineSplitter } from '../../../src/bridge/activity.js';
import { AuditLog, formatAuditEntry, readAudit, readAuditLines, type AuditEntry } from '../../../src/bridge/audit.js';
import { EgressLogWriter, parseEgressLog, type EgressLogEntry } from '../../../src/proxy/log.js';

const outcome = (tool: string, extra: Partial<AuditEntry> = {}): AuditEntry => ({
  time: '2026-01-01T00:00:00.000Z', sandbox: 's', tool, args: { container: 'api' }, decision: 'allowed', rule: 'permission logs', durationMs: 1, masked: 0, ...extra,
});
const egress = (host: string): EgressLogEntry => ({ time: '2026-01-01T00:00:00.000Z', sandbox: 's', method: 'CONNECT', host, port: 443, decision: 'allow', rule: `allow ${host}`, bytesSent: 0, bytesReceived: 0 });

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'pbt-torn-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('torn log lines', () => {
  it('an audit entry written after a torn line is read by bridge log and the activity view', () => withDir((dir) => {
    const file = join(dir, 'audit.jsonl');
    const log = new AuditLog(file);
    log.record(outcome('before'));
    // A crash mid-write: half an entry, no newline.
    appendFileSync(file, JSON.stringify(outcome('torn')).slice(0, 40));
    log.record(outcome('after'));
    assert.deepEqual(readAudit(file).map((e) => e.tool), ['before', 'after']);
    assert.deepEqual(new AuditLineSplitter().push(readFileSync(file, 'utf8')).map((e) => e.tool), ['before', 'after']);
    assert.ok(readFileSync(file, 'utf8').endsWith('}\n'));
  }));

  it('an entry glued behind a torn fragment by another writer is recovered', () => withDir((dir) => {
    const file = join(dir, 'audit.jsonl');
    writeFileSync(file, `${JSON.stringify(outcome('before'))}\n${JSON.stringify(outcome('torn')).slice(0, 55)}${JSON.stringify(outcome('glued', { rule: 'has {"time": inside' }))}\n`);
    assert.deepEqual(readAudit(file).map((e) => e.tool), ['before', 'glued']);
  }));

  it('a call reads as one entry: its outcome replaces the line written before it ran', () => withDir((dir) => {
    const file = join(dir, 'audit.jsonl');
    const log = new AuditLog(file);
    const done = log.begin({ time: '2026-01-01T00:00:00.000Z', sandbox: 's', tool: 'exec_command', args: { command: 'npm test' } });
    const running = log.begin({ time: '2026-01-01T00:00:01.000Z', sandbox: 's', tool: 'get_logs', args: {} });
    log.record(outcome('exec_command', { call: done, durationMs: 42 }));
    const entries = readAudit(file);
    assert.deepEqual(entries.map((e) => [e.tool, e.decision, e.call]), [['exec_command', 'allowed', done], ['get_logs', 'started', running]]);
    assert.match(formatAuditEntry(entries[1]), /started\s+get_logs/);
    assert.equal(readFileSync(file, 'utf8').split('\n').filter(Boolean).length, 3, 'the start lines stay in the file');
    // bridge log -f prints lines as written: each start, then its outcome.
    assert.deepEqual(readAuditLines(file).map((e) => [e.tool, e.decision]), [['exec_command', 'started'], ['get_logs', 'started'], ['exec_command', 'allowed']]);
  }));

  it('bridge log prints the agent\'s arguments on one line, control characters shown: no forged entry, nothing for the terminal to obey', () => {
    const forged = `ls\n2026-01-01T00:00:09.000Z  allowed    exec_command  container=api command=cat .env  [tier permissive] 1ms\x1b]52;c;aWQ=\x07`;
    const line = formatAuditEntry(outcome('exec_command', { args: { container: 'api', command: forged }, decision: 'denied', rule: `executing option: ${forged}`, message: `"${forged}" runs other commands` }));
    assert.equal(line.split('\n').length, 2, 'the entry and its message line only');
    assert.match(line, /command=ls\^J2026-01-01T00:00:09\.000Z {2}allowed .*1ms\^\[\]52;c;aWQ=\^G/);
    assert.doesNotMatch(line, /[\x1b\x07]/);
  });

  it('an egress entry written after a torn line is read by network log', () => withDir((dir) => {
    const file = join(dir, 'egress.jsonl');
    const first = new EgressLogWriter(file);
    first.write(egress('before.test'));
    first.close();
    appendFileSync(file, JSON.stringify(egress('torn.test')).slice(0, 30));
    const second = new EgressLogWriter(file);
    second.write(egress('after.test'));
    second.close();
    assert.deepEqual(parseEgressLog(readFileSync(file, 'utf8')).map((e) => e.host), ['before.test', 'after.test']);
    const glued = `${JSON.stringify(egress('torn.test')).slice(0, 30)}${JSON.stringify(egress('glued.test'))}\n`;
    assert.deepEqual(parseEgressLog(glued).map((e) => e.host), ['glued.test']);
  }));
});
