import type Docker from 'dockerode';

// `performance` is node's global (no import): requiring node:perf_hooks cost every command ~1.5 ms
// of start-up (paddock exec's fast path too), for a clock read only when tracing.

// PADDOCK_TRACE=1: where a command's time goes, on stderr. Each line is the milliseconds since the
// process started (node's own start-up included), so the first line shows what loading cost.

export const tracing = !!process.env.PADDOCK_TRACE;

/** Writes "paddock trace +MS what" to stderr when PADDOCK_TRACE is set; nothing otherwise. */
export function trace(what: string): void {
  if (tracing) process.stderr.write(`paddock trace +${performance.now().toFixed(0).padStart(5)} ms ${what}\n`);
}

/** Traces each engine request of a client (its start and its answer) when PADDOCK_TRACE is set. */
export function traceRequests(docker: Docker): Docker {
  if (!tracing) return docker;
  const modem = docker.modem as unknown as { dial: (options: { method?: string; path?: string }, callback: (err: unknown, data: unknown) => void) => unknown };
  const dial = modem.dial.bind(modem);
  modem.dial = (options, callback) => {
    const request = `${options.method} ${String(options.path).replace(/\?.*$/, '')}`;
    const started = performance.now();
    trace(`→ ${request}`);
    return dial(options, (err, data) => {
      trace(`← ${request} (${(performance.now() - started).toFixed(0)} ms${err ? ', failed' : ''})`);
      callback(err, data);
    });
  };
  return docker;
}

/** The init's own trace lines ("paddock: trace EPOCH_MS STEP", templates/base/paddock-init), on this process's clock. */
export function traceInit(output: string): void {
  if (!tracing) return;
  for (const [, epochMs, step] of output.matchAll(/paddock: trace (\d+) ([^\r\n]*)/g)) {
    process.stderr.write(`paddock trace +${(Number(epochMs) - performance.timeOrigin).toFixed(0).padStart(5)} ms init: ${step}\n`);
  }
}
