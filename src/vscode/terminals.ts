import * as vscode from 'vscode';
import { agentArgv, getAgent, isAgentId, type AgentSpec } from '../core/agents.js';
import { describeEngineError } from '../core/errors.js';
import type { SandboxEngine } from '../engine/engine.js';
import { openTerminalSession, type TerminalSession } from '../engine/session.js';
import { DisposableOwner } from './lifecycle.js';

const DIM = '\x1b[2m';
const RED = '\x1b[31m';
const RESET = '\x1b[0m';

/** What a terminal is attached to; `prepare` runs first (for profiles: create/start the sandbox). */
export interface TerminalTarget {
  readonly sandbox: string;
  readonly agent: AgentSpec;
  readonly argv: readonly string[];
}

/**
 * A Pseudoterminal bridged to a TTY exec in the sandbox: keys go in, output (colours and all)
 * comes out, setDimensions resizes the remote TTY, and the exit code is printed when the agent
 * ends; the terminal then closes on the next key. Because the workspace is mounted at its host
 * path, absolute paths in the output are links to the right files.
 */
export class SandboxPseudoterminal implements vscode.Pseudoterminal {
  private readonly writer = new vscode.EventEmitter<string>();
  private readonly closer = new vscode.EventEmitter<number | void>();
  readonly onDidWrite = this.writer.event;
  readonly onDidClose = this.closer.event;
  private session?: TerminalSession;
  private size?: { rows: number; cols: number };
  private exitCode?: number;
  private closed = false;
  /** Fires with the sandbox name once attached (for the manager's bookkeeping). */
  readonly attached = new vscode.EventEmitter<string>();

  /** Attached and the agent still running (an ended one waits for a key to close). */
  get live(): boolean {
    return !this.closed && this.exitCode === undefined;
  }

  constructor(private readonly engine: () => SandboxEngine, private readonly resolveTarget: (write: (line: string) => void) => Promise<TerminalTarget>) {}

  open(dimensions: vscode.TerminalDimensions | undefined): void {
    if (dimensions) this.size = { rows: dimensions.rows, cols: dimensions.columns };
    void this.start();
  }

  private async start(): Promise<void> {
    try {
      const target = await this.resolveTarget((line) => this.writer.fire(`${DIM}${line}${RESET}\r\n`));
      if (this.closed) return;
      this.writer.fire(`${DIM}[paddock] ${target.agent.label} in sandbox ${target.sandbox}${RESET}\r\n`);
      this.session = await openTerminalSession(this.engine(), target.sandbox, target.argv, {
        size: this.size,
        onData: (text) => this.writer.fire(text),
      });
      this.attached.fire(target.sandbox);
      if (this.closed) {
        await this.session.kill();
        return;
      }
      const code = await this.session.exit;
      this.exitCode = code;
      this.writer.fire(`\r\n${code === 0 ? DIM : RED}[paddock] ${target.agent.label} exited with code ${code}. Press any key to close the terminal.${RESET}\r\n`);
    } catch (err) {
      this.exitCode = 1;
      this.writer.fire(`\r\n${RED}[paddock] ${describeEngineError(err, this.engine().endpoint.host).replace(/\n/g, '\r\n')}${RESET}\r\n${DIM}Press any key to close the terminal.${RESET}\r\n`);
    }
  }

  handleInput(data: string): void {
    if (this.exitCode !== undefined) {
      this.closer.fire(this.exitCode);
      return;
    }
    this.session?.write(data);
  }

  setDimensions(dimensions: vscode.TerminalDimensions): void {
    this.size = { rows: dimensions.rows, cols: dimensions.columns };
    void this.session?.resize(dimensions.rows, dimensions.columns);
  }

  close(): void {
    this.closed = true;
    void this.session?.kill();
    this.writer.dispose();
    this.closer.dispose();
    this.attached.dispose();
  }
}

/** Opens agent terminals and reuses an open one for the same sandbox and agent. */
export class AgentTerminals extends DisposableOwner implements vscode.Disposable {
  private readonly open = new Map<vscode.Terminal, { sandbox: string; pty: SandboxPseudoterminal }>();

  constructor(private readonly engine: () => SandboxEngine) {
    super();
    this.register(vscode.window.onDidCloseTerminal((t) => this.open.delete(t)));
    this.register(
      // Terminals from the + menu (profiles) learn their sandbox only once it is prepared.
      vscode.window.onDidOpenTerminal((t) => {
        const pty = (t.creationOptions as vscode.ExtensionTerminalOptions).pty;
        if (pty instanceof SandboxPseudoterminal) pty.attached.event((sandbox) => this.open.set(t, { sandbox, pty }));
      }),
    );
  }

  /** Shows the terminal of a sandbox if one is open, else attaches a new one to the agent. */
  attach(sandbox: string, agentId: string, options: { autoApprove?: boolean; reuse?: boolean; workspaceName?: string } = {}): vscode.Terminal {
    const key = `${sandbox}`;
    if (options.reuse !== false) {
      for (const [terminal, entry] of this.open) {
        // A terminal whose agent ended (say the sandbox was stopped) is not reused: attach anew.
        if (entry.sandbox === key && entry.pty.live && terminal.exitStatus === undefined) {
          terminal.show();
          return terminal;
        }
      }
    }
    const agent = isAgentId(agentId) ? getAgent(agentId) : getAgent('shell');
    const argv = agentArgv(agent, [], options.autoApprove ?? true);
    const pty = new SandboxPseudoterminal(this.engine, async () => ({ sandbox, agent, argv }));
    const terminal = vscode.window.createTerminal({ name: terminalName(agent, options.workspaceName), pty, iconPath: new vscode.ThemeIcon(agent.id === 'shell' ? 'terminal' : 'robot') });
    this.open.set(terminal, { sandbox: key, pty });
    terminal.show();
    return terminal;
  }

  /** Terminals attached to this sandbox (to close them when it is removed). */
  terminalsOf(sandbox: string): vscode.Terminal[] {
    return [...this.open].filter(([, e]) => e.sandbox === sandbox).map(([t]) => t);
  }
}

export function terminalName(agent: AgentSpec, workspaceName?: string): string {
  return `${agent.id === 'shell' ? 'Shell' : agent.label} (sandboxed)${workspaceName ? ` · ${workspaceName}` : ''}`;
}
