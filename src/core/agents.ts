import { PaddockError } from './errors.js';

/** What Paddock knows about each agent it can run. */
export interface AgentSpec {
  readonly id: AgentId;
  readonly label: string;
  /** The template folder under templates/ the image is built from. */
  readonly template: string;
  /** argv that starts the agent inside the sandbox. */
  readonly command: readonly string[];
  /** Extra argv for the no-prompt mode that suits a sandbox (the sandbox is the safety net). */
  readonly autoApproveArgs: readonly string[];
  /** Environment the agent needs inside the sandbox (not secrets). */
  readonly env: Readonly<Record<string, string>>;
}

export const AGENT_IDS = ['claude', 'gemini', 'codex', 'shell'] as const;
export type AgentId = (typeof AGENT_IDS)[number];

export const AGENTS: Readonly<Record<AgentId, AgentSpec>> = {
  claude: {
    id: 'claude', label: 'Claude Code', template: 'claude', command: ['claude'],
    autoApproveArgs: ['--dangerously-skip-permissions'],
    // Claude Code refuses to skip permissions as uid 0 unless it is told it runs in a sandbox.
    env: { IS_SANDBOX: '1' },
  },
  gemini: { id: 'gemini', label: 'Gemini CLI', template: 'gemini', command: ['gemini'], autoApproveArgs: ['--yolo'], env: {} },
  codex: {
    id: 'codex', label: 'Codex', template: 'codex', command: ['codex'],
    // Codex's own Landlock sandbox cannot nest inside a container; Paddock's container is the sandbox.
    autoApproveArgs: ['--dangerously-bypass-approvals-and-sandbox'], env: {},
  },
  shell: { id: 'shell', label: 'Shell', template: 'shell', command: ['bash', '--login'], autoApproveArgs: [], env: {} },
};

export function isAgentId(value: string): value is AgentId {
  return (AGENT_IDS as readonly string[]).includes(value);
}

export function getAgent(name: string): AgentSpec {
  if (!isAgentId(name)) {
    throw new PaddockError(`Unknown agent "${name}".`, `Choose one of: ${AGENT_IDS.join(', ')}.`);
  }
  return AGENTS[name];
}

/** The argv that starts an agent: its command, the no-prompt flags unless turned off, then the user's args. */
export function agentArgv(agent: AgentSpec, userArgs: readonly string[], autoApprove: boolean): string[] {
  return [...agent.command, ...(autoApprove ? agent.autoApproveArgs : []), ...userArgs];
}
