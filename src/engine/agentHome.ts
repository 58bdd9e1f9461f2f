import * as fs from 'node:fs';
import { chownSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { dirname, join } from 'node:path';
import type Docker from 'dockerode';
import { isInside } from '../core/paths.js';
import { shortHash } from '../core/naming.js';
import { AGENT_HOME, execBaseEnv } from './agentUser.js';
import { execCollect } from './docker.js';
import { bridgePaths, SANDBOX_SHIM, writeSecretFile } from './stateFolder.js';
import { KEY_PLACEHOLDER } from '../core/credentials.js';
import type { SandboxDetails } from './types.js';

/**
 * The agents' own configuration in the sandbox home (never in the workspace), written when a host
 * starts serving the sandbox (`paddock run`, VS Code), before the agent starts:
 * - the MCP bridge: Claude Code (~/.claude.json), Gemini CLI (~/.gemini/settings.json), Codex
 *   (~/.codex/config.toml) get a "paddock" server that runs paddock-mcp;
 * - key injection (when the sandbox's env says its proxy injects a key): Codex reads its base URL
 *   from config.toml (`openai_base_url`), not from the environment; Gemini CLI takes a base URL in
 *   the environment for a "gateway" it refuses headless, so it is told to use its API-key mode;
 * - choices the user already made on the host, so a new sandbox does not ask again: Claude Code's
 *   theme, onboarding done, the bypass-mode warning accepted and trust in this same folder (the
 *   path is the same inside; PADDOCK_CLAUDE_PREFS, from hostClaudePrefs), and Gemini CLI's trust
 *   in it (PADDOCK_GEMINI_TRUSTED, from hostGeminiTrusts). Never credentials; a choice made in
 *   the sandbox is never overwritten.
 * Idempotent; other servers and settings in those files are kept. Runs as the agent user with the
 * image's node: at each start in templates/base/paddock-init, beside its other steps, with the host's
 * inputs from PADDOCK_AGENT_HOME_INPUTS (a file of the read-only bridge folder, see
 * handAgentHomeToInit); otherwise as an exec (configureAgentHome), with them in the environment.
 */
export const AGENT_HOME_SCRIPT = `
const fs = require('fs'), path = require('path'), home = process.env.HOME || ${JSON.stringify(AGENT_HOME)};
// The init's way: the host's inputs in a file (an unreadable one fails the step, and the host writes them by an exec).
if (process.env.PADDOCK_AGENT_HOME_INPUTS) Object.assign(process.env, JSON.parse(fs.readFileSync(process.env.PADDOCK_AGENT_HOME_INPUTS, 'utf8')));
const shim = ${JSON.stringify(SANDBOX_SHIM)};
const placeholder = ${JSON.stringify(KEY_PLACEHOLDER)};
function json(file, update) {
  let data = {};
  try { data = JSON.parse(fs.readFileSync(file, 'utf8')); } catch (e) { if (e.code !== 'ENOENT') return; }
  update(data);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(data, null, 2) + '\\n');
}
let prefs = {}; try { prefs = JSON.parse(process.env.PADDOCK_CLAUDE_PREFS || '{}') || {}; } catch (e) {}
json(path.join(home, '.claude.json'), (d) => {
  d.mcpServers = Object.assign({}, d.mcpServers, { paddock: { type: 'stdio', command: shim, args: [], env: {} } });
  if (prefs.hasCompletedOnboarding === true && d.hasCompletedOnboarding === undefined) d.hasCompletedOnboarding = true;
  if (prefs.skipBypassWarning === true && d.bypassPermissionsModeAccepted === undefined) d.bypassPermissionsModeAccepted = true;
  const ws = process.env.PADDOCK_WORKSPACE;
  if (prefs.trusted === true && ws) {
    d.projects = d.projects || {};
    d.projects[ws] = d.projects[ws] || {};
    if (d.projects[ws].hasTrustDialogAccepted === undefined) d.projects[ws].hasTrustDialogAccepted = true;
  }
});
// Claude Code reads these two as settings (~/.claude/settings.json) since 2.x.
if (typeof prefs.theme === 'string' || prefs.skipBypassWarning === true) json(path.join(home, '.claude', 'settings.json'), (d) => {
  if (typeof prefs.theme === 'string' && d.theme === undefined) d.theme = prefs.theme;
  if (prefs.skipBypassWarning === true && d.skipDangerousModePermissionPrompt === undefined) d.skipDangerousModePermissionPrompt = true;
});
if (process.env.PADDOCK_GEMINI_TRUSTED === '1' && process.env.PADDOCK_WORKSPACE) json(path.join(home, '.gemini', 'trustedFolders.json'), (d) => {
  if (d[process.env.PADDOCK_WORKSPACE] === undefined) d[process.env.PADDOCK_WORKSPACE] = 'TRUST_FOLDER';
});
json(path.join(home, '.gemini', 'settings.json'), (d) => {
  d.mcpServers = Object.assign({}, d.mcpServers, { paddock: { command: shim, args: [] } });
  if (process.env.GEMINI_API_KEY === placeholder) {
    d.security = d.security || {};
    d.security.auth = d.security.auth || {};
    if (!d.security.auth.selectedType) d.security.auth.selectedType = 'gemini-api-key';
  }
});
const toml = path.join(home, '.codex', 'config.toml');
let text = ''; try { text = fs.readFileSync(toml, 'utf8'); } catch (e) {}
let changed = false;
if (!/^\\[mcp_servers\\.paddock\\]/m.test(text)) {
  text = text + (text && !text.endsWith('\\n') ? '\\n' : '') + '\\n[mcp_servers.paddock]\\ncommand = ' + JSON.stringify(shim) + '\\nargs = []\\n';
  changed = true;
}
const base = process.env.OPENAI_API_KEY === placeholder ? process.env.OPENAI_BASE_URL : undefined;
if (base) {
  // A top-level key: it must come before the first [table].
  const line = 'openai_base_url = ' + JSON.stringify(base);
  if (/^openai_base_url\\s*=.*$/m.test(text)) { const next = text.replace(/^openai_base_url\\s*=.*$/m, line); changed = changed || next !== text; text = next; }
  else { text = line + '\\n' + text; changed = true; }
}
if (changed) { fs.mkdirSync(path.dirname(toml), { recursive: true }); fs.writeFileSync(toml, text); }
`;

/** A host file's JSON, or undefined when it is missing or not JSON. */
function readJson(file: string): any {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The user's own Claude Code choices on the host for `workspace`: theme, onboarding done, the
 * bypass-mode warning accepted, trust in this folder. Only these, never credentials.
 */
export function hostClaudePrefs(workspace: string, env: NodeJS.ProcessEnv = process.env): { theme?: string; hasCompletedOnboarding?: true; skipBypassWarning?: true; trusted?: true } {
  // CLAUDE_CONFIG_DIR holds both files; without it, ~/.claude.json and ~/.claude/settings.json.
  const config = readJson(join(env.CLAUDE_CONFIG_DIR || homedir(), '.claude.json'));
  const settings = readJson(join(env.CLAUDE_CONFIG_DIR || join(homedir(), '.claude'), 'settings.json'));
  const theme = typeof settings?.theme === 'string' ? settings.theme : typeof config?.theme === 'string' ? config.theme : undefined;
  return {
    ...(theme ? { theme } : {}),
    ...(config?.hasCompletedOnboarding === true ? { hasCompletedOnboarding: true as const } : {}),
    ...(settings?.skipDangerousModePermissionPrompt === true || config?.bypassPermissionsModeAccepted === true ? { skipBypassWarning: true as const } : {}),
    ...(config?.projects?.[workspace]?.hasTrustDialogAccepted === true ? { trusted: true as const } : {}),
  };
}

/**
 * Whether the user trusts `workspace` in Gemini CLI on the host: the most specific of its
 * trustedFolders.json rules that covers the folder (TRUST_FOLDER on the folder or above it,
 * TRUST_PARENT on a child of the folder or of a folder above it) says TRUST.
 */
export function hostGeminiTrusts(workspace: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const rules: Record<string, unknown> = readJson(env.GEMINI_CLI_TRUSTED_FOLDERS_PATH || join(env.GEMINI_CLI_HOME || homedir(), '.gemini', 'trustedFolders.json')) ?? {};
  let best: { length: number; trusted: boolean } | undefined;
  for (const [path, rule] of Object.entries(rules)) {
    const covers = rule === 'TRUST_PARENT' ? dirname(path) : path;
    if (!isInside(workspace, covers) || (best && best.length >= covers.length)) continue;
    best = { length: covers.length, trusted: rule === 'TRUST_FOLDER' || rule === 'TRUST_PARENT' };
  }
  return best?.trusted ?? false;
}

/** What the script takes from this host for `workspace` (environment entries; the rest is the sandbox's own). */
function hostInputs(workspace: string): Record<string, string> {
  return { PADDOCK_CLAUDE_PREFS: JSON.stringify(hostClaudePrefs(workspace)), PADDOCK_GEMINI_TRUSTED: hostGeminiTrusts(workspace) ? '1' : '' };
}

/** What the configs written from these inputs depend on: the script and the inputs. */
function stampOf(inputs: Record<string, string>): string {
  return shortHash(`${AGENT_HOME_SCRIPT}\0${JSON.stringify(inputs)}`, 16);
}

/** The line paddock-init prints when it wrote the configs (before "paddock: ready"). */
export const AGENT_HOME_WRITTEN = 'paddock: agent configs written';
// At /run/paddock/agent-home.js and .json in the sandbox (templates/base/paddock-init reads them there).
const SCRIPT_FILE = 'agent-home.js';
const INPUTS_FILE = 'agent-home.json';
/** The configs of an empty home, rendered on the host: the init copies them as the agent when the home has none yet. */
const FRESH_DIR = 'agent-home.fresh';
/** In the host-only part of the bridge folder: "CONTAINER-ID STARTED-AT STAMP" of the last configs written. */
const RECORD_FILE = 'agent-home.written';
/** In the host-only part too: the sandbox's key-injection variables the script reads (placeholders and base URLs only), from its create. */
const KEY_ENV_FILE = 'agent-home.keys.json';

/**
 * At create: keeps what of the sandbox's environment the script reads, so that a start can render the
 * configs of an empty home on the host. Only Paddock's placeholder key and the base URL that goes
 * with it, never a key the user passed in.
 */
export function keepAgentKeyEnv(sandboxName: string, env: Readonly<Record<string, string>>): void {
  const kept: Record<string, string> = {};
  if (env.GEMINI_API_KEY === KEY_PLACEHOLDER) kept.GEMINI_API_KEY = KEY_PLACEHOLDER;
  if (env.OPENAI_API_KEY === KEY_PLACEHOLDER) {
    kept.OPENAI_API_KEY = KEY_PLACEHOLDER;
    if (env.OPENAI_BASE_URL) kept.OPENAI_BASE_URL = env.OPENAI_BASE_URL;
  }
  writeFileSync(join(bridgePaths(sandboxName).dir, KEY_ENV_FILE), JSON.stringify(kept));
}

/**
 * The script's output for an empty home, in `dir`: the same script, run here in-process with the
 * sandbox's inputs (its fs and path only), so what the init copies is what node would have written.
 */
function renderFreshHome(dir: string, env: Record<string, string>): void {
  const modules: Record<string, unknown> = { fs, path };
  new Function('require', 'process', AGENT_HOME_SCRIPT)((name: string) => modules[name], { env: { ...env, HOME: dir } });
}

function chownTree(dir: string, owner: { uid: number; gid: number }): void {
  chownSync(dir, owner.uid, owner.gid);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) chownTree(full, owner);
    else chownSync(full, owner.uid, owner.gid);
  }
}

type Sandbox = Pick<SandboxDetails, 'name' | 'id' | 'workspace' | 'user' | 'startedAt'>;

/**
 * Before a start: puts the script and this host's inputs in the sandbox's bridge folder, which the
 * sandbox sees read-only at /run/paddock, so that paddock-init writes the configs as the agent
 * beside its other steps (no exec after the start). Returns the stamp to record once the init says
 * it wrote them, or undefined when the sandbox has no bridge folder.
 */
export function handAgentHomeToInit(sandbox: Sandbox): string | undefined {
  const paths = bridgePaths(sandbox.name);
  if (!existsSync(paths.mountDir)) return undefined;
  const inputs = hostInputs(sandbox.workspace);
  const script = join(paths.mountDir, SCRIPT_FILE);
  if (readOrEmpty(script) !== AGENT_HOME_SCRIPT) writeSecretFile(script, AGENT_HOME_SCRIPT, sandbox.user);
  writeSecretFile(join(paths.mountDir, INPUTS_FILE), JSON.stringify(inputs), sandbox.user);
  // The first start's home has no configs: the init copies these instead of starting node (~150 ms of CPU).
  const fresh = join(paths.mountDir, FRESH_DIR);
  rmSync(fresh, { recursive: true, force: true });
  let keyEnv: Record<string, string> | undefined;
  try {
    keyEnv = JSON.parse(readFileSync(join(paths.dir, KEY_ENV_FILE), 'utf8'));
  } catch { /* made before this: the init runs the script */ }
  if (keyEnv) {
    const staging = `${fresh}.tmp`;
    rmSync(staging, { recursive: true, force: true });
    fs.mkdirSync(staging, { mode: 0o755 });
    renderFreshHome(staging, { PADDOCK_WORKSPACE: sandbox.workspace, ...inputs, ...keyEnv });
    if (process.getuid?.() === 0) chownTree(staging, sandbox.user);
    renameSync(staging, fresh);
  }
  return stampOf(inputs);
}

/** Notes that the configs of this start of the sandbox were written from inputs with `stamp`. */
export function recordAgentHome(sandbox: Sandbox, stamp: string): void {
  if (!sandbox.startedAt) return;
  writeFileSync(join(bridgePaths(sandbox.name).dir, RECORD_FILE), `${sandbox.id} ${sandbox.startedAt} ${stamp}\n`);
}

function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Makes sure the agents' configs of a running sandbox are written for this host's inputs: nothing to
 * do when its init (or an earlier call) wrote them since this start from the same inputs and
 * script; otherwise an exec as the agent (a sandbox whose init predates this, a start by another
 * program, changed host choices). Returns a note when they could not be written.
 */
export async function ensureAgentHome(docker: Docker, sandbox: Sandbox): Promise<string | undefined> {
  const inputs = hostInputs(sandbox.workspace);
  const stamp = stampOf(inputs);
  if (sandbox.startedAt && readOrEmpty(join(bridgePaths(sandbox.name).dir, RECORD_FILE)).trim() === `${sandbox.id} ${sandbox.startedAt} ${stamp}`) return undefined;
  const failed = await configureAgentHome(docker, sandbox.id, sandbox.workspace, inputs);
  if (!failed) recordAgentHome(sandbox, stamp);
  return failed;
}

export async function configureAgentHome(docker: Docker, containerId: string, workspace: string, inputs = hostInputs(workspace)): Promise<string | undefined> {
  const { exitCode, stdout, stderr } = await execCollect(docker, containerId, {
    Cmd: ['node', '-e', AGENT_HOME_SCRIPT], User: 'agent',
    Env: [...Object.entries({ ...execBaseEnv('agent'), PADDOCK_WORKSPACE: workspace, ...inputs }).map(([k, v]) => `${k}=${v}`)],
  });
  const output = `${stdout}${stderr}`;
  // node's own line for the cause ("Error: EACCES: permission denied, open '/home/agent/.claude.json'"), not its stack.
  const why = /^[A-Za-z]*Error\b.*$/m.exec(output)?.[0] ?? output.trim();
  return exitCode === 0 ? undefined : `configuring the agents in the sandbox home failed (exit ${exitCode}): ${why.slice(0, 300)}`;
}
