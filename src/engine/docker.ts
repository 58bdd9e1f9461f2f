// Docker idioms the engine and the bridge share: the engine's error codes, running a process and
// collecting its output, reading multiplexed logs, starting a container and waiting for its ready line.
import { PassThrough, type Duplex, type Readable, type Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type Docker from 'dockerode';

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

/** A logs buffer as one text (stdout and stderr in order), each decoded piece passed through `onText`. */
export function demuxToText(buffer: Buffer, onText: (text: string) => string): string {
  const decoder = new StringDecoder('utf8');
  let out = '';
  for (const { payload } of demuxFrames(buffer)) out += onText(decoder.write(payload));
  return out + onText(decoder.end());
}

export interface ExecIo {
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
  readonly onStarted?: (exec: Docker.Exec) => unknown;
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
export async function runExec(docker: Docker, containerId: string, create: Docker.ExecCreateOptions, io: ExecIo): Promise<ExecEnd> {
  const exec = await docker.getContainer(containerId).exec({ AttachStdout: true, AttachStderr: true, ...create, Tty: !!io.tty, AttachStdin: !!io.stdin });
  const stream = (await exec.start({ hijack: true, stdin: !!io.stdin, Tty: !!io.tty })) as unknown as Duplex;
  if (io.tty) stream.pipe(io.stdout, { end: false });
  else docker.modem.demuxStream(stream, io.stdout, io.stderr);
  if (io.stdin) io.stdin.pipe(stream);
  let cut: ExecEnd['cut'];
  let streamError: Error | undefined;
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
  const exitCode = await exec.inspect().then((info) => info.ExitCode ?? null, (err) => {
    if (streamError) return null;
    throw err;
  });
  return { exitCode, ...(streamError ? { streamError } : {}) };
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
