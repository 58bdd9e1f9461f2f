import * as vscode from 'vscode';
import { AGENT_IDS, agentArgv, getAgent } from '../core/agents.js';
import { PaddockError } from '../core/errors.js';
import { prepareWithProgress, type Services } from './commands.js';
import { currentFolder } from './settings.js';
import { SandboxPseudoterminal, terminalName } from './terminals.js';

/**
 * Terminal profiles ("Claude (sandboxed)", ...) in the terminal's + menu: the terminal opens at
 * once and prepares the sandbox of the current folder (create or reuse, start) before attaching.
 */
export function terminalProfileProviders(services: Services): Map<string, vscode.TerminalProfileProvider> {
  return new Map(AGENT_IDS.map((id) => [`paddock.profile.${id}`, {
    provideTerminalProfile() {
      const agent = getAgent(id);
      const folder = currentFolder();
      const pty = new SandboxPseudoterminal(() => services.store.engine, async (write) => {
        if (!folder) throw new PaddockError('No folder is open.', 'Open your project folder, then open this terminal again.');
        write(`[paddock] preparing the ${agent.label} sandbox for ${folder.uri.fsPath}...`);
        const prepared = await prepareWithProgress(services, id, folder);
        return { sandbox: prepared.sandbox.name, agent, argv: agentArgv(agent, [], true) };
      });
      return new vscode.TerminalProfile({ name: terminalName(agent, folder?.name), pty, iconPath: new vscode.ThemeIcon(id === 'shell' ? 'terminal' : 'robot') });
    },
  }]));
}
