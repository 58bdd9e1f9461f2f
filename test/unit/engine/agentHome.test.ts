// The script that writes the agents' configs in the sandbox home, run here with this machine's node
// against a temporary HOME (inside a sandbox it runs the same way, as the agent user).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { KEY_PLACEHOLDER } from '../../../src/core/credentials.js';
import { AGENT_HOME_SCRIPT, handAgentHomeToInit, hostClaudePrefs, hostGeminiTrusts, keepAgentKeyEnv } from '../../../src/engine/agentHome.js';
import { bridgePaths } from '../../../src/engine/stateFolder.js';

function run(home: string, env: Record<string, string> = {}): void {
  execFileSync(process.execPath, ['-e', AGENT_HOME_SCRIPT], { env: { PATH: process.env.PATH, HOME: home, ...env } });
}

describe('agent configs in the sandbox home', () => {
  const withHome = (check: (home: string) => void) => {
    const home = mkdtempSync(join(tmpdir(), 'pbt-home-'));
    try {
      check(home);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  };
  const read = (home: string, file: string) => readFileSync(join(home, file), 'utf8');

  it('registers the bridge for all three agents, keeping what was there, and running twice changes nothing', () => withHome((home) => {
    writeFileSync(join(home, '.claude.json'), JSON.stringify({ theme: 'dark', mcpServers: { mine: { command: 'x' } } }));
    mkdirSync(join(home, '.codex'));
    writeFileSync(join(home, '.codex', 'config.toml'), 'model = "o9"\n\n[mcp_servers.mine]\ncommand = "x"\n');
    run(home);
    const claude = JSON.parse(read(home, '.claude.json'));
    assert.equal(claude.theme, 'dark');
    assert.deepEqual(Object.keys(claude.mcpServers), ['mine', 'paddock']);
    assert.equal(JSON.parse(read(home, '.gemini/settings.json')).mcpServers.paddock.command, '/run/paddock/paddock-mcp');
    const toml = read(home, '.codex/config.toml');
    assert.match(toml, /^model = "o9"$/m);
    assert.match(toml, /^\[mcp_servers\.mine\]$/m);
    assert.match(toml, /^\[mcp_servers\.paddock\]\ncommand = "\/run\/paddock\/paddock-mcp"$/m);
    run(home);
    assert.equal(read(home, '.codex/config.toml'), toml);
    assert.equal(JSON.parse(read(home, '.gemini/settings.json')).security, undefined, 'no key injection: no auth mode is chosen');
  }));

  it('with injected keys: Codex gets its base URL as a top-level key, Gemini its API-key mode unless one is chosen', () => withHome((home) => {
    mkdirSync(join(home, '.codex'));
    writeFileSync(join(home, '.codex', 'config.toml'), '[profiles.x]\nmodel = "o9"\n');
    const env = { OPENAI_API_KEY: KEY_PLACEHOLDER, OPENAI_BASE_URL: 'http://paddock-egress:3130/openai', GEMINI_API_KEY: KEY_PLACEHOLDER };
    run(home, env);
    const toml = read(home, '.codex/config.toml');
    assert.ok(toml.startsWith('openai_base_url = "http://paddock-egress:3130/openai"\n'), 'before the first [table], where TOML keeps top-level keys');
    assert.equal(JSON.parse(read(home, '.gemini/settings.json')).security.auth.selectedType, 'gemini-api-key');
    run(home, { ...env, OPENAI_BASE_URL: 'http://paddock-egress:3130/openai2' });
    assert.equal(read(home, '.codex/config.toml').match(/^openai_base_url/gm)!.length, 1, 'updated in place, not added twice');
    assert.match(read(home, '.codex/config.toml'), /openai2/);
    // A user who chose another Gemini auth mode keeps it.
    writeFileSync(join(home, '.gemini', 'settings.json'), JSON.stringify({ security: { auth: { selectedType: 'oauth-personal' } } }));
    run(home, env);
    assert.equal(JSON.parse(read(home, '.gemini/settings.json')).security.auth.selectedType, 'oauth-personal');
  }));

  it('a real key in the environment (not Paddock\'s placeholder) changes no base URL', () => withHome((home) => {
    run(home, { OPENAI_API_KEY: 'sk-proj-user-passed-it-in', OPENAI_BASE_URL: 'http://gateway.example' });
    assert.doesNotMatch(read(home, '.codex/config.toml'), /openai_base_url/);
  }));

  it('carries the user\'s Claude Code choices from the host for the same folder, never its credentials', () => withHome((host) => {
    writeFileSync(join(host, '.claude.json'), JSON.stringify({
      theme: 'light-daltonized', hasCompletedOnboarding: true, oauthAccount: { emailAddress: 'me@example.com' }, primaryApiKey: 'sk-ant-host-secret',
      projects: { '/work/app': { hasTrustDialogAccepted: true, allowedTools: ['Bash'] }, '/work/other': { hasTrustDialogAccepted: false } },
    }));
    const prefs = hostClaudePrefs('/work/app', { CLAUDE_CONFIG_DIR: host });
    assert.deepEqual(prefs, { theme: 'light-daltonized', hasCompletedOnboarding: true, trusted: true });
    assert.deepEqual(hostClaudePrefs('/work/other', { CLAUDE_CONFIG_DIR: host }), { theme: 'light-daltonized', hasCompletedOnboarding: true }, 'a folder not trusted on the host is not trusted inside');
    assert.deepEqual(hostClaudePrefs('/work/app', { CLAUDE_CONFIG_DIR: join(host, 'none') }), {}, 'no host config: nothing');
    // Claude Code 2.x keeps the theme and the bypass-warning choice in settings.json, which wins.
    writeFileSync(join(host, 'settings.json'), JSON.stringify({ theme: 'dark-ansi', skipDangerousModePermissionPrompt: true, apiKeyHelper: '/bin/secret-helper' }));
    assert.deepEqual(hostClaudePrefs('/work/app', { CLAUDE_CONFIG_DIR: host }), { theme: 'dark-ansi', hasCompletedOnboarding: true, skipBypassWarning: true, trusted: true });
    withHome((sandbox) => {
      run(sandbox, { PADDOCK_CLAUDE_PREFS: JSON.stringify(prefs), PADDOCK_WORKSPACE: '/work/app' });
      const claude = JSON.parse(read(sandbox, '.claude.json'));
      assert.equal(JSON.parse(read(sandbox, '.claude/settings.json')).theme, 'light-daltonized');
      assert.equal(claude.hasCompletedOnboarding, true);
      assert.equal(claude.bypassPermissionsModeAccepted, undefined, 'not accepted on the host: the warning stays');
      assert.deepEqual(claude.projects, { '/work/app': { hasTrustDialogAccepted: true } });
      for (const file of ['.claude.json', '.claude/settings.json']) assert.doesNotMatch(read(sandbox, file), /sk-ant-host-secret|me@example\.com|secret-helper/, file);
      // A choice made inside the sandbox stays.
      writeFileSync(join(sandbox, '.claude.json'), JSON.stringify({ projects: { '/work/app': { hasTrustDialogAccepted: false } } }));
      writeFileSync(join(sandbox, '.claude', 'settings.json'), JSON.stringify({ theme: 'dark' }));
      run(sandbox, { PADDOCK_CLAUDE_PREFS: JSON.stringify({ ...prefs, skipBypassWarning: true }), PADDOCK_WORKSPACE: '/work/app' });
      const again = JSON.parse(read(sandbox, '.claude.json'));
      assert.equal(JSON.parse(read(sandbox, '.claude/settings.json')).theme, 'dark');
      assert.equal(JSON.parse(read(sandbox, '.claude/settings.json')).skipDangerousModePermissionPrompt, true);
      assert.equal(again.bypassPermissionsModeAccepted, true);
      assert.equal(again.projects['/work/app'].hasTrustDialogAccepted, false);
    });
  }));

  it('takes the host\'s inputs from the file paddock-init names (the read-only bridge folder), and fails when it cannot read it', () => withHome((home) => {
    const inputs = join(home, 'agent-home.json');
    writeFileSync(inputs, JSON.stringify({ PADDOCK_CLAUDE_PREFS: JSON.stringify({ theme: 'dark', hasCompletedOnboarding: true }), PADDOCK_GEMINI_TRUSTED: '1' }));
    run(home, { PADDOCK_AGENT_HOME_INPUTS: inputs, PADDOCK_WORKSPACE: '/work/app' });
    assert.equal(JSON.parse(read(home, '.claude/settings.json')).theme, 'dark');
    assert.equal(JSON.parse(read(home, '.claude.json')).hasCompletedOnboarding, true);
    assert.deepEqual(JSON.parse(read(home, '.gemini/trustedFolders.json')), { '/work/app': 'TRUST_FOLDER' });
    assert.throws(() => run(home, { PADDOCK_AGENT_HOME_INPUTS: join(home, 'missing.json') }), /ENOENT/, 'the init says so, and the host writes them by an exec');
  }));

  it('the configs of an empty home that the init copies are what the script writes there, key injection and host choices included (never a key the user passed)', () => withHome((root) => {
    const saved = { ...process.env };
    try {
      Object.assign(process.env, { PADDOCK_BRIDGE_DIR: join(root, 'bridge'), CLAUDE_CONFIG_DIR: join(root, 'host'), GEMINI_CLI_TRUSTED_FOLDERS_PATH: join(root, 'host', 'trusted.json') });
      mkdirSync(join(root, 'host'));
      writeFileSync(join(root, 'host', 'settings.json'), JSON.stringify({ theme: 'light' }));
      writeFileSync(join(root, 'host', 'trusted.json'), JSON.stringify({ '/work/app': 'TRUST_FOLDER' }));
      const paths = bridgePaths('sb');
      mkdirSync(paths.mountDir, { recursive: true });
      const env = { OPENAI_API_KEY: KEY_PLACEHOLDER, OPENAI_BASE_URL: 'http://paddock-egress:3130/openai', GEMINI_API_KEY: 'a-key-the-user-passed' };
      keepAgentKeyEnv('sb', env);
      assert.doesNotMatch(readFileSync(join(paths.dir, 'agent-home.keys.json'), 'utf8'), /a-key-the-user-passed/);
      handAgentHomeToInit({ name: 'sb', id: 'x', workspace: '/work/app', user: { uid: process.getuid!(), gid: process.getgid!() } });
      const fresh = join(paths.mountDir, 'agent-home.fresh');
      const home = join(root, 'home');
      mkdirSync(home);
      run(home, { ...env, PADDOCK_AGENT_HOME_INPUTS: join(paths.mountDir, 'agent-home.json'), PADDOCK_WORKSPACE: '/work/app' });
      const tree = (dir: string): Record<string, string> => Object.fromEntries(readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
        .map((e) => { const full = join(e.parentPath, e.name); return [full.slice(dir.length), readFileSync(full, 'utf8')]; }));
      assert.deepEqual(tree(fresh), tree(home));
      assert.match(tree(fresh)['/.codex/config.toml'], /^openai_base_url = "http:\/\/paddock-egress:3130\/openai"$/m);
      assert.equal(JSON.parse(tree(fresh)['/.claude/settings.json']).theme, 'light');
      assert.deepEqual(JSON.parse(tree(fresh)['/.gemini/trustedFolders.json']), { '/work/app': 'TRUST_FOLDER' });
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  }));

  it('carries Gemini CLI\'s trust in the folder from the host: the most specific rule that covers it decides', () => withHome((host) => {
    const file = join(host, 'trustedFolders.json');
    const trusts = (ws: string, rules: Record<string, string>) => {
      writeFileSync(file, JSON.stringify(rules));
      return hostGeminiTrusts(ws, { GEMINI_CLI_TRUSTED_FOLDERS_PATH: file });
    };
    assert.equal(trusts('/work/app', { '/work/app': 'TRUST_FOLDER' }), true);
    assert.equal(trusts('/work/app', { '/work': 'TRUST_FOLDER' }), true, 'a trusted folder trusts what is inside');
    assert.equal(trusts('/work/app', { '/work/other': 'TRUST_PARENT' }), true, 'TRUST_PARENT trusts the parent /work');
    assert.equal(trusts('/work/app', { '/work': 'TRUST_FOLDER', '/work/app': 'DO_NOT_TRUST' }), false, 'the more specific rule wins');
    assert.equal(trusts('/work/app', { '/work/application': 'TRUST_FOLDER' }), false, 'a name prefix is not a parent');
    assert.equal(hostGeminiTrusts('/work/app', { GEMINI_CLI_TRUSTED_FOLDERS_PATH: join(host, 'none.json') }), false);
    withHome((sandbox) => {
      run(sandbox, { PADDOCK_GEMINI_TRUSTED: '1', PADDOCK_WORKSPACE: '/work/app' });
      assert.deepEqual(JSON.parse(read(sandbox, '.gemini/trustedFolders.json')), { '/work/app': 'TRUST_FOLDER' });
      writeFileSync(join(sandbox, '.gemini', 'trustedFolders.json'), JSON.stringify({ '/work/app': 'DO_NOT_TRUST' }));
      run(sandbox, { PADDOCK_GEMINI_TRUSTED: '1', PADDOCK_WORKSPACE: '/work/app' });
      assert.deepEqual(JSON.parse(read(sandbox, '.gemini/trustedFolders.json')), { '/work/app': 'DO_NOT_TRUST' }, 'an answer given inside stays');
    });
    withHome((sandbox) => {
      run(sandbox, { PADDOCK_GEMINI_TRUSTED: '', PADDOCK_WORKSPACE: '/work/app' });
      assert.throws(() => read(sandbox, '.gemini/trustedFolders.json'), 'not trusted on the host: nothing written');
    });
  }));
});
