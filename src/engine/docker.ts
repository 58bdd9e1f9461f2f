// Docker idioms the engine and the bridge share: the engine's error codes, running a process and
// collecting its output, reading multiplexed logs, starting a container and waiting for its ready line.
import { Agent, request, type IncomingMessage, type RequestOptions } from 'node:http';
import type { Socket } from 'node:net';
import { PassThrough, type Duplex, type Readable, type Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type Docker from 'dockerode';
import { trace, tracing } from './trace.js';

/** 404: no such container, network, image or path. */
export function isNotFound(err: unknown): boolean {
  return (err as { statusCode?: number } | undefined)?.statusCode === 404;
}

/** 304: the container is already in the state asked for (started, stopped). */
export function isAlreadyInState(err: unknown): boolean {
  return (err as { statusCode?: number } | undefined)?.statusCode === 304;
}

/** 409: the name is taken, or the object is in use. */
export function isConflict(err: unknown): boolean {
  return (err as { statusCode?: number } | undefined)?.statusCode === 409;
}

/**
 * A removal that needs no more doing: the object is gone (404), or another process is removing it
 * right now (409 "removal … is already in progress": a second Paddock process cleaning up).
 */
export function isGoneOrGoing(err: unknown): boolean {
  return isNotFound(err) || (isConflict(err) && /already in progress/i.test(engineMessage(err)));
}

/** What the engine said about a failed call (its JSON message when it sent one). */
export function engineMessage(err: any): string {
  return err?.json?.message ?? err?.message ?? String(err);
}

/** A container's inspect, or undefined when it does not exist. */
export async function inspectOrUndefined(container: Docker.Container): Promise<Docker.ContainerInspectInfo | undefined> {
  try {
    return await container.inspect();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** A stream that keeps what is written to it, for reading as text at the end. */
export function textSink(): { sink: PassThrough; text: () => string } {
  const sink = new PassThrough();
  const parts: Buffer[] = [];
  sink.on('data', (chunk: Buffer) => parts.push(chunk));
  return { sink, text: () => Buffer.concat(parts).toString('utf8') };
}

/**
 * The payloads of Docker's multiplexed format (8-byte headers: stream, 0, 0, 0, size32), which
 * non-TTY logs come in. A TTY container's logs are plain: the whole buffer is one stdout payload.
 */
export function* demuxFrames(buffer: Buffer): Generator<{ stderr: boolean; payload: Buffer }> {
  const muxed = buffer.length >= 8 && (buffer[0] === 1 || buffer[0] === 2) && buffer[1] === 0 && buffer[2] === 0 && buffer[3] === 0;
  if (!muxed) {
    if (buffer.length) yield { stderr: false, payload: buffer };
    return;
  }
  for (let offset = 0; offset + 8 <= buffer.length;) {
    const size = buffer.readUInt32BE(offset + 4);
    yield { stderr: buffer[offset] === 2, payload: buffer.subarray(offset + 8, offset + 8 + size) };
    offset += 8 + size;
  }
}

/** Writes a logs buffer's stdout and stderr to their streams. */
export function writeDemuxed(buffer: Buffer, stdout: Writable, stderr: Writable): void {
  for (const { stderr: toStderr, payload } of demuxFrames(buffer)) (toStderr ? stderr : stdout).write(payload);
}

/**
 * Writes a live multiplexed stream's payloads to stdout and stderr as they come (a frame may
 * arrive in pieces). A stream that does not start with a frame header is not multiplexed (a TTY's):
 * from there on all of it goes to stdout, as docker-modem's demuxStream does.
 */
export function demuxStream(stream: Readable, stdout: Writable, stderr: Writable): void {
  let pending: Buffer = Buffer.alloc(0);
  let raw = false;
  stream.on('data', (chunk: Buffer) => {
    if (raw) {
      stdout.write(chunk);
      return;
    }
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 8) {
      if (pending[0] > 2 || pending[1] !== 0 || pending[2] !== 0 || pending[3] !== 0) {
        raw = true;
        stdout.write(pending);
        pending = Buffer.alloc(0);
        return;
      }
      const end = 8 + pending.readUInt32BE(4);
      if (pending.length < end) return;
      (pending[0] === 2 ? stderr : stdout).write(pending.subarray(8, end));
      pending = pending.subarray(end);
    }
  });
}

/** A logs buffer as one text (stdout and stderr in order), each decoded piece passed through `onText`. */
export function demuxToText(buffer: Buffer, onText: (text: string) => string): string {
  const decoder = new StringDecoder('utf8');
  let out = '';
  for (const { payload } of demuxFrames(buffer)) out += onText(decoder.write(payload));
  return out + onText(decoder.end());
}

export interface ExecIo<E = Docker.Exec> {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly stdin?: Readable;
  /** One stream, not demultiplexed: all of it goes to stdout. */
  readonly tty?: boolean;
  /** Stop waiting after this long (the process may still run). */
  readonly timeoutMs?: number;
  /** Stop waiting when aborted (for example when the output grew too large). */
  readonly signal?: AbortSignal;
  /** Runs once the process has started (terminal size, resize hooks). */
  readonly onStarted?: (exec: E) => unknown;
}

export interface ExecEnd {
  /** The process's exit code; null when it was cut short or the engine has none. */
  readonly exitCode: number | null;
  /** Why the output was cut short, when it was: the process may still run. */
  readonly cut?: 'time' | 'aborted';
  /** The connection to the process failed before it ended. */
  readonly streamError?: Error;
}

/**
 * Runs a process in a container (`create` as docker exec's options) with its output going to `io`,
 * and waits until it ends, the time is up, or the signal aborts.
 */
export async function runExec(docker: Docker, containerId: string, create: Docker.ExecCreateOptions, io: ExecIo): Promise<ExecEnd>;
export async function runExec(engine: EngineHttp, containerId: string, create: Docker.ExecCreateOptions, io: ExecIo<EngineExec>): Promise<ExecEnd>;
export async function runExec(engine: Docker | EngineHttp, containerId: string, create: Docker.ExecCreateOptions, io: ExecIo<any>): Promise<ExecEnd> {
  const options = { AttachStdout: true, AttachStderr: true, ...create, Tty: !!io.tty, AttachStdin: !!io.stdin };
  const exec = engine instanceof EngineHttp ? await engine.createExec(containerId, options) : await engine.getContainer(containerId).exec(options);
  const stream = (await exec.start({ hijack: true, stdin: !!io.stdin, Tty: !!io.tty })) as unknown as Duplex;
  if (io.tty) stream.pipe(io.stdout, { end: false });
  else demuxStream(stream, io.stdout, io.stderr);
  if (io.stdin) io.stdin.pipe(stream);
  let cut: ExecEnd['cut'];
  let streamError: Error | undefined;
  const deadline = io.timeoutMs === undefined ? undefined : Date.now() + io.timeoutMs;
  const ended = new Promise<void>((resolveEnd) => {
    const stop = (why: 'time' | 'aborted') => { cut ??= why; stream.destroy(); resolveEnd(); };
    const timer = io.timeoutMs === undefined ? undefined : setTimeout(() => stop('time'), io.timeoutMs);
    const onAbort = () => stop('aborted');
    if (io.signal?.aborted) onAbort();
    io.signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => { clearTimeout(timer); io.signal?.removeEventListener('abort', onAbort); resolveEnd(); };
    stream.on('end', done);
    stream.on('close', done);
    stream.on('error', (err) => { streamError ??= err; done(); });
  });
  await io.onStarted?.(exec);
  await ended;
  if (io.stdin) io.stdin.unpipe(stream);
  stream.destroy();
  if (cut) return { exitCode: null, cut };
  const after = await exitCodeAfterStream(exec, io.signal, deadline).catch((err) => {
    if (streamError) return { exitCode: null };
    throw err;
  });
  return { ...after, ...(streamError ? { streamError } : {}) };
}

/**
 * The exit code of an exec whose stream has ended. The stream can end before the process does (a
 * relay or transport that closes the output when the client half-closes its input, a process that
 * closed its output): then the command is still running, and its end, not the stream's, is what
 * the caller reports, so the engine is asked again until it says the process ended (an abort or the
 * exec's time limit ends the wait, as they end the stream). Before, such a command was reported as a
 * success while it still ran.
 */
export async function exitCodeAfterStream(exec: { inspect(): Promise<{ ExitCode: number | null; Running: boolean }> }, signal?: AbortSignal, deadline?: number): Promise<Pick<ExecEnd, 'exitCode' | 'cut'>> {
  let info = await exec.inspect();
  for (let pause = 20; info.Running; pause = Math.min(pause * 2, 500)) {
    if (signal?.aborted) return { exitCode: null, cut: 'aborted' };
    if (deadline !== undefined && Date.now() >= deadline) return { exitCode: null, cut: 'time' };
    await new Promise((resolve) => setTimeout(resolve, deadline === undefined ? pause : Math.max(1, Math.min(pause, deadline - Date.now()))));
    info = await exec.inspect();
  }
  return { exitCode: info.ExitCode ?? null };
}

/**
 * Runs a process and collects its output as text. Past `maxBytes` of stdout or `timeoutMs`, it
 * stops reading and says which limit cut it (then there is no output and no exit code: -1).
 */
export async function execCollect(docker: Docker, containerId: string, create: Docker.ExecCreateOptions, limits: { maxBytes?: number; timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string; exitCode: number; cut?: 'size' | 'time' }> {
  const out = new PassThrough();
  const err = textSink();
  const parts: Buffer[] = [];
  const tooLarge = new AbortController();
  let size = 0;
  out.on('data', (b: Buffer) => {
    size += b.length;
    if (limits.maxBytes !== undefined && size > limits.maxBytes) tooLarge.abort();
    else parts.push(b);
  });
  const end = await runExec(docker, containerId, create, { stdout: out, stderr: err.sink, timeoutMs: limits.timeoutMs, signal: tooLarge.signal });
  if (end.cut) return { stdout: '', stderr: '', exitCode: -1, cut: end.cut === 'time' ? 'time' : 'size' };
  return { stdout: Buffer.concat(parts).toString('utf8'), stderr: err.text(), exitCode: end.exitCode ?? -1 };
}

export type StartOutcome = 'ready' | 'timeout' | 'closed' | 'exited';

/**
 * Starts a container and waits until its output has `marker`, it exits, its output closes, or the
 * time is up. It attaches before starting (as `docker run` does) so the marker cannot be missed.
 * A failed start is thrown as `failedToStart` makes it. `output` is the output's last 4 KiB.
 */
export async function startAndWaitForMarker(container: Docker.Container, marker: string, timeoutMs: number, failedToStart: (err: unknown) => Error): Promise<{ outcome: StartOutcome; output: string }> {
  const output = (await container.attach({ stream: true, stdout: true, stderr: true })) as unknown as Readable;
  let seen = '';
  let timer: NodeJS.Timeout | undefined;
  const ready = new Promise<StartOutcome>((resolveReady) => {
    timer = setTimeout(() => resolveReady('timeout'), timeoutMs);
    output.on('data', (chunk: Buffer) => {
      seen = (seen + chunk.toString('latin1')).slice(-4096);
      if (seen.includes(marker)) resolveReady('ready');
    });
    output.on('end', () => resolveReady('closed'));
    output.on('error', () => resolveReady('closed'));
  });
  try {
    await container.start();
  } catch (err) {
    clearTimeout(timer);
    output.destroy();
    throw failedToStart(err);
  }
  const outcome = await Promise.race([ready, container.wait().then(() => 'exited' as const)]);
  clearTimeout(timer);
  output.destroy();
  return { outcome, output: seen };
}

/** An engine call that failed, as dockerode reports it: the HTTP status and the engine's JSON message. */
export class EngineCallError extends Error {
  constructor(readonly statusCode: number, readonly json: { message?: string } | null, what: string) {
    super(`(HTTP code ${statusCode}) ${json?.message ?? what}`);
  }
}

/**
 * A lean engine client for the CLI's hot path (`paddock exec`): plain HTTP on the engine's socket,
 * one kept-alive connection for the calls in a row, and the exec's stream taken over by an HTTP
 * upgrade as the docker CLI does. Loading dockerode (60-odd modules) cost `paddock exec` more
 * than the engine's answers; everything else still goes through dockerode (./connection.ts).
 */
export class EngineHttp {
  readonly #base: RequestOptions;

  /** `base`: where the engine is (socketPath, or host and port) and, for ssh, the agent that makes its connections. */
  constructor(base: RequestOptions) {
    // servername '' (no TLS here): else node's Agent asks net.isIP() of the host, whose first call
    // compiles its IPv6 pattern: 3-15 ms of every `paddock exec`, the first request's latency.
    // Kept-alive connections close after 5 s idle, as with node's global agent (the editor's process lives long).
    this.#base = { agent: base.agent ?? new Agent({ keepAlive: true, timeout: 5000, scheduling: 'lifo' }), servername: '', ...base } as RequestOptions;
  }

  /** A JSON call; an answer of 400 or more fails with an EngineCallError. */
  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.#send(method, path, body, false) as IncomingMessage;
    const text = await new Promise<string>((resolveText, reject) => {
      const parts: Buffer[] = [];
      response.on('data', (c: Buffer) => parts.push(c));
      response.on('end', () => resolveText(Buffer.concat(parts).toString('utf8')));
      response.on('error', reject);
    });
    const json = text && /json/.test(String(response.headers['content-type'])) ? JSON.parse(text) : (text || null);
    if ((response.statusCode ?? 500) >= 400) throw new EngineCallError(response.statusCode ?? 500, typeof json === 'object' ? json : { message: String(json ?? '').trim() || undefined }, `${method} ${path}`);
    return json as T;
  }

  /** A container's inspect, or undefined when none has that name or id. */
  async inspectContainer(nameOrId: string): Promise<Docker.ContainerInspectInfo | undefined> {
    try {
      return await this.call<Docker.ContainerInspectInfo>('GET', `/containers/${encodeURIComponent(nameOrId)}/json`);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Creates a process in a container (docker exec's options); see runExec. */
  async createExec(containerId: string, options: Docker.ExecCreateOptions): Promise<EngineExec> {
    const { Id } = await this.call<{ Id: string }>('POST', `/containers/${encodeURIComponent(containerId)}/exec`, options);
    return new EngineExec(this, Id);
  }

  /** A POST whose answer takes the connection over (101): the raw stream, both ways. */
  async upgrade(path: string, body: unknown): Promise<Duplex> {
    return await this.#send('POST', path, body, true) as Socket;
  }

  #send(method: string, path: string, body: unknown, upgrade: boolean): Promise<IncomingMessage | Socket> {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const what = `${method} ${path.replace(/\?.*$/, '')}`;
    trace(`→ ${what}`);
    // The clock only when tracing: node's global performance loads perf_hooks (~1.5 ms) on first use.
    const started = tracing ? performance.now() : 0;
    return new Promise((resolveAnswer, reject) => {
      const req = request({
        ...this.#base, method, path,
        headers: { ...(data === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) }), ...(upgrade ? { Connection: 'Upgrade', Upgrade: 'tcp' } : {}) },
      });
      const answered = (failed: boolean) => { if (tracing) trace(`← ${what} (${(performance.now() - started).toFixed(0)} ms${failed ? ', failed' : ''})`); };
      req.on('error', (err) => { answered(true); reject(err); });
      req.on('response', (response) => {
        answered((response.statusCode ?? 500) >= 400);
        if (!upgrade) {
          resolveAnswer(response);
          return;
        }
        // An engine that answers an upgrade with a plain response refused it (404, 409: not running).
        this.#errorOf(response, what).then(reject, reject);
      });
      req.on('upgrade', (_response, socket, head) => {
        answered(false);
        if (head.length) socket.unshift(head);
        resolveAnswer(socket);
      });
      req.end(data);
    });
  }

  async #errorOf(response: IncomingMessage, what: string): Promise<Error> {
    const parts: Buffer[] = [];
    for await (const c of response) parts.push(c as Buffer);
    const text = Buffer.concat(parts).toString('utf8');
    let json: { message?: string } | null;
    try {
      json = JSON.parse(text);
    } catch {
      json = { message: text.trim() || `${what} was not upgraded` };
    }
    return new EngineCallError(response.statusCode ?? 500, json, what);
  }
}

/** A process created by EngineHttp.createExec: started once, resized, inspected (dockerode's Exec calls of the same names). */
export class EngineExec {
  constructor(private readonly engine: EngineHttp, readonly id: string) {}

  /** Starts it with its input and output on the returned stream (multiplexed unless Tty). */
  start(options: { stdin?: boolean; Tty?: boolean; hijack?: boolean }): Promise<Duplex> {
    return this.engine.upgrade(`/exec/${this.id}/start`, { Detach: false, Tty: !!options.Tty });
  }

  resize(size: { h: number; w: number }): Promise<unknown> {
    return this.engine.call('POST', `/exec/${this.id}/resize?h=${Math.floor(size.h)}&w=${Math.floor(size.w)}`);
  }

  inspect(): Promise<{ ExitCode: number | null; Running: boolean; Pid: number; ContainerID: string }> {
    return this.engine.call('GET', `/exec/${this.id}/json`);
  }
}
