import { watch, type FSWatcher } from 'node:fs';
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { describeError } from '../core/errors.js';
import type { SandboxEngine } from '../engine/engine.js';
import { liveRulesFile } from '../engine/liveRules.js';
import { watchSandboxEvents, type SandboxEventWatch } from '../engine/events.js';
import { loadViews } from './loadViews.js';
import type { EngineState, SandboxSource } from './source.js';
import type { Finding } from '../core/drift/index.js';
import { annotationsFrom, triedEngine, type SandboxView } from './treeModel.js';

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

  private readonly reloaded = new vscode.EventEmitter<void>();
  /** Fires when Docker's state was read again (not when only drift findings changed: drift itself follows this). */
  readonly onDidReload = this.reloaded.event;
  private readonly findingsOf = new Map<string, readonly Finding[]>();
  private views: readonly SandboxView[] = [];
  private watchers: FSWatcher[] = [];

  state: EngineState = 'connecting';
  lastError?: string;
  /** How many reloads ran (for the refresh benchmark and the output channel). */
  reloads = 0;

  constructor(private readonly makeEngine: () => SandboxEngine, private readonly log: vscode.LogOutputChannel, private readonly debounceMs = 150) {
    this.engineValue = makeEngine();
  }

  /** The sandboxes with what `policy check` says of them (not hidden until recreate, hidden but in git). */
  get sandboxes(): readonly SandboxView[] {
    if (!this.findingsOf.size) return this.views;
    return this.views.map((v) => {
      const findings = this.findingsOf.get(v.details.workspace);
      return findings ? { ...v, ...annotationsFrom(findings, v.details.name) } : v;
    });
  }

  /** The drift analysis of a workspace folder (drift/diagnostics.ts), shown on its sandboxes' rows. */
  setFindings(folder: string, findings: readonly Finding[]): void {
    const before = JSON.stringify(this.views.filter((v) => v.details.workspace === folder).map((v) => annotationsFrom(this.findingsOf.get(folder) ?? [], v.details.name)));
    this.findingsOf.set(folder, findings);
    const after = JSON.stringify(this.views.filter((v) => v.details.workspace === folder).map((v) => annotationsFrom(findings, v.details.name)));
    if (before !== after) this.changed.fire();
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
          this.lastError = `${triedEngine(this.engineValue.endpoint)}: ${describeError(error ?? new Error('the event stream ended'))}`;
          this.log.warn(`Docker engine not reachable at ${this.engineValue.endpoint.host}: ${this.lastError}; retrying`);
          this.views = [];
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
      this.views = [];
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
          this.views = views;
          this.watchRules(views);
          this.reloads++;
          this.setState('ready', true);
        } while (this.reloadAgain);
      } catch (err) {
        this.lastError = describeError(err);
        this.log.warn(`Could not list sandboxes: ${this.lastError}`);
        // The event stream notices a lost engine and retries; a failed list alone says the same.
        this.views = [];
        this.setState('unreachable');
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }

  /**
   * What the tree shows of the network follows the files that decide it without a Docker event:
   * each workspace's policy file and each sandbox's live rules file (written by the CLI, an apply,
   * or this window). A change of either reloads, debounced like events.
   */
  private watchRules(views: readonly SandboxView[]): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
    const folders = new Set<string>();
    for (const v of views) {
      // The workspace itself for a .paddock folder made (or removed) later.
      folders.add(v.details.workspace);
      folders.add(join(v.details.workspace, '.paddock'));
      folders.add(dirname(liveRulesFile(v.details.name)));
    }
    for (const folder of folders) {
      try {
        // A folder, not the file: the file is replaced by rename (atomic writes), which ends a file watch.
        this.watchers.push(watch(folder, { persistent: false }, (_event, file) => {
          if (!file || file === 'policy.yaml' || file === 'rules.json' || file === '.paddock') this.scheduleReload();
        }));
      } catch {
        // No such folder yet (no policy file, no proxy): nothing there to follow.
      }
    }
  }

  private setState(state: EngineState, force = false): void {
    const changed = this.state !== state;
    this.state = state;
    void vscode.commands.executeCommand('setContext', 'paddock.engineState', state);
    if (changed || force) {
      this.changed.fire();
      this.reloaded.fire();
    }
  }

  dispose(): void {
    this.disposed = true;
    this.watch?.close();
    for (const w of this.watchers) w.close();
    this.reloaded.dispose();
    if (this.timer) clearTimeout(this.timer);
    this.changed.dispose();
  }
}
