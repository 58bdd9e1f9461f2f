import * as vscode from 'vscode';
import { agentArgv, getAgent, isAgentId, type AgentSpec } from '../core/agents.js';
import { describeEngineError } from '../core/errors.js';
import type { SandboxEngine } from '../engine/engine.js';
import { openTerminalSession, type TerminalSession } from '../engine/session.js';
import { REMOVED_CAUSE, REMOVED_OUTSIDE, withoutStartAdvice } from '../engine/stopCause.js';
import { DisposableOwner } from './lifecycle.js';
import type { NetworkHints } from './networkActivity.js';
import { SHOW_NETWORK_ACTIVITY_LINK, terminalHint } from './networkActivityModel.js';
import { showInformationMessage, showWarningMessage } from './notify.js';

/** The agent's sandbox was removed under it, not stopped (../engine/stopCause.ts REMOVED_OUTSIDE). */
const REMOVED = Symbol('removed');

const DIM = '\x1b[2m';
const RED = '\x1b[31m';
const RESET = '\x1b[0m';
/** Refusals this long before an agent's error exit are "right before" it (and so shown as a likely cause). */
const REFUSALS_BEFORE_EXIT_MS = 60_000;
/** Exit codes of a process killed with its sandbox (SIGKILL, SIGTERM, or the exec gone with the container). */
const KILLED_CODES = new Set([137, 143, -1]);

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
  /** What the sandbox's proxy refused, to say so when the agent ends with an error (set by the manager). */
  hints?: NetworkHints;
  /** Set when Paddock's Stop is about to end this terminal's agent. */
  stopping = false;
  /** Set when the agent ended because its sandbox stopped. */
  endedByStop = false;
  /** The sandbox once attached, and the agent's label. */
  sandbox?: string;

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
      this.sandbox = target.sandbox;
      const attachedAt = Date.now();
      this.attached.fire(target.sandbox);
      if (this.closed) {
        await this.session.kill();
        return;
      }
      const code = await this.session.exit;
      const stopped = await this.sandboxStopped(target.sandbox, code);
      this.exitCode = code;
      if (stopped === REMOVED) {
        // No Start brings it back: the next run makes a new sandbox.
        this.writer.fire(`\r\n${DIM}[paddock] The sandbox was ${REMOVED_CAUSE}; ${target.agent.label} ended with it. Running an agent in a sandbox again makes a new one. Press any key to close the terminal.${RESET}\r\n`);
        return;
      }
      if (stopped) {
        this.endedByStop = true;
        this.writer.fire(`\r\n${DIM}[paddock] The sandbox was stopped${stopped === true ? '' : ` (${stopped})`}; ${target.agent.label} ended with it. Start it to work again (Start offers to reopen this terminal). Press any key to close the terminal.${RESET}\r\n`);
        return;
      }
      const hint = code !== 0 && this.hints ? terminalHint(target.sandbox, this.hints.refusedSince(target.sandbox, Math.max(attachedAt, Date.now() - REFUSALS_BEFORE_EXIT_MS))) : [];
      this.writer.fire(`\r\n${code === 0 ? DIM : RED}[paddock] ${target.agent.label} exited with code ${code}.${RESET}\r\n`);
      for (const line of hint) this.writer.fire(`${RED}${line}${RESET}\r\n`);
      this.writer.fire(`${DIM}Press any key to close the terminal.${RESET}\r\n`);
    } catch (err) {
      this.exitCode = 1;
      this.writer.fire(`\r\n${RED}[paddock] ${describeEngineError(err, this.engine().endpoint.host).replace(/\n/g, '\r\n')}${RESET}\r\n${DIM}Press any key to close the terminal.${RESET}\r\n`);
    }
  }

  /**
   * Whether the agent ended because its sandbox stopped: Paddock's Stop (true), or a stop from
   * elsewhere (the CLI, docker stop, its guard, the memory limit: its cause when known).
   */
  private async sandboxStopped(sandbox: string, code: number): Promise<boolean | string | typeof REMOVED> {
    if (this.stopping) return true;
    if (code === 0) return false;
    try {
      const details = await this.engine().get(sandbox);
      let status = details.status;
      // The exec's stream can end a moment before the engine marks the container stopped.
      if (status === 'running' && KILLED_CODES.has(code)) {
        await new Promise((r) => setTimeout(r, 500));
        if (this.stopping) return true;
        status = (await this.engine().get(sandbox)).status;
      }
      if (status === 'running' || status === 'paused') return false;
      if (this.stopping) return true;
      // Without the CLI's "paddock start NAME": the line below says the editor's Start.
      const why = (await this.engine().stopReason(sandbox, { name: sandbox }).catch(() => undefined))?.text;
      if (why === REMOVED_OUTSIDE) return REMOVED;
      return why ? withoutStartAdvice(why, details.name) : true;
    } catch {
      // The sandbox is gone: removed outside Paddock (its stop reason says so), or the engine went away.
      const why = (await this.engine().stopReason(sandbox, { name: sandbox }).catch(() => undefined))?.text;
      return why === REMOVED_OUTSIDE ? REMOVED : true;
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

  constructor(private readonly engine: () => SandboxEngine, private readonly hints?: NetworkHints) {
    super();
    this.register(vscode.window.onDidCloseTerminal((t) => this.open.delete(t)));
    this.register(
      // Terminals from the + menu (profiles) learn their sandbox only once it is prepared.
      vscode.window.onDidOpenTerminal((t) => {
        const pty = (t.creationOptions as vscode.ExtensionTerminalOptions).pty;
        if (pty instanceof SandboxPseudoterminal) {
          pty.hints ??= this.hints;
          pty.attached.event((sandbox) => this.open.set(t, { sandbox, pty }));
        }
      }),
    );
    // "Show Network Activity" in an agent terminal's hint opens the view on its sandbox.
    type SandboxLink = vscode.TerminalLink & { sandbox: string };
    this.register(vscode.window.registerTerminalLinkProvider({
      provideTerminalLinks: (context): SandboxLink[] => {
        const entry = this.open.get(context.terminal);
        const at = context.line.indexOf(SHOW_NETWORK_ACTIVITY_LINK);
        if (!entry || at < 0 || !context.line.startsWith('[paddock]')) return [];
        return [{ startIndex: at, length: SHOW_NETWORK_ACTIVITY_LINK.length, tooltip: `Open Network Activity for ${entry.sandbox}`, sandbox: entry.sandbox }];
      },
      handleTerminalLink: (link: SandboxLink) => vscode.commands.executeCommand('paddock.showNetworkActivity', link.sandbox),
    }));
  }

  /** Agent terminals of the sandbox whose agent still runs. */
  private liveOf(sandbox: string): SandboxPseudoterminal[] {
    return [...this.open.values()].filter((e) => e.sandbox === sandbox && e.pty.live).map((e) => e.pty);
  }

  /**
   * Before Stop: asks when an agent is attached in a terminal (stopping kills it), and marks those
   * terminals so that they say the sandbox was stopped. False when the user keeps it running.
   */
  async confirmStop(sandbox: string): Promise<boolean> {
    const live = this.liveOf(sandbox);
    if (live.length) {
      const choice = await showWarningMessage(`Stop sandbox ${sandbox}?`, {
        modal: true,
        detail: `${live.length === 1 ? 'An agent is' : `${live.length} agents are`} running in a terminal attached to it: stopping ends ${live.length === 1 ? 'it' : 'them'} at once (unsaved work in the agent's session is lost). Start offers to reopen the terminal.`,
      }, 'Stop');
      if (choice !== 'Stop') return false;
    }
    for (const pty of live) pty.stopping = true;
    return true;
  }

  /** After Start: offers to reopen the terminals that the sandbox's stop ended. */
  async offerReopen(sandbox: string, agentId: string, workspaceName?: string): Promise<void> {
    const ended = [...this.open].filter(([, e]) => e.sandbox === sandbox && e.pty.endedByStop);
    if (!ended.length) return;
    const choice = await showInformationMessage(`Paddock: ${sandbox} is running again.`, 'Reopen Terminal');
    if (choice !== 'Reopen Terminal') return;
    for (const [terminal] of ended) terminal.dispose();
    this.attach(sandbox, agentId, { workspaceName });
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
    pty.hints = this.hints;
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
