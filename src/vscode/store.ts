import * as vscode from 'vscode';
import { describeError } from '../core/errors.js';
import type { SandboxEngine } from '../engine/engine.js';
import { watchSandboxEvents, type SandboxEventWatch } from '../engine/events.js';
import { loadViews } from './loadViews.js';
import type { EngineState, SandboxSource } from './source.js';
import type { SandboxView } from './treeModel.js';

/**
 * The refresh manager: one place that knows the sandboxes. Docker is the source of truth; this
 * follows the engine's event stream (debounced, so a burst of create/start/attach events makes
 * one reload), reloads after a reconnect (the stream cannot replay what was missed while the
 * engine was away), and never polls.
 */
export class SandboxStore implements SandboxSource, vscode.Disposable {
  private engineValue: SandboxEngine;
  private watch?: SandboxEventWatch;
  private timer?: NodeJS.Timeout;
  private loading?: Promise<void>;
  private reloadAgain = false;
  private disposed = false;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;

  state: EngineState = 'connecting';
  lastError?: string;
  sandboxes: readonly SandboxView[] = [];
  /** How many reloads ran (for the refresh benchmark and the output channel). */
  reloads = 0;

  constructor(private readonly makeEngine: () => SandboxEngine, private readonly log: vscode.LogOutputChannel, private readonly debounceMs = 150) {
    this.engineValue = makeEngine();
  }

  get engine(): SandboxEngine {
    return this.engineValue;
  }

  /** Starts following the engine. */
  start(): void {
    this.watch?.close();
    this.setState('connecting');
    this.log.info(`Connecting to the Docker engine at ${this.engineValue.endpoint.host} (${this.engineValue.endpoint.source})`);
    this.watch = watchSandboxEvents(this.engineValue, {
      onEvent: (e) => {
        this.log.trace(`event ${e.action} ${e.name}`);
        this.scheduleReload();
      },
      onConnection: (state, error) => {
        if (state === 'connected') {
          this.log.info('Docker engine connected; following sandbox events');
          void this.reload();
        } else {
          this.lastError = describeError(error ?? new Error('the event stream ended'));
          this.log.warn(`Docker engine not reachable at ${this.engineValue.endpoint.host}: ${this.lastError}; retrying`);
          this.sandboxes = [];
          this.setState('unreachable');
        }
      },
    });
  }

  /** New engine settings (host/context): drop the old connection and follow the new engine. */
  reconnect(): void {
    try {
      this.engineValue = this.makeEngine();
    } catch (err) {
      this.lastError = describeError(err);
      this.log.error(this.lastError);
      this.sandboxes = [];
      this.setState('unreachable');
      return;
    }
    this.start();
  }

  scheduleReload(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.reload();
    }, this.debounceMs);
  }

  /** Reloads now; concurrent calls share one load and a call during a load triggers one more. */
  reload(): Promise<void> {
    if (this.loading) {
      this.reloadAgain = true;
      return this.loading;
    }
    this.loading = (async () => {
      try {
        do {
          this.reloadAgain = false;
          const views = await loadViews(this.engineValue);
          if (this.disposed) return;
          this.sandboxes = views;
          this.reloads++;
          this.setState('ready', true);
        } while (this.reloadAgain);
      } catch (err) {
        this.lastError = describeError(err);
        this.log.warn(`Could not list sandboxes: ${this.lastError}`);
        // The event stream notices a lost engine and retries; a failed list alone says the same.
        this.sandboxes = [];
        this.setState('unreachable');
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }

  private setState(state: EngineState, force = false): void {
    const changed = this.state !== state;
    this.state = state;
    void vscode.commands.executeCommand('setContext', 'paddock.engineState', state);
    if (changed || force) this.changed.fire();
  }

  dispose(): void {
    this.disposed = true;
    this.watch?.close();
    if (this.timer) clearTimeout(this.timer);
    this.changed.dispose();
  }
}
