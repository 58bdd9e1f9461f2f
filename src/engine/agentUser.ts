/** The agent user's home in every sandbox (templates/base/paddock-init creates it there). */
export const AGENT_HOME = '/home/agent';

/**
 * The environment an exec as `user` starts with: the agent's HOME, also when the agent has uid 0
 * (a workspace that belongs to root), where Docker would take root's /root from the passwd file.
 */
export function execBaseEnv(user: string): Record<string, string> {
  return user === 'agent' ? { HOME: AGENT_HOME } : {};
}
