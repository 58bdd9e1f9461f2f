// The agents' configs in the sandbox home and the agent user, as paddock-init makes them at each
// start (issue 14: no exec after the start for them), through the real CLI and engine: the bridge is
// registered the moment the agent starts, a warm run writes nothing again unless the host's choices
// changed, and, from the attacker's side, a symlink the agent left in its home never makes root
// write where the agent could not.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanup, docker, makeWorkspace, OWNER, paddock, paddockOk } from '../../support/sandbox.js';

/** The commands of the execs made in a container since `since` (seconds since the epoch, the engine's clock). */
function execsSince(container: string, since: number): string[] {
  const r = docker(['events', '--since', String(since), '--until', String(Math.ceil(Date.now() / 1000) + 1), '--filter', `container=${container}`, '--filter', 'event=exec_create', '--format', '{{.Action}}']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean);
}
const configExecs = (execs: string[]) => execs.filter((e) => /\bnode -e\b/.test(e));
const now = () => Math.floor(Date.now() / 1000) - 1;

describe('the agents\' configs and the agent user, made by the init at each start', () => {
  let ws: string;
  let hostConfig: string;
  let env: NodeJS.ProcessEnv;
  const name = `paddock-agent-home-test-${process.pid}`;

  before(() => {
    ws = makeWorkspace({ 'README.md': '# project\n' });
    // The user's Claude Code and Gemini CLI choices on the host: folders of the test's own.
    hostConfig = mkdtempSync(join(tmpdir(), 'paddock-agent-home-host-'));
    writeFileSync(join(hostConfig, '.claude.json'), JSON.stringify({ hasCompletedOnboarding: true, oauthAccount: { emailAddress: 'me@example.com' } }));
    writeFileSync(join(hostConfig, 'settings.json'), JSON.stringify({ theme: 'light' }));
    env = { ...process.env, CLAUDE_CONFIG_DIR: hostConfig, GEMINI_CLI_HOME: hostConfig, GEMINI_CLI_TRUSTED_FOLDERS_PATH: join(hostConfig, 'trustedFolders.json') };
  });
  after(async () => {
    await cleanup(ws);
    rmSync(hostConfig, { recursive: true, force: true });
  });

  it('a cold paddock run: the agent finds the bridge registered and the host\'s choices, with no exec to write them; the agent user is as useradd made it', async () => {
    const since = now();
    const r = await paddockOk(['run', 'shell', ws, '--name', name, '--', '-c',
      'cat ~/.claude.json; echo ===; cat ~/.claude/settings.json; echo ===; cat ~/.gemini/settings.json; echo ===; cat ~/.codex/config.toml; echo ===; '
      + 'getent passwd agent; id -gn; stat -c "%U:%G %a" /home/agent; test -f ~/.bashrc && echo skel'], { env });
    const [claude, settings, gemini, codex, user] = r.stdout.split('===\n');
    assert.deepEqual(JSON.parse(claude).mcpServers.paddock, { type: 'stdio', command: '/run/paddock/paddock-mcp', args: [], env: {} });
    assert.equal(JSON.parse(claude).hasCompletedOnboarding, true, 'the host\'s choice');
    assert.doesNotMatch(claude, /me@example\.com/, 'never the host\'s account');
    assert.equal(JSON.parse(settings).theme, 'light');
    assert.equal(JSON.parse(gemini).mcpServers.paddock.command, '/run/paddock/paddock-mcp');
    assert.match(codex, /^\[mcp_servers\.paddock\]\ncommand = "\/run\/paddock\/paddock-mcp"$/m);
    // The workspace owner's uid and gid, home /home/agent with skel, bash: what useradd -o -m made.
    assert.equal(user, `agent:x:${OWNER.uid}:${OWNER.gid}::/home/agent:/bin/bash\n${OWNER.gid === 0 ? 'root' : 'agent'}\nagent:${OWNER.gid === 0 ? 'root' : 'agent'} 755\nskel\n`);
    assert.deepEqual(configExecs(execsSince(name, since)), [], 'the init wrote them: no node exec after the start');
    assert.match(docker(['logs', name]).stdout, /^paddock: agent configs written$/m);
  });

  it('a warm paddock run writes nothing again, unless a choice on the host changed since', async () => {
    let since = now();
    await paddockOk(['run', 'shell', ws, '--', '-c', 'true'], { env });
    assert.deepEqual(configExecs(execsSince(name, since)), [], 'nothing changed: no exec');
    // The user trusts the folder in Claude Code on the host: the next run carries it in.
    writeFileSync(join(hostConfig, '.claude.json'), JSON.stringify({ hasCompletedOnboarding: true, projects: { [ws]: { hasTrustDialogAccepted: true } } }));
    since = now();
    const r = await paddockOk(['run', 'shell', ws, '--', '-c', 'cat ~/.claude.json'], { env });
    assert.equal(JSON.parse(r.stdout).projects[ws].hasTrustDialogAccepted, true);
    assert.equal(configExecs(execsSince(name, since)).length, 1, 'written by one exec, before the agent started');
    since = now();
    await paddockOk(['run', 'shell', ws, '--', '-c', 'true'], { env });
    assert.deepEqual(configExecs(execsSince(name, since)), [], 'and not again');
  });

  it('from the attacker\'s side: symlinks the agent left in its home, and a write to the host\'s inputs, change nothing that is root\'s', async () => {
    // Root's files in the sandbox that the agent cannot write.
    assert.equal(docker(['exec', '-u', 'root', name, 'sh', '-c', 'echo "{\\"root\\": 1}" > /etc/paddock-victim.json && mkdir -p /etc/paddock-victim-dir']).code, 0);
    const swap = await paddock(['exec', name, '--', 'sh', '-c',
      'rm -rf ~/.claude.json ~/.claude ~/.gemini ~/.codex; ln -s /etc/paddock-victim.json ~/.claude.json; ln -s /etc/paddock-victim-dir ~/.claude; '
      + 'ln -s /etc/paddock-victim-dir ~/.gemini; ln -s /etc/paddock-victim-dir ~/.codex; echo "{}" > /run/paddock/agent-home.json && echo inputs-written'], { env });
    assert.doesNotMatch(swap.stdout, /inputs-written/, 'the host\'s inputs are read-only in the sandbox');
    // A change on the host as well, so that both the init (at the start) and the bridge host's exec try.
    writeFileSync(join(hostConfig, 'trustedFolders.json'), JSON.stringify({ [ws]: 'TRUST_FOLDER' }));
    await paddockOk(['stop', name]);
    const r = await paddock(['run', 'shell', ws, '--', '-c', 'echo started'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /started/, 'the sandbox starts; only the agent\'s own configs are missing');
    assert.match(r.stderr, /configuring the agents in the sandbox home failed \(exit 1\): Error: EACCES: permission denied, open '\/home\/agent\/\.claude\.json'/, 'the user is told why, once');
    const after = docker(['exec', '-u', 'root', name, 'sh', '-c', 'cat /etc/paddock-victim.json; stat -c "%u %a" /etc/paddock-victim.json; ls -A /etc/paddock-victim-dir']);
    assert.equal(after.stdout, '{"root": 1}\n0 644\n', 'root\'s file unchanged and nothing written in root\'s folder');
    assert.match(docker(['logs', name]).stderr, /paddock: the agents' configs were not written: .*EACCES/, 'the init says why');
  });
});
