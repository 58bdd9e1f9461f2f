import * as vscode from 'vscode';
import type { TaskSnapshot } from './taskModel.js';
import type { SandboxView } from './treeModel.js';

export type EngineState = 'connecting' | 'ready' | 'unreachable';

/** What the tree and the status bar read: the store (store.ts) once it is loaded. */
export interface SandboxSource {
  readonly state: EngineState;
  readonly lastError?: string;
  readonly sandboxes: readonly SandboxView[];
  /** The open folders' parallel tasks (tasks.ts), once read. */
  readonly tasks?: TaskSnapshot;
  readonly onDidChange: vscode.Event<void>;
}

/**
 * Stands in for the store while the engine code loads, right after activation (activation stays
 * light: the tree and status bar appear at once and say "connecting"), then forwards to it.
 */
export class DeferredSandboxSource implements SandboxSource, vscode.Disposable {
  private source?: SandboxSource;
  private subscription?: vscode.Disposable;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;

  get state(): EngineState {
    return this.source?.state ?? 'connecting';
  }

  get lastError(): string | undefined {
    return this.source?.lastError;
  }

  get sandboxes(): readonly SandboxView[] {
    return this.source?.sandboxes ?? [];
  }

  get tasks(): TaskSnapshot | undefined {
    return this.source?.tasks;
  }

  attach(source: SandboxSource): void {
    this.subscription?.dispose();
    this.source = source;
    this.subscription = source.onDidChange(() => this.changed.fire());
    this.changed.fire();
  }

  dispose(): void {
    this.subscription?.dispose();
    this.changed.dispose();
  }
}
