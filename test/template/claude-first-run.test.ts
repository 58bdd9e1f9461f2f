// Template tier: what a user sees when `paddock run claude` opens a new sandbox. Claude Code in a
// fresh home asks for a text style and whether to trust the folder; a user who already chose those
// on the host (the same folder: its path is the same inside) is not asked again. Runs the real CLI
// in a real pseudo-terminal (util-linux `script`), as a user would.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CLI, cleanup, makeWorkspace } from '../support/sandbox.js';

/** The screen text of `paddock run claude WS` in a pty, once `until` shows up (or after 60 s). */
function firstScreen(ws: string, env: NodeJS.ProcessEnv, until: RegExp): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn('script', ['-qfc', `${process.execPath} ${CLI} run claude ${ws}`, '/dev/null'], { env: { ...process.env, ...env, TERM: 'xterm-256color' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let raw = '';
    // Without ANSI sequences and spaces (the TUI positions words with cursor moves).
    const text = () => raw.replace(/\x1b\[[0-9;?]*[a-zA-Z]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\s+/g, '');
    const done = () => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      resolve(text());
    };
    const timer = setTimeout(done, 60_000);
    child.stdout.on('data', (c) => {
      raw += c;
      if (until.test(text())) done();
    });
    child.on('close', done);
  });
}

describe('claude template: the first screen of a new sandbox', () => {
  const made: string[] = [];
  after(async () => {
    for (const dir of made) await cleanup(dir);
  });

  it('a fresh home asks for a text style (the check is real)', async () => {
    const ws = makeWorkspace({ 'README.md': '# first run\n' }, 'paddock-claude-first-');
    made.push(ws);
    const host = mkdtempSync(join(tmpdir(), 'pbt-claude-host-'));
    try {
      const screen = await firstScreen(ws, { CLAUDE_CONFIG_DIR: host, ANTHROPIC_API_KEY: 'sk-ant-first-run-test' }, /Choosethetextstyle/);
      assert.match(screen, /Choosethetextstyle/);
    } finally {
      rmSync(host, { recursive: true, force: true });
    }
  });

  it('choices made on the host for this folder carry over: no text style, trust or bypass question, straight to the prompt', async () => {
    const ws = makeWorkspace({ 'README.md': '# first run\n' }, 'paddock-claude-first-');
    made.push(ws);
    const host = mkdtempSync(join(tmpdir(), 'pbt-claude-host-'));
    try {
      writeFileSync(join(host, '.claude.json'), JSON.stringify({ hasCompletedOnboarding: true, oauthAccount: { emailAddress: 'me@example.com' }, projects: { [ws]: { hasTrustDialogAccepted: true } } }));
      writeFileSync(join(host, 'settings.json'), JSON.stringify({ theme: 'light', skipDangerousModePermissionPrompt: true }));
      const screen = await firstScreen(ws, { CLAUDE_CONFIG_DIR: host, ANTHROPIC_API_KEY: 'sk-ant-first-run-test' }, /bypasspermissionson|Choosethetextstyle|trust/i);
      assert.match(screen, /bypasspermissionson/, 'Claude Code\'s prompt, in the auto-approve mode Paddock starts it in');
      assert.doesNotMatch(screen, /Choosethetextstyle|Doyoutrust|Yes,Iaccept/);
    } finally {
      rmSync(host, { recursive: true, force: true });
    }
  });
});
