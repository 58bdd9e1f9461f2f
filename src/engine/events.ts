import { LABELS } from '../core/naming.js';
import type { SandboxEngine } from './engine.js';

/** One lifecycle event of a sandbox container, as the engine reported it. */
export interface SandboxEvent {
  /** create, start, die, stop, destroy, pause, unpause, rename, ... */
  readonly action: string;
  readonly id: string;
  readonly name: string;
  readonly workspace: string;
  readonly agent: string;
}

export type EngineConnection = 'connected' | 'disconnected';

export interface SandboxEventWatch {
  /** Stops watching and closes the stream. */
  close(): void;
}

export interface WatchOptions {
  readonly onEvent: (event: SandboxEvent) => void;
  /** Called when the engine stops answering and when it answers again (after a restart, say). */
  readonly onConnection?: (state: EngineConnection, error?: unknown) => void;
  /** Delay before retrying a lost engine (ms); doubled up to maxRetryMs. */
  readonly retryMs?: number;
  readonly maxRetryMs?: number;
}

// Exec events (exec_create/exec_start/exec_die) fire for every terminal and check; only
// container lifecycle changes what a list of sandboxes shows.
const LIFECYCLE = new Set(['create', 'start', 'restart', 'die', 'stop', 'kill', 'destroy', 'pause', 'unpause', 'rename', 'update', 'oom']);

/**
 * Follows the engine's event stream for Paddock's containers only (filtered by label on the
 * engine side). When the stream ends or the engine cannot be reached, it retries with backoff
 * and reports the connection state, so a UI can say "no engine" and recover on its own after
 * the engine restarts. Missed events are the caller's to catch up on: a fresh "connected"
 * means "list again".
 */
export function watchSandboxEvents(engine: SandboxEngine, options: WatchOptions): SandboxEventWatch {
  const retryMs = options.retryMs ?? 500;
  const maxRetryMs = options.maxRetryMs ?? 5000;
  let closed = false;
  let delay = retryMs;
  let timer: NodeJS.Timeout | undefined;
  let stream: NodeJS.ReadableStream & { destroy?: () => void } | undefined;
  let state: EngineConnection | undefined;

  const report = (next: EngineConnection, error?: unknown) => {
    if (state === next) return;
    state = next;
    options.onConnection?.(next, error);
  };

  const retry = (error?: unknown) => {
    stream = undefined;
    if (closed) return;
    report('disconnected', error);
    timer = setTimeout(connect, delay);
    delay = Math.min(delay * 2, maxRetryMs);
  };

  const connect = async () => {
    timer = undefined;
    if (closed) return;
    let s: NodeJS.ReadableStream;
    try {
      s = (await engine.docker.getEvents({ filters: { type: ['container'], label: [`${LABELS.sandbox}=1`] } })) as NodeJS.ReadableStream;
    } catch (err) {
      retry(err);
      return;
    }
    if (closed) {
      (s as any).destroy?.();
      return;
    }
    stream = s as any;
    delay = retryMs;
    report('connected');
    let buffered = '';
    s.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (!line) continue;
        const event = parseEvent(line);
        if (event && LIFECYCLE.has(event.action)) options.onEvent(event);
      }
    });
    let ended = false;
    const end = (err?: unknown) => {
      if (ended) return;
      ended = true;
      retry(err);
    };
    s.on('end', () => end());
    s.on('close', () => end());
    s.on('error', (err) => end(err));
  };

  void connect();
  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      stream?.destroy?.();
    },
  };
}

function parseEvent(line: string): SandboxEvent | undefined {
  try {
    const raw = JSON.parse(line) as { Action?: string; status?: string; id?: string; Actor?: { ID?: string; Attributes?: Record<string, string> } };
    const attributes = raw.Actor?.Attributes ?? {};
    // "exec_start: bash -l" style actions carry their command after a colon.
    const action = (raw.Action ?? raw.status ?? '').split(':')[0];
    return { action, id: raw.Actor?.ID ?? raw.id ?? '', name: attributes.name ?? '', workspace: attributes[LABELS.workspace] ?? '', agent: attributes[LABELS.agent] ?? '' };
  } catch {
    return undefined;
  }
}
