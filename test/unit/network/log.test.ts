// The egress log file: what `paddock network log` reads back, including after a crash mid-line and a rotation.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { formatEntry } from '../../../src/cli/network.js';
import { EgressLogWriter, parseEgressLog, readNewLines, type EgressLogEntry } from '../../../src/proxy/log.js';

const dir = mkdtempSync(join(tmpdir(), 'paddock-egress-log-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const entry = (host: string, decision: EgressLogEntry['decision'] = 'allow'): EgressLogEntry => ({
  time: '2026-11-23T00:54:07.714Z', sandbox: 'sb', method: 'GET', host, port: 80, decision, rule: decision === 'allow' ? `allow ${host}` : `deny ${host}`,
  status: decision === 'allow' ? 200 : 403, bytesSent: 10, bytesReceived: 2048,
});

describe('egress log', () => {
  it('writes one JSON object per line and reads them back, skipping a half-written line', () => {
    const file = join(dir, 'a.jsonl');
    const log = new EgressLogWriter(file);
    log.write(entry('one.test'));
    log.write(entry('two.test', 'deny'));
    log.close();
    appendFileSync(file, '{"time":"2026-11-23T00:5');
    const entries = parseEgressLog(readFileSync(file, 'utf8'));
    assert.deepEqual(entries.map((e) => [e.host, e.decision, e.rule]), [['one.test', 'allow', 'allow one.test'], ['two.test', 'deny', 'deny two.test']]);
  });

  it('follows a growing file by whole lines, and starts over after a rotation', () => {
    const file = join(dir, 'b.jsonl');
    const log = new EgressLogWriter(file, 400);
    log.write(entry('first.test'));
    const first = readNewLines(file);
    assert.equal(parseEgressLog(first.text).length, 1);
    appendFileSync(file, '{"partial":');
    const none = readNewLines(file, first.next);
    assert.equal(none.text, '');
    assert.deepEqual(none.next, first.next);
    // A fresh writer continues the file; past 400 bytes it rotates to .1 and the reader starts from 0.
    const log2 = new EgressLogWriter(join(dir, 'c.jsonl'), 400);
    const c = join(dir, 'c.jsonl');
    log2.write(entry('a.test'));
    log2.write(entry('b.test'));
    const before = readNewLines(c);
    log2.write(entry('c.test'));
    log2.write(entry('d.test'));
    log2.close();
    assert.ok(existsSync(`${c}.1`), 'rotated');
    const afterRotation = readNewLines(c, before.next);
    // The new file is as long as the old one was when last read: only its inode tells the rotation.
    assert.deepEqual(parseEgressLog(afterRotation.text).map((e) => e.host), ['c.test', 'd.test']);
    log.close();
  });

  it('prints a line a person can scan: time, decision, method, host:port, rule, status, bytes', () => {
    assert.equal(formatEntry(entry('allowed.test')).replace(/\s+/g, ' '), '2026-11-23 00:54:07Z ALLOW GET allowed.test:80 allow allowed.test 200 10 B out, 2 KiB in');
    assert.equal(formatEntry(entry('blocked.test', 'deny')).replace(/\s+/g, ' '), '2026-11-23 00:54:07Z DENY GET blocked.test:80 deny blocked.test 403');
  });

  it('a host that was not one (logged as the agent sent it) stays on its line, its control characters shown', () => {
    const line = formatEntry({ ...entry('x\n2026-11-23 00:54:07Z  ALLOW  GET  evil.test:80\x1b]0;t\x07', 'deny'), rule: 'not a host name' });
    assert.equal(line.split('\n').length, 1);
    assert.match(line, /DENY {3}GET {6}x\^J2026.*evil\.test:80\^\[\]0;t\^G:80/);
  });
});
