import { join } from 'node:path';

// The policy's defaults as plain data: read by the schema in ./policy.ts, and by code that needs
// them without loading the schema library (the CLI's light commands, the engine).

export const POLICY_FILE = join('.paddock', 'policy.yaml');

/** Hidden when there is no policy file (and the default of `hide`). Leading `!` re-includes. */
export const DEFAULT_HIDE = [
  '**/.env', '**/.env.*', '!**/.env.example', '!**/.env.sample', '!**/.env.template',
  '**/*.pem', '**/*.key', '**/*.p12', '**/*.pfx', '**/id_rsa*', '**/id_ed25519*', '**/id_ecdsa*',
  '**/secrets/**', '**/.secrets/**', '**/credentials*.json', '**/service-account*.json',
  '**/.npmrc', '**/.pypirc', '**/.netrc', '**/.aws/credentials', '**/.docker/config.json', '**/*.tfstate', '**/*.tfvars',
] as const;

/**
 * Paths the agent may read but not write: its own cage (policy, agent configs, editor settings),
 * and what the host runs on the user's behalf: the hooks and config of every git dir the host's git
 * reads (core.hooksPath, core.fsmonitor run programs) — the repository's, nested repositories',
 * submodules' (.git/modules/NAME, nesting) and linked worktrees' (.git/worktrees/NAME) — and compose
 * files (docker compose up runs what they say), overrides and .envrc (direnv runs it) included.
 */
export const DEFAULT_READ_ONLY = [
  '.paddock', '.claude', '.gemini', '.codex', '.vscode', '.devcontainer', '.idea',
  '**/.git/hooks', '**/.git/config', '**/.git/config.worktree',
  '**/.git/modules/**/hooks', '**/.git/modules/**/config', '**/.git/modules/**/config.worktree', '**/.git/worktrees/*/config.worktree',
  // where git takes the config and hooks from (linked worktrees have one); a new one is stopped by the guard
  '**/.git/commondir', '**/.git/modules/**/commondir', '**/.git/worktrees/*/commondir',
  '**/docker-compose*.{yml,yaml}', '**/compose{,.*}.{yml,yaml}', '**/.envrc',
] as const;

export const DEFAULT_BRIDGE_DENY = ['rm', 'sh', 'bash', 'zsh', 'dash', 'ash', 'su', 'sudo', 'dd', 'mkfs', 'shutdown', 'reboot', 'kill', 'chmod', 'chown', 'curl', 'wget', 'nc', 'python', 'python3', 'perl', 'node'] as const;

export const DEFAULT_BLOCKED_PATHS = ['**/.env', '**/.env.*', '**/*.pem', '**/*.key', '**/id_rsa*', '**/secrets/**', '/proc/*/environ', '/proc/self/**', '/run/secrets/**', '/etc/shadow'] as const;

/**
 * Hosts an agent needs to work: its model API, its sign-in, and git hosting. Package registries are
 * not listed: network.hostRegistries adds the ones this machine is configured with at create time.
 */
export const DEFAULT_NETWORK_ALLOW = [
  // Claude Code: API, sign-in (claude.ai / platform.claude.com / console), telemetry it waits on
  'api.anthropic.com', 'statsig.anthropic.com', 'sentry.io', 'claude.ai', 'platform.claude.com', 'console.anthropic.com',
  // Gemini CLI: API and Google sign-in
  'generativelanguage.googleapis.com', 'oauth2.googleapis.com', 'cloudcode-pa.googleapis.com', 'accounts.google.com', 'www.googleapis.com',
  // Codex: API and ChatGPT sign-in
  'api.openai.com', 'chatgpt.com', 'auth.openai.com',
  'github.com', 'codeload.github.com', 'objects.githubusercontent.com',
] as const;

/** The network section of a workspace without a policy file. */
export const DEFAULT_NETWORK = { policy: 'deny' as 'allow' | 'deny', allow: [...DEFAULT_NETWORK_ALLOW] as string[], deny: [] as string[], hostRegistries: true };
