// "Bridge Activity" in VS Code: which audit logs a window follows, how a call reads there, and
// that a log is followed as it grows (real files, real file watches; no editor needed).
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { activitySources, AuditLineSplitter, formatActivity } from '../../../src/bridge/activity.js';
import { AuditLog, type AuditEntry } from '../../../src/bridge/audit.js';
import { AuditFollower } from '../../../src/bridge/auditFollow.js';
import { bridgePaths, standaloneAuditFile } from '../../../src/engine/stateFolder.js';

const entry = (over: Partial<AuditEntry> = {}): AuditEntry => ({
  time: '2026-11-23T01:40:12.345Z', sandbox: 'paddock-shell-app-1', tool: 'exec_command',
  args: { container: 'api', command: 'cat /app/.env' }, decision: 'denied', rule: 'blocked path: **/.env',
  durationMs: 12, masked: 0, message: 'Denied by the blocked path **/.env.\nAdd it to bridge.exec to allow it.', ...over,
});

describe('bridge activity lines', () => {
  it('shows time, sandbox, tool, masked arguments, decision, rule, duration and masked count on one line', () => {
    const [line, detail] = formatActivity(entry(), 'paddock-shell-app-1').split('\n');
    assert.equal(line, '2026-11-23T01:40:12.345Z  paddock-shell-app-1  exec_command  container=api command="cat /app/.env"  DENIED  [blocked path: **/.env]  12ms  masked 0');
    assert.equal(detail, '    Denied by the blocked path **/.env.', 'the first line of what the agent was told follows a denial');
  });

  it('an allowed call has no message line and lists what was masked by which rule', () => {
    const text = formatActivity(entry({ decision: 'allowed', rule: 'permission logs', tool: 'get_logs', args: { container: 'db', tail: 50 }, masked: 3, maskedRules: { 'postgres url': 2, 'aws key id': 1 }, message: 'ignored' }), 'demo');
    assert.equal(text, '2026-11-23T01:40:12.345Z  demo  get_logs  container=db tail=50  allowed  [permission logs]  12ms  masked 3 (postgres url×2, aws key id×1)');
  });

  it('an argument with a newline cannot forge a second line', () => {
    const text = formatActivity(entry({ decision: 'error', args: { pattern: 'x\n2026-11-23T00:00:00Z  fake  exec_command  allowed' }, message: undefined }), 's');
    assert.equal(text.split('\n').length, 1);
    assert.match(text, /pattern="x\\n2026/);
    assert.match(text, /  ERROR  /);
    assert.match(formatActivity(entry({ tool: 'list_containers', args: {}, decision: 'allowed' }), 's'), /list_containers  \(no arguments\)  allowed/);
  });

  it('nor can the rule or the message, which quote the agent\'s words', () => {
    const forged = 'git -x\n2026-11-23T00:00:00Z  fake  exec_command  container=api  allowed\x1b[2K';
    const text = formatActivity(entry({ rule: `executing option: ${forged}`, message: `"${forged}" runs other commands` }), 's');
    assert.equal(text.split('\n').length, 2, 'the call and its message line');
    assert.match(text, /\[executing option: git -x\^J2026.*allowed\^\[\[2K\]/);
    assert.doesNotMatch(text, /\x1b/);
  });
});

describe('which audit logs a window follows', () => {
  const root = '/state/paddock/bridge';
  const folders = [{ name: 'app', path: '/home/me/app' }, { name: 'web', path: '/home/me/web' }];
  const sandboxes = [
    { name: 'paddock-shell-app-1', workspace: '/home/me/app' },
    { name: 'paddock-claude-sub-2', workspace: '/home/me/app/packages/sub' },
    { name: 'paddock-shell-other-3', workspace: '/home/me/other' },
    { name: 'paddock-shell-app2-4', workspace: '/home/me/app2' },
  ];

  it('the sandboxes of its folders (also of sub-folders) and each folder\'s chat bridge, not other projects', () => {
    const sources = activitySources(folders, sandboxes, root);
    assert.deepEqual(sources.map((s) => s.label), ['paddock-shell-app-1', 'paddock-claude-sub-2', 'chat:app', 'chat:web']);
    assert.equal(sources[0].file, bridgePaths('paddock-shell-app-1', root).audit);
    assert.equal(sources[2].file, standaloneAuditFile('stdio', '/home/me/app', root));
  });

  it('a sandbox of another folder when asked for it', () => {
    assert.ok(activitySources(folders, sandboxes, root, ['paddock-shell-other-3']).some((s) => s.label === 'paddock-shell-other-3'));
  });

  it('the chat bridge log is the one `paddock bridge --stdio --workspace FOLDER` writes', () => {
    assert.equal(standaloneAuditFile('stdio', '/home/me/app', root), standaloneAuditFile('stdio', '/home/me/app', root));
    assert.notEqual(standaloneAuditFile('stdio', '/home/me/app', root), standaloneAuditFile('stdio', '/home/me/web', root));
    assert.ok(standaloneAuditFile('stdio', '/home/me/app', root).startsWith(`${root}/stdio-`));
  });
});

describe('audit lines as they are appended', () => {
  it('a line cut mid-write waits for its end; a torn line is skipped', () => {
    const s = new AuditLineSplitter();
    const line = JSON.stringify(entry());
    assert.deepEqual(s.push(line.slice(0, 20)), []);
    assert.equal(s.push(`${line.slice(20)}\n{"torn\n`).length, 1);
    assert.deepEqual(s.push('\n'), []);
    assert.equal(s.push(`${line}\n${line}\n`).length, 2);
  });
});

describe('following audit logs', () => {
  const root = mkdtempSync(join(tmpdir(), 'paddock-follow-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  const waitFor = async (cond: () => boolean, what: string) => {
    for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(cond(), `never saw ${what}`);
  };

  it('starts with the backlog, then prints each call as the bridge records it, including in a log that did not exist yet', async () => {
    const a = bridgePaths('sandbox-a', root).audit;
    const b = bridgePaths('sandbox-b', root).audit;
    mkdirSync(dirname(a), { recursive: true });
    writeFileSync(a, Array.from({ length: 5 }, (_, i) => JSON.stringify(entry({ tool: `old_${i}` }))).join('\n') + '\n');
    const seen: string[] = [];
    const follower = new AuditFollower(root, (e, s) => seen.push(`${s.label} ${e.tool}`), 2);
    try {
      follower.setSources([{ file: a, label: 'A' }, { file: b, label: 'B' }]);
      assert.deepEqual(seen, ['A old_3', 'A old_4'], 'only the last entries of the backlog');

      new AuditLog(a).record(entry({ tool: 'get_logs' }));
      await waitFor(() => seen.includes('A get_logs'), 'the appended call');

      // sandbox-b's folder appears only when its bridge records its first call
      new AuditLog(b).record(entry({ tool: 'list_containers' }));
      await waitFor(() => seen.includes('B list_containers'), 'the call in the new log');

      // a recreated sandbox starts a new log: it is read from its start, nothing is lost or repeated
      rmSync(dirname(a), { recursive: true });
      new AuditLog(a).record(entry({ tool: 'after_recreate' }));
      await waitFor(() => seen.includes('A after_recreate'), 'the call in the recreated log');
      appendFileSync(a, JSON.stringify(entry({ tool: 'second' })) + '\n');
      await waitFor(() => seen.includes('A second'), 'the second call');
      assert.equal(seen.filter((s) => s === 'A get_logs').length, 1);
      assert.equal(seen.filter((s) => s === 'A after_recreate').length, 1);

      // a log no longer followed is not printed
      follower.setSources([{ file: b, label: 'B' }]);
      new AuditLog(a).record(entry({ tool: 'unfollowed' }));
      new AuditLog(b).record(entry({ tool: 'still_followed' }));
      await waitFor(() => seen.includes('B still_followed'), 'the followed call');
      follower.poll();
      assert.ok(!seen.includes('A unfollowed'));
    } finally {
      follower.close();
    }
  });
});
