/** An error a user can act on: `message` says what is wrong, `hint` what to do about it. */
export class PaddockError extends Error {
  constructor(message: string, readonly hint?: string, readonly exitCode = 1) {
    super(message);
    this.name = 'PaddockError';
  }
}

export function describeError(err: unknown): string {
  if (err instanceof PaddockError) return err.hint ? `${err.message}\n  → ${err.hint}` : err.message;
  return err instanceof Error ? err.message : String(err);
}

/** Error codes that mean the connection itself failed or broke (not an answer from the engine). */
const CONNECTION_CODES = new Set(['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNABORTED']);

/**
 * "connect ENOENT /var/run/docker.sock", "socket hang up"...: how a connection failed, when `err`
 * (or its cause) is a failed or broken connection; undefined for anything else. ENOENT counts
 * only from a connect (a missing socket), never from a file.
 */
export function connectionFailure(err: unknown): string | undefined {
  for (let e: any = err, depth = 0; e && depth < 4; e = e.cause, depth++) {
    const message = typeof e.message === 'string' ? e.message : '';
    if (/socket hang up/i.test(message)) return 'socket hang up';
    if (typeof e.code === 'string' && CONNECTION_CODES.has(e.code) && (e.code !== 'ENOENT' || e.syscall === 'connect' || /^connect ENOENT/.test(message))) {
      return message || e.code;
    }
  }
  return undefined;
}

/**
 * What chose the engine, in the same words wherever it is said: an endpoint's source ('setting': an
 * address given with --host in the CLI or the paddock.dockerHost setting in VS Code; "DOCKER_HOST",
 * "context NAME", "default" as they are).
 */
export function engineSource(source: string): string {
  return source === 'setting' ? '--host or the paddock.dockerHost setting' : source;
}

/** What to do when the engine went away: the same words for the CLI and the editor. */
export const ENGINE_LOST_HINT = 'Start the engine (Docker Desktop, or "sudo systemctl start docker" on Linux), then run "paddock ls": '
  + 'a sandbox the engine stopped shows as stopped, and "paddock start NAME" brings it back with its state (what was running in it was ended).';

/**
 * An error from talking to the engine at `host`, in words: a lost connection says the engine
 * stopped answering and what to do; anything else as describeError says it.
 */
export function describeEngineError(err: unknown, host: string): string {
  const failure = err instanceof PaddockError ? undefined : connectionFailure(err);
  return failure ? describeError(engineLost(failure, host)) : describeError(err);
}

export function engineLost(failure: string, host: string): PaddockError {
  return new PaddockError(`The Docker engine at ${host} stopped answering (${failure}).`, ENGINE_LOST_HINT);
}
